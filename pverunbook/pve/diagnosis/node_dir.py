"""A node's own ``/etc/pve/nodes/<node>`` directory missing: one fault per condition, and a
renamed node told apart from a wiped one.

Two probes see the same condition: the write probe (``pmxcfs.write_error`` = ``ENOENT``, runbook
network-triage and the check's ``pve-write`` step; rule ``pmxcfs-node-dir-missing``) and the
check's ``pve-mount`` step (``pve.own_dir`` = false; rule ``pve-own-dir-missing``). Both build
their fault here, so a check that runs both names each node once, with the same words.

Why the directory is missing decides what to do. pmxcfs names its node after the host name
(pve-cluster src/pmxcfs/pmxcfs.c: ``uname()``, cut at the first dot, ``cfs.nodename``) and
points ``/etc/pve/{local,qemu-server,lxc}`` at ``nodes/<nodename>`` (``create_symlinks``). So:

- deleted (a wiped config.db): ``pvecm updatecerts`` recreates it with its ``qemu-server``,
  ``lxc``, ``openvz`` and ``priv`` directories, key and certificate (pve-cluster
  src/PVE/Cluster/Setup.pm ``gen_local_dirs``, ``gen_pve_ssl_key``, ``gen_pve_ssl_cert``):
  runbook certificate-regeneration;
- renamed (the host name changed; pvecm.adoc "Preparing Nodes": "Changing the hostname and IP
  is not possible after cluster creation"): the guests' configs are still in
  ``nodes/<old name>``, a directory no cluster member is called by. Regenerating certificates
  first only makes an empty ``nodes/<new name>`` and leaves every guest with the old name.
  The configs are moved, one file at a time: pmxcfs renames only empty directories
  (pmxcfs.adoc "POSIX Compatibility": "You can't rename non-empty directories"; memdb.c
  ``memdb_rename`` → ``unlink_tree_entry``), and moving a guest's config between node
  directories is how pmxcfs.adoc "Recovering/Moving Guests from Failed Nodes" moves a guest
  (``mv /etc/pve/nodes/node1/qemu-server/100.conf /etc/pve/nodes/node2/qemu-server/``; memdb.c
  ``memdb_rename`` lets a VMID's own config move although the VMID exists on the old node).
  No shipped runbook does that move, so the fault gives the commands. Then
  ``pvecm updatecerts`` writes the new name's key and certificate (the old directory's
  certificate names the old host).
- renamed and rebooted, the common case: pveproxy.service runs ``ExecStartPre=-/usr/bin/pvecm
  updatecerts --silent`` before every start (pve-manager services/pveproxy.service), and on a
  quorate node ``updatecerts_and_ssh`` → ``gen_pve_node_files`` makes ``nodes/<new name>``
  with its ``lxc``, ``qemu-server``, ``openvz`` and ``priv`` directories (``gen_local_dirs``),
  ``pve-ssl.key`` and a ``pve-ssl.pem`` for the new name (``gen_pve_ssl_key``,
  ``gen_pve_ssl_cert``), and ``ssh_known_hosts`` (``ssh_create_node_known_hosts``); without
  quorum it gives up silently. (pve-cluster.service itself runs only pmxcfs.) So the node's
  own directory exists and holds no guest config, while ``nodes/<old name>`` still holds
  them: rule ``node-renamed`` (the check's ``pve-mount`` and ``vms`` steps), the same moves
  without the ``mkdir`` and without the certificate step that has already run.
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
from pverunbook.pve.diagnosis.proposals import covering
from pverunbook.pve.facts import Fact, FactStore

#: Makes the fault of the calling rule from everything but its id: ``lambda *a: Fault("<id>",
#: *a)`` (each rule's id stays a literal ``Fault("…")`` its module names).
MakeFault = Callable[[str, Severity, Confidence, str, tuple[Evidence, ...],
                      NextRunbook | None, tuple[ManualFix, ...], tuple[str, ...]], Fault]


def node_dir_faults(ctx: Context, rule: MakeFault, names: Sequence[str],
                    evidence: Sequence[Evidence]) -> list[Fault]:
    """The fault(s) ``rule`` makes for the nodes ``names`` whose own directory is missing
    (``evidence``: the facts that show it): one per node that was renamed (:func:`renamed_from`
    finds its old directory), one for the rest."""
    out = []
    plain = []
    for node in names:
        old = renamed_from(ctx, node)
        if old is None:
            plain.append(node)
            continue
        mine = tuple(e for e in evidence if e.node == node)
        out.append(renamed_fault(ctx, rule, node, old, mine))
    if plain:
        out.append(_deleted(ctx, rule, plain,
                            tuple(e for e in evidence if e.node in plain)))
    return out


def node_dirs(ctx: Context) -> list[str] | None:
    """The directories ``ls /etc/pve/nodes`` listed (fact ``pve.node_dirs``, any node: /etc/pve
    is one tree for the whole cluster), or None when no node listed them."""
    seen = ctx.store.named("pve.node_dirs")
    if not seen:
        return None
    return list(dict.fromkeys(d for f in seen for d in str(f.value).split()))


def dir_missing(store: FactStore, node: str) -> bool:
    """Whether a probe saw ``node``'s own directory missing (either of the two facts)."""
    return store.value("pve.own_dir", node) is False or \
        store.value("pmxcfs.write_error", node) == "ENOENT"


