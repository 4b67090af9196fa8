"""Training parity with KerasLMU 0.8: one SGD step gives the same weights.

For every option combination the LMU accepts, an LMU built from a float64
``keras_lmu.LMUCell`` (in ``keras.layers.RNN``) takes one step of plain SGD
in NengoDL on the same batch and loss as the Keras cell does under
``tf.GradientTape``; every weight after the step, theta included, must agree
to 1e-6 of the step. One NengoDL simulator holds many LMUs (their losses
add up, and no weight affects another LMU's loss, so each gets its own
gradient).

By default a covering subset runs: 9 of the 320 combinations, in which every
pair of option values occurs at least once (`COVERING`), in one simulator.
The full table (8 groups of 40 LMUs, one simulator each) runs with
``--slow``.
"""

import functools
import itertools
import os

import nengo
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import (
    add_regularization,
    configure_training,
    lmu_weights,
)  # noqa: E402
from nengo_lmu.interop import keras_lmu_parameters  # noqa: E402

DT = 0.001
STEPS, BATCH, INPUT_D, UNITS, ORDER, THETA_STEPS, LR = 6, 3, 2, 4, 3, 5.0, 0.05
FLAGS = ["hidden_to_memory", "memory_to_memory", "input_to_hidden", "use_bias"]
GROUPS = list(itertools.product((1, 3), ("zoh", "euler"), (False, True)))
CELLS = [
    dict(zip(FLAGS, values), hidden=hidden)
    for values in itertools.product([False, True], repeat=4)
    for hidden in ("rnn", "dense", "none")
    if not (hidden == "none" and values[0])  # hidden_to_memory needs a hidden cell
]
#: lmu_weights keys -> (Keras variable's owner, its name)
KERAS_NAMES = {
    "kernel": ("lmu", "kernel"),
    "recurrent_kernel": ("lmu", "recurrent_kernel"),
    "bias": ("lmu", "bias"),
    "hidden_kernel": ("hidden", "kernel"),
    "hidden_recurrent_kernel": ("hidden", "recurrent_kernel"),
    "hidden_bias": ("hidden", "bias"),
    "theta": ("lmu", "theta_inv"),
}


def combo_id(cell):
    flags = [f for f in FLAGS if cell[f]]
    return "-".join([cell["hidden"]] + flags)


def keras_layer(cell, memory_d, discretizer, trainable_theta, seed):
    tf.keras.utils.set_random_seed(seed)
    hidden = {
        "rnn": lambda: tf.keras.layers.SimpleRNNCell(
            UNITS, bias_initializer="uniform", dtype="float64"
        ),
        "dense": lambda: tf.keras.layers.Dense(
            UNITS, activation="tanh", bias_initializer="uniform", dtype="float64"
        ),
        "none": lambda: None,
    }[cell["hidden"]]()
    lmu_cell = keras_lmu.LMUCell(
        memory_d,
        ORDER,
        THETA_STEPS,
        hidden,
        discretizer=discretizer,
        trainable_theta=trainable_theta,
        bias_initializer="uniform",
        input_d=INPUT_D,
        dtype="float64",
        **{f: cell[f] for f in FLAGS},
    )
    layer = tf.keras.layers.RNN(lmu_cell, return_sequences=True, dtype="float64")
    layer.build((None, None, INPUT_D))
    return layer


def keras_values(layer):
    """The layer's trainable weights by lmu_weights key."""
    cell = layer.cell
    owners = {"lmu": cell, "hidden": cell.hidden_cell}
    values = {}
    for key, (owner, name) in KERAS_NAMES.items():
        var = getattr(owners[owner], name, None)
        if isinstance(var, tf.Variable) and var.trainable:
            values[key] = var.numpy()
    return values


def keras_step(layer, x, target):
    """Weights after one step of plain SGD on the mean squared error."""
    variables = layer.trainable_weights
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((layer(x) - target) ** 2)
    grads = tape.gradient(loss, variables)
    assert all(g is not None for g in grads)
    before = keras_values(layer)
    for var, grad in zip(variables, grads):
        var.assign_sub(LR * grad)
    return before, keras_values(layer)


def as_keras(weights, trainable_theta):
    """lmu_weights in the Keras variables' units (theta as theta_inv)."""
    weights = dict(weights)
    theta = weights.pop("theta")
    if trainable_theta:
        weights["theta"] = np.array(DT / theta)
    return weights


COMBOS = [
    (cell, memory_d, discretizer, trainable_theta)
    for memory_d, discretizer, trainable_theta in GROUPS
    for cell in CELLS
]


