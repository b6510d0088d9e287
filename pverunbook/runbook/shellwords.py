"""Shell command lines as words: enough of sh to find what a runbook command really runs.

Not a shell parser: a quote-aware split at ``; && || | &`` and newlines, wrappers peeled off
(``timeout 5``, ``sudo``, ``env X=1``, ``sh -c '...'``), so that the lint sees ``rm`` in
``timeout 10 sudo rm -rf /etc/corosync/*``. Used by the lint only.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

_WRAPPERS = {"sudo", "nohup", "env", "nice", "ionice", "command", "exec", "builtin", "xargs",
             "stdbuf", "chroot"}
_PROTECTED = ("/etc/pve", "/etc/corosync", "/var/lib/pve-cluster")
_BACKUP_SUFFIX = re.compile(r"(\.bak|\.orig|\.new|\.backup|\.old|\.broken[^/]*|~)$|/backup/")


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


@dataclass(frozen=True)
class Word:
    """One word of a command line as written (quotes and backslashes kept in ``text``)."""

    text: str
    #: It held a ``*``, ``?`` or ``[`` outside quotes and not escaped: the shell expands it as
    #: a pattern before the command runs (XCU 2.13 "Pattern Matching Notation").
    globbed: bool


@dataclass(frozen=True)
class Segment:
    """What stands between two of ``; && || | &`` and newline outside quotes: its text
    (stripped) and its words (split at blanks outside quotes)."""

    text: str
    words: tuple[Word, ...]


def segments(command: str) -> list[Segment]:
    """The command line cut at ``; && || | &`` and newlines, each piece cut into words.

    Quote-aware, no parser: ``'...'`` and ``"..."`` hide separators, blanks and glob
    characters; a backslash (outside quotes or inside ``"..."``) hides the one character after
    it; ``&`` right after ``<`` or ``>`` (``2>&1``) stays in its word. Blank segments are
    dropped, and so is the last word when a quote is never closed. The one loop behind both
    the lint's split into simple commands and its look for unquoted globs."""
    found: list[Segment] = []
    buf: list[str] = []  # the segment's text as written
    words: list[Word] = []
    word: list[str] = []
    globbed = False
    quote = ""

    def end_word() -> None:
        nonlocal word, globbed
        if word:
            words.append(Word("".join(word), globbed))
        word, globbed = [], False

    def end_segment() -> None:
        nonlocal buf, words
        end_word()
        text = "".join(buf).strip()
        if text:
            found.append(Segment(text, tuple(words)))
        buf, words = [], []

    i = 0
    while i < len(command):
        ch = command[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(command):
                ch = command[i:i + 2]
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < len(command):
            ch = command[i:i + 2]
            i += 1
        elif ch in ";|&\n" and not (ch == "&" and buf and buf[-1] in "<>"):
            end_segment()
            if command[i:i + 2] in ("&&", "||"):
                i += 1
            i += 1
            continue
        elif ch.isspace():
            end_word()
            buf.append(ch)
            i += 1
            continue
        else:
            globbed = globbed or ch in "*?["
        buf.append(ch)
        word.append(ch)
        i += 1
    if quote:  # an unclosed quote: the shell would refuse the line; its last word is no word
        word, globbed = [], False
    end_segment()
    return found


def _split_unquoted(command: str) -> list[str]:
    """Split at ; && || | & and newlines that are not inside quotes (quote-aware, no parser)."""
    return [segment.text for segment in segments(command)]


def _simple_commands(command: str) -> Iterator[list[str]]:
    """The simple commands of a command line, wrappers (timeout, sudo, sh -c) peeled off."""
    for part in _split_unquoted(command):
        words = _words(part.lstrip("({!").rstrip(")}").strip())
        words = _peel(words)
        if not words:
            continue
        if words[0] in ("sh", "bash", "dash") and "-c" in words:
            i = words.index("-c")
            if i + 1 < len(words):
                yield from _simple_commands(words[i + 1])
                continue
        yield words


def _peel(words: list[str]) -> list[str]:
    while words:
        head = words[0].rsplit("/", 1)[-1]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        elif head == "timeout":
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                opt = rest.pop(0)
                if opt in ("-k", "-s", "--kill-after", "--signal") and rest:
                    rest.pop(0)
            words = rest[1:] if rest else []
        elif head in _WRAPPERS:
            rest = words[1:]
            while rest and (rest[0].startswith("-") or "=" in rest[0]):
                opt = rest.pop(0)
                if opt in ("-n", "-u", "-g", "-c") and rest and head in ("nice", "sudo", "ionice"):
                    rest.pop(0)
            words = rest
        else:
            break
    if words:
        words = [words[0].rsplit("/", 1)[-1], *words[1:]]
    return words


def _under(path: str, roots: tuple[str, ...] = _PROTECTED) -> bool:
    p = path.strip("'\"")
    return any(p == r or p.startswith(r + "/") for r in roots)


def _operands(words: list[str]) -> list[str]:
    return [w for w in words[1:] if not w.startswith("-")]


def _redirect_targets(command: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?<![0-9&<>])>>?\s*([^\s;&|<>]+)", command)]


def _units(words: list[str]) -> list[str]:
    return [w[:-8] if w.endswith(".service") else w for w in _operands(words)[1:]]
