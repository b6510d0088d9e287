"""A cancelled off-loop call ends quietly: the helper is killed and nothing is printed.

When the caller of :func:`pverunbook.engine.offloop.call` is cancelled (Ctrl-C, SIGTERM, the
app closing while a verdict runs) the helper process is killed under the request, so the thread
waiting on its pipe ends with ``OffLoopError("the helper process ended (EOFError)")``. Nobody
awaits that thread's future any more; left unread, asyncio logged it as "Future exception was
never retrieved" with a traceback on the operator's terminal when the app exited. Here the
event loop's exception handler records whatever asyncio would have printed.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import time
from typing import Any

from pverunbook.engine import offloop


def _cancel_a_call_in_flight(reported: list[dict[str, Any]]) -> subprocess.Popen[bytes]:
    """Start a long call, cancel its caller while the helper runs it, and let the loop close
    (``asyncio.run`` waits for the executor's threads). Returns the helper process it ran in."""

    async def main() -> subprocess.Popen[bytes]:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(context))
        await offloop.call(os.getpid)  # the helper is up, so the next call goes straight to it
        proc = offloop._WORKER.proc
        assert proc is not None
        task = asyncio.create_task(offloop.call(time.sleep, 3600.0))
        for _ in range(3000):  # until the request is with the helper (bounded)
            if offloop._WORKER.lock.locked():
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the call never reached the helper")
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the call was not cancelled")
        return proc

    proc = asyncio.run(main())
    gc.collect()  # an unread future reports itself when collected
    return proc


def test_a_cancelled_call_kills_the_helper_and_logs_nothing() -> None:
    reported: list[dict[str, Any]] = []
    proc = _cancel_a_call_in_flight(reported)
    assert proc.poll() is not None, "the helper outlived the cancelled call"
    assert not reported, [c.get("message") for c in reported]


def test_the_next_call_after_a_cancelled_one_starts_a_fresh_helper() -> None:
    reported: list[dict[str, Any]] = []
    killed = _cancel_a_call_in_flight(reported)

    async def pid() -> int:
        value: int = await offloop.call(os.getpid)
        return value

    assert asyncio.run(pid()) not in (os.getpid(), killed.pid)
