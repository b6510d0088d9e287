"""The node pane's log writes batches itself (no worker per batch, no layout per batch): what
it shows, its size and its scrollbars must still be what Textual's own ``Log`` gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Log

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.widgets.output import (
    PANE_MAX_LINES,
    OutputLog,
    QuietLog,
    _widest,
    line_strip,
)


class Both(App[None]):
    CSS = "Log { width: 1fr; height: 12; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OutputLog()
            yield Log(max_lines=PANE_MAX_LINES)


def _state(log: Log) -> tuple[object, ...]:
    return (list(log.lines), log.virtual_size, log.show_vertical_scrollbar,
            log.show_horizontal_scrollbar, log.is_vertical_scroll_end)


def _shown(log: Log) -> list[list[object]]:
    """Every visible row as its segments (text, style), as the compositor gets them."""
    return [list(log.render_line(y)) for y in range(log.size.height)]


async def test_batches_end_as_textual_log_ends_them() -> None:
    app = Both()
    async with app.run_test(size=(80, 14)) as pilot:
        ours = app.query_one(OutputLog)
        theirs = next(w for w in app.query(Log) if not isinstance(w, OutputLog))
        app.set_focus(None)  # a focused log has another background
        batches = [["short", "wide 漢字漢字", ""], ["tab\there"],
                   [f"line {i}" for i in range(PANE_MAX_LINES + 500)], ["x" * 100]]
        for batch in batches:
            ours.add_lines(batch)
            theirs.write_lines(batch)
            await pilot.pause(0.05)  # Log measures widths in a thread worker
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert _state(ours) == _state(theirs)
            assert _shown(ours) == _shown(theirs)
        assert len(ours.lines) == PANE_MAX_LINES and ours.show_horizontal_scrollbar
        ours.reset()
        theirs.clear()
        await pilot.pause()
        assert _state(ours) == _state(theirs)
        assert list(ours.lines) == [] and ours.virtual_size.height == 0


def test_width_is_measured_as_log_measures_it() -> None:
    from rich.cells import cell_len

    for lines in (["abc", "de"], ["tab\there", "x"], ["\x1b[31mred\x1b[0m"], ["漢字", "ab"],
                  ["50%\r100%", "bell\x07"]):
        assert _widest(lines) == max(cell_len(Log._process_line(x)) for x in lines)


_CONSOLE = Console()


def _as_log_renders_it(line: str, style: Style) -> list[object]:
    """Textual 8.2's ``Log._render_line_strip`` with no highlighter and no selection."""
    from rich.cells import cell_len

    processed = Log._process_line(line)
    text = Text(processed, no_wrap=True)
    text.stylize(style)
    return [list(text.render(_CONSOLE)), cell_len(processed)]


@settings(deadline=500, max_examples=300)
@given(st.text(), st.sampled_from([Style(), Style(color="red", bgcolor="black"),
                                   Style(bold=True, dim=True)]))
def test_a_line_is_the_segment_log_gives(line: str, style: Style) -> None:
    strip = line_strip(line, style)
    assert [list(strip), strip.cell_length] == _as_log_renders_it(line, style)


class Activity(App[None]):
    CSS = "Log { width: 1fr; height: 8; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield QuietLog(max_lines=50, auto_scroll=True)
            yield Log(max_lines=50, auto_scroll=True)


async def test_the_activity_log_appends_as_log_writes() -> None:
    """The run's activity log (written at every step, its tab often hidden) shows and scrolls
    as Textual's ``Log`` does, one line at a time, past its line limit."""
    app = Activity()
    async with app.run_test(size=(80, 10)) as pilot:
        ours = app.query_one(QuietLog)
        theirs = next(w for w in app.query(Log) if not isinstance(w, QuietLog))
        app.set_focus(None)
        for i in range(60):
            line = f"step {i} started (attempt 1)" + (" — a longer line" * (i % 7))
            ours.append_lines([line])
            theirs.write_line(line)
            if i % 9 == 0:
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert _state(ours) == _state(theirs)
                assert _shown(ours) == _shown(theirs)


async def test_a_following_pane_stays_at_the_end_when_it_gets_fewer_rows(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """`pverunbook screenshots --only run-5-nodes` differed between runs in one pane's ping
    lines. A pane scrolled to its end, then lost a row (its header grew to two lines when the
    node's result with a long finding came): it stood one row short of the end, the next
    batch was not followed ("+1 new"), and whether that happened depended on whether the last
    batch came before or after that layout. Here the order is forced (a smaller console takes
    the pane's rows the same way)."""
    from pverunbook.ui.screens.run import RunScreen
    from tests.ui.conftest import to_run_screen

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        log = run.query(OutputLog).first()
        log.add_lines([f"64 bytes from 10.0.0.9: icmp_seq={i}" for i in range(40)])
        await pilot.pause()
        assert log.is_vertical_scroll_end
        rows = log.size.height
        await pilot.resize_terminal(80, 22)  # the layout: the pane has fewer rows
        await pilot.pause()
        assert log.size.height < rows
        log.add_lines(["rtt min/avg/max/mdev = 0.3/0.3/0.3/0.0 ms"])
        await pilot.pause()
        assert log.new_lines == 0, "the last batch was not followed"
        assert log.is_vertical_scroll_end, (log.scroll_y, log.max_scroll_y)
        # scrolled up by the operator, it stops following, as before
        log.scroll_up(animate=False, immediate=True)
        await pilot.pause()
        log.add_lines(["one more"])
        await pilot.pause()
        assert log.new_lines == 1 and not log.is_vertical_scroll_end
