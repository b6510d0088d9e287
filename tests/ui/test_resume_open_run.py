"""Resuming while a run is open on the run screen: the palette listed the open run itself
(its journal has no end yet), and choosing it pushed a second run screen, which crashed the app
(DuplicateIds 'run') and left the open run's journal unended (a newcomer trial)."""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine.journal import runs_dir
from pverunbook.runbook.loader import load_file
from pverunbook.session import Session, SessionConfig
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.screens.modals import ErrorModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import CLUSTER, ScriptTransport, until
from tests.ui.test_resume import RUN_ID, _interrupted_journal

SIZE = (140, 40)


def _app(runbook_dir: Path) -> RunbookApp:
    """A rehearsal app whose runs journal where the real app's do (the runs directory), so
    the open run is one ``interrupted_runs`` can see."""
    session = Session(SessionConfig())
    session.cluster = CLUSTER
    session.transport = ScriptTransport()
    return make_app(session.config, runbook_dirs=[runbook_dir], session=session)


async def _open_run(pilot: object, app: RunbookApp, runbook_dir: Path) -> RunScreen:
    rb = load_file(runbook_dir / "ui-test.toml")
    app.start_run(rb, {"api_secret": "s3cr3t-value"})
    await until(pilot, lambda: isinstance(app.screen, RunScreen)
                and app.screen.engine is not None and app.screen.decider.is_waiting,
                "the run open, waiting before its first step")
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


async def test_the_open_run_is_not_offered_and_resuming_it_shows_it(runbook_dir: Path) -> None:
    app = _app(runbook_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_run(pilot, app, runbook_dir)
        assert screen.engine is not None
        run_id = screen.engine.run_id
        journal = runs_dir() / f"{run_id}.jsonl"
        await until(pilot, journal.exists, "the open run's journal")
        assert not [name for name, _, _ in app.palette_commands() if run_id in name]
        app.resume_run(journal)  # what the palette's entry did
        await pilot.pause()
        assert app.screen is screen
        assert sum(isinstance(s, RunScreen) for s in app.screen_stack) == 1
        assert app.return_code is None  # still running: no crash


async def test_another_run_is_not_resumed_over_an_unfinished_one(runbook_dir: Path) -> None:
    await _interrupted_journal(runbook_dir)
    app = _app(runbook_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_run(pilot, app, runbook_dir)
        assert [name for name, _, _ in app.palette_commands() if RUN_ID in name]
        app.resume_run(RUN_ID)
        await until(pilot, lambda: isinstance(app.screen, ErrorModal)
                    and app.screen.query("#error-ok"), "the refusal, drawn")
        assert "Another run is open" in str(app.screen.title_text)  # type: ignore[attr-defined]
        assert sum(isinstance(s, RunScreen) for s in app.screen_stack) == 1
        assert screen.state.finished is None and app.return_code is None


async def test_a_runbook_is_not_started_over_an_unfinished_run(runbook_dir: Path) -> None:
    """The palette's "Runbook: …" closed the open run's screen, which cancelled the run."""
    app = _app(runbook_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_run(pilot, app, runbook_dir)
        assert app.start_runbook("ui-test") is False
        await until(pilot, lambda: isinstance(app.screen, ErrorModal)
                    and app.screen.query("#error-ok"), "the refusal, drawn")
        assert screen in app.screen_stack and screen.state.finished is None
