"""Read the ``tree`` rows of a pmxcfs SQL dump as data, never as a script.

A ``config-<epoch>.sql.gz`` backup is what ``sqlite3 config.db .dump | gzip`` prints (pve-cluster
``pve-cluster.service`` backup, and the pmxcfs.adoc recovery section). Feeding such a file to
``executescript`` runs whatever it holds: ``ATTACH DATABASE '/anywhere' AS x; CREATE TABLE x.t``
writes a file anywhere the operator can write, a trigger or ``PRAGMA`` changes what later
statements do. So this module tokenizes the text itself and accepts only the statements a dump of
the pmxcfs database consists of:

- ``PRAGMA foreign_keys=OFF;`` (the sqlite3 shell's first line; no other pragma),
- ``BEGIN TRANSACTION;`` / ``BEGIN;`` / ``COMMIT;`` / ``END;``,
- ``CREATE TABLE [IF NOT EXISTS] tree (...)`` (its column names are kept),
- ``INSERT INTO tree [(columns)] VALUES (...)[, (...)]`` whose values are literals: integers,
  reals, ``'text'``, ``X'hex'``, ``NULL``, and the sqlite3 shell's ``replace('..','\\n',char(10))``
  and ``char(N, ...)`` forms for text with line breaks (sqlite3 3.33+ ``.dump``).

Anything else (``ATTACH``, other pragmas, triggers, views, indexes, other tables, ``DELETE``,
functions other than those two) raises ``DumpError`` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Tokens: strings ('...' with '' escapes), blobs (X'..'), quoted identifiers, numbers, words,
#: punctuation. Comments and whitespace are skipped.
_TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)
  | (?P<blob>[xX]'(?P<hex>[0-9A-Fa-f]*)')
  | (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<punct>[(),;=+\-.*])
""", re.S | re.X)

TABLE = "tree"
#: pve-cluster database.c's column order, used when a dump has no CREATE TABLE.
DEFAULT_COLUMNS = ("inode", "parent", "version", "writer", "mtime", "type", "name", "data")


