"""What a finished step's outputs mean: findings of its verdict, and the facts they hold.

Both read the whole outputs of every node after the step (not line by line as they stream), so
a verdict can compare nodes; the rules themselves live in ``pve.verdicts`` and
``pve.facts`` (pure, tested on real captures).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine.observations import observe_facts
from pverunbook.engine.outcomes import NodeOutcome
from pverunbook.inventory import Cluster
from pverunbook.runbook.model import Step

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def judge_outputs(engine: Engine, step: Step, outcomes: list[NodeOutcome]) -> None:
    """Emit a Finding per finding of the step's verdict over each node's output.

    A node whose last command lost its connection or was cancelled is not judged (its output
    is not whole); a verdict that cannot read one node's output costs only that node's
    findings and says so in a Note. The rules are ``pve.verdicts``."""
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
    try:
        findings = verdicts.judge(step.verdict, inputs, names=names, ok_exit=step.ok_exit)
    except Exception:  # noqa: BLE001 - a parser bug must not kill a recovery run
        # Judge node by node, so one node's odd output costs only that node's findings.
        findings = []
        for node, one in inputs.items():
            try:
                findings += verdicts.judge(step.verdict, {node: one},
                                           names=names, ok_exit=step.ok_exit)
            except Exception as exc:  # noqa: BLE001
                engine.emit(ev.Note(step_id=step.id, level="warning",
                                    text=f"{node}: verdict '{step.verdict}' could not read "
                                         f"the output ({type(exc).__name__}: {exc}); check "
                                         "it by hand"))
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


def record_facts(engine: Engine, step: Step, outcomes: list[NodeOutcome]) -> None:
    """Facts of each node's output for the step's verdict, into the store and the journal."""
    if not step.verdict:
        return
    runs = [(o.node, o.stdout, o.stderr, o.results[-1]) for o in outcomes if o.results]
    found, notes = observe_facts(step, runs, engine.cluster)
    for note in notes:
        engine.emit(note)
    for f in found:
        engine.facts.add(f)
    if found:
        engine.emit(ev.FactsObserved(step_id=step.id, facts=tuple(f.to_json() for f in found)))
