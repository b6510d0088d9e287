"""Nodes that do not answer: the run goes on without them, and says so.

A node that did not answer when the run started (the session's ``connect``) or before a
destructive step is left out of every read-only step while the other nodes go on; a
destructive step that targets it is refused (all of its nodes or none). Each such node is
journaled as a ``NodeConnection`` ``unreachable`` event, so the diagnosis can name the nodes
it has no facts about (pve/diagnosis/reach.py) instead of calling the cluster healthy, and is
the fact ``ssh.reachable[node] = false`` that ``when`` conditions read (the others are true).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.inventory import Node
from pverunbook.pve.facts import facts_reachability
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
    note_facts(engine)


def note_facts(engine: Engine) -> None:
    """``ssh.reachable`` of every inventory node into the run's facts (for ``when``). They are
    not journaled as observed facts: the ``NodeConnection`` events are their record, and every
    run (a resumed one too) states them again from its own connections."""
    for fact in facts_reachability(engine.cluster.names, engine.unreachable):
        engine.facts.add(fact)


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
    note_facts(engine)


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


def without_unreachable(engine: Engine, step: Step, extra: list[Node]) -> list[Node]:
    """The rollback targets beyond a step's own (rollback.py ``arm_nodes``) that can hold a
    checkpoint and a timer. The step's own targets all answered (else :func:`step_without`
    refused it); a node it changes only through the cluster (pmxcfs copies corosync.conf) that
    did not answer can hold neither. It is left out only when the step's guards let it go on
    without such a node (``skip_unreachable``: the runbook made the operator accept that
    first), and the run says what that node lacks; otherwise it stays, and its checkpoint
    fails as before."""
    gone = [n.name for n in extra if n.name in engine.unreachable]
    if not gone or not any(g.skip_unreachable for g in step.guards):
        return extra
    engine.emit(ev.Note(step_id=step.id, level="warning", text=(
        f"no checkpoint and no rollback timer on {', '.join(gone)}: did not answer SSH; "
        "whatever the change does there is not undone by pverunbook")))
    return [n for n in extra if n.name not in gone]
