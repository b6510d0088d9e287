"""Read a file the operator names: regular files only, never more than a cap.

``validate`` on a FIFO blocked forever waiting for a writer, ``vm-config --from-cmdline
/dev/zero`` read until memory ran out. Every file input goes through :func:`read_capped` (or
:func:`open_regular`): the path is opened without blocking (``O_NONBLOCK``: opening a FIFO
with no writer returns at once), anything but a regular file is refused by what it is, and at
most ``cap`` bytes are read — more is refused as "not the file you meant".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["kind_of", "open_regular", "read_capped"]


def kind_of(mode: int) -> str:
    """'a directory', 'a FIFO (named pipe)', 'a character device', … for ``st_mode``."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """The file opened for binary reading; OSError (strerror says what to do) otherwise.

    A FIFO, device, socket or directory is refused before anything is read from it."""
    p = Path(path)
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
            raise OSError(code, f"is {kind_of(mode)}, not a regular file", str(p))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | os.PathLike[str], cap: int, what: str = "file") -> bytes:
    """At most ``cap`` bytes of a regular file; OSError (EFBIG) when it holds more."""
    with open_regular(path, what) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise OSError(errno.EFBIG, f"is larger than {_size(cap)}, more than any {what}; is "
                                   "this the right file?", str(path))
    return data


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1 << 10 else f"{n} B"
