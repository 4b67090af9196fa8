"""LMU against KerasLMU 0.8, the reference, step for step."""

import itertools
import os

import nengo
import numpy as np
import pytest
from helpers import run_sequences
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import ValidationError
from robustness import (
    HYPOTHESIS,
    attempt,
    hostile_kwargs,
    is_huge,
    orders,
    pickle_roundtrip_outputs,
    tally,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.interop import lmu_from_keras  # noqa: E402

DT = 0.001
STEPS, BATCH, INPUT_D, UNITS, ORDER, THETA_STEPS = 30, 3, 2, 5, 4, 12.0

FLAGS = ["hidden_to_memory", "memory_to_memory", "input_to_hidden", "use_bias"]
COMBOS = [
    dict(zip(FLAGS, values), memory_d=memory_d, hidden=hidden)
    for memory_d in (1, 3)
    for values in itertools.product([False, True], repeat=4)
    for hidden in ("rnn", "dense", "none")
    if not (hidden == "none" and values[0])  # hidden_to_memory needs a hidden cell
]


def keras_layer(combo, seed):
    tf.keras.utils.set_random_seed(seed)
    hidden = {
        "rnn": lambda: tf.keras.layers.SimpleRNNCell(UNITS, bias_initializer="uniform"),
        "dense": lambda: tf.keras.layers.Dense(
            UNITS, activation="tanh", bias_initializer="uniform"
        ),
        "none": lambda: None,
    }[combo["hidden"]]()
    cell = keras_lmu.LMUCell(
        combo["memory_d"],
        ORDER,
        THETA_STEPS,
        hidden,
        hidden_to_memory=combo["hidden_to_memory"],
        memory_to_memory=combo["memory_to_memory"],
        input_to_hidden=combo["input_to_hidden"],
        use_bias=combo["use_bias"],
        bias_initializer="uniform",
        input_d=INPUT_D,
    )
    return tf.keras.layers.RNN(cell, return_sequences=True)


@pytest.fixture(scope="module")
def keras_and_nengo():
    """Every combination's Keras output, and one Nengo network holding all."""
    x = np.random.RandomState(0).uniform(-1, 1, size=(BATCH, STEPS, INPUT_D))
    x = x.astype(np.float32)
    outputs, probes, stims = [], [], []
    with nengo.Network(seed=0) as net:
        for i, combo in enumerate(COMBOS):
            layer = keras_layer(combo, seed=i)
            outputs.append(layer(x).numpy())
            stim = nengo.Node(np.zeros(INPUT_D))
            lmu = lmu_from_keras(layer, dt=DT)
            nengo.Connection(stim, lmu.input, synapse=None)
            probes.append(nengo.Probe(lmu.output, synapse=None))
            stims.append(stim)
    return x, outputs, net, probes, stims


def test_keras_equality_nengo_simulator(keras_and_nengo):
    x, outputs, net, probes, stims = keras_and_nengo
    assert x.shape[1] == STEPS
    nengo_out = run_sequences(net, stims, probes, x)
    for combo, out, probe in zip(COMBOS, outputs, probes):
        err = np.max(np.abs(nengo_out[probe] - out))
        assert err < 1e-5, (combo, err)


def test_keras_equality_nengo_dl(keras_and_nengo):
    x, outputs, net, probes, stims = keras_and_nengo
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=BATCH, progress_bar=False
    ) as sim:
        result = sim.predict({stim: x for stim in stims}, n_steps=STEPS)
    for combo, out, probe in zip(COMBOS, outputs, probes):
        err = np.max(np.abs(result[probe] - out))
        assert err < 1e-5, (combo, err)


@pytest.mark.parametrize("trainable", [False, True])
def test_keras_equality_euler(trainable):
    x = np.random.RandomState(1).uniform(-1, 1, size=(1, STEPS, 1)).astype(np.float32)
    tf.keras.utils.set_random_seed(3)
    layer = keras_lmu.LMU(
        2,
        ORDER,
        40.0,
        tf.keras.layers.SimpleRNNCell(UNITS),
        discretizer="euler",
        trainable_theta=trainable,
        hidden_to_memory=True,
        return_sequences=True,
    )
    y = layer(x).numpy()
    if trainable:  # a theta that has been trained is read back as trained
        layer.layer.cell.theta_inv.assign(1 / 55.0)
        y = layer(x).numpy()
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(x[0], DT))
        lmu = lmu_from_keras(layer, dt=DT)
        nengo.Connection(stim, lmu.input, synapse=None)
        p = nengo.Probe(lmu.output, synapse=None)
    assert lmu.theta == pytest.approx((55.0 if trainable else 40.0) * DT)
    assert (lmu.theta_connection is not None) == trainable
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(STEPS)
    assert np.max(np.abs(sim.data[p] - y[0])) < 1e-5


