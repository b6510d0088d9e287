"""The node pane's log writes batches itself (no worker per batch, no layout per batch): what
it shows, its size and its scrollbars must still be what Textual's own ``Log`` gives."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Log

from pverunbook.ui.widgets.output import PANE_MAX_LINES, OutputLog, _widest


class Both(App[None]):
    CSS = "Log { width: 1fr; height: 12; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OutputLog()
            yield Log(max_lines=PANE_MAX_LINES)


def _state(log: Log) -> tuple[object, ...]:
    return (list(log.lines), log.virtual_size, log.show_vertical_scrollbar,
            log.show_horizontal_scrollbar, log.is_vertical_scroll_end)


async def test_batches_end_as_textual_log_ends_them() -> None:
    app = Both()
    async with app.run_test(size=(80, 14)) as pilot:
        ours = app.query_one(OutputLog)
        theirs = next(w for w in app.query(Log) if not isinstance(w, OutputLog))
        batches = [["short", "wide 漢字漢字", ""], ["tab\there"],
                   [f"line {i}" for i in range(PANE_MAX_LINES + 500)], ["x" * 100]]
        for batch in batches:
            ours.add_lines(batch)
            theirs.write_lines(batch)
            await pilot.pause(0.05)  # Log measures widths in a thread worker
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert _state(ours) == _state(theirs)
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
