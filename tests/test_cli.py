import subprocess
import sys

import pytest

from nengo_lmu.cli import main


def test_delay_command_prints_errors(capsys):
    assert main(["delay", "--duration", "5"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [float(r[0]) for r in rows] == [0.0, 0.25, 0.5, 1.0]
    assert float(rows[-1][1]) < 0.02  # the delay of theta, exact system


@pytest.mark.parametrize("option", ["--order=0", "--theta=-1", "--theta=nan",
                                    "--order=2.5", "--bogus=1"])
def test_bad_options_exit_2_with_one_line(option):
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "delay", option],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "error:" in out.stderr.splitlines()[-1]
