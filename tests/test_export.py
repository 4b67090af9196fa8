"""Networks of LMUs exported as Keras models (nengo_lmu.interop.to_keras)."""

import os

import nengo
import numpy as np
import pytest
from helpers import run_network
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.interop import network_from_keras, to_keras  # noqa: E402

DT = 0.001
STEPS = 24


def chain():
    """input -> recurrent LMU -> relu Dense -> feedforward LMU -> linear Dense."""
    rng = np.random.RandomState(0)
    net = nengo.Network(seed=0)
    with net:
        net.input = nengo.Node(size_in=2)
        lmu1 = LMU(
            2,
            2,
            5,
            0.012,
            hidden_units=6,
            hidden_to_memory=True,
            memory_to_memory=True,
            input_to_hidden=True,
            use_bias=True,
            bias_initializer=nengo.dists.Uniform(-0.5, 0.5),
            hidden_bias_initializer=nengo.dists.Uniform(-0.5, 0.5),
            seed=1,
            label="lmu1",
        )
        nengo.Connection(net.input, lmu1.input, synapse=None)
        dense = nengo.Ensemble(
            4,
            1,
            neuron_type=nengo.RectifiedLinear(),
            gain=np.ones(4),
            bias=rng.uniform(0, 0.5, 4),
        )
        nengo.Connection(
            lmu1.output, dense.neurons, synapse=None, transform=rng.randn(4, 6)
        )
        hidden = nengo.Node(size_in=4)
        nengo.Connection(dense.neurons, hidden, synapse=None)
        lmu2 = LMU(
            4,
            1,
            6,
            0.01,
            hidden_units=5,
            hidden_recurrent=False,
            input_to_hidden=True,
            seed=2,
            label="lmu2",
            hidden_bias_initializer=nengo.dists.Uniform(-0.5, 0.5),
        )
        nengo.Connection(hidden, lmu2.input, synapse=None)
        net.output = nengo.Node(size_in=3)
        nengo.Connection(
            lmu2.output, net.output, synapse=None, transform=rng.randn(3, 5)
        )
        bias = nengo.Node(np.ones(1))
        nengo.Connection(bias, net.output, synapse=None, transform=rng.randn(3, 1))
    net.layers = [lmu1, dense, lmu2, net.output]
    return net


def test_chain_round_trip():
    """to_keras computes what the network computes (Keras is the reference),
    and network_from_keras(to_keras(net)) gives the network's outputs to 1e-6,
    float64."""
    net = chain()
    x = np.random.RandomState(3).uniform(-1, 1, size=(2, STEPS, 2))
    expected = run_network(net, x)
    model = to_keras(net, n_steps=STEPS, return_sequences=True, dtype="float64")
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["RNN", "Dense", "LMUFeedforward", "Dense"]
    assert np.std(expected) > 0.1
    assert np.max(np.abs(model(tf.constant(x)).numpy() - expected)) < 1e-6
    back = run_network(network_from_keras(model, dt=DT), x)
    assert np.max(np.abs(back - expected)) < 1e-6
    # the last step alone
    last = to_keras(net, n_steps=STEPS, dtype="float64")
    assert np.max(np.abs(last(tf.constant(x)).numpy() - expected[:, -1])) < 1e-6


@pytest.mark.parametrize(
    "options",
    [
        dict(discretizer="euler", trainable_theta=True, hidden_recurrent=True),
        # LMUFeedforward with a SimpleRNNCell, and with the Euler memory
        dict(hidden_recurrent=True, input_to_hidden=True),
        dict(discretizer="euler", hidden_recurrent=True, use_bias=True),
        dict(hidden_units=0, input_to_hidden=True),
        dict(
            hidden_neuron_type=nengo.Sigmoid(tau_ref=1),
            hidden_recurrent=False,
            use_bias=True,
        ),
    ],
)
def test_single_lmu_options(options):
    """Each option's Keras layer matches the LMU (float64)."""
    kwargs = dict(
        size_in=1, memory_d=2, order=4, theta=0.01, hidden_units=3, seed=4, label="lmu"
    )
    kwargs.update(options)
    with nengo.Network() as net:
        lmu = LMU(**kwargs)
    x = np.random.RandomState(5).uniform(-1, 1, size=(2, STEPS, 1))
    model = to_keras(lmu, return_sequences=True, dtype="float64")
    out = model(tf.constant(x)).numpy()
    expected = run_network(lmu, x)
    assert np.std(expected) > 0.01
    assert np.max(np.abs(out - expected)) < 1e-8
    # the memory does not depend on its own past (whatever the hidden cell)
    feedforward = not kwargs.get("trainable_theta")
    layer = model.layers[1]
    assert type(layer).__name__ == ("LMUFeedforward" if feedforward else "RNN")
    if feedforward:
        back = run_network(network_from_keras(model, dt=DT), x)
        assert np.max(np.abs(back - expected)) < 1e-8
    del net


