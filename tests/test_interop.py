"""Importing Keras models and the LMU paper's model files (nengo_lmu.interop)."""

import json
import os

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import h5py  # noqa: E402
import keras_lmu  # noqa: E402
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.interop import (  # noqa: E402
    network_from_keras,
    network_from_paper_file,
)
from nengo_lmu.systems import LegendreDelay  # noqa: E402

DT = 0.001
STEPS, BATCH, INPUT_D, CLASSES = 20, 3, 2, 3
keras = tf.keras


def run_nengo_batches(net, stim, probes, x):
    """Each sequence of ``x`` in the reference simulator: {probe: (B, T, d)}."""
    out = {p: [] for p in probes}
    for seq in x:
        stim.output = nengo.processes.PresentInput(seq, DT)
        with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
            sim.run_steps(len(seq))
        for p in probes:
            out[p].append(sim.data[p])
    stim.output = np.zeros(x.shape[-1])
    return {p: np.array(v) for p, v in out.items()}


def run_nengo_dl(net, stim, probes, x):
    with nengo_dl.Simulator(net, dt=DT, minibatch_size=len(x),
                            progress_bar=False) as sim:
        return sim.predict({stim: x}, n_steps=x.shape[1])


# --- LMU(memory_matrices=...) -------------------------------------------------


def test_memory_matrices_equal_default_memory():
    """The Legendre zoh given as matrices gives the default LMU's output."""
    order, theta = 5, 0.02
    disc = LegendreDelay(theta, order).discretize(DT)
    x = np.random.RandomState(0).uniform(-1, 1, size=(30, 2))
    kwargs = dict(size_in=2, memory_d=2, order=order, hidden_units=4,
                  hidden_to_memory=True, memory_to_memory=True,
                  input_to_hidden=True, seed=3)
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(x, DT))
        a = LMU(theta=theta, **kwargs)
        b = LMU(theta=None, memory_matrices=(disc.A, disc.B), **kwargs)
        for lmu in (a, b):
            nengo.Connection(stim, lmu.input, synapse=None)
        pa, pb = nengo.Probe(a.output), nengo.Probe(b.output)
    assert b.theta is None
    assert len(b.fixed_connections) == 2 * 2  # one (Abar, Bbar) pair per memory
    assert np.array_equal(b.memory.discrete_system.A, disc.A)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(30)
    assert np.allclose(sim.data[pa], sim.data[pb], atol=1e-12)


@pytest.mark.parametrize("kwargs, attr", [
    ({"memory_matrices": (np.eye(3), np.ones((4, 1)))}, "memory_matrices"),
    ({"memory_matrices": (np.eye(4), np.ones((4, 2)))}, "memory_matrices"),
    ({"memory_matrices": np.eye(4)}, "memory_matrices"),
    ({"memory_matrices": (np.full((4, 4), np.inf), np.ones(4))}, "memory_matrices"),
    ({"memory_matrices": (np.eye(4), np.ones(4)),
      "memory_neurons_per_dimension": 10},
     "memory_matrices"),
    ({"memory_matrices": (np.eye(4), np.ones(4)), "discretizer": "euler"},
     "memory_matrices"),
    ({"memory_matrices": (np.eye(4), np.ones(4)), "discretizer": "euler",
      "trainable_theta": True}, "memory_matrices"),
    ({"memory_matrices": (np.eye(4), np.ones(4)), "memory_kwargs": {"n_std": 2}},
     "memory_matrices"),
    ({"theta": None}, "theta"),
])
def test_bad_memory_matrices(kwargs, attr):
    args = dict(size_in=1, memory_d=1, order=4, theta=0.1, hidden_units=3)
    args.update(kwargs)
    with nengo.Network():
        with pytest.raises(ValidationError, match=attr):
            LMU(**args)


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
    options = dict(memory_to_memory=recurrent,
                   hidden_to_memory=recurrent and hidden != "none",
                   input_to_hidden=seed % 3 == 0, use_bias=True)
    if kind == "LMU":
        lmu = keras_lmu.LMU(2, 5, 12.0, cell, return_sequences=return_sequences,
                            trainable_theta=recurrent, **options)
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
            "softmax" if config[3] == "softmax" else None)
        assert len(imported.lmus) == 1
        lmu_layer = next(layer for layer in model.layers
                         if type(layer).__name__ in ("LMU", "RNN"))
        theta_steps = (lmu_layer.theta if config[2] == "LMU"
                       else lmu_layer.cell.theta)
        assert imported.lmus[0].theta == pytest.approx(theta_steps * DT)
        # a trainable theta has been trained away from its initial 12 steps
        if config[2] == "RNN":
            assert abs(theta_steps - 12.0) > 1e-4


