"""Text as operators capture and paste it, made readable before any parser looks at it.

Outputs reach pverunbook straight from SSH, but also pasted from forum threads, mailing lists and
terminals: Windows line ends, non-breaking spaces from a web page, colour escapes from
``journalctl``, ``> `` quote marks of a mail reply, lines cut at the terminal width by a pager
(``less -S`` marks them with ``>``, ``systemctl status`` with ``…``) and lines wrapped by a mail
client. The helpers here undo what can be undone and report what cannot (a cut line keeps only
its start), so parsers never guess.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]")
_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\ufeff]")
_QUOTE = re.compile(r"^(?:[ \t]*>[ \t]?)+")


def clean(text: str) -> str:
    """Normalise pasted or captured text: line ends, odd spaces, colours, mail quote marks.

    - ``\\r\\n`` and lone ``\\r`` become ``\\n``; a BOM and zero-width characters are dropped;
      non-breaking and other Unicode spaces become plain spaces (web pages use them).
    - ANSI colour and cursor escapes (``journalctl`` and ``systemctl`` colour their output).
    - Mail quote marks (``> `` and nested ``> > ``) are removed when most non-empty lines carry
      them, as in a quoted reply on a mailing list.
    - Markdown escapes a forum editor adds (``corosync\\[812\\]``) are undone.
    - Line numbers in front of every line (``cat -n``, ``grep -n``, an editor's gutter) are
      dropped when they count up by one, as in a numbered paste in a bug report.

    Never raises; returns a new string.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ZERO_WIDTH.sub("", _SPACES.sub(" ", _ANSI.sub("", text)))
    if "\\[" in text and "\\]" in text:  # Markdown escapes from a forum editor: corosync\[812\]
        text = re.sub(r"\\([\[\]_*])", r"\1", text)
    lines = text.split("\n")
    filled = [ln for ln in lines if ln.strip()]
    quoted = [ln for ln in filled if _QUOTE.match(ln)]
    if filled and len(quoted) * 10 >= len(filled) * 6:
        lines = [_QUOTE.sub("", ln, count=1) for ln in lines]
    return "\n".join(_without_line_numbers(lines))


#: "253 Feb 24 16:21:00 host corosync[1]: ..." - a log pasted with the numbers of `cat -n`,
#: `nl`, `grep -n` or an editor's gutter in front of each line.
#: What follows the number must start like a log line (a month, a tag, an ISO date), so table
#: rows that begin with a number (``pvecm nodes``: "1  1 A,V,NMW pve1") are left alone.
_NUMBERED = re.compile(r"^[ \t]*(\d{1,7})(?::|[ \t]+)(?=[A-Za-z\[<]|\d{4}-\d\d-\d\d)")


def _without_line_numbers(lines: list[str]) -> list[str]:
    """Drop line numbers when every non-empty line has one and they count up by one."""
    numbers: list[int] = []
    for ln in lines:
        if not ln.strip():
            continue
        m = _NUMBERED.match(ln)
        if m is None:
            return lines
        numbers.append(int(m.group(1)))
    if len(numbers) < 2 or any(b != a + 1 for a, b in zip(numbers, numbers[1:], strict=False)):
        return lines
    return [_NUMBERED.sub("", ln, count=1) if ln.strip() else ln for ln in lines]


_CUT_MARKS = ("…", "...>", ">")


def cut_at_width(line: str) -> tuple[str, bool]:
    """``(visible text, True)`` when a pager or ``systemctl status`` cut the line at the width.

    ``less -S`` (journalctl's pager) ends a chopped line with ``>``; ``systemctl status``
    ellipsizes with ``…``. Only the visible start of such a line means anything. Callers use this
    on log lines, whose messages never end in ``>`` or ``…`` themselves.
    """
    stripped = line.rstrip()
    for mark in _CUT_MARKS:
        if stripped.endswith(mark) and not stripped.endswith("->"):
            return stripped[: -len(mark)], True
    return stripped, False
