"""The LMU paper's Keras 2 model files (nengo_lmu.interop.paper), and the
LMU's ``memory_matrices`` option that they use."""

import json

import h5py
import nengo
import numpy as np
import pytest
from helpers import run_sequences
from nengo.exceptions import ValidationError
from test_interop_keras import BATCH, DT, run_nengo_dl

from nengo_lmu import LMU
from nengo_lmu.interop import network_from_paper_file
from nengo_lmu.systems import LegendreDelay

# --- LMU(memory_matrices=...) -------------------------------------------------


def test_memory_matrices_equal_default_memory():
    """The Legendre zoh given as matrices gives the default LMU's output."""
    order, theta = 5, 0.02
    disc = LegendreDelay(theta, order).discretize(DT)
    x = np.random.RandomState(0).uniform(-1, 1, size=(30, 2))
    kwargs = dict(
        size_in=2,
        memory_d=2,
        order=order,
        hidden_units=4,
        hidden_to_memory=True,
        memory_to_memory=True,
        input_to_hidden=True,
        seed=3,
    )
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


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"memory_matrices": (np.eye(3), np.ones((4, 1)))}, "memory_matrices"),
        ({"memory_matrices": (np.eye(4), np.ones((4, 2)))}, "memory_matrices"),
        ({"memory_matrices": np.eye(4)}, "memory_matrices"),
        ({"memory_matrices": (np.full((4, 4), np.inf), np.ones(4))}, "memory_matrices"),
        (
            {
                "memory_matrices": (np.eye(4), np.ones(4)),
                "memory_neurons_per_dimension": 10,
            },
            "memory_matrices",
        ),
        (
            {"memory_matrices": (np.eye(4), np.ones(4)), "discretizer": "euler"},
            "memory_matrices",
        ),
        (
            {
                "memory_matrices": (np.eye(4), np.ones(4)),
                "discretizer": "euler",
                "trainable_theta": True,
            },
            "memory_matrices",
        ),
        (
            {"memory_matrices": (np.eye(4), np.ones(4)), "memory_kwargs": {"n_std": 2}},
            "memory_matrices",
        ),
        ({"theta": None}, "theta"),
    ],
)
def test_bad_memory_matrices(kwargs, attr):
    args = dict(size_in=1, memory_d=1, order=4, theta=0.1, hidden_units=3)
    args.update(kwargs)
    with nengo.Network():
        with pytest.raises(ValidationError, match=attr):
            LMU(**args)


# --- the LMU paper's Keras 2 model files --------------------------------------

PAPER_D, PAPER_UNITS, PAPER_ORDER, PAPER_THETA, PAPER_CLASSES = 2, 5, 6, 15, 4
PAPER_STEPS = 25
PAPER_CELL_KEYS = (
    "input_encoders",
    "hidden_encoders",
    "memory_encoders",
    "input_kernel",
    "hidden_kernel",
    "memory_kernel",
    "AT",
    "BT",
)


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
    dense = {
        "kernel": rng.normal(size=(n, PAPER_CLASSES)),
        "bias": rng.normal(size=PAPER_CLASSES),
    }
    return (
        {k: v.astype(np.float32) for k, v in cell.items()},
        {k: v.astype(np.float32) for k, v in dense.items()},
    )


def paper_config(
    return_sequences=False, old_keras=False, activation="softmax", extra_layers=()
):
    rnn = {
        "class_name": "RNN",
        "config": {
            "name": "rnn_1",
            "trainable": True,
            "batch_input_shape": [None, PAPER_STEPS, PAPER_D],
            "dtype": "float32",
            "return_sequences": return_sequences,
            "return_state": False,
            "go_backwards": False,
            "stateful": False,
            "unroll": False,
            "cell": {
                "class_name": "LMUCell",
                "config": {
                    "units": PAPER_UNITS,
                    "order": PAPER_ORDER,
                    "theta": PAPER_THETA,
                    "method": "zoh",
                    "trainable_input_encoders": True,
                    "trainable_hidden_encoders": True,
                    "trainable_memory_encoders": True,
                    "trainable_input_kernel": True,
                    "trainable_hidden_kernel": True,
                    "trainable_memory_kernel": True,
                    "trainable_A": False,
                    "trainable_B": False,
                    "hidden_activation": "tanh",
                },
            },
        },
    }
    dense = {
        "class_name": "Dense",
        "config": {
            "name": "dense_1",
            "trainable": True,
            "units": PAPER_CLASSES,
            "activation": activation,
            "use_bias": True,
        },
    }
    layers = [rnn, *extra_layers, dense]
    inner = layers if old_keras else {"name": "sequential_1", "layers": layers}
    return {"class_name": "Sequential", "config": inner}


