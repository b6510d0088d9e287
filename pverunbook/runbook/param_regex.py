"""A parameter's ``regex`` and ``regex_help``, read by the loader (split from loader.py).

``regex`` must compile; ``regex_help`` says in words what it accepts (the end of "'42' is
not …", params.check_value) and describes nothing without a regex.
"""

from __future__ import annotations

import re
from typing import Any


def read(ctx: Any, d: dict[str, Any], path: tuple[Any, ...]) -> tuple[str | None, str]:
    """``(regex, regex_help)`` of the parameter table ``d``; errors go to ``ctx``."""
    regex = ctx.get(d, "regex", path, str)
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            ctx.err(path + ("regex",), f"invalid regex: {exc}")
    regex_help = ctx.get(d, "regex_help", path, str, "")
    if regex_help and regex is None:
        ctx.err(path + ("regex_help",), "regex_help describes a 'regex', and this parameter "
                "has none: add the regex or remove regex_help")
    return regex, regex_help