def test_stacked_layers():
    """One LMU's output into the next, against two stacked Keras layers."""
    x = np.random.RandomState(2).uniform(-1, 1, size=(1, STEPS, 1)).astype(np.float32)
    tf.keras.utils.set_random_seed(4)
    first = keras_lmu.LMU(
        1, ORDER, 10.0, tf.keras.layers.SimpleRNNCell(UNITS), return_sequences=True
    )
    second = keras_lmu.LMU(
        2,
        ORDER,
        20.0,
        tf.keras.layers.SimpleRNNCell(3),
        memory_to_memory=True,
        return_sequences=True,
    )
    y = second(first(x)).numpy()
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(x[0], DT))
        a, b = lmu_from_keras(first), lmu_from_keras(second)
        nengo.Connection(stim, a.input, synapse=None)
        nengo.Connection(a.output, b.input, synapse=None)
        p = nengo.Probe(b.output, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(STEPS)
    assert np.max(np.abs(sim.data[p] - y[0])) < 1e-5


def test_initializers_shapes_and_seed():
    with nengo.Network():
        a, b = (
            LMU(
                3,
                2,
                5,
                0.1,
                hidden_units=7,
                hidden_to_memory=True,
                memory_to_memory=True,
                input_to_hidden=True,
                use_bias=True,
                seed=1,
            )
            for _ in range(2)
        )
    shapes = {k: v.shape for k, v in a.weights.items()}
    assert shapes == {
        "kernel": (10, 2),
        "recurrent_kernel": (10, 2),
        "bias": (2,),
        "hidden_kernel": (13, 7),
        "hidden_recurrent_kernel": (7, 7),
        "hidden_bias": (7,),
    }
    for k in a.weights:
        assert np.array_equal(a.weights[k], b.weights[k])
    U = a.weights["hidden_recurrent_kernel"]
    assert np.allclose(U @ U.T, np.eye(7))  # orthogonal
    limit = np.sqrt(6 / (10 + 2))
    assert np.all(np.abs(a.weights["kernel"]) <= limit)


def test_no_hidden_output_is_memory():
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(np.eye(3)[:, :1], DT))
        lmu = LMU(1, 1, 4, 0.01, kernel_initializer=np.ones((1, 1)))
        nengo.Connection(stim, lmu.input, synapse=None)
        p_out = nengo.Probe(lmu.output, synapse=None)
        p_mem = nengo.Probe(lmu.memory.output, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(3)
    assert np.array_equal(sim.data[p_out], sim.data[p_mem])
    assert np.allclose(sim.data[p_out][0], lmu.memory.discrete_system.B[:, 0])


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"size_in": 0}, "size_in"),
        ({"memory_d": 0}, "memory_d"),
        ({"order": 0}, "order"),
        ({"theta": -1}, "theta"),
        ({"hidden_units": -1}, "hidden_units"),
        ({"hidden_units": 0, "hidden_to_memory": True}, "hidden_to_memory"),
        ({"discretizer": "tustin"}, "discretizer"),
        (
            {"trainable_theta": True, "memory_neurons_per_dimension": 10},
            "trainable_theta",
        ),
        ({"hidden_neuron_type": "tanh"}, "hidden_neuron_type"),
        ({"kernel_initializer": "he_normal"}, "kernel_initializer"),
        ({"kernel_initializer": np.ones((3, 3))}, "kernel_initializer"),
        (
            {"hidden_kernel_initializer": np.full((4, 3), np.nan)},
            "hidden_kernel_initializer",
        ),
        ({"memory_neurons_per_dimension": 10, "discretizer": "euler"}, "discretizer"),
        ({"output_synapse": -0.1}, "output_synapse"),
        ({"output_synapse": "slow"}, "output_synapse"),
    ],
)
def test_bad_lmu_parameters(kwargs, attr):
    args = dict(size_in=1, memory_d=1, order=4, theta=0.1, hidden_units=3)
    args.update(kwargs)
    with nengo.Network():
        with pytest.raises(ValidationError, match=attr):
            LMU(**args)


def test_unsupported_keras_layers():
    with pytest.raises(ValidationError, match="layer"):
        lmu_from_keras(tf.keras.layers.Dense(3))
    tf.keras.utils.set_random_seed(0)
    layer = keras_lmu.LMU(1, 4, 10, tf.keras.layers.LSTMCell(3), memory_to_memory=True)
    layer(np.zeros((1, 5, 1), dtype=np.float32))
    with pytest.raises(ValidationError, match="hidden_cell"):
        lmu_from_keras(layer)
    layer = keras_lmu.LMU(
        1,
        4,
        10,
        tf.keras.layers.SimpleRNNCell(3, activation="elu"),
        memory_to_memory=True,
    )
    layer(np.zeros((1, 5, 1), dtype=np.float32))
    with pytest.raises(ValidationError, match="hidden_cell"):
        lmu_from_keras(layer)
    unbuilt = keras_lmu.LMU(1, 4, 10, None)
    with pytest.raises(ValidationError, match="built"):
        lmu_from_keras(unbuilt)


