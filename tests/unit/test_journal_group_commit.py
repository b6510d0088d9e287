"""Group commit: one fsync covers every event queued while the previous one was on its way."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine import journal as journal_mod
from pverunbook.engine.journal import Journal, JournalWriteError, read_journal


def test_events_queued_during_an_fsync_share_the_next_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    calls: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            gate.wait(10)  # hold the first commit until the rest are queued
        real_fsync(fd)

    monkeypatch.setattr(journal_mod.os, "fsync", slow_fsync)
    j = Journal(tmp_path / "j.jsonl")
    j(ev.Note(step_id="s", level="info", text="first"))
    for i in range(200):
        j(ev.Note(step_id="s", level="info", text=f"n{i}"))
    gate.set()
    j.flush_sync()
    j.close()
    assert len(read_journal(tmp_path / "j.jsonl")) == 201
    assert len(calls) <= 3, f"{len(calls)} fsyncs for 201 events: no group commit"


async def test_flush_returns_only_after_the_fsync_that_covers_earlier_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(journal_mod.os, "fsync", counting_fsync)
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    for i in range(50):
        j(ev.Note(step_id="s", level="info", text=f"n{i}"))
    await j.flush()
    assert synced and synced[-1] == path.stat().st_size  # everything queued is on disk
    j.close()


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], threading.Event]:
    """Record the file size each fsync covered; the event is set by every fsync."""
    calls: list[int] = []
    synced = threading.Event()
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        real_fsync(fd)
        calls.append(os.fstat(fd).st_size)
        synced.set()

    monkeypatch.setattr(journal_mod.os, "fsync", counting_fsync)
    return calls, synced


def test_lines_nobody_waits_for_are_written_at_once_without_an_fsync_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only step's records need not cost an fsync each: they are in the file at once
    (a killed process loses nothing), and the next waiter's one fsync covers them."""
    calls, _ = _count_fsyncs(monkeypatch)
    monkeypatch.setattr(journal_mod, "SYNC_AFTER", 3600.0)
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    try:
        for i in range(20):
            j(ev.Note(step_id="s", level="info", text=f"n{i}"))
        deadline = time.monotonic() + 10
        while not path.exists() or len(read_journal(path)) < 20:  # there, nobody waiting
            assert time.monotonic() < deadline, "the lines were never written"
            time.sleep(0.01)
        assert calls == []  # ... and not one fsync for them yet
        j.flush_sync()
        assert calls == [path.stat().st_size]  # one fsync, covering every line
    finally:
        j.close()


def test_lines_nobody_waits_for_reach_the_disk_within_sync_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, synced = _count_fsyncs(monkeypatch)
    monkeypatch.setattr(journal_mod, "SYNC_AFTER", 0.05)
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    try:
        for i in range(5):
            j(ev.Note(step_id="s", level="info", text=f"n{i}"))
        assert synced.wait(30), "lines nobody waited for were never fsynced"
        deadline = time.monotonic() + 10
        while not calls or calls[-1] < path.stat().st_size:  # a later batch: its own timer
            assert time.monotonic() < deadline, "the last lines were never fsynced"
            time.sleep(0.01)
        assert calls[-1] == path.stat().st_size == len(path.read_bytes())
    finally:
        j.close()


async def test_a_failed_fsync_cuts_the_unsynced_lines_back_and_writes_them_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail = [True]
    real_fsync = os.fsync

    def flaky_fsync(fd: int) -> None:
        if fail[0]:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(journal_mod.os, "fsync", flaky_fsync)
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j(ev.Note(step_id="s", level="info", text="one"))
    j(ev.Note(step_id="s", level="info", text="two"))
    with pytest.raises(JournalWriteError, match=os.strerror(errno.EIO)):
        await j.flush()
    assert path.read_bytes() == b""  # cut back: no line whose fsync failed stays behind
    fail[0] = False
    j(ev.Note(step_id="s", level="info", text="three"))
    await j.flush()
    j.close()
    assert [e.text for e in read_journal(path) if isinstance(e, ev.Note)] == \
        ["one", "two", "three"]
