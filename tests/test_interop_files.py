"""Model files of either kind (nengo_lmu.interop.files.load_model_file)."""

import os

import nengo
import numpy as np
import pytest
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


@pytest.fixture(scope="module")
def keras_model():
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([
        tf.keras.Input((12, 2)),
        keras_lmu.LMU(1, 4, 10, tf.keras.layers.SimpleRNNCell(5),
                      return_sequences=True),
        tf.keras.layers.Dense(3),
    ])
    return model


@pytest.mark.parametrize("name", ["model.h5", "model.keras", "saved_model_dir"])
def test_keras_files_in_every_format(keras_model, tmp_path, name):
    path = tmp_path / name
    keras_model.save(path)
    net, model = load_model_file(path, dt=DT)
    assert model is not None and len(net.lmus) == 1
    assert net.lmus[0].theta == pytest.approx(10 * DT)
    x = np.random.RandomState(0).uniform(-1, 1, size=(12, 2)).astype(np.float32)
    expected = keras_model(x[None]).numpy()[0]
    assert np.allclose(run(net, x), expected, atol=1e-5)


def test_paper_file_is_read_without_keras(tmp_path):
    rng = np.random.RandomState(2)
    cell, dense = paper_weights(rng)
    path = write_paper_file(tmp_path / "paper.hdf5", cell, dense)
    net, model = load_model_file(str(path), dt=DT)
    assert model is None
    x = rng.uniform(-1, 1, size=(1, PAPER_STEPS, PAPER_D))
    assert np.allclose(run(net, x[0]), paper_reference(x, cell, dense)[0], atol=1e-4)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="missing.h5: no such file"):
        load_model_file(tmp_path / "missing.h5")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with pytest.raises(ValidationError, match="neither an LMU-paper model file"):
        load_model_file(notes)
    with pytest.raises(ValidationError, match="dt"):
        load_model_file(notes, dt=0)
