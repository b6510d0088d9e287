"""A node's own ``/etc/pve/nodes/<node>`` directory missing: one fault per condition.

Two probes see the same condition: the write probe (``pmxcfs.write_error`` = ``ENOENT``, runbook
network-triage and the check's ``pve-write`` step; rule ``pmxcfs-node-dir-missing``) and the
check's ``pve-mount`` step (``pve.own_dir`` = false; rule ``pve-own-dir-missing``). Both build
their fault here, so a check that runs both names each node once, with the same words.

The fault: ``pvecm updatecerts`` recreates the directory with its ``qemu-server``, ``lxc``,
``openvz`` and ``priv`` directories, key and certificate (pve-cluster
src/PVE/Cluster/Setup.pm ``gen_local_dirs``, ``gen_pve_ssl_key``, ``gen_pve_ssl_cert``):
runbook certificate-regeneration. pmxcfs names its node after the host name (pve-cluster
src/pmxcfs/pmxcfs.c: ``uname()``, cut at the first dot), so a renamed node's guests are under
its old name, and pmxcfs renames only empty directories (pmxcfs.adoc "POSIX Compatibility";
memdb.c ``memdb_rename`` → ``unlink_tree_entry``): their configs are moved one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pverunbook.pve.diagnosis.model import (
    Confidence,
    Context,
    Evidence,
    Fault,
    ManualFix,
    NextRunbook,
    Severity,
    ev,
)
from pverunbook.pve.facts import Fact

#: Makes the fault of the calling rule from everything but its id: ``lambda *a: Fault("<id>",
#: *a)`` (each rule's id stays a literal ``Fault("…")`` its module names).
MakeFault = Callable[[str, Severity, Confidence, str, tuple[Evidence, ...],
                      NextRunbook | None, tuple[ManualFix, ...], tuple[str, ...]], Fault]


def node_dir_faults(ctx: Context, rule: MakeFault, names: Sequence[str],
                    evidence: Sequence[Evidence]) -> list[Fault]:
    """The fault ``rule`` makes for the nodes ``names`` whose own directory is missing
    (``evidence``: the facts that show it)."""
    return [_deleted(ctx, rule, names, tuple(evidence))] if names else []


def _deleted(ctx: Context, rule: MakeFault, names: Sequence[str],
             evidence: tuple[Evidence, ...]) -> Fault:
    paths = [f"/etc/pve/nodes/{n}" for n in names]
    return rule(
        f"{' and '.join(paths)} {'is' if len(paths) == 1 else 'are'} missing: "
        f"{'this node' if len(names) == 1 else 'each node'}'s own directory in the cluster "
        "filesystem, where its VM configs, key and certificate live, is gone; that is not a "
        "quorum problem", "critical", "high",
        "If the host name changed (a renamed node), its guests are filed under the old name: "
        "move their configs one by one (`mv /etc/pve/nodes/<old>/qemu-server/<vmid>.conf "
        "/etc/pve/nodes/<new>/qemu-server/`; pmxcfs cannot rename a non-empty directory) "
        "before anything else. If it was deleted (a wiped database), `pvecm updatecerts` "
        "recreates it with its qemu-server, lxc and priv directories, key and certificate "
        "(Cluster/Setup.pm gen_local_dirs, needs quorum): runbook certificate-regeneration. "
        "VM configs come after that (vm-config-recovery writes them into that directory).",
        evidence, NextRunbook("certificate-regeneration", {"force": False}),
        tuple(ManualFix(n, "hostname; timeout 5 ls /etc/pve/nodes") for n in names),
        tuple(names))


def own_dir_evidence(facts: Sequence[Fact]) -> tuple[Evidence, ...]:
    """Evidence lines for the facts that show a node's directory missing."""
    return tuple(ev(f, f"{f.node}: {f.evidence}") for f in facts)
