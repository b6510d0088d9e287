"""One live output pane per node (a capped ``Log`` that follows the tail only at the bottom),
and the strip that shows every node's state on one screen."""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Log, Static

from pverunbook.ui.in_place import update_in_place
from pverunbook.ui.model import NodeResult, NodeRow, fmt_duration

#: Lines kept per pane; older ones are dropped (the journal has the full transcript).
PANE_MAX_LINES = 2000


class QuietLog(Log):
    """A ``Log`` whose writes cost no layout of the screen and whose plain lines render cheaply
    (see :meth:`_append` and :meth:`_render_line_strip`): a node's output pane, and the run's
    activity log, which is written at every step and command even while its tab is hidden."""

    def append_lines(self, lines: list[str]) -> None:
        """Add ``lines``, following the tail if it was shown (as ``Log.write_lines``)."""
        self._append(lines, self.auto_scroll and self.is_vertical_scroll_end)

    def _append(self, lines: list[str], scroll_end: bool) -> None:
        """``Log.write_lines`` without its two costs under a flood (Textual 8.2, _log.py):

        * it measures the new lines' width in a thread worker started per call — a Worker,
          its state messages and a thread hand-off per batch — here, a batch of plain ASCII
          lines is measured by ``len`` in C, anything else with ``cell_len`` as Log does;
        * it sets ``virtual_size``, a ``layout=True`` reactive: every batch that added lines
          or widened the log cost a full-screen layout (50-80 ms on a loaded 2-core VM) —
          here the size is set without one, and only a scrollbar appearing or going (its own
          ``layout=True`` reactive, via ``_scroll_update``) still asks for a layout.
        """
        new: list[str] = []
        for line in lines:
            new.extend(line.splitlines())  # as Log.write_lines (it drops empty lines too)
        if not new:
            return
        start = len(self._lines)
        self._lines.extend(new)
        if self.max_lines is not None and len(self._lines) > self.max_lines:
            self._prune_max_lines()
            start = max(0, len(self._lines) - len(new))
        self._width = max(self._width, _widest(new))
        self._resize(Size(self._width, len(self._lines)))
        self.refresh_lines(start, len(new))
        if scroll_end and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.refresh()

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        """``Log._render_line_strip`` without a ``Text`` per line (Textual 8.2, _log.py).

        Why: Log builds a ``Text``, styles it and renders it through the console for every
        visible line of every frame (its line cache is kept only while text is selected); a
        flooding pane shows new lines each frame, and that was most of its paint. A line with
        no highlighting and no selection becomes the one segment Log's path gives, built
        directly; anything else goes Log's way.
        """
        if self.highlight or self.text_selection is not None:
            return super()._render_line_strip(y, rich_style)
        return line_strip(self._lines[y], rich_style)

    def _resize(self, size: Size) -> None:
        if size == self.virtual_size:
            return
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)

    def reset(self) -> None:
        """``Log.clear`` without its layout pass (see :meth:`_append`)."""
        self._lines.clear()
        self._width = 0
        self._render_line_cache.clear()
        self._updates += 1
        self._clear_y = 0
        self._resize(Size(0, 0))
        self.refresh()


class OutputLog(QuietLog):
    """A ``Log`` that counts lines written while the operator looks elsewhere."""

    new_lines: reactive[int] = reactive(0)
    follow: reactive[bool] = reactive(True)

    class NewLines(Message):
        def __init__(self, log: OutputLog, count: int) -> None:
            super().__init__()
            self.log = log
            self.count = count

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=PANE_MAX_LINES, auto_scroll=True, **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.anchor(self.follow)

    @property
    def at_tail(self) -> bool:
        """Showing the last line, or anchored there: a pane that follows is anchored to its
        end (``Widget.anchor``; scrolling up releases it), so a scrollbar that appears after
        a batch (lines wider than the pane: one row less to show them) keeps it at the end.
        Measured from ``scroll_y`` alone, that pane was one row short of the end, stopped
        following, and whether it did depended on whether the last batch came before or
        after that layout: two screenshots of the same run differed."""
        return self.is_vertical_scroll_end or (self.is_anchored and not self._anchor_released)

    def add_lines(self, lines: list[str]) -> None:
        following = self.follow and self.at_tail
        # Only the last PANE_MAX_LINES can stay: writing the rest (a flooding node sends tens of
        # thousands a batch) cost more than everything else on the event loop. (Not
        # ``clear()`` first: a changed virtual size costs the screen a layout pass.)
        self._append(lines[-PANE_MAX_LINES:], following)
        if not following:
            self.new_lines += len(lines)

    def watch_follow(self, follow: bool) -> None:
        self.auto_scroll = follow
        self.anchor(follow)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.new_lines = 0

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.follow and self.new_lines and self.is_vertical_scroll_end:
            self.new_lines = 0

    def watch_new_lines(self, count: int) -> None:
        self.post_message(self.NewLines(self, count))

    def reset(self) -> None:
        """``Log.clear`` without its layout pass (see :meth:`QuietLog._append`)."""
        super().reset()
        self.new_lines = 0


def line_strip(line: str, style: Style) -> Strip:
    """One output line as ``Log`` renders it with no highlighting and no selection: control
    codes replaced and tabs expanded (``Log._process_line``), the whole line in ``style``, as
    one segment, unstyled for an empty line or a null style, as ``Text`` renders them. Plain
    ASCII — nearly all command output — is taken as it is."""
    if not line:
        return Strip([Segment("")], 0)
    if not (line.isascii() and line.isprintable()):  # tabs, escapes, wide characters
        line = Log._process_line(line)
        return Strip([Segment(line, style or None)], cell_len(line))
    return Strip([Segment(line, style or None)], len(line))


