"""Stream a tree or a file off a node in one channel, verified, written as it arrives.

A checkpoint of ``/etc/pve`` or ``/var/lib/pve-cluster`` used to fetch one file at a time over
SFTP and hold each in memory: thousands of round trips for a tree of small files, and a large
SQLite copy held whole in RAM. Here the node runs one ``tar`` (or ``cat``).

A tree's archive is kept as it arrives, as one file, its members indexed and hashed on the way
(:mod:`.untar`: memory flat, one file created instead of one per file of the tree). Each
member's hash is compared with the node's own hash of that file, computed there while the
archive streams (checkpoints.py ``_files``, remote_files.py ``tree_sha``): a transfer that
broke or a torn copy differs and fails. tar itself reports a file that changed while it read
it (GNU tar exits 1, "file changed as we read it"); the caller then hashes the files on the
node again instead of trusting a torn copy.

A single file (the SQLite backup) is written straight to its place, its stream ``tee``'d on
the node into a SHA-256 (``openssl dgst``, or coreutils ``sha256sum`` where there is no
openssl) and hashed here from the very bytes received.

Where the node cannot do this (no ``tar``, no ``/dev/fd``, a transport without raw streaming),
:class:`StreamUnavailable` is raised and the caller falls back to reading file by file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from pverunbook.engine import untar
from pverunbook.engine.untar import Stored, mkdir_private
from pverunbook.inventory import Node
from pverunbook.transport.base import ByteSink, CommandResult, Transport, TransportError

__all__ = ["TOTAL_CAP", "Extracted", "Stored", "StreamFailed", "StreamUnavailable", "TooLarge",
           "fetch", "fetch_tree", "hashed_stream_command", "mkdir_private", "tar_bound",
           "tar_command"]

_EXIT_TAG = "pverunbook-exit"
_EXIT = re.compile(rf"^{_EXIT_TAG} (\d+)$", re.M)
#: coreutils ``sha256sum`` prints "<hex>  -", ``openssl dgst -r`` "<hex> *stdin".
_SHA = re.compile(r"^([0-9a-f]{64}) (?: -|\*stdin)$", re.M)
#: openssl's SHA-256 uses the CPU's SHA instructions (a sixth of coreutils' CPU time where
#: measured);
#: Proxmox VE always has it (pve-cluster debian/control: Depends openssl; Setup.pm runs it).
#: Where it is missing the shell fails to start it before it reads a byte, and sha256sum
#: reads the whole stream instead.
_HASHER = "{ openssl dgst -sha256 -r 2>/dev/null || sha256sum; }"


class StreamUnavailable(Exception):
    """This node/transport cannot stream an archive; read file by file instead."""


class StreamFailed(Exception):
    """The stream ran but its result cannot be trusted (timed out, hash differs, tar failed)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def hashed_stream_command(producer: str) -> str:
    """``producer``'s stdout goes to ours and through a SHA-256 to stderr, with its exit.

    POSIX sh: the producer's status is echoed to stderr (``pipefail`` is not POSIX), and
    ``tee /dev/fd/3`` copies the stream to the channel while the hasher reads the pipe.
    """
    return (f"{{ {{ {producer}; echo \"{_EXIT_TAG} $?\" >&2; }} | tee /dev/fd/3 | "
            f"{_HASHER} >&2; }} 3>&1")


def tar_command(path: str) -> str:
    """Archive ``path`` (absolute) relative to ``/``: member names are the path without '/'."""
    rel = path.strip("/") or "."
    return f"tar -cf - -C / -- {shlex.quote(rel)}"


class TooLarge(StreamFailed):
    """The node sent more than it declared (or than the cap): nothing of it is kept."""


