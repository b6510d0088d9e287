"""Rollback timers on the nodes that the journal of a resumed run does not know.

:func:`rollback.arm` arms every node's timer and only then journals the ``armed`` events (and
waits for them to be on disk before any command of the step runs). A pverunbook killed in
between (kill -9 0.3 s after the destructive confirmation) leaves a journal that ends at
``checkpoint_taken`` while each node has ``<root>/<checkpoint>-<node>/state = armed``
(:func:`rollback._tag`, :mod:`rollback_script`). Resume then read "nothing of it ran", ran the
step again as attempt 2 and armed a second set beside the first. A first set still waiting
fires at its own deadline and puts back the files as they were before attempt 2 — with a
corosync.conf ``config_version`` above attempt 2's, so pmxcfs takes it: the kept change is
undone minutes after COMMIT. A first set whose process is gone stays ``armed`` for ever.

So a resumed run first lists, on every node it reaches, the timer directories of its own run
id for each step with ``commit_within`` (any attempt). One the journal never mentions guards
a step none of whose commands ran after that checkpoint (commands are journaled durably
before they start, and after the ``armed`` events): the files are still the checkpoint's, so
there is nothing to keep or undo. It is stopped as COMMIT stops a timer (``state`` =
``committed`` first, then the process; :func:`rollback_script.disarm_command`), journaled as
``disarmed`` (nothing was committed), and said. Should the journal show a command of that
step after that checkpoint, the timer is handed back as if its ``armed`` event had been
journaled, and the resume asks COMMIT for it (:mod:`rollback_resume`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine import rollback_script as rs
from pverunbook.engine.remote_files import run_collect
from pverunbook.engine.rollback import _emit, _root, _tag
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def list_command(prefix: str, root: str = rs.ROOT) -> str:
    """The timer directories under ``root`` whose names start with ``prefix``, one a line."""
    return (f"cd {shlex.quote(root)} 2>/dev/null || exit 0; "
            f"for d in {shlex.quote(prefix)}*; do [ -d \"$d\" ] && echo \"$d\"; done; true")


def _owner(tag: str, run_id: str, steps: Iterable[str], node: str) -> tuple[str, str] | None:
    """(step id, checkpoint id) of a timer directory named by :func:`rollback._tag`."""
    for sid in steps:
        m = re.fullmatch(re.escape(_tag(f"{run_id}-{sid}", "")[:-1]) + r"-(\d+)-"
                         + re.escape(_tag("", node)[1:]), tag)
        if m:
            return sid, f"{run_id}-{sid}-{m.group(1)}"
    return None


async def unjournaled(engine: Engine, run_id: str, known: set[str],
                      ran_after: set[str]) -> list[ev.RollbackTimer]:
    """Settle the timers of ``run_id`` the journal does not know (``known``: directory
    names it mentions). ``ran_after``: checkpoint ids a command of their step followed.
    Returns ``armed`` events for those to treat as journaled; stops the others."""
    steps = [s.id for s in engine.runbook.steps if s.commit_within is not None]
    if not steps:
        return []
    root = _root(engine)
    handed: list[ev.RollbackTimer] = []
    for node in engine.cluster.nodes:
        if node.name in engine.unreachable:
            continue
        transport = engine.transport_for(node)
        try:
            _, out, _ = await run_collect(transport, node, list_command(f"{run_id}-", root), 20.0)
            tags = [t for t in out.split() if t not in known]
            found = {t: o for t in tags if (o := _owner(t, run_id, steps, node.name))}
            if not found:
                continue
            _, out, _ = await run_collect(transport, node, rs.status_command(list(found), root),
                                          20.0)
        except TransportError as exc:
            engine.emit(ev.Note(level="warning", text=(
                f"{node.name}: cannot look for rollback timers of this run that the journal "
                f"does not know: {exc.message}; look under {root} on {node.name}")))
            continue
        for line in out.splitlines():
            words = line.split()
            if len(words) != 5 or words[0] not in found or words[1] != "armed":
                continue  # committed, fired or failed: nothing waits any more
            tag, (sid, cid) = words[0], found[words[0]]
            step = engine.runbook.step(sid)
            d = rs.node_dir(tag, root)
            alive = words[4] == "1"
            if cid in ran_after:
                handed.append(ev.RollbackTimer(step_id=sid, node=node.name, state="armed",
                                               checkpoint_id=cid, deadline=float(words[2]),
                                               dir=d))
                continue
            await _stop(engine, step, node.name, tag, cid, d, alive)
    return handed


async def _stop(engine: Engine, step: object, node_name: str, tag: str, cid: str, d: str,
                alive: bool) -> None:
    from pverunbook.runbook.model import Step

    assert isinstance(step, Step)
    node = engine.cluster.node(node_name)
    how = "still waiting" if alive else "its process gone"
    found = (f"found the rollback timer of checkpoint {cid} on {node_name} ({how}), which "
             "the journal does not know: pverunbook stopped after arming it and before any "
             f"command of '{step.id}' ran, so the files are still the checkpoint's")
    try:
        result, out, err = await run_collect(
            engine.transport_for(node), node,
            rs.disarm_command(tag, _root(engine), str(getattr(engine, "rollback_log", rs.LOG))),
            30.0)
        problem = "" if result.exit_status == 0 and out.strip().endswith("disarmed") else (
            out.strip() or err.strip() or result.error or f"exit {result.exit_status}")[:300]
    except TransportError as exc:
        problem = exc.message
    if problem:
        _emit(engine, step, node_name, "disarm_failed", checkpoint_id=cid, dir=d,
              message=f"{found}; it could not be stopped ({problem}): it would put those "
                      f"files back when it fires — stop it by hand: echo committed > {d}/state")
    else:
        _emit(engine, step, node_name, "disarmed", checkpoint_id=cid, dir=d,
              message=f"{found}: nothing to keep or undo; timer stopped (state committed) so "
                      f"it cannot undo '{step.id}' when it runs again")
