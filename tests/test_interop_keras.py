"""KerasLMU layers and Keras models as Nengo networks (nengo_lmu.interop.keras)."""

import os

import nengo
import numpy as np
import pytest
from helpers import run_sequences
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu.interop import (  # noqa: E402
    keras_lmu_parameters,
    network_from_keras,
)

DT = 0.001
STEPS, BATCH, INPUT_D, CLASSES = 20, 3, 2, 3
keras = tf.keras


def run_nengo_dl(net, stim, probes, x):
    with nengo_dl.Simulator(
        net, dt=DT, minibatch_size=len(x), progress_bar=False
    ) as sim:
        return sim.predict({stim: x}, n_steps=x.shape[1])


# --- round trips from trained KerasLMU models ----------------------------------

# (hidden cell, return_sequences, layer kind, readout activation)
ROUND_TRIPS = [
    ("rnn", False, "LMU", "softmax"),
    ("rnn", True, "RNN", "linear"),
    ("dense", False, "RNN", "softmax"),
    ("dense", True, "LMU", "softmax"),
    ("none", False, "LMU", "linear"),
    ("none", True, "RNN", "softmax"),
]


def build_and_train(hidden, return_sequences, kind, readout, seed):
    """A small KerasLMU model, trained a few steps on random data."""
    tf.keras.utils.set_random_seed(seed)
    cell = {
        "rnn": lambda: keras.layers.SimpleRNNCell(4),
        "dense": lambda: keras.layers.Dense(4, activation="relu"),
        "none": lambda: None,
    }[hidden]()
    # alternate recurrent and feedforward memories (keras_lmu.LMU without
    # recurrence builds an LMUFeedforward), Sequential and functional models
    recurrent = seed % 2 == 0
    options = dict(
        memory_to_memory=recurrent,
        hidden_to_memory=recurrent and hidden != "none",
        input_to_hidden=seed % 3 == 0,
        use_bias=True,
    )
    if kind == "LMU":
        lmu = keras_lmu.LMU(
            2,
            5,
            12.0,
            cell,
            return_sequences=return_sequences,
            trainable_theta=recurrent,
            **options,
        )
    else:
        lmu = keras.layers.RNN(
            keras_lmu.LMUCell(2, 5, 12.0, cell, trainable_theta=True, **options),
            return_sequences=return_sequences,
        )
    layers = [lmu, keras.layers.Dropout(0.1)]
    if return_sequences and hidden == "rnn":
        layers.append(keras.layers.Dense(6, activation="tanh"))
    layers.append(keras.layers.Dense(CLASSES, activation=readout))
    if seed % 2:
        model = keras.Sequential([keras.Input((STEPS, INPUT_D))] + layers)
    else:
        inp = y = keras.Input((STEPS, INPUT_D))
        for layer in layers:
            y = layer(y)
        model = keras.Model(inp, y)
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, size=(8, STEPS, INPUT_D)).astype(np.float32)
    shape = (8, STEPS) if return_sequences else (8,)
    if readout == "softmax":
        y = rng.randint(CLASSES, size=shape)
        loss = "sparse_categorical_crossentropy"
    else:
        y = rng.normal(size=shape + (CLASSES,))
        loss = "mse"
    model.compile(keras.optimizers.Adam(0.01), loss)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    return model


def keras_logits(model, x):
    """The model's output, before the last layer's softmax."""
    last = model.layers[-1]
    if last.activation.__name__ != "softmax":
        return model(x).numpy()
    features = keras.Model(model.inputs, last.input)(x).numpy()
    return features @ last.kernel.numpy() + last.bias.numpy()


@pytest.fixture(scope="module")
def round_trips():
    x = np.random.RandomState(10).uniform(-1, 1, size=(BATCH, STEPS, INPUT_D))
    x = x.astype(np.float32)
    expected, probes, nets = [], [], []
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(INPUT_D))
        for seed, config in enumerate(ROUND_TRIPS):
            model = build_and_train(*config, seed=seed)
            expected.append(keras_logits(model, x))
            imported = network_from_keras(model, dt=DT, label=str(config))
            nengo.Connection(stim, imported.input, synapse=None)
            probes.append(nengo.Probe(imported.output, synapse=None))
            nets.append((model, imported))
    return x, expected, net, stim, probes, nets


def check_round_trips(round_trips, outputs):
    x, expected, _, _, probes, _ = round_trips
    for config, y, p in zip(ROUND_TRIPS, expected, probes):
        out = outputs[p] if config[1] else outputs[p][:, -1]
        err = np.max(np.abs(out - y))
        assert err < 1e-5, (config, err)


