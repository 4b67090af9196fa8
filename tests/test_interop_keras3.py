"""Keras 3 files read as data, and untrusted Keras files never running code
(nengo_lmu.interop.keras3, nengo_lmu.interop.files.load_model_file).

The Keras 3 fixtures under tests/fixtures/keras3/ were written by KerasLMU 0.9.0
on TensorFlow 2.21 / Keras 3.15 (tests/fixtures/make_keras3_models.py), with
the Keras model's own outputs; Keras 3 is not installed here.
"""

import os
from pathlib import Path

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu.cli import main
from nengo_lmu.interop import load_model_file
from nengo_lmu.interop.keras3 import (
    check_keras_config,
    network_from_keras3_file,
    read_keras_file,
)

DT = 0.001
FIXTURES = Path(__file__).parent / "fixtures" / "keras3"
MODELS = sorted(p.stem for p in FIXTURES.glob("*.npz"))
MARKER_ENV = "NENGO_LMU_LAMBDA_MARKER"


def run(net, x):
    """``net`` (input/output) on one sequence in the reference simulator."""
    with nengo.Network() as model:
        stim = nengo.Node(nengo.processes.PresentInput(x, DT))
        model.add(net)
        nengo.Connection(stim, net.input, synapse=None)
        probe = nengo.Probe(net.output, synapse=None)
    with nengo.Simulator(model, dt=DT, progress_bar=False) as sim:
        sim.run_steps(len(x))
    return sim.data[probe]


def keras_outputs(net, x, sequences):
    """What the Keras model returns, from the imported network: a softmax the
    network leaves out applied again, the last step where Keras returns it."""
    out = []
    for seq in x:
        y = run(net, np.asarray(seq, dtype=float))
        if net.output_activation == "softmax":
            y = np.exp(y - y.max(axis=-1, keepdims=True))
            y /= y.sum(axis=-1, keepdims=True)
        out.append(y if sequences else y[-1])
    return np.array(out)


def test_fixtures_cover_the_brief():
    assert len(MODELS) >= 8
    for name in MODELS + ["lambda"]:
        for suffix in (".keras", ".h5"):
            assert (FIXTURES / f"{name}{suffix}").stat().st_size < 64_000


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", MODELS)
def test_keras3_models_run_equal_to_keras(name, suffix):
    data = np.load(FIXTURES / f"{name}.npz")
    x, y = data["x"], data["y"]
    path = FIXTURES / f"{name}{suffix}"
    assert read_keras_file(path).keras_major == 3
    net, model = load_model_file(path, dt=DT)
    assert model is None and len(net.lmus) >= 1
    assert net.sequence_length == x.shape[1]
    got = keras_outputs(net, x, sequences=y.ndim == 3)
    assert got.shape == y.shape
    # float32 Keras against float64 Nengo, as benchmark B3
    assert np.max(np.abs(got - y)) < 1e-4


def test_trained_theta_is_read_from_the_weights():
    # the fixture moved theta_inv from 1/6 to 1/(6 + 1.3); the config's theta
    # is the constructor's argument
    net = network_from_keras3_file(FIXTURES / "trainable_theta_zoh.keras", dt=DT)
    assert net.lmus[0].theta == pytest.approx(7.3 * DT, rel=1e-5)
    net = network_from_keras3_file(FIXTURES / "trainable_theta_euler.h5", dt=DT)
    assert net.lmus[0].theta == pytest.approx(9.3 * DT, rel=1e-5)
    assert net.lmus[0].trainable_theta


def test_import_command_reads_keras3_files(capsys):
    assert main(["import", str(FIXTURES / "stacked.h5")]) == 0
    out = capsys.readouterr().out
    assert "Keras 3.15.1 file (read as data) with 2 LMU layer(s)" in out, out


def test_network_from_keras3_file_is_added_where_built():
    with nengo.Network() as parent:
        net = network_from_keras3_file(FIXTURES / "stacked.keras", dt=DT)
    assert net in parent.networks and len(net.lmus) == 2


# --- untrusted files: a Lambda layer's code never runs --------------------------


@pytest.fixture
def marker(tmp_path, monkeypatch):
    """The file the Lambda fixtures write when their code runs."""
    path = tmp_path / "lambda_ran.txt"
    monkeypatch.setenv(MARKER_ENV, str(path))
    monkeypatch.chdir(tmp_path)  # where the code writes without the variable
    return path