def write_paper_file(
    path, cell, dense, config=None, weight_names=True, str_attrs=False
):
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
        u = (
            xt @ w["input_encoders"]
            + h @ w["hidden_encoders"]
            + m @ w["memory_encoders"]
        )
        m = m + m @ w["AT"] + u @ w["BT"]
        h = np.tanh(
            xt @ w["input_kernel"] + h @ w["hidden_kernel"] + m @ w["memory_kernel"]
        )
        hs.append(h)
    hs = np.stack(hs, axis=1)
    return hs @ dense["kernel"].astype(float) + dense["bias"].astype(float)


@pytest.fixture(scope="module")
def paper_file(tmp_path_factory):
    rng = np.random.RandomState(5)
    cell, dense = paper_weights(rng)
    path = write_paper_file(tmp_path_factory.mktemp("paper") / "model.h5", cell, dense)
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
    out = run_sequences(net, stim, [probe], x)[probe]
    assert np.max(np.abs(out - expected)) < 1e-6


def test_paper_file_nengo_dl(paper_file):
    path, x, expected, _, _ = paper_file
    net, stim, probe, _ = build_paper_net(path)
    out = run_nengo_dl(net, stim, [probe], x.astype(np.float32))[probe]
    assert np.max(np.abs(out - expected)) < 1e-5


@pytest.mark.parametrize(
    "variant",
    ["old_keras", "no_weight_names", "str_attrs", "dropout", "return_sequences"],
)
def test_paper_file_variants(paper_file, tmp_path, variant):
    """Layouts of other Keras 2 versions read the same."""
    _, x, expected, cell, dense = paper_file
    kwargs = {}
    if variant in ("old_keras", "return_sequences"):
        kwargs["config"] = paper_config(**{variant: True})
    elif variant == "dropout":
        kwargs["config"] = paper_config(
            extra_layers=[
                {"class_name": "Dropout", "config": {"name": "dropout_1", "rate": 0.2}}
            ]
        )
    else:
        kwargs[
            {"no_weight_names": "weight_names", "str_attrs": "str_attrs"}[variant]
        ] = (variant == "str_attrs")
    path = write_paper_file(tmp_path / "m.h5", cell, dense, **kwargs)
    net, stim, probe, _ = build_paper_net(path)
    out = run_sequences(net, stim, [probe], x[:1])[probe]
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
        files.append((write_paper_file(tmp_path / name, cell, dense, **kwargs), match))

    variant(
        "no_at.h5",
        r"missing weights \['AT'\]",
        cell={k: v for k, v in cell.items() if k != "AT"},
    )
    variant(
        "bad_shape.h5",
        "'memory_kernel' has shape",
        cell=dict(cell, memory_kernel=cell["memory_kernel"][:-1]),
    )
    variant("bad_bt.h5", "'BT' has shape", cell=dict(cell, BT=cell["BT"].T))
    variant(
        "dense_width.h5",
        "'dense_1' takes 4 dimensions but gets 5",
        dense=dict(dense, kernel=dense["kernel"][1:]),
    )
    variant(
        "dense_bias.h5", "'bias' has shape", dense=dict(dense, bias=dense["bias"][1:])
    )
    variant("nan.h5", "not finite", cell=dict(cell, AT=cell["AT"] * np.nan))
    variant("elu.h5", "elu", config=paper_config(activation="elu"))
    lstm = paper_config()
    lstm["config"]["layers"].insert(
        1, {"class_name": "LSTM", "config": {"name": "lstm_1"}}
    )
    variant("lstm.h5", "LSTM", config=lstm)
    other_cell = paper_config()
    other_cell["config"]["layers"][0]["config"]["cell"]["class_name"] = "GRUCell"
    variant("gru.h5", "no LMUCell", config=other_cell)
    activation = paper_config()
    activation["config"]["layers"][0]["config"]["cell"]["config"][
        "hidden_activation"
    ] = "softsign"
    variant("softsign.h5", "hidden_activation", config=activation)
    wrong_order = paper_config()
    wrong_order["config"]["layers"][0]["config"]["cell"]["config"]["order"] = 9
    variant("order.h5", "order=9", config=wrong_order)
    missing_layer = paper_config()
    missing_layer["config"]["layers"][1]["config"]["name"] = "dense_2"
    variant("no_layer.h5", "no weights for layer 'dense_2'", config=missing_layer)
    variant(
        "not_model.h5",
        "not supported",
        config={"class_name": "Dense", "config": {"name": "d"}},
    )
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


