"""NengoLMU: Legendre Memory Units as Nengo networks.

``import nengo_lmu`` needs only nengo, numpy and scipy; TensorFlow, NengoDL and
NengoLoihi are imported lazily by the modules that use them.
"""

from nengo_lmu.basis import (
    delay_readout,
    legendre_window_basis,
    window_readout,
)
from nengo_lmu.mapping import (
    balanced_realization,
    balanced_truncation,
    double_exp,
    scaled_realization,
    ss2sim,
    state_covariance,
)
from nengo_lmu.networks import LMU, LinearNetwork, LMUMemory
from nengo_lmu.systems import LegendreDelay, LinearSystem, PadeDelay
from nengo_lmu.version import version as __version__

__all__ = [
    "LMU",
    "LMUMemory",
    "LegendreDelay",
    "LinearNetwork",
    "LinearSystem",
    "PadeDelay",
    "__version__",
    "balanced_realization",
    "balanced_truncation",
    "delay_readout",
    "double_exp",
    "legendre_window_basis",
    "scaled_realization",
    "ss2sim",
    "state_covariance",
    "window_readout",
]
