""""did you mean …?" for a mistyped name: the runbook id, ``--set`` parameter, scenario or
command nearest to what was typed, said before the whole list of choices."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices closest to ``name`` (``difflib.get_close_matches``, case ignored), closest
    first; [] when none is near."""
    by_lower: dict[str, str] = {}
    for c in choices:
        by_lower.setdefault(c.lower(), c)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[c] for c in close if by_lower[c] != name]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"did you mean network-triage?"`` (``"… a or b?"``, ``"… a, b or c?"``) for the choices
    nearest ``name``; "" when none is near."""
    close = nearest(name, choices)
    if not close:
        return ""
    said = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f"did you mean {said}?"
