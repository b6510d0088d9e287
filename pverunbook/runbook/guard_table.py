"""A step's ``[[steps.guards]]`` tables, read into :class:`Guard` (loader.py's part for them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pverunbook.runbook.model import GUARD_COMPARES, Guard, GuardKind

if TYPE_CHECKING:
    from pverunbook.runbook.loader import _Ctx
    from pverunbook.runbook.positions import KeyPath

KEYS = {"check", "within", "command", "warn", "message", "skip_unreachable"}


def parse(ctx: _Ctx, d: dict[str, Any], path: KeyPath) -> list[Guard]:
    guards: list[Guard] = []
    for j, raw_g in enumerate(ctx.get(d, "guards", path, list, [])):
        gp = path + ("guards", j)
        g = ctx.table(raw_g, gp, KEYS, "a guard")
        check_s = ctx.get(g, "check", gp, str, "", required=True)
        try:
            check = GuardKind(check_s)
        except ValueError:
            ctx.err(gp + ("check",), f"unknown guard '{check_s}' (one of "
                    f"{', '.join(k.value for k in GuardKind)})")
            continue
        command = ctx.get(g, "command", gp, str)
        if check is GuardKind.COMMAND and not command:
            ctx.err(gp, "a 'command' guard needs a 'command'")
        skip = ctx.get(g, "skip_unreachable", gp, bool, False)
        if skip and check not in GUARD_COMPARES:
            ctx.err(gp + ("skip_unreachable",), "skip_unreachable belongs to the guards that "
                    "compare every inventory node (" + ", ".join(k.value for k in GUARD_COMPARES)
                    + "): the others probe the step's own targets, which must all answer")
        guards.append(Guard(check=check, within=float(ctx.get(g, "within", gp, (int, float), 5.0)),
                            command=command, warn=ctx.get(g, "warn", gp, bool, False),
                            message=ctx.get(g, "message", gp, str, ""), pos=ctx.pos(gp),
                            skip_unreachable=skip))
    return guards
