"""After network-triage (a run that changes nothing) the summary's first and focused button is
the runbook its diagnosis proposes, and Tab goes through the buttons in the order they are
shown. The check button led ("Run next: cluster health check"), the proposed route-fix was a
screen lower, and Tab from it reached a QDevice form (trial 13). After a run that changed the
cluster the check still comes first."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button

from pverunbook.engine.events import RunFinished
from pverunbook.pve.diagnosis.model import Diagnosis, Fault, NextRunbook
from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.model import RunState
from pverunbook.ui.screens.summary import SummaryScreen
from tests.ui.conftest import start_ready, until

Build = Callable[..., RunbookApp]
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"

ROUTE = Fault("route-via-gateway", "corosync traffic from ryanrishi to pve001 is routed through "
              "192.168.4.1", "critical", "high", "delete the host route",
              next_runbook=NextRunbook("route-fix", {"route_node": "ryanrishi"}))
PARTITION = Fault("partition", "the cluster is partitioned", "critical", "high",
                  "add a QDevice", next_runbook=NextRunbook("qdevice-setup"))


async def _summary(app: RunbookApp, pilot: object, runbook: Path) -> SummaryScreen:
    await until(pilot, lambda: start_ready(app), "start")
    state = RunState(load_file(runbook))
    for sv in state.steps:
        sv.state = "ok"
    state.finished = RunFinished(status="ok", duration=9.0)
    await app.push_screen(SummaryScreen(state, None,
                                        diagnosis=Diagnosis(faults=(ROUTE, PARTITION))))
    await until(pilot, lambda: bool(app.screen.query("#diagnosis-title")), "diagnosis")
    screen = app.screen
    assert isinstance(screen, SummaryScreen)
    return screen


async def test_triage_proposes_its_runbook_first_and_tab_follows_the_screen(
        build_app: Build, runbook_dir: Path) -> None:
    shutil.copy(SHIPPED / "cluster-health-check.toml", runbook_dir)
    app = build_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _summary(app, pilot, SHIPPED / "network-triage.toml")
        buttons = list(screen.query(Button))
        top = screen.query_one("#run-next-top", Button)
        assert buttons[0] is top
        assert str(top.label) == "Run next: route-fix (route_node = ryanrishi)"
        await until(pilot, lambda: app.focused is top, "the proposal focused")
        shown = sorted(buttons, key=lambda b: b.region.y)
        assert shown == buttons and shown[1].id == "run-next-check"
        seen = []
        for _ in buttons[1:]:
            await pilot.press("tab")
            seen.append(app.focused)
        assert seen == buttons[1:]


async def test_after_a_run_that_changed_the_cluster_the_check_comes_first(
        build_app: Build, runbook_dir: Path) -> None:
    shutil.copy(SHIPPED / "cluster-health-check.toml", runbook_dir)
    app = build_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _summary(app, pilot, SHIPPED / "route-fix.toml")
        assert not screen.query("#run-next-top")
        first = list(screen.query(Button))[0]
        assert first.id == "run-next-check"
        await until(pilot, lambda: app.focused is first, "the check focused")
        assert app.suggestion is not None \
            and app.suggestion.runbook_id == "cluster-health-check"