def test_round_trip_attributes(round_trips):
    for config, (model, imported) in zip(ROUND_TRIPS, round_trips[-1]):
        assert imported.output_activation == (
            "softmax" if config[3] == "softmax" else None
        )
        assert len(imported.lmus) == 1
        lmu_layer = next(
            layer for layer in model.layers if type(layer).__name__ in ("LMU", "RNN")
        )
        theta_steps = lmu_layer.theta if config[2] == "LMU" else lmu_layer.cell.theta
        assert imported.lmus[0].theta == pytest.approx(theta_steps * DT)
        # a trainable theta has been trained away from its initial 12 steps
        if config[2] == "RNN":
            assert abs(theta_steps - 12.0) > 1e-4


def test_round_trip_nengo_simulator(round_trips):
    x, _, net, stim, probes, _ = round_trips
    check_round_trips(round_trips, run_sequences(net, stim, probes, x))


def test_round_trip_nengo_dl(round_trips):
    x, _, net, stim, probes, _ = round_trips
    check_round_trips(round_trips, run_nengo_dl(net, stim, probes, x))


def test_single_layer_and_container():
    tf.keras.utils.set_random_seed(0)
    layer = keras_lmu.LMU(
        1, 4, 8.0, keras.layers.SimpleRNNCell(3), memory_to_memory=True
    )
    layer(np.zeros((1, 5, 2), dtype=np.float32))
    with nengo.Network() as outer:
        imported = network_from_keras(layer, dt=0.002)
    assert imported in outer.networks
    assert imported.input.size_in == 2 and imported.output.size_out == 3
    assert imported.lmus[0].theta == pytest.approx(0.016)
    alone = network_from_keras(layer)
    assert alone not in outer.networks


def keras_error_models():
    tf.keras.utils.set_random_seed(0)
    inp = keras.Input((STEPS, INPUT_D))

    def lmu(**kwargs):
        return keras_lmu.LMU(
            1, 4, 8.0, keras.layers.SimpleRNNCell(3), memory_to_memory=True, **kwargs
        )

    first = lmu(return_sequences=True)(inp)
    skip = keras.layers.Concatenate()([first, inp])
    two_inputs = keras.Input((STEPS, 1))
    merged = keras.layers.Concatenate()([inp, two_inputs])
    return [
        (
            keras.Sequential(
                [
                    inp,
                    lmu(),
                    keras.layers.Dense(3, activation="softmax"),
                    keras.layers.Dense(2),
                ]
            ),
            "softmax",
        ),
        (
            keras.Sequential([inp, lmu(), keras.layers.Dense(3, activation="elu")]),
            "elu",
        ),
        (keras.Sequential([inp, keras.layers.LSTM(3)]), "LSTM"),
        (
            keras.Sequential(
                [
                    inp,
                    keras_lmu.LMU(
                        1,
                        4,
                        8.0,
                        keras.layers.SimpleRNNCell(3, activation="softplus"),
                        memory_to_memory=True,
                    ),
                ]
            ),
            "hidden_cell",
        ),
        (
            keras.Sequential(
                [
                    inp,
                    keras_lmu.LMU(
                        1, 4, 8.0, keras.layers.GRUCell(3), memory_to_memory=True
                    ),
                ]
            ),
            "hidden_cell",
        ),
        (
            keras.Sequential(
                [
                    inp,
                    keras.layers.RNN(
                        keras_lmu.LMUCell(1, 4, 8.0, None), go_backwards=True
                    ),
                ]
            ),
            "go_backwards",
        ),
        (keras.Model(inp, keras.layers.Dense(2)(skip)), "chain"),
        (keras.Model([inp, two_inputs], lmu()(merged)), "one input"),
        (keras.Sequential([keras.layers.Dense(2)]), "built"),
        (keras.Sequential([inp, keras.Sequential([keras.layers.Dense(2)])]), "nested"),
    ]


def test_keras_errors_build_nothing():
    for model, match in keras_error_models():
        with nengo.Network() as outer:
            with pytest.raises(ValidationError, match=match):
                network_from_keras(model)
        assert not outer.all_objects, match
    with pytest.raises(ValidationError, match="dt"):
        network_from_keras(keras_error_models()[0][0], dt=0)


# --- imported weights in neurons ---------------------------------------------------


