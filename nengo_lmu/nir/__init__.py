"""NIR (the Neuromorphic Intermediate Representation): export and import."""

from nengo_lmu.nir.neurons import CubaLIF, euler_lowpass, memory_options
