"""The rehearsal shell's line editor: what bash's readline gives a person at a node's prompt
that the pty alone does not — history (Up/Down), moving in the line (Left/Right, Home/End,
Ctrl+A/E) and the kills an operator reaches for at 3 a.m. (Ctrl+U/K/W, Delete).

Pure: :class:`LineEditor` turns keys into the bytes to echo, so it is tested without a channel;
:mod:`pverunbook.sim.terminal` feeds it what the channel reads. Keys follow readline's emacs
mode (bash(1), READLINE "Commands for Moving", "Commands for Manipulating the History",
"Killing and Yanking") and the escape sequences xterm sends in normal and application cursor
mode (ctlseqs: "PC-Style Function Keys"). The screen is assumed wide enough for the line, as
the simulated prompt's lines are short; a wrapped line is still edited right, only echoed as a
plain terminal would show ``\\b`` at a wrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Kinds of key :func:`split_keys` hands back besides characters.
ENTER, ERASE, INTERRUPT, EOF_OR_DELETE = "enter", "erase", "interrupt", "eof-or-delete"
UP, DOWN, LEFT, RIGHT, HOME, END, DELETE = "up", "down", "left", "right", "home", "end", "delete"
KILL_START, KILL_END, KILL_WORD, OTHER = "kill-start", "kill-end", "kill-word", "other"

_CONTROL = {0x0D: ENTER, 0x0A: ENTER, 0x7F: ERASE, 0x08: ERASE, 0x03: INTERRUPT,
            0x04: EOF_OR_DELETE, 0x01: HOME, 0x05: END, 0x02: LEFT, 0x06: RIGHT,
            0x10: UP, 0x0E: DOWN, 0x15: KILL_START, 0x0B: KILL_END, 0x17: KILL_WORD}
#: Final byte of CSI/SS3 sequences, and ``CSI n ~`` numbers (ctlseqs).
_FINAL = {ord("A"): UP, ord("B"): DOWN, ord("C"): RIGHT, ord("D"): LEFT, ord("H"): HOME,
          ord("F"): END}
_TILDE = {b"1": HOME, b"7": HOME, b"4": END, b"8": END, b"3": DELETE}


def _utf8_length(lead: int) -> int:
    """Bytes in the UTF-8 character that ``lead`` starts (1 for a stray continuation byte)."""
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    if lead >= 0xC0:
        return 2
    return 1


def split_keys(data: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Split typed bytes into keys: ``("char", b"x")`` for a character (UTF-8 kept whole),
    ``(kind, raw)`` for an editing key or ``("other", raw)`` for one the editor ignores.

    Returns the keys and the tail that is an unfinished escape sequence or UTF-8 character,
    which the caller keeps for the next read (a key can arrive split over two reads).
    """
    keys: list[tuple[str, bytes]] = []
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x1B:
            if i + 1 >= len(data):
                return keys, data[i:]
            nxt = data[i + 1]
            if nxt in (0x5B, 0x4F):  # CSI "[" or SS3 "O"
                j = i + 2
                while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                    j += 1
                if j >= len(data):
                    return keys, data[i:]
                raw = data[i:j + 1]
                kind = _FINAL.get(data[j], OTHER)
                if data[j] == 0x7E:
                    kind = _TILDE.get(data[i + 2:j].split(b";")[0], OTHER)
                keys.append((kind, raw))
                i = j + 1
            else:  # Meta-x: not bound here
                keys.append((OTHER, data[i:i + 2]))
                i += 2
            continue
        if c in _CONTROL:
            keys.append((_CONTROL[c], data[i:i + 1]))
            i += 1
            continue
        if c == 0x09:  # a pasted Tab is kept, as bash's bracketed paste keeps it (no completion
            keys.append(("char", b"\t"))  # here): storage.cfg's lines start with one
            i += 1
            continue
        if c < 0x20:
            keys.append((OTHER, data[i:i + 1]))
            i += 1
            continue
        n = _utf8_length(c)
        if i + n > len(data):
            return keys, data[i:]
        keys.append(("char", data[i:i + n]))
        i += n
    return keys, b""


