"""LMU dropout and recurrent_dropout: KerasLMU's, in NengoDL training only."""

import os

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training, lmu_weights  # noqa: E402
from nengo_lmu.interop import keras_lmu_parameters  # noqa: E402
from nengo_lmu.networks.dropout import SequenceDropout  # noqa: E402
from nengo_lmu.spiking import to_spiking  # noqa: E402

DT, STEPS, BATCH, INPUT_D, UNITS, ORDER, THETA_STEPS, LR = (
    0.001,
    8,
    4,
    3,
    5,
    3,
    6.0,
    0.05,
)
OPTIONS = dict(
    hidden_to_memory=True, memory_to_memory=True, input_to_hidden=True, use_bias=True
)


def lmu_net(**kwargs):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(INPUT_D))
        lmu = LMU(
            INPUT_D, 2, ORDER, THETA_STEPS * DT, hidden_units=UNITS, seed=3, **kwargs
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
    net.stim, net.lmu, net.probe = stim, lmu, probe
    return net


def test_no_dropout_outside_training():
    """nengo.Simulator and NengoDL inference give the LMU without dropout."""
    x = np.random.RandomState(0).uniform(-1, 1, size=(BATCH, 50, INPUT_D))
    plain = lmu_net(**OPTIONS)
    dropped = lmu_net(**OPTIONS, dropout=0.4, recurrent_dropout=0.3)
    assert sorted(dropped.lmu.dropout_nodes) == ["hidden", "input", "memory"]
    assert plain.lmu.dropout_nodes == {}
    outs = []
    for net in (plain, dropped):
        net.stim.output = nengo.processes.PresentInput(x[0], DT)
        with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
            sim.run_steps(50)
        outs.append(sim.data[net.probe])
    assert np.allclose(outs[0], outs[1], atol=1e-12)
    preds = []
    for net in (plain, dropped):
        net.stim.output = np.zeros(INPUT_D)
        with nengo_dl.Simulator(
            net, dt=DT, minibatch_size=BATCH, progress_bar=False
        ) as sim:
            preds.append(sim.predict({net.stim: x}, verbose=0)[net.probe])
    assert np.allclose(preds[0][0], outs[0], atol=1e-4)
    assert np.allclose(preds[0], preds[1], atol=1e-6)


def masks_from_probes(data, ins, outs):
    """Per-sequence masks: dropout Node output over its input, which must be
    the same at every step where the input is not zero."""
    masks = {}
    for key in outs:
        x, y = data[ins[key]], data[outs[key]]
        ok = np.abs(x) > 1e-6
        ratio = np.where(ok, y / np.where(ok, x, 1), np.nan)
        mask = np.nanmedian(ratio, axis=1)  # (batch, n)
        assert np.allclose(ratio, mask[:, None], equal_nan=True, atol=1e-9), key
        masks[key] = mask
    return masks


@pytest.mark.parametrize("hidden", ["rnn", "dense"])
def test_training_step_equals_keras_with_same_masks(hidden):
    """In NengoDL's training mode the masks sit where KerasLMU's do: KerasLMU
    given the same masks computes the same output, loss and SGD step."""
    rate, recurrent_rate = 0.4, 0.3
    tf.keras.utils.set_random_seed(1)
    hidden_cell = (
        tf.keras.layers.SimpleRNNCell(
            UNITS, bias_initializer="uniform", dtype="float64"
        )
        if hidden == "rnn"
        else tf.keras.layers.Dense(
            UNITS, activation="tanh", bias_initializer="uniform", dtype="float64"
        )
    )
    cell = keras_lmu.LMUCell(
        2,
        ORDER,
        THETA_STEPS,
        hidden_cell,
        bias_initializer="uniform",
        dropout=rate,
        recurrent_dropout=recurrent_rate,
        input_d=INPUT_D,
        dtype="float64",
        **OPTIONS,
    )
    layer = tf.keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    layer.build((None, None, INPUT_D))
    params = keras_lmu_parameters(layer, dt=DT)
    # the import carries the rates over
    assert params["dropout"] == rate
    assert params["recurrent_dropout"] == recurrent_rate

    rng = np.random.RandomState(2)
    x = rng.uniform(-1, 1, size=(BATCH, STEPS, INPUT_D))
    y = rng.uniform(-1, 1, size=(BATCH, STEPS, UNITS))
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(INPUT_D))
        lmu = LMU(**params, seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
        sources = {
            "input": lmu.input,
            "hidden": lmu.hidden.neurons,
            "memory": lmu.memory.output,
        }
        ins = {k: nengo.Probe(sources[k], synapse=None) for k in lmu.dropout_nodes}
        outs = {
            k: nengo.Probe(node, synapse=None) for k, node in lmu.dropout_nodes.items()
        }
    configure_training(net, keep_history=True, dtype="float64")
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=BATCH, progress_bar=False
    ) as sim:
        before = lmu_weights(sim, lmu)
        inputs = sim._generate_inputs({stim: x}, n_steps=STEPS)
        variables = sim.keras_model.trainable_weights
        with tf.GradientTape() as tape:
            results = sim.keras_model(inputs, training=True)
            data = {p: results[i].numpy() for i, p in enumerate(sim.model.probes)}
            loss = tf.reduce_mean((results[sim.model.probes.index(probe)] - y) ** 2)
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            var.assign_sub(LR * grad)
        after = lmu_weights(sim, lmu)
    masks = masks_from_probes(data, ins, outs)
    for key, r in (("input", rate), ("hidden", rate), ("memory", recurrent_rate)):
        values = np.unique(np.round(masks[key], 9))
        assert set(values) <= {0.0, round(1 / (1 - r), 9)}, (key, values)
        assert len(values) == 2, key  # some dropped, some kept
    # dropout is active: the output differs from the one without it
    assert not np.allclose(data[probe], layer(x).numpy(), atol=1e-3)

    # KerasLMU with these masks (KerasLMU drops [x ; h] before its kernel and
    # m before its recurrent kernel)
    mask_u = np.concatenate([masks["input"], masks["hidden"]], axis=1)
    cell.get_dropout_mask = lambda u: tf.constant(mask_u)
    cell.get_recurrent_dropout_mask = lambda m: tf.constant(masks["memory"])
    keras_before = {k: np.array(v) for k, v in before.items() if k != "theta"}
    with tf.GradientTape() as tape:
        keras_out = layer(x, training=True)
        keras_loss = tf.reduce_mean((keras_out - y) ** 2)
    assert np.allclose(data[probe], keras_out.numpy(), atol=1e-10)
    assert abs(float(loss) - float(keras_loss)) < 1e-12
    grads = tape.gradient(keras_loss, layer.trainable_weights)
    names = {
        id(cell.kernel): "kernel",
        id(cell.recurrent_kernel): "recurrent_kernel",
        id(cell.bias): "bias",
        id(hidden_cell.kernel): "hidden_kernel",
        id(hidden_cell.bias): "hidden_bias",
    }
    if hidden == "rnn":
        names[id(hidden_cell.recurrent_kernel)] = "hidden_recurrent_kernel"
    assert sorted(names.values()) == sorted(keras_before)
    for var, grad in zip(layer.trainable_weights, grads):
        key = names[id(var)]
        step = LR * np.max(np.abs(grad.numpy()))
        assert step > 1e-7, key
        expected = keras_before[key] - LR * grad.numpy()
        assert np.max(np.abs(after[key] - expected)) <= 1e-6 * step, key


