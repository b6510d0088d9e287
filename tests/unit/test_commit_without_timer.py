"""The COMMIT question when a node of the step has no live rollback timer.

A resume found pve001's timer ``armed`` with its process gone (killed, or a reboot) and the
others' still counting down: the question said "has run on ryanrishi, pve002" and dropped
pve001 without a word, though its corosync.conf is changed too; "Roll back now" restored two
nodes and left the third changed (newcomer trial 10). The question now says which node keeps
the change whatever the answer, that only COMMIT leaves every node alike, and what settles it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.engine.rollback import Armed, Pending, _ask_commit, no_timer_warning
from pverunbook.runbook.loader import load_text

BOOK = '''
id = "rb"
title = "Tune"
[[steps]]
id = "apply"
title = "Apply corosync.conf"
targets = "all"
destructive = true
confirm = "nyc"
commands = ["true"]
commit_within = 60
commit_checks = ["check"]
[steps.backup]
files = ["/etc/pve/corosync.conf"]
[[steps]]
id = "check"
title = "Quorate"
kind = "check"
targets = "all"
commands = ["true"]
'''


class FakeEngine:
    """What _ask_commit uses of the engine: events, durability, the decider, the operator."""

    def __init__(self) -> None:
        self.seen: list[ev.Event] = []
        self.asked: list[ConfirmRequest] = []
        self.operator = "ryan"
        self.decider = self

    def emit(self, e: ev.Event) -> None:
        self.seen.append(e)

    async def durable(self) -> None:
        return None

    async def confirm(self, request: ConfirmRequest) -> Any:
        self.asked.append(request)
        return "no"  # not COMMIT: nothing is disarmed, no node is reached


def _pending(no_timer: list[str]) -> Pending:
    step = load_text(BOOK).step("apply")
    soon = time.time() + 120
    armed = [Armed(n, f"cp-{n}", soon, soon, "cp", ("/etc/pve/corosync.conf",))
             for n in ("ryanrishi", "pve002")]
    return Pending(step, "cp", armed, [], ["check"], no_timer=no_timer)


def test_the_commit_question_names_the_node_without_a_timer() -> None:
    engine = FakeEngine()
    assert asyncio.run(_ask_commit(engine, _pending(["pve001"]))) is False  # type: ignore[arg-type]
    (request,) = engine.asked
    assert request.nodes == ("ryanrishi", "pve002")
    for said in (request.warning, request.prompt):
        assert "On pve001 the rollback timer is gone" in said, said
        assert "the change stays on pve001 whatever you answer" in said, said
        assert "COMMIT keeps it on every node, alike" in said, said
        assert "restores ryanrishi, pve002 only and leaves pve001 changed" in said, said
        assert "rollback-settle with checkpoint=cp" in said, said
    asked = [e for e in engine.seen if isinstance(e, ev.ConfirmationRequested)]
    assert "On pve001 the rollback timer is gone" in asked[0].prompt


def test_every_node_with_a_timer_asks_as_before() -> None:
    engine = FakeEngine()
    asyncio.run(_ask_commit(engine, _pending([])))  # type: ignore[arg-type]
    (request,) = engine.asked
    assert request.warning == "" and "timer is gone" not in request.prompt
    assert no_timer_warning(_pending([]), ("ryanrishi", "pve002")) == ""
