"""The lossless corosync.conf parser: the file's own lines, and a section tree pointing into them.

Follows corosync 3.1's exec/coroparse.c ``parse_section`` (see the package docstring), so
:class:`CorosyncParseError` is raised exactly where corosync would refuse the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.digits import is_uint

_KEY_CHARS = re.compile(r"[A-Za-z0-9._/:-]*")  # icmap_is_valid_name_char


class CorosyncParseError(ValueError):
    """A file corosync's parser would refuse; ``line`` is 1-based like corosync's message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class Item:
    key: str
    value: str
    line: int  # 0-based index into CorosyncConf.lines


@dataclass
class Section:
    name: str
    open_line: int | None  # None for the implicit top level
    close_line: int | None = None
    children: list[Item | Section] = field(default_factory=list)

    def sections(self, name: str) -> list[Section]:
        return [c for c in self.children if isinstance(c, Section) and c.name == name]

    def items(self) -> dict[str, Item]:
        """Keys of this section; a repeated key keeps its last value, as corosync does."""
        return {c.key: c for c in self.children if isinstance(c, Item)}


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) if text else []


def _content(raw: str) -> str:
    """Line text as coroparse sees it: no newline, no trailing CR, blanks or tabs."""
    line = raw.rstrip("\n")
    line = line.removesuffix("\r")
    return line.rstrip(" \t")


def _build(lines: list[str]) -> Section:
    root = Section("", None)
    stack = [root]
    for idx, raw in enumerate(lines):
        lineno = idx + 1
        line = _content(raw)
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        cur = stack[-1]
        if "{" in line:
            before, _, after = line.partition("{")
            if after.strip(" \t"):
                raise CorosyncParseError(lineno, "Extra characters after opening bracket '{'")
            name = before.strip(" \t").rstrip(":{ \t")
            if not name:
                raise CorosyncParseError(lineno, "Missing section name before opening bracket '{'")
            sec = Section(name, idx)
            cur.children.append(sec)
            stack.append(sec)
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip(" \t").rstrip(":{ \t")
            path = _path_of(stack, key)
            if _KEY_CHARS.fullmatch(path) is None:
                raise CorosyncParseError(lineno, f'Key name "{path}" contains invalid characters')
            cur.children.append(Item(key, value.lstrip(" \t"), idx))
            continue
        if "}" in line:
            if stripped != "}":
                raise CorosyncParseError(
                    lineno, "Extra characters before or after closing bracket '}'"
                )
            if len(stack) == 1:
                raise CorosyncParseError(lineno, "Unexpected closing brace")
            stack.pop().close_line = idx
            continue
        raise CorosyncParseError(lineno, "Line is not opening or closing section or key value")
    if len(stack) > 1:
        open_line = stack[-1].open_line
        raise CorosyncParseError(
            (open_line or 0) + 1,
            f"Missing closing brace for section '{stack[-1].name}' opened here",
        )
    return root


def _path_of(stack: list[Section], key: str) -> str:
    return ".".join([s.name for s in stack[1:]] + [key])


