"""A notification over a question (back from the $ shell at a manual step's "Done / Not
done") never covers the question's buttons, at 80×24 too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Button
from textual.widgets._toast import Toast

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import to_run_screen, until


async def test_toasts_leave_the_buttons_of_a_question_visible(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("config")
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.manual_done(step, "Check the cables.\n\n" * 3))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the manual step")
        modal = app.screen
        app.record_shell("pve001", 12.0, 0)  # what coming back from the $ shell shows
        app.notify("A second message at the same time, to stack two toasts.", title="More")
        await until(pilot, lambda: len(modal.query(Toast)) == 2, "the toasts")
        await pilot.pause()
        toasts = [t.region for t in modal.query(Toast)]
        buttons = [b for b in modal.query(Button) if b.display]
        assert {str(b.label) for b in buttons} == {"Done (d)", "Not done (x)", "Look first (l)"}
        for b in buttons:
            for t in toasts:
                assert not t.overlaps(b.region), f"a toast at {t} covers {b.label} at {b.region}"
            drawn, _ = modal.get_widget_at(b.region.x, b.region.y)
            assert drawn is b, f"{b.label} is hidden by {drawn}"
        await pilot.press("d")
        await until(pilot, lambda: got == [True], "the answer")


async def test_the_fold_toast_goes_when_the_question_comes_back(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """Escape (look first) on a question says "The run waits for your answer: … press n to
    answer." for six seconds; n brought the question back under that toast, which covered
    half of a destructive step's command list at 80×24 and told the operator to press n."""
    from pverunbook.engine.decisions import FailureChoice

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.after_failure(run.runbook.step("config"), "failed"))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run and any(
            "press n to answer" in str(t.render()) for t in run.query(Toast)), "the fold toast")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question again")
        modal = app.screen
        await pilot.pause()
        await pilot.pause()
        assert not [t for t in modal.query(Toast) if "press n to answer" in str(t.render())]
        await pilot.press("r")
        await until(pilot, lambda: got == [FailureChoice.RERUN], "the answer")


async def test_the_fold_toast_goes_when_a_dialog_opens_over_the_run(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """At 80×24 "press n to answer" lay over the Quit dialog, where n means Stay."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)

        async def ask() -> None:
            await run.decider.after_failure(run.runbook.step("config"), "failed")

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run and any(
            "press n to answer" in str(t.render()) for t in run.query(Toast)), "the fold toast")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        modal = app.screen
        await pilot.pause()
        await pilot.pause()
        assert not [n for n in app._notifications if "press n" in n.message]
        assert not [t for t in modal.query(Toast) if "press n to answer" in str(t.render())]