def test_round_trip_nengo_simulator(round_trips):
    x, _, net, stim, probes, _ = round_trips
    check_round_trips(round_trips, run_nengo_batches(net, stim, probes, x))


def test_round_trip_nengo_dl(round_trips):
    x, _, net, stim, probes, _ = round_trips
    check_round_trips(round_trips, run_nengo_dl(net, stim, probes, x))


def test_single_layer_and_container():
    tf.keras.utils.set_random_seed(0)
    layer = keras_lmu.LMU(1, 4, 8.0, keras.layers.SimpleRNNCell(3),
                          memory_to_memory=True)
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
        return keras_lmu.LMU(1, 4, 8.0, keras.layers.SimpleRNNCell(3),
                             memory_to_memory=True, **kwargs)

    first = lmu(return_sequences=True)(inp)
    skip = keras.layers.Concatenate()([first, inp])
    two_inputs = keras.Input((STEPS, 1))
    merged = keras.layers.Concatenate()([inp, two_inputs])
    return [
        (keras.Sequential([inp, lmu(), keras.layers.Dense(3, activation="softmax"),
                           keras.layers.Dense(2)]), "softmax"),
        (keras.Sequential([inp, lmu(), keras.layers.Dense(3, activation="elu")]),
         "elu"),
        (keras.Sequential([inp, keras.layers.LSTM(3)]), "LSTM"),
        (keras.Sequential([inp, keras_lmu.LMU(
            1, 4, 8.0, keras.layers.SimpleRNNCell(3, activation="softplus"),
            memory_to_memory=True)]), "hidden_cell"),
        (keras.Sequential([inp, keras_lmu.LMU(1, 4, 8.0, keras.layers.GRUCell(3),
                                              memory_to_memory=True)]),
         "hidden_cell"),
        (keras.Sequential([inp, keras.layers.RNN(keras_lmu.LMUCell(
            1, 4, 8.0, None), go_backwards=True)]), "go_backwards"),
        (keras.Model(inp, keras.layers.Dense(2)(skip)), "chain"),
        (keras.Model([inp, two_inputs], lmu()(merged)), "one input"),
        (keras.Sequential([keras.layers.Dense(2)]), "built"),
        (keras.Sequential([inp, keras.Sequential([keras.layers.Dense(2)])]),
         "nested"),
    ]


def test_keras_errors_build_nothing():
    for model, match in keras_error_models():
        with nengo.Network() as outer:
            with pytest.raises(ValidationError, match=match):
                network_from_keras(model)
        assert not outer.all_objects, match
    with pytest.raises(ValidationError, match="dt"):
        network_from_keras(keras_error_models()[0][0], dt=0)


# --- the LMU paper's Keras 2 model files --------------------------------------

PAPER_D, PAPER_UNITS, PAPER_ORDER, PAPER_THETA, PAPER_CLASSES = 2, 5, 6, 15, 4
PAPER_STEPS = 25


def paper_weights(rng):
    """Random weights of the paper's LMUCell, with a stable memory."""
    disc = LegendreDelay(PAPER_THETA, PAPER_ORDER).discretize(1.0)
    q, n, d = PAPER_ORDER, PAPER_UNITS, PAPER_D
    cell = {
        "input_encoders": rng.normal(size=(d, 1)),
        "hidden_encoders": rng.normal(size=(n, 1)) * 0.5,
        "memory_encoders": rng.normal(size=(q, 1)) * 0.1,
        "input_kernel": rng.normal(size=(d, n)) * 0.5,
        "hidden_kernel": rng.normal(size=(n, n)) * 0.3,
        "memory_kernel": rng.normal(size=(q, n)) * 0.3,
        "AT": (disc.A - np.eye(q)).T + rng.normal(size=(q, q)) * 0.01,
        "BT": disc.B.T * (1 + 0.1 * rng.normal(size=(1, q))),
    }
    dense = {"kernel": rng.normal(size=(n, PAPER_CLASSES)),
             "bias": rng.normal(size=PAPER_CLASSES)}
    return ({k: v.astype(np.float32) for k, v in cell.items()},
            {k: v.astype(np.float32) for k, v in dense.items()})


def paper_config(return_sequences=False, old_keras=False, activation="softmax",
                 extra_layers=()):
    rnn = {"class_name": "RNN", "config": {
        "name": "rnn_1", "trainable": True,
        "batch_input_shape": [None, PAPER_STEPS, PAPER_D], "dtype": "float32",
        "return_sequences": return_sequences, "return_state": False,
        "go_backwards": False, "stateful": False, "unroll": False,
        "cell": {"class_name": "LMUCell", "config": {
            "units": PAPER_UNITS, "order": PAPER_ORDER, "theta": PAPER_THETA,
            "method": "zoh", "trainable_input_encoders": True,
            "trainable_hidden_encoders": True, "trainable_memory_encoders": True,
            "trainable_input_kernel": True, "trainable_hidden_kernel": True,
            "trainable_memory_kernel": True, "trainable_A": False,
            "trainable_B": False, "hidden_activation": "tanh"}}}}
    dense = {"class_name": "Dense", "config": {
        "name": "dense_1", "trainable": True, "units": PAPER_CLASSES,
        "activation": activation, "use_bias": True}}
    layers = [rnn, *extra_layers, dense]
    inner = layers if old_keras else {"name": "sequential_1", "layers": layers}
    return {"class_name": "Sequential", "config": inner}


