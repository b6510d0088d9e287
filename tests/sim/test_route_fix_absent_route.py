"""route-fix on a node without the host route must change nothing — above all, its rollback
must not *add* the route.

A trial ran route-fix on pve001 for ``192.168.4.200 via 192.168.4.1``, a route pve001 never had:
the first step's ``match = 'via'`` was satisfied by ``default via 192.168.4.1`` in ``ip route``,
``ip route del`` failed, and the rollback timer ran ``ip route replace 192.168.4.200 via
192.168.4.1`` — a routed path to a peer that had not existed, reported as "restored the
checkpoint". Now the first step looks for that exact route, and the timer is armed only after
the node showed it right before the deletion (``[steps.rollback] requires``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.runbook.params import ParamValueError, resolve
from pverunbook.session import Session
from tests.sim.rehearsal import builtin, rehearsal, run_engine, run_on, status_of

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types what is asked; ``before_destructive`` runs first (what changes meanwhile)."""

    def __init__(self, session: Session, before_destructive: str = "") -> None:
        super().__init__(manual=True)
        self.session = session
        self.before = before_destructive
        self.asked: list[str] = []

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.asked.append(request.what)
        if request.what == "destructive" and self.before:
            await run_on(self.session, "ryanrishi", self.before)
        return request.expected


async def route_fix(session: Session, tmp_path: Path, sets: dict[str, str], before: str = "",
                    operator: Operator | None = None) -> tuple[str, list[ev.Event], Operator]:
    assert session.cluster is not None
    rb = builtin("route-fix")
    values, _ = resolve(rb, sets, nodes=session.cluster.names)
    operator = operator or Operator(session, before)
    status, events = await run_engine(session, rb, operator, values,
                                      tmp_path / "route-fix.jsonl")
    return status, events, operator


async def test_a_default_route_is_not_the_host_route_so_nothing_is_deleted_or_armed(
        tmp_path: Path) -> None:
    async with rehearsal(tmp_path) as session:
        status, events, operator = await route_fix(
            session, tmp_path, {"route_node": "pve001", "destination": "192.168.4.200",
                                "via": "192.168.4.1"})
        table = await run_on(session, "pve001", "ip route")
    assert "default via 192.168.4.1" in table  # what fooled the old check is there
    assert status_of(events).get("show") == "failed", status_of(events)
    assert "delete" not in status_of(events)
    assert operator.asked == []  # no confirmation asked: nothing destructive came near
    assert not [e for e in events if isinstance(e, ev.RollbackTimer)]
    assert "192.168.4.200" not in table, table
    failed = [e for e in events if isinstance(e, ev.ExpectationResult) and not e.ok]
    assert failed and "no host route" in failed[0].message


async def test_a_route_gone_before_the_deletion_arms_no_timer_and_adds_no_route(
        tmp_path: Path) -> None:
    """The route is there when the first step and the guard look, and gone by the time the
    operator typed the confirmation (someone ran ``ifreload``): the timer is not armed, the
    step does not run, and the node still has no such route afterwards."""
    async with rehearsal(tmp_path) as session:
        status, events, operator = await route_fix(
            session, tmp_path, {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                "via": "192.168.4.1"},
            before="ip route del 192.168.4.201 via 192.168.4.1")
        table = await run_on(session, "ryanrishi", "ip route")
    got = status_of(events)
    assert got.get("show") == "ok" and operator.asked == ["destructive"], got
    assert got.get("delete") == "blocked", got
    timers = [e for e in events if isinstance(e, ev.RollbackTimer)]
    assert [t.state for t in timers] == ["arm_failed"], timers
    assert "is not there now" in timers[0].message
    assert not [e for e in events if isinstance(e, ev.CommandStarted)
                and e.step_id == "delete"]
    assert "192.168.4.201 via" not in table, table


def test_destination_and_gateway_must_be_ip_addresses() -> None:
    rb = builtin("route-fix")
    for name, bad in (("destination", "192.168.4.999"), ("via", "192.168.4.1x"),
                      ("destination", "1.2.3")):
        sets = {"route_node": "pve001", "destination": "192.168.4.201", "via": "192.168.4.1"}
        sets[name] = bad
        with pytest.raises(ParamValueError, match="not an IPv4 or IPv6 address"):
            resolve(rb, sets)
    values, _ = resolve(rb, {"route_node": "pve001", "destination": "fd00::5",
                             "via": "fd00::1"})
    assert values["destination"] == "fd00::5"
