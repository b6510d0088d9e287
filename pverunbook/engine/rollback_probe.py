"""What a rollback timer learns from its node right before it is armed: ``[steps.rollback]
requires`` (what ``reload`` re-creates is there now) and ``record`` (exactly what it is).

A route-fix timer put the deleted route back with ``ip route replace DEST via GATEWAY``: a
route that had ``proto static metric 100 src …`` came back with the defaults, a different route
than the one deleted. ``record`` keeps the route's own ``ip route`` line(s), and the reload
command ``ip route replace {{recorded}}`` runs once per line with its words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pverunbook.engine.remote_files import run_collect
from pverunbook.inventory import Node
from pverunbook.runbook.commit_keys import RECORDED
from pverunbook.runbook.template import placeholders, render
from pverunbook.transport.base import Transport, TransportError


async def require(transport: Transport, node: Node, probe: str) -> None:
    """``requires``: right before the timer is armed, so just before the step's commands,
    prove that what ``reload`` re-creates is there. A route-fix whose route is already gone
    would otherwise fail its ``ip route del`` and have its timer *add* the route the checkpoint
    never held (``ip route replace``): a new fault made by the undo."""
    result, out, err = await run_collect(transport, node, probe, 30.0)
    if result.exit_status != 0:
        said = (err.strip() or out.strip() or result.error or "")[:200]
        raise TransportError(node.name, (
            f"`{probe}` exited {result.exit_status}{': ' + said if said else ''}: what the "
            "rollback would put back is not there now, so the step has nothing to change and "
            "its rollback would create what was never there; look at the node again (the "
            "step before this one) and check the values"))


async def record(transport: Transport, node: Node, command: str) -> list[str]:
    """``record``: the lines it prints (blank ones dropped); none, or a failure, arms nothing:
    a timer that cannot say what it puts back must not run."""
    result, out, err = await run_collect(transport, node, command, 30.0)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    if result.exit_status != 0 or not lines:
        said = (err.strip() or result.error or "")[:200]
        raise TransportError(node.name, (
            f"`{command}` exited {result.exit_status} and printed "
            f"{len(lines)} line(s){': ' + said if said else ''}: the rollback cannot record "
            "what it would put back, so no timer is armed and the step does not run"))
    return lines


#: ``{{recorded}}`` in a reload command shown before the timer is armed (nothing recorded yet).
RECORDED_PROSE = "<each line `record` printed when the timer was armed>"


def reload_commands(reload: Sequence[str], values: Mapping[str, object],
                    recorded: Sequence[str]) -> list[str]:
    """The node's reload commands: each rendered with the run's values, one with
    ``{{recorded}}`` once per recorded line, that line's words shell-quoted in its place."""
    out: list[str] = []
    for c in reload:
        if RECORDED in placeholders(c):
            out += [render(c, {**values, RECORDED: line.split()}) for line in recorded]
        else:
            out.append(render(c, values))
    return out
