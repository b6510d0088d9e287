"""Trial 14: Ctrl+C while route-fix's ping ran asked "A command is running … Quit and cancel
it (y)"; the step ended and the COMMIT question opened on top of that dialog, so the
operator's y went into the COMMIT field, and once COMMIT was typed the old dialog came back
saying the step "is still running". A quit question open when the engine asks is now asked
again over the new question, with what is true then. And the dialog says when a rollback
timer is armed (the route is deleted, COMMIT not asked yet), as at the COMMIT question."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.engine.rollback import Armed, Pending, _state
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.quitting import QUIT_TITLES
from pverunbook.ui.screens.commit_modal import CommitModal
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, to_run_screen, until

Build = Callable[..., RunbookApp]


def quit_open(app: RunbookApp) -> bool:
    return isinstance(app.screen, ChoiceModal) and app.screen.title_text in QUIT_TITLES


async def _quit_asked_while_ping_runs(pilot: object, app: RunbookApp,
                                      transport: ScriptTransport) -> RunScreen:
    await to_run_screen(pilot, app)  # type: ignore[arg-type]
    run = app.screen
    assert isinstance(run, RunScreen) and run.engine is not None
    await pilot.press("n")  # type: ignore[attr-defined]
    await until(pilot, lambda: run.state.command_running, "ping running")  # type: ignore[arg-type]
    await pilot.press("ctrl+c")  # type: ignore[attr-defined]
    await until(pilot, lambda: quit_open(app), "the quit question")  # type: ignore[arg-type]
    assert isinstance(app.screen, ChoiceModal)
    assert app.screen.title_text == "A command is running"
    transport.gate.set()  # the step ends under the dialog
    await until(pilot, lambda: not run.state.command_running, "ping done")  # type: ignore
    return run


def _ask_commit(app: RunbookApp, run: RunScreen) -> None:
    step = run.runbook.step("tune")
    app.run_worker(run.decider.confirm(ConfirmRequest(
        step, "commit", "Type COMMIT within 300 s to keep it", "COMMIT",
        ("ryanrishi", "pve001"), checkpoint_id="cp-1", deadline=time.time() + 300)),
        exit_on_error=False)


async def test_a_question_asked_under_the_quit_dialog_comes_with_it_on_top_and_updated(
        build_app: Build, runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        run = await _quit_asked_while_ping_runs(pilot, app, transport)
        stale = app.screen
        _ask_commit(app, run)
        await until(pilot, lambda: any(isinstance(s, CommitModal) for s in app.screen_stack),
                    "the COMMIT question")
        await until(pilot, lambda: quit_open(app), "the quit question again")
        assert stale not in app.screen_stack  # not left under the COMMIT question
        modal = app.screen
        assert isinstance(modal, ChoiceModal) and modal is not stale
        assert isinstance(app.screen_stack[-2], CommitModal)  # right over it
        assert [s for s in app.screen_stack if isinstance(s, ChoiceModal)
                and s.title_text in QUIT_TITLES] == [modal]
        assert "still running" not in modal.body, modal.body
        assert "⚠ COMMIT is pending:** the change of “Raise the totem token timeout” is live " \
               "on ryanrishi, pve001" in modal.body, modal.body
        await pilot.press("n")  # Stay: the COMMIT question, and no dialog comes back
        await until(pilot, lambda: isinstance(app.screen, CommitModal), "the COMMIT question")
        assert not any(isinstance(s, ChoiceModal) and s.title_text in QUIT_TITLES
                       for s in app.screen_stack)


async def test_y_meant_for_quit_quits_when_the_commit_question_opened_meanwhile(
        build_app: Build, runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        run = await _quit_asked_while_ping_runs(pilot, app, transport)
        _ask_commit(app, run)
        await until(pilot, lambda: quit_open(app)
                    and any(isinstance(s, CommitModal) for s in app.screen_stack),
                    "the quit question over the COMMIT question")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_the_quit_dialog_names_a_rollback_timer_armed_before_commit_is_asked(
        build_app: Build, runbook_dir: Path) -> None:
    """route-fix: the route is deleted (its timer armed), the ping after it runs; Ctrl+C
    said the ping is cancelled, not that the deletion is live and rolls back at HH:MM:SS."""
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen) and run.engine is not None
        due = time.time() + 120
        _state(run.engine)["tune"] = Pending(
            run.runbook.step("tune"), "cp-1",
            [Armed("ryanrishi", "t1", due, due, "restore", ())], [])
        await pilot.press("n")
        await until(pilot, lambda: run.state.command_running, "ping running")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: quit_open(app), "the quit question")
        modal = app.screen
        assert isinstance(modal, ChoiceModal) and modal.title_text == "A command is running"
        assert "**⚠ COMMIT is pending:** the change of “Raise the totem token timeout” is " \
               "live on ryanrishi, and stopping does not stop the timers: in about " \
               in modal.body, modal.body
        assert "ryanrishi rolls it back, unless the run is resumed and COMMIT typed before " \
               "then." in modal.body, modal.body
        await pilot.press("n")
        await until(pilot, lambda: app.screen is run, "back to the run")
        _state(run.engine).clear()
        transport.gate.set()