@dataclass
class LineEditor:
    """One prompt's line being edited, with the session's history (oldest first).

    ``line`` holds characters (each its UTF-8 bytes) and ``cursor`` an index into it;
    :meth:`key` applies one key and returns what to echo so the screen shows the line.
    """

    history: list[bytes] = field(default_factory=list)
    line: list[bytes] = field(default_factory=list)
    cursor: int = 0
    #: Which history entry is shown (``len(history)`` is the line being typed).
    shown: int = -1
    #: The line being typed, kept while Up shows older ones (readline keeps it too).
    typed: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.shown < 0:
            self.shown = len(self.history)

    def text(self) -> bytes:
        return b"".join(self.line)

    def _redraw_from(self, start: int, old_len: int, old_cursor: int) -> bytes:
        """Echo that moves from ``old_cursor`` to ``start``, rewrites the line from there,
        blanks what the old line had past its new end and puts the cursor back."""
        out = bytearray(b"\b" * (old_cursor - start))
        tail = self.line[start:]
        out += b"".join(_shown(c) for c in tail)
        pad = max(0, old_len - len(self.line))
        out += b" " * pad + b"\b" * pad
        out += b"\b" * (len(self.line) - self.cursor)
        return bytes(out)

    def _replace(self, new: list[bytes]) -> bytes:
        old_len, old_cursor = len(self.line), self.cursor
        self.line, self.cursor = list(new), len(new)
        return self._redraw_from(0, old_len, old_cursor)

    def key(self, kind: str, raw: bytes) -> bytes:
        """Apply one key from :func:`split_keys` (not ENTER, INTERRUPT or an EOF, which the
        caller handles as the end of the line) and return the bytes to echo."""
        old_len, old_cursor = len(self.line), self.cursor
        if kind == "char":
            self.line.insert(self.cursor, raw)
            self.cursor += 1
            if self.cursor == len(self.line):
                return _shown(raw)
            return self._redraw_from(old_cursor, old_len, old_cursor)
        if kind == ERASE and self.cursor:
            self.cursor -= 1
            del self.line[self.cursor]
            return self._redraw_from(self.cursor, old_len, old_cursor)
        if kind in (DELETE, EOF_OR_DELETE) and self.cursor < len(self.line):
            del self.line[self.cursor]
            return self._redraw_from(self.cursor, old_len, old_cursor)
        if kind == LEFT and self.cursor:
            self.cursor -= 1
            return b"\b"
        if kind == RIGHT and self.cursor < len(self.line):
            self.cursor += 1
            return _shown(self.line[self.cursor - 1])
        if kind == HOME:
            self.cursor = 0
            return b"\b" * old_cursor
        if kind == END:
            self.cursor = len(self.line)
            return b"".join(_shown(c) for c in self.line[old_cursor:])
        if kind == KILL_START and self.cursor:
            del self.line[:self.cursor]
            self.cursor = 0
            return self._redraw_from(0, old_len, old_cursor)
        if kind == KILL_END:
            del self.line[self.cursor:]
            return self._redraw_from(self.cursor, old_len, old_cursor)
        if kind == KILL_WORD and self.cursor:
            start = self.cursor
            while start and self.line[start - 1].isspace():
                start -= 1
            while start and not self.line[start - 1].isspace():
                start -= 1
            del self.line[start:self.cursor]
            self.cursor = start
            return self._redraw_from(start, old_len, old_cursor)
        if kind == UP and self.shown > 0:
            if self.shown == len(self.history):
                self.typed = list(self.line)
            self.shown -= 1
            return self._replace(_chars(self.history[self.shown]))
        if kind == DOWN and self.shown < len(self.history):
            self.shown += 1
            new = (self.typed if self.shown == len(self.history)
                   else _chars(self.history[self.shown]))
            return self._replace(new)
        return b""

    def enter(self) -> bytes:
        """The line is done: add it to the history (not blank, not starting with a space, not
        a repeat of the last: ``HISTCONTROL=ignoreboth`` of Debian's /etc/skel/.bashrc) and
        start a fresh one. Returns it."""
        text = self.text()
        if (text.strip() and not text[:1].isspace()
                and (not self.history or self.history[-1] != text)):
            self.history.append(text)
        self.reset()
        return text

    def reset(self) -> None:
        """Forget the line (Ctrl+C at the prompt: readline drops it, history stays)."""
        self.line, self.cursor, self.typed = [], 0, []
        self.shown = len(self.history)


def _shown(char: bytes) -> bytes:
    """How a character is echoed: a Tab as one space, so every character takes one column
    and the cursor arithmetic holds (the line keeps the Tab itself)."""
    return b" " if char == b"\t" else char


def _chars(text: bytes) -> list[bytes]:
    """``text`` as the editor's characters (UTF-8 kept whole)."""
    keys, rest = split_keys(text)
    chars = [raw for kind, raw in keys if kind == "char"]
    return chars + ([rest] if rest else [])
