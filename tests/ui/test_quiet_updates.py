"""Updates that keep a widget's size cost no layout of the screen, and the footer is rebuilt only
when its keys change — without either showing anything but what Textual would show."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.in_place import update_in_place
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.summary import SummaryScreen
from pverunbook.ui.widgets.footer import KeyFooter
from tests.ui.conftest import ScriptTransport, confirm_ready, summary_ready, to_run_screen, until


class Lines(App[None]):
    CSS = """
    #auto { height: auto; padding: 0 1; }
    #capped { height: auto; max-height: 3; border: round red; }
    #fixed { height: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Static("one", id="auto")
        yield Static("one", id="capped")
        yield Static("one", id="fixed")


async def test_a_layout_only_when_the_height_changes() -> None:
    app = Lines()
    async with app.run_test(size=(40, 20)) as pilot:
        auto = app.query_one("#auto", Static)
        assert update_in_place(auto, "two") is False  # one line for another
        assert update_in_place(auto, "a\nb\nc") is True
        await pilot.pause()
        assert auto.content_region.height == 3 and "b" in str(auto.render())
        assert update_in_place(auto, "d\ne\nf") is False
        assert update_in_place(auto, "x" * 60) is True  # wraps to two rows at 38 columns
        await pilot.pause()
        assert auto.content_region.height == 2

        capped = app.query_one("#capped", Static)  # border-box: 3 rows, 1 inside the border
        assert update_in_place(capped, "p\nq\nr\ns") is False
        assert update_in_place(capped, "") is False  # still one row inside

        fixed = app.query_one("#fixed", Static)
        assert update_in_place(fixed, "1\n2\n3\n4\n5") is False
        await pilot.pause()
        assert fixed.outer_size.height == 2


class Keys(App[None]):
    BINDINGS = [Binding("n", "next", "Next"), Binding("c", "cancel", "Cancel")]
    running = False

    def compose(self) -> ComposeResult:
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return not self.running
        if action == "cancel":
            return self.running
        return True

    def action_next(self) -> None: ...

    def action_cancel(self) -> None: ...


def _keys(app: App[None]) -> list[str]:
    return [k.key for k in app.query(FooterKey)]


async def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        before = list(app.query(FooterKey))
        assert "n" in _keys(app) and "c" not in _keys(app)
        for _ in range(3):
            app.screen.refresh_bindings()
            await pilot.pause()
        assert list(app.query(FooterKey)) == before  # the same widgets: not rebuilt
        app.running = True
        app.screen.refresh_bindings()
        app.screen.refresh_bindings()
        await pilot.pause()
        assert "c" in _keys(app) and "n" not in _keys(app)
        assert all(k not in before for k in app.query(FooterKey))


async def test_a_run_holds_the_old_objects_from_the_collector_until_it_ends(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """From the run's start to its end the objects that were there are frozen (no full
    collection walks them while output floods in); at the end they are given back."""
    gc.unfreeze()
    app = build_app(ScriptTransport(), runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(140, 40)) as pilot:
        await to_run_screen(pilot, app)
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the first step")
        assert gc.get_freeze_count() > 0
        for _ in range(6):
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen) or confirm_ready(app)
                        or (isinstance(app.screen, RunScreen) and app.screen.decider.is_waiting),
                        "a question or the summary")
            if isinstance(app.screen, SummaryScreen):
                break
            if isinstance(app.screen, ConfirmModal):
                await pilot.press(*"nyc", "enter")
            else:
                await pilot.press("n")
        await until(pilot, lambda: summary_ready(app), "summary")
        assert gc.get_freeze_count() == 0
        await app.workers.wait_for_complete()
