"""At 60 columns the footer keeps the keys a lost operator needs most: q (Quit) and F1
(Help). The footer draws its keys in order and cuts off the last, and those were the last:
the run screen at 60×20 ended "$ She▏^p palette". Wider, the order is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import summary_ready, to_run_screen, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]


def _footer(app: RunbookApp) -> str:
    return screen_lines(app)[-1]


async def _settled(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.pause()


async def test_quit_and_help_stay_in_the_footer_at_60_columns(build_app: Build,
                                                              runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await to_run_screen(pilot, app)
        await _settled(pilot)
        footer = _footer(app)
        assert "q Quit" in footer and "f1 Help" in footer, footer
        assert "n Next" in footer, footer  # the step's own key still follows them
        # grown past 80 columns: the usual order again, q and F1 last
        await pilot.resize_terminal(120, 30)
        await _settled(pilot)
        footer = _footer(app)
        assert footer.index("n Next") < footer.index("q Quit") < footer.index("f1 Help"), footer
        await pilot.resize_terminal(60, 20)
        await _settled(pilot)
        footer = _footer(app)
        assert "q Quit" in footer and "f1 Help" in footer, footer


async def test_the_summary_keeps_them_too_at_60_columns(build_app: Build,
                                                       runbook_dir: Path) -> None:
    from pverunbook.ui.screens.run import RunScreen

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        run.show_summary()  # what the palette's "Show summary" opens mid-run
        await until(pilot, lambda: summary_ready(app), "the summary")
        await _settled(pilot)
        footer = _footer(app)
        assert "q Quit" in footer and "f1 Help" in footer, footer
