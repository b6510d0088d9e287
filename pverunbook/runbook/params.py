"""Parameter values: parse what the operator typed, check it against the runbook's rules.

A parameter that a step uses as its target (``targets = "{{damaged_node}}"``) chooses a node:
its value must be exactly one inventory node's name. ``nodes`` (the cluster's node names) is
passed wherever the cluster is known (``plan``, ``run``, the TUI form, an input step) so that
``all``, ``first``, ``local``, a list or a pattern is refused when it is typed, long before
anything runs; the engine checks every rendered target again (``engine/targets.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pverunbook.runbook.model import Param, ParamType, Runbook

#: The shortest secret value accepted; kept equal to engine/redaction.MIN_SECRET_LEN (runbook/
#: cannot import the engine).
MIN_SECRET_LEN = 6

Value = int | str | bool


class ParamValueError(ValueError):
    pass


def parse_value(param: Param, text: str, nodes: Sequence[str] | None = None) -> Value:
    """Turn typed text into the parameter's type and validate it (see :func:`check_value`)."""
    value: Value
    if param.type is ParamType.INT:
        # ASCII digits only (int() also takes '١٢', '1_000' and 4300-digit numbers), and no
        # more than fits a 64-bit integer: every number is range-checked where it enters.
        digits = text.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", digits, re.ASCII):
            shown = text if len(text) <= 40 else text[:37] + "..."
            if re.fullmatch(r"[+-]?[0-9]+", digits, re.ASCII):
                # a whole number, only too long: "is not a whole number" was no help
                raise ParamValueError(f"'{shown}' is far too large ({len(digits)} digits; at "
                                      "most 19)")
            raise ParamValueError(f"'{shown}' is not a whole number (ASCII digits, at most "
                                  "19 of them)")
        value = int(digits)
        if not -(2**63) <= value < 2**63:
            raise ParamValueError(f"{value} is out of range (a 64-bit integer)")
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
    check_value(param, value, nodes)
    return value


_TARGET_WORDS = {"all": "names every node", "first": "names the inventory's first node, "
                 "whichever that is", "local": "names the operator's own machine"}


def check_node(param: Param, value: Value, nodes: Sequence[str]) -> None:
    """Refuse a node-choosing value that is not exactly one of ``nodes``.

    Raises ParamValueError naming the valid nodes. Comparison is exact (node names are
    case-sensitive in corosync's nodelist and in /etc/pve/nodes).
    """
    if not param.chooses_node or value in nodes:
        return
    valid = ", ".join(nodes) or "none"
    text = str(value)
    if text.strip().lower() in _TARGET_WORDS:
        why = f"'{text}' {_TARGET_WORDS[text.strip().lower()]}"
    elif any(c in text for c in ",; \t"):
        why = f"'{text}' is a list"
    elif any(c in text for c in "*?[]{}|^$"):
        why = f"'{text}' is a pattern"
    else:
        why = f"'{text}' is not a node of this cluster"
    raise ParamValueError(f"{why}; {param.name} chooses exactly ONE node by its name: one of "
                          f"{valid}")


def check_value(param: Param, value: Value, nodes: Sequence[str] | None = None) -> None:
    """Check type, bounds, choices and regex; with ``nodes``, also :func:`check_node`."""
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
        # A secret's value is never echoed back in a message (messages reach the terminal).
        shown = "the value" if param.secret else f"'{value}'"
        if param.secret and len(value) < MIN_SECRET_LEN:
            raise ParamValueError(
                f"secret parameter '{param.name}' must be at least {MIN_SECRET_LEN} characters "
                f"long (got {len(value)}): a shorter value cannot be told apart from ordinary "
                "output, so it could not be kept out of the journal and report; use a longer one")
        if param.type is ParamType.CHOICE and value not in param.choices:
            raise ParamValueError(f"{shown} is not one of: {', '.join(param.choices)}")
        if nodes is not None:
            check_node(param, value, nodes)
        elif param.chooses_node:
            return  # checked against the node names once the cluster is known (they are data)
        if param.format == "ip":
            import ipaddress

            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ParamValueError(f"{shown} is not an IPv4 or IPv6 address (e.g. "
                                      "192.168.4.201 or fd00::1)") from None
        if param.regex is not None and not re.fullmatch(param.regex, value):
            if param.regex_help:  # in words; the pattern only for whoever wrote the runbook
                raise ParamValueError(f"{shown} is not {param.regex_help}")
            raise ParamValueError(f"{shown} does not have the form this parameter expects "
                                  f"(the runbook's regex /{param.regex}/)")


def resolve(runbook: Runbook, given: Mapping[str, str | Value],
            nodes: Sequence[str] | None = None) -> tuple[dict[str, Value], list[str]]:
    """Values for every parameter (given, else default) and the names still missing.

    Raises ParamValueError (prefixed with the parameter's name) for a bad value; with
    ``nodes`` a node-choosing parameter must name exactly one of them, and no value may make a
    step certain to outlast its timeout on that many nodes (runbook/step_time.py).
    """
    out: dict[str, Value] = {}
    missing: list[str] = []
    for p in runbook.params:
        if p.name in given:
            raw = given[p.name]
            try:
                out[p.name] = parse_value(p, raw, nodes) if isinstance(raw, str) else raw
                if not isinstance(raw, str):
                    check_value(p, raw, nodes)
            except ParamValueError as exc:
                raise ParamValueError(f"{p.name}: {exc}") from None
        elif p.default is not None:
            if nodes is not None:
                try:
                    check_node(p, p.default, nodes)
                except ParamValueError as exc:
                    raise ParamValueError(f"{p.name} (the runbook's default): {exc}") from None
            out[p.name] = p.default
        else:
            missing.append(p.name)
    unknown = set(given) - {p.name for p in runbook.params}
    if unknown:
        from pverunbook.runbook.suggest import did_you_mean

        names = [p.name for p in runbook.params]
        said = ", ".join(f"{u} ({near})" if (near := did_you_mean(u, names)) else u
                         for u in sorted(unknown))
        raise ParamValueError(f"unknown parameter(s): {said} (this runbook "
                              f"takes: {', '.join(p.name for p in runbook.params) or 'none'})")
    if nodes is not None:
        from pverunbook.runbook.step_time import check

        too_long = check(runbook, out, nodes)
        if too_long is not None:
            raise ParamValueError(too_long)
    return out, missing


def secret_values(runbook: Runbook, values: Mapping[str, Value]) -> list[str]:
    return [str(values[p.name]) for p in runbook.params
            if p.secret and p.name in values and str(values[p.name])]
