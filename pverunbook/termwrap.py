"""Headless output wrapped to the terminal's width, continuation lines under the text.

At an 80-column console a node's long output line or a long command ran on past the edge, and
the terminal folded it into the node column, so the ``node | `` prefix of the next lines no
longer stood in one column. On a terminal a line is now wrapped at the terminal's width
(``shutil.get_terminal_size``, which honours ``$COLUMNS``) and its continuation lines are
indented under the text, after the prefix. Output that is not a terminal — a pipe, a file, a
CI log — is never wrapped: its lines stay whole, byte for byte, so they can be grepped.

Text an operator may have to type is never broken: with ``keep_quoted`` a ``'quoted'`` or
```backquoted``` span, and an option with its value (``--confirm nyc``), moves to the next
line whole, and stays whole (running past the edge, which the terminal folds without
changing it) when it is wider than the line.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from typing import Any

#: Narrower than this after the prefix, wrapping helps nobody: the line is kept whole.
MIN_ROOM = 20

#: A terminal escape sequence (colours, cursor moves) is one unbreakable atom of no width.
_ESCAPE = r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]"
_ATOMS = re.compile(rf"\s+|(?:{_ESCAPE}|[^\s\x1b]|\x1b)+")
#: Typed text: ```…``` or ``'…'`` whose quotes are not apostrophes (``node's``, ``isn't``),
#: and an option with its value (``--confirm nyc``, ``--set token=5000``).
_QUOTE = r"(?<!\w)'[^'\n]+'(?!\w)|`[^`\n]+`"
_OPTION = rf"(?<!\S)--[A-Za-z][\w-]* (?!-)(?:{_QUOTE}|[^\s'`]+)"
_QUOTED_ATOMS = re.compile(rf"\s+|(?:{_OPTION}|{_QUOTE}|{_ESCAPE}|[^\s\x1b]|\x1b)+")
_ESCAPE_RE = re.compile(_ESCAPE)
_QUOTED = re.compile(_QUOTE)


def columns_of(out: Any) -> int:
    """The width to wrap ``out`` at: the terminal's columns when ``out`` is a terminal, 0
    (never wrap) when it is not or cannot tell."""
    try:
        if not out.isatty():
            return 0
    except (AttributeError, ValueError, OSError):
        return 0
    return shutil.get_terminal_size().columns


def cells(text: str) -> int:
    """Terminal columns ``text`` takes: wide (East Asian) characters two, combining marks,
    control characters and escape sequences none."""
    if text.isascii() and text.isprintable():
        return len(text)
    text = _ESCAPE_RE.sub("", text)
    n = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def wrap(prefix: str, text: str, columns: int, lead: int = 0,
         keep_quoted: bool = False) -> str:
    """``prefix + text``, folded into lines of at most ``columns`` cells (without the final
    newline). The first line is printed ``lead`` cells in (something the caller wrote before
    it); continuation lines are indented under the text (``lead`` + the prefix's width).

    Lines break at whitespace, which the break drops; a word wider than a whole line is cut
    (unless ``keep_quoted`` protects it as typed text). ``columns`` 0 or too narrow a line
    after the prefix: ``prefix + text`` unchanged."""
    indent = lead + cells(prefix)
    room = columns - indent
    if columns <= 0 or room < MIN_ROOM:
        return prefix + text
    if "\t" in text:
        text = text.expandtabs()
    if cells(text) <= room:
        return prefix + text
    lines = [""]
    used = 0
    for atom in (_QUOTED_ATOMS if keep_quoted else _ATOMS).findall(text):
        width = cells(atom)
        if used + width <= room:
            lines[-1] += atom
            used += width
        elif atom.isspace():
            if used:  # the break: the whitespace is dropped
                lines[-1] = lines[-1].rstrip()
                lines.append("")
                used = 0
        elif width <= room or (keep_quoted and (_QUOTED.search(atom) or " " in atom)):
            if used:
                lines[-1] = lines[-1].rstrip()
                lines.append("")
            lines[-1] += atom
            used = width
        else:  # a word wider than a line: fill this line, then whole lines of it
            for ch in _chars(atom):
                w = cells(ch)
                if used + w > room and used:
                    lines.append("")
                    used = 0
                lines[-1] += ch
                used += w
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    pad = " " * indent
    return prefix + lines[0] + "".join(f"\n{pad}{line}" for line in lines[1:])


def _chars(word: str) -> list[str]:
    """``word`` as its characters, an escape sequence (or a combining mark with its base)
    kept as one."""
    out: list[str] = []
    pos = 0
    while pos < len(word):
        m = _ESCAPE_RE.match(word, pos)
        end = m.end() if m else pos + 1
        piece = word[pos:end]
        if out and not m and cells(piece) == 0 and not piece.startswith("\x1b"):
            out[-1] += piece
        else:
            out.append(piece)
        pos = end
    return out
