"""While a node's rollback timer restores (state ``firing``) the engine relays its restore log
as it goes (engine/rollback.py ``_await_fired``). The first note that it fired used to quote the
log's last line and the relay then gave that same line again as its own note: now each line of
the log is said once. The relayed line is the one the run screen's status line shows while it
waits (ui/rollback_wait.py), so it is the quote that goes, not the relayed line.

The nodes are scripted here (what the status line and ``cat log`` would answer at each poll); the
engine's waits between polls are cut to nothing.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine import rollback
from pverunbook.engine.rollback import Armed, Pending
from pverunbook.ui.rollback_wait import RollbackWait

NODES = ("ryanrishi", "pve001")


def said(node: str, message: str) -> str:
    """A line as rollback_script ``_say`` writes it to the restore log."""
    return (f"2026-12-07T03:10:29Z {node} pverunbook-rollback[42363] cp-1-{node}: {message}")


WAITING = "/etc/pve/corosync.conf is not writable yet (pmxcfs accepts writes only with quorum)"


class FakeEngine:
    """What ``_await_fired`` uses of the engine: the events it emits, nothing durable."""

    rollback_settle = 600.0

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def emit(self, e: ev.Event) -> None:
        self.events.append(e)

    async def durable(self) -> None:
        return None


async def fire(monkeypatch: pytest.MonkeyPatch, polls: dict[str, list[tuple[str, str]]]
               ) -> list[ev.Event]:
    """Run ``_await_fired`` on nodes whose (state, log) at each poll is scripted."""
    answers = {node: iter(seq) for node, seq in polls.items()}

    async def read_state(engine: Any, a: Armed) -> tuple[str | None, str, bool]:
        return (*next(answers[a.node]), True)  # its process runs

    sleep = asyncio.sleep

    async def no_wait(seconds: float) -> None:
        await sleep(0)

    monkeypatch.setattr(rollback, "_read_state", read_state)
    monkeypatch.setattr(rollback.asyncio, "sleep", no_wait)
    past = time.time() - 1
    armed = [Armed(n, f"cp-1-{n}", past, past, "files", ("/etc/corosync/corosync.conf",))
             for n in polls]
    step: Any = SimpleNamespace(id="tune")
    engine = FakeEngine()
    await rollback._await_fired(engine, Pending(step, "cp-1", armed, []))  # type: ignore[arg-type]
    return engine.events


def notes(events: list[ev.Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, ev.Note)]


async def test_each_line_of_the_restore_log_is_said_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = said("pve001", "restored /etc/corosync/corosync.conf")
    second = said("pve001", f"{WAITING}: retrying every 5 s for up to 300 s")
    third = said("pve001", "restored /etc/pve/corosync.conf")
    events = await fire(monkeypatch, {"pve001": [
        ("firing", f"{first}\n"),
        ("firing", f"{first}\n{second}\n"),
        ("done", f"{first}\n{second}\n{third}\nfinished\n"),
    ]})
    texts = notes(events)
    assert texts[0].startswith("pve001: the rollback is restoring checkpoint cp-1 (state "
                               "'firing'); waiting up to "), texts
    assert texts[1:] == ["pve001: rollback: restored /etc/corosync/corosync.conf",
                         f"pve001: rollback: {WAITING}: retrying every 5 s for up to 300 s"]
    for message in ("restored /etc/corosync/corosync.conf", WAITING):
        assert sum(message in t for t in texts) == 1, (message, texts)
    assert [(e.node, e.state) for e in events if isinstance(e, ev.RollbackTimer)] == [
        ("pve001", "fired")]


async def test_the_status_line_shows_the_line_the_firing_note_left_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    line = said("pve001", f"{WAITING}: retrying every 5 s for up to 300 s")
    events = await fire(monkeypatch, {
        "pve001": [("firing", f"{line}\n"), ("done", f"{line}\nfinished\n")],
        "ryanrishi": [("done", "finished\n")],
    })
    wait = RollbackWait("tune", "cp-1", NODES, deadline=0.0, now=True)
    before_reports = [e for e in events if not isinstance(e, ev.RollbackTimer)]
    for e in before_reports:
        wait.saw(e)
    assert f"(pve001: {WAITING}" in wait.text(), wait.text()
    assert sum(WAITING in t for t in notes(events)) == 1, notes(events)


async def test_an_earlier_failure_is_still_quoted_when_the_last_line_is_relayed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    failed = said("pve001", "restoring /etc/hosts FAILED: no space left on device")
    waiting = said("pve001", f"{WAITING}: retrying every 5 s for up to 300 s")
    events = await fire(monkeypatch, {"pve001": [
        ("firing", f"{failed}\n{waiting}\n"),
        ("failed", f"{failed}\n{waiting}\ngave up\n"),
    ]})
    texts = notes(events)
    assert texts[0].endswith(f"to finish: {failed}"), texts
    assert texts[1] == f"pve001: rollback: {WAITING}: retrying every 5 s for up to 300 s"
    assert sum(WAITING in t for t in texts) == 1, texts


async def test_a_timer_still_restoring_when_the_wait_gives_up_is_not_called_restored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run whose timer was still ``firing`` (its /etc/pve write waiting) when the
    wait gave up said "the rollback timers restored its checkpoint while pverunbook was
    away": the wait now names the nodes it gave up on, and the resume says what is unknown."""
    from pverunbook.engine.rollback_resume import unfinished_text

    async def read_state(engine: Any, a: Armed) -> tuple[str | None, str, bool]:
        if a.node == "pve001":
            return "done", said(a.node, "rollback finished") + "\n", False
        return "firing", said(a.node, WAITING) + "\n", True

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(rollback, "_read_state", read_state)
    monkeypatch.setattr(rollback.asyncio, "sleep", no_wait)
    past = time.time() - 1
    armed = [Armed(n, f"cp-1-{n}", past, past, "files", ("/etc/pve/corosync.conf",))
             for n in NODES]
    engine = FakeEngine()
    engine.rollback_settle = 0.0  # give up at the first poll past the deadline
    step: Any = SimpleNamespace(id="tune")
    left = await rollback._await_fired(engine, Pending(step, "cp-1", armed, []))  # type: ignore[arg-type]
    assert left == ["ryanrishi"]
    states = {e.node: e.state for e in engine.events if isinstance(e, ev.RollbackTimer)}
    assert states == {"pve001": "fired", "ryanrishi": "unknown"}
    text = unfinished_text("apply", left, "/var/log/pverunbook-rollback.log")
    assert "on ryanrishi had not finished restoring" in text and "unknown" in text
    assert "restored its checkpoint" not in text


