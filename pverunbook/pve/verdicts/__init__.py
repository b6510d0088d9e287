"""Verdicts: turn captured diagnostics into findings that explain what they mean.

Each finding says what was seen, why it matters for corosync/pmxcfs and where the evidence
is, so an operator under stress learns the reasoning instead of pattern-matching on colours.
Runbook steps name a verdict from :data:`VERDICTS` (one output per node) or
:data:`CROSS_NODE_VERDICTS` (all nodes' outputs together). One module per thing judged:
:mod:`.quorum`, :mod:`.links` (cfgtool, cmap counters), :mod:`.journal`, :mod:`.network` (mtr,
ping, route), :mod:`.config` (corosync.conf); :mod:`.base` holds what they share.

The engine calls :func:`judge`, which first makes sure the command actually answered (its exit
status is one the tool uses for an answer, or one the step accepts) and says "could not read …,
and why" otherwise: no verdict ever judges the output of a failed read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from pverunbook.pve import outputs, peer_sections
from pverunbook.pve.verdicts import journal, links, network, quorum
from pverunbook.pve.verdicts.base import (
    LEVELS,
    Finding,
    Level,
    PeerNames,
    VerdictInput,
    failed_read,
    fmt_duration,
    not_understood,
    worst,
)
from pverunbook.pve.verdicts.config import verdict_config_versions, verdict_corosync_conf
from pverunbook.pve.verdicts.journal import verdict_journal
from pverunbook.pve.verdicts.links import verdict_cmap_stats, verdict_links
from pverunbook.pve.verdicts.network import LOSS_BAD_PCT, verdict_mtr, verdict_ping, verdict_route
from pverunbook.pve.verdicts.quorum import verdict_quorum

__all__ = [
    "CROSS_NODE_VERDICTS",
    "LEVELS",
    "LOSS_BAD_PCT",
    "SPECS",
    "VERDICTS",
    "Finding",
    "Level",
    "PeerNames",
    "Spec",
    "VerdictInput",
    "failed_read",
    "fmt_duration",
    "judge",
    "learn",
    "per_peer",
    "not_understood",
    "verdict_cmap_stats",
    "verdict_config_versions",
    "verdict_corosync_conf",
    "verdict_journal",
    "verdict_links",
    "verdict_mtr",
    "verdict_ping",
    "verdict_quorum",
    "verdict_route",
    "without_normal_lines",
    "worst",
]

ToolError = Callable[[VerdictInput], "list[Finding] | None"]


@dataclass(frozen=True)
class Spec:
    """How to judge one kind of output.

    ``what`` names the input in "could not read …" findings. ``answers`` are the exit statuses
    with which the tool prints an answer (ping exits 1 for "no reply", quorumtool 2 for "not
    quorate"). ``tool_error`` may explain a failed run in the tool's own terms (corosync down)
    before the generic "could not read".
    """

    what: str
    answers: frozenset[int] = frozenset({0})
    tool_error: ToolError | None = None
    cross_node: bool = False


SPECS: dict[str, Spec] = {
    "quorum": Spec("the quorum status", quorum.ANSWERS, quorum.corosync_down),
    "links": Spec("the link status", links.ANSWERS, links.corosync_down),
    "corosync-journal": Spec("the corosync log"),
    "mtr": Spec("the mtr report"),
    "ping": Spec("the ping result", network.PING_ANSWERS),
    "route": Spec("the route", tool_error=network.route_error),
    "corosync-conf": Spec("corosync.conf"),
    "cmap-stats": Spec("the corosync counters"),
    "config-versions": Spec("corosync.conf", cross_node=True),
}

def per_peer(verdict: Callable[..., list[Finding]], what: str) -> Callable[..., list[Finding]]:
    """Judge every ``### peer ADDR`` section of one node's output (one probe per peer).

    Triage probes every peer in one step (:mod:`pverunbook.pve.peer_sections`). Output without
    headers goes to ``verdict`` unchanged. With several peers, a finding whose title does not
    name the peer gets ``"to NAME (ADDR): "`` in front, and ``peer`` set to the node's name.
    """

    def judge_peers(text: str, names: PeerNames | None = None) -> list[Finding]:
        names = names if names is not None else PeerNames()
        parts = peer_sections.peers(text)
        if not parts:
            return [not_understood(what, "a probe section", text)]
        if len(parts) == 1 and parts[0][0] is None:
            return verdict(parts[0][1], names=names)
        out: list[Finding] = []
        for addr, part in parts:
            for f in verdict(part, names=names):
                if addr:
                    if len(parts) > 1 and addr not in f.title:
                        f = replace(f, title=f"to {names.addr(addr)}: {f.title}")
                    f = replace(f, peer=f.peer or names.by_addr.get(addr))
                out.append(f)
        return out

    judge_peers.__name__ = getattr(verdict, "__name__", "verdict")
    judge_peers.__doc__ = verdict.__doc__
    return judge_peers


#: One output → findings. Each takes the text and, optionally, ``names=`` (:class:`PeerNames`).
VERDICTS: dict[str, Callable[..., list[Finding]]] = {
    "quorum": verdict_quorum,
    "links": verdict_links,
    "corosync-journal": verdict_journal,
    # Triage probes every peer in one step, one `### peer ADDR` section each.
    "mtr": per_peer(verdict_mtr, "the mtr report"),
    "ping": per_peer(verdict_ping, "the ping result"),
    "route": per_peer(verdict_route, "the route"),
    "corosync-conf": verdict_corosync_conf,
    "cmap-stats": verdict_cmap_stats,
}

#: {node: output} → findings, comparing nodes.
CROSS_NODE_VERDICTS: dict[str, Callable[..., list[Finding]]] = {
    "config-versions": verdict_config_versions,
}


def judge(verdict: str, by_node: Mapping[str, VerdictInput], *, names: PeerNames | None = None,
          ok_exit: Iterable[int] = ()) -> list[Finding]:
    """Findings for one step's outputs, one :class:`VerdictInput` per node.

    An output is judged only when its exit status is one of the tool's answers or one the step
    accepts (``ok_exit``); otherwise the node gets a single "could not read …" finding that says
    why (timeout, exit 124 from ``timeout``, not found, the tool's own error). ``names`` is
    completed from the outputs first (:func:`learn`) and turns node ids and addresses into node
    names. Every finding carries its node. Raises KeyError for an unknown verdict name.
    """
    spec = SPECS[verdict]
    names = names if names is not None else PeerNames()
    accepted = spec.answers | frozenset(ok_exit)
    out: list[Finding] = []
    readable: dict[str, VerdictInput] = {}
    for node, inp in by_node.items():
        if inp.exit_status is not None and inp.exit_status in accepted:
            readable[node] = inp
            continue
        explained = spec.tool_error(inp) if spec.tool_error else None
        out += [replace(f, node=node) for f in explained or [failed_read(spec.what, inp)]]
    for node, inp in readable.items():
        learn(verdict, node, inp.text, names)
    if spec.cross_node:
        if readable:
            found = CROSS_NODE_VERDICTS[verdict]({n: i.text for n, i in readable.items()},
                                                 names=names)
            out += found
        return out
    fn = VERDICTS[verdict]
    for node, inp in readable.items():
        out += [replace(f, node=f.node or node) for f in fn(inp.text, names=names)]
    return out


def without_normal_lines(verdict: str, text: str) -> tuple[str, int]:
    """``text`` without the lines ``verdict`` reads as normal, and how many were taken out.

    A regex expectation cannot tell a healthy start-up's ``has no active links`` (before the
    peer's first heartbeat) from a cut-off; the corosync-journal verdict can. The engine checks
    ``absent`` expectations on what is left, so the same line fails a run only when it means a
    fault. Returns ``(text, 0)`` unchanged when nothing is normal noise. Never raises.
    """
    if verdict != "corosync-journal":
        return text, 0
    drop = set(journal.startup_lines(text))
    if not drop:
        return text, 0
    lines = outputs.clean(text).splitlines()
    kept = [line for no, line in enumerate(lines, 1) if no not in drop]
    return "\n".join(kept) + "\n", len(lines) - len(kept)


_CONF_NODE = re.compile(r"\bnode\s*\{([^{}]*)\}", re.S)


def learn(verdict: str, node: str, text: str, names: PeerNames) -> None:
    """Complete ``names`` from an output that ties node ids to names or addresses.

    ``corosync-cfgtool -s`` on node X prints X's own id (``Local node ID 2``); ``pvecm status``
    its own ``Node ID`` and the members' addresses; a corosync.conf or cmap nodelist both.
    Never raises.
    """
    if verdict == "links":
        st = outputs.parse_cfgtool_status(text)
        if st.local_nodeid is not None:
            names.learn_id(st.local_nodeid, node)
    elif verdict == "quorum":
        q = outputs.parse_quorum_status(text)
        if q.node_id is not None and q.quorate is not None:
            names.learn_id(q.node_id, node)
        for m in q.nodes_members:
            names.learn_id(m.nodeid, m.name)
    elif verdict in ("corosync-conf", "config-versions"):
        for block in _CONF_NODE.findall(outputs.clean(text)):
            items = dict(re.findall(r"^\s*(\w+)\s*:\s*(\S+)\s*$", block, re.M))
            name, nid = items.get("name"), items.get("nodeid", "")
            if not name:
                continue
            for key, value in items.items():
                if re.fullmatch(r"ring\d_addr", key):
                    names.by_addr.setdefault(value, name)
            if re.fullmatch(r"\d{1,10}", nid):
                names.learn_id(int(nid), name)
    elif verdict == "cmap-stats":
        for nid, (name, addr) in outputs.cmap_nodelist(outputs.parse_cmapctl(text)).items():
            if name:
                names.learn_id(nid, name)
                if addr:
                    names.by_addr.setdefault(addr, name)