class DumpError(ValueError):
    """The text is not a plain dump of the pmxcfs tree table; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass
class TreeDump:
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    #: (line of the INSERT, values in column order)
    rows: list[tuple[int, tuple[object, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            snippet = text[pos:pos + 20].splitlines()[0] if text[pos:pos + 20].strip() else ""
            raise DumpError(line, f"unexpected text {snippet!r}; not a pmxcfs SQL dump")
        kind = m.lastgroup or ""
        if kind == "hex":
            kind = "blob"
        if kind != "ws":
            out.append(_Tok(kind, m.group(0), line))
        line += m.group(0).count("\n")
        pos = m.end()
    return out


def _statements(tokens: list[_Tok]) -> list[list[_Tok]]:
    out: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for t in tokens:
        if t.kind == "punct" and t.text == ";":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def _ident(t: _Tok) -> str:
    if t.kind == "qid":
        inner = t.text[1:-1]
        return inner.replace('""', '"') if t.text[0] == '"' else inner
    if t.kind == "word":
        return t.text
    raise DumpError(t.line, f"expected a name, got {t.text!r}")


class _Cursor:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        t = self.peek()
        if t is None:
            last = self.toks[-1].line if self.toks else 1
            raise DumpError(last, f"statement ends where {what} was expected")
        self.i += 1
        return t

    def expect(self, text: str) -> None:
        t = self.next(repr(text))
        if t.text.upper() != text:
            raise DumpError(t.line, f"expected {text!r}, got {t.text!r}")

    def at_end(self) -> bool:
        return self.i >= len(self.toks)


def _value(c: _Cursor, depth: int = 0) -> object:
    if depth > 8:
        raise DumpError(c.next("a value").line, "values nested too deeply")
    t = c.next("a value")
    if t.kind == "punct" and t.text in "+-":
        v = _value(c, depth + 1)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise DumpError(t.line, f"'{t.text}' before a value that is not a number")
        return -v if t.text == "-" else v
    if t.kind == "num":
        try:
            return int(t.text)
        except ValueError:
            return float(t.text)
    if t.kind == "str":
        return t.text[1:-1].replace("''", "'")
    if t.kind == "blob":
        return bytes.fromhex(t.text[2:-1]) if len(t.text) % 2 == 1 else _odd_blob(t)
    if t.upper == "NULL":
        return None
    if t.upper == "CHAR":
        c.expect("(")
        codes = [_value(c, depth + 1)]
        while (p := c.next("')'")).text == ",":
            codes.append(_value(c, depth + 1))
        if p.text != ")":
            raise DumpError(p.line, f"expected ')', got {p.text!r}")
        try:
            return "".join(chr(int(x)) for x in codes  # type: ignore[call-overload]
                           if not isinstance(x, bool))
        except (TypeError, ValueError, OverflowError) as exc:
            raise DumpError(t.line, "char() takes character codes") from exc
    if t.upper == "REPLACE":
        c.expect("(")
        args = [_value(c, depth + 1)]
        for _ in range(2):
            c.expect(",")
            args.append(_value(c, depth + 1))
        c.expect(")")
        if not all(isinstance(a, str) for a in args) or not args[1]:
            raise DumpError(t.line, "replace() takes three texts")
        return str(args[0]).replace(str(args[1]), str(args[2]))
    raise DumpError(t.line, f"{t.text!r} is not a literal value; a pmxcfs dump holds only "
                            "numbers, 'text', X'blobs' and NULL")


def _odd_blob(t: _Tok) -> bytes:
    raise DumpError(t.line, f"blob literal {t.text[:20]!r} has an odd number of hex digits")


def _create(c: _Cursor, dump: TreeDump, first: _Tok) -> None:
    c.expect("TABLE")
    t = c.next("a table name")
    if t.upper == "IF":
        c.expect("NOT")
        c.expect("EXISTS")
        t = c.next("a table name")
    name = _ident(t)
    if name.lower() != TABLE:
        raise DumpError(first.line, f"creates table {name!r}; a pmxcfs dump holds only the "
                                    f"'{TABLE}' table")
    c.expect("(")
    columns: list[str] = []
    depth = 1
    expect_name = True
    while depth:
        tok = c.next("')'")
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif tok.text == "," and depth == 1:
            expect_name = True
            continue
        elif expect_name and depth == 1:
            if tok.upper in ("PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"):
                pass  # a table constraint, not a column
            else:
                columns.append(_ident(tok).lower())
        expect_name = False
    if not c.at_end():
        rest = c.next("end")
        if rest.upper not in ("WITHOUT", "STRICT"):
            raise DumpError(rest.line, f"unexpected {rest.text!r} after CREATE TABLE")
    if not {"inode", "parent", "type", "name", "data"} <= set(columns):
        raise DumpError(first.line, "the tree table lacks pmxcfs's columns (inode, parent, "
                                    "type, name, data)")
    dump.columns = tuple(columns)


def _insert(c: _Cursor, dump: TreeDump, first: _Tok) -> None:
    t = c.next("INTO")
    if t.upper == "OR":
        raise DumpError(t.line, "INSERT OR ... is not part of a dump")
    if t.upper != "INTO":
        raise DumpError(t.line, f"expected INTO, got {t.text!r}")
    name = _ident(c.next("a table name"))
    if name.lower() != TABLE:
        raise DumpError(first.line, f"inserts into table {name!r}; a pmxcfs dump holds only "
                                    f"the '{TABLE}' table")
    columns = dump.columns
    t = c.next("VALUES")
    if t.text == "(":
        names: list[str] = []
        while True:
            names.append(_ident(c.next("a column name")).lower())
            sep = c.next("')'")
            if sep.text == ")":
                break
            if sep.text != ",":
                raise DumpError(sep.line, f"expected ',' or ')', got {sep.text!r}")
        columns = tuple(names)
        t = c.next("VALUES")
    if t.upper != "VALUES":
        raise DumpError(t.line, f"expected VALUES, got {t.text!r}; only literal rows are read")
    while True:
        c.expect("(")
        values = [_value(c)]
        while (sep := c.next("')'")).text == ",":
            values.append(_value(c))
        if sep.text != ")":
            raise DumpError(sep.line, f"expected ',' or ')', got {sep.text!r}")
        if len(values) != len(columns):
            raise DumpError(first.line, f"row has {len(values)} values for {len(columns)} "
                                        "columns")
        row = dict(zip(columns, values, strict=True))
        dump.rows.append((first.line, tuple(row.get(col) for col in dump.columns)))
        if c.at_end():
            return
        c.expect(",")


def parse_tree_dump(text: str, *, max_rows: int = 1_000_000) -> TreeDump:
    """The pmxcfs ``tree`` rows of ``sqlite3 config.db .dump`` output.

    Returns the column names (from ``CREATE TABLE tree``, else pve-cluster's order) and each
    row's values as Python ``int``/``float``/``str``/``bytes``/``None``.
    Raises ``DumpError`` (with the line) for any statement that is not part of such a dump.
    """
    dump = TreeDump()
    for stmt in _statements(_tokens(text)):
        c = _Cursor(stmt)
        first = c.next("a statement")
        word = first.upper
        if word == "PRAGMA":
            rest = " ".join(t.text for t in stmt[1:]).replace(" ", "").lower()
            if rest != "foreign_keys=off":
                raise DumpError(first.line, f"refusing 'PRAGMA {rest}': a dump is read as data, "
                                            "and only the sqlite3 shell's 'PRAGMA "
                                            "foreign_keys=OFF' belongs in one")
            continue
        if word in ("BEGIN", "COMMIT", "END"):
            rest_words = [t.upper for t in stmt[1:]]
            if rest_words in ([], ["TRANSACTION"]):
                continue
        elif word == "CREATE":
            nxt = c.peek()
            if nxt is not None and nxt.upper == "TABLE":
                _create(c, dump, first)
                continue
            kind = nxt.text.upper() if nxt is not None else ""
            raise DumpError(first.line, f"refusing CREATE {kind}: a pmxcfs dump holds only the "
                                        f"'{TABLE}' table (no triggers, views or indexes)")
        elif word == "INSERT":
            _insert(c, dump, first)
            if len(dump.rows) > max_rows:
                raise DumpError(first.line, f"more than {max_rows} rows; not a pmxcfs dump")
            continue
        shown = " ".join(t.text for t in stmt[:4])[:60]
        raise DumpError(first.line, f"refusing {shown!r}: a dump is read as data, and only "
                                    f"the '{TABLE}' table's CREATE and INSERT statements are "
                                    "accepted (ATTACH, PRAGMA, triggers, other tables are not)")
    return dump
