"""Decisions taken from facts, in rehearsal over real SSH against the simulated cluster.

- corosync-tuning never runs `pvecm expected 1` while another node's corosync runs: not on a
  steadily quorate cluster, not on the story's flapping two-node cluster, and not on a node that
  is cut off while the other two of three are quorate (there votequorum would accept it and make
  a second quorate partition). `expected-one`'s `when` is decided before any confirmation.
- With one node's corosync stopped during the change, the runbook says what that node needs
  (the new local file by hand, then start): the token reaches the running corosync on every
  node, checked with `corosync-cmapctl -g totem.token`.
- cluster-db-reset proposes the damaged node from the integrity check (`db.integrity`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from tests.sim.rehearsal import builtin, run_engine, run_on, start_session

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types exactly what each confirmation asks for, and records what was asked."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(manual=True, **kw)
        self.requests: list[ConfirmRequest] = []

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.requests.append(request)
        return request.expected


async def rehearse(session: Session, tmp_path: Path, runbook: str,
                   sets: dict[str, str] | None = None) -> tuple[str, list[ev.Event], Operator]:
    assert session.cluster is not None
    rb = builtin(runbook)
    values, _ = resolve(rb, sets or {}, nodes=session.cluster.names)
    operator = Operator(params=sets or {})
    status, events = await run_engine(session, rb, operator, values,
                                      tmp_path / f"{runbook}.jsonl")
    return status, events, operator


def facts(events: list[ev.Event]) -> dict[str, object]:
    return {f"{r['name']}[{r['node']}]": r["value"] for e in events
            if isinstance(e, ev.FactsObserved) for r in e.facts}


def commands_run(events: list[ev.Event]) -> list[str]:
    return [e.command for e in events if isinstance(e, ev.CommandStarted)]


async def test_steady_cluster_is_never_asked_to_confirm_expected_one(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        status, events, operator = await rehearse(session, tmp_path, "corosync-tuning",
                                                  {"token": "8000"})
        votes = await run_on(session, "ryanrishi", "pvecm status")
        tokens = {n: await run_on(session, n, "corosync-cmapctl -g totem.token")
                  for n in ("ryanrishi", "pve001")}
    finally:
        await session.close()
    assert status == "ok"
    assert facts(events)["quorum.steady[ryanrishi]"] is True
    assert facts(events)["quorum.steady[pve001]"] is True  # sampled on every node
    asked = {r.step.id for r in operator.requests}
    assert "expected-one" not in asked
    assert "apply" in asked  # the change itself is still confirmed
    skipped = {e.step_id: e.reason for e in events if isinstance(e, ev.StepSkipped)}
    assert "quorum.quorate = true, true" in skipped["expected-one"]
    assert "others-down" in skipped and "catch-up-stopped" in skipped
    requested = [e.step_id for e in events if isinstance(e, ev.ConfirmationRequested)]
    assert "expected-one" not in requested
    assert not any("pvecm expected" in c for c in commands_run(events))
    assert "Expected votes:   2" in votes
    assert tokens == {n: "totem.token (u32) = 8000\n" for n in tokens}


async def test_flapping_two_node_cluster_never_lowers_the_expected_votes(
        tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-outage")
    try:
        status, events, operator = await rehearse(session, tmp_path, "corosync-tuning",
                                                  {"token": "10000"})
        votes = await run_on(session, "ryanrishi", "corosync-quorumtool -s")
    finally:
        await session.close()
    # the peer's corosync runs: whatever quorum did during the samples, no lowering
    assert facts(events)["corosync.running[pve001]"] is True
    assert "expected-one" not in {r.step.id for r in operator.requests}
    assert not any("pvecm expected" in c for c in commands_run(events))
    skipped = {e.step_id for e in events if isinstance(e, ev.StepSkipped)}
    assert {"others-down", "expected-one"} <= skipped
    assert "Expected votes:   1" not in votes


async def test_cut_off_first_node_never_gets_expected_one_and_nothing_changes(
        tmp_path: Path) -> None:
    """The lab's finding: ryanrishi (the inventory's first node) cut off while pve001 and
    pve002 are quorate. votequorum WOULD accept `pvecm expected 1` there (tests/sim
    test_votequorum_reload); the runbook must not run it, and stops before any change."""
    session = await start_session(tmp_path, "three-node-cut-off")
    try:
        status, events, operator = await rehearse(session, tmp_path, "corosync-tuning",
                                                  {"token": "5000"})
        quorum = {n: await run_on(session, n, "corosync-quorumtool -s")
                  for n in ("ryanrishi", "pve001", "pve002")}
        version = await run_on(session, "pve001", "grep config_version /etc/pve/corosync.conf")
        split = session.sim.split_brain if session.sim is not None else None
    finally:
        await session.close()
    f = facts(events)
    assert f["quorum.quorate[pve001]"] is True and f["quorum.quorate[pve002]"] is True
    assert f["quorum.quorate[ryanrishi]"] is False
    assert not any("pvecm expected" in c for c in commands_run(events))
    assert "expected-one" not in {r.step.id for r in operator.requests}
    finished = {e.step_id: (e.status, e.message) for e in events
                if isinstance(e, ev.StepFinished)}
    assert finished["acting-node"][0] == "failed"
    assert "apply" not in finished and status != "ok"
    assert "Quorate:          No" in quorum["ryanrishi"]
    assert "Expected votes:   3" in quorum["ryanrishi"]
    assert version.split() == ["config_version:", "5"]
    assert split is False


class CatchUpOperator(Operator):
    """Does what `catch-up-stopped` asks on the node whose corosync was stopped: copies the new
    local corosync.conf from a node that has it, then starts corosync."""

    def __init__(self, session: Session, stopped: str, source: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.session, self.stopped, self.source = session, stopped, source

    async def manual_done(self, step: Any, instructions: str) -> bool:
        if step.id == "catch-up-stopped":
            new = await run_on(self.session, self.source, "cat /etc/corosync/corosync.conf")
            assert self.session.cluster is not None and self.session.transport is not None
            await self.session.transport.write_file(
                self.session.cluster.node(self.stopped), "/etc/corosync/corosync.conf",
                new.encode(), timeout=30)
            await run_on(self.session, self.stopped, "systemctl start corosync")
        return await super().manual_done(step, instructions)


async def test_token_reaches_every_node_with_one_corosync_stopped_during_the_change(
        tmp_path: Path) -> None:
    session = await start_session(tmp_path, "three-node")
    try:
        await run_on(session, "pve002", "systemctl stop corosync")
        assert session.cluster is not None
        rb = builtin("corosync-tuning")
        values, _ = resolve(rb, {"token": "5000"}, nodes=session.cluster.names)
        operator = CatchUpOperator(session, "pve002", "ryanrishi", params={"token": "5000"})
        status, events = await run_engine(session, rb, operator, values,
                                          tmp_path / "tuning.jsonl")
        tokens = {n: await run_on(session, n, "corosync-cmapctl -g totem.token")
                  for n in ("ryanrishi", "pve001", "pve002")}
    finally:
        await session.close()
    first_seen = next(r["value"] for e in events if isinstance(e, ev.FactsObserved)
                      for r in e.facts
                      if r["name"] == "corosync.running" and r["node"] == "pve002")
    assert first_seen is False  # the quorum step saw it stopped
    assert "manual:catch-up-stopped" in operator.asked
    assert not any("pvecm expected" in c for c in commands_run(events))
    failed = {e.step_id: e.message for e in events
              if isinstance(e, ev.StepFinished) and e.status not in ("ok", "skipped")}
    # only the read-only looks before the change failed, on the stopped node; every check
    # after the change passed on all three nodes
    assert status == "completed_with_failures"
    assert failed == {"quorum": "pve002: failed", "runtime-token": "pve002: failed"}
    finished = [e.step_id for e in events if isinstance(e, ev.StepFinished)]
    assert {"apply", "verify-local-copy", "reload-all", "verify-token",
            "verify-quorum"} <= set(finished)
    assert tokens == {n: "totem.token (u32) = 5000\n" for n in tokens}


async def test_cluster_db_reset_proposes_the_node_whose_integrity_check_failed(
        tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-healthy")
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
    assert proposed.reason.startswith("the database failed its integrity check on pve001")
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
