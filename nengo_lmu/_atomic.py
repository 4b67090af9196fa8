"""Output files that are either written whole or not at all."""

import contextlib
import os
import stat
import tempfile

from nengo_lmu._validation import is_read_only


def _umask():
    """The process's umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replaced_atomically(path, suffix=""):
    """Yield a temporary file name next to ``path`` (ending in ``suffix``);
    when the block ends normally, the file replaces ``path`` in one step.

    On an error or an interrupt (Ctrl-C) the temporary file is removed and
    ``path`` is left as it was: nothing half-written stays behind.

    * The new file gets the mode a plain ``open(path, "w")`` would give it:
      ``0o666`` less the umask for a new file, the old file's mode when it
      replaces one.
    * A read-only ``path`` is refused (PermissionError) before the block runs.
    * A symbolic link is written through: the file it points to is replaced
      and the link stays.
    """
    path = os.path.realpath(os.fspath(path))  # through symbolic links
    folder, name = os.path.split(path)
    mode = 0o666 & ~_umask()
    if os.path.lexists(path):
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(f"{path} exists and is not a regular file")
        if is_read_only(path):
            raise PermissionError(f"{path} is read-only; it is not replaced")
        mode = stat.S_IMODE(info.st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{suffix}", dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, mode)
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