def renamed_from(ctx: Context, node: str) -> str | None:
    """The old name of ``node`` when its own directory is missing because it was renamed: the
    one directory under /etc/pve/nodes that no cluster member is called by
    (:func:`orphan_dirs`); None when there is none or more than one (guessing would move
    guests to the wrong node)."""
    found = orphan_dirs(ctx, node)
    return found[0] if found and len(found) == 1 else None


def orphan_dirs(ctx: Context, node: str) -> list[str] | None:
    """The directories under /etc/pve/nodes that no cluster member is called by, as seen
    from ``node``; None when the listing or the nodelist is unknown.

    A member's name is one the inventory gives, one corosync reports in the membership, or one
    in corosync.conf's nodelist (facts ``conf.node_names``) — except that a node missing from
    the nodelist is listed there under its old name (the host name changed, corosync.conf did
    not): when ``node`` is the only inventory node the nodelist lacks and exactly one nodelist
    name has no inventory host, that name is its old one. Without the nodelist nothing says
    which names are members.
    """
    store = ctx.store
    dirs = node_dirs(ctx)
    listed = [str(f.value).split() for f in store.named("conf.node_names")]
    if dirs is None or not listed:
        return None
    nodelist = {n for names in listed for n in names}
    hosts = set(ctx.inventory) | set(ctx.nodes) | set(store.nodes()) | {node}
    members = {n for f in store.named("quorum.members") for n in str(f.value).split()}
    spare = [n for n in nodelist if n not in hosts]
    absent = [h for h in (ctx.inventory or ctx.nodes) if h not in nodelist]
    stale = spare[0] if len(spare) == 1 and list(absent) in ([], [node]) \
        and node not in nodelist else None
    return [d for d in dirs if d not in hosts and d not in members
            and (d not in nodelist or d == stale)]


def renamed(ctx: Context, node: str) -> str | None:
    """The old name of ``node`` when it was renamed, whether its own directory is missing
    (:func:`renamed_from`) or exists without a guest config (:func:`emptied_from`)."""
    if dir_missing(ctx.store, node):
        return renamed_from(ctx, node)
    return emptied_from(ctx, node)


def emptied_from(ctx: Context, node: str) -> str | None:
    """The old name of ``node`` when its own directory exists (made by ``pvecm updatecerts``
    at start-up) but holds no guest config, and exactly one directory no member is called by
    holds some: that directory is its old one. None when the listing of guest configs is
    unknown, or when another node's own directory is as empty and nothing (a VM it runs
    whose config sits there) says which of them was renamed — guessing would move guests to
    the wrong node."""
    store = ctx.store
    if store.value("pve.own_dir", node) is not True or not any(
            f.value is True for f in store.named("vm.configs_readable")) \
            or holds_guests(ctx, node):
        return None
    found = [d for d in orphan_dirs(ctx, node) or [] if holds_guests(ctx, d)]
    if len(found) != 1:
        return None
    old = found[0]
    empty = [n for n in dict.fromkeys(f.node for f in store.named("pve.own_dir")
                                      if f.value is True and f.node)
             if not holds_guests(ctx, n)]
    if empty == [node]:
        return old
    runs = [n for n in empty if set(_running(ctx, n)) & set(guests_in(ctx, old))]
    return old if runs == [node] else None


def holds_guests(ctx: Context, name: str) -> bool:
    """Whether the listing showed a VM or container config in ``nodes/<name>``."""
    return any(f.value == name for f in ctx.store.named("vm.config_node")) or \
        any(f.value == name for f in ctx.store.named("ct.config_node"))


def _running(ctx: Context, node: str) -> list[int]:
    return [int(x) for f in ctx.store.named("vm.running") if f.node == node
            for x in str(f.value).split() if x.isdigit()]