# ---------------------------------------------------------------------------
# Hostile input (see robustness.py)


LMU_EXTRAS = [
    {"discretizer": "foo"},
    {"discretizer": "euler", "trainable_theta": True},
    {"trainable_theta": True},
    {"kernel_initializer": np.full((1, 1), np.nan)},
    {"kernel_initializer": "foo"},
    {"kernel_initializer": object()},
    {"hidden_neuron_type": "tanh"},
    {"memory_matrices": 3},
    {"memory_matrices": (np.eye(2), np.ones(2))},
    {"memory_neurons_per_dimension": 0},
    {"memory_neurons_per_dimension": 3, "memory_kwargs": {"radius": -1}},
    {"dt": float("nan")},
    {"dt": 1e300},
    {"seed": "x"},
    {"hidden_to_memory": True},
]


@settings(max_examples=80, **HYPOTHESIS)
@given(
    hostile_kwargs(
        {
            "size_in": st.integers(1, 3),
            "memory_d": st.integers(1, 3),
            "order": st.integers(1, 6),
            "theta": st.floats(0.01, 2),
            "hidden_units": st.integers(0, 4),
            "extra": st.just({}),
        },
        {
            "size_in": orders,
            "memory_d": orders,
            "order": orders,
            "hidden_units": st.one_of(
                st.integers(-2, -1), st.sampled_from([2.5, "3", None])
            ),
            "extra": st.sampled_from(LMU_EXTRAS),
        },
    )
)
def hostile_lmu(kw):
    attempt(
        "LMU",
        LMU,
        kw["size_in"],
        kw["memory_d"],
        kw["order"],
        kw["theta"],
        hidden_units=kw["hidden_units"],
        huge_allocation=is_huge(kw["size_in"], kw["memory_d"]),
        **kw["extra"],
    )


def test_hostile_lmu():
    """Any mix of valid and hostile arguments: an LMU or a ValidationError.

    Each function is tried at least 60 times here, and LMU
    both refuses and accepts some of the arguments."""
    with tally("LMU", minimum=60) as seen:
        hostile_lmu()
    assert seen["LMU", "refused"] and seen["LMU", "worked"], seen


# ---------------------------------------------------------------------------
# Pickling


def test_pickled_lmu_networks_give_identical_outputs():
    def make():
        with nengo.Network(seed=1) as net:
            stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=2, seed=2))
            net.lmu = LMU(
                1,
                2,
                4,
                0.1,
                hidden_units=6,
                input_to_hidden=True,
                memory_to_memory=True,
                hidden_to_memory=True,
                use_bias=True,
                seed=3,
            )
            nengo.Connection(stim, net.lmu.input, synapse=None)
            net.probe = nengo.Probe(net.lmu.output, synapse=None)
        return net

    net, clone, (a, b) = pickle_roundtrip_outputs(make)
    assert isinstance(clone.lmu, LMU)
    assert set(clone.lmu.weights) == set(net.lmu.weights)
    assert all(
        np.array_equal(clone.lmu.weights[k], v) for k, v in net.lmu.weights.items()
    )
    assert np.array_equal(a, b) and np.any(a != 0)


def test_numpy_scalars_and_seed():
    lmu = LMU(1, 1, 4, 0.1, hidden_units=3, output_synapse=np.float32(0.005))
    assert isinstance(lmu.output_synapse, nengo.Lowpass)
    assert lmu.output_synapse.tau == pytest.approx(0.005)
    LMU(np.int64(1), np.int64(1), np.int64(4), np.float32(0.1), seed=np.int64(3))
    for seed in (-1, 2**32, 1.5, "1"):
        with pytest.raises(ValidationError, match="seed"):
            LMU(1, 1, 4, 0.1, seed=seed)


@pytest.mark.parametrize(
    "option",
    [
        "hidden_recurrent",
        "hidden_to_memory",
        "memory_to_memory",
        "input_to_hidden",
        "use_bias",
        "trainable_theta",
    ],
)
@pytest.mark.parametrize("value", ["False", "True", 0, 1, None, [False]])
def test_boolean_options_take_booleans_only(option, value):
    """Issue 22: the string "False" became True."""
    with nengo.Network():
        with pytest.raises(ValidationError, match="must be True or False") as info:
            LMU(1, 1, 4, 0.1, hidden_units=3, **{option: value})
    assert info.value.attr == option
    with nengo.Network():
        lmu = LMU(1, 1, 4, 0.1, hidden_units=3, **{option: np.bool_(False)})
    assert getattr(lmu, option) is False


