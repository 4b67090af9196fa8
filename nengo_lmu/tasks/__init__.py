"""The LMU paper's tasks, one module per task, each with its data, network,
training and evaluation.

`nengo_lmu.tasks.delay`
    Delaying white noise; the ``nengo-lmu delay`` experiment (a spiking
    memory on a chosen backend).
`nengo_lmu.tasks.psmnist`
    Permuted sequential MNIST; the ``nengo-lmu psmnist`` experiment (train in
    NengoDL, evaluate at rates and spiking).
`nengo_lmu.tasks.mackey_glass`
    Mackey-Glass prediction (NengoLMU's own forward-prediction experiment,
    not the paper's protocol).
`nengo_lmu.tasks.experiment`
    The experiment kit the tasks, examples and benchmarks share: build a
    sequence network, fit it in NengoDL, predict, run sequences on a backend,
    copy trained weights into a chip-mapped twin.
`nengo_lmu.tasks.capacity`
    The paper's memory-capacity experiment.
`nengo_lmu.tasks.paper_mackey_glass`
    The paper's Mackey-Glass protocol (its notebook's generator and models).
`nengo_lmu.tasks.paper`
    The paper's four experiments beside its figures (``nengo-lmu paper``).
    These three are imported on their own, not with this package.

The data functions return arrays shaped ``(batch, steps, dimensions)``, the
layout that ``nengo_dl.Simulator.fit`` and ``evaluate`` take for a Node or
Probe, and every result is fixed by its arguments (seeds included): nothing is
downloaded and nothing depends on global random state. Only NumPy and Nengo
are imported with this package; mlxtend, NengoDL, TensorFlow, NengoLoihi and
matplotlib when a function needs them.
"""

from nengo_lmu.tasks import delay, experiment, mackey_glass, psmnist
from nengo_lmu.tasks.delay import (
    BACKENDS,
    DELAYS,
    delay_network,
    delay_nrmse,
    delay_task,
    plot_delay,
    run_delay,
)
from nengo_lmu.tasks.mackey_glass import (
    evaluate_mackey_glass,
    mackey_glass_network,
    mackey_glass_series,
    train_mackey_glass,
)
from nengo_lmu.tasks.psmnist import (
    MNIST_5K_SIZE,
    MNIST_5K_TEST_PER_CLASS,
    MNIST_5K_TRAIN_PER_CLASS,
    MNIST_PIXELS,
    classifier_logits,
    classifier_network,
    evaluate_psmnist,
    plot_training,
    psmnist_network,
    psmnist_permutation,
    run_psmnist,
    train_psmnist,
)
