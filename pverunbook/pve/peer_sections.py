"""Per-peer sections in one node's output, so one step can measure every peer of a node.

A triage step that probes every other node runs a shell loop and marks each probe's output
with a header line of its own::

    for a in 192.168.4.201 192.168.4.202; do echo "### peer $a"; ping -c 50 -i 0.2 "$a"; done
    echo '### route-table'; ip route

Verdicts and fact rules split the text at these headers and read each part with the parser for
one probe (``ping`` prints one summary per run; reading the concatenation would judge only one
peer). Text before the first header belongs to a section named ``""``; output without any header
is one such section, so a single-peer command reads exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``### peer 192.168.4.201`` or ``### route-table``: the kind, then an optional argument.
HEADER = re.compile(r"^### ([a-z][a-z0-9-]*)(?: +(\S+))?\s*$")


@dataclass(frozen=True)
class Section:
    kind: str  # "peer", "route-table", "addr", or "" for text before any header
    arg: str  # the peer's address for "peer" sections, "" otherwise
    text: str


def split(text: str) -> list[Section]:
    """The sections of ``text`` in order; empty sections before the first header are dropped."""
    out: list[Section] = []
    kind, arg, lines = "", "", []  # type: tuple[str, str, list[str]]
    for line in text.splitlines():
        m = HEADER.match(line.strip())
        if m:
            if kind or any(x.strip() for x in lines):
                out.append(Section(kind, arg, "\n".join(lines) + ("\n" if lines else "")))
            kind, arg, lines = m.group(1), m.group(2) or "", []
            continue
        lines.append(line)
    if kind or any(x.strip() for x in lines):
        out.append(Section(kind, arg, "\n".join(lines) + ("\n" if lines else "")))
    return out


def peers(text: str) -> list[tuple[str | None, str]]:
    """``(peer address, text)`` per probed peer; ``[(None, text)]`` for output without headers.

    Sections of other kinds (``route-table``, ``addr``) are left out.
    """
    secs = split(text)
    if not any(s.kind == "peer" for s in secs):
        return [(None, text)] if not any(s.kind for s in secs) else \
            [(None, s.text) for s in secs if s.kind == ""]
    return [(s.arg or None, s.text) for s in secs if s.kind == "peer"]


def section(text: str, kind: str) -> str | None:
    """The text of the first section of ``kind``, or None when the output has none."""
    for s in split(text):
        if s.kind == kind:
            return s.text
    return None
