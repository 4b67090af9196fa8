"""Training LMU networks with NengoDL.

These helpers sit beside NengoDL rather than wrapping it: build your network,
call `configure_training` inside it, then use ``nengo_dl.Simulator``,
``compile``, ``fit`` and ``evaluate`` as usual; ``sim.freeze_params(net)``
writes the trained weights back, `lmu_weights` reads them in KerasLMU's
shapes, and `nengo_lmu.spiking.to_spiking` gives the spiking network.

Modules: ``training`` (NengoDL settings), ``weights`` (trained weights and
theta), ``regularization``, ``params`` (parameter files), ``fusion`` (a graph
simplification), ``trainable`` (the zero-order-hold memory with a trainable
theta). Importing this package sets TensorFlow's C++ log level (see
`quiet_tensorflow`); NengoDL and TensorFlow themselves are imported only when
the functions run.
"""

from nengo_lmu.dl._imports import import_nengo_dl, quiet_tensorflow
from nengo_lmu.dl.fusion import fuse_dot_copies
from nengo_lmu.dl.params import load_params
from nengo_lmu.dl.regularization import add_regularization
from nengo_lmu.dl.training import configure_training
from nengo_lmu.dl.weights import KERAS_WEIGHT_NAMES, lmu_theta, lmu_weights

__all__ = [
    "KERAS_WEIGHT_NAMES",
    "add_regularization",
    "configure_training",
    "fuse_dot_copies",
    "import_nengo_dl",
    "load_params",
    "lmu_theta",
    "lmu_weights",
    "quiet_tensorflow",
]
