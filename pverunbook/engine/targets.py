"""Which nodes a step runs on, and the variables each node's commands are rendered with.

Shared by the engine and the plan, so that what the dry-run shows is exactly what a run does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.model import Runbook, Step
from pverunbook.runbook.template import render, render_plain

#: The operator's own machine, for steps with ``targets = "local"``.
LOCAL_NODE = Node(name="local", host="localhost", addr="127.0.0.1")


class TargetError(ValueError):
    pass


def resolve_targets(step: Step, cluster: Cluster, values: Mapping[str, object]) -> list[Node]:
    nodes: list[Node] = []
    for raw in step.targets:
        target = render_plain(raw, values)
        if target == "all":
            picked = list(cluster.nodes)
        elif target == "first":
            picked = [cluster.nodes[0]]
        elif target == "local":
            picked = [LOCAL_NODE]
        else:
            try:
                picked = [cluster.node(target)]
            except KeyError:
                where = f" ({step.pos})" if step.pos else ""
                raise TargetError(
                    f"step '{step.id}'{where} targets node '{target}', which is not in cluster "
                    f"'{cluster.name}' (nodes: {', '.join(cluster.names)}); fix the runbook or "
                    "the --cluster inventory") from None
        for n in picked:
            if n not in nodes:
                nodes.append(n)
    return nodes


def node_vars(node: Node, cluster: Cluster, run_id: str = "") -> dict[str, object]:
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
        "gateway": node.gateway,
        "run_id": run_id,
    }


def step_values(node: Node, cluster: Cluster, params: Mapping[str, object],
                run_id: str = "") -> dict[str, object]:
    values: dict[str, object] = dict(params)
    values.update(node_vars(node, cluster, run_id))
    return values


def render_commands(step: Step, node: Node, cluster: Cluster, params: Mapping[str, object],
                    run_id: str = "") -> list[str]:
    values = step_values(node, cluster, params, run_id)
    return [render(c, values) for c in step.commands]


def condition_holds(step: Step, params: Mapping[str, object]) -> bool:
    """``when = "name"``, ``"!name"``, ``"name == value"`` or ``"name != value"``."""
    if not step.when:
        return True
    expr = step.when.strip()
    for op in ("==", "!="):
        if op in expr:
            name, want = (s.strip() for s in expr.split(op, 1))
            have = params.get(name)
            same = str(have).lower() == want.strip("'\"").lower()
            return same if op == "==" else not same
    negate = expr.startswith("!")
    value = bool(params.get(expr.lstrip("!").strip()))
    return not value if negate else value


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    index: int
    nodes: list[Node]
    commands: dict[str, list[str]]
    runs: bool
    backup: dict[str, list[str]]
    confirm: str | None


def confirm_expected(step: Step, cluster: Cluster, nodes: list[Node]) -> str | None:
    """What the operator must type before this step, or None when no confirmation is asked."""
    if not step.destructive and step.confirm is None:
        return None
    how = step.confirm or "cluster"
    if how == "cluster":
        return cluster.name
    if how == "node":
        return nodes[0].name if len(nodes) == 1 else cluster.name
    return how


def plan(runbook: Runbook, cluster: Cluster, params: Mapping[str, object],
         run_id: str = "<run-id>") -> list[PlannedStep]:
    out: list[PlannedStep] = []
    for i, step in enumerate(runbook.steps):
        nodes = resolve_targets(step, cluster, params) \
            if step.commands or step.action or step.destructive else []
        commands = {n.name: render_commands(step, n, cluster, params, run_id) for n in nodes}
        if step.action:
            from pverunbook.engine.actions import ACTIONS, render_args

            spec = ACTIONS[step.action]
            commands = {n.name: [spec.describe(render_args(step.args,
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
        out.append(PlannedStep(step=step, index=i, nodes=nodes, commands=commands,
                               runs=condition_holds(step, params), backup=backup,
                               confirm=confirm_expected(step, cluster, nodes)))
    return out
