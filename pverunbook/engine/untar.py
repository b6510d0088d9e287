"""Store a tar archive as it arrives, indexing and hashing its members on the way.

A checkpoint used to spool the node's ``tar`` stream to disk and extract it, later to extract
it as it arrived: one file created per file of the tree. Creating a file is what costs here
(0.2–0.7 ms of kernel time each on ext4 over virtio, measured; 2000 of them were most of a
checkpoint of /etc/pve), so the archive is now kept as it came — one file written in order —
and each wanted member is indexed (its data's offset in the archive, size, sha256) as it
passes. Restores and verification read a member's bytes at its offset
(``Checkpoint.read_copy``). The event loop hands each received chunk to a :class:`Pipe`; a
worker thread writes it to the archive file and hashes each wanted member's data (compared
with the node's own hash of the file by the caller) — slicing the received chunks, never
copying them into one buffer. The pipe holds at most a few MiB: past that the sender is
paused (the SSH window closes), so memory stays flat whatever the size of the tree.

The archive comes from the node and is not trusted: nothing is ever written to a path named in
it (the archive file's name is ours), a member's name only selects an entry of ``wanted``, only
regular members are indexed (no links, devices, sparse members), and a member larger than the
node's own listing declared, or more than ``total_cap`` bytes in all, stops the capture and the
archive file is removed (:class:`~pverunbook.engine.archive.TooLarge`). Headers are parsed by
the standard library (``tarfile.TarInfo.frombuf``: ustar/GNU fields, base-256 sizes, checksum);
GNU long names (``L``) and pax ``path``/``size`` records are applied as GNU tar writes them (GNU
tar manual, "Basic Tar Format" and "Extended header keywords").
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import os
import re
import tarfile
import threading
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 512
#: A long-name or pax header bigger than this is not one GNU tar writes: refuse, do not buffer.
META_CAP = 1 << 20
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_PAX_RECORD = re.compile(rb"(\d+) ")
#: The pipe pauses the sender past this many queued bytes and resumes it below PIPE_LOW.
PIPE_HIGH = 8 << 20
PIPE_LOW = 2 << 20
#: The thread takes the queue in batches of about this many bytes (see :class:`Pipe`).
PIPE_BATCH = 1 << 20
#: A slow stream's chunks are taken after at most this many seconds.
TRICKLE = 0.02
#: writev's limit on buffers per call (Linux UIO_MAXIOV).
_IOV_MAX = 1024
#: Start the archive file's writeback after this many bytes (see :func:`start_writeback`).
WRITEBACK_EVERY = 8 << 20


class Aborted(Exception):
    """The stream was abandoned (cancelled, timed out): stop and remove what was written."""


class UnreadableArchive(Exception):
    """The bytes are not a tar archive this code can read (message says where it broke)."""


class Oversized(Exception):
    """A member is larger than declared (or sparse), or the total would pass the cap."""


@dataclass(frozen=True)
class Stored:
    """One file as stored here: its sha256 (hex), size in bytes and, for a member of a stored
    archive, the offset of its data in that archive (None: a file of its own)."""

    sha256: str
    size: int
    offset: int | None = None


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Pipe:
    """Chunks from the event loop (:meth:`put`) to one reading thread, bounded, in batches.

    ``put`` never blocks the loop: past ``high`` queued bytes it returns a future the sender
    should wait for (the SSH transport pauses the channel until it is done); the thread resolves
    it once the queue is below ``low``. The thread writes every chunk to ``out_fd`` (the
    archive file) as it takes it, whatever the extraction did with it.

    The thread takes the queue in batches of about ``batch`` bytes: woken once a batch is
    queued (or at the end), or after :data:`TRICKLE` seconds for a slow stream. Waking it for
    every SSH packet (~32 KiB, ~3000 per 100 MB) made the two threads trade the GIL at each
    one: measured, the event loop then spent more time waiting for the GIL than decrypting.
    A batch is written to the archive file with one ``writev``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, high: int | None = None,
                 low: int | None = None, out_fd: int | None = None,
                 batch: int | None = None) -> None:
        self._loop = loop
        self._high = PIPE_HIGH if high is None else high
        self._low = PIPE_LOW if low is None else low
        self._batch = min(PIPE_BATCH if batch is None else batch, self._high)
        self._cv = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._eof = False
        self._aborted = False
        self._resume: asyncio.Future[None] | None = None
        self._index: tuple[Collection[str], Mapping[str, int] | None] | None = None
        self._mine: deque[bytes] = deque()  # taken by the thread, not yet parsed
        self._ahead = 0  # bytes in _mine
        self._head = memoryview(b"")
        self.size = 0
        #: Every chunk taken is written here first (the archive file), in the thread.
        self.out_fd = out_fd
        self._unsynced = 0

    # -- event-loop side ------------------------------------------------------------------
    def put(self, data: bytes) -> asyncio.Future[None] | None:
        with self._cv:
            self._chunks.append(data)
            self._queued += len(data)
            if self._queued >= self._batch:
                self._cv.notify()
            if self._queued <= self._high:
                return None
            if self._resume is None:
                self._resume = self._loop.create_future()
            return self._resume

    def set_index(self, wanted: Collection[str], sizes: Mapping[str, int] | None) -> None:
        """The members to index and their declared sizes, for :func:`untar` started without
        them (the stream starts while the node's listing is still on its way)."""
        with self._cv:
            self._index = (wanted, sizes)
            self._cv.notify()

    def close(self) -> None:
        """No more data: the thread reads what is queued, then sees the end."""
        with self._cv:
            self._eof = True
            self._cv.notify()

    def abort(self) -> None:
        """Stop the thread at its next read (it raises :class:`Aborted`)."""
        with self._cv:
            self._aborted = True
            resume, self._resume = self._resume, None
            self._cv.notify()
        if resume is not None:
            _resolve(resume)

    # -- thread side ----------------------------------------------------------------------
    def wait_index(self) -> tuple[Collection[str], Mapping[str, int] | None]:
        """What :meth:`set_index` was given, once it has been (the stream queues meanwhile,
        up to ``high``: then the sender pauses)."""
        with self._cv:
            while self._index is None:
                if self._aborted:
                    raise Aborted
                self._cv.wait()
            return self._index

    def _take(self) -> bool:
        """Move the next batch of queued chunks to the thread, hashed and written to the
        archive file; False at the end of the stream."""
        with self._cv:
            waited = False
            while True:
                if self._aborted:
                    raise Aborted
                if self._queued >= self._batch or self._eof or (self._chunks and waited):
                    break
                waited = not self._cv.wait(TRICKLE)
            if not self._chunks:
                return False
            batch: list[bytes] = []
            taken = 0
            while self._chunks and len(batch) < _IOV_MAX and (
                    not batch or taken + len(self._chunks[0]) <= self._batch):
                chunk = self._chunks.popleft()
                batch.append(chunk)
                taken += len(chunk)
            self._queued -= taken
            resume = None
            if self._resume is not None and self._queued <= self._low:
                resume, self._resume = self._resume, None
        if resume is not None:
            self._loop.call_soon_threadsafe(_resolve, resume)
        self.size += taken
        self._mine.extend(batch)
        self._ahead += taken
        if self.out_fd is not None:
            _writev_all(self.out_fd, batch)
            self._unsynced += taken
            if self._unsynced >= WRITEBACK_EVERY:
                start_writeback(self.out_fd)
                self._unsynced = 0
        return True

    def _fill(self) -> bool:
        """Make the head chunk non-empty; False at the end of the stream."""
        while not self._head:
            if not self._mine and not self._take():
                return False
            self._head = memoryview(self._mine.popleft())
            self._ahead -= len(self._head)
        return True

    @property
    def position(self) -> int:
        """Offset in the stream of the next byte :meth:`take` returns."""
        return self.size - self._ahead - len(self._head)

    def take(self, n: int) -> Iterator[memoryview]:
        """Exactly ``n`` bytes, as slices of the received chunks; EOFError if the stream ends."""
        while n > 0:
            if not self._fill():
                raise EOFError("the archive ends in the middle of a member")
            piece = self._head[:n]
            self._head = self._head[len(piece):]
            n -= len(piece)
            yield piece

    def read(self, n: int) -> bytes:
        return b"".join(self.take(n))

    def skip(self, n: int) -> None:
        for _ in self.take(n):
            pass

    def drain(self) -> None:
        """Read (and store) everything up to the end of the stream."""
        self._head = memoryview(b"")
        while self._mine or self._take():
            self._mine.clear()
            self._ahead = 0


