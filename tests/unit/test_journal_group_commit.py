"""Group commit: one fsync covers every event queued while the previous one was on its way."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine import journal as journal_mod
from pverunbook.engine.journal import Journal, read_journal


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
