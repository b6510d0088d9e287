"""Stream a tree or a file off a node in one channel, hashed on both ends, written as it arrives.

A checkpoint of ``/etc/pve`` or ``/var/lib/pve-cluster`` used to fetch one file at a time over
SFTP and hold each in memory: thousands of round trips for a tree of small files, and a large
SQLite copy held whole in RAM. Here the node runs one ``tar`` (or ``cat``) whose stdout is
``tee``'d into ``sha256sum``: the archive's hash is computed on the node from the very bytes
sent, and here from the very bytes received, so a transfer that broke or was cut is caught.
The archive is spooled to a private file as it arrives (memory stays flat whatever the size),
then each wanted regular file is extracted to where the checkpoint keeps it and hashed again, so
the manifest's per-file ``sha256_local`` can still be compared with ``sha256sum`` on the node.

Where the node cannot do this (no ``tar``, no ``/dev/fd``, a transport without raw streaming),
:class:`StreamUnavailable` is raised and the caller falls back to reading file by file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shlex
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, Transport, TransportError

_EXIT_TAG = "pverunbook-exit"
_EXIT = re.compile(rf"^{_EXIT_TAG} (\d+)$", re.M)
_SHA = re.compile(r"^([0-9a-f]{64})  -$", re.M)
_CHUNK = 1 << 20


class StreamUnavailable(Exception):
    """This node/transport cannot stream an archive; read file by file instead."""


class StreamFailed(Exception):
    """The stream ran but its result cannot be trusted (timed out, hash differs, tar failed)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Stored:
    """One file as stored here: its sha256 (hex) and size in bytes."""

    sha256: str
    size: int