@functools.lru_cache(maxsize=None)
def step_results(indices, planner):
    """Keras and NengoDL weights before and after one step, for the COMBOS
    at ``indices``, all in one NengoDL simulator with NengoDL's ``planner``."""
    rng = np.random.RandomState(len(indices))
    x = rng.uniform(-1, 1, size=(BATCH, STEPS, INPUT_D))
    layers, targets, results = [], [], []
    for i in indices:
        cell, memory_d, discretizer, trainable_theta = COMBOS[i]
        layer = keras_layer(cell, memory_d, discretizer, trainable_theta, seed=i)
        target = rng.uniform(-1, 1, size=(BATCH, STEPS, layer.cell.output_size))
        layers.append(layer)
        targets.append(target)
    # the Nengo side, built from the initial Keras weights
    # as a user would write it for each LMU: a network holding the input,
    # the LMU and a probe, both seeded with 0 (NengoDL once silently froze
    # one weight of such networks: see protect_from_probe_seeds)
    with nengo.Network(seed=0) as net:
        stims, probes, lmus = [], [], []
        for layer in layers:
            params = keras_lmu_parameters(layer, dt=DT)
            params["trainable_theta"] = layer.cell.trainable_theta
            with nengo.Network(seed=0):
                stim = nengo.Node(np.zeros(INPUT_D))
                lmu = LMU(**params, seed=0)
                nengo.Connection(stim, lmu.input, synapse=None)
                probes.append(nengo.Probe(lmu.output, synapse=None))
            stims.append(stim)
            lmus.append(lmu)
    configure_training(
        net,
        keep_history=True,
        dtype="float64",
        planner=getattr(nengo_dl.graph_optimizer, planner),
    )
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=BATCH, progress_bar=False
    ) as sim:
        nengo_before = [lmu_weights(sim, lmu) for lmu in lmus]
        sim.compile(
            optimizer=tf.optimizers.SGD(LR), loss={p: tf.losses.mse for p in probes}
        )
        sim.fit({s: x for s in stims}, dict(zip(probes, targets)), epochs=1, verbose=0)
        nengo_after = [lmu_weights(sim, lmu) for lmu in lmus]
    for i, layer, target, before, after in zip(
        indices, layers, targets, nengo_before, nengo_after
    ):
        trainable_theta = COMBOS[i][3]
        keras_before, keras_after = keras_step(layer, x, target)
        results.append(
            (
                keras_before,
                keras_after,
                as_keras(before, trainable_theta),
                as_keras(after, trainable_theta),
            )
        )
    return dict(zip(indices, results))


def check_step(result, trainable_theta):
    keras_before, keras_after, before, after = result
    # the same weights, no more and no fewer, and the same starting point
    assert sorted(before) == sorted(keras_before)
    assert ("theta" in before) == trainable_theta
    for key in keras_before:
        assert np.array_equal(before[key], keras_before[key]), key
        step = np.max(np.abs(keras_after[key] - keras_before[key]))
        assert step > 1e-7, (key, step)  # every weight trains
        err = np.max(np.abs(after[key] - keras_after[key]))
        assert err <= 1e-6 * step, (key, err, step)


def group_of(index):
    """The COMBOS sharing ``index``'s memory_d, discretizer and trainable_theta:
    one simulator each (40 LMUs)."""
    key = COMBOS[index][1:]
    return tuple(i for i, combo in enumerate(COMBOS) if combo[1:] == key)


def option_values(combo):
    """The combination's value of each option, as (option, value) pairs."""
    cell, memory_d, discretizer, trainable_theta = combo
    return (
        [("hidden", cell["hidden"])]
        + [(flag, cell[flag]) for flag in FLAGS]
        + [
            ("memory_d", memory_d),
            ("discretizer", discretizer),
            ("trainable_theta", trainable_theta),
        ]
    )


def value_pairs(combo):
    return set(itertools.combinations(option_values(combo), 2))


def covering_subset(combos):
    """Indices of combinations in which every pair of option values that
    occurs in ``combos`` occurs at least once (greedy: each pick covers the
    most pairs not yet covered; the first such in the table)."""
    needed = set().union(*map(value_pairs, combos))
    chosen = []
    while needed:
        best = max(
            range(len(combos)), key=lambda i: len(value_pairs(combos[i]) & needed)
        )
        chosen.append(best)
        needed -= value_pairs(combos[best])
    return tuple(sorted(chosen))


COVERING = covering_subset(COMBOS)
IDS = [f"{combo_id(c)}-d{d}-{z}-{'tt' if t else 'ft'}" for c, d, z, t in COMBOS]


