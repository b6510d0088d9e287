"""Say a TOML syntax error in words an operator can act on, at the place to fix.

tomlkit reports a syntax error as its parser saw it: ``Unexpected character: '\\n'`` at the
character where it gave up (tomlkit/parser.py ``Parser._parse_value`` and friends, 0-based column
from tomlkit/source.py ``Source._to_linecol``). That is often not where the mistake is — a string
left open is reported at the end of its line as a "control character", a list without its ``]``
at the first key of the next line, a key without ``=`` at whatever follows the key. This module
reads the text around that place again and returns ``(line, col, message)``: 1-based, pointing at
the thing to fix, the message saying what is wrong, then `` — `` and what to do. The offending line
itself is shown under the message by :func:`excerpt`.

The cases (the TOML 1.0 rules they come from: https://toml.io/en/v1.0.0): a string not closed on
its line or before the end of the file, a key without ``=``, ``=`` without a value, a value that is
not a TOML value (a bare word, ``yes``/``no``, ``10s``), text after a complete value, a list or
inline table not closed, list items without a comma, an escape TOML does not know (``"\\d"`` in a
regex), a table header not closed, a key with a space. Anything else keeps tomlkit's words, marked
as the parser's, with the generic advice.
"""

from __future__ import annotations

import difflib
import re

import tomlkit.exceptions as tx

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_START = re.compile(r"""^\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*(?:\.|=)|^\s*\[""")
_TOKEN = re.compile(r"[^\s,\]}#]+")
_VALUES = ("a string in quotes (\"...\"), a number, true or false, or a list [ ... ]")
_BOOLISH = {"yes": "true", "no": "false", "on": "true", "off": "false",
            "true": "true", "false": "false"}


def _q(ch: str) -> str:
    """A character as the operator should read it: newline and end of file by name."""
    if ch in ("", "\x00"):
        return "the end of the file"
    if ch == "\n" or ch == "\r":
        return "the end of the line"
    return f"'{ch}'"


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _index(text: str, line: int, col: int) -> int:
    """Index into ``text`` of 1-based ``line``/``col`` (clamped to the text)."""
    lines = _lines(text)
    line = max(1, min(line, len(lines)))
    return min(len(text), sum(len(x) + 1 for x in lines[:line - 1]) + max(0, col - 1))


def _linecol(text: str, idx: int) -> tuple[int, int]:
    idx = max(0, min(idx, len(text)))
    return text.count("\n", 0, idx) + 1, idx - (text.rfind("\n", 0, idx) + 1) + 1


def _scan(text: str, end: int) -> tuple[list[tuple[str, int]], tuple[str, int] | None]:
    """The brackets open at index ``end`` (``[`` of a list, ``{`` of an inline table, with their
    index) and the string ``end`` falls in (its delimiter and opening index), reading TOML's
    lexical rules only: comments, the four kinds of string, table headers on a line of their own.
    A one-line string the line ends inside is taken as closed there (the error is reported at
    that string, so the rest need not be exact)."""
    stack: list[tuple[str, int]] = []
    i, n = 0, min(end, len(text))
    line_start = True
    while i < n:
        ch = text[i]
        if ch == "\n":
            line_start = True
            i += 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#":
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        if line_start and ch == "[" and not stack:
            nl = text.find("\n", i)  # a table header: nothing in it opens anything
            stop = len(text) if nl < 0 else nl
            if stop >= n:
                return stack, None
            i = stop
            continue
        line_start = False
        if text.startswith('"""', i) or text.startswith("'''", i):
            delim = text[i:i + 3]
            close = text.find(delim, i + 3)
            while delim == '"""' and close > 0 and _escaped(text, close):
                close = text.find(delim, close + 1)
            if close < 0 or close >= n:
                return stack, (delim, i)
            i = close + 3
            continue
        if ch in "\"'":
            j = i + 1
            while j < len(text) and text[j] != ch and text[j] != "\n":
                j += 2 if ch == '"' and text[j] == "\\" else 1
            if j >= n:
                return stack, (ch, i)
            i = j + 1
            continue
        if ch in "[{":
            stack.append((ch, i))
        elif ch in "]}" and stack:
            stack.pop()
        i += 1
    return stack, None


