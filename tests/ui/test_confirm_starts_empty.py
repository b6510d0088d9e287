"""A typed confirmation's field starts empty: only the keys pressed once it is shown count.

The n that ran the destructive step, a second n, or a letter typed while the question was
being drawn reached the new field (the app hands a queued key to whatever has the focus when
it is dispatched): the operator found the cluster's name already begun with a stray letter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import events
from textual.widgets import Input, Static

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until


async def test_keys_pressed_before_the_question_is_shown_are_not_typed(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        # pressed before the question opened, dispatched once it is up (queued behind it)
        early = [events.Key("n", "n"), events.Key("x", "x"), events.Key("enter", "\r"),
                 events.Key("escape", None)]
        late_q = events.Key("q", "q")
        got: list[object] = []

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                run.runbook.step("tune"), "destructive", "Type 'nyc'", "nyc",
                ("ryanrishi", "pve001"))))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        field = modal.query_one("#confirm-input", Input)
        for key in early:
            app.post_message(key)
        await pilot.pause()
        assert app.screen is modal, "a key pressed before the question answered it"
        assert field.value == ""
        assert not modal.query_one("#confirm-error", Static).display  # no Enter-alone refusal
        await pilot.press(*"nyc")  # pressed now: typed
        assert field.value == "nyc"
        # with the focus on a button, typing still goes to the field; an early key does not
        modal.query_one("#confirm-ok").focus()
        await pilot.pause()
        app.post_message(late_q)
        await pilot.pause()
        assert field.value == "nyc"
        await pilot.press("enter")  # on the button: Run it
        await until(pilot, lambda: got != [], "the answer")
        assert got == ["nyc"]

