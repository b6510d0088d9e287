"""Nodes that do not answer: the run goes on without them, and says so.

A node that did not answer when the run started (the session's ``connect``) or before a
destructive step is left out of every read-only step while the other nodes go on; a
destructive step that targets it is refused (all of its nodes or none). Each such node is
journaled as a ``NodeConnection`` ``unreachable`` event, so the diagnosis can name the nodes
it has no facts about (pve/diagnosis/reach.py) instead of calling the cluster healthy.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.inventory import Node
from pverunbook.runbook.model import Step
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def journal_known(engine: Engine) -> None:
    """At the start of the run: one ``unreachable`` event per node the session could not
    reach, in inventory order."""
    for name in engine.cluster.names:
        if name in engine.unreachable:
            engine.emit(ev.NodeConnection(node=name, state="unreachable",
                                          message=engine.unreachable[name]))


async def probe(engine: Engine, nodes: list[Node]) -> None:
    """Before a destructive step, make sure every target answers (connections are reused,
    so this costs nothing for a node that is up); one that does not joins ``unreachable``
    and the step is refused, instead of changing some nodes and failing on the others."""
    async def one(node: Node) -> None:
        try:
            await engine.transport_for(node).connect([node])
        except TransportError as exc:
            engine.unreachable[node.name] = exc.message + (f"; {exc.hint}" if exc.hint else "")
            engine.emit(ev.NodeConnection(node=node.name, state="unreachable",
                                          message=engine.unreachable[node.name]))

    await asyncio.gather(*(one(n) for n in nodes if n.name not in engine.unreachable))


def step_without(engine: Engine, step: Step, nodes: list[Node],
                 missing: list[Node]) -> tuple[str, str]:
    """Name the target nodes that did not answer; refuse a destructive step on part of its
    nodes. Returns ("ok", "") when the step may go on on the nodes that answer."""
    names = ", ".join(f"{n.name} ({engine.unreachable[n.name]})" for n in missing)
    if step.destructive:
        return "blocked", (f"refused: {names} did not answer, and a destructive step runs "
                           "on all of its nodes or on none; bring the node back (or remove "
                           "it from the inventory), then resume the run")
    engine.partial = True
    if len(missing) == len(nodes):
        return "failed", f"not run: every target node is unreachable: {names}"
    engine.emit(ev.Note(step_id=step.id, level="warning",
                        text=f"not run on {names}: unreachable; the other nodes go on"))
    return "ok", ""