def guests_in(ctx: Context, old: str, fact: str = "vm.config_node") -> list[int]:
    """VMIDs whose config the check's ``vms`` step listed in ``nodes/<old>/qemu-server``
    (``fact`` ``ct.config_node``: the CTIDs in ``nodes/<old>/lxc``)."""
    prefix = fact[:2]
    return sorted({int(f.peer[2:]) for f in ctx.store.named(fact)
                   if f.value == old and f.peer and f.peer.startswith(prefix)
                   and f.peer[2:].isdigit()})


def containers_in(ctx: Context, old: str) -> list[int] | None:
    """CTIDs whose config the ``vms`` step listed in ``nodes/<old>/lxc``; None when it did not
    list that directory (an older check listed ``qemu-server/`` only)."""
    listed = {d for f in ctx.store.named("ct.dirs_listed") for d in str(f.value).split()}
    return guests_in(ctx, old, "ct.config_node") if old in listed else None


def move_commands(old: str, new: str, vmids: Sequence[int],
                  ctids: Sequence[int] | None = None, mkdir: bool = True) -> str:
    """The commands that move ``old``'s guest configs to ``new`` (on a quorate node): the
    target directories (``mkdir``: only when ``new``'s are missing), each listed VM's config
    by name (every config when none was listed), then each listed container's (``ctids``;
    every container's when ``old``'s ``lxc/`` was not listed). pmxcfs moves files, never a
    non-empty directory."""
    src, dst = f"/etc/pve/nodes/{old}", f"/etc/pve/nodes/{new}"
    steps = [f"timeout 10 mkdir -p {dst}/qemu-server {dst}/lxc"] if mkdir else []
    if vmids:
        steps += [f"timeout 10 mv {src}/qemu-server/{i}.conf {dst}/qemu-server/"
                  for i in vmids]
    elif ctids is None:
        steps.append(_move_all(f"{src}/qemu-server", f"{dst}/qemu-server"))
    if ctids is None:
        steps.append(_move_all(f"{src}/lxc", f"{dst}/lxc"))
    else:
        steps += [f"timeout 10 mv {src}/lxc/{i}.conf {dst}/lxc/" for i in ctids]
    return " && ".join(steps)


def _move_all(src: str, dst: str) -> str:
    return (f"timeout 10 sh -c 'for f in {src}/*.conf; do test -e \"$f\" || continue; "
            f"mv \"$f\" {dst}/ || exit 1; done'")


