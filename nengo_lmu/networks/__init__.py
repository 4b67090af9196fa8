"""Nengo networks built on the linear-systems core."""

from nengo_lmu.networks.linear import LinearNetwork
from nengo_lmu.networks.lmu import LMU
from nengo_lmu.networks.memory import LMUMemory

__all__ = ["LMU", "LMUMemory", "LinearNetwork"]
