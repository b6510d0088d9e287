"""The read-only checks mark each node whose output shows a fault, on the rehearsal cluster.

The health check and network-triage are read-only: their steps do not fail when a node's
output shows a fault, but that node must not read "✔ ok" either. On the story's outage the
route step showed ryanrishi "✔ ok" next to `192.168.4.201 via 192.168.4.1`, the write probe
"✔ ok exit 1" next to `Permission denied`, the certificate step "✔ ok" next to `Could not open
file`; triage failed its steps (a blocking modal) where the check said ok. Both now mark the
node "! finding: …" with the same words, through the runbooks' expectations with a severity
(runbooks/README.md, ``[[steps.expect]]``); a healthy cluster marks no node.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import Runbook
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.ui.model import RunState
from tests.integration.test_rehearsal_runbooks import rehearse

pytest.importorskip("asyncssh")

BOTH = {"ryanrishi", "pve001"}
ROUTE = "finding: Cluster traffic to a peer goes through a gateway"
#: The write probe's answer while corosync churns: refused (no quorum) or, at the moment the
#: membership changes, no answer at all (the outage's hang); either is a finding.
WRITE = ("exit 1, finding: /etc/pve refuses writes here (Permission denied)",
         "exit 124, finding: A write to /etc/pve hung here")


def replay(runbook: str, events: list[ev.Event]) -> RunState:
    """The run screen's model of the run, as the TUI builds it from the same events."""
    state = RunState(load_file(builtin_dir() / f"{runbook}.toml"))
    for e in events:
        if not isinstance(e, ev.OutputChunk):
            state.apply(e)
    return state


def marks(state: RunState) -> dict[str, dict[str, str]]:
    """step id → {node: outcome} of every node marked "! finding" in that step."""
    out: dict[str, dict[str, str]] = {}
    for sv in state.steps:
        marked = {n: r.outcome for n, r in sv.results.items() if r.status == "findings"}
        if marked:
            out[sv.step.id] = marked
    return out


def unwritable(events: list[ev.Event]) -> set[str]:
    """Nodes whose write probe said /etc/pve does not take writes (the diagnosis's fact)."""
    return {f["node"] for e in events if isinstance(e, ev.FactsObserved)
            and e.step_id == "pve-write" for f in e.facts
            if f["name"] == "pmxcfs.writable" and f["value"] is False}


def failed(state: RunState) -> list[str]:
    return [sv.step.id for sv in state.steps if sv.state not in ("ok", "skipped")]


async def test_the_story_marks_each_faulty_node_in_the_check_and_in_triage(
        tmp_path: Path) -> None:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="nyc-outage",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        await _story(tmp_path, session)
    finally:
        await session.close()


async def _story(tmp_path: Path, session: Session) -> None:
    _, events, _ = await rehearse(tmp_path, "cluster-health-check", session=session)
    check = marks(replay("cluster-health-check", events))
    assert failed(replay("cluster-health-check", events)) == []
    # the host route is on ryanrishi only: pve001 answers directly and stays ✔
    assert set(check["route"]) == {"ryanrishi"}
    assert check["route"]["ryanrishi"].startswith(ROUTE)
    # the link flaps: at the moment of the probe a node may be quorate and writable; the
    # mark follows what its own output said, as the diagnosis reads it
    assert set(check.get("pve-write", {})) == unwritable(events)
    assert all(o.startswith(WRITE) for o in check.get("pve-write", {}).values()), check
    assert set(check["certs"]) == BOTH and all(
        "certificate (pve-ssl.pem) is missing" in o for o in check["certs"].values())
    assert set(check["vms"]) == BOTH and all(
        "A VM runs on this node without a config" in o for o in check["vms"].values())
    # /etc/pve is mounted and answers on both nodes: nothing to mark there
    assert "pve-mount" not in check and "db-integrity" not in check and "clock" not in check

    _, events, _ = await rehearse(tmp_path, "network-triage", session=session)
    triage_state = replay("network-triage", events)
    triage = marks(triage_state)
    # read-only: no step fails on what it found; the same fault reads the same as in the check
    assert failed(triage_state) == []
    assert set(triage["route"]) == {"ryanrishi"}
    assert triage["route"]["ryanrishi"] == check["route"]["ryanrishi"]
    assert set(triage.get("pve-write", {})) == unwritable(events)
    assert all(o.startswith(WRITE) for o in triage.get("pve-write", {}).values()), triage


def test_the_check_and_triage_declare_the_same_faults_alike() -> None:
    """Where both runbooks run the same probe, a fault reads the same in both."""
    check = load_file(builtin_dir() / "cluster-health-check.toml")
    triage = load_file(builtin_dir() / "network-triage.toml")
    for step in ("route", "pve-write"):
        def declared(rb: Runbook, step: str = step) -> list[tuple[str | None, str, str]]:
            return [(x.absent, x.severity, x.message) for x in rb.step(step).expect]
        assert declared(check) and declared(check) == declared(triage)
        assert all(sev for _, sev, _ in declared(check))


@pytest.mark.parametrize("runbook", ["cluster-health-check", "network-triage"])
async def test_a_healthy_cluster_marks_no_node(tmp_path: Path, runbook: str) -> None:
    _, events, _ = await rehearse(tmp_path, runbook, scenario="nyc-healthy")
    state = replay(runbook, events)
    assert marks(state) == {}
    assert failed(state) == []
    assert all(r.status == "ok" for sv in state.steps for r in sv.results.values())
