"""``$`` opens a shell while a manual step's question is open (the manual step is often done
in a shell on a node), as it does on the run screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal, PickModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import to_run_screen, until

ROUTE_FIX = Path(__file__).resolve().parents[2] / "runbooks" / "route-fix.toml"


async def test_dollar_opens_the_node_chooser_from_a_manual_step(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("config")
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.manual_done(step, "Swap the cable."))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "manual step")
        manual = app.screen
        assert "$" in [app.get_key_display(b) for bs in manual._bindings.key_to_bindings.values()
                       for b in bs]
        await pilot.press("dollar_sign")
        await until(pilot, lambda: isinstance(app.screen, PickModal), "which node")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is manual, "back to the manual step")
        await pilot.press("d")
        await until(pilot, lambda: got != [], "the answer")
        assert got == [True]


async def test_a_manual_steps_text_asks_for_what_its_buttons_offer(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """route-fix's last step said "Answer yes when done" above the buttons Done / Not done."""
    from textual.widgets import Button, Markdown

    from pverunbook.runbook.loader import load_file
    from pverunbook.runbook.model import StepKind

    (step,) = [s for s in load_file(ROUTE_FIX).steps if s.kind is StepKind.MANUAL]
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        app.run_worker(run.decider.manual_done(step, step.instructions), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "manual step")
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        labels = [str(b.label) for b in modal.query(Button)]
        assert labels == ["Done (d)", "Not done (x)", "Look first (l)"]
        body = modal.query_one(Markdown).source
        assert "Confirm when done" in body and "choose **Done**" in body
        assert "answer yes" not in body.lower() and "yes" not in labels
        await pilot.press("x")


async def test_escape_at_a_manual_step_folds_it_away_and_n_brings_it_back(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """A stray Escape never ends the run: it folds the question away, as at a failed step."""
    from pverunbook.runbook.loader import load_file
    from pverunbook.runbook.model import StepKind

    (step,) = [s for s in load_file(ROUTE_FIX).steps if s.kind is StepKind.MANUAL]
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.manual_done(step, step.instructions))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "manual step")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "folded away")
        assert got == [] and run.decider.folded is not None
        assert "n brings the question back" in str(run.query_one("#run-status").render())
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question again")
        await pilot.press("x")
        await until(pilot, lambda: got != [], "the answer")
        assert got == [False]
