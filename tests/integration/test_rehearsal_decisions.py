"""Decisions taken from facts, in rehearsal over real SSH against the simulated cluster.

- corosync-tuning on a steadily quorate cluster never asks to confirm `pvecm expected 1`: the
  read-only sampling step yields `quorum.steady`, and `expected-one`'s `when` is decided before
  any confirmation. On the broken cluster it acts, and `restore-expected` sets the votes back
  before the run ends.
- cluster-db-reset proposes the damaged node from the integrity check (`db.integrity`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.engine.journal import read_journal
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.params import resolve
from pverunbook.session import Mode, Session, SessionConfig

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types exactly what each confirmation asks for, and records what was asked."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(manual=True, **kw)
        self.requests: list[ConfirmRequest] = []

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.requests.append(request)
        return request.expected


async def start(tmp_path: Path, scenario: str) -> Session:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario=scenario,
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    return session


async def rehearse(session: Session, tmp_path: Path, runbook: str,
                   sets: dict[str, str] | None = None) -> tuple[str, list[ev.Event], Operator]:
    assert session.cluster is not None
    rb = load_file(builtin_dir() / f"{runbook}.toml")
    values, _ = resolve(rb, sets or {}, nodes=session.cluster.names)
    journal = tmp_path / f"{runbook}.jsonl"
    operator = Operator(params=sets or {})
    engine = session.engine(rb, operator, values, journal_path=journal)
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal), operator


async def run_on(session: Session, node: str, command: str) -> str:
    assert session.cluster is not None and session.transport is not None
    out: list[str] = []
    await session.transport.run(session.cluster.node(node), command, timeout=30,
                                on_output=lambda s, t: out.append(t))
    return "".join(out)


def facts(events: list[ev.Event]) -> dict[str, object]:
    return {f"{r['name']}[{r['node']}]": r["value"] for e in events
            if isinstance(e, ev.FactsObserved) for r in e.facts}


async def test_steady_cluster_is_never_asked_to_confirm_expected_one(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        status, events, operator = await rehearse(session, tmp_path, "corosync-tuning",
                                                  {"token": "8000"})
        votes = await run_on(session, "ryanrishi", "pvecm status")
    finally:
        await session.close()
    assert status == "ok"
    assert facts(events)["quorum.steady[ryanrishi]"] is True
    asked = {r.step.id for r in operator.requests}
    assert "expected-one" not in asked and "restore-expected" not in asked
    assert "apply" in asked  # the change itself is still confirmed
    skipped = {e.step_id: e.reason for e in events if isinstance(e, ev.StepSkipped)}
    assert "quorum.steady[ryanrishi] = true" in skipped["expected-one"]
    assert "restore-expected" in skipped
    requested = [e.step_id for e in events if isinstance(e, ev.ConfirmationRequested)]
    assert "expected-one" not in requested
    assert "Expected votes:   2" in votes


async def test_flapping_cluster_lowers_and_restores_expected_votes(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-outage")
    try:
        status, events, operator = await rehearse(session, tmp_path, "corosync-tuning",
                                                  {"token": "10000"})
        votes = await run_on(session, "ryanrishi", "pvecm status")
    finally:
        await session.close()
    if facts(events).get("quorum.steady[ryanrishi]") is True:
        pytest.skip("the flapping link happened to stay quorate for all 18 s of sampling")
    by_step = {r.step.id: r for r in operator.requests}
    assert by_step["expected-one"].expected == "ryanrishi"
    assert by_step["expected-one"].nodes == ("ryanrishi",)
    assert "restore-expected" in by_step
    assert "Expected votes:   1" not in votes
    finished = {e.step_id: e.status for e in events if isinstance(e, ev.StepFinished)}
    assert finished["restore-expected"] == "ok", (status, finished)


async def test_cluster_db_reset_proposes_the_node_whose_integrity_check_failed(
        tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        db = next(p for p in (tmp_path / "sim").rglob("config.db")
                  if "pve001" in p.parts)
        data = bytearray(db.read_bytes())
        data[100:4000] = b"\xff" * 3900  # a damaged page, as a disk error leaves it
        db.write_bytes(bytes(data))
        status, events, operator = await rehearse(session, tmp_path, "cluster-db-reset")
    finally:
        await session.close()
    assert facts(events)["db.integrity[pve001]"] == "damaged"
    assert facts(events)["db.integrity[ryanrishi]"] == "ok"
    (proposed,) = [e for e in events if isinstance(e, ev.ValueProposed)]
    assert proposed.param == "damaged_node" and proposed.value == "pve001"
    assert proposed.reason.startswith("pve001: db.integrity[pve001] = damaged")
    assert "suggested" in proposed.reason
    answers = [e.values for e in events if isinstance(e, ev.ParamsSet)]
    assert {"damaged_node": "pve001"} in answers
    # The destructive steps act on the proposed node only. Their checkpoint copies
    # /var/lib/pve-cluster as it is: SQLite's online backup cannot copy a malformed database,
    # so it no longer blocks the repair of exactly that damage.
    cps = [e for e in events if isinstance(e, ev.CheckpointRequested)]
    assert cps[0].step_id == "stop-cluster-services" and all(c.nodes == ("pve001",)
                                                             for c in cps)
    assert all(e.ok for e in events if isinstance(e, ev.CheckpointTaken))
    started = {e.step_id: e.nodes for e in events if isinstance(e, ev.StepStarted)}
    assert started["stop-cluster-services"] == ("pve001",)
    assert status == "ok", {e.step_id: e.status for e in events
                            if isinstance(e, ev.StepFinished)}