async def test_a_restore_whose_process_is_gone_twice_is_not_waited_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``firing`` with its process gone at two polls in a row: the restore was interrupted
    (rollback_gone), said at once instead of after the whole wait. Gone at one poll only is a
    restore that ended between reading its state and its process: the next poll says done."""
    line = said("pve001", "restored /etc/corosync/corosync.conf")
    answers = {"pve001": iter([("firing", line, False), ("firing", line, False)]),
               "ryanrishi": iter([("firing", line, False), ("done", f"{line}\nfinished\n",
                                                             False)])}

    async def read_state(engine: Any, a: Armed) -> tuple[str | None, str, bool]:
        return next(answers[a.node])

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(rollback, "_read_state", read_state)
    monkeypatch.setattr(rollback.asyncio, "sleep", no_wait)
    past = time.time() - 1
    armed = [Armed(n, f"cp-1-{n}", past, past, "setsid", ("/etc/corosync/corosync.conf",))
             for n in NODES]
    engine = FakeEngine()
    step: Any = SimpleNamespace(id="tune")
    pending = Pending(step, "cp-1", armed, [])
    left = await rollback._await_fired(engine, pending)  # type: ignore[arg-type]
    assert left == [] and pending.gone == ["pve001"]
    timers = {e.node: e for e in engine.events if isinstance(e, ev.RollbackTimer)}
    assert {n: e.state for n, e in timers.items()} == {"pve001": "unknown",
                                                      "ryanrishi": "fired"}
    text = timers["pve001"].message
    assert text.startswith("pve001: the rollback restoring checkpoint cp-1 was interrupted")
    assert "/etc/corosync/corosync.conf may be half restored on pve001" in text
    assert "run the runbook rollback-settle with checkpoint=cp-1" in text
    assert text in notes(engine.events)
