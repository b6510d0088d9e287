"""Keep secret parameter values (and well-known secret shapes) out of everything that is shown or
stored: events, the journal, the report, checkpoint manifests and stored outputs.

A secret reaches text in more forms than the value itself: commands carry it shell-quoted (a
value with ``'`` becomes ``'it'"'"'s'``, see ``runbook/template.py``), Python messages carry its
``repr``, and command output arrives in chunks, so a value can be split across two of them (the
transports read 64 KiB at a time and the engine coalesces output per 50 ms). ``Redactor`` handles
the forms; ``StreamRedactor`` holds back the tail of each chunk that could be the start of a
secret until the next chunk (or the end of the command) decides.

Values shorter than ``MIN_SECRET_LEN`` are refused when the parameter is given
(``runbook/params.py``): a two-character value cannot be told apart from ordinary output, so it
could be neither redacted reliably nor kept out of the journal.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

# The shortest secret value accepted (see above); checked when the parameter is given.
from pverunbook.runbook.params import MIN_SECRET_LEN

__all__ = ["MIN_SECRET_LEN", "Redactor", "StreamRedactor", "secret_forms"]

MARK = "[REDACTED]"
KEY_MARK = "[REDACTED PRIVATE KEY]"

_KEY_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                        re.S)
_KEY_OPEN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", re.S)
_KEY_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
# Not "token:" nor "token=5000" — corosync's timeout key, whose value an operator needs.
_ASSIGNED = re.compile(r"(?i)\b(password|passwd|secret|api[_-]?key|api[_-]?token"
                       r"|token(?==(?!\d+\b)))"
                       r"(\s*[=:]\s*)(\S+)")
_API_TOKEN = re.compile(r"PVEAPIToken=\S+")
#: Every ``_ASSIGNED`` match holds one of these in its casefolded text (its keywords start with
#: them; "apı" is "api" with the dotless ı that ``(?i)`` also takes for i, which casefold
#: keeps). Testing them first (a plain substring search) spares the regex on output that
#: names none of them: the regex cost ~5 ms per 64 KiB of ``seq`` output, three times a chunk.
_ASSIGNED_HINTS = ("pass", "secret", "api", "apı", "token")


def secret_forms(value: str) -> set[str]:
    """The ways ``value`` can appear in commands, messages and output (raw, quoted, escaped)."""
    forms = {value, shlex.quote(value), repr(value)[1:-1]}
    # template.render quotes list items one by one, and a value may be double-quoted by hand.
    forms.add('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return {f for f in forms if f}


#: Short strings (ids, node names, commands, messages) are redacted once and remembered:
#: every event passes the redactor twice (engine and journal) with mostly the same field
#: values, and a fan-out of short commands spent more on that than on its SSH channels.
_MEMO_LEN = 512
_MEMO_SIZE = 4096


class Redactor:
    """Replaces secret parameter values and well-known secret shapes with ``[REDACTED]``."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.values: list[str] = []
        self.secrets: list[str] = []  # every form, longest first
        self._memo: dict[str, str] = {}
        for s in secrets or []:
            self.add(s)

    def add(self, value: str) -> None:
        if not value or value in self.values:
            return
        self.values.append(value)
        self.secrets = sorted(set(self.secrets) | secret_forms(value), key=len, reverse=True)
        self._memo.clear()  # what was clean may hold the new secret

    @property
    def longest(self) -> int:
        return len(self.secrets[0]) if self.secrets else 0

    def text(self, value: str) -> str:
        if len(value) > _MEMO_LEN:
            return self._text(value)
        done = self._memo.get(value)
        if done is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            done = self._memo[value] = self._text(value)
        return done

    def _text(self, value: str) -> str:
        for s in self.secrets:
            if s in value:
                value = value.replace(s, MARK)
        if "PRIVATE KEY-----" in value:
            value = _KEY_BLOCK.sub(KEY_MARK, value)
            value = _KEY_OPEN.sub(KEY_MARK, value)
        folded = value.casefold()
        if any(hint in folded for hint in _ASSIGNED_HINTS):
            value = _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MARK}", value)
        if "PVEAPIToken=" in value:
            value = _API_TOKEN.sub(f"PVEAPIToken={MARK}", value)
        return value

    def obj(self, value: Any) -> Any:
        """``value`` with every string in it redacted (dicts, lists and tuples walked)."""
        if type(value) is str:  # most fields of most events: no walk to set up
            return self.text(value)
        return self._obj(value, {})

    def _obj(self, value: Any, done: dict[str, str]) -> Any:
        # ``done``: each distinct string is redacted once per call. A checkpoint manifest
        # repeats most of its strings (node, kind, owner, the archive's name, each hash twice)
        # across thousands of items.
        if isinstance(value, str):
            out = done.get(value)
            if out is None:
                out = done[value] = self.text(value)
            return out
        if isinstance(value, dict):
            return {k: self._obj(v, done) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(self._obj(v, done) for v in value)
        if isinstance(value, list):
            return [self._obj(v, done) for v in value]
        return value


class StreamRedactor:
    """Redacts one output stream that arrives in chunks.

    ``feed(text)`` returns what can be shown now; up to ``longest - 1`` characters that could
    begin a secret (and a whole line that could be an assignment or a private key header) are
    held back until the next ``feed`` or ``end()``. A private key block that is still open at a
    chunk's end swallows everything until its END line.
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.carry = ""
        self.in_key = False

    def feed(self, text: str) -> str:
        data = self.carry + text
        if self.in_key:
            end = _KEY_END.search(data)
            if end is None:
                self.carry = data[-64:]  # an END line may straddle the next chunk
                return ""
            data = data[end.end():]
            self.in_key = False
        cut = self._safe_cut(data)
        head, self.carry = data[:cut], data[cut:]
        out = self.redactor.text(head)
        # An unterminated key block was cut off at the end of this chunk: hide the rest too.
        self.in_key = out.endswith(KEY_MARK) and \
            _KEY_OPEN.search(_KEY_BLOCK.sub("", head)) is not None
        return out

    def end(self) -> str:
        data, self.carry = self.carry, ""
        if self.in_key:
            self.in_key = False
            end = _KEY_END.search(data)
            if end is None:
                return ""
            data = data[end.end():]
        return self.redactor.text(data)

    def _safe_cut(self, data: str) -> int:
        """An index before which no secret can be cut in two by the chunk boundary."""
        # Only a tail that could be the start of a secret waits for the next chunk: output
        # that cannot be keeps flowing (a complete line is never held for this).
        hold = 0
        for s in self.redactor.secrets:
            for k in range(min(len(s) - 1, len(data)), hold, -1):
                if data.endswith(s[:k]):
                    hold = k
                    break
        cut = len(data) - hold
        # Assignments (password=...) and key headers are matched per line: keep the last,
        # unfinished line back too, but never more than 4 KiB of it.
        nl = data.rfind("\n")
        if nl + 1 < cut and len(data) - (nl + 1) <= 4096:
            cut = nl + 1
        # A secret that starts before the cut and ends after it moves the cut to its start.
        moved = True
        while moved:
            moved = False
            for s in self.redactor.secrets:
                start = data.rfind(s, max(0, cut - len(s) + 1), cut + len(s) - 1)
                if start != -1 and start < cut < start + len(s):
                    cut, moved = start, True
        return cut
