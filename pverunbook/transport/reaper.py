"""Local commands die with pverunbook, however pverunbook dies (SIGTERM, SIGHUP, SIGKILL).

``LocalTransport`` starts each command in a session of its own, so a timeout can kill the whole
process group (``sh -c`` and the ``sleep`` it started). The price: signals sent to pverunbook's
own group (Ctrl-C, a closed terminal) do not reach the command, and when pverunbook is killed
with SIGKILL nothing of it runs to clean up. ``PR_SET_PDEATHSIG`` would only cover the ``sh``
itself: the flag is cleared for the processes it forks (prctl(2)).

So a small watcher process, started once per pverunbook process in a session of its own, holds
the read end of a pipe whose only write end is pverunbook's (close-on-exec: no command inherits
it). pverunbook tells it ``+PGID`` when a command starts and ``-PGID`` when it has ended. When the
pipe reaches end-of-file, pverunbook is gone, whatever the way (the kernel closes the write end
even on SIGKILL), and the watcher kills every group still registered: SIGTERM, then SIGKILL a
second later for those that ignore it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading

#: The watcher's program (run with ``python -c``): read registrations until EOF, then kill.
WATCHER = r"""
import os, signal, sys, time
for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    try:
        pgid = int(line[1:])
    except ValueError:
        continue
    if line[:1] == b"+":
        groups.add(pgid)
    elif line[:1] == b"-":
        groups.discard(pgid)
if groups:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for g in groups:
            try:
                os.killpg(g, sig)
            except OSError:
                pass
        if sig == signal.SIGTERM:
            time.sleep(1.0)
"""


class GroupReaper:
    """Registers process groups to be killed if this process dies first (see module doc)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0  # the process that started the watcher (a fork must start its own)
        self._lock = threading.Lock()

    def _pipe(self) -> int | None:
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", WATCHER], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True, close_fds=True)
            except OSError:
                self._proc = None
                return None
            self._pid = os.getpid()
        assert self._proc.stdin is not None
        return self._proc.stdin.fileno()

    def _send(self, op: str, pgid: int) -> None:
        with self._lock:
            fd = self._pipe()
            if fd is None:
                return  # best effort: without a watcher the command still runs
            with contextlib.suppress(OSError):
                os.write(fd, f"{op}{pgid}\n".encode())

    def register(self, pgid: int) -> None:
        """Kill group ``pgid`` if this process dies before ``unregister(pgid)``."""
        self._send("+", pgid)

    def unregister(self, pgid: int) -> None:
        self._send("-", pgid)

    @property
    def watcher_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None


#: One per process: every LocalTransport shares it.
REAPER = GroupReaper()
