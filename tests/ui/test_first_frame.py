"""The first frame: the start screen says the mode and what is on its way from its first paint,
and nothing that reads the state directory or imports the engine runs before it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Static

from pverunbook.session import Mode
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.widgets.banner import ModeBanner
from tests.ui.conftest import until

Build = Callable[..., RunbookApp]
SIZE = (80, 24)


def test_banner_has_its_words_before_it_is_mounted() -> None:
    # The first frame is painted before on_mount's updates reach the screen: an empty
    # banner there was a first frame without the mode.
    for mode in Mode:
        text = str(ModeBanner(mode).content)
        assert mode.value.upper() in text, (mode, text)


@pytest.mark.parametrize("mode", [Mode.REHEARSAL, Mode.LIVE])
async def test_start_screen_text_is_composed_not_filled_in_later(
        build_app: Build, monkeypatch: pytest.MonkeyPatch, mode: Mode) -> None:
    seen: dict[str, str] = {}
    on_mount = StartScreen.on_mount

    def record(self: StartScreen) -> None:  # what the widgets hold before on_mount ran
        for wid in ("start-mode", "start-guide"):
            seen[wid] = str(self.query_one(f"#{wid}", Static).content)
        seen["live"] = str(self.query_one("#start-mode").has_class("-live"))
        on_mount(self)

    monkeypatch.setattr(StartScreen, "on_mount", record)
    app = build_app(mode=mode)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start with its runbooks")
    word = "REHEARSAL" if mode is Mode.REHEARSAL else "LIVE"
    assert word in seen["start-mode"] and "cluster nyc" in seen["start-mode"]
    assert seen["live"] == str(mode is Mode.LIVE)
    assert "Finding the runbooks" in seen["start-guide"]


async def test_journals_are_read_after_the_runbooks_are_looked_for(
        build_app: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading the interrupted runs imports the engine: with the screen's own "after refresh"
    # it ran before the frame that has the screen's text.
    calls: list[bool] = []
    refresh_runs = StartScreen.refresh_runs

    def record(self: StartScreen) -> None:
        calls.append(self.finding)
        refresh_runs(self)

    monkeypatch.setattr(StartScreen, "refresh_runs", record)
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and calls, "the runs read")
        await pilot.pause()
    assert calls and not any(calls), calls
