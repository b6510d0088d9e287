"""route-fix's rollback puts back the route it deleted, not a route with the defaults.

The timer ran ``ip route replace DEST via GATEWAY``: a host route that had ``proto static
src … metric 100`` came back as ``DEST via GATEWAY dev vmbr0`` — another route (another metric
decides which route wins), reported as "restored". Now the timer records the route's own
``ip route`` line right before the deletion and replaces exactly that line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ROLLED_BACK, ConfirmRequest, Refusal
from tests.sim.rehearsal import rehearsal, run_on
from tests.sim.test_route_fix_absent_route import Operator, route_fix

pytest.importorskip("asyncssh")

ROUTE = "192.168.4.201 via 192.168.4.1 dev vmbr0 proto static src 192.168.4.200 metric 100"


class RollBackNow(Operator):
    """Confirms the deletion, then answers the COMMIT question with "Roll back now"."""

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            return Refusal(ROLLED_BACK, now=True)
        return await super().confirm(request)


async def test_the_rollback_puts_the_route_back_with_its_attributes(tmp_path: Path) -> None:
    async with rehearsal(tmp_path) as session:
        await run_on(session, "ryanrishi", f"ip route replace {ROUTE}")
        before = await run_on(session, "ryanrishi", "ip route show exact 192.168.4.201")
        operator = RollBackNow(session)
        _status, events, _ = await route_fix(
            session, tmp_path, {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                "via": "192.168.4.1"}, operator=operator)
        after = await run_on(session, "ryanrishi", "ip route show exact 192.168.4.201")
    assert before.strip() == ROUTE, before  # the rehearsal's ip route keeps what was given
    assert after == before, (before, after)
    timers = [(t.state, t.message) for t in events if isinstance(t, ev.RollbackTimer)]
    assert [s for s, _ in timers][:2] == ["armed", "fired"], timers
    assert f"ip route replace {ROUTE}" in timers[0][1], timers[0]


async def test_the_commit_question_says_the_route_comes_back_not_a_checkpoint(
        tmp_path: Path) -> None:
    """route-fix's timer restores no file: it puts back the route it recorded. Its COMMIT
    question and its rolled-back note said "restores checkpoint …" (a newcomer trial)."""
    async with rehearsal(tmp_path) as session:
        await run_on(session, "ryanrishi", f"ip route replace {ROUTE}")
        operator = RollBackNow(session)
        _status, events, _ = await route_fix(
            session, tmp_path, {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                "via": "192.168.4.1"}, operator=operator)
    asked = [e.prompt for e in events
             if isinstance(e, ev.ConfirmationRequested) and e.what == "commit"]
    assert asked and "restores checkpoint" not in asked[0], asked
    assert (f"puts back what it recorded before the change (ip route replace {ROUTE})"
            in asked[0]), asked[0]
    notes = [e.text for e in events if isinstance(e, ev.Note) and "rolled back by" in e.text]
    assert notes and "put back what they recorded before the change" in notes[0], notes