def test_masks_are_new_each_batch_and_fixed_over_time():
    """In sim.fit every minibatch draws new masks, one per sequence, kept for
    all its steps, dropping about ``rate`` of the elements."""
    rate, n = 0.25, 40
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(n))
        lmu = LMU(n, 1, 2, 0.01, hidden_units=2, seed=0, dropout=rate)
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.dropout_nodes["input"], synapse=None)
    seen = []

    def record(y):
        seen.append(y.numpy())
        return np.float32(0)

    def loss(y_true, y_pred):
        return tf.reduce_mean(y_pred * 0) + tf.py_function(record, [y_pred], tf.float32)

    configure_training(net)
    with nengo_dl.Simulator(net, minibatch_size=5, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.SGD(0.0), loss={probe: loss})
        x = np.ones((15, 4, n), dtype=np.float32)
        sim.fit({stim: x}, {probe: np.zeros_like(x)}, epochs=2, verbose=0)
    assert len(seen) == 6
    masks = []
    for y in seen:
        assert np.allclose(y, y[:, :1])  # the same at every step
        assert np.allclose(np.unique(np.round(y, 5)), [0, round(1 / (1 - rate), 5)])
        masks.append(y[:, 0])
    masks = np.concatenate(masks)  # 30 sequences
    assert len({m.tobytes() for m in masks}) == len(masks)
    dropped = np.mean(masks == 0)
    # 1200 draws: a binomial's standard deviation is 0.0125
    assert abs(dropped - rate) < 0.05