# --- damaged files: property tests --------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from robustness import record, tally  # noqa: E402

READER_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Configuration keys the reader uses (a wrong type there must be refused)
USED_KEYS = {
    "class_name",
    "config",
    "layers",
    "name",
    "cell",
    "units",
    "order",
    "theta",
    "hidden_activation",
    "activation",
    "use_bias",
    "go_backwards",
    "return_sequences",
    "batch_input_shape",
    "inbound_nodes",
}


def read_outcome(path, kind, check=None):
    """network_from_paper_file(path): "refused" (a ValidationError naming the
    file) or "read" (then ``check(path, network)`` if given); anything else
    fails the test."""
    with nengo.Network() as outer:
        try:
            net = network_from_paper_file(path)
        except ValidationError as err:
            assert str(path) in str(err), err
            assert "\n" not in str(err)
            assert not outer.all_objects  # nothing half-built
            record(kind, "refused")
            return "refused"
    if check is not None:
        check(path, net)
    record(kind, "read")
    return "read"


def check_weights_as_stored(path, net):
    """``net`` holds the weights that ``path`` stores (read here with h5py),
    placed as the paper's cell uses them (see `paper_reference`)."""
    with h5py.File(path, "r") as f:

        def stored(layer, key):
            return np.array(f[f"model_weights/{layer}/{layer}/{key}:0"], dtype=float)

        w = {key: stored("rnn_1", key) for key in PAPER_CELL_KEYS}
        kernel, bias = stored("dense_1", "kernel"), stored("dense_1", "bias")
    lmu = net.lmus[0]
    expected = {
        "kernel": np.vstack([w["input_encoders"], w["hidden_encoders"]]),
        "recurrent_kernel": w["memory_encoders"],
        "hidden_kernel": np.vstack([w["memory_kernel"], w["input_kernel"]]),
        "hidden_recurrent_kernel": w["hidden_kernel"],
        "hidden_bias": np.zeros(PAPER_UNITS),
    }
    assert sorted(lmu.weights) == sorted(expected)
    for key, value in expected.items():
        assert np.array_equal(lmu.weights[key], value), key
    A, B = lmu.memory_matrices
    assert np.array_equal(A, np.eye(PAPER_ORDER) + w["AT"].T)
    assert np.array_equal(B, w["BT"].T)
    into_output = {
        c.pre_obj.label: c.transform.init
        for c in net.all_connections
        if c.post_obj is net.output
    }
    assert np.array_equal(into_output["output"], kernel.T)
    assert np.array_equal(into_output["bias"], bias[:, None])


@pytest.fixture(scope="module")
def paper_path(paper_file):
    return paper_file[0]


@settings(max_examples=120, **READER_SETTINGS)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def paper_file_cut_short(paper_path, tmp_path, fraction):
    paper_bytes = paper_path.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(paper_bytes[: int(fraction * len(paper_bytes))])
    assert read_outcome(path, "paper cut") == "refused"


@settings(max_examples=120, **READER_SETTINGS)
@given(
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
        min_size=1,
        max_size=8,
    )
)
def paper_file_with_flipped_bytes(paper_path, tmp_path, flips):
    paper_bytes = paper_path.read_bytes()
    data = bytearray(paper_bytes)
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    path = tmp_path / "flipped.h5"
    path.write_bytes(bytes(data))
    # a clean refusal, or the weights read as stored
    read_outcome(path, "paper flipped", check=check_weights_as_stored)


def test_paper_file_cut_short_is_refused(paper_path, tmp_path):
    """Every cut of the file is refused (all 120 cases tried)."""
    with tally("paper cut", minimum=120) as seen:
        paper_file_cut_short(paper_path=paper_path, tmp_path=tmp_path)
    assert seen["paper cut", "refused"] == 120, seen


def test_paper_file_with_flipped_bytes_is_refused_or_read(paper_path, tmp_path):
    """One to eight flipped bytes: refused, or read with the weights that
    the file now stores (compared with an h5py read of them). All 120 cases
    tried; some of each (measured: 83 refused, 37 read, 5 of these with a
    flipped weight value)."""
    with tally("paper flipped", minimum=120) as seen:
        paper_file_with_flipped_bytes(paper_path=paper_path, tmp_path=tmp_path)
    assert seen["paper flipped", "refused"] and seen["paper flipped", "read"], seen