def hashed_stream_command(producer: str) -> str:
    """``producer``'s stdout goes to ours and through ``sha256sum`` to stderr, with its exit.

    POSIX sh: the producer's status is echoed to stderr (``pipefail`` is not POSIX), and
    ``tee /dev/fd/3`` copies the stream to the channel while sha256sum reads the pipe.
    """
    return (f"{{ {{ {producer}; echo \"{_EXIT_TAG} $?\" >&2; }} | tee /dev/fd/3 | "
            f"sha256sum >&2; }} 3>&1")


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

    ``spool`` is created 0600 and left in place (the caller extracts or keeps it). Returns the
    stream's sha256 and size, verified equal to the node's. Raises StreamUnavailable when the
    transport cannot stream or the node lacks a tool; StreamFailed when it ran but failed.
    """
    h = hashlib.sha256()
    size = 0
    fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    loop = asyncio.get_running_loop()
    inner: asyncio.Future[tuple[CommandResult, str]] | None = None
    over = False

    def sink(data: bytes) -> None:
        nonlocal size, over
        if over:
            return
        if limit is not None and size + len(data) > limit:
            # An endless stream in place of tar grew the spool without bound: stop it here.
            over = True
            if inner is not None:
                loop.call_soon_threadsafe(inner.cancel)
            return
        h.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        size += len(data)
        if progress is not None:
            progress()

    me = asyncio.current_task()
    try:
        # In a task of its own, so an over-long stream can be stopped without cancelling us.
        inner = asyncio.ensure_future(transport.stream(
            node, hashed_stream_command(producer), idle_timeout=idle_timeout, sink=sink))
        result, err = await inner
    except asyncio.CancelledError:
        if not over or (me is not None and me.cancelling()):
            raise
        raise TooLarge(f"the node sent more than the {limit} bytes its own listing "
                       "allows; stopped and discarded") from None
    except TransportError as exc:
        if "cannot stream" in exc.message:
            raise StreamUnavailable(exc.message) from exc
        raise
    finally:
        os.close(fd)
    if over:
        raise TooLarge(f"the node sent more than the {limit} bytes its own listing allows; "
                       "stopped and discarded")
    _judge(result, err, ok_exits)
    remote = _SHA.findall(err)
    if not remote:
        raise StreamUnavailable("the node printed no sha256 of the stream (no sha256sum/tee?)")
    if remote[-1] != h.hexdigest():
        raise StreamFailed(f"the stream's sha256 differs between the node ({remote[-1][:12]}…) "
                           f"and this machine ({h.hexdigest()[:12]}…): the transfer broke")
    return Stored(h.hexdigest(), size)


def _judge(result: CommandResult, err: str, ok_exits: tuple[int, ...]) -> None:
    if result.timed_out:
        raise StreamFailed("no data arrived for too long (a hung file system?)", timed_out=True)
    if result.error or result.connection_lost or result.exit_status is None:
        raise StreamFailed(result.error or "connection lost")
    exits = _EXIT.findall(err)
    producer_exit = int(exits[-1]) if exits else None
    if producer_exit in (126, 127) or result.exit_status in (126, 127):
        raise StreamUnavailable(f"a tool is missing on the node: {_last_line(err)}")
    if producer_exit is None:
        raise StreamUnavailable("the node's shell did not run the stream as POSIX sh")
    if producer_exit not in ok_exits:
        raise StreamFailed(f"exit {producer_exit}: {_last_line(err)}")


def _last_line(err: str) -> str:
    lines = [ln for ln in err.splitlines()
             if ln.strip() and not _EXIT.match(ln) and not _SHA.match(ln)]
    return lines[-1].strip() if lines else "(no message)"


#: No checkpoint extraction writes more than this in total, whatever the node declares.
TOTAL_CAP = 8 * 1024 * 1024 * 1024


def extract(spool: Path, wanted: Mapping[str, Path], sizes: Mapping[str, int] | None = None,
            total_cap: int = TOTAL_CAP) -> dict[str, Stored]:
    """Write each regular file of the tar ``spool`` whose absolute path is in ``wanted`` to
    ``wanted[path]`` (0600, parents 0700 via ``mkdir``), hashing it as it is written.

    Only destinations from ``wanted`` are ever written — never a path taken from the archive —
    so a hostile member name cannot escape. ``sizes`` are what the node's own listing declared
    for each path: a member larger than that (a GNU sparse member named like an 11-byte file
    that expands to 1 GiB) is never written, and no more than ``total_cap`` bytes are written
    in all; at the first excess everything this call wrote is removed and :class:`TooLarge`
    raised. Runs in a thread (blocking I/O). One ``os.sync()`` at the end makes everything
    durable before the caller writes its manifest.
    Raises StreamFailed when the archive cannot be read.
    """
    out: dict[str, Stored] = {}
    written: list[Path] = []
    total = 0
    try:
        with tarfile.open(spool, mode="r:") as tf:
            for member in tf:
                if not member.isreg():
                    continue
                path = "/" + member.name.strip("/")
                dest = wanted.get(path)
                if dest is None or path in out:
                    continue
                declared = sizes.get(path) if sizes is not None else None
                limit = min(declared if declared is not None else total_cap,
                            total_cap - total)
                if member.size > limit or member.size < 0:
                    raise TooLarge(f"{path}: the archive holds {member.size} bytes for it, "
                                   f"more than the {declared} its listing declared"
                                   if declared is not None and member.size > declared else
                                   f"{path}: more than the {total_cap} bytes a checkpoint "
                                   "may hold in all")
                src = tf.extractfile(member)
                if src is None:
                    continue
                written.append(dest)
                out[path] = _copy_private(src, dest, limit)
                total += out[path].size
    except (tarfile.TarError, EOFError) as exc:
        _remove(written)
        raise StreamFailed(f"the archive could not be read: {exc}") from exc
    except BaseException:
        _remove(written)
        raise
    os.sync()
    return out


def _remove(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def mkdir_private(path: Path) -> None:
    """Create ``path`` and any missing parents 0700 (``mkdir(parents=True)`` would not)."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        os.chmod(d, 0o700)


def _copy_private(src: IO[bytes], dest: Path, limit: int | None = None) -> Stored:
    """Copy ``src`` to ``dest`` (0600); :class:`TooLarge` past ``limit`` bytes (dest removed)."""
    mkdir_private(dest.parent)
    h = hashlib.sha256()
    size = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        while chunk := src.read(_CHUNK):
            if limit is not None and size + len(chunk) > limit:
                os.ftruncate(fd, 0)
                raise TooLarge(f"{dest.name}: more data than the {limit} bytes allowed")
            h.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
            size += len(chunk)
    finally:
        os.close(fd)
    return Stored(h.hexdigest(), size)
