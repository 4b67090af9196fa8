"""Running the neural LMU memory in NengoLoihi (see `nengo_lmu.loihi.mapping`)."""

from nengo_lmu.loihi.mapping import *  # noqa: F401,F403
from nengo_lmu.loihi.mapping import (  # noqa: F401
    DECAY_BITS,
    DECODE_TAU,
    DEFAULT_DELAY_STEPS,
    DEFAULT_MAX_RATES,
    DELAY_STEPS_PER_TAU,
    TAU_AT_ONE_SECOND,
)