def write_paper_file(path, cell, dense, config=None, weight_names=True,
                     str_attrs=False):
    """A model file in the layout Keras 2's ``model.save()`` writes."""
    config = paper_config() if config is None else config
    enc = (lambda s: s) if str_attrs else (lambda s: s.encode("utf8"))
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = enc("2.2.4")
        f.attrs["backend"] = enc("tensorflow")
        f.attrs["model_config"] = enc(json.dumps(config))
        group = f.create_group("model_weights")
        layers = {"rnn_1": cell, "dense_1": dense}
        group.attrs["layer_names"] = [name.encode("utf8") for name in layers]
        for layer, weights in layers.items():
            g = group.create_group(layer)
            names = [f"{layer}/{key}:0" for key in weights]
            if weight_names:
                g.attrs["weight_names"] = [n.encode("utf8") for n in names]
            for name, value in zip(names, weights.values()):
                g.create_dataset(name, data=value)
    return path


def paper_reference(x, cell, dense):
    """The paper's LMUCell and Dense in numpy (row vectors), as logits."""
    w = {k: v.astype(float) for k, v in cell.items()}
    m = np.zeros((len(x), PAPER_ORDER))
    h = np.zeros((len(x), PAPER_UNITS))
    hs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        u = xt @ w["input_encoders"] + h @ w["hidden_encoders"] + m @ w[
            "memory_encoders"]
        m = m + m @ w["AT"] + u @ w["BT"]
        h = np.tanh(xt @ w["input_kernel"] + h @ w["hidden_kernel"]
                    + m @ w["memory_kernel"])
        hs.append(h)
    hs = np.stack(hs, axis=1)
    return hs @ dense["kernel"].astype(float) + dense["bias"].astype(float)


@pytest.fixture(scope="module")
def paper_file(tmp_path_factory):
    rng = np.random.RandomState(5)
    cell, dense = paper_weights(rng)
    path = write_paper_file(tmp_path_factory.mktemp("paper") / "model.h5", cell,
                            dense)
    x = rng.uniform(-1, 1, size=(BATCH, PAPER_STEPS, PAPER_D))
    return path, x, paper_reference(x, cell, dense), cell, dense


def build_paper_net(path):
    with nengo.Network() as net:
        stim = nengo.Node(np.zeros(PAPER_D))
        paper = network_from_paper_file(path, dt=DT)
        nengo.Connection(stim, paper.input, synapse=None)
        probe = nengo.Probe(paper.output, synapse=None)
    return net, stim, probe, paper


def test_paper_file_nengo_simulator(paper_file):
    path, x, expected, _, _ = paper_file
    net, stim, probe, paper = build_paper_net(path)
    assert paper.output_activation == "softmax"
    assert paper.lmus[0].theta == pytest.approx(PAPER_THETA * DT)
    out = run_nengo_batches(net, stim, [probe], x)[probe]
    assert np.max(np.abs(out - expected)) < 1e-6


def test_paper_file_nengo_dl(paper_file):
    path, x, expected, _, _ = paper_file
    net, stim, probe, _ = build_paper_net(path)
    out = run_nengo_dl(net, stim, [probe], x.astype(np.float32))[probe]
    assert np.max(np.abs(out - expected)) < 1e-5


@pytest.mark.parametrize("variant", ["old_keras", "no_weight_names", "str_attrs",
                                     "dropout", "return_sequences"])
def test_paper_file_variants(paper_file, tmp_path, variant):
    """Layouts of other Keras 2 versions read the same."""
    _, x, expected, cell, dense = paper_file
    kwargs = {}
    if variant in ("old_keras", "return_sequences"):
        kwargs["config"] = paper_config(**{variant: True})
    elif variant == "dropout":
        kwargs["config"] = paper_config(extra_layers=[{
            "class_name": "Dropout", "config": {"name": "dropout_1", "rate": 0.2}}])
    else:
        kwargs[{"no_weight_names": "weight_names",
                "str_attrs": "str_attrs"}[variant]] = variant == "str_attrs"
    path = write_paper_file(tmp_path / "m.h5", cell, dense, **kwargs)
    net, stim, probe, _ = build_paper_net(path)
    out = run_nengo_batches(net, stim, [probe], x[:1])[probe]
    assert np.max(np.abs(out - expected[:1])) < 1e-6


