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


async def test_no_key_is_cut_in_half_at_60x20(build_app: Build, runbook_dir: Path) -> None:
    """The footer cut the last key that did not fit ("m Ma▏" while a command ran, "o Jo▏
    ^ppalette" on the summary): a key shows whole or not at all (it is in F1 and the palette),
    and the ones that matter there stay."""
    from pverunbook.ui.screens.run import RunScreen
    from tests.ui.conftest import ScriptTransport
    from tests.ui.test_modals_fit import assert_footer_fits

    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: run.state.command_running, "a running command")
        keys = await assert_footer_fits(pilot, app, "run screen, a command running")
        assert {"q", "f1", "c", "v"} <= set(keys), keys
        transport.gate.set()
        await until(pilot, lambda: run.decider.is_waiting and not run.state.command_running,
                    "the next step")
        run.show_summary()
        await until(pilot, lambda: summary_ready(app), "the summary")
        keys = await assert_footer_fits(pilot, app, "summary")
        assert {"q", "f1", "b"} <= set(keys), keys
        assert _footer(app).rstrip().endswith("^p palette"), _footer(app)


async def test_the_shell_key_stays_in_the_run_screens_footer_at_60x20(
        build_app: Build, runbook_dir: Path) -> None:
    """The run screen's footer at 60×20 dropped `$ Shell` (it came after the step's keys):
    a shell on a node is what is left when a runbook cannot do something, so it comes right
    after Quit and Help there, between steps and while a command runs."""
    from pverunbook.ui.screens.run import RunScreen
    from tests.ui.conftest import ScriptTransport

    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await _settled(pilot)
        footer = _footer(app)
        assert footer.index("q Quit") < footer.index("f1 Help") < footer.index("$ Shell"), \
            footer
        assert "n Next" in footer, footer
        await pilot.press("n")
        await until(pilot, lambda: run.state.command_running, "a running command")
        await _settled(pilot)
        footer = _footer(app)
        assert "$ Shell" in footer and "c Cancel" in footer, footer
        transport.gate.set()
        await until(pilot, lambda: run.decider.is_waiting and not run.state.command_running,
                    "the next step")
