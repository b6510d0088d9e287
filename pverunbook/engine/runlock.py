"""One process per journal and per state dir: an OS lock held for the life of a run.

Two processes writing one journal interleave their events, and a ``run --resume`` of a run that
is still running decides from a journal the first process is still writing — it ran a
destructive step a second time. Two rehearsals on one ``--state-dir`` lose each other's
changes. So whoever writes a journal or a state dir holds an exclusive ``flock(2)`` on a lock
file beside it (``<journal>.lock``, ``<state dir>/.lock``) for as long as it writes; a second
process is refused at once, told who holds it (pid, host, since when). The kernel drops the
lock when the holder exits, however it exits (SIGKILL included), so a crashed run never
leaves a stale lock behind: the file may stay, the lock does not.

Within one process the lock is counted, not exclusive: the resume path takes it before it
reads the journal, and the journal writer takes it again when it opens.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from pathlib import Path

__all__ = ["LockHeld", "RunLock", "hold", "lock_path_for"]


class LockHeld(OSError):
    """Another process holds the lock; the message names it and what to do."""


def lock_path_for(path: Path) -> Path:
    """The lock file of a journal (``X.jsonl.lock``) or of a directory (``DIR/.lock``)."""
    return path / ".lock" if path.is_dir() else path.with_name(path.name + ".lock")


_HELD: dict[str, tuple[int, int]] = {}  # lock file → (fd, count) held by this process
_GUARD = threading.Lock()


class RunLock:
    """A held lock; :meth:`release` once (also as a context manager)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        with _GUARD:
            fd, count = _HELD[self.key]
            if count > 1:
                _HELD[self.key] = (fd, count - 1)
                return
            del _HELD[self.key]
            # Unlink while still holding it: a process waiting on the old file sees the inode
            # change and retries on a fresh one (see hold()).
            with contextlib.suppress(OSError):
                os.unlink(self.key)
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(path: Path, what: str) -> RunLock:
    """Take the lock of ``path`` (a journal file or a directory) or raise :class:`LockHeld`.

    ``what`` names the thing in the message ("journal", "state dir")."""
    lock = lock_path_for(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.abspath(lock)
    with _GUARD:
        if key in _HELD:
            fd, count = _HELD[key]
            _HELD[key] = (fd, count + 1)
            return RunLock(key)
        for _ in range(20):
            fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise LockHeld(
                    f"{what} {path} is in use by {holder}; wait for that run to finish or stop "
                    f"it (Ctrl-C in its terminal, or `kill PID`) — only one process may write "
                    f"a {what} at a time (lock: {key})") from None
            except OSError:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(key).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder released and unlinked it between our open and flock
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": time.time()}).encode() + b"\n")
            _HELD[key] = (fd, 1)
            return RunLock(key)
    raise LockHeld(f"{what} {path}: its lock file {key} keeps changing; check what else "
                   "writes there")


def _holder(fd: int) -> str:
    """'pid 123 on host pve-admin since 2026-12-06 14:15:36 UTC', from the lock file."""
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode("utf-8"))
        pid, host, since = int(info["pid"]), str(info["host"])[:64], float(info["since"])
    except (OSError, ValueError, KeyError, TypeError, OverflowError):
        return "another process (it has not said which yet)"
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    return f"pid {pid} on host {host} since {when}"