def test_imported_weights_run_with_neural_memory_and_spiking():
    """An imported layer's trained matrices also run with a neural memory,
    and, after fine-tuning with a rectified-linear hidden part in NengoDL,
    spiking."""
    from nengo_lmu.dl import configure_training
    from nengo_lmu.interop import lmu_from_keras
    from nengo_lmu.spiking import to_spiking

    steps = 1000
    tf.keras.utils.set_random_seed(0)
    layer = keras_lmu.LMU(
        1,
        4,
        200,
        keras.layers.Dense(16, activation="relu"),
        kernel_initializer=keras.initializers.Constant(1.0),
        return_sequences=True,
    )
    signal = nengo.processes.WhiteSignal(1.0, high=2, rms=0.3, y0=0, seed=0)
    x = signal.run_steps(steps)[None].astype(np.float32)
    y_keras = layer(x).numpy()[0]

    def rmse(a, b):
        return np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b**2))

    # the same weights with 4 x 200 spiking neurons as the memory
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.PresentInput(x[0], DT))
        lmu = lmu_from_keras(
            layer,
            dt=DT,
            memory_neurons_per_dimension=200,
            memory_kwargs=dict(
                neuron_type=nengo.SpikingRectifiedLinear(),
                input_rms=0.3,
                input_high=2.0,
            ),
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=0.02)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(steps)
    y_ref = nengo.Lowpass(0.02).filt(y_keras, dt=DT, y0=0)
    neural_error = rmse(sim.data[probe], y_ref)
    assert neural_error < 0.35, neural_error  # measured 0.106

    # fine-tune in NengoDL with the output synapse a spiking version needs,
    # then swap to spiking neurons
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = lmu_from_keras(layer, dt=DT, output_synapse=0.005)
        nengo.Connection(stim, lmu.input, synapse=None)
        net.probe = nengo.Probe(lmu.output, synapse=None)
    net.stim = stim
    configure_training(net, keep_history=True)
    target = y_keras[None]
    with nengo_dl.Simulator(net, unroll_simulation=10, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(1e-3), loss=tf.losses.mse)
        sim.fit({stim: x}, {net.probe: target}, epochs=2, verbose=0)
        rate = sim.predict({stim: x}, verbose=0)[net.probe][0]
        sim.freeze_params(net)
    spiking = to_spiking(net, rate_scale=1000)
    spiking.stim.output = nengo.processes.PresentInput(x[0], DT)
    with nengo.Simulator(spiking, dt=DT, progress_bar=False) as sim:
        sim.run_steps(steps)
    spiking_error = rmse(
        nengo.Lowpass(0.02).filt(sim.data[spiking.probe], dt=DT),
        nengo.Lowpass(0.02).filt(rate, dt=DT),
    )
    assert spiking_error < 0.2, spiking_error  # measured 0.088


# --- feedforward LMUs: Euler, and convolutions the network cannot reproduce -------


def run_layer(layer, x):
    """A Keras layer and its imported LMU on one sequence (reference simulator)."""
    from nengo_lmu.interop import lmu_from_keras

    expected = layer(x[None]).numpy()[0]
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(x, DT))
        lmu = lmu_from_keras(layer, dt=DT)
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(len(x))
    return lmu, sim.data[probe], expected


def test_euler_feedforward_lmu_is_nengos_euler_lmu():
    """keras_lmu.LMU(discretizer="euler") builds an LMUFeedforward; its output
    equals the imported Euler LMU's (the update m += (A m + B u) / theta)."""
    tf.keras.utils.set_random_seed(3)
    x = np.random.RandomState(3).uniform(-1, 1, size=(40, 1)).astype(np.float32)
    layer = keras_lmu.LMU(
        1,
        4,
        10,
        keras.layers.SimpleRNNCell(3),
        discretizer="euler",
        return_sequences=True,
    )
    layer(x[None])
    assert type(layer.layer).__name__ == "LMUFeedforward"
    lmu, ours, theirs = run_layer(layer, x)
    assert lmu.discretizer == "euler"
    assert np.abs(theirs).max() > 0.02
    assert np.allclose(ours, theirs, rtol=0, atol=2e-6)  # float32 rounding


