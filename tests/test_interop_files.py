"""Model files of either kind (nengo_lmu.interop.files.load_model_file)."""

import os

import numpy as np
import pytest
from helpers import run_network
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras_lmu  # noqa: E402
import tensorflow as tf  # noqa: E402
from test_interop_paper import (  # noqa: E402
    PAPER_D,
    PAPER_STEPS,
    paper_reference,
    paper_weights,
    write_paper_file,
)

from nengo_lmu.interop import load_model_file  # noqa: E402

DT = 0.001


@pytest.fixture(scope="module")
def keras_model():
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((12, 2)),
            keras_lmu.LMU(
                1, 4, 10, tf.keras.layers.SimpleRNNCell(5), return_sequences=True
            ),
            tf.keras.layers.Dense(3),
        ]
    )
    return model


def save(model, path):
    """Keras 2.12's formats: HDF5 (.h5, and .keras by default), the Keras v3 zip
    (named v3.keras here) and a SavedModel folder."""
    model.save(path, save_format="keras_v3" if path.name == "v3.keras" else None)


@pytest.mark.parametrize(
    "name", ["model.h5", "model.keras", "v3.keras", "saved_model_dir"]
)
def test_keras_files_in_every_format(keras_model, tmp_path, name):
    path = tmp_path / name
    save(keras_model, path)
    net, model = load_model_file(path, dt=DT)
    assert model is not None and len(net.lmus) == 1
    assert net.lmus[0].theta == pytest.approx(10 * DT)
    x = np.random.RandomState(0).uniform(-1, 1, size=(12, 2)).astype(np.float32)
    expected = keras_model(x[None]).numpy()[0]
    assert np.allclose(run_network(net, x), expected, atol=1e-5)


def test_paper_file_is_read_without_keras(tmp_path):
    rng = np.random.RandomState(2)
    cell, dense = paper_weights(rng)
    path = write_paper_file(tmp_path / "paper.hdf5", cell, dense)
    net, model = load_model_file(str(path), dt=DT)
    assert model is None
    x = rng.uniform(-1, 1, size=(1, PAPER_STEPS, PAPER_D))
    assert np.allclose(
        run_network(net, x[0]), paper_reference(x, cell, dense)[0], atol=1e-4
    )


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="missing.h5: no such file"):
        load_model_file(tmp_path / "missing.h5")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with pytest.raises(ValidationError, match="neither an LMU-paper model file"):
        load_model_file(notes)
    with pytest.raises(ValidationError, match="dt"):
        load_model_file(notes, dt=0)


# --- damaged Keras files in every format Keras 2.12 writes: property tests ------

import json  # noqa: E402
import shutil  # noqa: E402
import zipfile  # noqa: E402

import h5py  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from robustness import record, tally  # noqa: E402
from test_interop_paper import JSON_VALUES, json_paths, json_type, replace_at  # noqa

KERAS_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORMATS = ["model.h5", "model.keras", "v3.keras", "saved_model_dir"]


@pytest.fixture(scope="module")
def saved(keras_model, tmp_path_factory):
    """The model saved in each format: {name: path}."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for name in FORMATS:
        save(keras_model, folder / name)
        paths[name] = folder / name
    return paths


def outcome(path, kind):
    """load_model_file: "refused" (ValidationError naming the file) or "read";
    anything else fails the test."""
    try:
        net, _ = load_model_file(path, dt=DT)
    except ValidationError as err:
        assert str(path) in str(err) and "\n" not in str(err), err
        record(kind, "refused")
        return "refused"
    assert len(net.lmus) == 1
    record(kind, "read")
    return "read"


def damage(data, op, where, mask):
    where = int(where * len(data))
    if op == "cut":
        return data[:where]
    data = bytearray(data)
    data[where] ^= mask
    return bytes(data)


def files_of(path):
    return (
        sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    )


@settings(max_examples=40, **KERAS_SETTINGS)
@given(
    fmt=st.sampled_from(FORMATS),
    op=st.sampled_from(["cut", "flip"]),
    which=st.floats(0, 1, exclude_max=True),
    where=st.floats(0, 1, exclude_max=True),
    mask=st.integers(1, 255),
)
def damaged_keras_files(saved, tmp_path, fmt, op, which, where, mask):
    source = saved[fmt]
    target = tmp_path / f"damaged_{fmt}"
    if target.is_dir():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    members = files_of(target)
    victim = members[int(which * len(members))]
    victim.write_bytes(damage(victim.read_bytes(), op, where, mask))
    result = outcome(target, f"keras file {op}")
    if op == "cut" and fmt != "saved_model_dir":
        assert result == "refused"


def keras_config(path):
    """The model configuration stored in an .h5 or .keras file."""
    if not zipfile.is_zipfile(path):
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs["model_config"])
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def write_keras_config(source, target, config):
    if not zipfile.is_zipfile(source):
        shutil.copy(source, target)
        with h5py.File(target, "a") as f:
            f.attrs["model_config"] = json.dumps(config)
        return
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(config).encode()
            new.writestr(item, data)


@settings(max_examples=60, **KERAS_SETTINGS)
@given(fmt=st.sampled_from(["model.h5", "v3.keras"]), data=st.data())
def keras_configs_with_wrong_types(saved, tmp_path, fmt, data):
    source = saved[fmt]
    config = keras_config(source)
    path, old = data.draw(st.sampled_from(list(json_paths(config))))
    new = data.draw(JSON_VALUES.filter(lambda v: json_type(v) != json_type(old)))
    target = tmp_path / f"typed_{fmt}"
    write_keras_config(source, target, replace_at(config, path, new))
    try:
        outcome(target, "keras config")
    except AssertionError:
        raise AssertionError(f"replacing {path} with {new!r}") from None


def test_damaged_keras_files_are_refused_or_read(saved, tmp_path):
    """A saved model (each format) cut short or with a flipped byte: a
    ValidationError naming the file, or a network; a cut file (but for a
    SavedModel folder) is refused. At least 12 cases of each (measured: 22
    cuts and 18 flips of the 40, half the flips read)."""
    with tally("keras file cut", "keras file flip", minimum=12) as seen:
        damaged_keras_files(saved=saved, tmp_path=tmp_path)
    assert seen["keras file flip", "refused"] and seen["keras file flip", "read"], seen


def test_keras_configs_with_wrong_types_are_refused_or_read(saved, tmp_path):
    """Any value in a saved model's configuration replaced by one of another
    type: refused or read, never another exception. All 60 cases tried
    (measured: 44 refused, 16 read)."""
    with tally("keras config", minimum=60) as seen:
        keras_configs_with_wrong_types(saved=saved, tmp_path=tmp_path)
    assert seen["keras config", "refused"] and seen["keras config", "read"], seen