def test_covering_subset_has_every_pair():
    """Every pair of option values the LMU accepts (hidden_to_memory needs a
    hidden cell) is in some combination of COVERING."""
    covered = set().union(*(value_pairs(COMBOS[i]) for i in COVERING))
    values = {
        "hidden": ["rnn", "dense", "none"],
        **{flag: [False, True] for flag in FLAGS},
        "memory_d": [1, 3],
        "discretizer": ["zoh", "euler"],
        "trainable_theta": [False, True],
    }
    names = list(values)
    for a, b in itertools.combinations(range(len(names)), 2):
        for va in values[names[a]]:
            for vb in values[names[b]]:
                pair = ((names[a], va), (names[b], vb))
                impossible = ("hidden", "none") in pair and (
                    "hidden_to_memory",
                    True,
                ) in pair
                assert (pair in covered) != impossible, pair
    assert len(COVERING) <= 12


@pytest.mark.parametrize("index", COVERING, ids=[IDS[i] for i in COVERING])
def test_one_sgd_step_equals_keras(index):
    """The covering subset, all in one simulator. NengoDL's tree planner
    merges the LMUs' operators, which keeps the build short."""
    result = step_results(COVERING, "tree_planner")[index]
    check_step(result, COMBOS[index][3])


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(COMBOS)), ids=IDS)
def test_one_sgd_step_equals_keras_full_table(index):
    """Every combination, in groups of 40 LMUs sharing memory_d, discretizer
    and trainable_theta."""
    result = step_results(group_of(index), "tree_planner")[index]
    check_step(result, COMBOS[index][3])


# with configure_training's default planner (no merging: each LMU's operators
# built on their own), the SimpleRNN cell with every option on and a
# trainable theta, zoh and euler
DEFAULT_PLANNER = tuple(
    i
    for i, (cell, memory_d, discretizer, trainable_theta) in enumerate(COMBOS)
    if memory_d == 3
    and trainable_theta
    and cell["hidden"] == "rnn"
    and all(cell[f] for f in FLAGS)
)


@pytest.mark.parametrize("index", DEFAULT_PLANNER)
def test_one_sgd_step_equals_keras_default_planner(index):
    result = step_results(DEFAULT_PLANNER, "noop_planner")[index]
    check_step(result, COMBOS[index][3])


def test_regularizers_step_equals_keras():
    """kernel_regularizer, recurrent_regularizer and bias_regularizer enter
    the NengoDL loss as KerasLMU's do: one SGD step gives the same weights."""
    regs = dict(
        kernel_regularizer=tf.keras.regularizers.L2(0.3),
        recurrent_regularizer=tf.keras.regularizers.L1(0.2),
        bias_regularizer=tf.keras.regularizers.L1L2(0.1, 0.4),
    )
    tf.keras.utils.set_random_seed(5)
    cell = keras_lmu.LMUCell(
        2,
        ORDER,
        THETA_STEPS,
        tf.keras.layers.SimpleRNNCell(UNITS, dtype="float64"),
        hidden_to_memory=True,
        memory_to_memory=True,
        use_bias=True,
        bias_initializer="uniform",
        input_d=INPUT_D,
        dtype="float64",
        **regs,
    )
    layer = tf.keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    layer.build((None, None, INPUT_D))
    rng = np.random.RandomState(6)
    x = rng.uniform(-1, 1, size=(BATCH, STEPS, INPUT_D))
    y = rng.uniform(-1, 1, size=(BATCH, STEPS, UNITS))
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(INPUT_D))
        # the import carries KerasLMU's regularizers over
        lmu = LMU(**keras_lmu_parameters(layer, dt=DT), seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
    configure_training(net, keep_history=True, dtype="float64")
    assert lmu.regularizers == {
        "kernel": regs["kernel_regularizer"],
        "recurrent_kernel": regs["recurrent_regularizer"],
        "bias": regs["bias_regularizer"],
    }
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=BATCH, progress_bar=False
    ) as sim:
        assert add_regularization(sim) == 3
        sim.compile(optimizer=tf.optimizers.SGD(LR), loss=tf.losses.mse)
        sim.fit({stim: x}, {probe: y}, epochs=1, verbose=0)
        after = lmu_weights(sim, lmu)
    variables = layer.trainable_weights
    before = keras_values(layer)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((layer(x) - y) ** 2)
        penalty = tf.add_n(layer.losses)
        total = loss + penalty
    assert len(layer.losses) == 3
    grads = tape.gradient(total, variables)
    for var, grad in zip(variables, grads):
        var.assign_sub(LR * grad)
    keras_after = keras_values(layer)
    for key in before:
        step = np.max(np.abs(keras_after[key] - before[key]))
        assert np.max(np.abs(after[key] - keras_after[key])) <= 1e-6 * step, key
    assert float(penalty) > 0.01  # the penalties are not negligible
