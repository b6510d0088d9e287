"""Find the line and column of every key in a TOML text.

tomlkit round-trips text exactly but does not expose where an item was written, and an operator
fixing a runbook at 3 a.m. needs ``file:line:col``. This scanner walks the text once, tracking
table headers (``[a.b]``, ``[[a]]`` with their array indices) and multi-line strings/arrays, and
records the position of each key path such as ``("steps", 2, "commands")``.
"""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_KEY = rf'(?:{_BARE}|"[^"]*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^(\s*)({_DOTTED})\s*=")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(_KEY, text)
    return [p[1:-1] if p[0] in "\"'" else p for p in parts]


def _scan_value_state(rest: str, state: dict[str, object]) -> None:
    """Advance multi-line string / bracket depth state over ``rest`` (the text after ``=``)."""
    i = 0
    while i < len(rest):
        ml = state.get("ml")
        if ml:
            end = rest.find(str(ml), i)
            if end < 0:
                return
            i = end + 3
            state["ml"] = None
            continue
        ch = rest[i]
        if rest.startswith('"""', i) or rest.startswith("'''", i):
            state["ml"] = rest[i : i + 3]
            i += 3
            continue
        if ch == '"':
            j = i + 1
            while j < len(rest) and rest[j] != '"':
                j += 2 if rest[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "'":
            j = rest.find("'", i + 1)
            i = len(rest) if j < 0 else j + 1
            continue
        if ch == "#":
            return
        if ch in "[{":
            state["depth"] = int(str(state.get("depth", 0))) + 1
        elif ch in "]}":
            state["depth"] = max(0, int(str(state.get("depth", 0))) - 1)
        i += 1


def key_positions(text: str) -> dict[KeyPath, tuple[int, int]]:
    """Map each key path to its (line, col), 1-based. Tables map to their header line."""
    positions: dict[KeyPath, tuple[int, int]] = {}
    aot_counts: dict[tuple[str, ...], int] = {}
    prefix: KeyPath = ()
    state: dict[str, object] = {"ml": None, "depth": 0}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if state.get("ml") or int(str(state.get("depth", 0))) > 0:
            _scan_value_state(line, state)
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_dotted(header.group(2))
            # Resolve the header against the arrays of tables seen so far.
            path: list[str | int] = []
            for i, name in enumerate(names):
                path.append(name)
                key = tuple(n for n in names[: i + 1])
                is_last = i == len(names) - 1
                if header.group(1) == "[[" and is_last:
                    aot_counts[key] = aot_counts.get(key, -1) + 1
                    # Nested arrays restart when their parent element changes.
                    for other in list(aot_counts):
                        if len(other) > len(key) and other[: len(key)] == key:
                            del aot_counts[other]
                    path.append(aot_counts[key])
                elif key in aot_counts:
                    path.append(aot_counts[key])
            prefix = tuple(path)
            col = line.index("[") + 1
            positions.setdefault(prefix, (lineno, col))
            if header.group(1) == "[[":
                positions.setdefault(prefix[:-1], (lineno, col))
            continue
        assign = _ASSIGN.match(line)
        if assign:
            names = _split_dotted(assign.group(2))
            col = len(assign.group(1)) + 1
            for i in range(1, len(names) + 1):
                positions.setdefault(prefix + tuple(names[:i]), (lineno, col))
            _scan_value_state(line[assign.end() :], state)
    return positions


def nearest(positions: dict[KeyPath, tuple[int, int]], path: KeyPath) -> tuple[int, int]:
    """Position of ``path`` or of its closest written ancestor (list items live on their key)."""
    p = tuple(path)
    while p:
        if p in positions:
            return positions[p]
        p = p[:-1]
    return (1, 1)
