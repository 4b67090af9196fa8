"""Trained rate networks as spiking ones; no NengoDL or TensorFlow here.

`to_spiking` swaps each rate neuron type for its spiking twin (the one table,
`SPIKING_TWINS`, that `nengo_lmu.loihi` consults too), turns tanh units into
pairs of LIF neurons (`tanh_pair_neuron`) and removes dropout Nodes.
"""

from nengo_lmu.spiking.convert import to_spiking
from nengo_lmu.spiking.tanh import (
    TANH_PAIR_AMPLITUDE,
    TANH_PAIR_BIAS,
    TANH_PAIR_GAIN,
    TANH_PAIR_REF_RATIO,
    tanh_pair_neuron,
)
from nengo_lmu.spiking.twins import SPIKING_TWINS, spiking_twin

__all__ = [
    "SPIKING_TWINS",
    "TANH_PAIR_AMPLITUDE",
    "TANH_PAIR_BIAS",
    "TANH_PAIR_GAIN",
    "TANH_PAIR_REF_RATIO",
    "spiking_twin",
    "tanh_pair_neuron",
    "to_spiking",
]