def lmu_weights_in(seed, n=2):
    with nengo.Network(seed=seed):
        lmus = [LMU(1, 1, 4, 0.1, hidden_units=3) for _ in range(n)]
        with nengo.Network():  # nested without a seed of its own
            lmus.append(LMU(1, 1, 4, 0.1, hidden_units=3))
    return [{k: np.array(v) for k, v in lmu.weights.items()} for lmu in lmus]


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_network_seed_seeds_the_lmu_weights():
    """Issue 22: an LMU inside Network(seed=0) without its own seed drew
    different initial weights on every run."""
    first, second = lmu_weights_in(0), lmu_weights_in(0)
    assert all(same(a, b) for a, b in zip(first, second))
    # distinct LMUs in one network, and another network seed, differ
    assert not same(first[0], first[1]) and not same(first[0], first[2])
    assert not same(first[0], lmu_weights_in(1)[0])
    # no seed anywhere: random, as in Nengo
    assert not same(lmu_weights_in(None)[0], lmu_weights_in(None)[0])
    # an explicit seed still wins
    with nengo.Network(seed=0):
        a = LMU(1, 1, 4, 0.1, hidden_units=3, seed=5)
    with nengo.Network(seed=1):
        b = LMU(1, 1, 4, 0.1, hidden_units=3, seed=5)
    assert same(a.weights, b.weights)


# --- time resolution: steps_per_sample ----------------------------------------


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"hidden_to_memory": True, "hidden_recurrent": False}, "hidden_to_memory"),
        ({"memory_to_memory": True, "hidden_recurrent": False}, "memory_to_memory"),
        ({"hidden_recurrent": True}, "hidden_recurrent"),
        ({"hidden_recurrent": False, "discretizer": "euler"}, "discretizer='euler'"),
        (
            {
                "hidden_recurrent": False,
                "discretizer": "euler",
                "trainable_theta": True,
            },
            "discretizer='euler'",
        ),
        (
            {
                "hidden_recurrent": False,
                "theta": None,
                "memory_matrices": (np.eye(4) * 0.9, np.ones(4)),
            },
            "memory_matrices",
        ),
    ],
)
def test_steps_per_sample_refused_where_not_exact(kwargs, option):
    args = dict(size_in=1, memory_d=1, order=4, theta=0.1, hidden_units=3)
    args.update(kwargs)
    with nengo.Network():
        LMU(**args)  # one step per sample is fine
        with pytest.raises(ValidationError) as err:
            LMU(steps_per_sample=3, **args)
    assert err.value.attr == "steps_per_sample"
    assert option in str(err.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_steps_per_sample_must_be_a_count(bad):
    with nengo.Network():
        with pytest.raises(ValidationError, match="steps_per_sample"):
            LMU(1, 1, 4, 0.1, steps_per_sample=bad)


def test_steps_per_sample_trainable_theta_memory_and_theta():
    """The zero-order hold with a trainable theta dilates exactly: after each
    sample's k steps the memory is scipy's zero-order hold at one sample per
    dt, and lmu_weights reports the model's theta."""
    from scipy.signal import cont2discrete  # pylint: disable=import-outside-toplevel

    from nengo_lmu.dl import lmu_weights  # pylint: disable=import-outside-toplevel
    from nengo_lmu.systems import (  # pylint: disable=import-outside-toplevel
        legendre_matrices,
    )

    k, order, theta, samples = 3, 4, 0.01, 15
    u = np.random.RandomState(2).uniform(-1, 1, size=samples)
    with nengo.Network() as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(
            1,
            1,
            order,
            theta,
            kernel_initializer=np.ones((1, 1)),
            trainable_theta=True,
            steps_per_sample=k,
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
    assert lmu.theta == theta and lmu.memory.theta == pytest.approx(k * theta)
    with nengo_dl.Simulator(net, dt=DT, progress_bar=False) as sim:
        out = sim.predict({stim: np.repeat(u, k)[None, :, None]})[probe][0]
        assert lmu_weights(sim, lmu)["theta"] == pytest.approx(theta, rel=1e-6)
    A, B = legendre_matrices(order)
    Abar, Bbar, *_ = cont2discrete((A / theta, B / theta, np.eye(order), 0), DT)
    m, expected = np.zeros(order), []
    for value in u:
        m = Abar @ m + Bbar[:, 0] * value
        expected.append(m)
    np.testing.assert_allclose(out[k - 1 :: k], expected, atol=1e-5)
    # the steps in between are not the model's samples
    assert np.max(np.abs(out[::k] - np.array(expected))) > 1e-2
