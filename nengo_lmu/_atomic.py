"""Output files that are either written whole or not at all."""

import contextlib
import errno
import os
import stat
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replaced_atomically(path, suffix=""):
    """Yield a temporary file name next to ``path`` (ending in ``suffix``);
    when the block ends normally, the file replaces ``path`` in one step.

    On an error or an interrupt (Ctrl-C) the temporary file is removed and
    ``path`` is left as it was: nothing half-written stays behind.

    The new file gets the mode of the file it replaces, or for a new file the
    mode the umask allows (as ``open(path, "w")`` would give), not
    ``mkstemp``'s 0600. A symbolic link is written through (its target is
    replaced, the link stays). A read-only file is not replaced
    (PermissionError).
    """
    # through a symbolic link: its target is replaced and the link stays
    path = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(path)
    if os.path.isfile(path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if not mode & 0o222:
            raise PermissionError(
                errno.EACCES,
                "is read-only; not replaced (make it writable first)",
                path,
            )
    else:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{suffix}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)  # mkstemp's 0600 -> the old file's mode, or the umask's
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
