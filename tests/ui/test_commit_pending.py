"""A run stopped at its COMMIT question (kill -9, ctrl+q): the nodes put the change back at
their deadline unless it is resumed and COMMIT typed. At 80×24 the start screen said nothing
of it (the line was clipped in the compact list) and proposed the health check with Enter;
ctrl+q in the COMMIT window quit at once, with no question."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, OptionList, Static

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.session import Mode
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import confirm_ready, form_ready, start_ready, to_run_screen, until
from tests.ui.screen_text import screen_lines
from tests.ui.test_narrow import flat
from tests.ui.test_resume import RUN_ID, _interrupted_journal

Build = Callable[..., RunbookApp]
SIZE = (80, 24)


async def _commit_pending(runbook_dir: Path, seconds: float) -> Path:
    """The interrupted ui-test run, its "config" step's timers armed on both nodes and the
    COMMIT question asked, as the journal has it after a kill -9 in the COMMIT window."""
    path = await _interrupted_journal(runbook_dir)
    due = time.time() + seconds
    extra = [ev.RollbackTimer(step_id="config", node=n, state="armed", checkpoint_id="cp-1",
                              deadline=due, seconds=seconds) for n in ("ryanrishi", "pve001")]
    extra.append(ev.ConfirmationRequested(step_id="config", what="commit", prompt="Type COMMIT",
                                          expected="COMMIT", checkpoint_id="cp-1"))
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(e.to_dict()) + "\n" for e in extra)
    return path


async def test_the_pending_commit_is_the_banner_at_80_and_enter_resumes_it(
        build_app: Build, runbook_dir: Path) -> None:
    await _commit_pending(runbook_dir, 600)
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and bool(app.screen.runs), "start with runs")
        await pilot.pause()
        text = flat("\n".join(screen_lines(app)))
        assert ("⚠ COMMIT pending on ryanrishi, pve001: the nodes roll back “Compare "
                "config_version on every node” in ") in text, text
        assert " min " in text and " — r resumes it" in text, text
        assert "Run next" not in text and "Where to begin" not in text, text
        # Enter resumes it (the resume list has the focus, that run highlighted)
        focused = app.focused
        assert isinstance(focused, OptionList) and focused.id == "resume-list"
        assert focused.highlighted == 0
        await pilot.press("enter")
        await until(pilot, lambda: form_ready(app), "the resume's form")
        # the form of the resume: only the secret the journal does not keep is asked
        assert [i.id for i in app.screen.query(Input)] == ["param-api_secret"]


async def test_no_commit_no_banner_and_the_runbook_list_keeps_the_focus(
        build_app: Build, runbook_dir: Path) -> None:
    await _interrupted_journal(runbook_dir)
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and bool(app.screen.runs), "start with runs")
        await pilot.pause()
        assert "COMMIT" not in "\n".join(screen_lines(app))
        assert app.focused is not None and app.focused.id == "runbook-list"
        assert RUN_ID in str(app.screen.query_one("#resume-list", OptionList)
                             .get_option_at_index(0).prompt)


async def test_ctrl_q_and_ctrl_c_ask_while_a_run_is_going(build_app: Build,
                                                          runbook_dir: Path) -> None:
    """ctrl+q quit at once (status 0) in a COMMIT window; ctrl+c said "press ctrl+q"."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        for key in ("ctrl+q", "ctrl+c"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
            modal = app.screen
            assert isinstance(modal, ChoiceModal) and modal.title_text == "Quit pverunbook?"
            assert "left interrupted, not finished" in modal.body
            await pilot.press("ctrl+q")  # a second one does not stack another question
            await pilot.pause()
            assert app.screen is modal and app.is_running
            await pilot.press("n")
            await until(pilot, lambda: app.screen is run, "back to the run")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_ctrl_q_with_no_run_going_leaves_at_once(build_app: Build,
                                                       runbook_dir: Path) -> None:
    app = build_app(mode=Mode.DRY_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, "the app to quit")


async def test_ctrl_q_in_the_commit_window_says_the_timers_go_on(build_app: Build,
                                                                 runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "commit", "Type COMMIT within 300 s to keep it", "COMMIT",
            ("ryanrishi", "pve001"), checkpoint_id="cp-1", deadline=time.time() + 300)),
            exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "the COMMIT question")
        commit = app.screen
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the quit question")
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        # the words of the headless Ctrl-C at the same question (rollback_gone.py)
        assert ("**⚠ COMMIT is pending:** the change of “Raise the totem token timeout” is "
                "live on ryanrishi, pve001, and stopping does not stop the timers: in about "
                in modal.body and "ryanrishi, pve001 roll it back, unless the run is resumed "
                "and COMMIT typed before then." in modal.body), modal.body
        await pilot.press("n")
        await until(pilot, lambda: app.screen is commit, "back to the COMMIT question")
        assert app.is_running


async def test_a_commit_past_its_deadline_says_the_outcome_is_unknown_and_stops_counting(
        build_app: Build, runbook_dir: Path) -> None:
    """The journal says the timers were armed and COMMIT asked, nothing after: past their
    deadline the start screen cannot know whether they fired or their process was gone (a
    node rebooted). It counted on ("in N s") for ever; now it says so once, points to the
    health check and rollback-settle, and stops ticking — without asking any node."""
    await _commit_pending(runbook_dir, -90)
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and bool(app.screen.runs), "start with runs")
        await pilot.pause()
        start = app.screen
        assert isinstance(start, StartScreen)
        await until(pilot, lambda: "COMMIT was pending" in str(
            start.query_one("#start-guide", Static).content), "the banner")
        text = flat("\n".join(screen_lines(app)))
        assert "COMMIT was pending on ryanrishi, pve001" in text, text
        assert "were due at" in text and "unknown" in text, text
        assert "health check" in text and "rollback-settle" in text, text
        assert "COMMIT pending" not in text and " in -" not in text, text
        assert start._ticker is None  # nothing counts down
        # the resume list's line says the same, not "(in N min)"
        label = str(start.query_one("#resume-list", OptionList).get_option_at_index(0).prompt)
        assert "unknown" in label and "(in " not in label, label


async def test_the_countdown_stops_when_the_deadline_passes(build_app: Build,
                                                            runbook_dir: Path) -> None:
    import dataclasses

    await _commit_pending(runbook_dir, 600)
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and bool(app.screen.runs), "start with runs")
        start = app.screen
        assert isinstance(start, StartScreen)
        await until(pilot, lambda: start._ticker is not None, "the countdown")
        # the deadline passes (as the journal has it; the nodes are not asked)
        start.runs[0] = dataclasses.replace(start.runs[0], commit_due=time.time() - 1)
        start._commit_tick()
        await pilot.pause()
        assert start._ticker is None
        text = flat("\n".join(screen_lines(app)))
        assert "COMMIT was pending" in text and "unknown" in text, text
        label = str(start.query_one("#resume-list", OptionList).get_option_at_index(0).prompt)
        assert "unknown" in label and "(in " not in label, label
