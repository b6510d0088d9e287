"""Nodes a run could not read: a check that did not reach a node never says "healthy".

A node that did not answer SSH (connection refused, timed out, login refused) is left out of
every read-only step while the other nodes go on. Its facts are simply missing, and the rules
find no fault in facts that are missing: the health check said "HEALTHY: the check found no
fault on any node" with one node of three never read. The engine records such a node
(``NodeConnection`` ``unreachable``, or ``down`` once it gave up reconnecting); this rule turns
each into a fault that says which node was not checked, why, and what to do. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from pverunbook.pve.corosync_conf.nodelist import inventory_gap
from pverunbook.pve.diagnosis.measurement import TRIAGE_ID
from pverunbook.pve.diagnosis.model import (
    Context,
    Evidence,
    Fault,
    ManualFix,
    NextRunbook,
    Severity,
    ev,
)
from pverunbook.pve.diagnosis.node_dir import renamed

#: The fault's id (listed with the health check's in :data:`health.CHECK_FAULTS`).
NOT_CHECKED = "node-not-checked"


def why_unreachable(message: str) -> str:
    """The transport's error in a few words, with what it says about the node.

    The texts are the SSH transport's (transport/ssh.py ``_open``): ``cannot connect …:
    connection refused`` (older journals: ``Connect call failed``), ``… timed out after``,
    ``SSH login … was refused``, ``host key not accepted``."""
    low = message.lower()
    if "connection refused" in low or "connect call failed" in low:
        return ("connection refused: the host answered but nothing listens on that port "
                "(sshd stopped, or a wrong port in the inventory)")
    if "timed out" in low:
        return ("connection timed out: the host is down, or a firewall drops the traffic, "
                "or sshd hangs before its banner")
    if "login" in low and "refused" in low:
        return "SSH login refused: the host is up, but the user or key is not accepted"
    if "host key" in low:
        return "its SSH host key was not accepted"
    if "no route to host" in low or "network is unreachable" in low:
        return "no route to the host: the management network does not reach it"
    return "it did not answer SSH"


def unchecked_nodes(unchecked: Mapping[str, str]) -> list[Fault]:
    """One ``node-not-checked`` fault per node the run could not read (``node → the
    transport's error``), critical: whatever the other nodes show, nothing is known about
    this one, so the run proves no health."""
    out: list[Fault] = []
    for node, message in unchecked.items():
        why = why_unreachable(message)
        out.append(Fault(
            "node-not-checked",
            f"{node} was NOT checked: {why.split(':', 1)[0]}; nothing is known about its "
            "quorum, links, database or certificates", "critical", "high",
            f"{why[0].upper()}{why[1:]}. Bring {node} back or fix the way to it: try `ssh` "
            "to it by hand with the inventory's host, port and user, and look at its console "
            "if it does not answer. Then run the check again; until then the cluster is not "
            "known to be healthy. network-triage measures from the other nodes whether the "
            f"cluster network still reaches {node}.",
            (Evidence(f"{node}: not reachable over SSH", node, "", message),),
            NextRunbook(TRIAGE_ID, {}), (), (node,), weight=40))
    return out


def not_checked(ctx: Context) -> list[Fault]:
    """The rule: :func:`unchecked_nodes` over the context's unreachable nodes."""
    return unchecked_nodes(ctx.unchecked)


#: A cluster node the inventory does not list (or an inventory node the cluster does not).
NOT_IN_INVENTORY = "node-not-in-inventory"


def not_in_inventory(ctx: Context) -> list[Fault]:
    """The cluster's nodelist (``conf.node_names``, read off each node's corosync.conf)
    against the inventory (``ctx.inventory``): every ``targets = "all"`` step covers the
    inventory's nodes only, so a node the nodelist names and the inventory lacks was never
    checked, and a run's "ok" says nothing about it. Critical; an inventory node the nodelist
    does not name is a warning (a removed node, or a typo: its steps read another machine).
    A node renamed by its host name alone is neither: the nodelist still names it by its old
    name, and pmxcfs_blocked / pve_mount name the rename (:func:`.node_dir.renamed`)."""
    listed = [f for f in ctx.store.named("conf.node_names") if f.node and isinstance(f.value, str)]
    if not listed or not ctx.inventory:
        return []
    cluster = list(dict.fromkeys(n for f in listed for n in str(f.value).split()))
    gap = inventory_gap(list(ctx.inventory), cluster)
    if gap.complete:
        return []
    # a node renamed by its host name alone keeps its old name in the nodelist: that entry is
    # the inventory's node, checked under its new name (:mod:`.node_dir` names the rename)
    olds = {old: new for new in gap.not_in_cluster if (old := renamed(ctx, new))}
    missing = tuple(n for n in gap.not_in_inventory if n not in olds)
    extra = tuple(n for n in gap.not_in_cluster if n not in olds.values())
    if not missing and not extra:
        return []
    shows = [f for f in listed if not missing or set(missing) & set(str(f.value).split())]
    evidence = tuple(ev(f, f"{f.node}: corosync.conf's nodelist names {f.value}")
                     for f in shows)
    first = str(listed[0].node)
    if missing:
        statement = (f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} in the "
                     "cluster's nodelist but NOT in the inventory: no step of this run checked "
                     f"{'it' if len(missing) == 1 else 'them'}, and no runbook would change "
                     "or verify " + ("it" if len(missing) == 1 else "them"))
        severity: Severity = "critical"
    else:
        statement = (f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} in the "
                     "inventory but not in the cluster's nodelist")
        severity = "warning"
    action = ("Make the inventory list exactly the cluster's nodes (`[[nodes]]` entries with "
              "name, host and addr, as the nodelist names them), then run the check again: a "
              "runbook acting on every node would leave out a node the inventory lacks, and "
              "say ok.")
    return [Fault("node-not-in-inventory", statement, severity, "high", action, evidence, None,
                  (ManualFix(first, "grep -E '^\\s*(name|ring0_addr):' "
                                    "/etc/corosync/corosync.conf", "look"),),
                  tuple(missing or extra), weight=40)]
