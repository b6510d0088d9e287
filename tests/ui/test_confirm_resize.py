"""A typed confirmation's field stays in view when the console is resized: the dialog
scrolls, and after a shrink (a window made smaller, a laptop's console split) the field the
operator types into was scrolled out of the dialog, the focus still in it, typing blind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until


def _field_in_view(modal: ConfirmModal) -> bool:
    field = modal.query_one("#confirm-input", Input)
    box = modal.query_one("#confirm-dialog").content_region
    r = field.region
    return r.height > 0 and box.contains_region(r)


async def _settled(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.pause()


async def test_the_confirmation_field_stays_in_view_after_a_resize(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(120, 40)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        got: list[Any] = []
        changes = "\n".join(f"echo token=5000 > /etc/pve/part{i}.conf" for i in range(12))

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                step, "destructive", "Type 'nyc'", "nyc", ("ryanrishi", "pve001"),
                changes=changes)))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "confirm")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await _settled(pilot)
        assert modal.focused is modal.query_one("#confirm-input")
        assert _field_in_view(modal)
        for size in ((60, 20), (80, 24), (60, 20)):
            await pilot.resize_terminal(*size)
            await _settled(pilot)
            assert _field_in_view(modal), f"the field is out of view at {size}"
        await pilot.press(*"nyc", "enter")
        await until(pilot, lambda: got != [], "the answer")
        assert got == ["nyc"]