class CorosyncConf:
    """A parsed corosync.conf that remembers its exact text."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.root = _build(lines)

    # --- reading -------------------------------------------------------------------------

    def dump(self) -> str:
        return "".join(self.lines)

    def copy(self) -> CorosyncConf:
        return CorosyncConf(list(self.lines))

    def _section(self, names: list[str]) -> Section | None:
        sec: Section | None = self.root
        for name in names:
            found = sec.sections(name) if sec else []
            sec = found[0] if found else None
        return sec

    def item(self, path: str) -> Item | None:
        """The Item for a dotted path (first section of each name, last repeat of the key)."""
        *secs, key = path.split(".")
        sec = self._section(secs)
        return sec.items().get(key) if sec else None

    def get(self, path: str) -> str | None:
        it = self.item(path)
        return it.value if it else None

    def line_of(self, path: str) -> int | None:
        """1-based line of a key, or of the section for a section path."""
        it = self.item(path)
        if it:
            return it.line + 1
        sec = self._section(path.split("."))
        return sec.open_line + 1 if sec and sec.open_line is not None else None

    def nodes(self) -> list[dict[str, str]]:
        nodelist = self._section(["nodelist"])
        if nodelist is None:
            return []
        return [{k: it.value for k, it in n.items().items()} for n in nodelist.sections("node")]

    def node_sections(self) -> list[Section]:
        nodelist = self._section(["nodelist"])
        return nodelist.sections("node") if nodelist else []

    @property
    def config_version(self) -> int | None:
        value = self.get("totem.config_version")
        return int(value) if value is not None and is_uint(value) else None

    # --- editing -------------------------------------------------------------------------

    def _reparse(self) -> None:
        self.root = _build(self.lines)

    def _indent_unit(self) -> str:
        for raw in self.lines:
            m = re.match(r"[ \t]+", raw)
            if m and _content(raw).strip():
                return m.group(0)
        return "  "

    def _newline(self) -> str:
        return "\r\n" if self.lines and self.lines[0].endswith("\r\n") else "\n"

    def _child_indent(self, sec: Section) -> str:
        for child in sec.children:
            line = child.line if isinstance(child, Item) else child.open_line
            if line is not None:
                raw = self.lines[line]
                return raw[: len(raw) - len(raw.lstrip(" \t"))]
        if sec.open_line is None:
            return ""
        raw = self.lines[sec.open_line]
        return raw[: len(raw) - len(raw.lstrip(" \t"))] + self._indent_unit()

    def _insert_at(self, sec: Section) -> int:
        """Index where a new child of ``sec`` goes: before its closing brace, or at EOF."""
        if sec.close_line is not None:
            return sec.close_line
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += self._newline()
        return len(self.lines)

    def ensure_section(self, names: list[str]) -> Section:
        """The section at ``names``, appending any missing level (edits re-parse the tree)."""
        for depth in range(1, len(names) + 1):
            if self._section(names[:depth]) is None:
                parent = self._section(names[: depth - 1])
                assert parent is not None
                self.add_section(parent, names[depth - 1], {})
        found = self._section(names)
        assert found is not None
        return found

    def add_section(self, parent: Section, name: str, items: dict[str, str]) -> None:
        """Append a new section with ``items`` at the end of ``parent``."""
        indent, unit, nl = self._child_indent(parent), self._indent_unit(), self._newline()
        new = [f"{indent}{name} {{{nl}"]
        new += [f"{indent}{unit}{k}: {v}{nl}" for k, v in items.items()]
        new.append(f"{indent}}}{nl}")
        at = self._insert_at(parent)
        self.lines[at:at] = new
        self._reparse()

    def set_in(self, sec: Section, key: str, value: str) -> None:
        """Set ``key`` in one given section (needed for repeated sections like node)."""
        it = sec.items().get(key)
        if it is not None:
            raw = self.lines[it.line]
            body = raw.rstrip("\r\n")
            nl = raw[len(body) :]
            colon = body.index(":")
            rest = body[colon + 1 :]
            gap = rest[: len(rest) - len(rest.lstrip(" \t"))] or " "
            self.lines[it.line] = f"{body[: colon + 1]}{gap}{value}{nl}"
        else:
            at = self._insert_at(sec)
            self.lines.insert(at, f"{self._child_indent(sec)}{key}: {value}{self._newline()}")
        self._reparse()

    def set(self, path: str, value: str) -> None:
        """Set a dotted key, creating missing sections; edits only the affected line."""
        if "\n" in value or "\r" in value:
            raise ValueError("corosync values cannot span lines")
        *secs, key = path.split(".")
        if not secs:
            raise ValueError(f"{path!r}: corosync keys live inside a section, e.g. totem.{path}")
        self.set_in(self.ensure_section(secs), key, value)

    def unset(self, path: str) -> bool:
        """Remove every occurrence of a key in its section; True if something was removed."""
        *secs, key = path.split(".")
        sec = self._section(secs)
        if sec is None:
            return False
        drop = [c.line for c in sec.children if isinstance(c, Item) and c.key == key]
        for line in sorted(drop, reverse=True):
            del self.lines[line]
        self._reparse()
        return bool(drop)


def parse(text: str) -> CorosyncConf:
    """Parse corosync.conf text; raises CorosyncParseError where corosync would refuse it."""
    return CorosyncConf(_split_lines(text))