def test_dropout_lowers_training_loss():
    """An LMU with dropout still trains (the masks pass gradients)."""
    net = lmu_net(dropout=0.2, recurrent_dropout=0.2, memory_to_memory=True)
    configure_training(net, keep_history=True)
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(64, 10, INPUT_D)).astype(np.float32)
    y = np.tanh(np.cumsum(x, axis=1)[..., :1]).repeat(UNITS, axis=2)
    with nengo_dl.Simulator(net, minibatch_size=16, seed=0, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(0.02), loss=tf.losses.mse)
        loss0 = sim.evaluate({net.stim: x}, {net.probe: y}, verbose=0)["loss"]
        sim.fit({net.stim: x}, {net.probe: y}, epochs=15, verbose=0)
        loss1 = sim.evaluate({net.stim: x}, {net.probe: y}, verbose=0)["loss"]
    assert loss1 < 0.7 * loss0


@pytest.mark.parametrize("neuron_type", [nengo.RectifiedLinear(), nengo.Tanh()])
def test_to_spiking_removes_dropout_nodes(neuron_type):
    """The spiking network has no dropout Nodes in the LMU's loops and runs
    like the one built without dropout (tanh units become spiking pairs)."""
    kwargs = dict(OPTIONS, hidden_neuron_type=neuron_type)
    plain = to_spiking(lmu_net(**kwargs), synapse=0.005)
    dropped_net = lmu_net(**kwargs, dropout=0.3, recurrent_dropout=0.3)
    dropped = to_spiking(dropped_net, synapse=0.005)
    # the original is untouched
    assert len(dropped_net.lmu.dropout_nodes) == 3
    assert not any(isinstance(n.output, SequenceDropout) for n in dropped.all_nodes)
    lmu = dropped.lmu
    assert lmu.dropout_nodes == {}
    for parts in lmu.weight_connections.values():
        for conn in parts:
            assert conn in lmu.all_connections
            assert not isinstance(
                getattr(conn.pre_obj, "output", None), SequenceDropout
            )
    assert len(dropped.all_connections) == len(plain.all_connections)
    outs = []
    for net in (plain, dropped):
        net.stim.output = lambda t: np.sin(20 * t) * np.ones(INPUT_D)
        with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
            sim.run_steps(100)
        outs.append(sim.data[net.probe])
    assert np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize(
    "attr, value",
    [
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("dropout", float("nan")),
        ("dropout", "half"),
        ("recurrent_dropout", [0.1, 0.2]),
        ("recurrent_dropout", 1.5),
    ],
)
def test_bad_dropout_rates(attr, value):
    with nengo.Network():
        with pytest.raises(ValidationError, match=attr):
            LMU(1, 1, 4, 0.1, hidden_units=3, **{attr: value})


def test_recurrent_dropout_needs_memory_to_memory_to_act():
    """As in KerasLMU, recurrent_dropout only acts on memory_to_memory."""
    with nengo.Network():
        lmu = LMU(1, 1, 4, 0.1, hidden_units=3, recurrent_dropout=0.5)
    assert lmu.dropout_nodes == {}
    assert lmu.recurrent_dropout == 0.5
