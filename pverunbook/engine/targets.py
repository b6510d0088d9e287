"""Which nodes a step runs on, and the variables each node's commands are rendered with.

Shared by the engine and the plan, so that what the dry-run shows is exactly what a run does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pverunbook.inventory import Cluster, Node
from pverunbook.pve.facts import FactStore, FactValue
from pverunbook.runbook.model import Runbook, Step
from pverunbook.runbook.template import render, render_plain
from pverunbook.runbook.when import Scope, explain

#: The operator's own machine, for steps with ``targets = "local"``.
LOCAL_NODE = Node(name="local", host="localhost", addr="127.0.0.1")


class TargetError(ValueError):
    """A step's targets cannot be resolved or exceed ``max_targets``; the message says why."""


class TargetPending(TargetError):
    """The node-choosing parameter has no value yet (asked by a later input step)."""


_PARAM_TARGET = re.compile(r"\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*")


def resolve_targets(step: Step, cluster: Cluster, values: Mapping[str, object]) -> list[Node]:
    """The nodes ``step`` runs on, in inventory order of mention, each once.

    ``all``, ``first``, ``local`` and node names are the runbook's own words. A ``{{param}}``
    target is the operator's: its value must be exactly one inventory node's name, whatever the
    parameter's regex allowed (``all``, ``first``, ``local``, lists and patterns are refused).
    Finally the step's ``max_targets`` bounds the count, whatever produced the targets.
    Raises TargetError saying what, where (file:line) and which nodes are valid.
    """
    where = f" ({step.pos})" if step.pos else ""
    nodes: list[Node] = []
    for raw in step.targets:
        m = _PARAM_TARGET.fullmatch(raw)
        if m is not None:
            picked = [_param_node(step, cluster, m.group(1), values.get(m.group(1)), where)]
        elif raw == "all":
            picked = list(cluster.nodes)
        elif raw == "first":
            picked = [cluster.nodes[0]]
        elif raw == "local":
            picked = [LOCAL_NODE]
        else:
            try:
                picked = [cluster.node(raw)]
            except KeyError:
                raise TargetError(
                    f"step '{step.id}'{where} targets node '{raw}', which is not in cluster "
                    f"'{cluster.name}' (nodes: {', '.join(cluster.names)}); fix the runbook or "
                    "the --cluster inventory") from None
        for n in picked:
            if n not in nodes:
                nodes.append(n)
    if step.max_targets is not None and len(nodes) > step.max_targets:
        raise TargetError(
            f"step '{step.id}'{where} may touch at most {step.max_targets} node(s) "
            f"(max_targets) but its targets name {len(nodes)}: "
            f"{', '.join(n.name for n in nodes)}; refusing to run it")
    return nodes


def _param_node(step: Step, cluster: Cluster, name: str, value: object, where: str) -> Node:
    valid = ", ".join(cluster.names)
    if value is None or isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        raise TargetPending(f"step '{step.id}'{where} runs on the node chosen by '{name}', which "
                          f"has no value yet; give one of: {valid}")
    if isinstance(value, str):
        for n in cluster.nodes:
            if n.name == value:
                return n
    raise TargetError(f"step '{step.id}'{where}: {name} = {value!r} does not name exactly one "
                      f"node of cluster '{cluster.name}'; a parameter target must be one node's "
                      f"name: one of {valid}")


def node_vars(node: Node, cluster: Cluster, run_id: str = "",
              unreachable: Sequence[str] = ()) -> dict[str, object]:
    others = [n for n in cluster.nodes if n.name != node.name]
    return {
        "node": node.name,
        "node_addr": node.ring_addr,
        "cluster": cluster.name,
        "peer": others[0].name if others else node.name,
        "peer_addr": others[0].ring_addr if others else node.ring_addr,
        "peers": [n.name for n in others],
        "peer_addrs": [n.ring_addr for n in others],
        "node_addr1": node.addr1,
        "peer_addr1": others[0].addr1 if others else node.addr1,
        "peer_addrs1": [n.addr1 for n in others],
        "gateway": node.gateway,
        "run_id": run_id,
        "unreachable": [n for n in cluster.names if n in unreachable],
    }


def step_values(node: Node, cluster: Cluster, params: Mapping[str, object],
                run_id: str = "", unreachable: Sequence[str] = ()) -> dict[str, object]:
    values: dict[str, object] = dict(params)
    values.update(node_vars(node, cluster, run_id, unreachable))
    return values


