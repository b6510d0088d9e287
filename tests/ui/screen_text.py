"""The text a console shows, line by line, read off the app's own screenshot.

A test of what fits in 80 columns has to read what was rendered, not what a widget was
given: a label cut by its container is still whole in the widget."""

from __future__ import annotations

import html
import re

from textual.app import App

_TEXT = re.compile(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def screen_lines(app: App[object]) -> list[str]:
    """Each row of the screen as plain text (rows in order, trailing spaces dropped)."""
    rows: dict[float, list[str]] = {}
    for y, t in _TEXT.findall(app.export_screenshot()):
        rows.setdefault(float(y), []).append(html.unescape(re.sub(r"<[^>]+>", "", t)))
    return ["".join(parts).replace("\xa0", " ").rstrip() for _, parts in sorted(rows.items())]


def screen_text(app: App[object]) -> str:
    return "\n".join(screen_lines(app))
