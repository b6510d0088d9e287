"""Read a TOML file an operator wrote (runbook, cluster inventory) without ever raising anything
but ``TomlFileError``, which carries ``line`` and ``col`` (1-based) and a message that says what
to do.

Kinds of bad input handled here (found by fuzzing and by editors in the field): a UTF-8 byte
order mark (Windows Notepad writes one: accepted and skipped), bytes that are not UTF-8 (Latin-1
files: refused with the line and column of the first bad byte), a key given twice inside one
``[[steps]]`` entry (tomlkit up to 0.14 raises ``KeyAlreadyPresent`` without a position there,
0.15 a ``ParseError`` with a 0-based column; both are reported alike), a directory
or an unreadable path, and anything else tomlkit raises.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.parser import Parser

from pverunbook.runbook import toml_explain
from pverunbook.runbook.readfile import open_regular

#: A runbook or inventory larger than this is not something a person wrote.
MAX_BYTES = 4 * 1024 * 1024

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ID = re.compile(r"""^\s*(id|name)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ALREADY = re.compile(r'Key "?(.*?)"? already exists')


class TomlFileError(ValueError):
    """``file:line:col: message``; ``line``/``col`` are 1-based. ``excerpt`` is the offending
    line with a caret under the column (empty when there is no line to show), printed under
    the message."""

    def __init__(self, file: str, line: int, col: int, message: str,
                 excerpt: str = "") -> None:
        self.file, self.line, self.col, self.message = file, line, col, message
        self.excerpt = excerpt
        super().__init__(f"{file}:{line}:{col}: {message}" + (f"\n{excerpt}" if excerpt else ""))


def read_text(path: str | Path, what: str = "file") -> str:
    """The file's text, decoded as UTF-8 (a leading byte order mark is dropped).

    Raises ``TomlFileError`` for a missing or unreadable path, a directory, more than
    ``MAX_BYTES``, or bytes that are not UTF-8 (pointing at the first bad byte).
    """
    p = Path(path)
    try:
        with open_regular(p, what) as fh:  # a FIFO or device is refused, never waited on
            raw = fh.read(MAX_BYTES + 1)
    except IsADirectoryError as exc:
        raise TomlFileError(str(p), 1, 1, f"is a directory, not a {what}; give the file "
                                          "inside it") from exc
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise TomlFileError(str(p), 1, 1, f"is a directory, not a {what}; give the file "
                                              "inside it") from exc
        raise TomlFileError(str(p), 1, 1, f"cannot read {what}: {exc.strerror or exc}; check "
                                          "the path names a file you can read") from exc
    if len(raw) > MAX_BYTES:
        raise TomlFileError(str(p), 1, 1, f"{what} is larger than {MAX_BYTES >> 20} MiB; is "
                                          "this the right file?")
    return decode(raw, str(p), what)