def refuses_lambda(path, marker, capsys):
    """load_model_file and `nengo-lmu import` refuse ``path`` naming the layer,
    and the Lambda's code does not run."""
    with pytest.raises(ValidationError, match=r"layer 'evil' of type Lambda") as info:
        load_model_file(path, dt=DT)
    assert str(path) in str(info.value) and "no code in it has run" in str(info.value)
    assert not marker.exists()
    with nengo.Network() as parent:
        with pytest.raises(ValidationError, match="Lambda"):
            network_from_keras3_file(path, dt=DT)
    assert not parent.all_objects
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "layer 'evil' of type Lambda is not supported" in err, err
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_lambda_file_is_refused_without_running(suffix, marker, capsys):
    # make_keras3_models.py checked that an unsafe Keras 3 load runs the code
    refuses_lambda(FIXTURES / f"lambda{suffix}", marker, capsys)


def lambda_writes(x):
    """The Lambda's code: write the marker file, return the input."""
    path = os.environ.get(MARKER_ENV, "lambda_ran.txt")
    with open(path, "w", encoding="utf8") as f:
        f.write("the Lambda layer's code ran")
    return x


@pytest.fixture(scope="module")
def keras2_lambda_files(tmp_path_factory):
    """A Keras 2 (TF 2.12) model with a Lambda that writes the marker, saved in
    each format TF 2.12 writes: {name: path}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras_lmu  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    folder = tmp_path_factory.mktemp("keras2_lambda")
    before = os.environ.get(MARKER_ENV)
    os.environ[MARKER_ENV] = os.devnull  # building the model runs the Lambda
    try:
        inp = tf.keras.Input((6, 1))
        # a lambda (stored as bytecode), not the named function (stored by name)
        h = tf.keras.layers.Lambda(lambda x: lambda_writes(x), name="evil")(inp)
        h = keras_lmu.LMU(1, 3, 4.0, tf.keras.layers.SimpleRNNCell(2))(h)
        model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(h))
        paths = {}
        for name in ("model.h5", "model.keras", "v3.keras", "saved_model"):
            paths[name] = folder / name
            model.save(
                paths[name], save_format="keras_v3" if name == "v3.keras" else None
            )
    finally:
        if before is None:
            del os.environ[MARKER_ENV]
        else:
            os.environ[MARKER_ENV] = before
    return paths


@pytest.mark.parametrize("name", ["model.h5", "model.keras", "v3.keras", "saved_model"])
def test_keras2_lambda_file_is_refused_without_running(
    keras2_lambda_files, name, marker, capsys
):
    path = keras2_lambda_files[name]
    kind = read_keras_file(path).kind
    assert kind == {"v3.keras": "keras", "saved_model": "saved_model"}.get(name, "h5")
    refuses_lambda(path, marker, capsys)


def test_keras2_lambda_file_would_run_in_an_unchecked_load(keras2_lambda_files, marker):
    """The control: TF 2.12's own load_model runs the Lambda's code for the
    formats it has no safe mode for (so the refusals above are not vacuous)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.interop.keras import custom_objects

    ran = {}
    for name in ("model.h5", "saved_model"):
        if marker.exists():
            marker.unlink()
        tf.keras.models.load_model(
            keras2_lambda_files[name], custom_objects=custom_objects(), compile=False
        )
        ran[name] = marker.exists()
    assert ran == {"model.h5": True, "saved_model": True}


@pytest.mark.parametrize(
    "obj, refused",
    [
        ({"class_name": "Lambda", "config": {"name": "l"}}, "Lambda"),
        ({"class_name": "MyLayer", "config": {"name": "l"}}, "MyLayer"),
        (
            {"class_name": "Dense", "module": "os", "config": {"name": "l"}},
            "from module 'os'",
        ),
        (
            {
                "class_name": "Dense",
                "config": {
                    "name": "l",
                    "activation": {"class_name": "__lambda__", "config": {}},
                },
            },
            "__lambda__",
        ),
        (
            {
                "class_name": "Dense",
                "config": {
                    "name": "l",
                    "activation": {"class_name": "function", "config": {"code": "x"}},
                },
            },
            "function given as code",
        ),
    ],
)
def test_config_check_refuses_code_at_any_depth(obj, refused):
    from nengo_lmu.interop.keras3 import KerasFile

    config = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {
                    "class_name": "RNN",
                    "config": {
                        "name": "rnn",
                        "cell": {
                            "class_name": "LMUCell",
                            "config": {"name": "c", "hidden_cell": obj},
                        },
                    },
                }
            ]
        },
    }
    with pytest.raises(ValidationError, match=f"m.h5: layer 'l'.*{refused}"):
        check_keras_config(KerasFile("m.h5", "h5", config, "3.15.1"))


