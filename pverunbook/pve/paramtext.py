"""How a parameter value reads to an operator: as it is written in a runbook's TOML and typed
after ``--set`` (``force = false``, ``token = 5000``), never Python's ``repr`` (``False``).

One rule for every place a parameter is shown (the "Run next" label, the start screen, the
report's summary and its steps), so a value looks the same wherever the operator meets it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def value_text(value: object) -> str:
    """``true``/``false``, numbers as written, text as typed; text that would not read back
    as itself (empty, surrounding blanks, several lines, quotes) in TOML's double quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '""'
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if not text or text != text.strip() or any(c in text for c in "\n\r\t\"") or "," in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def params_text(params: Mapping[str, object]) -> str:
    """``token = 5000, force = false``; "" when there are none (the caller leaves it out)."""
    return ", ".join(f"{k} = {value_text(v)}" for k, v in params.items())