def _escaped(text: str, idx: int) -> bool:
    k = idx - 1
    while k >= 0 and text[k] == "\\":
        k -= 1
    return (idx - 1 - k) % 2 == 1


def _eq(line: str, upto: int) -> int:
    """Index of the ``=`` of a ``key = value`` line, if it is before ``upto`` (else -1)."""
    inq = ""
    for i, ch in enumerate(line[:upto]):
        if inq:
            if ch == inq:
                inq = ""
        elif ch in "\"'":
            inq = ch
        elif ch == "=":
            return i
        elif ch == "#":
            return -1
    return -1


def _string_open(text: str, at: int, delim: str) -> tuple[int, int, str]:
    line, col = _linecol(text, at)
    if len(delim) == 3:
        return line, col, (f"the text that starts here with {delim} is never closed — add "
                           f"{delim} where it ends")
    kind = "string" if delim == '"' else "literal string"
    return line, col, (f"this {kind} is not closed on its line — add the closing {delim} at the "
                       f"end of the text (text over several lines goes between {delim * 3} "
                       f"and {delim * 3})")


def _bracket_open(text: str, at: int, ch: str) -> tuple[int, int, str]:
    line, col = _linecol(text, at)
    if ch == "{":
        return line, col, ("this inline table '{' is not closed — add '}' on the same line "
                           "(an inline table must fit on one line; use a [table] otherwise)")
    return line, col, "this list '[' is not closed — add ']' after its last item"


def _bad_value(key: str, tok: str, in_list: bool) -> str:
    what = "list item" if in_list else f"value of '{key}'"
    low = tok.lower()
    if low in _BOOLISH:
        return (f"'{tok}' is not a TOML value — write {_BOOLISH[low]} (lowercase, without "
                "quotes) for a yes/no setting")
    near = difflib.get_close_matches(low, ["true", "false"], n=1, cutoff=0.6)
    if near and not tok[:1].isdigit():
        return f"'{tok}' is not a TOML value — did you mean {near[0]}?"
    if tok[:1].isdigit() or tok[:1] in "+-.":
        digits = re.match(r"[+-]?[0-9_.]+", tok)
        number = digits.group(0).rstrip("._") if digits else ""
        fix = f"write just the number ({number})" if number.strip("+-") else "write a number"
        return (f"'{tok}' as the {what} is not a number — {fix}, or put text in quotes "
                f"(\"{tok}\")")
    return (f"'{tok}' as the {what} is not a TOML value — put text in quotes "
            f"(\"{tok}\"); other values are numbers, true/false and lists [ ... ]")


