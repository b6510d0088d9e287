"""Run a pure function over node output in a helper process, with a time limit.

Why a process and not a thread: a verdict reads text a node printed, and a parser that is slow
on some text (a regular expression that backtracks) runs inside the ``re`` module's C code,
which never lets go of the GIL. In a thread it would still freeze the event loop — no
Ctrl-C, no SIGTERM, no screen — for as long as it runs. In a process it costs only itself:
the event loop waits on a pipe, and when the time limit passes or the run is stopped the
process is killed and the step goes on with "could not judge in time".

One helper process serves the whole program (started on first use, killed when it overruns,
is cancelled, or the program exits). Requests and answers are pickles over its stdin/stdout;
the helper is this package's own code, started from ``sys.executable`` with the parent's
``sys.path``, and only ever runs module-level functions the engine names.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

#: How long a verdict may take before the step goes on without it. Generous: the parsers are
#: linear (tests/unit/pve/test_parser_time.py), so only a parser bug ever gets near it.
TIME_LIMIT_S = 20.0

_HEADER = struct.Struct("!Q")


class OffLoopTimeout(Exception):
    """The function did not answer within its time limit (its process was killed)."""


class OffLoopError(Exception):
    """The function raised in the helper process (the text says what), or the helper died."""


class _Worker:
    """The helper process and a lock so one request is in flight at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        return subprocess.Popen(
            [sys.executable, "-m", "pverunbook.engine.offloop"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
            start_new_session=True)  # Ctrl-C on the terminal goes to us; we kill it

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            proc = self.proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                _send(proc.stdin, (fn, args))
                ok, value = _receive(proc.stdout)
            except (OSError, EOFError, pickle.UnpicklingError, struct.error) as exc:
                self.kill(proc)
                raise OffLoopError(f"the helper process ended ({type(exc).__name__})") from exc
            if not ok:
                raise OffLoopError(value)
            return value

    def kill(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        proc = proc or self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if proc is self.proc:
            self.proc = None


_WORKER = _Worker()
atexit.register(_WORKER.kill)


def warm(*modules: str) -> None:
    """Start the helper now, in the background, and have it import ``modules``: a run whose
    steps have verdicts calls this as it starts, so its first verdict does not also wait for
    a Python to start and import the parsers (a tenth to a few tenths of a second). Returns
    at once; an error here is the first real call's to report."""
    def start() -> None:
        with contextlib.suppress(OffLoopError, OSError):
            for name in modules:
                _WORKER.call(importlib.import_module, (name,))

    if _WORKER.proc is None or _WORKER.proc.poll() is not None:
        threading.Thread(target=start, name="offloop-warm", daemon=True).start()


async def call(fn: Callable[..., Any], *args: Any, time_limit: float = TIME_LIMIT_S) -> Any:
    """``fn(*args)`` in the helper process; :class:`OffLoopTimeout` after ``time_limit``.

    ``fn`` must be a module-level function (it is pickled by name). If the caller is cancelled
    (Ctrl-C, SIGTERM) the helper is killed at once, so nothing outlives the run."""
    proc_before = _WORKER.proc
    fut = asyncio.get_running_loop().run_in_executor(None, _WORKER.call, fn, args)
    try:
        return await asyncio.wait_for(asyncio.shield(fut), time_limit)
    except TimeoutError:
        _WORKER.kill(_WORKER.proc or proc_before)
        await asyncio.gather(fut, return_exceptions=True)
        raise OffLoopTimeout(f"no answer within {time_limit:g} s") from None
    except asyncio.CancelledError:
        _WORKER.kill(_WORKER.proc or proc_before)
        fut.add_done_callback(_read_outcome)
        raise


def _read_outcome(fut: asyncio.Future[Any]) -> None:
    """Read the outcome of a call whose caller was cancelled, so nobody is told about it.

    The caller is gone (a stopped run, an app that closed mid-verdict) and the helper was
    killed under the request, so the thread still waiting on the pipe ends with
    :class:`OffLoopError` ("the helper process ended"). Unread, asyncio prints that as "Future
    exception was never retrieved" with a traceback when the future is collected, which is
    noise on the terminal the operator just left: the end was ours and expected."""
    if not fut.cancelled():
        fut.exception()


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _receive(stream: IO[bytes]) -> Any:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))  # noqa: S301 - our own helper process


def _serve() -> None:
    """The helper's loop: read (function, args), answer (True, result) or (False, why)."""
    inp: IO[bytes] = sys.stdin.buffer
    out: IO[bytes] = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    while True:
        try:
            fn, args = _receive(inp)
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - the parent reports it
            answer = (False, f"{type(exc).__name__}: {exc}")
        try:
            _send(out, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _send(out, (False, f"the answer could not be sent back ({exc})"))


if __name__ == "__main__":
    _serve()
