"""Snapshots at 80×24 of the health check's result: the story's faults in the order to fix
them, the proposed next runbook focused (Enter runs it), and the healthy verdict."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot

from pverunbook.engine.events import Finding, RunFinished
from pverunbook.pve.diagnosis.check import check_diagnose
from pverunbook.pve.diagnosis.model import Diagnosis
from pverunbook.pve.facts import Fact
from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.model import RunState
from pverunbook.ui.screens.summary import SummaryScreen
from tests.ui.conftest import start_ready, until

Build = Callable[..., RunbookApp]
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks" / "cluster-health-check.toml"
N = ("ryanrishi", "pve001")


def story_diagnosis() -> Diagnosis:
    """The check's diagnosis of the story's cluster, from the facts its steps read there."""
    facts = [
        Fact("route.via", "192.168.4.1", "ryanrishi", "pve001",
             "192.168.4.201 via 192.168.4.1 dev vmbr0 src 192.168.4.200 uid 0", "route"),
        Fact("route.host_route", "192.168.4.201 via 192.168.4.1 dev vmbr0", "ryanrishi",
             "pve001", "192.168.4.201 via 192.168.4.1 dev vmbr0", "route"),
        Fact("route.on_link", True, "ryanrishi", "pve001", "", "route"),
        Fact("route.via", "", "pve001", "ryanrishi", "", "route"),
        Fact("journal.link_down", 70, "ryanrishi", "pve001", "link: host: 2 link: 0 is down",
             "corosync-journal"),
        *(Fact("quorum.quorate", False, n, None, "Quorate: No", "quorum") for n in N),
        Fact("vm.running", "101 108", "ryanrishi", None, "2 kvm process(es)", "vms"),
        Fact("vm.running", "104 110", "pve001", None, "2 kvm process(es)", "vms"),
        *(Fact("vm.configs_readable", True, n, None, "0 config(s) listed", "vms") for n in N),
        *(Fact("cert.present", False, n, None, "Could not open file", "certs") for n in N),
    ]
    return check_diagnose(facts, nodes=N)


def _show(app: RunbookApp, runbook_dir: Path, diag: Diagnosis,
          findings: Sequence[Finding] = ()) -> Callable[[Pilot], object]:
    async def run_before(pilot: Pilot) -> None:
        await until(pilot, lambda: start_ready(app), "start")
        rb = load_file(runbook_dir / "cluster-health-check.toml")
        state = RunState(rb)
        for sv in state.steps:
            sv.state = "ok"
        for f in findings:
            state.apply(f)
        state.finished = RunFinished(status="ok", duration=9.0)
        await app.push_screen(SummaryScreen(state, None, diagnosis=diag))
        await until(pilot, lambda: bool(app.screen.query("#diagnosis-title")), "diagnosis")
        await pilot.pause()
        await pilot.pause()

    return run_before


def test_check_result_with_the_story_faults(snap_compare: Callable[..., bool],
                                            build_app: Build, runbook_dir: Path) -> None:
    shutil.copy(SHIPPED, runbook_dir / SHIPPED.name)
    app = build_app()
    diag = story_diagnosis()
    # the first check measures nothing: the routed path goes to network-triage first
    assert next(f.next_runbook.runbook for f in diag.faults if f.next_runbook) == \
        "network-triage"
    assert snap_compare(app, terminal_size=(80, 24), run_before=_show(app, runbook_dir, diag))


def test_check_result_healthy(snap_compare: Callable[..., bool], build_app: Build,
                              runbook_dir: Path) -> None:
    shutil.copy(SHIPPED, runbook_dir / SHIPPED.name)
    app = build_app()
    diag = Diagnosis(faults=(), healthy=("clocks agree within 0 s",))
    # the last hour's journal still holds the outage's token losses (its verdict: critical):
    # next to "healthy" they read as history, never "! Finished — findings … critical"
    lost = Finding(step_id="corosync-journal", node="ryanrishi", severity="critical",
                   title="token lost 12 time(s), token late 30 time(s) in 41m")
    assert snap_compare(app, terminal_size=(80, 24),
                        run_before=_show(app, runbook_dir, diag, [lost]))