def _unexpected(text: str, line: int, col: int, ch: str) -> tuple[int, int, str]:
    """An unexpected character: which of the usual mistakes is it?"""
    idx = _index(text, line, col)
    stack, in_string = _scan(text, idx)
    if in_string is not None:
        return _string_open(text, in_string[1], in_string[0])
    src = _lines(text)[line - 1] if line - 1 < len(_lines(text)) else ""
    rest = src[col - 1:]
    if stack:
        opener, at = stack[-1]
        if _linecol(text, at)[0] < line and (_KEY_START.match(rest) or ch in ("", "\x00")):
            return _bracket_open(text, at, opener)
        if opener == "{" and ch in ("\n", "", "\x00"):
            return _bracket_open(text, at, opener)
        if opener == "[":
            before = text[at + 1:idx].rstrip()
            if before and before[-1] not in ",[":
                return line, col, (f"list items are separated by ',' — add ',' before "
                                   f"{_q(ch)}")
            m = _TOKEN.match(rest)
            if m:
                return line, col, _bad_value("", m.group(0), True)
    before = src[:col - 1]
    stripped = before.strip()
    if stripped.startswith("["):
        if ch in ("\n", "", "\x00", "#") and stripped.count("]") < stripped.count("["):
            return line, col, ("this table header is not closed — end it with ']' "
                               "(']]' for an entry like [[steps]])")
        if "]" in stripped:
            return line, col, (f"unexpected {_q(ch)} after the table header — a header is "
                               "alone on its line: [name] or [[name]]")
        if ch in ("\n", "", "\x00", "#"):
            return line, col, ("this table header is not closed — end it with ']' "
                               "(']]' for an entry like [[steps]])")
        return line, col, (f"{_q(ch)} cannot be in a table name — use letters, digits, '_' and "
                           "'-' (for example [[steps]])")
    eq = _eq(src, col - 1)
    if eq < 0:
        key = stripped
        if not key:
            return line, col, (f"{_q(ch)} cannot start a key — a line is key = value, a "
                               "[table] header, or a # comment")
        if not _BARE_KEY.match(key):
            return line, col, (f"'{key}' is not a key — keys are letters, digits, '_' and "
                               f"'-'; put other text in quotes (\"{key}\")")
        if ch in ("\n", "", "\x00", "#"):
            return line, col, (f"'{key}' has no '=' and no value — write {key} = <value>, or "
                               "delete the line")
        if ch.isspace() or ch in "\"'[{0123456789":
            return line, col, (f"'=' is missing after the key '{key}' — write {key} = "
                               f"{rest.strip() or '<value>'}")
        return line, col, (f"{_q(ch)} cannot be in a key — keys are letters, digits, '_' and "
                           f"'-'; quote the key (\"{key}{ch}...\") if it needs more")
    key = src[:eq].strip()
    value_start = eq + 1 + (len(src[eq + 1:]) - len(src[eq + 1:].lstrip()))
    vcol = value_start + 1
    if ch in ("\n", "", "\x00", "#") and col <= vcol:
        return line, col, f"'{key}' has no value after '=' — give one: {_VALUES}"
    first = src[value_start:value_start + 1]
    if first and first not in "\"'[{":
        m = _TOKEN.match(src, value_start)
        tok = m.group(0) if m else first
        past = col - (value_start + len(tok) + 1)  # 0: just after the token
        if past < 0 or (past == 0 and ch in ("\n", "\r", " ", "\t", "", "\x00", "#")):
            return line, vcol, _bad_value(key, tok, False)
    junk = _TOKEN.match(rest)
    what = f"'{junk.group(0)}'" if junk else _q(ch)
    if ch == ",":
        return line, col, (f"unexpected ',' after the value of '{key}' — one key = value per "
                           "line; ',' only separates the items of a list [a, b]")
    return line, col, (f"unexpected {what} after the value of '{key}' — one key = value per "
                       "line; start a comment with '#'")


def _token_at(src: str, col: int) -> tuple[int, str]:
    """The value token that ends at or spans ``col`` (1-based) on ``src``: (its col, text)."""
    eq = _eq(src, len(src))
    start = eq + 1 if eq >= 0 and eq < col else max(src.rfind(",", 0, col - 1),
                                                    src.rfind("[", 0, col - 1)) + 1
    while start < len(src) and src[start] in " \t":
        start += 1
    m = _TOKEN.match(src, start)
    return start + 1, (m.group(0) if m else src[start:col])


