"""A wrong typed confirmation is quoted back shortened: 400 characters pasted into the
"type ryanrishi" field were quoted whole, six lines of x that pushed the question's top (the
step, the commands, the node) off an 80x24 screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until

Build = Callable[..., RunbookApp]


async def test_a_long_wrong_answer_is_quoted_short(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                step, "destructive", "Type 'nyc' to go ahead", "nyc",
                ("ryanrishi", "pve001"))))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "the question")
        modal = app.screen
        modal.query_one("#confirm-input", Input).value = "x" * 400
        await pilot.press("enter")
        error = str(modal.query_one("#confirm-error", Static).render())
        assert "is not 'nyc': nothing was run" in error
        assert "x" * 41 not in error and "xxx..." in error, error
        await pilot.press("escape")
