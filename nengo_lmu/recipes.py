"""Deprecated: the experiments moved to `nengo_lmu.tasks`.

The delay experiment is in `nengo_lmu.tasks.delay`, the psMNIST experiment in
`nengo_lmu.tasks.psmnist`; this module re-exports their old names for one
release and will then be removed.
"""

import warnings

from nengo_lmu.tasks.delay import (  # noqa: F401
    BACKENDS,
    DELAYS,
    delay_network,
    delay_nrmse,
    plot_delay,
    run_delay,
)
from nengo_lmu.tasks.psmnist import (  # noqa: F401
    evaluate_psmnist,
    plot_training,
    psmnist_network,
    train_psmnist,
)

warnings.warn(
    "nengo_lmu.recipes is deprecated and will be removed in the next release; "
    "import from nengo_lmu.tasks (nengo_lmu.tasks.delay, nengo_lmu.tasks.psmnist)",
    DeprecationWarning,
    stacklevel=2,
)
