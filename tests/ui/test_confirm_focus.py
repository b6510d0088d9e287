"""A typed confirmation keeps taking the typing after F1's help, Escape out of it, a resize
and a Tab that moved the focus to a button: the operator's letters land in the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.help import HelpScreen
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until


async def test_confirmation_field_takes_input_after_f1_escape_and_resize(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                step, "destructive", "Type 'nyc'", "nyc", ("ryanrishi", "pve001"))))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "confirm")
        modal = app.screen
        await pilot.press("n")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is modal, "back")
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("tab")
        await pilot.press("backspace", *"nyc", "enter")
        await until(pilot, lambda: got != [], "the answer", tries=300)
        assert got == ["nyc"]
