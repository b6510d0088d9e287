"""The append-only run journal: one JSON line per event, fsynced in group commits.

Writes happen on a dedicated thread so a slow disk never stalls the event loop; the engine awaits
``flush()`` at the points where durability matters (before a destructive command runs, after a
confirmation), so a crash can lose at most events nobody waited for, never a record that a
destructive command was started. Every line is written to the file as soon as the thread gets
it (a killed process loses nothing written); the fsync waits for a ``flush()`` or at most
``SYNC_AFTER`` seconds. ``written()`` waits for the write alone: every command waits for it, so
a SIGKILLed pverunbook never leaves a command that ran without its record (only a power loss
can, and only of a read-only step, which resume simply runs again). A torn last line (SIGKILL
mid-write) is skipped on read.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import glob
import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pverunbook.engine.events import EVENT_TYPES, Event, event_from_dict
from pverunbook.engine.redaction import Redactor  # also imported from here by older modules
from pverunbook.engine.runlock import RunLock, hold
from pverunbook.runbook.readfile import open_regular
from pverunbook.statedir import state_dir

__all__ = ["Journal", "JournalError", "JournalWriteError", "Redactor", "iter_journal",
           "read_journal"]


#: Lines nobody waits for reach the disk (fsync) at most this long after they were written.
#: A waiter (``flush()``, ``close()``) gets its fsync at once. Syncing every group commit cost
#: ~35 fsyncs per ten read-only steps on 16 nodes, none of them awaited (README, Performance);
#: what they protect — read-only steps' records after a power loss — resume re-runs anyway.
SYNC_AFTER = 1.0


#: The queue's mark for a ``written()`` waiter: no line is ever empty, so it is never written.
_WRITTEN = b""


def runs_dir() -> Path:
    return state_dir() / "runs"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class Journal:
    """Subscriber that appends every event to ``path``."""

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        path.parent.mkdir(parents=True, exist_ok=True)
        # One writer per journal, before anything touches the file (runlock.py says why).
        self._lock: RunLock | None = hold(path, "journal")
        _drop_torn_tail(path)
        # Opened by the writer thread at the first event: a run that never started (every
        # node unreachable, a refused parameter) leaves no empty journal behind.
        self._fh: BinaryIO | None = None
        #: Lines a failed write could not store (disk full): written first next time.
        self._pending: list[bytes] = []
        #: Lines written but not yet fsynced, and the file size before the first of them: a
        #: failed fsync cuts the file back there and writes them again, like a failed write.
        self._unsynced: list[bytes] = []
        self._unsynced_from: int | None = None
        # SimpleQueue: put() is one C call, where Queue.put takes a Python-level Condition —
        # every event of a run is put here from the event loop.
        #: (line, None) appends; (None, done) is a waiter, released after the fsync that covers
        #: every line before it; (_WRITTEN, done) a waiter released once they are written.
        self._queue: queue.SimpleQueue[tuple[bytes | None, Any]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write_loop, name="journal", daemon=True)
        self._thread.start()
        self.error: OSError | None = None

    def __call__(self, event: Event) -> None:
        self._put(self.redactor.obj(event.to_dict()))

    def write_redacted(self, event: Event) -> None:
        """Append ``event``, which already passed ``self.redactor`` (the engine's subscribe()
        hands this method to the engine when the redactor is its own)."""
        self._put(event.to_dict())

    def _put(self, data: dict[str, Any]) -> None:
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._queue.put((line.encode("utf-8"), None))

    def _write_loop(self) -> None:
        """Group commit: write every line queued so far; one fsync covers them all.

        A waiter (``flush()``) is released only after the fsync that follows every line queued
        before it, so durability is the same as one fsync per line at a fraction of the cost.
        Lines nobody waits for are written at once and fsynced within ``SYNC_AFTER``.
        """
        synced_by: float | None = None  # when the unsynced lines must be on disk
        while True:
            try:
                wait = None if synced_by is None else max(0.0, synced_by - time.monotonic())
                batch = [self._queue.get(timeout=wait)]
            except queue.Empty:
                self._sync()
                synced_by = None
                continue
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines = self._pending + [line for line, _ in batch
                                     if line is not None and line is not _WRITTEN]
            if lines:
                self._write(lines)
            if any(line is None for line, _ in batch):  # a waiter, or close()
                self._sync()
            if self._unsynced_from is None:
                synced_by = None
            elif synced_by is None:
                synced_by = time.monotonic() + SYNC_AFTER
            for _line, done in batch:
                if done is not None:
                    # The waiter's event loop may be gone (the app closed): keep writing anyway.
                    with contextlib.suppress(RuntimeError):
                        done()
            if any(line is None and done is None for line, done in batch):
                return

    def _write(self, lines: list[bytes]) -> None:
        """Append whole lines or nothing: a failed write is cut back to the last whole line.

        A write that fails half-way (ENOSPC, EIO) leaves part of a line in the file; the next
        append would glue an event onto it, a torn line in the middle of the journal. So the
        file is truncated back to where this batch began and the lines are kept to be written
        again first next time — once the disk has room, nothing is lost and the order holds.
        Unbuffered (``os.write``): a buffer must not keep bytes of a failed write for later.
        """
        try:
            if self._fh is None:
                self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
            fd = self._fh.fileno()
            start = os.fstat(fd).st_size
        except OSError as exc:
            self._pending, self.error = lines, exc
            return
        data = memoryview(b"".join(lines))
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError as exc:  # reported by flush(); never silently dropped
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            self._pending, self.error = lines, exc
            return
        if self._unsynced_from is None:
            self._unsynced_from = start
        self._unsynced += lines
        self._pending, self.error = [], None

    def _sync(self) -> None:
        """fsync what was written; if that fails, cut it back and keep it to write again."""
        if self._fh is None or self._unsynced_from is None:
            return
        fd = self._fh.fileno()
        try:
            os.fsync(fd)
        except OSError as exc:  # reported by flush(); never silently dropped
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._unsynced_from)
            self._pending, self.error = self._unsynced + self._pending, exc
        self._unsynced, self._unsynced_from = [], None

    async def flush(self) -> None:
        """Wait until everything queued so far is on disk (written and fsynced).

        Raises ``JournalWriteError`` when a write or the fsync failed (the lines are kept and
        written again first next time)."""
        await self._wait(None)

    async def written(self) -> None:
        """Wait until everything queued so far is written to the file, without its fsync.

        What a ``write(2)`` put in the page cache outlives a SIGKILL of this process, so a
        command started after this returns can never have run without its CommandStarted line
        in the journal (``tests/integration/test_sigkill_resume.py``). One thread hop, where an
        fsync per command was most of a fan-out's overhead. Raises ``JournalWriteError`` as
        ``flush()`` does."""
        await self._wait(_WRITTEN)

    async def _wait(self, marker: bytes | None) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not fut.done():
                fut.set_result(None)

        def done() -> None:
            loop.call_soon_threadsafe(resolve)

        self._queue.put((marker, done))
        await fut
        if self.error is not None:
            raise JournalWriteError(self.path, self.error)

    def flush_sync(self) -> None:
        ev = threading.Event()
        self._queue.put((None, ev.set))
        ev.wait()

    def close(self) -> None:
        self._queue.put((None, None))
        self._thread.join(timeout=10)
        if self._fh is not None:
            self._fh.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _drop_torn_tail(path: Path) -> None:
    """A resumed run appends here: cut a half-written last line so it cannot swallow the next."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(max(0, size - 1))
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())


