import subprocess
import sys

import pytest

from nengo_lmu.cli import main


def test_delay_command_prints_errors_and_writes_png(capsys, tmp_path):
    png = tmp_path / "delay.png"
    assert main(["delay", "--duration", "4", "--output", str(png)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()
            and len(line.split()) == 3]
    assert [float(r[0]) for r in rows] == [0.25, 0.5, 1.0]
    spiking, exact = float(rows[-1][1]), float(rows[-1][2])
    assert exact < 0.05 and spiking < 0.2  # delay of theta
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_delay_command_dl_backend(capsys):
    assert main(["delay", "--duration", "2", "--backend", "dl", "--output", ""]) == 0
    assert "NRMSE" in capsys.readouterr().out


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "nengo " in out and "nengo_dl" in out


@pytest.mark.parametrize("option", ["--order=0", "--theta=-1", "--theta=nan",
                                    "--order=2.5", "--bogus=1", "--backend=gpu",
                                    "--neuron-type=Tanh"])
def test_bad_options_exit_2_with_one_line(option):
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "delay", option],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "error:" in out.stderr.splitlines()[-1]


def test_library_errors_exit_2_without_traceback():
    # theta shorter than a time step: a ValidationError from the library
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "delay", "--theta=1e-9", "--output="],
        capture_output=True, text=True,
    )
    assert out.returncode == 2, out.stderr[-500:]
    assert "Traceback" not in out.stderr


def test_import_command(tmp_path, capsys):
    import keras_lmu
    import numpy as np
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((784, 1)),
        keras_lmu.LMU(1, 4, 784, tf.keras.layers.SimpleRNNCell(5)),
        tf.keras.layers.Dense(10),
    ])
    path = tmp_path / "model.h5"
    model.save(path)
    assert main(["import", str(path), "--n-test", "10"]) == 0
    out = capsys.readouterr().out
    assert "Keras model with 1 LMU layer" in out
    diff = float(out.split("max |output difference| ")[1].split()[0])
    assert diff < 1e-4
    # not a psMNIST classifier: built, not evaluated
    other = tf.keras.Sequential([tf.keras.Input((5, 2)),
                                 keras_lmu.LMU(1, 4, 5, None, input_to_hidden=False)])
    other(np.zeros((1, 5, 2), dtype=np.float32))
    other.save(tmp_path / "other.h5")
    assert main(["import", str(tmp_path / "other.h5")]) == 0
    assert "not evaluated" in capsys.readouterr().out
    bad = tmp_path / "notes.txt"
    bad.write_text("not a model")
    assert main(["import", str(bad)]) == 2
    assert main(["import", str(tmp_path / "missing.h5")]) == 2


def test_psmnist_command_quick(tmp_path, capsys):
    args = ["psmnist", "--quick", "--epochs", "1", "--order", "16", "--units", "16",
            "--output-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("test accuracy")][0]
    rate = float(line.split("rate ")[1].split(",")[0])
    spiking = float(line.split("spiking ")[1])
    assert 0 <= spiking <= 1 and rate > 0.1  # above chance after one epoch
    assert (tmp_path / "psmnist_params.npz").exists()
    assert (tmp_path / "psmnist_training.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_tasks_and_interop_import_light():
    """The command line, the tasks and the importers import no heavy backend
    until a command or function needs one."""
    code = (
        "import sys, nengo_lmu.cli, nengo_lmu.tasks, nengo_lmu.interop\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'nengo_dl', 'nengo_loihi', 'keras', 'keras_lmu', "
        "'matplotlib', 'mlxtend', 'h5py')]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
