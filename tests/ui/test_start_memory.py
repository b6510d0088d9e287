"""A second launch on the same state directory says what the first one said was still wrong.

The start screen showed the last health check's faults and "Run next" only until the app was
closed: relaunched, it went back to "Where to begin" (runbooks/README.md: "the start screen
says what is still wrong"). And after a run the list put the old suggestion first and the
"▶ run next" health check second."""

from __future__ import annotations

from pathlib import Path

from pverunbook.runbook.catalog import discover
from pverunbook.session import Mode, SessionConfig
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.autopilot import drive_run, start_from_list
from pverunbook.ui.screens.start import StartScreen, ordered
from pverunbook.ui.screens.summary import SummaryScreen
from tests.ui.conftest import form_ready, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
CHECK = "cluster-health-check"


def launch(state: Path) -> RunbookApp:
    config = SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=state, time_scale=0.01)
    app = make_app(config, runbook_dirs=[SHIPPED])
    app.animation_level = "none"
    return app


def guide(app: RunbookApp) -> str:
    return str(app.screen.query_one("#start-guide").render())


async def _run_and_back(pilot: object, app: RunbookApp, runbook: str) -> str:
    """Run ``runbook`` from the list to its summary, back to the list: the guide then."""
    await start_from_list(pilot, app, runbook)  # type: ignore[arg-type]
    await drive_run(pilot, app)  # type: ignore[arg-type]
    summary = app.screen
    assert isinstance(summary, SummaryScreen)
    await until(pilot, lambda: summary.diagnosis is not None, "the diagnosis")
    await pilot.press("b")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to the list")
    await pilot.pause()  # type: ignore[attr-defined]
    return guide(app)


async def _relaunched(state: Path) -> tuple[str, str]:
    """The guide and the first runbook of a fresh launch on ``state``."""
    app = launch(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen)
                    and "Run next" in guide(app), "the last check's Run next", 3000)
        await pilot.pause()
        start = app.screen
        assert isinstance(start, StartScreen) and start.shown[0].runbook is not None
        return guide(app), start.shown[0].runbook.id


async def test_a_relaunch_shows_the_last_checks_faults_and_run_next(tmp_path: Path) -> None:
    state = tmp_path / "rehearsal"
    app = launch(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen), "the rehearsal cluster", 3000)
        after_check = await _run_and_back(pilot, app, CHECK)
        suggested = app.suggestion
    assert "Still wrong" in after_check and "Run next" in after_check, after_check
    assert suggested is not None

    again, first = await _relaunched(state)
    # the same words as before the app was closed: the faults, what to run, and why
    assert again == after_check
    assert first == suggested.runbook_id

    # a runbook ran after the check: the next step of the guided outage is the check again
    app = launch(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "Run next" in guide(app), "Run next", 3000)
        after_triage = await _run_and_back(pilot, app, "network-triage")
        start = app.screen
        # "run next" first, not the old suggestion (the list is still filtered as it was
        # when triage was chosen from it)
        assert isinstance(start, StartScreen) and start.entries[0].runbook is not None
        assert start.entries[0].runbook.id == CHECK
    assert "Run next: Cluster health check" in after_triage, after_triage
    again, first = await _relaunched(state)
    assert first == CHECK
    assert "Run next: Cluster health check" in again and "after Network triage" in again, again
    assert "Still wrong" in again, again


def test_the_suggested_runbook_is_listed_first_even_when_it_is_where_to_begin() -> None:
    entries = discover([SHIPPED])
    ids = [e.runbook.id for e in entries if e.runbook is not None]
    # the list as a previous suggestion left it: certificate-regeneration first
    before = ordered(entries, "certificate-regeneration")
    assert before[0].runbook is not None and before[0].runbook.id == "certificate-regeneration"
    after = ordered(before, CHECK)
    assert after[0].runbook is not None and after[0].runbook.id == CHECK, ids


async def test_a_runbook_picked_from_the_list_starts_from_what_the_check_proposed(
        tmp_path: Path) -> None:
    """route-fix chosen from the list (not through "Run next", which proposed another
    runbook) opened an empty form, three "a value is required", although the last check had
    found route_node, destination and via. The form starts from the check's values."""
    from types import SimpleNamespace

    from pverunbook.pve.diagnosis.model import Fault, NextRunbook
    from pverunbook.ui.screens.params import ParamsScreen

    found = {"route_node": "ryanrishi", "destination": "192.168.4.201", "via": "192.168.4.1"}
    app = launch(tmp_path / "rehearsal")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen) and app.screen.entries,
                    "the start screen", 3000)
        # real faults: the start screen also reads their rule (a session event may redraw
        # it at any moment)
        app.health = SimpleNamespace(faults=[
            Fault("corosync-token-loss", "corosync lost its token", "warning", "medium",
                  "tune the token", next_runbook=None),
            Fault("route-via-gateway", "a host route sends corosync through the gateway",
                  "critical", "high", "delete it",
                  next_runbook=NextRunbook("route-fix", found))])
        app.suggestion = None
        start = app.screen
        assert isinstance(start, StartScreen)
        entry = next(e for e in start.entries
                     if e.runbook is not None and e.runbook.id == "route-fix")
        start.open_entry(entry)
        await until(pilot, lambda: form_ready(app), "the form")
        form = app.screen
        assert isinstance(form, ParamsScreen)
        assert {k: form.given.get(k) for k in found} == found
