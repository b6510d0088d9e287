"""Guidance for a newcomer: F1 is help for the screen (or dialog) on top — what it shows, what
to do now, ITS keys — on every screen; one Enter in the runbook filter opens the match."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.help import HelpScreen
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import form_ready, start_ready, summary_ready, until

Build = Callable[..., RunbookApp]
SIZE = (80, 24)


async def open_help(pilot: object, app: RunbookApp) -> HelpScreen:
    below = app.screen
    await pilot.press("f1")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
    help_screen = app.screen
    assert isinstance(help_screen, HelpScreen)
    # Only the keys of the screen below and of the app: no widget keys (↑, ↓, scroll left).
    own = {app.get_key_display(b) for bs in below._bindings.key_to_bindings.values()
           for b in bs} | {app.get_key_display(b) for bs in app._bindings.key_to_bindings.values()
                          for b in bs}
    keys = [k for k, _, _ in help_screen.keys]
    assert keys and set(keys) <= own, set(keys) - own
    assert "**What to do now:**" in help_screen.context
    await pilot.press("escape")  # type: ignore[attr-defined]
    await until(pilot, lambda: app.screen is below, "help closed")
    return help_screen


async def test_f1_is_help_for_the_screen_on_top(build_app: Build) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        h = await open_help(pilot, app)
        assert ("/", "Filter") in [(k, d) for k, d, _ in h.keys]
        assert not {d for _, d, _ in h.keys} & {"Up", "Down", "Scroll Left", "Scroll Right"}
        assert "start with the **Cluster health check**" in h.context
        assert "**↑/↓** pick a runbook" in h.context

        await pilot.press("slash", *"tune", "enter")  # one Enter opens the match
        await until(pilot, lambda: form_ready(app), "parameters")
        h = await open_help(pilot, app)
        assert {"Start run", "Back"} <= {d for _, d, _ in h.keys}
        assert "parameters of" in h.context

        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "run")
        h = await open_help(pilot, app)
        assert ("n", "Next") in [(k, d) for k, d, _ in h.keys]
        assert ("m", "Matrix") in [(k, d) for k, d, _ in h.keys]
        assert "**v** shows the next node" in h.context  # 80×24: one node at a time

        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "quit question")
        h = await open_help(pilot, app)
        assert {("y", "Quit"), ("n", "Stay")} <= {(k, d) for k, d, _ in h.keys}
        assert "simulated cluster stops" in h.context
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "stayed")


async def test_enter_in_the_filter_opens_the_first_match_at_once(build_app: Build) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.press("slash", *"network", "enter")
        await until(pilot, lambda: form_ready(app), "parameters")
        screen = app.screen
        assert isinstance(screen, ParamsScreen) and screen.runbook.id == "ui-test"


async def test_enter_in_a_filter_without_match_opens_nothing(build_app: Build,
                                                             runbook_dir: Path) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.press("slash", *"no such thing", "enter")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)


async def test_f1_on_the_journal_and_the_summary(build_app: Build, runbook_dir: Path) -> None:
    from pverunbook.ui.screens.journal import JournalScreen
    from tests.ui.conftest import to_run_screen

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, JournalScreen), "journal")
        h = await open_help(pilot, app)
        assert "every event in order" in h.context
        assert ("r", "Reload") in [(k, d) for k, d, _ in h.keys]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "back to the run")
        app.screen.show_summary()  # type: ignore[attr-defined]
        await until(pilot, lambda: summary_ready(app), "summary")
        h = await open_help(pilot, app)
        assert "the diagnosis first" in h.context
        assert ("b", "Runbooks") in [(k, d) for k, d, _ in h.keys]
