"""Quitting in the middle of a run says that the run is left interrupted (not finished),
where, and how to resume it: r on the runbook list, or the command printed on the terminal
once the app has exited (the same text: ``resume_hint.resume_run_command``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Markdown

from pverunbook.commands.tui import left_to_resume
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, confirm_ready, to_run_screen, until

Build = Callable[..., RunbookApp]


def body(app: RunbookApp) -> str:
    modal = app.screen
    assert isinstance(modal, ChoiceModal)
    return modal.body


def said_after_exit(app: RunbookApp) -> str:
    """The command the terminal says once the app has exited (commands/tui.py)."""
    lines = left_to_resume(app, app.cli_args)
    assert len(lines) == 2 and lines[1].startswith("Resume it with: "), lines
    return lines[1].removeprefix("Resume it with: ")


@pytest.mark.parametrize("cli", [
    argparse.Namespace(command="tui", cluster=Path("cluster.toml")),  # a live run
    argparse.Namespace(command="rehearse"),
    argparse.Namespace(command="run", cluster=Path("my cluster.toml"), headless=False),
])
async def test_the_quit_question_says_the_command_the_terminal_says_after_exit(
        build_app: Build, runbook_dir: Path, cli: argparse.Namespace) -> None:
    """The question built its own `pverunbook run --resume ID`, which the terminal's line
    after exit (the headless CLI's resume_command) no longer matched: no --cluster FILE for a
    live run, ``run`` after ``rehearse``, the run's id for a journal outside the state
    directory (the tests' journal is), which only its path finds."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    app.cli_args = cli
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        command = said_after_exit(app)
        assert run.engine.run_id in command or str(run.engine.journal_path.resolve()) in \
            command  # type: ignore[union-attr]
        assert f"`{command}`" in body(app)
        await pilot.press("n")
        await until(pilot, lambda: app.screen is run, "back to the run")


async def test_quit_between_steps_says_the_run_is_left_resumable(build_app: Build,
                                                                  runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        text = body(app)
        assert "left interrupted, not finished" in text
        assert "before step 1 “Ping the peer's ring address”" in text
        assert "**r** on the runbook list" in text
        assert f"`{said_after_exit(app)}`" in text
        assert "simulated cluster stops" in text  # what the session question said before
        assert app.screen.query_one(Markdown).is_mounted
        await pilot.press("n")
        await until(pilot, lambda: app.screen is run, "back to the run")


async def test_quit_while_a_command_runs_says_how_to_resume(build_app: Build,
                                                            runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        await pilot.press("n")
        await until(pilot, lambda: run.state.command_running, "running")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        text = body(app)
        assert "left interrupted, not finished" in text and "at step 1" in text
        assert f"`{said_after_exit(app)}`" in text
        assert "**r** on the runbook list" in text
        await pilot.press("n")
        await until(pilot, lambda: app.screen is run, "back to the run")
        transport.gate.set()


async def test_ctrl_c_in_a_question_asks_to_quit_as_on_the_run_screen(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """Ctrl+C at a manual step's "Done / Not done" did nothing at all (a modal stops the app's
    keys, and Textual's copy found nothing to copy), where on the run screen it asks whether
    to quit. Now it asks there too; Stay goes back to the question, unanswered."""
    from typing import Any

    from pverunbook.ui.quitting import QUIT_TITLES

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.manual_done(run.runbook.step("config"), "Check."))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the manual step")
        manual = app.screen
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal)
                    and app.screen.title_text in QUIT_TITLES, "the quit question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is manual, "back to the manual step")
        assert got == []
        await pilot.press("d")
        await until(pilot, lambda: got == [True], "the answer")


async def test_quit_at_a_destructive_steps_question_says_nothing_of_it_ran(
        build_app: Build, runbook_dir: Path) -> None:
    """Ctrl+C at certificate-regeneration's typed confirmation said the run "stops at step 8
    … (its outcome is checked on resume)", as if the step had run; it was waiting for the
    cluster's name and nothing of it had run (the start screen said so after the quit)."""
    from pverunbook.ui.quitting import QUIT_TITLES
    from pverunbook.ui.screens.modals import ConfirmModal

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        for _ in range(6):
            if isinstance(app.screen, ConfirmModal):
                break
            await until(pilot, lambda: not run.state.command_running, "the step done")
            await pilot.press("n")
            await pilot.pause()
        await until(pilot, lambda: confirm_ready(app), "the question")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal)
                    and app.screen.title_text in QUIT_TITLES, "the quit question")
        text = body(app)
        assert "its outcome is checked on resume" not in text, text
        assert ("at step 3 “Raise the totem token timeout”, waiting for your answer to its "
                "question: nothing of it has run") in text, text
        await pilot.press("n")
