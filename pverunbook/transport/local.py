"""Run commands on this machine: the ``--local`` target and the engine's own tests."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from pverunbook.inventory import Node
from pverunbook.transport.base import (
    ByteSink,
    CommandResult,
    OutputCallback,
    Transport,
    TransportError,
)
from pverunbook.transport.reaper import REAPER


async def _pump(stream: asyncio.StreamReader | None, name: str, on_output: OutputCallback) -> None:
    if stream is None:
        return
    # Incremental: a multi-byte character split by the 64 KiB read is decoded whole (a secret
    # with non-ASCII characters must not turn into something redaction no longer recognises).
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            tail = decoder.decode(b"", final=True)
            if tail:
                on_output(name, tail)
            return
        text = decoder.decode(chunk)
        if text:
            on_output(name, text)


class LocalTransport(Transport):
    mode = "local"

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        start = time.monotonic()
        # A new session makes the command a process group we can kill whole: `sleep` started by
        # `sh -c` must not outlive a timeout.
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        REAPER.register(proc.pid)  # killed with pverunbook, even on SIGKILL (see reaper.py)
        pumps = asyncio.gather(_pump(proc.stdout, "stdout", on_output),
                               _pump(proc.stderr, "stderr", on_output))
        try:
            async with asyncio.timeout(timeout):
                await pumps
                status = await proc.wait()
        except TimeoutError:
            await self._kill(proc, pumps)
            return CommandResult(None, time.monotonic() - start, timed_out=True)
        except asyncio.CancelledError:
            await self._kill(proc, pumps)
            raise
        finally:
            REAPER.unregister(proc.pid)
        return CommandResult(status, time.monotonic() - start)

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink: ByteSink) -> tuple[CommandResult, str]:
        start = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        REAPER.register(proc.pid)
        try:
            return await self._stream(proc, start, idle_timeout, sink)
        finally:
            REAPER.unregister(proc.pid)

    async def _stream(self, proc: asyncio.subprocess.Process, start: float, idle_timeout: float,
                      sink: ByteSink) -> tuple[CommandResult, str]:
        err: list[str] = []
        loop = asyncio.get_running_loop()
        async with contextlib.AsyncExitStack() as stack:
            deadline = await stack.enter_async_context(asyncio.timeout(idle_timeout))

            async def raw() -> None:
                assert proc.stdout is not None
                while chunk := await proc.stdout.read(1 << 20):
                    deadline.reschedule(loop.time() + idle_timeout)
                    if (wait := sink(chunk)) is not None:
                        await wait

            pumps = asyncio.gather(raw(), _pump(proc.stderr, "stderr",
                                                lambda _n, text: err.append(text)))
            try:
                await pumps
                status = await proc.wait()
            except BaseException:
                await self._kill(proc, pumps)
                if not deadline.expired():
                    raise
                return CommandResult(None, time.monotonic() - start, timed_out=True), "".join(err)
        return CommandResult(status, time.monotonic() - start), "".join(err)

    @staticmethod
    async def _kill(proc: asyncio.subprocess.Process, pumps: asyncio.Future[Any]) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                async with asyncio.timeout(2):
                    await proc.wait()
                break
            except TimeoutError:
                continue
        pumps.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pumps

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.to_thread(Path(path).read_bytes)
        except TimeoutError as exc:
            raise TransportError(node.name, f"reading {path} timed out after {timeout:g}s") from exc
        except OSError as exc:
            raise TransportError(node.name, f"cannot read {path}: {exc.strerror}") from exc

    async def write_file(self, node: Node, path: str, data: bytes, *, mode: int | None = None,
                         timeout: float) -> None:
        def write() -> None:
            target = Path(path)
            tmp = target.with_name(f".{target.name}.pverunbook-tmp")
            # Created with its final mode: a restored private key is never briefly world-readable.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if mode is None:
                try:
                    keep = target.stat().st_mode & 0o7777
                except FileNotFoundError:
                    keep = 0o644
            os.chmod(tmp, keep if mode is None else mode)
            os.replace(tmp, target)

        try:
            async with asyncio.timeout(timeout):
                await asyncio.to_thread(write)
        except TimeoutError as exc:
            raise TransportError(node.name, f"writing {path} timed out after {timeout:g}s") from exc
        except OSError as exc:
            raise TransportError(node.name, f"cannot write {path}: {exc.strerror}") from exc