def renamed_fault(ctx: Context, rule: MakeFault, new: str, old: str,
                  evidence: tuple[Evidence, ...]) -> Fault:
    """The fault that names ``new`` as renamed from ``old``: its own directory missing
    (:func:`renamed_from`) or made empty at start-up by ``pvecm updatecerts``
    (:func:`emptied_from`)."""
    missing = dir_missing(ctx.store, new)
    vmids = guests_in(ctx, old)
    ctids = containers_in(ctx, old)
    running = set(_running(ctx, new))
    names = []
    if vmids:
        names.append(f"VM{'s' if len(vmids) > 1 else ''} {', '.join(map(str, vmids))}")
    here = sorted(set(vmids) & running)
    where = ("" if not here else f" (running on {new})" if here == vmids
             else f" ({', '.join(map(str, here))} running on {new})")
    if names:
        names[0] += where
    if ctids:
        names.append(f"container{'s' if len(ctids) > 1 else ''} (CT) "
                     f"{', '.join(map(str, ctids))}")
    guests = " and ".join(names) if names else "its guests' configs"
    in_nodelist = any(old in str(f.value).split() for f in ctx.store.named("conf.node_names"))
    more = tuple(ev(f, f"{f.node}: /etc/pve/nodes lists {', '.join(str(f.value).split())}")
                 for f in ctx.store.named("pve.node_dirs")[:1])
    for fact, sub in (("vm.config_node", "qemu-server"), ("ct.config_node", "lxc")):
        seen = {f.peer: f for f in ctx.store.named(fact) if f.value == old and f.peer}
        more += tuple(ev(f, f"{f.node}: {peer[2:]}.conf is in /etc/pve/nodes/{old}/{sub}")
                      for peer, f in seen.items() if peer)
    each = (f"for each VM, then `mv /etc/pve/nodes/{old}/lxc/<ctid>.conf "
            f"/etc/pve/nodes/{new}/lxc/` for each container")
    other = (f"corosync.conf's nodelist still calls this node {old}: pvecm.adoc says a host "
             "name cannot change after the cluster is created, so setting the host name back "
             f"to {old} (/etc/hostname, /etc/hosts, then restart pve-cluster) is the other way."
             if in_nodelist else
             "pvecm.adoc says a host name cannot change after the cluster is created: setting "
             f"it back to {old} is the other way.")
    keep = (f"Keep /etc/pve/nodes/{old} until `qm list` and `pct list` on {new} show every "
            "guest. ")
    moves = ("Move the configs, on a quorate node, one file at a time: pmxcfs cannot rename a "
             "non-empty directory (pmxcfs.adoc 'POSIX Compatibility'), and a config moved "
             "between node directories moves its guest (pmxcfs.adoc 'Recovering/Moving Guests "
             "from Failed Nodes'): the command below ")
    if missing:
        statement = (f"{new} was renamed from {old}: /etc/pve/nodes/{new} is missing, and "
                     f"/etc/pve/nodes/{old}, a name no node goes by now, still holds {guests} "
                     "and the old name's certificate")
        action = (f"pmxcfs calls the node by its host name, so {new}'s guests are still filed "
                  f"under {old}. Do not regenerate certificates first (that only makes an "
                  f"empty /etc/pve/nodes/{new}). " + moves
                  + f"makes /etc/pve/nodes/{new}/qemu-server and lxc and runs `mv "
                  f"/etc/pve/nodes/{old}/qemu-server/<vmid>.conf "
                  f"/etc/pve/nodes/{new}/qemu-server/` " + each + ". Then `pvecm updatecerts` "
                  f"on {new} (runbook certificate-regeneration) writes the new name's key and "
                  "certificate. " + keep + other)
    else:
        statement = (f"{new} was renamed from {old}: /etc/pve/nodes/{new} holds no guest "
                     f"config, and /etc/pve/nodes/{old}, a name no node goes by now, still "
                     f"holds {guests} and the old name's certificate")
        action = (f"pmxcfs calls the node by its host name, so {new}'s guests are still filed "
                  f"under {old}. /etc/pve/nodes/{new} is what `pvecm updatecerts --silent` "
                  "(pveproxy.service's ExecStartPre, at every start with quorum) made: its "
                  "qemu-server, lxc, openvz and priv directories, a key and a certificate for "
                  f"the new name (Cluster/Setup.pm gen_local_dirs, gen_pve_ssl_cert); no guest "
                  "config. Do not rebuild the configs: they exist. " + moves
                  + f"runs `mv /etc/pve/nodes/{old}/qemu-server/<vmid>.conf "
                  f"/etc/pve/nodes/{new}/qemu-server/` " + each + " (the directories exist). "
                  + keep + other)
    return rule(statement, "critical", "high", action, evidence + more, None,
                (ManualFix(new, move_commands(old, new, vmids, ctids, mkdir=missing), "fix"),),
                (new,))


def _deleted(ctx: Context, rule: MakeFault, names: Sequence[str],
             evidence: tuple[Evidence, ...]) -> Fault:
    paths = [f"/etc/pve/nodes/{n}" for n in names]
    orphans = orphan_dirs(ctx, names[0]) if len(names) == 1 else None
    listed = ("" if orphans is None else
              " (/etc/pve/nodes holds no directory of another name: not a rename)"
              if not orphans else
              f" (/etc/pve/nodes also holds {', '.join(orphans)}, which no node goes by now: "
              "if this node was renamed, its guests' configs are in one of them)")
    return rule(
        f"{' and '.join(paths)} {'is' if len(paths) == 1 else 'are'} missing: "
        f"{'this node' if len(names) == 1 else 'each node'}'s own directory in the cluster "
        "filesystem, where its VM configs, key and certificate live, is gone; that is not a "
        "quorum problem" + listed, "critical", "high",
        "If the host name changed (a renamed node), its guests are filed under the old name: "
        "move their configs one by one (`mv /etc/pve/nodes/<old>/qemu-server/<vmid>.conf "
        "/etc/pve/nodes/<new>/qemu-server/`; pmxcfs cannot rename a non-empty directory) "
        "before anything else. If it was deleted (a wiped database), `pvecm updatecerts` "
        "recreates it with its qemu-server, lxc and priv directories, key and certificate "
        "(Cluster/Setup.pm gen_local_dirs, needs quorum): runbook certificate-regeneration. "
        "VM configs come after that (vm-config-recovery writes them into that directory).",
        evidence, covering("certificate-regeneration"),  # as the check and triage agree
        tuple(ManualFix(n, "hostname; timeout 5 ls /etc/pve/nodes", "look") for n in names),
        tuple(names))


def own_dir_evidence(facts: Sequence[Fact]) -> tuple[Evidence, ...]:
    """Evidence lines for the facts that show a node's directory missing."""
    return tuple(ev(f, f"{f.node}: {f.evidence}") for f in facts)
