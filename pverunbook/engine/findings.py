"""What a finished step's outputs mean: findings of its verdict, and the facts they hold.

Both read the whole outputs of every node after the step (not line by line as they stream), so
a verdict can compare nodes; the rules themselves live in ``pve.verdicts`` and
``pve.facts`` (pure, tested on real captures).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pverunbook.engine import events as ev
from pverunbook.engine import offloop
from pverunbook.engine.observations import observe_facts
from pverunbook.engine.outcomes import NodeOutcome
from pverunbook.inventory import Cluster
from pverunbook.runbook.model import Step

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def judge_findings(verdict: str, inputs: dict[str, Any], names: Any,
                   ok_exit: tuple[int, ...]) -> tuple[list[Any], list[tuple[str, str]]]:
    """The verdict's findings, node by node when one node's output makes it raise.

    Pure and module-level: it runs in the helper process of :mod:`.offloop`. Returns the
    findings and ``(node, why)`` for each node whose output the verdict could not read."""
    from pverunbook.pve import verdicts

    try:
        return verdicts.judge(verdict, inputs, names=names, ok_exit=ok_exit), []
    except Exception:  # noqa: BLE001 - a parser bug must not kill a recovery run
        # Judge node by node, so one node's odd output costs only that node's findings.
        findings: list[Any] = []
        failed: list[tuple[str, str]] = []
        for node, one in inputs.items():
            try:
                findings += verdicts.judge(verdict, {node: one}, names=names, ok_exit=ok_exit)
            except Exception as exc:  # noqa: BLE001
                failed.append((node, f"{type(exc).__name__}: {exc}"))
        return findings, failed


#: What :func:`judge_outputs` runs off the event loop (a module-level function, by name).
JUDGE: Callable[..., tuple[list[Any], list[tuple[str, str]]]] = judge_findings


async def judge_outputs(engine: Engine, step: Step, outcomes: list[NodeOutcome]) -> None:
    """Emit a Finding per finding of the step's verdict over each node's output.

    A node whose last command lost its connection or was cancelled is not judged (its output
    is not whole); a verdict that cannot read one node's output costs only that node's
    findings and says so in a Note. The rules are ``pve.verdicts``; they run in a helper
    process with a time limit (:mod:`.offloop`), so no output a node prints can hold the event
    loop: past the limit each node gets "could not judge in time" and the run goes on."""
    from pverunbook.pve import verdicts

    if not step.verdict or step.verdict not in verdicts.SPECS:
        return
    if engine.peer_names is None:  # node ids → names, learned once per run
        engine.peer_names = verdicts.PeerNames.of(
            (n.name, (n.ring_addr, n.addr1, n.host), n.nodeid)
            for n in engine.cluster.nodes)
    names = engine.peer_names
    inputs = {o.node: verdicts.VerdictInput(
        o.stdout, o.stderr, o.results[-1].exit_status, o.results[-1].timed_out, step.timeout)
        for o in outcomes if o.results and not (o.results[-1].connection_lost
                                                or o.results[-1].cancelled)}
    if not inputs:
        return
    limit = getattr(engine, "verdict_time_limit", offloop.TIME_LIMIT_S)
    try:
        findings, failed = await offloop.call(JUDGE, step.verdict, inputs, names,
                                              tuple(step.ok_exit), time_limit=limit)
    except offloop.OffLoopTimeout:
        for node in inputs:
            engine.emit(ev.Finding(
                step_id=step.id, node=node, severity="warning",
                title=f"could not judge the output in time (verdict '{step.verdict}')",
                detail=(f"Reading this output took longer than {limit:g} s, so the run went on "
                        "without a verdict; the output is in the journal — read it by hand "
                        "before relying on this step."),
                evidence=""))
        return
    except (offloop.OffLoopError, OSError) as exc:
        engine.emit(ev.Note(step_id=step.id, level="warning",
                            text=f"verdict '{step.verdict}' could not be run ({exc}); check the "
                                 "output by hand"))
        return
    for node, why in failed:
        engine.emit(ev.Note(step_id=step.id, level="warning",
                            text=f"{node}: verdict '{step.verdict}' could not read the output "
                                 f"({why}); check it by hand"))
    for f in findings:
        engine.emit(ev.Finding(step_id=step.id, node=f.node, severity=f.severity,
                               title=name_addresses(engine.cluster, f.title), detail=f.detail,
                               evidence=f.evidence or ""))


def name_addresses(cluster: Cluster, text: str) -> str:
    """'loss to 192.168.4.201' → 'loss to pve001 (192.168.4.201)': say which link it is."""
    for n in cluster.nodes:
        addr = n.ring_addr
        if addr and n.name not in text:
            text = re.sub(rf"(?<![\w.:]){re.escape(addr)}(?![\w.:])",
                          f"{n.name} ({addr})", text)
    return text


async def record_facts(engine: Engine, step: Step, outcomes: list[NodeOutcome]) -> None:
    """Facts of each node's output for the step's verdict, into the store and the journal.

    The fact rules parse node output too, so they run off the event loop with the same time
    limit as the verdicts; past it no fact is recorded (a Note says so)."""
    if not step.verdict:
        return
    runs = [(o.node, o.stdout, o.stderr, o.results[-1]) for o in outcomes if o.results]
    limit = getattr(engine, "verdict_time_limit", offloop.TIME_LIMIT_S)
    try:
        found, notes = await offloop.call(observe_facts, step, runs, engine.cluster,
                                          time_limit=limit)
    except (offloop.OffLoopTimeout, offloop.OffLoopError, OSError) as exc:
        engine.emit(ev.Note(step_id=step.id, level="warning",
                            text=f"facts of '{step.verdict}' could not be read ({exc}); "
                                 "nothing was learned from this step's output"))
        return
    for note in notes:
        engine.emit(note)
    for f in found:
        engine.facts.add(f)
    if found:
        engine.emit(ev.FactsObserved(step_id=step.id, facts=tuple(f.to_json() for f in found)))
