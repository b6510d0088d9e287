"""A disk that fills up and frees again: no torn line inside the journal, and it says so.

A write that fails half-way left part of a line in the file, and the next append glued an
event onto it — a corrupt line in the middle of the journal. Now a failed write is cut back to
the last whole line, kept, and written first once there is room; the error names the full disk.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.engine import events as ev
from pverunbook.engine import journal as journal_mod
from pverunbook.engine.journal import Journal, JournalWriteError, read_journal


class Disk:
    """os.write that stores at most ``room`` more bytes, then fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = os.write

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = self.real(fd, bytes(data[: self.room]))
        self.room -= n
        return n


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    data = path.read_bytes() if path.exists() else b""
    assert data == b"" or data.endswith(b"\n"), "a torn line was left at the end"
    return [json.loads(line) for line in data.splitlines()]


@settings(max_examples=40, deadline=None)
@given(room=st.integers(0, 600), before=st.integers(0, 4), during=st.integers(1, 4))
async def test_a_full_disk_leaves_only_whole_lines_and_nothing_is_lost_once_it_frees(
        tmp_path_factory: pytest.TempPathFactory, room: int, before: int, during: int) -> None:
    path = tmp_path_factory.mktemp("j") / "run.jsonl"
    j = Journal(path)
    disk = Disk(10**9)
    mp = pytest.MonkeyPatch()
    mp.setattr(journal_mod.os, "write", disk.write)
    try:
        for i in range(before):
            j(ev.Note(text=f"before {i}"))
        await j.flush()
        disk.room = room  # the disk fills up part-way through the next batch
        for i in range(during):
            j(ev.Note(text=f"during {i} " + "x" * 50))
        try:
            await j.flush()
            full = False
        except JournalWriteError as exc:
            full = True
            assert "the disk is full" in str(exc) and str(path) in str(exc)
        texts = [d["text"] for d in _lines(path)]  # only whole lines, whatever was cut
        assert texts[:before] == [f"before {i}" for i in range(before)]
        if full:
            assert len(texts) == before  # the failed batch was cut back entirely
        disk.room = 10**9  # space is freed
        j(ev.Note(text="after"))
        await j.flush()
    finally:
        mp.undo()
        j.close()
    texts = [d["text"] for d in _lines(path)]
    assert texts == [f"before {i}" for i in range(before)] + \
        [f"during {i} " + "x" * 50 for i in range(during)] + ["after"]
    assert [e.text for e in read_journal(path) if isinstance(e, ev.Note)] == texts
