"""Weights trained in Keras, loaded into Nengo networks.

`nengo_lmu.interop.keras`
    KerasLMU 0.8 layers and Keras models of such layers and Dense layers
    (`lmu_from_keras`, `network_from_keras`, `keras_lmu_parameters`).
`nengo_lmu.interop.keras3`
    Keras files read as data: the check of every Keras file's configuration
    before Keras sees it (a ``Lambda`` is refused, never run), and Keras 3
    files (KerasLMU 0.9) imported without Keras (`network_from_keras3_file`).
`nengo_lmu.interop.keras_files`
    Keras files' configurations and Keras 3 weights read as data
    (`read_keras_file`).
`nengo_lmu.interop.keras_check`
    The allowlist check of a Keras file's configuration (`check_keras_config`).
`nengo_lmu.interop.paper`
    The LMU paper's original Keras 2 model files (HDF5, ``RNN(LMUCell)``
    then ``Dense``), read with h5py alone (`network_from_paper_file`).
`nengo_lmu.interop.export`
    Networks of LMUs as Keras models of KerasLMU and Dense layers
    (`to_keras`), to train with tf.distribute and import back.
`nengo_lmu.interop.files`
    `load_model_file`: which of the two a file is, and its network.
`nengo_lmu.interop.parallel`
    `ParallelLMU`: a Keras layer computing an LMU whose memory does not
    depend on its own past over a whole sequence at once, and back.
`nengo_lmu.interop.activations`
    The one table of Keras activations and Nengo neuron types.

KerasLMU counts ``theta`` in steps; here it is ``theta * dt`` seconds: one
sequence step per simulator step of ``dt``. TensorFlow is not imported with
this package.
"""

from nengo_lmu.interop._chain import NO_OP_LAYERS, OUTPUT_ACTIVATIONS
from nengo_lmu.interop.activations import ACTIVATIONS
from nengo_lmu.interop.export import to_keras
from nengo_lmu.interop.files import load_model_file
from nengo_lmu.interop.keras import (
    custom_objects,
    keras_lmu_parameters,
    lmu_from_keras,
    load_keras_model,
    network_from_keras,
)
from nengo_lmu.interop.keras3 import (
    check_keras_config,
    network_from_keras3_file,
    read_keras_file,
)
from nengo_lmu.interop.paper import PAPER_CELL_WEIGHTS, network_from_paper_file
from nengo_lmu.interop.parallel import ParallelLMU, is_feedforward
