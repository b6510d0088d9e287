"""The COMMIT question after a change ran: its time left has one source (the deadline) and
counts down; a wrong answer says the change HAS run and what Escape does there."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.widgets import Label, Static

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ROLLED_BACK, ConfirmRequest, Refusal
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.messages import JournalNote
from pverunbook.ui.screens.commit_modal import CommitModal
from pverunbook.ui.screens.modals import ChoiceModal, ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until
from tests.ui.screen_text import screen_text


def shown(modal: CommitModal) -> str:
    return "\n".join(str(w.render()) for w in modal.query(Static) if w.display)


async def test_commit_countdown_ticks_and_wrong_text_says_the_change_ran(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [time.time()]
    monkeypatch.setattr("pverunbook.ui.screens.commit_modal.time",
                        SimpleNamespace(time=lambda: now[0]))
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                step, "commit", "'tune' passed check. Type COMMIT within 107 s to keep it",
                "COMMIT", ("ryanrishi", "pve001"), checkpoint_id="cp-1",
                deadline=now[0] + 107.4)))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "COMMIT")
        modal = app.screen
        assert isinstance(modal, CommitModal)
        countdown = modal.query_one("#commit-countdown", Label)
        assert "within 1:47 " in str(countdown.render())
        # the engine's prompt ("within 107 s", as of when it asked) is not shown beside it
        assert "107 s" not in shown(modal)
        now[0] += 30
        await until(pilot, lambda: "within 1:17 " in str(countdown.render()), "the tick")
        assert "107 s" not in shown(modal) and "1:47" not in shown(modal)

        await pilot.press(*"commit", "enter")
        error = str(modal.query_one("#confirm-error", Static).render())
        assert "nothing was run" not in error
        assert "the change has run" in error and "Roll back now not to keep it" in error
        assert app.screen is modal and got == []
        # Escape never rolls back by itself: it asks, and "keep the question" changes nothing
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "roll back?")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is modal, "the question again")
        assert got == []
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "roll back? again")
        await pilot.press("y")
        await until(pilot, lambda: got != [], "the answer")
        # a refusal on purpose that fires the timers now, never the timeout's None
        assert isinstance(got[0], Refusal) and got[0].now and got[0].reason == ROLLED_BACK
        # the question is gone: the status line says what the nodes do, not "type COMMIT"
        status = str(run.query_one("#run-status", Static).render())
        assert "Needs you" not in status and "COMMIT" not in status, status
        assert "restore checkpoint cp-1 now" in status, status
        run.post_message(JournalNote(ev.RollbackTimer(step_id="tune", node="ryanrishi",
                                                      state="fired")))
        run.post_message(JournalNote(ev.RollbackTimer(step_id="tune", node="pve001",
                                                      state="fired")))
        await until(pilot, lambda: "reported: ryanrishi fired, pve001 fired" in str(
            run.query_one("#run-status", Static).render()), "the nodes reported")


async def test_commit_sentence_is_whole_at_80x24(build_app: Callable[..., RunbookApp],
                                                 runbook_dir: Path) -> None:
    """The countdown's sentence says what the nodes restore: at 80 columns it wraps, the end
    ("restores checkpoint … by itself") is on screen, not cut off at the dialog's edge."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "commit", "Type COMMIT within 107 s to keep it", "COMMIT",
            ("ryanrishi", "pve001"), checkpoint_id="route-fix-20261206-delete-1",
            deadline=time.time() + 107)), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "COMMIT")
        await pilot.pause()
        flat = " ".join(re.sub("[▊▎]", " ", screen_text(app)).split())  # dialog border
        assert ("otherwise every node (ryanrishi, pve001) restores checkpoint "
                "route-fix-20261206-delete-1 by itself.") in flat, flat


async def test_a_node_without_a_timer_is_named_in_the_commit_question(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """A resume found pve002's timer gone: the question named only the nodes with a timer and
    dropped pve002 without a word (newcomer trial 10); the engine's warning is shown."""
    from pverunbook.engine.rollback import Armed, Pending, no_timer_warning

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        soon = time.time() + 107
        pending = Pending(step, "cp-1", [Armed(n, n, soon, soon, "cp", ()) for n in
                                         ("ryanrishi", "pve001")], [], no_timer=["pve002"])
        warning = no_timer_warning(pending, ("ryanrishi", "pve001"))
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "commit", "Type COMMIT within 107 s to keep it", "COMMIT",
            ("ryanrishi", "pve001"), checkpoint_id="cp-1", deadline=soon, warning=warning)),
            exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "COMMIT")
        modal = app.screen
        assert isinstance(modal, CommitModal)
        said = str(modal.query_one("#commit-no-timer", Static).render())
        assert said == warning and "On pve002 the rollback timer is gone" in said
        await pilot.press("escape")  # the roll-back question says it too
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "roll back?")
        assert "leaves pve002 changed" in " ".join(str(w.render())
                                                   for w in app.screen.query(Static))


def test_destructive_help_names_the_nodes_with_a_space() -> None:
    """F1 on the destructive confirmation: "changes ryanrishi, pve001" (its nodes), never
    "changes ryanrishinodes" glued to the next word."""
    step = SimpleNamespace(title="Delete the host route")
    for nodes, want in ((("ryanrishi",), "changes **ryanrishi**;"),
                        (("ryanrishi", "pve001"), "changes **ryanrishi, pve001**;"),
                        ((), "changes **no node**;")):
        req = ConfirmRequest(step, "destructive", "Type 'ryanrishi'",  # type: ignore[arg-type]
                             "ryanrishi", nodes)
        text = ConfirmModal(req).help_text()
        assert want in text, text
        assert "ryanrishinodes" not in text


async def test_the_destructive_confirmation_says_what_the_step_does_on_each_node(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """A step's ``summary``, one line per node, above the commands it will run
    (rollback-settle's undo showed only a page of shell per node)."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        summary = ("ryanrishi: runs its own rollback script now\n"
                   "pve001: runs its own rollback script now")
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "destructive", "Type 'nyc'", "nyc", ("ryanrishi", "pve001"),
            changes="ryanrishi: D=/x; sh \"$D/rollback.sh\" now", summary=summary)),
            exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        await pilot.pause()
        shown = app.screen.query_one("#confirm-summary", Static)
        assert str(shown.content) == summary


async def test_the_commit_field_stays_in_view_while_the_text_scrolls(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """At 60×20 with a long warning the COMMIT field scrolled with the text (the destructive
    steps' confirmations pin theirs): it is docked under the text with the countdown."""
    from textual.containers import VerticalScroll
    from textual.widgets import Input

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        warning = " ".join(["On pve002 the rollback timer is gone: nothing there restores "
                            "the checkpoint by itself."] * 4)
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "commit", "Type COMMIT within 107 s to keep it", "COMMIT",
            ("ryanrishi", "pve001"), checkpoint_id="cp-1", deadline=time.time() + 107,
            warning=warning)), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "COMMIT")
        modal = app.screen
        assert isinstance(modal, CommitModal)
        dialog = modal.query_one("#confirm-dialog", VerticalScroll)
        field = modal.query_one("#confirm-input", Input)
        countdown = modal.query_one("#commit-countdown", Label)
        await until(pilot, lambda: dialog.max_scroll_y > 0, "the text to overflow")
        for y in (0, dialog.max_scroll_y):
            dialog.scroll_to(y=y, animate=False, immediate=True)
            await pilot.pause()
            assert dialog.content_region.contains_region(field.region), (y, field.region)
            assert dialog.content_region.contains_region(countdown.region), y
