"""NIR (the Neuromorphic Intermediate Representation): export, import, a
reference simulator.

`to_nir` turns a spiking Nengo network (an LMU memory, an LMU cell, their
readouts) into a ``nir.NIRGraph``; `from_nir` rebuilds a Nengo network from
one; `simulate` runs a graph as NIR consumers do. `CubaLIF` is the Nengo
neuron type that steps exactly as those consumers step NIR's CubaLIF, so a
network built of it (`memory_options`) survives export. `write_netx` writes
such a graph for Loihi 2 (lava-dl's netx HDF5, fixed point). The ``nir`` package
(``pip install nir``) is imported only when a graph is made or read.
"""

from nengo_lmu.nir.export import to_nir
from nengo_lmu.nir.lava import write_netx
from nengo_lmu.nir.neurons import (
    CubaLIF,
    euler_lowpass,
    memory_options,
    undelay_input,
)
from nengo_lmu.nir.reader import from_nir
from nengo_lmu.nir.simulate import simulate

__all__ = [
    "CubaLIF",
    "euler_lowpass",
    "from_nir",
    "memory_options",
    "simulate",
    "to_nir",
    "undelay_input",
    "write_netx",
]