@pytest.mark.parametrize(
    "options, kind",
    [
        (dict(hidden_recurrent=True, memory_to_memory=True), "RNN"),
        (dict(hidden_recurrent=False), "LMUFeedforward"),
        # LMUFeedforward would also drop the hidden cell's copy of the input
        (dict(hidden_recurrent=False, input_to_hidden=True), "RNN"),
    ],
)
def test_dropout_is_exported(options, kind):
    """dropout and recurrent_dropout reach the Keras layer (and back), and
    the exported model still matches the LMU at inference."""
    with nengo.Network() as net:
        lmu = LMU(
            1, 2, 4, 0.01, hidden_units=3, seed=4, dropout=0.25,
            recurrent_dropout=0.5, **options,
        )  # fmt: skip
    model = to_keras(lmu, return_sequences=True, dtype="float64")
    layer = model.layers[1]
    assert type(layer).__name__ == kind
    keras_cell = layer.cell if kind == "RNN" else layer
    assert keras_cell.dropout == 0.25
    if kind == "RNN":
        assert keras_cell.recurrent_dropout == 0.5
    x = np.random.RandomState(5).uniform(-1, 1, size=(2, STEPS, 1))
    assert np.allclose(model(tf.constant(x)).numpy(), run_network(lmu, x), atol=1e-8)
    back = network_from_keras(model, dt=DT)
    assert back.all_networks[0].dropout == 0.25
    del net


def test_given_weights_are_exported():
    with nengo.Network():
        lmu = LMU(1, 1, 4, 0.01, hidden_units=3, seed=6)
    rng = np.random.RandomState(7)
    trained = {key: rng.randn(*np.shape(w)) for key, w in lmu.weights.items()}
    trained["theta"] = 0.02
    model = to_keras(lmu, weights={lmu: trained}, feedforward=False)
    cell = model.layers[1].cell
    assert isinstance(cell, keras_lmu.LMUCell)
    assert cell.theta == pytest.approx(20)
    assert np.allclose(cell.kernel.numpy(), trained["kernel"])
    assert np.allclose(cell.hidden_cell.kernel.numpy(), trained["hidden_kernel"])
    assert np.allclose(
        cell.hidden_cell.recurrent_kernel.numpy(), trained["hidden_recurrent_kernel"]
    )
    assert np.allclose(cell.hidden_cell.bias.numpy(), trained["hidden_bias"])


def test_refusals():
    with nengo.Network():
        lif = LMU(1, 1, 4, 0.01, hidden_units=3, hidden_neuron_type=nengo.LIFRate())
        synapse = LMU(1, 1, 4, 0.01, hidden_units=3, output_synapse=0.01)
        matrices = LMU(1, 1, 2, None, memory_matrices=(np.eye(2), np.ones((2, 1))))
        plain = LMU(1, 1, 4, 0.01, hidden_units=3)
    with pytest.raises(ValidationError, match="hidden_neuron_type"):
        to_keras(lif)
    with pytest.raises(ValidationError, match="output_synapse"):
        to_keras(synapse)
    with pytest.raises(ValidationError, match="memory_matrices"):
        to_keras(matrices)
    with pytest.raises(ValidationError, match="shape"):
        to_keras(plain, weights={plain: {**plain.weights, "kernel": np.zeros((2, 1))}})
    with pytest.raises(ValidationError, match="weights"):
        to_keras(plain, weights={lif: lif.weights})
    with pytest.raises(ValidationError, match="network"):
        to_keras(nengo.Network())


def test_trained_weights_from_a_simulator():
    """``to_keras(net, sim=...)`` exports the weights a NengoDL simulator
    trained (not the initial ones): the Keras model then computes what the
    trained simulator predicts."""
    import nengo_dl

    from nengo_lmu.dl import configure_training

    with nengo.Network(seed=0) as net:
        net.input = nengo.Node(np.zeros(1))
        lmu = LMU(1, 1, 4, 0.01, hidden_units=3, input_to_hidden=True, seed=8)
        nengo.Connection(net.input, lmu.input, synapse=None)
        net.output = nengo.Node(size_in=3)
        nengo.Connection(lmu.output, net.output, synapse=None)
        probe = nengo.Probe(net.output, synapse=None)
        configure_training(net, keep_history=True)
    net.layers = [lmu, net.output]
    rng = np.random.RandomState(9)
    x = rng.uniform(-1, 1, size=(4, STEPS, 1))
    y = rng.uniform(-0.5, 0.5, size=(4, STEPS, 3))
    initial = {k: np.array(w) for k, w in lmu.weights.items()}
    with nengo_dl.Simulator(net, minibatch_size=4, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.SGD(0.5), loss=tf.losses.mse)
        sim.fit({net.input: x}, {probe: y}, epochs=3, verbose=0)
        expected = sim.predict({net.input: x})[probe]
        model = to_keras(net, sim=sim, return_sequences=True, n_steps=STEPS)
    out = model(tf.constant(x, dtype=model.dtype)).numpy()
    layer = model.layers[1]
    # a memory that does not depend on its past, whatever the hidden cell
    assert type(layer).__name__ == "LMUFeedforward"
    # the exported kernel is the trained one, not the LMU's initial weights
    assert not np.allclose(layer.hidden_cell.kernel.numpy(), initial["hidden_kernel"])
    # float32 in NengoDL
    assert np.max(np.abs(out - expected)) < 1e-5
