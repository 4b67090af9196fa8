"""Output files written whole or not at all (nengo_lmu._atomic), their mode,
read-only targets and symbolic links (issue 22)."""

import os
import stat

import pytest
from nengo.exceptions import ValidationError

from nengo_lmu._atomic import replaced_atomically
from nengo_lmu._validation import check_input_path, check_output_file


def write(path, text):
    with replaced_atomically(path, ".txt") as tmp:
        with open(tmp, "w", encoding="utf8") as f:
            f.write(text)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_get_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        write(tmp_path / "out.txt", "new")
        with open(tmp_path / "plain.txt", "w", encoding="utf8") as f:
            f.write("reference")  # what open() gives under this umask
    finally:
        os.umask(old)
    assert mode(tmp_path / "out.txt") == mode(tmp_path / "plain.txt") == 0o666 & ~umask


def test_replaced_files_keep_their_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    write(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640


def test_read_only_files_are_not_replaced(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o444)
    with pytest.raises(ValidationError, match="read-only"):
        check_output_file(path, "output", (".txt",))
    with pytest.raises(PermissionError, match="read-only"):
        write(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_symbolic_links_are_written_through(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert check_output_file(link, "output", (".txt",)) == str(link)
    write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"


def test_named_pipes_are_refused_as_input(tmp_path):
    fifo = tmp_path / "model.h5"
    os.mkfifo(fifo)
    with pytest.raises(ValidationError, match="not a regular file"):
        check_input_path(fifo, "path")
