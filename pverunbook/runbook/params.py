"""Parameter values: parse what the operator typed, check it against the runbook's rules."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pverunbook.runbook.model import Param, ParamType, Runbook

Value = int | str | bool


class ParamValueError(ValueError):
    pass


def parse_value(param: Param, text: str) -> Value:
    """Turn typed text into the parameter's type and validate it."""
    value: Value
    if param.type is ParamType.INT:
        try:
            value = int(text.strip())
        except ValueError as exc:
            raise ParamValueError(f"'{text}' is not a whole number") from exc
    elif param.type is ParamType.BOOL:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "y", "on"):
            value = True
        elif low in ("0", "false", "no", "n", "off"):
            value = False
        else:
            raise ParamValueError(f"'{text}' is not yes/no")
    else:
        value = text
    check_value(param, value)
    return value


def check_value(param: Param, value: Value) -> None:
    if param.type is ParamType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamValueError("must be a whole number")
        if param.min is not None and value < param.min:
            raise ParamValueError(f"{value} is below the minimum {param.min}")
        if param.max is not None and value > param.max:
            raise ParamValueError(f"{value} is above the maximum {param.max}")
    elif param.type is ParamType.BOOL:
        if not isinstance(value, bool):
            raise ParamValueError("must be true or false")
    else:
        if not isinstance(value, str):
            raise ParamValueError("must be text")
        if param.type is ParamType.CHOICE and value not in param.choices:
            raise ParamValueError(f"'{value}' is not one of: {', '.join(param.choices)}")
        if param.regex is not None and not re.fullmatch(param.regex, value):
            raise ParamValueError(f"'{value}' does not match /{param.regex}/")


def resolve(runbook: Runbook, given: Mapping[str, str | Value]) -> tuple[dict[str, Value],
                                                                           list[str]]:
    """Values for every parameter (given, else default) and the names still missing."""
    out: dict[str, Value] = {}
    missing: list[str] = []
    for p in runbook.params:
        if p.name in given:
            raw = given[p.name]
            out[p.name] = parse_value(p, raw) if isinstance(raw, str) else raw
            if not isinstance(raw, str):
                check_value(p, raw)
        elif p.default is not None:
            out[p.name] = p.default
        else:
            missing.append(p.name)
    unknown = set(given) - {p.name for p in runbook.params}
    if unknown:
        raise ParamValueError(f"unknown parameter(s): {', '.join(sorted(unknown))} (this runbook "
                              f"takes: {', '.join(p.name for p in runbook.params) or 'none'})")
    return out, missing


def secret_values(runbook: Runbook, values: Mapping[str, Value]) -> list[str]:
    return [str(values[p.name]) for p in runbook.params
            if p.secret and p.name in values and str(values[p.name])]
