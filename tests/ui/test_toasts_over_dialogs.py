"""Trial 14 at 80×24: the run screen's notices ("Read-only steps / Paused before step N…",
"Step failed") lay over the dialog that opened next, stacked (two identical ones at times),
and hid part of a confirmation's command list. A dialog opening clears them; an identical
notice replaces the one shown instead of stacking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets._toast import Toast

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.confirm_modal import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import to_run_screen, until

Build = Callable[..., RunbookApp]
PAUSED = "Paused before step 3 “Raise the totem token timeout”: it changes the cluster."


async def test_identical_notices_do_not_stack(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        for _ in range(2):
            app.notify(PAUSED, title="Read-only steps", timeout=600)
        app.notify("Another notice.", title="Other", timeout=600)
        await until(pilot, lambda: len(run.query(Toast)) >= 2, "the toasts")
        await pilot.pause()
        assert [(n.title, n.message) for n in app._notifications] == [
            ("Read-only steps", PAUSED), ("Other", "Another notice.")]
        assert len(run.query(Toast)) == 2


async def test_a_dialog_opening_clears_the_notices_over_it(build_app: Build,
                                                           runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        app.notify(PAUSED, title="Read-only steps", timeout=600)
        await until(pilot, lambda: len(run.query(Toast)) == 1, "the notice")
        step = run.runbook.step("tune")
        # a notice just before the question (the step's failure, then its question) too
        app.notify("The run waits for your answer.", title="Step failed", timeout=600)
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "destructive", "Type pve001 to run it", "pve001", ("pve001",))),
            exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        modal = app.screen
        await until(pilot, lambda: len(app._notifications) == 0 and not modal.query(Toast),
                    "the notices cleared")
        app.notify("Said while the dialog is open.", title="News")  # still shown
        await until(pilot, lambda: len(modal.query(Toast)) == 1, "a later notice")
