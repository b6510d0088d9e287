"""Fitting a line that names a step into the few rows a small console gives it.

At 80×24 the run screen's status line has two rows; a long step title pushed the keys that
say what to do next ("s skip · j jump · r re-run previous") out of them. The keys matter
more than the middle of the title, which the step list (i) and F1 show whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Static

from pverunbook.ui.in_place import update_in_place


def fit_title(text: str, title: str, width: int, rows: int) -> str:
    """``text`` with ``title`` (a part of it) shortened by its middle, with "…", so that the
    whole fits in ``rows`` rows of ``width`` columns; ``text`` as it is when it fits already
    or ``title`` is not in it. Word wrap wastes up to a word per row: that much is kept free."""
    if not title or title not in text or width <= 0:
        return text
    room = rows * width - rows * 12
    over = len(text) - room
    if over <= 0:
        return text
    keep = max(len(title) - over - 1, 12)
    head = keep * 2 // 3
    short = title[:head].rstrip() + "…" + title[len(title) - (keep - head):].lstrip()
    return text.replace(title, short, 1)


def show_fitted(widget: Static, text: str, titles: Iterable[str] = (), rows: int = 2) -> None:
    """Show ``text`` in ``widget``; on a small console (the app's ``-compact`` class) the step
    title quoted in it (“…”, one of ``titles``) shortened to fit ``rows`` rows. The tooltip
    has the whole text."""
    widget.tooltip = text
    if widget.app.has_class("-compact"):
        title = max((t for t in titles if f"“{t}”" in text), key=len, default="")
        text = fit_title(text, title, widget.app.size.width - 2, rows)
    update_in_place(widget, text)
