"""The repository's own formatter and linter settings (pyproject.toml) hold."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGETS = ["nengo_lmu", "tests", "examples", "docs/conf.py", "setup.py"]


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_black_formatting():
    out = _run("black", "--check", "--quiet", *TARGETS)
    assert out.returncode == 0, "run `black .`:\n" + out.stdout + out.stderr


def test_ruff_lint():
    out = _run("ruff", "check", "--no-cache", *TARGETS)
    assert out.returncode == 0, "run `ruff check --fix .`:\n" + out.stdout + out.stderr