class JournalWriteError(OSError):
    """The journal could not be written; the message names a full disk as such, and where."""

    def __init__(self, path: Path, cause: OSError) -> None:
        self.path, self.cause = path, cause
        if cause.errno in (errno.ENOSPC, errno.EDQUOT):
            what = ("the disk is full" if cause.errno == errno.ENOSPC
                    else "the disk quota is used up")
            text = (f"journal {path} could not be written: {what} "
                    f"({cause.strerror}); free space on the file system of {path.parent} "
                    "— the run stopped before anything else ran, the journal holds every "
                    "whole event up to here, and `pverunbook run --resume` goes on from it")
        else:
            text = (f"journal {path} could not be written: {cause.strerror or cause}; check "
                    f"the disk and the permissions of {path.parent}")
        super().__init__(cause.errno, text)

    def __str__(self) -> str:
        return str(self.args[1])


class JournalError(OSError):
    """A journal cannot be opened (missing, a directory, unreadable); the message says which."""


#: A journal line longer than this is damage, not an event: the engine bounds what one event
#: carries (see ``OUTPUT_HEAD``/``OUTPUT_TAIL`` in the engine), so it is skipped unread.
MAX_LINE = 16 * 1024 * 1024


def read_journal(path: Path, problems: list[str] | None = None) -> list[Event]:
    return list(iter_journal(path, problems))