def decode(raw: bytes, file: str, what: str = "file") -> str:
    """UTF-8 text of ``raw`` without a byte order mark; ``TomlFileError`` at the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        before = raw[:start]
        line = before.count(b"\n") + 1
        col = start - (before.rfind(b"\n") + 1) + 1
        raise TomlFileError(file, line, col, f"{what} is not UTF-8 text (byte 0x{raw[start]:02x}"
                                             "); save it as UTF-8") from exc


def _linecol(text: str, idx: int) -> tuple[int, int]:
    idx = max(0, min(idx, len(text)))
    line = text.count("\n", 0, idx) + 1
    return line, idx - (text.rfind("\n", 0, idx) + 1) + 1


def _where(text: str, line: int) -> str:
    """' in step 'a'' / ' in [cluster]' for the table that holds ``line`` (1-based)."""
    lines = text.splitlines()
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = _HEADER.match(lines[i])
        if not m:
            continue
        name = m.group(2).strip()
        if m.group(1) == "[[":
            ident = ""
            for follow in lines[i + 1:line]:
                if _HEADER.match(follow):
                    break
                idm = _ID.match(follow)
                if idm:
                    ident = idm.group(2) if idm.group(2) is not None else idm.group(3) or ""
                    break
            label = {"steps": "step", "params": "parameter", "nodes": "node"}.get(name, name)
            return f" in {label} '{ident}'" if ident else f" in a [[{name}]] entry"
        return f" in [{name}]"
    return ""


def _duplicate(text: str, file: str, parser: Parser, message: str) -> TomlFileError:
    """The error for a key given twice, at the same place on every tomlkit release.

    Up to tomlkit 0.14 a key repeated inside a table (a ``[[steps]]`` entry) raises
    ``KeyAlreadyPresent`` with no position; 0.15 wraps it into a ``ParseError`` whose line/col
    come from ``Source._to_linecol`` (0-based column; the end of the text after a final newline
    is reported as column 0 of the last line). Either way the duplicate is only found when the
    table is complete and handed to ``Container.append`` (tomlkit/parser.py ``Parser.parse``),
    so the parser stands just after that table: that position is reported, 1-based, from the
    parser's own index, and the table named is the one ending there.
    """
    line, col = _linecol(text, parser._src._idx)
    m = _ALREADY.search(message)
    key = m.group(1) if m else "?"
    typo = _misspelt_header(text, key)
    if typo is not None:
        at, header = typo
        return TomlFileError(file, at, 1, f"'{header}' is not a table of a runbook: did you "
                                          f"mean '{header.replace(header.strip('[]'), key)}'? "
                                          f"(the parser then finds '{key}' twice, further down)")
    where = _where(text, line - 1 if col == 1 else line)
    twice = _second(text, key, line - 1 if col == 1 else line)
    if twice is None:
        return TomlFileError(file, line, col, f"duplicate key '{key}'{where} — keep only one "
                                              "of them (TOML allows a key once per table)")
    first, second = twice
    return TomlFileError(file, second, 1,
                         f"duplicate key '{key}'{where} (first given at line {first}) — keep "
                         "only one of them (TOML allows a key once per table)",
                         toml_explain.excerpt(text, second, 1))


def _second(text: str, key: str, end: int) -> tuple[int, int] | None:
    """The lines (1-based) of the first two ``key = …`` / ``key.x = …`` in the table that ends
    at line ``end``, or of the first two ``[key]`` headers: where the operator deletes one.
    tomlkit only says the table that holds the duplicate is done, not where the key was."""
    lines = text.splitlines()
    end = min(end, len(lines))
    start = 0
    for i in range(end - 1, -1, -1):
        if _HEADER.match(lines[i]):
            start = i + 1
            break
    assign = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
                        r"\s*[=.]")
    found = [i + 1 for i in range(start, end) if assign.match(lines[i])]
    if len(found) < 2:
        header = re.compile(rf"^\s*\[\s*(?:[^\]]*\.)?\s*{re.escape(key)}\s*\]")
        found = [i + 1 for i, raw in enumerate(lines) if header.match(raw)]
    return (found[0], found[1]) if len(found) >= 2 else None


def _misspelt_header(text: str, key: str) -> tuple[int, str] | None:
    """The line and text of a table header that is a near miss of ``key`` (``[[step]]`` for
    ``steps``), if any: renaming one ``[[steps]]`` entry makes the sub-tables under it
    (``[steps.expect]``) open a plain table ``steps``, and tomlkit reports the clash only at
    the next ``[[steps]]``, a hundred lines below the typo (a newcomer's ``[[step]]`` at line
    54 was reported at line 149). Near miss: difflib ratio ≥ 0.8, the whole name differing."""
    import difflib

    for i, raw in enumerate(text.splitlines(), 1):
        h = _HEADER.match(raw)
        if not h:
            continue
        name = h.group(2).strip()
        if name != key and "." not in name \
                and difflib.SequenceMatcher(None, name, key).ratio() >= 0.8:
            return i, f"{h.group(1)}{name}{']' * len(h.group(1))}"
    return None


def parse(text: str, file: str) -> dict[str, Any]:
    """The TOML document as plain Python values; ``TomlFileError`` for any problem."""
    parser = Parser(text)
    try:
        doc = parser.parse()
    except tomlkit.exceptions.ParseError as exc:
        msg = re.sub(r" at line \d+ col \d+$", "", str(exc))
        if _ALREADY.search(msg):
            raise _duplicate(text, file, parser, msg) from exc
        try:
            line, col, plain = toml_explain.explain(text, exc)
        except Exception:  # noqa: BLE001 - a case the explanation misreads is still an error
            # tomlkit's own position (0-based column: tomlkit/source.py ``_to_linecol``)
            line, col = exc.line, exc.col + 1
            plain = (f"the TOML parser cannot read this ({msg}) — compare the line with the "
                     "runbooks shipped with pverunbook")
        raise TomlFileError(file, line, col, plain,
                            toml_explain.excerpt(text, line, col)) from exc
    except tomlkit.exceptions.KeyAlreadyPresent as exc:
        raise _duplicate(text, file, parser, str(exc)) from exc
    except RecursionError as exc:
        raise TomlFileError(file, 1, 1, "lists or tables are nested too deeply to read — is "
                                        "this the right file?") from exc
    except (tomlkit.exceptions.TOMLKitError, ValueError) as exc:
        raise TomlFileError(file, 1, 1, f"the TOML parser cannot read this file ({exc}) — "
                                        "check it is a runbook written in TOML") from exc
    try:
        value = doc.unwrap()
    except (tomlkit.exceptions.TOMLKitError, ValueError, RecursionError) as exc:
        raise TomlFileError(file, 1, 1, f"TOML value error: {exc}") from exc
    return value
