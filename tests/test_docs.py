import pathlib
import subprocess
import sys

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    """The Sphinx docs build with warnings as errors (plots included)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "html" / "theory.html").exists()