@dataclass
class Result:
    """What the thread did: the wanted members found (offset, size, sha256), its error."""

    files: dict[str, Stored] = field(default_factory=dict)
    error: Exception | None = None


def untar(pipe: Pipe, wanted: Collection[str] | None, sizes: Mapping[str, int] | None,
          total_cap: int) -> Result:
    """Thread body: index and hash the wanted regular members, then read the stream to its
    end (the pipe writes every byte to the archive file as it is taken). ``wanted`` None: the
    members and sizes come later, from :meth:`Pipe.set_index`.

    On any problem with the archive the index is dropped and the error kept in
    :attr:`Result.error`; the rest of the stream is still read, so the sender is never left
    paused and the producer's exit status arrives. :class:`Aborted` propagates; the caller
    removes the archive file on any failure.
    """
    res = Result()
    if wanted is None:
        wanted, sizes = pipe.wait_index()
    try:
        _members(pipe, wanted, sizes, total_cap, res)
    except (UnreadableArchive, Oversized, OSError) as exc:
        res.error = exc
    except EOFError as exc:
        res.error = UnreadableArchive(str(exc))
    except (tarfile.TarError, ValueError, UnicodeError) as exc:
        res.error = UnreadableArchive(f"a header does not parse: {exc}")
    if res.error is not None:
        res.files.clear()
    pipe.drain()
    return res


