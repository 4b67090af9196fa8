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
