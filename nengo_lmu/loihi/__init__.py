"""Running the neural LMU memory in NengoLoihi (the Loihi emulator or chip).

NengoLoihi realises a decoded connection between two on-chip ensembles
differently from Nengo. The presynaptic spikes drive a small population of
*decode neurons* whose input filter is the connection's ``Lowpass(tau)``; their
spikes reach the postsynaptic ensemble through a second filter,
``Model.decode_tau`` (5 ms by default); each hop adds axon delay; and each
filter's pole is quantised to 12 bits. A memory mapped for Nengo's
``Lowpass(tau)`` therefore drifts on the chip. `loop_synapse` models the
on-chip loop as a discrete all-pole filter, and `memory_kwargs` passes it to
`.LMUMemory` as the ``mapping_synapse``, so that the recurrence is mapped onto
the filter the chip actually applies (the approach of the LMU paper's Loihi
memory). `check_loihi` tells, before any simulation, whether and why a network
cannot go on the chip.

Modules: ``mapping`` (the loop filter, its defaults and the memory and LMU
settings), ``checks`` (the supported neuron types and `check_loihi`),
``calibration`` (measuring the memory on the emulator and choosing its loop).
NengoLoihi is imported inside the functions that need it, so this package (and
``import nengo_lmu``) works without it; only `check_loihi`, `loihi_model` and
the calibration functions need it installed.
"""

from nengo_lmu.loihi.calibration import (
    MemoryCalibration,
    calibrate_memory,
    default_candidates,
    memory_nrmse,
)
from nengo_lmu.loihi.checks import LoihiReport, check_loihi, supported_neuron_types
from nengo_lmu.loihi.mapping import (
    DECAY_BITS,
    DECODE_TAU,
    DEFAULT_DELAY_STEPS,
    DEFAULT_MAX_RATES,
    DELAY_STEPS_PER_TAU,
    TAU_AT_ONE_SECOND,
    lmu_kwargs,
    loihi_model,
    loop_defaults,
    loop_synapse,
    memory_kwargs,
    quantized_pole,
)

__all__ = [
    "DECAY_BITS",
    "DECODE_TAU",
    "DEFAULT_DELAY_STEPS",
    "DEFAULT_MAX_RATES",
    "DELAY_STEPS_PER_TAU",
    "LoihiReport",
    "MemoryCalibration",
    "TAU_AT_ONE_SECOND",
    "calibrate_memory",
    "check_loihi",
    "default_candidates",
    "lmu_kwargs",
    "loihi_model",
    "loop_defaults",
    "loop_synapse",
    "memory_kwargs",
    "memory_nrmse",
    "quantized_pole",
    "supported_neuron_types",
]