def _members(pipe: Pipe, wanted: Collection[str], sizes: Mapping[str, int] | None,
             total_cap: int, res: Result) -> None:
    long_name: str | None = None
    pax: dict[str, str] = {}
    total = 0
    while True:
        raw = pipe.read(BLOCK)
        if raw.count(0) == BLOCK:
            return  # end-of-archive block (GNU tar writes two, then pads the record)
        try:
            info = tarfile.TarInfo.frombuf(raw, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise UnreadableArchive(f"a header does not parse: {exc}") from None
        size = info.size
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE):
            if size > META_CAP:
                raise UnreadableArchive(f"a {size}-byte name/pax header")
            data = pipe.read(size)
            pipe.skip(_pad(size))
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            else:
                pax = _pax(data)
            continue
        if info.type in (tarfile.XGLTYPE, tarfile.GNUTYPE_LONGLINK):
            pipe.skip(size + _pad(size))
            continue
        name = pax.get("path") or long_name or info.name
        if "size" in pax:
            if not re.fullmatch(r"[0-9]{1,19}", pax["size"]):
                raise UnreadableArchive(f"a pax size that is not a number: {pax['size'][:30]!r}")
            size = int(pax["size"])
        sparse = any(k.startswith("GNU.sparse") for k in pax)
        long_name, pax = None, {}
        path = "/" + name.strip("/")
        want = path in wanted
        if want and (sparse or info.type == tarfile.GNUTYPE_SPARSE):
            # Listed as a regular file, sent as a sparse one (that could expand far beyond the
            # declared size): the archive contradicts the node's own listing.
            raise Oversized(f"{path}: the archive holds a sparse member for it, not the "
                            "regular file the node's listing declared")
        if info.type not in _REGULAR or not want or path in res.files:
            # Hard links, devices, directories: not indexed (a hard link's data is read on its
            # own by the caller, as a file missing from the archive).
            pipe.skip(size + _pad(size))
            continue
        declared = sizes.get(path) if sizes is not None else None
        limit = min(declared if declared is not None else total_cap, total_cap - total)
        if size > limit:
            raise Oversized(f"{path}: the archive holds {size} bytes for it, more than the "
                            f"{declared} its listing declared"
                            if declared is not None and size > declared else
                            f"{path}: more than the {total_cap} bytes a checkpoint may hold "
                            "in all")
        offset = pipe.position
        h = hashlib.sha256()
        for piece in pipe.take(size):
            h.update(piece)
        res.files[path] = Stored(h.hexdigest(), size, offset)
        total += size
        pipe.skip(_pad(size))


def _pad(size: int) -> int:
    return -size % BLOCK


def _pax(data: bytes) -> dict[str, str]:
    """pax extended header records ("<len> <key>=<value>\\n", POSIX.1-2001 pax)."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        m = _PAX_RECORD.match(data, pos)
        if m is None or int(m.group(1)) < len(m.group(0)) + 2:
            if data[pos:].strip(b"\0") == b"":
                break
            raise UnreadableArchive("a pax header record does not parse")
        end = pos + int(m.group(1))
        record = data[m.end():end]
        if not record.endswith(b"\n") or b"=" not in record:
            raise UnreadableArchive("a pax header record does not parse")
        key, value = record[:-1].split(b"=", 1)
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return out


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


def _writev_all(fd: int, chunks: list[bytes]) -> None:
    """All of ``chunks`` in order, in as few ``writev`` calls as the kernel allows."""
    views = [memoryview(c) for c in chunks if c]
    while views:
        n = os.writev(fd, views)
        while views and n >= len(views[0]):
            n -= len(views.pop(0))
        if n:
            views[0] = views[0][n:]


def remove(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


_libc: ctypes.CDLL | None = None
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>


def _c() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        with contextlib.suppress(OSError):
            _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def start_writeback(fd: int) -> None:
    """Start writing ``fd``'s dirty pages to disk without waiting (Linux ``sync_file_range``
    with SYNC_FILE_RANGE_WRITE): the disk works while the rest of the archive arrives, and
    the one fsync at the end has less left to wait for. Durability still comes from that
    fsync alone; this only starts it early."""
    libc = _c()
    if libc is not None:
        with contextlib.suppress(AttributeError, ctypes.ArgumentError):
            libc.sync_file_range(fd, ctypes.c_int64(0), ctypes.c_int64(0),
                                 _SYNC_FILE_RANGE_WRITE)


def make_durable(fd: int, path: Path) -> None:
    """The archive file and its name on disk: fsync of the file, then of its directory (the
    new entry), before the manifest that vouches for it is written."""
    os.fsync(fd)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
