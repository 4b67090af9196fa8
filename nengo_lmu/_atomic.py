"""Output files that are either written whole or not at all."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def replaced_atomically(path, suffix=""):
    """Yield a temporary file name next to ``path`` (ending in ``suffix``);
    when the block ends normally, the file replaces ``path`` in one step.

    On an error or an interrupt (Ctrl-C) the temporary file is removed and
    ``path`` is left as it was: nothing half-written stays behind.
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{suffix}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
