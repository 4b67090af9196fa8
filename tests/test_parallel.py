"""Parallel training of LMUs whose memory does not depend on its past
(nengo_lmu.interop.parallel)."""

import itertools
import json
import os

import nengo
import numpy as np
import pytest
from helpers import run_network
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.interop import to_keras  # noqa: E402
from nengo_lmu.interop.parallel import (  # noqa: E402
    ParallelLMU,
    impulse_response,
    is_feedforward,
    lmu_memory_matrices,
)
from nengo_lmu.interop.parallel_layer import ParallelLMULayer  # noqa: E402
from nengo_lmu.systems import LegendreDelay  # noqa: E402

DT = 0.001


def stepwise_memory(u, Abar, Bbar):
    """m_t = Abar m_{t-1} + Bbar u_t, one step at a time, per memory."""
    batch, steps, memory_d = u.shape
    order = Abar.shape[0]
    m = np.zeros((batch, memory_d, order))
    out = np.zeros((batch, steps, memory_d * order))
    for t in range(steps):
        m = m @ Abar.T + u[:, t, :, None] * Bbar[:, 0]
        out[:, t] = m.reshape(batch, -1)
    return out


def run_nengo(lmu_kwargs, x, readout=None):
    """An LMU (and a linear readout) in the reference simulator, per sequence."""
    with nengo.Network() as net:
        lmu = LMU(**lmu_kwargs)
        net.input, net.output = lmu.input, lmu.output
        if readout is not None:
            kernel, bias = readout
            net.output = nengo.Node(size_in=kernel.shape[1])
            nengo.Connection(lmu.output, net.output, transform=kernel.T, synapse=None)
            nengo.Connection(
                nengo.Node(np.ones(1)),
                net.output,
                transform=bias[:, None],
                synapse=None,
            )
    return run_network(net, x)


