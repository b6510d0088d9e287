"""Updating a ``Static`` without a layout of the whole screen when its size stays the same."""

from __future__ import annotations

from textual.css.scalar import Unit
from textual.visual import VisualType
from textual.widgets import Static


def update_in_place(widget: Static, content: VisualType) -> bool:
    """Show ``content`` in ``widget``; ask for a layout only if its height changes.

    Why: ``Static.update`` asks for a layout by default (Textual 8.2, ``widgets/_static.py``),
    and a layout in Textual reflows and repaints the whole screen: 15-60 ms on a loaded 2-core
    console, every time a status line or a step title changed while two nodes flooded output —
    the event loop's longest stalls then. Most such updates keep the widget's height (one status
    line for another), so the new content is measured at the widget's width and a layout is
    asked for only when the height it needs differs from the height it has, or when that
    cannot be told (not laid out yet, width from its content, a height limit not in cells).

    Returns whether a layout was asked for.
    """
    styles = widget.styles
    width = widget.content_region.width
    if not widget.is_mounted or not width or widget.region.height == 0 \
            or (styles.width is not None and styles.width.is_auto):
        widget.update(content)
        return True
    widget.update(content, layout=False)
    if styles.height is not None and not styles.height.is_auto:
        # fr, %, cells: the height does not follow the content (Textual's box model)
        return False
    height = widget.get_content_height(widget.container_size, widget.app.size, width)
    for limit, clamp in ((styles.min_height, max), (styles.max_height, min)):
        if limit is None:
            continue
        if limit.unit is not Unit.CELLS:
            widget.refresh(layout=True)
            return True
        height = clamp(height, int(limit.value) - styles.gutter.height
                       if styles.box_sizing == "border-box" else int(limit.value))
    if height != widget.content_region.height:
        widget.refresh(layout=True)
        return True
    return False
