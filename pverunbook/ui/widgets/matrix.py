"""The run screen's node × node view: which link loses packets (from the run's facts) and which
nodes printed the same output for the step in focus. Fits 8 nodes in 80 columns; the cells are
short and the lines under each table say in full what they abbreviate."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widgets import Static

from pverunbook.ui.analysis import Matrix

#: Widest column header (node names longer than this are cut, the rows keep them whole).
HEADER_MAX = 9


def render_matrix(mx: Matrix) -> Group:
    """``mx`` as aligned rows (never wrapped): the row node, then one cell per column node;
    then the legend and the notes (wrapped)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(mx.title + "\n", style="bold underline")
    name_w = max(len(n) for n in mx.nodes)
    heads = [n[:HEADER_MAX] for n in mx.nodes]
    widths = [max(len(h), *(len(mx.cells.get((r, c), "")) for r in mx.nodes))
              for h, c in zip(heads, mx.nodes, strict=True)]
    t.append(" " * (name_w + 2))
    for h, w in zip(heads, widths, strict=True):
        t.append(h.ljust(w) + "  ", style="bold")
    t.append("\n")
    for r in mx.nodes:
        t.append(r.ljust(name_w) + "  ", style="bold")
        for c, w in zip(mx.nodes, widths, strict=True):
            cell = mx.cells.get((r, c), "")
            style = "dim" if cell in ("·", "?") else \
                "bold red" if (r, c) in mx.bad else "green"
            t.append(cell.ljust(w) + "  ", style=style)
        t.append("\n")
    below = Text()
    if mx.legend:
        below.append(mx.legend + "\n", style="dim")
    for note in mx.notes:
        below.append(f"  {note}\n", style="yellow" if mx.bad else "green")
    return Group(t, below)


class MatrixView(Static):
    """Both tables, or what is missing for them; the run screen refreshes it with the output."""

    def show(self, links: Matrix | None, outputs: Matrix | None) -> None:
        parts: list[RenderableType] = [
            render_matrix(links) if links is not None else
            Text("Links: nothing measured yet (the knet, ping and mtr steps fill this in).\n",
                 style="dim"),
            render_matrix(outputs) if outputs is not None else
            Text("Output: fewer than two nodes have output for this step yet.", style="dim")]
        self.update(Group(*parts))