def corrupt_files(tmp_path, cell, dense):
    """(path, expected message) for broken and foreign files."""
    files = []
    text = tmp_path / "text.h5"
    text.write_text("not a model")
    files.append((text, "not an HDF5 file"))
    files.append((tmp_path / "absent.h5", "no such file"))
    with h5py.File(tmp_path / "weights_only.h5", "w") as f:
        f.create_group("model_weights")
    files.append((tmp_path / "weights_only.h5", "model_config"))
    with h5py.File(tmp_path / "bad_json.h5", "w") as f:
        f.attrs["model_config"] = b"{not json"
    files.append((tmp_path / "bad_json.h5", "JSON"))

    def variant(name, match, cell=cell, dense=dense, **kwargs):
        files.append((write_paper_file(tmp_path / name, cell, dense, **kwargs),
                      match))

    variant("no_at.h5", r"missing weights \['AT'\]",
            cell={k: v for k, v in cell.items() if k != "AT"})
    variant("bad_shape.h5", "'memory_kernel' has shape",
            cell=dict(cell, memory_kernel=cell["memory_kernel"][:-1]))
    variant("bad_bt.h5", "'BT' has shape", cell=dict(cell, BT=cell["BT"].T))
    variant("dense_width.h5", "'dense_1' takes 4 dimensions but gets 5",
            dense=dict(dense, kernel=dense["kernel"][1:]))
    variant("dense_bias.h5", "'bias' has shape",
            dense=dict(dense, bias=dense["bias"][1:]))
    variant("nan.h5", "not finite", cell=dict(cell, AT=cell["AT"] * np.nan))
    variant("elu.h5", "elu", config=paper_config(activation="elu"))
    lstm = paper_config()
    lstm["config"]["layers"].insert(1, {"class_name": "LSTM",
                                        "config": {"name": "lstm_1"}})
    variant("lstm.h5", "LSTM", config=lstm)
    other_cell = paper_config()
    other_cell["config"]["layers"][0]["config"]["cell"]["class_name"] = "GRUCell"
    variant("gru.h5", "no LMUCell", config=other_cell)
    activation = paper_config()
    activation["config"]["layers"][0]["config"]["cell"]["config"][
        "hidden_activation"] = "softsign"
    variant("softsign.h5", "hidden_activation", config=activation)
    wrong_order = paper_config()
    wrong_order["config"]["layers"][0]["config"]["cell"]["config"]["order"] = 9
    variant("order.h5", "order=9", config=wrong_order)
    missing_layer = paper_config()
    missing_layer["config"]["layers"][1]["config"]["name"] = "dense_2"
    variant("no_layer.h5", "no weights for layer 'dense_2'", config=missing_layer)
    variant("not_model.h5", "not supported", config={"class_name": "Dense",
                                                     "config": {"name": "d"}})
    return files


def test_paper_file_errors_build_nothing(paper_file, tmp_path):
    _, _, _, cell, dense = paper_file
    for path, match in corrupt_files(tmp_path, cell, dense):
        with nengo.Network() as outer:
            with pytest.raises(ValidationError, match=match) as info:
                network_from_paper_file(path)
        assert info.value.attr in ("path", "hidden_activation")
        assert str(path) in str(info.value)
        assert not outer.all_objects, path


def test_imported_weights_run_with_neural_memory_and_spiking():
    """An imported layer's trained matrices also run with a neural memory,
    and, after fine-tuning with a rectified-linear hidden part in NengoDL,
    spiking."""
    from nengo_lmu.dl import configure_training, to_spiking
    from nengo_lmu.interop import lmu_from_keras

    steps = 1000
    tf.keras.utils.set_random_seed(0)
    layer = keras_lmu.LMU(1, 4, 200, keras.layers.Dense(16, activation="relu"),
                          kernel_initializer=keras.initializers.Constant(1.0),
                          return_sequences=True)
    signal = nengo.processes.WhiteSignal(1.0, high=2, rms=0.3, y0=0, seed=0)
    x = signal.run_steps(steps)[None].astype(np.float32)
    y_keras = layer(x).numpy()[0]

    def rmse(a, b):
        return np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b**2))

    # the same weights with 4 x 200 spiking neurons as the memory
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.PresentInput(x[0], DT))
        lmu = lmu_from_keras(layer, dt=DT, memory_neurons=200, memory_kwargs=dict(
            neuron_type=nengo.SpikingRectifiedLinear(), input_rms=0.3,
            input_high=2.0))
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
    spiking_error = rmse(nengo.Lowpass(0.02).filt(sim.data[spiking.probe], dt=DT),
                         nengo.Lowpass(0.02).filt(rate, dt=DT))
    assert spiking_error < 0.2, spiking_error  # measured 0.088
