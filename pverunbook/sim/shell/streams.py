"""Byte streams between emulated commands: pipes, buffers, files, the SSH channel.

Commands write through ``await out.write(data)`` so output reaches the SSH client as it is
produced; a pipe whose reader has gone raises BrokenPipeError like SIGPIPE would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Output:
    async def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class Input:
    async def read(self, n: int = -1) -> bytes:
        raise NotImplementedError

    async def readline(self) -> bytes:
        buf = bytearray()
        while True:
            c = await self.read(1)
            if not c:
                return bytes(buf)
            buf += c
            if c == b"\n":
                return bytes(buf)

    async def read_all(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            c = await self.read(65536)
            if not c:
                return b"".join(chunks)
            chunks.append(c)


class NullOutput(Output):
    async def write(self, data: bytes) -> None:
        return None


class BufferOutput(Output):
    def __init__(self) -> None:
        self.buf = bytearray()

    async def write(self, data: bytes) -> None:
        self.buf += data


class CallbackOutput(Output):
    """Forwards every write (used for the SSH channel)."""

    def __init__(self, fn: Callable[[bytes], Awaitable[None] | None]) -> None:
        self.fn = fn

    async def write(self, data: bytes) -> None:
        r = self.fn(data)
        if r is not None:
            await r


class BytesInput(Input):
    def __init__(self, data: bytes = b"") -> None:
        self.data = data
        self.pos = 0

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.data) - self.pos
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    async def readline(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk


class Pipe(Input, Output):
    """Unbounded in-memory pipe; EOF when the writer closes, EPIPE when the reader closes."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.eof = False
        self.reader_closed = False
        self.cond = asyncio.Condition()

    async def write(self, data: bytes) -> None:
        if self.reader_closed:
            raise BrokenPipeError
        async with self.cond:
            self.buf += data
            self.cond.notify_all()

    async def close(self) -> None:
        async with self.cond:
            self.eof = True
            self.cond.notify_all()

    def close_reader(self) -> None:
        self.reader_closed = True

    async def read(self, n: int = -1) -> bytes:
        async with self.cond:
            while not self.buf and not self.eof:
                await self.cond.wait()
            if n < 0:
                n = len(self.buf)
            chunk = bytes(self.buf[:n])
            del self.buf[:n]
            return chunk

    async def readline(self) -> bytes:
        async with self.cond:
            while b"\n" not in self.buf and not self.eof:
                await self.cond.wait()
            i = self.buf.find(b"\n")
            end = len(self.buf) if i < 0 else i + 1
            chunk = bytes(self.buf[:end])
            del self.buf[:end]
            return chunk
