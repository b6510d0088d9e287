"""What the command line names: ``--set NAME=VALUE`` values and a runbook by id or file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: What to do about a --set value the runbook refuses (the message says which and why).
SET_HINT = ("give a value it accepts with --set NAME=VALUE; `pverunbook plan RUNBOOK` lists "
            "the parameters")


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}`` (the name is stripped, the value kept
    as typed). Raises ValueError for an item without ``=``."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r} has no '='; give it as NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def load_runbook(name: str, dirs: list[Path]) -> Any:
    """The runbook named by id (built-in or in ``dirs``) or by file path, loaded and validated.

    Raises FileNotFoundError (unknown runbook, with the ones on offer) or RunbookError."""
    from pverunbook.runbook.catalog import find
    from pverunbook.runbook.loader import load_file

    return load_file(find(name, dirs))
