"""The append-only run journal: one JSON line per event, fsynced in group commits.

Writes happen on a dedicated thread so a slow disk never stalls the event loop; the engine awaits
``flush()`` at the points where durability matters (before a command runs, after a confirmation),
so a crash can lose at most events that were still being written, never a record that a
destructive command was started. A torn last line (SIGKILL mid-write) is skipped on read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.engine.events import Event, event_from_dict

_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", re.S),
    # Not "token:" — that is corosync's timeout key, and an operator needs to see its value.
    re.compile(r"(?i)\b(password|passwd|secret|api[_-]?key|api[_-]?token|token(?==))"
               r"(\s*[=:]\s*)(\S+)"),
    re.compile(r"PVEAPIToken=\S+"),
]


class Redactor:
    """Replaces secret parameter values and well-known secret shapes with ``[REDACTED]``."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets = sorted({s for s in (secrets or []) if len(s) >= 3}, key=len, reverse=True)

    def add(self, value: str) -> None:
        if len(value) >= 3 and value not in self.secrets:
            self.secrets.append(value)
            self.secrets.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        for s in self.secrets:
            value = value.replace(s, "[REDACTED]")
        value = _SECRET_PATTERNS[0].sub("[REDACTED PRIVATE KEY]", value)
        value = _SECRET_PATTERNS[1].sub("[REDACTED PRIVATE KEY]", value)
        value = _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", value)
        value = _SECRET_PATTERNS[3].sub("PVEAPIToken=[REDACTED]", value)
        return value

    def obj(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value


def state_dir() -> Path:
    env = os.environ.get("PVERUNBOOK_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_state_dir

    return Path(user_state_dir("pverunbook"))


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
        _drop_torn_tail(path)
        self._fh = open(path, "ab")  # noqa: SIM115 - owned by the writer thread
        self._queue: queue.Queue[tuple[bytes | None, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name="journal", daemon=True)
        self._thread.start()
        self.error: OSError | None = None

    def __call__(self, event: Event) -> None:
        data = self.redactor.obj(event.to_dict())
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._queue.put((line.encode("utf-8"), None))

    def _write_loop(self) -> None:
        """Group commit: write every line queued so far, then one flush + fsync covers them all.

        A waiter (``flush()``) is released only after the fsync that follows every line queued
        before it, so durability is the same as one fsync per line at a fraction of the cost.
        """
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines = [line for line, _ in batch if line is not None]
            if lines:
                try:
                    self._fh.write(b"".join(lines))
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
                except OSError as exc:  # reported by flush(); never silently dropped
                    self.error = exc
            for _line, done in batch:
                if done is not None:
                    # The waiter's event loop may be gone (the app closed): keep writing anyway.
                    with contextlib.suppress(RuntimeError):
                        done()
            if any(line is None and done is None for line, done in batch):
                return

    async def flush(self) -> None:
        """Wait until everything queued so far is on disk."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not fut.done():
                fut.set_result(None)

        def done() -> None:
            loop.call_soon_threadsafe(resolve)

        self._queue.put((None, done))
        await fut
        if self.error is not None:
            raise OSError(f"journal {self.path} could not be written: {self.error}")

    def flush_sync(self) -> None:
        ev = threading.Event()
        self._queue.put((None, ev.set))
        ev.wait()

    def close(self) -> None:
        self._queue.put((None, None))
        self._thread.join(timeout=10)
        self._fh.close()


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


def read_journal(path: Path) -> list[Event]:
    return list(iter_journal(path))


def iter_journal(path: Path) -> Iterator[Event]:
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return  # torn final line from a crash mid-write
            try:
                data = json.loads(raw)
                yield event_from_dict(data)
            except (ValueError, KeyError, TypeError):
                continue


def find_run(run: str) -> Path:
    """A run id, a prefix of one, or a path to a journal file."""
    p = Path(run)
    if p.suffix == ".jsonl" and p.exists():
        return p
    d = runs_dir()
    exact = d / f"{run}.jsonl"
    if exact.exists():
        return exact
    matches = sorted(d.glob(f"{run}*.jsonl")) if d.exists() else []
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


def list_runs() -> list[RunSummary]:
    d = runs_dir()
    out: list[RunSummary] = []
    if not d.exists():
        return out
    from pverunbook.engine.events import RunFinished, RunStarted

    for p in sorted(d.glob("*.jsonl")):
        started: RunStarted | None = None
        status = "unfinished"
        for ev in iter_journal(p):
            if isinstance(ev, RunStarted) and started is None:
                started = ev
            elif isinstance(ev, RunFinished):
                status = ev.status
            elif isinstance(ev, RunStarted):
                status = "unfinished"
        if started:
            out.append(RunSummary(p.stem, p, started.runbook_id, started.mode, started.ts, status))
    return out