def render_commands(step: Step, node: Node, cluster: Cluster, params: Mapping[str, object],
                    run_id: str = "", unreachable: Sequence[str] = ()) -> list[str]:
    if not any("{{" in c for c in step.commands):
        # Nothing to substitute: the values (every peer of every node, for every node of
        # the step) are not built for nothing, which a wide fan-out paid per node per step.
        return list(step.commands)
    values = step_values(node, cluster, params, run_id, unreachable)
    return [render(c, values) for c in step.commands]


def decide_when(step: Step, params: Mapping[str, object], facts: FactStore | None = None,
                first: str = "") -> tuple[bool | None, str]:
    """Whether ``step`` runs: (True/False, or None when undecided, and what it read).

    Undecided means a fact the condition needs was not observed (yet): the plan shows the step
    as decided at run time, a run skips it and journals why. ``first``: the inventory's first
    node, for ``fact[first]``.
    """
    if step.condition is None:
        return True, ""
    store = facts if facts is not None else FactStore()

    def lookup(key: str) -> FactValue | None:
        fact = store.get(key)
        return None if fact is None else fact.value

    scope = Scope(params=params, lookup=lookup,
                  observations=lambda name: [f.value for f in store.named(name)], first=first)
    return explain(step.condition, scope)


def condition_holds(step: Step, params: Mapping[str, object]) -> bool:
    """Over parameters only (no facts yet): False only when the condition is surely false."""
    return decide_when(step, params)[0] is not False


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    index: int
    nodes: list[Node]
    commands: dict[str, list[str]]
    runs: bool
    backup: dict[str, list[str]]
    confirm: str | None
    #: Why the plan cannot say more yet: the node is chosen later, or ``when`` reads facts.
    pending: str = ""


def confirm_expected(step: Step, cluster: Cluster, nodes: list[Node]) -> str | None:
    """What the operator must type before this step, or None when no confirmation is asked.

    A destructive step that touches exactly one node of several asks for that node's name
    (typing it is the check that the operator means *that* node); ``confirm = "cluster"``
    keeps the cluster name for a step that runs on one node but changes the whole cluster
    (moving ``/etc/pve/corosync.conf``), and a phrase is asked as written.
    """
    if not step.destructive and step.confirm is None:
        return None
    one_of_many = len(nodes) == 1 and len(cluster.nodes) > 1
    how = step.confirm or ("node" if step.destructive and one_of_many else "cluster")
    if how == "cluster":
        return cluster.name
    if how == "node":
        return nodes[0].name if len(nodes) == 1 else cluster.name
    return how


def plan(runbook: Runbook, cluster: Cluster, params: Mapping[str, object],
         run_id: str = "<run-id>") -> list[PlannedStep]:
    """Every step as it would run with ``params`` (no facts yet); raises TargetError."""
    out: list[PlannedStep] = []
    for i, step in enumerate(runbook.steps):
        pending = ""
        try:
            nodes = resolve_targets(step, cluster, params) \
                if step.commands or step.action or step.destructive else []
        except TargetPending as exc:
            nodes, pending = [], str(exc)
        commands = {n.name: render_commands(step, n, cluster, params, run_id) for n in nodes}
        if step.action:
            from pverunbook.runbook.actions import ACTIONS, render_args

            sig = ACTIONS[step.action]
            commands = {n.name: [sig.describe(render_args(step.args,
                                                          step_values(n, cluster, params,
                                                                      run_id)))]
                        for n in nodes}
        backup: dict[str, list[str]] = {}
        for n in nodes:
            values = step_values(n, cluster, params, run_id)
            backup[n.name] = (
                [f"file   {render_plain(p, values)}" for p in step.backup.files]
                + [f"sqlite {render_plain(p, values)} (online backup API)"
                   for p in step.backup.sqlite]
                + [f"output of: {render(c, values)}" for c in step.backup.outputs])
        confirm = confirm_expected(step, cluster, nodes)
        if confirm is not None and not nodes and pending:
            confirm = "<the chosen node's name>" if step.confirm in (None, "node") else confirm
        runs, why = decide_when(step, params, first=cluster.nodes[0].name)
        if runs is None and not pending:
            pending = f"runs only if '{step.when}' holds, decided when the run gets there " \
                      f"({why})"
        out.append(PlannedStep(step=step, index=i, nodes=nodes, commands=commands,
                               runs=runs is not False, backup=backup,
                               confirm=confirm, pending=pending))
    return out