@pytest.mark.parametrize(
    "truncate_ir, exact", [(0.1, False), (1e-4, False), (None, True)]
)
def test_raw_convolution_truncated_is_refused(truncate_ir, exact):
    x = np.random.RandomState(4).uniform(-1, 1, size=(40, 1)).astype(np.float32)
    layer = keras_lmu.LMUFeedforward(
        1, 4, 10, None, conv_mode="raw", truncate_ir=truncate_ir, return_sequences=True
    )
    layer(x[None])
    if exact:
        _, ours, theirs = run_layer(layer, x)
        assert np.allclose(ours, theirs, atol=1e-5)
    else:
        with pytest.raises(ValidationError, match="truncate_ir=None"):
            run_layer(layer, x)


# --- time resolution: steps_per_sample -------------------------------------------


def dilatable_model(hidden, seed=0, steps=12):
    """A small KerasLMU model whose cell can be dilated exactly."""
    tf.keras.utils.set_random_seed(seed)
    cell = keras.layers.Dense(4, activation="tanh") if hidden else None
    return keras.Sequential(
        [
            keras.Input((steps, INPUT_D)),
            keras_lmu.LMU(
                2,
                5,
                6.0,
                cell,
                input_to_hidden=hidden,
                use_bias=True,
                bias_initializer="glorot_uniform",
                return_sequences=True,
            ),
            keras.layers.Dense(CLASSES),
        ]
    )


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize("hidden", [True, False])
def test_steps_per_sample_equals_keras_at_each_samples_last_step(k, hidden):
    model = dilatable_model(hidden)
    x = np.random.RandomState(4).uniform(-1, 1, size=(2, 12, INPUT_D))
    expected = model(x.astype(np.float32)).numpy()
    with nengo.Network() as net:
        stim = nengo.Node(np.zeros(INPUT_D))
        imported = network_from_keras(model, dt=DT, steps_per_sample=k)
        nengo.Connection(stim, imported.input, synapse=None)
        probe = nengo.Probe(imported.output, synapse=None)
    lmu = imported.lmus[0]
    # theta is the model's (6 steps of dt); the memory's window is k times it
    assert lmu.theta == pytest.approx(6 * DT) and lmu.steps_per_sample == k
    assert lmu.memory.theta == pytest.approx(6 * DT * k)
    out = run_sequences(net, stim, [probe], np.repeat(x, k, axis=1))[probe]
    np.testing.assert_allclose(out[:, k - 1 :: k], expected, atol=1e-4, rtol=0)
    if k > 1:  # the check can fail: the other steps of a sample differ
        assert np.max(np.abs(out[:, ::k] - expected)) > 1e-2
        # and so does the undilated network run on the held input
        with nengo.Network() as net1:
            plain = network_from_keras(model, dt=DT)
            stim1 = nengo.Node(np.zeros(INPUT_D))
            nengo.Connection(stim1, plain.input, synapse=None)
            probe1 = nengo.Probe(plain.output, synapse=None)
        out1 = run_sequences(net1, stim1, [probe1], np.repeat(x, k, axis=1))
        assert np.max(np.abs(out1[probe1][:, k - 1 :: k] - expected)) > 1e-2


def test_keras_lmu_parameters_steps_per_sample():
    model = dilatable_model(True)
    params = keras_lmu_parameters(model.layers[0], dt=0.002, steps_per_sample=4)
    assert params["steps_per_sample"] == 4
    assert params["theta"] == pytest.approx(6 * 0.002)
    assert params["dt"] == 0.002


def refused_models():
    """(model, the option named) for each option that blocks a dilation."""
    tf.keras.utils.set_random_seed(0)

    def model(*layers):
        return keras.Sequential([keras.Input((5, INPUT_D)), *layers])

    def lmu(cell, **kwargs):
        return keras_lmu.LMU(1, 3, 4.0, cell, return_sequences=True, **kwargs)

    def dense(units):
        return keras.layers.Dense(units, activation="relu")

    return [
        (model(lmu(keras.layers.SimpleRNNCell(3))), "hidden_recurrent"),
        (model(lmu(dense(3), hidden_to_memory=True)), "hidden_to_memory"),
        (model(lmu(None, memory_to_memory=True)), "memory_to_memory"),
        (model(lmu(dense(3), discretizer="euler")), "discretizer='euler'"),
        (model(lmu(dense(3)), lmu(None)), "one LMU layer"),
    ]


def test_steps_per_sample_refusals():
    for model, option in refused_models():
        network_from_keras(model, dt=DT)  # one step per sample is fine
        with pytest.raises(ValidationError) as err:
            network_from_keras(model, dt=DT, steps_per_sample=2)
        assert err.value.attr == "steps_per_sample", option
        assert option in str(err.value), (option, str(err.value))