# --- hostile Keras 3 files: property tests ---------------------------------------

import copy  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import zipfile  # noqa: E402

import h5py  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from robustness import record, tally  # noqa: E402
from test_interop_paper import JSON_VALUES, json_paths, json_type, replace_at  # noqa

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FILES = [f"{name}{suffix}" for name in MODELS for suffix in (".keras", ".h5")]


def outcome(path, kind):
    """network_from_keras3_file inside a parent network: "refused" (one-line
    ValidationError naming the file, nothing left in the parent) or "read"
    (an LMU network in the parent); anything else fails the test."""
    with nengo.Network() as parent:
        try:
            net = network_from_keras3_file(path, dt=DT)
        except ValidationError as err:
            assert str(path) in str(err) and "\n" not in str(err), err
            assert not parent.all_objects and not parent.networks
            record(kind, "refused")
            return "refused"
    assert parent.networks == [net] and len(net.lmus) >= 1
    record(kind, "read")
    return "read"


def damage(data, op, where, mask):
    where = int(where * len(data))
    if op == "cut":
        return data[:where]
    data = bytearray(data)
    data[where] ^= mask
    return bytes(data)


def rewrite_keras(source, target, member, change):
    """Copy the .keras zip ``source`` to ``target`` with ``member`` changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename == member else data)


@settings(max_examples=50, **SETTINGS)
@given(
    name=st.sampled_from(FILES),
    member=st.sampled_from(["whole file", "config.json", "model.weights.h5"]),
    op=st.sampled_from(["cut", "flip"]),
    where=st.floats(0, 1, exclude_max=True),
    mask=st.integers(1, 255),
)
def damaged_keras3_files(tmp_path, name, member, op, where, mask):
    source = FIXTURES / name
    target = tmp_path / f"damaged_{name}"
    if member == "whole file" or name.endswith(".h5"):
        target.write_bytes(damage(source.read_bytes(), op, where, mask))
        result = outcome(target, "keras3 damaged")
        if op == "cut":
            assert result == "refused"
        return
    rewrite_keras(source, target, member, lambda d: damage(d, op, where, mask))
    result = outcome(target, "keras3 damaged")
    if op == "cut":  # every byte of both members matters
        assert result == "refused"


def keras3_config(path):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json"))
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["model_config"])


def write_config(source, target, config):
    if zipfile.is_zipfile(source):
        rewrite_keras(source, target, "config.json", lambda _: json.dumps(config))
        return
    shutil.copy(source, target)
    with h5py.File(target, "a") as f:
        f.attrs["model_config"] = json.dumps(config)


CONFIGS = {name: keras3_config(FIXTURES / name) for name in FILES}


@settings(max_examples=90, **SETTINGS)
@given(name=st.sampled_from(FILES), data=st.data())
def keras3_configs_with_wrong_types(tmp_path, name, data):
    config = copy.deepcopy(CONFIGS[name])
    where, old = data.draw(st.sampled_from(list(json_paths(config))))
    new = data.draw(JSON_VALUES.filter(lambda v: json_type(v) != json_type(old)))
    target = tmp_path / f"typed_{name}"
    write_config(FIXTURES / name, target, replace_at(config, where, new))
    try:
        outcome(target, "keras3 config type")
    except AssertionError:
        raise AssertionError(f"replacing {where} with {new!r}") from None


@settings(max_examples=20, **SETTINGS)
@given(
    name=st.sampled_from(FILES),
    cls=st.sampled_from(
        ["Lambda", "Conv1D", "LSTMCell", "TimeDistributed", "MyLayer", "", "a>b"]
    ),
    data=st.data(),
)
def keras3_unknown_layers(tmp_path, name, cls, data):
    config = copy.deepcopy(CONFIGS[name])
    objects = [
        (where, value)
        for where, value in json_paths(config)
        if isinstance(value, dict)
        and isinstance(value.get("config"), dict)
        and isinstance(value["config"].get("name"), str)
        and value.get("class_name") not in ("InputLayer", "Sequential", "Functional")
    ]
    where, value = data.draw(st.sampled_from(objects))
    value["class_name"] = cls
    target = tmp_path / f"unknown_{name}"
    write_config(FIXTURES / name, target, config)
    assert outcome(target, "keras3 unknown layer") == "refused"
    with pytest.raises(ValidationError, match=f"layer '{value['config']['name']}'"):
        load_model_file(target, dt=DT)


def test_damaged_keras3_files_are_refused_or_read(tmp_path):
    """Files cut short (always refused) or with a byte flipped: refused with
    the file named and nothing left behind, or read. At least 40 of the 50
    cases (measured over two runs: 42-45 refused, 5-8 read)."""
    with tally("keras3 damaged", minimum=40) as seen:
        damaged_keras3_files(tmp_path=tmp_path)
    assert seen["keras3 damaged", "refused"] and seen["keras3 damaged", "read"]


def test_keras3_configs_with_wrong_types_are_refused_or_read(tmp_path):
    """Any entry of a configuration replaced by a value of another JSON type.
    At least 70 of the 90 cases (measured: 46 refused, 44 read: entries the
    reader never uses)."""
    with tally("keras3 config type", minimum=70) as seen:
        keras3_configs_with_wrong_types(tmp_path=tmp_path)
    assert seen["keras3 config type", "refused"], seen
    assert seen["keras3 config type", "read"], seen


def test_keras3_unknown_layers_are_refused_by_name(tmp_path):
    """Any layer's class replaced by one the reader does not know: refused,
    naming the layer, every time (at least 15 of the 20 cases)."""
    with tally("keras3 unknown layer", minimum=15) as seen:
        keras3_unknown_layers(tmp_path=tmp_path)
    assert not seen["keras3 unknown layer", "read"], seen


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_config_without_the_hidden_cell_its_weights_have_is_refused(tmp_path, suffix):
    """A configuration edited to drop the hidden cell would otherwise import
    the memory alone, silently ignoring the hidden cell's weights."""
    name = f"lmu_simple_rnn{suffix}"
    config = copy.deepcopy(CONFIGS[name])
    for _, value in json_paths(config):
        if isinstance(value, dict) and "hidden_cell" in value:
            value["hidden_cell"] = None
            value["hidden_to_memory"] = False
    target = tmp_path / name
    write_config(FIXTURES / name, target, config)
    with pytest.raises(ValidationError, match="layer 'lmu'.*(weights|hidden cell)"):
        load_model_file(target, dt=DT)