def explain(text: str, exc: tx.ParseError) -> tuple[int, int, str]:
    """``(line, col, message)`` for tomlkit's ``exc`` over ``text``: 1-based, at what to fix."""
    line, col = exc.line, exc.col + 1  # tomlkit's column is 0-based
    lines = _lines(text)
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    raw = re.sub(r" at line \d+ col \d+$", "", str(exc))
    if isinstance(exc, tx.InvalidControlChar):
        idx = _index(text, line, col)
        _, in_string = _scan(text, idx)
        if text[idx:idx + 1] in ("\n", "\r", "") and in_string is not None:
            return _string_open(text, in_string[1], in_string[0])
        code = ord(text[idx]) if idx < len(text) else 0
        return line, col, (f"an invisible control character (U+{code:04X}) is inside this "
                           f"string — delete it, or write it as \\u{code:04X}")
    if isinstance(exc, tx.UnexpectedEofError):
        stack, in_string = _scan(text, len(text))
        if in_string is not None:
            return _string_open(text, in_string[1], in_string[0])
        if stack:
            return _bracket_open(text, stack[-1][1], stack[-1][0])
        last = len(lines) - 1
        while last > 0 and not lines[last].strip():
            last -= 1
        return _unexpected(text, last + 1, len(lines[last]) + 1, "")
    if isinstance(exc, tx.UnexpectedCharError):
        idx = _index(text, line, col)
        ch = text[idx] if idx < len(text) else ""
        if "'\\x00'" in raw:  # tomlkit ran off the end: its position is 1:1
            return explain_eof(text)
        return _unexpected(text, line, col, ch)
    if isinstance(exc, (tx.InvalidNumberError, tx.InvalidNumberOrDateError)):
        vcol, tok = _token_at(src, col)
        return line, vcol, _bad_value(src[:max(0, _eq(src, len(src)))].strip(), tok, False)
    if isinstance(exc, (tx.InvalidDateError, tx.InvalidTimeError, tx.InvalidDateTimeError)):
        vcol, tok = _token_at(src, col)
        return line, vcol, (f"'{tok}' is not a real date or time — write YYYY-MM-DD "
                            "(and HH:MM:SS), or put it in quotes if it is text")
    if isinstance(exc, tx.InvalidCharInStringError):
        bs = src.rfind("\\", 0, col)
        at = bs + 1 if bs >= 0 else col
        seq = src[bs:bs + 2] if bs >= 0 else src[col - 1:col]
        return line, at, (f"'{seq}' is not an escape TOML knows in a \"...\" string — write "
                          "\\\\ for a backslash, or use single quotes ('...') for text with "
                          "backslashes, such as a regex or a path")
    if isinstance(exc, tx.InvalidUnicodeValueError):
        bs = src.rfind("\\", 0, col)
        at = bs + 1 if bs >= 0 else col
        return line, at, ("\\u needs exactly 4 hex digits (\\U 8) — fix the code, or use "
                          "single quotes ('...') if the backslash is meant as text")
    if isinstance(exc, tx.EmptyKeyError):
        return line, col, "there is no key before '=' — write the key's name first: name = value"
    if isinstance(exc, tx.EmptyTableNameError):
        return line, col, ("this table header has no name — write it as [name] or [[name]], "
                           "for example [[steps]]")
    m = re.match(r'Invalid key "(.*)"$', raw)
    if m:
        key = m.group(1)
        at = src.find(key)
        bare, _, value = key.partition(" ")
        if _eq(src, len(src)) < 0 and _BARE_KEY.match(bare):  # 'timeout 30': no '=' at all
            return line, at + len(bare) + 1 if at >= 0 else col, (
                f"'=' is missing after the key '{bare}' — write {bare} = {value.strip()}")
        return line, at + 1 if at >= 0 else col, (
            f"'{key}' is not a key: keys are letters, digits, '_' and '-' — write "
            f"{re.sub(r'[^A-Za-z0-9_-]+', '_', key)}, or put it in quotes (\"{key}\")")
    return line, col, (f"the TOML parser cannot read this ({raw[:1].lower() + raw[1:]}) — "
                       "compare the line with the runbooks shipped with pverunbook, or see "
                       "`pverunbook schema`")


def explain_eof(text: str) -> tuple[int, int, str]:
    """The file ends where something was still open (tomlkit says ``'\\x00'`` at 1:1)."""
    return explain(text, tx.UnexpectedEofError(1, 0))


def excerpt(text: str, line: int, col: int) -> str:
    """The line ``line`` of ``text`` with a caret under ``col``, as compilers show it:

    ``  12 | title = "t``
    ``     |         ^``
    """
    lines = _lines(text)
    if not 0 < line <= len(lines):
        return ""
    src = lines[line - 1].rstrip("\r")
    if len(src) > 160:  # a minified line: show the part around the column
        lo = max(0, col - 80)
        src, col = src[lo:lo + 160], col - lo
    num = str(line)
    pad = "".join("\t" if c == "\t" else " " for c in src[:max(0, col - 1)])
    return f"  {num} | {src}\n  {' ' * len(num)} | {pad}^"