def json_paths(node, path=()):
    """Every (path, value) in a JSON tree, the root included."""
    yield path, node
    items = (
        node.items()
        if isinstance(node, dict)
        else (enumerate(node) if isinstance(node, list) else ())
    )
    for key, value in items:
        yield from json_paths(value, path + (key,))


def replace_at(node, path, value):
    if not path:
        return value
    node[path[0]] = replace_at(node[path[0]], path[1:], value)
    return node


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.just([]),
    st.just({}),
    st.just([1, "a"]),
    st.just({"config": 3}),
)


def json_type(value):
    return (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else type(value).__name__
    )


@settings(max_examples=150, **READER_SETTINGS)
@given(data=st.data())
def paper_config_with_wrong_types(paper_file, tmp_path, data):
    _, _, _, cell, dense = paper_file
    config = paper_config()
    paths = list(json_paths(config))
    path, old = data.draw(st.sampled_from(paths))
    new = data.draw(JSON_VALUES.filter(lambda v: json_type(v) != json_type(old)))
    config = replace_at(config, path, new)
    file = write_paper_file(tmp_path / "typed.h5", cell, dense, config=config)
    try:
        outcome = read_outcome(file, "paper config")
    except AssertionError:
        raise AssertionError(f"replacing {path} with {new!r}") from None
    if path and isinstance(path[-1], str) and path[-1] in USED_KEYS:
        assert outcome == "refused", (path, new)


def test_paper_config_with_wrong_types_anywhere_is_refused(paper_file, tmp_path):
    """Any value of the configuration replaced by one of another type:
    refused where the reader uses the key, else refused or read. All 150
    cases tried; some of each (measured: 94 refused, 56 read)."""
    with tally("paper config", minimum=150) as seen:
        paper_config_with_wrong_types(paper_file=paper_file, tmp_path=tmp_path)
    assert seen["paper config", "refused"] and seen["paper config", "read"], seen


@pytest.mark.parametrize(
    "where, value",
    [
        (("config", "layers", 0, "config", "name"), 3),
        (("config", "layers", 0, "config", "cell"), "LMUCell"),
        (("config", "layers", 0, "config", "cell", "config"), [1]),
        (("config", "layers", 0, "config", "cell", "config", "units"), 5.0),
        (("config", "layers", 0, "config", "cell", "config", "order"), "6"),
        (("config", "layers", 0, "config", "cell", "config", "theta"), True),
        (("config", "layers", 0, "config", "cell", "config", "hidden_activation"), 1),
        (("config", "layers", 0, "config", "go_backwards"), 0),
        (("config", "layers", 0, "config", "return_sequences"), "no"),
        (("config", "layers", 0, "config", "batch_input_shape"), {"a": 1}),
        (("config", "layers", 0, "config", "batch_input_shape", 1), "25"),
        (("config", "layers", 1, "config", "use_bias"), "false"),
        (("config", "layers", 1, "config", "activation"), {"config": 3}),
        (("config", "layers", 1, "config", "units"), None),
        (("config", "layers", 1, "class_name"), ["Dense"]),
        (("config", "layers"), {"0": 1}),
        (("config",), "Sequential"),
        (("class_name",), None),
        ((), []),
    ],
)
def test_paper_config_wrong_types_are_named(paper_file, tmp_path, where, value):
    _, _, _, cell, dense = paper_file
    config = replace_at(paper_config(), where, value)
    path = write_paper_file(tmp_path / "typed.h5", cell, dense, config=config)
    with pytest.raises(ValidationError) as info:
        network_from_paper_file(path)
    assert str(path) in str(info.value)


def test_dense_only_file_is_not_a_paper_file(paper_file, tmp_path):
    _, _, _, cell, dense = paper_file
    config = paper_config()
    config["config"]["layers"] = config["config"]["layers"][1:]
    config["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 5]
    path = write_paper_file(tmp_path / "dense.h5", cell, dense, config=config)
    with pytest.raises(ValidationError, match="no RNN\\(LMUCell\\) layer"):
        network_from_paper_file(path)


def test_weight_claiming_a_huge_shape_is_refused(paper_file, tmp_path):
    _, _, _, cell, dense = paper_file
    path = write_paper_file(tmp_path / "huge.h5", cell, dense)
    with h5py.File(path, "a") as f:
        group = f["model_weights/rnn_1"]
        del group["rnn_1/AT:0"]
        group.create_dataset("rnn_1/AT:0", shape=(6, 10**9), dtype="float32")
    assert path.stat().st_size < 10**6  # the file does not hold the data
    with pytest.raises(ValidationError, match="a damaged file"):
        network_from_paper_file(path)