def tar_bound(sizes: Mapping[str, int]) -> int:
    """The most bytes an honest ``tar`` of files with these sizes can be: each member's data
    rounded up to 512-byte blocks, its header plus room for a long-name (GNU/pax) header, and
    the end-of-archive blocks padded to tar's 10 KiB record."""
    blocks = sum((size + 511) // 512 + 8 for size in sizes.values())
    return (blocks + 2) * 512 + 10240 + 64 * 1024


async def fetch(transport: Transport, node: Node, producer: str, spool: Path, *,
                idle_timeout: float, progress: Callable[[], None] | None = None,
                ok_exits: tuple[int, ...] = (0,), limit: int | None = None) -> Stored:
    """Run ``producer`` on ``node`` hashed (see :func:`hashed_stream_command`) into ``spool``.

    ``spool`` is created 0600 and left in place (the caller keeps it). Returns the stream's
    sha256 and size, verified equal to the node's. Raises StreamUnavailable when the transport
    cannot stream or the node lacks a tool; StreamFailed when it ran but failed.
    """
    h = hashlib.sha256()
    size = 0
    fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def sink(data: bytes) -> None:
        nonlocal size
        h.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        size += len(data)

    try:
        result, err = await _stream(transport, node, producer, sink, idle_timeout=idle_timeout,
                                    progress=progress, limit=_Limit(limit))
    finally:
        os.close(fd)
    _judge(result, err, ok_exits)
    _compare(err, h.hexdigest())
    return Stored(h.hexdigest(), size)


@dataclass
class _Limit:
    """The most bytes a stream may bring (None: no limit); a tree's is set once the node's
    listing has arrived, which may be after the stream started."""

    bytes: int | None = None

    def exceeded(self) -> TooLarge:
        return TooLarge(f"the node sent more than the {self.bytes} bytes its own listing "
                        "allows; stopped and discarded")


async def _stream(transport: Transport, node: Node, producer: str, sink: ByteSink, *,
                  idle_timeout: float, progress: Callable[[], None] | None,
                  limit: _Limit, hashed: bool = True) -> tuple[CommandResult, str]:
    """``transport.stream`` of ``producer`` (with ``hashed``, through
    :func:`hashed_stream_command`) into ``sink``, stopped (TooLarge) past ``limit`` bytes;
    TransportError "cannot stream" becomes StreamUnavailable."""
    loop = asyncio.get_running_loop()
    inner: asyncio.Future[tuple[CommandResult, str]] | None = None
    over = False
    size = 0

    def counted(data: bytes) -> Awaitable[None] | None:
        nonlocal size, over
        if over:
            return None
        if limit.bytes is not None and size + len(data) > limit.bytes:
            # An endless stream in place of tar would grow without bound: stop it here.
            over = True
            if inner is not None:
                loop.call_soon_threadsafe(inner.cancel)
            return None
        size += len(data)
        if progress is not None:
            progress()
        return sink(data)

    me = asyncio.current_task()
    try:
        # In a task of its own, so an over-long stream can be stopped without cancelling us.
        command = hashed_stream_command(producer) if hashed else producer
        inner = asyncio.ensure_future(transport.stream(
            node, command, idle_timeout=idle_timeout, sink=counted))
        result, err = await inner
    except asyncio.CancelledError:
        if not over or (me is not None and me.cancelling()):
            raise
        raise limit.exceeded() from None
    except TransportError as exc:
        if "cannot stream" in exc.message:
            raise StreamUnavailable(exc.message) from exc
        raise
    if over:
        raise limit.exceeded()
    return result, err


async def _settle(job: asyncio.Future[untar.Result]) -> None:
    """Wait for the extracting thread to end (it stops at its next read once aborted), even
    through a second cancellation, which is raised again once it has."""
    cancelled = False
    while not job.done():
        try:
            await asyncio.wait({job})
        except asyncio.CancelledError:
            cancelled = True
    if not job.cancelled():
        job.exception()  # retrieved: its error is the caller's to report, not the loop's
    if cancelled:
        raise asyncio.CancelledError


def _compare(err: str, here: str) -> None:
    """The node's hash of the stream (last one printed) against ours."""
    remote = _SHA.findall(err)
    if not remote:
        raise StreamUnavailable("the node printed no sha256 of the stream (no sha256sum/tee?)")
    if remote[-1] != here:
        raise StreamFailed(f"the stream's sha256 differs between the node ({remote[-1][:12]}…) "
                           f"and this machine ({here[:12]}…): the transfer broke")


def _judge(result: CommandResult, err: str, ok_exits: tuple[int, ...],
           hashed: bool = True) -> int:
    """The producer's exit status, when the stream ran and it is one of ``ok_exits`` (with
    ``hashed``, as the stream command echoed it; otherwise the command's own)."""
    if result.timed_out:
        raise StreamFailed("no data arrived for too long (a hung file system?)", timed_out=True)
    if result.error or result.connection_lost or result.exit_status is None:
        raise StreamFailed(result.error or "connection lost")
    exits = _EXIT.findall(err) if hashed else [str(result.exit_status)]
    producer_exit = int(exits[-1]) if exits else None
    if producer_exit in (126, 127) or result.exit_status in (126, 127):
        raise StreamUnavailable(f"a tool is missing on the node: {_last_line(err)}")
    if producer_exit is None:
        raise StreamUnavailable("the node's shell did not run the stream as POSIX sh")
    if producer_exit not in ok_exits:
        raise StreamFailed(f"exit {producer_exit}: {_last_line(err)}")
    return producer_exit


def _last_line(err: str) -> str:
    lines = [ln for ln in err.splitlines()
             if ln.strip() and not _EXIT.match(ln) and not _SHA.match(ln)]
    return lines[-1].strip() if lines else "(no message)"


#: No checkpoint archive indexes more than this in total, whatever the node declares.
TOTAL_CAP = 8 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class Extracted:
    """A tree streamed and stored as one archive file: its size, the wanted members found in
    it (offset, size, sha256 of their data), and the producer's exit (tar: 1 = a file changed
    while it was read, 2 = some unreadable)."""

    size: int
    files: dict[str, Stored]
    exit: int


async def fetch_tree(transport: Transport, node: Node, producer: str, dest: Path,
                     wanted: Collection[str] | None, sizes: Mapping[str, int] | None = None,
                     *, idle_timeout: float, progress: Callable[[], None] | None = None,
                     ok_exits: tuple[int, ...] = (0,), limit: int | None = None,
                     total_cap: int = TOTAL_CAP,
                     listed: Awaitable[Mapping[str, int]] | None = None) -> Extracted:
    """Run the tar ``producer`` on ``node``, storing the archive as it arrives in ``dest``
    (0600) and indexing and hashing each regular member whose absolute path is in ``wanted``
    (see :mod:`.untar`).

    With ``listed`` (and ``wanted`` None), the members and their declared sizes come from it
    once the node's listing has arrived, and the limit becomes :func:`tar_bound` of them: the
    stream starts at once instead of one round trip later, and queues meanwhile (the sender
    pauses past the pipe's high mark). The caller cancels this if the listing fails.

    The stream itself is not hashed on the node: the caller compares each member's sha256
    with the node's own hash of that file (checkpoints.py ``_files``). A ``tee`` of the
    stream into a hasher there cost a third more CPU on the node than ``tar`` alone, and
    hashing it again here added a second hash of every byte. Returned only when the archive
    parses to its end and the producer exited in ``ok_exits``; the archive is then on disk
    (fsync of it and of its folder), ready for the manifest. On any failure ``dest`` is
    removed before the exception leaves: StreamUnavailable (fall back to file by file),
    TooLarge, StreamFailed; OSError for the local disk.
    """
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(mkdir_private, dest.parent)
    fd = await asyncio.to_thread(_create_private, dest)
    bound = _Limit(limit)
    indexed: asyncio.Future[None] | None = None
    try:
        pipe = untar.Pipe(loop, out_fd=fd)
        if listed is not None:
            indexed = asyncio.ensure_future(_index_when_listed(pipe, listed, bound))
        job = asyncio.ensure_future(asyncio.to_thread(
            untar.untar, pipe, wanted if listed is None else None, sizes, total_cap))
        try:
            result, err = await _stream(transport, node, producer, pipe.put,
                                        idle_timeout=idle_timeout, progress=progress,
                                        limit=bound, hashed=False)
            if indexed is not None:
                await indexed  # a short stream can end before the listing arrives
            pipe.close()
            res = await asyncio.shield(job)
        except BaseException:
            # Stopped (cancelled, the transport failed, the thread failed): the thread must
            # have ended before the file is closed and removed — the caller may be about to
            # remove the whole checkpoint folder.
            pipe.abort()
            if indexed is not None:
                indexed.cancel()
            await _settle(job)
            raise
        if bound.bytes is not None and pipe.size > bound.bytes:
            raise bound.exceeded()  # all of it arrived before the listing said how much
        exit_code = _judge(result, err, ok_exits, hashed=False)
        if isinstance(res.error, untar.Oversized):
            raise TooLarge(str(res.error))
        if isinstance(res.error, untar.UnreadableArchive):
            raise StreamFailed(f"the archive could not be read: {res.error}")
        if res.error is not None:
            raise res.error
        await asyncio.to_thread(untar.make_durable, fd, dest)
    except BaseException:
        await asyncio.shield(asyncio.to_thread(_close_remove, fd, dest))
        raise
    await asyncio.to_thread(os.close, fd)
    return Extracted(pipe.size, res.files, exit_code)


async def _index_when_listed(pipe: untar.Pipe, listed: Awaitable[Mapping[str, int]],
                             bound: _Limit) -> None:
    sizes = await listed
    if bound.bytes is None:
        bound.bytes = tar_bound(sizes)
    pipe.set_index(sizes.keys(), sizes)


def _create_private(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _close_remove(fd: int, path: Path) -> None:
    os.close(fd)
    untar.remove([path])
