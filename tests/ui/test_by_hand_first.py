"""The check's result when the next runbook would stop on a fault no runbook fixes: it says
what to fix by hand first, and its button reads "Then run" (a newcomer on the wiped three-node
cluster pressed "Run next: vm-config-recovery" and it failed at its third step: storage.cfg
was still gone)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, Static

from pverunbook.engine.events import RunFinished
from pverunbook.pve.diagnosis.model import Diagnosis, Fault, NextRunbook
from pverunbook.run_diagnosis import runbook_stops
from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.model import RunState
from pverunbook.ui.screens.summary import SummaryScreen
from tests.ui.conftest import start_ready, until
from tests.ui.test_check_snapshot import SHIPPED

Build = Callable[..., RunbookApp]

STORAGE = Fault("storage-cfg-missing", "/etc/pve/storage.cfg is gone", "critical", "high",
                "restore it from a copy of config.db")
VMS = Fault("vm-without-config", "VM 110 runs on pve002 with no config", "critical", "high",
            "rebuild it", next_runbook=NextRunbook("vm-config-recovery"))


async def _summary(app: RunbookApp, pilot: object, runbook_dir: Path,
                   diag: Diagnosis) -> SummaryScreen:
    await until(pilot, lambda: start_ready(app), "start")
    state = RunState(load_file(runbook_dir / "cluster-health-check.toml"))
    for sv in state.steps:
        sv.state = "ok"
    state.finished = RunFinished(status="ok", duration=9.0)
    await app.push_screen(SummaryScreen(state, None, diagnosis=diag))
    await until(pilot, lambda: bool(app.screen.query("#diagnosis-title")), "diagnosis")
    screen = app.screen
    assert isinstance(screen, SummaryScreen)
    return screen


async def test_the_manual_fix_the_next_runbook_waits_on_is_said_first(
        build_app: Build, runbook_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the shipped runbooks' stops (the UI tests' catalog has no built-in runbooks)
    monkeypatch.setattr("pverunbook.runbook.catalog.builtin_dir", lambda: SHIPPED.parent)
    assert "storage-cfg-missing" in runbook_stops()["vm-config-recovery"]
    shutil.copy(SHIPPED, runbook_dir / "cluster-health-check.toml")
    app = build_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _summary(app, pilot, runbook_dir, Diagnosis(faults=(STORAGE, VMS)))
        first = str(screen.query_one("#by-hand-first", Static).render())
        assert first.startswith("First by hand: #1 (/etc/pve/storage.cfg is gone)")
        assert "vm-config-recovery stops while it is so" in first
        assert str(screen.query_one("#run-next-top", Button).label) == \
            "Then run: vm-config-recovery"
        assert app.suggestion is not None and app.suggestion.runbook_id == "vm-config-recovery"
        assert app.suggestion.why.startswith("First by hand: #1")


async def test_without_such_a_fault_it_is_run_next_as_before(build_app: Build,
                                                            runbook_dir: Path) -> None:
    shutil.copy(SHIPPED, runbook_dir / "cluster-health-check.toml")
    app = build_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _summary(app, pilot, runbook_dir, Diagnosis(faults=(VMS, STORAGE)))
        assert not screen.query("#by-hand-first")
        assert str(screen.query_one("#run-next-top", Button).label) == \
            "Run next: vm-config-recovery"