def test_impulse_response_is_matrix_powers():
    sys = LegendreDelay(0.05, 7).discretize(DT)
    H = impulse_response(sys.A, sys.B, 40)
    for k in (0, 1, 17, 39):
        expected = np.linalg.matrix_power(sys.A, k) @ sys.B[:, 0]
        assert np.allclose(H[k], expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_parallel_memory_equals_stepwise(return_sequences):
    """FFT (every step) and reversed-response product (last step) against the
    step-by-step recurrence, float64, to 1e-10."""
    rng = np.random.RandomState(1)
    steps, memory_d, order = 300, 3, 16
    lmu = LMU(
        2, memory_d, order, 0.2, dt=DT, use_bias=True, seed=0, add_to_container=False
    )
    layer = ParallelLMU(lmu, return_sequences=return_sequences, dtype="float64")
    x = rng.uniform(-1, 1, size=(4, steps, 2))
    out = layer(tf.constant(x)).numpy()
    Abar, Bbar = lmu_memory_matrices(lmu)
    u = x @ lmu.weights["kernel"] + lmu.weights["bias"]
    expected = stepwise_memory(u, Abar, Bbar)
    if not return_sequences:
        expected = expected[:, -1]
    assert out.shape == expected.shape
    assert np.max(np.abs(out - expected)) < 1e-10
    assert np.max(np.abs(expected)) > 0.1  # a non-trivial memory


@pytest.mark.parametrize("input_to_hidden", [True, False])
def test_layer_equals_nengo_lmu(input_to_hidden):
    """The layer over a whole sequence gives the Nengo LMU's output at every
    step (reference simulator, float64)."""
    kwargs = dict(
        size_in=2,
        memory_d=2,
        order=6,
        theta=0.015,
        hidden_units=5,
        hidden_recurrent=False,
        input_to_hidden=input_to_hidden,
        use_bias=True,
        bias_initializer=nengo.dists.Uniform(-1, 1),
        hidden_bias_initializer=nengo.dists.Uniform(-1, 1),
        dt=DT,
        seed=2,
    )
    lmu = LMU(add_to_container=False, **kwargs)
    x = np.random.RandomState(3).uniform(-1, 1, size=(2, 25, 2))
    layer = ParallelLMU(lmu, return_sequences=True, dtype="float64")
    out = layer(tf.constant(x)).numpy()
    expected = run_nengo(kwargs, x)
    assert np.max(np.abs(out - expected)) < 1e-10
    assert np.std(expected) > 0.05


def test_relu_and_given_matrices_load_back():
    """relu hidden units and given memory matrices survive the round trip."""
    rng = np.random.RandomState(4)
    Abar = 0.9 * np.eye(3) + 0.02 * rng.randn(3, 3)
    Bbar = rng.randn(3, 1)
    kwargs = dict(
        size_in=1,
        memory_d=1,
        order=3,
        theta=None,
        hidden_units=4,
        hidden_recurrent=False,
        memory_matrices=(Abar, Bbar),
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_bias_initializer=nengo.dists.Uniform(0, 1),
        seed=5,
    )
    lmu = LMU(add_to_container=False, **kwargs)
    layer = ParallelLMU(lmu, return_sequences=True, dtype="float64")
    x = rng.uniform(-1, 1, size=(1, 30, 1))
    out = layer(tf.constant(x)).numpy()
    params = layer.lmu_parameters()
    assert np.array_equal(params["memory_matrices"][0], Abar)
    assert isinstance(params["hidden_neuron_type"], nengo.RectifiedLinear)
    assert np.max(np.abs(out - run_nengo(params, x))) < 1e-10
    assert np.max(np.abs(out - run_nengo(kwargs, x))) < 1e-10
    assert np.any(out == 0) and np.any(out > 0.1)  # relu is active and clipping


def test_train_in_parallel_then_run_in_nengo():
    """Train the layer and a Dense readout; the trained weights load back
    into an LMU whose Nengo outputs equal the Keras model's."""
    tf.keras.utils.set_random_seed(0)
    steps, classes = 40, 3
    kwargs = dict(
        size_in=1,
        memory_d=1,
        order=8,
        theta=0.04,
        hidden_units=6,
        hidden_recurrent=False,
        input_to_hidden=True,
        dt=DT,
        seed=6,
    )
    lmu = LMU(add_to_container=False, **kwargs)
    rng = np.random.RandomState(7)
    x = rng.uniform(-1, 1, size=(64, steps, 1))
    y = (x[:, -30:, 0].mean(axis=1) > 0).astype(int) + (x[:, -1, 0] > 0.5)
    inp = tf.keras.Input((steps, 1), dtype="float64")
    layer = ParallelLMU(lmu, dtype="float64")
    dense = tf.keras.layers.Dense(classes, dtype="float64")
    model = tf.keras.Model(inp, dense(layer(inp)))
    model.compile(
        tf.optimizers.Adam(0.02),
        tf.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.8 * before
    trained = layer.lmu_weights()
    for key in ("kernel", "hidden_kernel", "hidden_bias"):
        assert not np.allclose(trained[key], lmu.weights[key])

    params = layer.lmu_parameters()
    assert params["theta"] == pytest.approx(kwargs["theta"], rel=1e-12)
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    nengo_out = run_nengo(params, x[:3], readout=(kernel, bias))
    keras_out = model(tf.constant(x[:3])).numpy()
    assert np.max(np.abs(nengo_out[:, -1] - keras_out)) < 1e-10


def test_lmus_depending_on_their_past_are_refused():
    base = dict(
        size_in=1,
        memory_d=1,
        order=4,
        theta=0.01,
        hidden_units=3,
        hidden_recurrent=False,
        add_to_container=False,
    )
    for attr, option in (
        ("hidden_to_memory", {"hidden_to_memory": True}),
        ("memory_to_memory", {"memory_to_memory": True}),
        ("trainable_theta", {"trainable_theta": True, "discretizer": "euler"}),
    ):
        lmu = LMU(**{**base, **option})
        with pytest.raises(ValidationError, match=attr):
            ParallelLMU(lmu)
    # neuron types without a Keras activation of the same rate function
    for neuron_type in (nengo.LIFRate(), nengo.Tanh(tau_ref=0.5)):
        lmu = LMU(**{**base, "hidden_neuron_type": neuron_type})
        with pytest.raises(ValidationError, match="hidden_neuron_type"):
            ParallelLMU(lmu)
    layer = ParallelLMU(LMU(**base))
    with pytest.raises(ValidationError, match="sequence length"):
        layer(tf.keras.Input((None, 1)))
    bad = ParallelLMU(LMU(**base), weights={"kernel": np.zeros((2, 1))})
    with pytest.raises(ValidationError, match="kernel must have shape"):
        bad(np.zeros((1, 5, 1)))
    for kwargs, attr in (
        (dict(theta=None), "theta"),
        (dict(theta=0.01, discretizer="bilinear"), "discretizer"),
        (
            dict(theta=0.01, hidden_units=2, hidden_activation="elu"),
            "hidden_activation",
        ),
        (dict(memory_matrices=(np.eye(3), np.ones((3, 1)))), "memory_matrices"),
        (
            dict(memory_matrices=(np.eye(2), np.ones((2, 1))), discretizer="euler"),
            "discretizer",
        ),
    ):
        with pytest.raises(ValidationError, match=attr):
            ParallelLMU(memory_d=1, order=2, **kwargs)


@pytest.mark.parametrize(
    "options",
    [
        dict(hidden_recurrent=True),
        dict(hidden_recurrent=False, discretizer="euler"),
        dict(
            hidden_recurrent=True,
            discretizer="euler",
            hidden_neuron_type=nengo.Sigmoid(tau_ref=1),
            input_to_hidden=True,
        ),
    ],
)
def test_recurrent_hidden_cell_and_euler_equal_nengo_lmu(options):
    """A recurrent hidden cell (the memory by FFT, then the hidden state step
    by step) and the Euler memory give the Nengo LMU's outputs, at every step
    and at the last (reference simulator, float64); they load back."""
    kwargs = dict(
        size_in=2,
        memory_d=2,
        order=5,
        theta=0.012,
        hidden_units=4,
        use_bias=True,
        bias_initializer=nengo.dists.Uniform(-1, 1),
        hidden_bias_initializer=nengo.dists.Uniform(-1, 1),
        dt=DT,
        seed=8,
        **options,
    )
    lmu = LMU(add_to_container=False, **kwargs)
    x = np.random.RandomState(9).uniform(-1, 1, size=(2, 20, 2))
    expected = run_nengo(kwargs, x)
    assert np.std(expected) > 0.05
    every = ParallelLMU(lmu, return_sequences=True, dtype="float64")
    assert np.max(np.abs(every(tf.constant(x)).numpy() - expected)) < 1e-10
    last = ParallelLMU(lmu, dtype="float64")
    assert np.max(np.abs(last(tf.constant(x)).numpy() - expected[:, -1])) < 1e-10
    params = every.lmu_parameters()
    assert params["hidden_recurrent"] == options["hidden_recurrent"]
    assert params["discretizer"] == options.get("discretizer", "zoh")
    assert np.max(np.abs(run_nengo(params, x) - expected)) < 1e-10


def feedforward_table():
    """LMU options: each combination of the memory's and hidden cell's
    options (Euler only with trainable_theta: the zero-order hold's trainable
    theta is a NengoDL TensorNode, and the rule does not look at the
    discretizer), no hidden cell, and dropout with and without the hidden
    cell's copy of the input."""
    rows = []
    for h2m, m2m, trainable, recurrent, disc in itertools.product(
        (False, True), (False, True), (False, True), (False, True), ("zoh", "euler")
    ):
        if not (trainable and disc == "zoh"):
            rows.append(
                dict(
                    hidden_to_memory=h2m,
                    memory_to_memory=m2m,
                    trainable_theta=trainable,
                    hidden_recurrent=recurrent,
                    discretizer=disc,
                )
            )
    for m2m, disc in itertools.product((False, True), ("zoh", "euler")):
        rows.append(dict(hidden_units=0, memory_to_memory=m2m, discretizer=disc))
    for recurrent, to_hidden, h2m in itertools.product(
        (False, True), (False, True), (False, True)
    ):
        rows.append(
            dict(
                dropout=0.3,
                hidden_recurrent=recurrent,
                input_to_hidden=to_hidden,
                hidden_to_memory=h2m,
            )
        )
    return rows


def test_parallel_and_export_agree_on_feedforward_lmus():
    """One rule for "the memory does not depend on its own past" (no
    hidden_to_memory, no memory_to_memory, no trainable_theta, whatever the
    hidden cell and discretizer): ParallelLMU accepts exactly those LMUs and
    to_keras exports exactly those as KerasLMU's LMUFeedforward (but with
    dropout and input_to_hidden together, where LMUFeedforward would drop
    the hidden cell's input too); where both take an LMU, they compute the
    same outputs (float64)."""
    steps = 12
    x = np.random.RandomState(10).uniform(-1, 1, size=(2, steps, 2))
    kinds = set()
    for options in feedforward_table():
        kwargs = dict(
            size_in=2, memory_d=2, order=4, theta=0.01, hidden_units=3, seed=11
        )
        kwargs.update(options)
        with nengo.Network():
            lmu = LMU(**kwargs)
        expected = not (
            options.get("hidden_to_memory")
            or options.get("memory_to_memory")
            or options.get("trainable_theta")
        )
        assert is_feedforward(lmu) == expected, options
        try:
            layer = ParallelLMU(lmu, return_sequences=True, dtype="float64")
        except ValidationError:
            layer = None
        assert (layer is not None) == expected, options
        model = to_keras(lmu, n_steps=steps, return_sequences=True, dtype="float64")
        kind = type(model.layers[1]).__name__
        dropped_copy = options.get("dropout") and options.get("input_to_hidden")
        assert kind == (
            "LMUFeedforward" if expected and not dropped_copy else "RNN"
        ), options
        kinds.add((expected, kind))
        if layer is not None:
            ours = layer(tf.constant(x)).numpy()
            theirs = model(tf.constant(x)).numpy()
            assert np.std(theirs) > 0.01, options
            # KerasLMU runs a Dense hidden cell over the sequence inside a
            # TimeDistributed layer of Keras's default dtype, float32: 4e-8
            # measured; 1e-15 otherwise
            dense = kwargs["hidden_units"] and not kwargs.get("hidden_recurrent", True)
            tolerance = 1e-7 if dense else 1e-12
            assert np.max(np.abs(ours - theirs)) < tolerance, options
    assert kinds == {(True, "LMUFeedforward"), (True, "RNN"), (False, "RNN")}


def saveable_layers():
    """A Legendre-memory layer with every hidden option, and one with given
    memory matrices and no hidden cell."""
    lmu = LMU(
        2, 2, 6, 0.02, hidden_units=5, hidden_recurrent=True, input_to_hidden=True,
        use_bias=True, hidden_neuron_type=nengo.RectifiedLinear(), dropout=0.2,
        bias_initializer=nengo.dists.Uniform(-1, 1),
        hidden_bias_initializer=nengo.dists.Uniform(0, 1),
        discretizer="euler", seed=12, add_to_container=False,
    )  # fmt: skip
    rng = np.random.RandomState(13)
    matrices = (0.9 * np.eye(3) + 0.02 * rng.randn(3, 3), rng.randn(3, 1))
    return {
        "legendre": ParallelLMU(lmu, return_sequences=True, dtype="float64"),
        "matrices": ParallelLMU(
            memory_d=1,
            order=3,
            theta=0.5,
            memory_matrices=matrices,
            input_to_hidden=True,
            dtype="float64",
        ),
    }


@pytest.mark.parametrize("which", ["legendre", "matrices"])
@pytest.mark.parametrize("fmt", ["h5", "tf"])
def test_model_with_parallel_layer_saves_and_loads(tmp_path, fmt, which):
    """A Keras model holding the layer saves (.h5, SavedModel) and loads back
    (custom_objects) with the same configuration, weights and outputs."""
    layer = saveable_layers()[which]
    assert ParallelLMULayer.from_config(layer.get_config()).get_config() == (
        layer.get_config()
    )
    json.dumps(layer.get_config())  # what .h5 files store
    steps = 15
    inp = tf.keras.Input((steps, 2), dtype="float64")
    model = tf.keras.Model(inp, tf.keras.layers.Dense(3, dtype="float64")(layer(inp)))
    x = np.random.RandomState(14).uniform(-1, 1, size=(4, steps, 2))
    before = model(tf.constant(x)).numpy()
    path = str(tmp_path / ("model.h5" if fmt == "h5" else "model"))
    model.save(path, save_format=fmt)
    loaded = tf.keras.models.load_model(
        path, custom_objects={"ParallelLMULayer": ParallelLMULayer}
    )
    back = loaded.layers[1]
    assert isinstance(back, ParallelLMULayer)
    assert back.get_config() == layer.get_config()
    assert np.array_equal(loaded(tf.constant(x)).numpy(), before)
    assert np.std(before) > 0.01
    for key, value in layer.lmu_weights().items():
        assert np.array_equal(back.lmu_weights()[key], value), key
    params, params_back = layer.lmu_parameters(), back.lmu_parameters()
    assert params.keys() == params_back.keys()
    assert params_back["theta"] == params["theta"]


def test_dropout_masks_each_sequence_in_training_only():
    """The LMU's dropout in parallel: off at inference; in training one mask
    per sequence on the memory's input (zeros and 1 / (1 - rate)), and the
    hidden cell's copy of the input is not dropped. It loads back."""
    rate, n = 0.4, 30
    with nengo.Network():
        lmu = LMU(
            n, n, 2, 0.02, hidden_units=0, input_to_hidden=True, dropout=rate,
            kernel_initializer=np.eye(n), seed=1,
        )  # fmt: skip
    layer = ParallelLMU(lmu, dtype="float64")
    x = np.ones((8, 20, n))
    plain = layer(x, training=False).numpy()
    with nengo.Network():
        undropped = LMU(
            n, n, 2, 0.02, input_to_hidden=True, kernel_initializer=np.eye(n)
        )
    assert np.allclose(plain, ParallelLMU(undropped, dtype="float64")(x).numpy())
    dropped = layer(x, training=True).numpy()
    # the hidden part's copy of the input is kept
    assert np.array_equal(dropped[:, 2 * n :], plain[:, 2 * n :])
    memory, memory_plain = dropped[:, : 2 * n], plain[:, : 2 * n]
    # memory d's two coefficients carry input d: both scaled by its mask
    mask = (memory / memory_plain).reshape(8, n, 2)
    assert np.allclose(mask[..., 0], mask[..., 1])
    values = np.unique(np.round(mask, 9))
    assert np.allclose(values, [0, 1 / (1 - rate)])
    assert 0.2 < np.mean(mask == 0) < 0.6  # 240 draws at 0.4
    assert len({row.tobytes() for row in np.round(mask[..., 0], 9)}) > 4
    assert layer.lmu_parameters()["dropout"] == rate
    for bad in (1.0, -0.1, "half", float("nan")):
        with pytest.raises(ValidationError, match="dropout"):
            ParallelLMU(
                dropout=bad,
                memory_d=1,
                order=2,
                memory_matrices=(np.eye(2), np.ones((2, 1))),
            )