def iter_journal(path: Path, problems: list[str] | None = None) -> Iterator[Event]:
    """Every well-formed event in ``path``, in order.

    Damaged lines (not JSON, nested too deep, not an event, a value of the wrong type, longer
    than ``MAX_LINE``) are skipped and, when ``problems`` is given, described there as
    ``path:line: why``. A torn last line (a crash mid-write) ends the journal silently.
    Raises ``JournalError`` when the file cannot be opened.
    """
    try:
        fh = open_regular(path, "run journal")  # a FIFO/device is refused, never waited on
    except IsADirectoryError as exc:
        raise JournalError(f"{path} is a directory, not a run journal") from exc
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise JournalError(f"{path} is a directory, not a run journal") from exc
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}; check the path "
                           "and that you may read the file") from exc
    with fh:
        lineno = 0
        while True:
            raw = fh.readline(MAX_LINE + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                    raw = fh.readline(MAX_LINE)
                if problems is not None:
                    problems.append(f"{path}:{lineno}: line longer than {MAX_LINE} bytes; "
                                    "skipped")
                continue
            if not raw.endswith(b"\n"):
                return  # torn final line from a crash mid-write
            event, why = _decode_line(raw)
            if event is not None:
                yield event
            elif problems is not None and raw.strip():
                problems.append(f"{path}:{lineno}: {why}; skipped")


#: Byte order marks of UTF-16/32: an editor or a Windows tool re-saved the journal.
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _decode_line(raw: bytes) -> tuple[Event | None, str]:
    """One journal line → (event, "") or (None, why it is not one).

    The line is decoded as UTF-8 here rather than by ``json.loads(bytes)``, which guesses
    UTF-16/32 from the first bytes and then reports a codec error the reader cannot act on.
    """
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        if raw.startswith(_WIDE_BOMS):
            return None, ("not UTF-8 but UTF-16 text (it starts with a byte order mark): "
                          "journals are UTF-8 JSON lines; if it was re-saved by an editor, "
                          "convert it back with `iconv -f UTF-16 -t UTF-8`")
        return None, (f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                      f"{exc.start + 1}): journals are UTF-8 JSON lines")
    try:
        data = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"not JSON ({str(exc)[:80]})"
    if not isinstance(data, dict):
        return None, f"not an event (a JSON {type(data).__name__})"
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None, f"unknown event kind {str(kind)[:40]!r}"
    why = _mistyped(cls, data)
    if why:
        return None, f"{kind}: {why}"
    try:
        return event_from_dict(data), ""
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"{kind}: {exc}"


def _mistyped(cls: type, data: dict[str, Any]) -> str:
    """Why ``data`` does not fit ``cls``'s field types ("" when it does)."""
    hints = _hints(cls)
    for name, value in data.items():
        want = hints.get(name)
        if want is None or name == "kind":
            continue
        if not _fits(value, want):
            return f"field {name!r} is {type(value).__name__}, expected {want}"
    return ""


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        import dataclasses
        import typing

        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError):
            hints = {}
        _HINTS[cls] = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}
    return _HINTS[cls]


def _fits(value: Any, want: Any) -> bool:
    import types
    import typing

    if want is Any:
        return True
    origin = typing.get_origin(want)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(want))
    if want is type(None):
        return value is None
    if want is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if want in (str, bool):
        return isinstance(value, want)
    if origin is tuple or want is tuple:
        args = typing.get_args(want)
        if not isinstance(value, list):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return True
    if origin is dict or want is dict:
        return isinstance(value, dict)
    if origin is list or want is list:
        return isinstance(value, list)
    return True


def find_run(run: str) -> Path:
    """A run id, a prefix of one, or a path to a journal file."""
    p = Path(run)
    if p.suffix == ".jsonl" and p.is_dir():
        raise JournalError(f"{p} is a directory, not a run journal; give the .jsonl file of a "
                           "run (`pverunbook journal list` shows them)")
    if p.suffix == ".jsonl" and p.exists():
        return p
    if p.is_absolute() or len(p.parts) > 1:
        # A path, not an id: globbing it inside runs_dir() is meaningless (and pathlib refuses
        # absolute patterns), so the file is taken or refused as given.
        if p.is_dir():
            raise JournalError(f"{p} is a directory, not a run journal; give the .jsonl file of "
                               "a run (`pverunbook journal list` shows them)")
        if p.is_file():
            return p
        if p.exists():
            from pverunbook.runbook.readfile import kind_of

            raise JournalError(f"{p} is {kind_of(p.stat().st_mode)}, not a regular file, so "
                               "not a run journal; give the .jsonl file of a run")
        raise FileNotFoundError(f"{p}: no such run journal; give a run id or the path of a "
                                "run's .jsonl file (`pverunbook journal list` shows them)")
    d = runs_dir()
    exact = d / f"{run}.jsonl"
    if exact.is_file():
        return exact
    matches = sorted(m for m in d.glob(f"{glob.escape(run)}*.jsonl") if m.is_file()) \
        if d.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FileNotFoundError(f"no run '{run}' in {d}; `pverunbook journal list` shows the runs")
    raise FileNotFoundError(f"'{run}' matches {len(matches)} runs: "
                            f"{', '.join(m.stem for m in matches[:5])}; give more of the id")


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    path: Path
    runbook: str
    mode: str
    started: float
    status: str
    cluster: str = ""
    scenario: str = ""  # a rehearsal's (RunStarted.scenario)


def list_runs() -> list[RunSummary]:
    d = runs_dir()
    out: list[RunSummary] = []
    if not d.exists():
        return out
    from pverunbook.engine.events import RunFinished, RunStarted

    for p in sorted(d.glob("*.jsonl")):
        if not p.is_file():
            continue
        started: RunStarted | None = None
        status = "unfinished"
        try:
            for ev in iter_journal(p):
                if isinstance(ev, RunStarted) and started is None:
                    started = ev
                elif isinstance(ev, RunFinished):
                    status = ev.status
                elif isinstance(ev, RunStarted):
                    status = "unfinished"
        except JournalError:
            continue
        if started:
            out.append(RunSummary(p.stem, p, started.runbook_id, started.mode, started.ts, status,
                                  started.cluster, started.scenario))
    return out
