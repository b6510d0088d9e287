"""Pilot tests: drive the app with keys against the scripted two-node transport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, Input, OptionList, Static

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.local import LocalTransport
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.screens.help import HelpScreen
from pverunbook.ui.screens.journal import JournalScreen
from pverunbook.ui.screens.modals import ChoiceModal, ConfirmModal, ErrorModal, TextPromptModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.widgets.output import NodePane
from tests.ui.conftest import (
    ScriptTransport,
    confirm_ready,
    form_ready,
    start_ready,
    summary_ready,
    to_run_screen,
    until,
)

Build = Callable[..., RunbookApp]
SIZE = (140, 40)


def run_screen(app: RunbookApp) -> RunScreen:
    for s in app.screen_stack:
        if isinstance(s, RunScreen):
            return s
    raise AssertionError("no run screen")


async def test_confirmation_refuses_wrong_name_and_accepts_right(build_app: Build,
                                                                  runbook_dir: Path) -> None:
    transport = ScriptTransport()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        for _ in range(3):
            await until(pilot, lambda: run_screen(app).decider.is_waiting
                        or isinstance(app.screen, ConfirmModal), "next")
            if isinstance(app.screen, ConfirmModal):
                break
            await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "confirmation")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await pilot.press("enter")  # Enter alone never confirms
        assert app.screen is modal
        assert "Enter alone never confirms" in str(
            modal.query_one("#confirm-error", Static).render())
        await pilot.press(*"nyk", "enter")
        assert app.screen is modal
        assert "'nyk' is not 'nyc'" in str(modal.query_one("#confirm-error", Static).render())
        assert not any("echo" in c for _, c in transport.ran)
        modal.query_one("#confirm-input", Input).value = ""
        await pilot.press(*"nyc", "enter")
        await until(pilot, lambda: summary_ready(app), "summary")
        assert sorted(n for n, c in transport.ran if "echo token=5000" in c) == [
            "pve001", "ryanrishi"]
        await app.workers.wait_for_complete()
    events = read_journal(Path("journal.jsonl"))
    given = [e for e in events if isinstance(e, ev.ConfirmationGiven)]
    assert [(g.accepted, g.typed) for g in given] == [(True, "nyc")]


async def test_escape_folds_confirmation_and_stop_declines(build_app: Build,
                                                           runbook_dir: Path) -> None:
    transport = ScriptTransport()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = run_screen(app)
        # ping and config run (a jump over them would need their guard override)
        for _ in range(2):
            await pilot.press("n")
            await until(pilot, lambda: screen.decider.is_waiting
                        and screen.state.waiting_index is not None
                        and screen.state.waiting_index > 0, "next")
        await until(pilot, lambda: screen.decider.is_waiting
                    and screen.state.waiting_index == 2, "at step 3")
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "confirmation")
        # Escape folds the question away: nothing runs, the run waits, n brings it back
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the question folded away")
        assert screen.decider.folded is not None and screen.state.finished is None
        assert "n brings the question back" in str(screen.query_one("#run-status").render())
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        assert "brings the question back" in app.screen.context
        await pilot.press("escape")
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the question again")
        # declining is its own button, which says what it does
        stop = app.screen.query_one("#confirm-cancel", Button)
        assert str(stop.label) == "Stop the run"
        stop.press()
        await until(pilot, lambda: screen.state.finished is not None, "run to stop")
        assert screen.state.step("tune").state == "declined"
        assert not any("echo" in c for _, c in transport.ran)


async def test_skip_records_reason_in_journal(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = run_screen(app)
        # ping and config guard the destructive tune (their skip needs an override phrase,
        # tests/ui/test_guard_override.py): skip tune, which guards nothing
        for _ in range(2):
            await pilot.press("n")
            await until(pilot, lambda: screen.decider.is_waiting
                        and screen.state.waiting_index is not None
                        and screen.state.waiting_index > 0, "next")
        await until(pilot, lambda: screen.state.waiting_index == 2, "tune waits")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, TextPromptModal), "reason prompt")
        await pilot.press("enter")  # an empty reason is refused
        assert isinstance(app.screen, TextPromptModal)
        await pilot.press(*"switch port replaced", "enter")
        await until(pilot, lambda: screen.state.step("tune").state == "skipped", "skip")
        await app.workers.wait_for_complete()
    skipped = [e for e in read_journal(Path("journal.jsonl")) if isinstance(e, ev.StepSkipped)]
    assert [(s.step_id, s.reason, s.by_operator) for s in skipped] == [
        ("tune", "switch port replaced", True)]


async def test_cancel_stops_the_running_command(build_app: Build, runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: transport.streaming.is_set()
                    and run_screen(app).state.command_running, "streaming")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "after-failure modal")
        assert sorted(n for n, _ in transport.cancelled) == ["pve001", "ryanrishi"]
        screen = run_screen(app)
        assert screen.state.step("ping").state == "cancelled"
        await pilot.press("a")  # abort
        await until(pilot, lambda: screen.state.finished is not None, "run end")
        assert screen.state.finished is not None
        assert screen.state.finished.status == "aborted"


async def test_cancel_kills_a_local_sleep(tmp_path: Path) -> None:
    rb = load_text('''
id = "sleepy"
title = "Sleep"
[[steps]]
id = "sleep"
title = "sleep 30"
kind = "run"
targets = "all"
commands = ["sleep 30"]
timeout = 60
''')
    session = Session(SessionConfig(mode=Mode.LOCAL, journal_path=Path("journal.jsonl")))
    session.cluster = Cluster("local", (Node(name="here", host="localhost",
                                             addr="127.0.0.1"),))
    session.transport = LocalTransport()
    app = make_app(session.config, session=session)
    async with app.run_test(size=SIZE) as pilot:
        app.start_run(rb, {})
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "next")
        await pilot.press("n")
        screen = run_screen(app)
        await until(pilot, lambda: screen.state.command_running, "sleep to start")
        await pilot.press("c")
        await until(pilot, lambda: screen.state.step("sleep").state == "cancelled",
                    "cancelled", tries=1000)
        result = screen.state.step("sleep").results["here"]
        assert result.status == "cancelled"
        assert result.duration < 10
        # Escape on the failure question only folds it away (the safe answer); Abort is "a".
        await pilot.press("a")
        await until(pilot, lambda: screen.state.finished is not None, "run end")


async def test_follow_toggles(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = run_screen(app)
        panes = list(screen.query(NodePane))
        assert len(panes) == 2 and all(p.log_widget.follow for p in panes)
        await pilot.press("f")
        assert not screen.follow
        assert all(not p.log_widget.follow and not p.log_widget.auto_scroll for p in panes)
        await pilot.press("f")
        assert all(p.log_widget.follow and p.log_widget.auto_scroll for p in panes)


async def test_new_lines_counted_when_not_following(build_app: Build,
                                                    runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("f")
        pane = run_screen(app).query(NodePane).first()
        pane.add_lines([f"line {i}" for i in range(5)])
        await pilot.pause()
        assert pane.log_widget.new_lines == 5
        more = pane.query_one(".pane-more", Static)
        assert more.display and "+5 new lines" in str(more.render())
        await pilot.press("f")
        await pilot.pause()
        assert pane.log_widget.new_lines == 0


async def test_quit_while_running_asks(build_app: Build, runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: run_screen(app).state.command_running, "running")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "quit question")
        await pilot.press("n")  # stay
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "back to run")
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "quit question")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "exit")


async def test_start_screen_filter_filters(build_app: Build) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        # The screen comes first, the runbooks right after its first frame.
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start with its runbooks")
        screen = app.screen
        assert isinstance(screen, StartScreen)
        assert [e.path.name for e in screen.shown] == ["broken.toml", "ui-test.toml"]
        # No interrupted runs: no section, no resume key, no palette entry.
        assert not any(box.display for box in screen.query("#resume-box"))
        assert not any(n.startswith("Resume") for n, _, _ in screen.palette_commands())
        broken = str(screen.query_one("#runbook-list", OptionList).get_option("0").prompt)
        assert "broken.toml:" in broken and "destrutive" in broken
        await pilot.press("slash", *"network")
        assert [e.path.name for e in screen.shown] == ["ui-test.toml"]
        await pilot.press("escape")
        assert len(screen.shown) == 2
        await pilot.press("slash", *"no such thing")
        assert screen.shown == []


async def test_invalid_runbook_opens_error_not_traceback(build_app: Build) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.press("enter")  # the first entry is the broken one
        await until(pilot, lambda: isinstance(app.screen, ErrorModal), "error")
        await pilot.press("escape")
        assert isinstance(app.screen, StartScreen)


async def test_parameters_validate_inline(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml", params={"token": "abc"})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "params")
        screen = app.screen
        await pilot.pause()
        err = screen.query_one("#err-token", Static)
        assert "'abc' is not a whole number" in str(err.render())
        assert screen.query_one("#params-start").disabled
        assert screen.query_one("#param-api_secret", Input).password
        screen.query_one("#param-token", Input).value = "99"
        await pilot.pause()
        assert "below the minimum 1000" in str(err.render())
        screen.query_one("#param-token", Input).value = "6000"
        await pilot.pause()
        assert not err.display
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "run")
        assert run_screen(app).params["token"] == 6000


async def test_help_journal_and_palette(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = run_screen(app)
        names = [n for n, _, _ in screen.palette_commands()]
        assert {"Next step", "Skip step", "Cancel running command", "Jump to step"} <= set(names)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert ("s", "Skip") in [(k, d) for k, d, _ in help_screen.keys]
        assert "Compare both directions" in help_screen.context
        await pilot.press("escape")
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, JournalScreen), "journal")
        await until(pilot, lambda: any("run_started" in line for line in
                                       app.screen.query_one("#journal-log").lines),  # type: ignore[attr-defined]
                    "journal lines")


class ExplodingTransport(ScriptTransport):
    async def run(self, *args: object, **kwargs: object):  # type: ignore[override]
        raise RuntimeError("boom from the transport")


async def test_engine_crash_shows_error_modal(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(ExplodingTransport(), runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        # The engine turns an unexpected transport error into a failed step (not a dead run):
        # the failure question says what broke, and the app keeps running.
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal | ErrorModal),
                    "failure question")
        modal = app.screen
        text = modal.body if isinstance(modal, ChoiceModal) else modal.message  # type: ignore[union-attr]
        assert "boom from the transport" in text
        assert app.is_running


async def test_escape_folds_a_failed_checkpoint_question(build_app: Build,
                                                         runbook_dir: Path) -> None:
    """Escape at "Checkpoint failed" ended the run (it meant Abort); now it folds the question
    away like every other question: nothing runs, n brings it back, Abort is its own key."""
    from pverunbook.engine.decisions import CheckpointChoice, CheckpointFailure
    from pverunbook.ui.screens.modals import CheckpointFailedModal

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = run_screen(app)
        step = screen.runbook.step("tune")
        answers: list[object] = []

        async def ask() -> None:
            answers.append(await screen.decider.checkpoint_failed(
                CheckpointFailure(step, ("pve001: /etc/pve/corosync.conf unreadable",))))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, CheckpointFailedModal), "question")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the question folded away")
        assert screen.decider.folded is not None and not answers
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CheckpointFailedModal), "again")
        await pilot.press("a")
        await until(pilot, lambda: bool(answers), "an answer")
        assert getattr(answers[0], "choice", None) == CheckpointChoice.ABORT
