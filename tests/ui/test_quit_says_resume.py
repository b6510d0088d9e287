"""Leaving the app with a run not finished says on the terminal, after the app is gone, which
run it was and the command that resumes it (the one the headless run prints): the id was only
in the quit question, which went with the app. Nothing is said when nothing is left."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from pverunbook.commands.run_resume import resume_command
from pverunbook.commands.tui import left_to_resume, run_app
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, confirm_ready, summary_ready, to_run_screen, until

Build = Callable[..., RunbookApp]
TUI = argparse.Namespace(command="tui")


async def test_quitting_mid_run_leaves_the_resume_command(build_app: Build,
                                                           runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        run_id, journal = run.engine.run_id, run.engine.journal_path
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        await pilot.press("y")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    lines = left_to_resume(app, TUI)
    assert len(lines) == 2, lines
    assert run_id in lines[0] and "not finished" in lines[0], lines
    # the tests' journal is outside the state directory: it is named by its path
    which = str(journal.resolve())
    assert lines[1] == f"Resume it with: {resume_command(TUI, which)}", lines
    assert lines[1] == f"Resume it with: pverunbook run --resume {which}", lines


async def test_a_run_in_the_state_directory_is_named_by_its_id(
        build_app: Build, runbook_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        run_id = run.engine.run_id
    rb_id, title, status, _ = app.session_runs[run_id]
    from pverunbook.engine.journal import runs_dir

    app.session_runs[run_id] = (rb_id, title, status, runs_dir() / f"{run_id}.jsonl")
    app.run = lambda: None  # type: ignore[method-assign]  # it ran above
    assert run_app(app, argparse.Namespace(command="rehearse")) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"Resume it with: pverunbook rehearse --resume {run_id}", err


async def test_nothing_is_said_when_the_run_ended(build_app: Build,
                                                  runbook_dir: Path) -> None:

    app = build_app(ScriptTransport(), runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        assert left_to_resume(app, TUI)  # going: it would be left to resume
        for step in (1, 2):  # ping, config; then tune and its confirmation
            await pilot.press("n")
            await until(pilot, lambda s=step: run.decider.is_waiting  # type: ignore[misc]
                        and run.state.waiting_index == s, f"step {step + 1}")
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        await pilot.press(*"nyc", "enter")
        await until(pilot, lambda: summary_ready(app), "the summary")
        await app.workers.wait_for_complete()
    assert left_to_resume(app, TUI) == []
    fresh = build_app()
    async with fresh.run_test(size=(80, 24)):
        pass
    assert left_to_resume(fresh, TUI) == []  # no run at all