def test_import_of_a_named_pipe_is_refused_not_hung(tmp_path, capsys):
    """Issue 22: `nengo-lmu import` of a named pipe hung forever."""
    import signal  # pylint: disable=import-outside-toplevel

    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)

    def hung(*_):
        raise AssertionError("import of a named pipe hangs")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        assert main(["import", str(fifo)]) == 2
        with pytest.raises(ValidationError, match="not a regular file"):
            load_model_file(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert "not a regular file" in capsys.readouterr().err


def test_import_prints_a_file_name_the_terminal_cannot_encode(tmp_path):
    """Issue 22: a non-UTF-8 file name under a UTF-8 terminal ended in a
    UnicodeEncodeError after the work."""
    import shutil as _shutil
    import subprocess
    import sys

    name = os.fsdecode(b"caf\xe9.h5")  # a Latin-1 name: surrogate escapes
    _shutil.copy(FIXTURES / "stacked.h5", tmp_path / name)
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "import", name],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        capture_output=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert b"caf\\udce9.h5: Keras 3.15.1 file" in out.stdout


def test_keras3_files_are_read_without_tensorflow():
    """Keras 3 files need neither Keras nor TensorFlow (the project's TF 2.12
    cannot read them): nothing of either is imported."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nengo_lmu.interop import load_model_file\n"
        f"net, model = load_model_file({str(FIXTURES / 'stacked.keras')!r})\n"
        "assert model is None and len(net.lmus) == 2\n"
        "print([m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'keras_lmu', 'nengo_dl')])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
