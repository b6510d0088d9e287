"""The step list: every step with its state and a marker on destructive ones."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from pverunbook.ui.in_place import update_in_place
from pverunbook.ui.model import STATE_GLYPHS, STATE_LABELS, RunState, marked

STATE_STYLES: dict[str, str] = {
    "pending": "dim", "next": "bold", "running": "bold cyan", "needs_you": "bold yellow",
    "ok": "green", "planned": "blue", "failed": "bold red", "skipped": "dim italic",
    "timed_out": "bold red", "cancelled": "red", "connection_lost": "bold red",
    "blocked": "bold red", "declined": "yellow", "aborted": "red", "unknown": "bold magenta",
    "not_reached": "dim italic",
}


class StepList(Static):
    """Rendered from :class:`RunState`; not focusable, so Enter always means "next"."""

    can_focus = False

    def show(self, state: RunState) -> None:
        rows = []
        for sv in state.steps:
            st = state.shown_state(sv)
            style = STATE_STYLES.get(st, "")
            current = sv.id == state.current or state.waiting_index == sv.index
            title = Text(sv.step.title, style="bold" if current else "")
            mark = Text("⚠", style="bold red") if sv.step.destructive else Text(" ")
            label = STATE_LABELS.get(st, st)
            glyph = STATE_GLYPHS.get(st, "?")
            if st == "ok" and (state.worst_finding(sv.id) == "critical" or marked(sv)):
                # checks passed, but the verdict found trouble: never a plain ✔
                glyph, label, style = "!", "ok—findings", "bold yellow"
            if sv.attempt > 1:
                label += f" ×{sv.attempt}"
            rows.append((Text(glyph, style=style), Text(str(sv.index + 1), style="dim"),
                         title, mark, Text(label, style=style)))
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(width=1)
        table.add_column(width=2, justify="right")
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column(width=1)
        # 10 columns, wider only while a longer state shows ("not reached"): never cut
        table.add_column(width=max([10, *(r[-1].cell_len for r in rows)]), no_wrap=True)
        for row in rows:
            table.add_row(*row)
        update_in_place(self, table)