def _widest(lines: list[str]) -> int:
    """The widest of ``lines`` in terminal cells, as ``Log`` measures them (control codes
    replaced, tabs expanded). Plain ASCII — nearly all command output — is one ``len`` each."""
    joined = "".join(lines)
    if joined.isascii() and joined.isprintable():  # no tabs, escapes or other control codes
        return max(map(len, lines))
    return max(cell_len(Log._process_line(line)) for line in lines)


class NodePane(Vertical):
    """Node name and result on top, output below, "+N new lines" when not following."""

    def __init__(self, node: str) -> None:
        super().__init__(classes="node-pane")
        self.node = node
        self.border_title = node

    def compose(self) -> ComposeResult:
        yield Static(f"{self.node}  · waiting", classes="pane-status")
        yield OutputLog(classes="pane-log")
        yield Static("", classes="pane-more")

    @property
    def log_widget(self) -> OutputLog:
        return self.query_one(OutputLog)

    def start_step(self, title: str) -> None:
        self.log_widget.reset()
        self.remove_class("-ok", "-bad")
        # Once per step: back to one line (a long outcome of the last step wrapped to more).
        update_in_place(self.query_one(".pane-status", Static), f"{self.node}  · {title}")

    def add_lines(self, lines: list[str]) -> None:
        self.log_widget.add_lines(lines)

    def set_follow(self, follow: bool) -> None:
        self.log_widget.follow = follow
        self._more()

    def show_result(self, result: NodeResult) -> None:
        status = self.query_one(".pane-status", Static)
        if result.status == "running":
            cmd = result.commands[-1] if result.commands else ""
            # no layout pass while output floods in (a full-screen one costs ~50 ms on a slow
            # console): the line keeps its height, a long command is cut (the step shows it)
            status.update(f"▶ running: {cmd}", layout=False)
            self.set_class(False, "-ok", "-bad")
        elif result.done:
            ok = result.status in ("ok", "planned")
            glyph = "✔" if ok else "!" if result.status == "findings" else "✘"
            when = f" · {fmt_duration(result.duration)}" if result.status != "planned" else ""
            # once per node and step: how it ended wraps, whole (run.tcss: up to 4 rows)
            update_in_place(status, f"{glyph} {result.outcome}{when}")
            self.set_class(ok, "-ok")
            self.set_class(not ok, "-bad")

    def on_output_log_new_lines(self, message: OutputLog.NewLines) -> None:
        message.stop()
        self._more()

    def _more(self) -> None:
        log = self.log_widget
        more = self.query_one(".pane-more", Static)
        parts = []
        if log.new_lines:
            parts.append(f"+{log.new_lines} new lines")
        if not log.follow:
            parts.append("follow off (f)")
        more.update(" ↓ " + " · ".join(parts) if parts else "", layout=False)  # one line high
        more.display = bool(parts)


#: Glyph and style per node status in the strip.
STRIP_STATUS: dict[str, tuple[str, str]] = {
    "idle": ("·", "dim"), "waiting": ("…", "dim"), "running": ("▶", "bold yellow"),
    "ok": ("✔", "bold green"), "planned": ("○", "bold blue"), "failed": ("✘", "bold red"),
    "findings": ("!", "bold yellow"),
    "timed_out": ("✘", "bold red"), "cancelled": ("■", "bold yellow"),
    "connection_lost": ("✘", "bold red"), "unknown": ("?", "bold magenta"),
    "unreachable": ("✘", "bold red"),
}


def render_strip(rows: list[NodeRow], selected: str | None,
                 unreachable: Mapping[str, str] | None = None) -> Text:
    """One line per row: node(s), state, exit, duration, last line (cut at the width). A node
    in ``unreachable`` (name → why) that the step did not run on says so, and why."""
    text = Text(no_wrap=True, overflow="ellipsis")
    unreachable = unreachable or {}
    width = max((len(", ".join(r.nodes)) + (11 if r.identical else 0) for r in rows),
                default=0)
    for i, r in enumerate(rows):
        if i:
            text.append("\n")
        mark = "▸" if selected in r.nodes else " "
        names = ", ".join(r.nodes) + (": identical" if r.identical else "")
        text.append(f"{mark} ", style="bold cyan")
        text.append(f"{names:<{width}} ", style="bold")
        status, last = r.status, r.last_line
        if status == "idle" and r.nodes[0] in unreachable:
            status, last = "unreachable", unreachable[r.nodes[0]]
        glyph, style = STRIP_STATUS.get(status, ("?", ""))
        text.append(f"{glyph} {status.replace('_', ' '):<9}", style=style)
        if r.exit_status is not None:
            text.append(f" exit {r.exit_status:<3}")
        if r.status not in ("idle", "waiting"):
            text.append(f" {fmt_duration(r.duration):>6}", style="dim")
        if last:
            text.append(" │ ", style="dim")
            text.append(last.strip())
    return text


class NodeStrip(Static):
    """Every node's state at once (3+ nodes, or one pane at a time on a small console)."""

    def show(self, rows: list[NodeRow], selected: str | None,
             unreachable: Mapping[str, str] | None = None) -> None:
        update_in_place(self, render_strip(rows, selected, unreachable))
