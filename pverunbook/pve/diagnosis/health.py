"""Rules of the cluster health check beyond the network: VMs running without a config, configs
on the wrong node, /etc/pve not mounted / dead / missing this node's directory, pmxcfs unable to
load its database, certificates not signed by the cluster CA, pveproxy down, ``two_node`` in a
cluster of three or more, HA resources that would fence, clock skew and disk errors.

Sources: qemu-server (``-id``; domain notes §9), pmxcfs database.c/pmxcfs.c (§4), fuse(4),
votequorum(5) ``two_node`` (§3), pvecm updatecerts (§5), ha-manager.adoc (§7), the story's
correctable PCIe errors (story.md "Initial Hardware Suspicion").
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.certs import pve_unreadable
from pverunbook.pve.diagnosis.model import Context, Evidence, Fault, ManualFix, NextRunbook, ev, num
from pverunbook.pve.diagnosis.node_dir import (
    emptied_from,
    node_dir_faults,
    own_dir_evidence,
    renamed,
    renamed_fault,
)

#: Every fault id the health check's own rules report (here and in :mod:`.check`), declared
#: so that the audit of rules (tests, README table) covers them like the shared rules.
CHECK_FAULTS = ("corosync-token-default", "ha-fence-risk", "ha-disarmed", "two-node-large",
                "pve-not-mounted", "pve-enotconn", "pve-own-dir-missing", "node-renamed",
                "db-load-failed",
                "disk-errors", "storage-cfg-missing", "cluster-file-missing",
                "vm-without-config", "vm-config-wrong-node", "cert-not-ca", "ca-missing",
                "pveproxy-down", "clock-skew", "rollback-pending", "rollback-stale",
                "rollback-interrupted",
                "loss-unmeasured-after-change")

#: Clock difference (s) between nodes asked at the same moment that counts as skew.
SKEW_S = 5


def vms_without_config(ctx: Context) -> list[Fault]:
    """A kvm process whose VMID has no ``<id>.conf`` under any ``nodes/*/qemu-server``, and a
    config in another node's directory than the node running the VM (domain notes §4
    "Symlinks": the config belongs to the node that runs the guest)."""
    store = ctx.store
    configs: dict[int, str] = {}
    readable = [f.node for f in store.named("vm.configs_readable") if f.value is True]
    if not readable:
        return []
    for f in store.named("vm.config_node"):
        if f.peer and f.peer.startswith("vm") and f.peer[2:].isdigit():
            configs.setdefault(int(f.peer[2:]), str(f.value))
    lost: dict[str, list[int]] = {}
    wrong: list[tuple[int, str, str]] = []
    evidence: list[Evidence] = []
    for f in store.named("vm.running"):
        if not f.node or not str(f.value).strip():
            continue
        for vmid in (int(x) for x in str(f.value).split()):
            where = configs.get(vmid)
            if where is None:
                lost.setdefault(f.node, []).append(vmid)
            elif where != f.node:
                wrong.append((vmid, f.node, where))
        evidence.append(ev(f, f"{f.node}: kvm running VMs {f.value}"))
    out = []
    if lost:
        total = sum(len(v) for v in lost.values())
        where_txt = "; ".join(f"{n}: {', '.join(map(str, ids))}" for n, ids in lost.items())
        listed = [f for f in store.named("vm.configs_readable") if f.value is True]
        # the fact's evidence reads "<n> config(s) listed": a colon, not a second verb
        evidence += [ev(f, f"{f.node}: /etc/pve/nodes/*/qemu-server: {f.evidence}")
                     for f in listed]
        out.append(Fault(
            "vm-without-config",
            f"{total} VM(s) run without a config in /etc/pve ({where_txt}): `qm list` is empty "
            "and nothing can manage, migrate or back them up",
            "critical", "high",
            "Rebuild each config from its running kvm process (memory, CPU, disks, NICs, MACs) "
            "and write it back to the node that runs it; check bridges and VLAN tags by hand "
            "(they are not on the command line).",
            tuple(evidence), NextRunbook("vm-config-recovery", {"source": "processes"}), (),
            tuple(lost)))
    for vmid, runs_on, conf_on in wrong:
        if renamed(ctx, runs_on) == conf_on:
            continue  # a renamed node: pve_mount / pmxcfs_blocked move all its configs at once
        out.append(Fault(
            "vm-config-wrong-node",
            f"VM {vmid} runs on {runs_on} but its config is in {conf_on}'s directory",
            "warning", "high",
            "Move the config to the node that runs the VM (pmxcfs refuses a VMID that exists "
            "on another node, so this is a move, never a copy).",
            (Evidence(f"{conf_on} holds {vmid}.conf", conf_on, "vms",
                      f"/etc/pve/nodes/{conf_on}/qemu-server/{vmid}.conf"),), None,
            (ManualFix(runs_on, f"timeout 10 mv /etc/pve/nodes/{conf_on}/qemu-server/{vmid}.conf"
                                f" /etc/pve/nodes/{runs_on}/qemu-server/", "fix"),),
            (runs_on, conf_on)))
    return out


def pve_mount(ctx: Context) -> list[Fault]:
    """/etc/pve not mounted (pmxcfs not running), a dead FUSE mount (ENOTCONN), this node's
    own ``nodes/<node>`` directory missing, or present but empty of guests while its old
    name's directory holds them (a renamed node, rule ``node-renamed``)."""
    store = ctx.store
    out = []
    down = [f for f in store.named("pve.mounted") if f.value is False and f.node]
    dead = [f for f in store.named("pve.enotconn") if f.value is True and f.node]
    for f in down:
        out.append(Fault(
            "pve-not-mounted", f"/etc/pve is not mounted on {f.node}: pmxcfs is not running",
            "critical", "high",
            "Read why pmxcfs stopped, then start it; never start `pmxcfs -l` beside the unit.",
            (ev(f, f"{f.node}: {f.evidence}"),), None,
            (ManualFix(str(f.node), "journalctl -b -u pve-cluster --no-pager | tail -n 50; "
                                    "systemctl start pve-cluster", "fix"),),
            (str(f.node),), weight=25))
    for f in dead:
        out.append(Fault(
            "pve-enotconn",
            f"/etc/pve on {f.node} is a dead FUSE mount (Transport endpoint is not connected): "
            "pmxcfs died and left its mount behind", "critical", "high",
            "Restart pve-cluster: pmxcfs unmounts the dead mount itself at start. Do not "
            "`umount -l` (services keep stale handles) or `kill -9` pmxcfs.",
            (ev(f, f"{f.node}: {f.evidence}"),), None,
            (ManualFix(str(f.node), "systemctl restart pve-cluster; "
                                    "systemctl status pve-cluster --no-pager", "fix"),),
            (str(f.node),), weight=25))
    ok_nodes = {f.node for f in down + dead}
    # the write probe's ENOENT on the same node is the same directory missing: rule
    # pmxcfs-node-dir-missing names it (with this fact's evidence), never twice in one check
    probed = {f.node for f in store.named("pmxcfs.write_error") if f.value == "ENOENT"}
    own = [f for f in store.named("pve.own_dir")
           if f.value is False and f.node and f.node not in ok_nodes | probed
           and store.value("pve.read_hung", f.node) is not True]
    if own:
        out += node_dir_faults(ctx, lambda *a: Fault("pve-own-dir-missing", *a),
                               list(dict.fromkeys(str(f.node) for f in own)),
                               own_dir_evidence(own))
    # renamed and rebooted: `pvecm updatecerts` (pveproxy's ExecStartPre) made the new name's
    # directory, empty of guests, while the old name's still holds them (.node_dir)
    for f in store.named("pve.own_dir"):
        if f.value is True and f.node and f.node not in ok_nodes \
                and (old := emptied_from(ctx, f.node)):
            out.append(renamed_fault(ctx, lambda *a: Fault("node-renamed", *a), f.node, old,
                                     (ev(f, f"{f.node}: {f.evidence}"),)))
    return out


#: The storage.cfg a Proxmox VE installer writes on an LVM install (pve-installer
#: Proxmox/Install/StorageConfig.pm; pve-docs pvesm.adoc "Default storage configuration"): the
#: ``local`` dir storage on /var/lib/vz and the ``local-lvm`` thin pool ``pve/data``. A ZFS
#: install writes ``zfspool: local-zfs`` (``rpool/data``) instead, a BTRFS one ``btrfs:
#: local-btrfs``: so it is only right where ``lvs pve/data`` finds the thin pool.
DEFAULT_STORAGE_CFG = ("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n"
                       "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n"
                       "\tcontent rootdir,images\n")
#: Write :data:`DEFAULT_STORAGE_CFG` on one quorate node, only where the installer's LVM thin
#: pool exists and no storage.cfg does (never over one), and show the result. A quoted
#: here-document, one config line per line (typed at a console as read; ``'EOF'``: nothing in
#: it is expanded), writes the same bytes a ``printf`` one-liner did.
WRITE_DEFAULT_STORAGE_CFG = (
    "lvs pve/data && test ! -s /etc/pve/storage.cfg &&\n"
    "cat > /etc/pve/storage.cfg <<'EOF' && cat /etc/pve/storage.cfg\n"
    + DEFAULT_STORAGE_CFG + "EOF")
#: What to do about storage.cfg, in the diagnosis and in vm-config-recovery's stop message.
STORAGE_CFG_FIX = (
    "Put /etc/pve/storage.cfg back before recovering VM configs: every disk of a VM config is "
    "`<storage>:<volume>`, and vm-config-recovery stops at its storage-cfg step without it. "
    "Best, from a copy of the database from before the loss (a config.db.broken-*, a "
    "pverunbook checkpoint): `pverunbook pmxcfs extract <copy> --out DIR`, then copy "
    "DIR/storage.cfg to /etc/pve/storage.cfg on ONE quorate node. Without a copy, write the "
    "installer's default again on one quorate node (the command below: `dir: local` on "
    "/var/lib/vz and `lvmthin: local-lvm` on pve/data, written only where `lvs pve/data` finds "
    "that thin pool; a ZFS install has `zfspool: local-zfs` on rpool/data instead), then add "
    "every other storage with `pvesm add` under its old id (the VMs' disk paths in `ps -eo "
    "args | grep [k]vm` show which). Never invent a storage id: a config naming one that "
    "does not exist cannot start its VM.")


def cluster_files(ctx: Context) -> list[Fault]:
    """storage.cfg, user.cfg or datacenter.cfg missing from /etc/pve (facts ``pve.storage_cfg``,
    ``pve.user_cfg``, ``pve.datacenter_cfg`` of the check's ``cluster-files`` step).

    A deleted config.db comes back empty (pmxcfs.c imports only corosync.conf) and ``pvecm
    updatecerts`` (Cluster/Setup.pm ``updatecerts_and_ssh``) does not write these files. Without
    storage.cfg PVE::Storage knows only the ``local`` dir storage that
    PVE::Storage::Plugin ``parse_config`` adds in memory, so no ``local-lvm:…`` disk resolves
    and vm-config-recovery cannot map a disk. Without user.cfg PVE::AccessControl
    ``userconfig_force_defaults`` keeps only root@pam; without datacenter.cfg the defaults
    apply. Nodes whose /etc/pve cannot be read are left out: their mount is the fault.
    """
    store = ctx.store

    def gone(name: str) -> list[str]:
        return list(dict.fromkeys(str(f.node) for f in store.named(name)
                                  if f.value is False and f.node
                                  and not pve_unreadable(store, f.node)))

    out = []
    storage = gone("pve.storage_cfg")
    if storage:
        # /etc/pve is written on a quorate node only: never name the cut-off one for the fix
        quorate = [n for n in dict.fromkeys([*storage, *ctx.nodes])
                   if store.value("quorum.quorate", n) is True]
        first = quorate[0] if quorate else storage[0]
        out.append(Fault(
            "storage-cfg-missing",
            "/etc/pve/storage.cfg is missing (seen on " + ", ".join(storage) + "): Proxmox "
            "knows no storage but `local`, so no VM disk on `local-lvm` or any other storage "
            "can be resolved", "critical", "high", STORAGE_CFG_FIX,
            tuple(ev(f, f"{f.node}: {f.evidence}") for f in store.named("pve.storage_cfg")
                  if f.node in storage), None,
            (ManualFix(first, WRITE_DEFAULT_STORAGE_CFG, "fix"),), tuple(storage)))
    lost = [(n, f) for n, f in (("user.cfg", "pve.user_cfg"),
                                ("datacenter.cfg", "pve.datacenter_cfg")) if gone(f)]
    if lost:
        nodes = list(dict.fromkeys(n for _, f in lost for n in gone(f)))
        out.append(Fault(
            "cluster-file-missing",
            f"{' and '.join(n for n, _ in lost)} "
            f"{'is' if len(lost) == 1 else 'are'} missing from /etc/pve: "
            + "; ".join({"user.cfg": "users, groups, API tokens and permissions are gone "
                                     "(only root@pam can log in)",
                         "datacenter.cfg": "datacenter options (keyboard, migration network, "
                                           "HA shutdown policy…) are back to their defaults"}[n]
                        for n, _ in lost), "warning", "high",
            "Restore them from a copy of the database from before the loss (`pverunbook pmxcfs "
            "extract <copy> --out DIR`, then copy the file to /etc/pve on ONE quorate node); "
            "without a copy, recreate users and permissions (`pveum`) and the datacenter "
            "options by hand. Nothing regenerates them.",
            tuple(ev(f, f"{f.node}: {f.evidence}") for _, name in lost
                  for f in store.named(name) if f.value is False and f.node in nodes),
            None, (), tuple(nodes)))
    return out


def db_load_failed(ctx: Context) -> list[Fault]:
    """pmxcfs's own log says it could not load config.db on a node (domain notes §4)."""
    store = ctx.store
    bad = [f for f in store.named("db.load_failed") if f.value is True and f.node]
    if not bad:
        return []
    already = {f.node for f in store.named("db.integrity") if f.value == "damaged"}
    names = [str(f.node) for f in bad if f.node not in already]
    if not names:
        return []
    good = [str(f.node) for f in store.named("db.load_failed")
            if f.value is False and f.node and f.node not in already]
    nxt = NextRunbook("cluster-db-reset", {"damaged_node": names[0]}) \
        if len(names) == 1 and good else None
    return [Fault(
        "db-load-failed",
        f"pmxcfs on {', '.join(names)} cannot load its database (its own log says so; "
        "SQLite's integrity_check may still call the file sound)",
        "critical", "high",
        ("Move the damaged database aside on that node and let it resync from "
         f"{', '.join(good)} (backed up first)." if good else
         "No node has a database pmxcfs can load: restore a backup (pmxcfs.adoc 'Recovery'); "
         "never delete config.db everywhere."),
        tuple(ev(f, f"{f.node}: {f.evidence}") for f in bad), nxt, (), tuple(names),
        weight=20)]


def disk_errors(ctx: Context) -> list[Fault]:
    """Kernel I/O errors on a node (the disk under /var/lib/pve-cluster); correctable PCIe
    errors alone are reported as fine (the story's red herring)."""
    store = ctx.store
    out = []
    for f in store.named("disk.io_errors"):
        if not f.node:
            continue
        n = int(num(f.value) or 0)
        if n > 0:
            out.append(Fault(
                "disk-errors", f"the kernel logged {n} I/O error(s) on {f.node}: config.db's "
                "disk may be failing", "warning", "medium",
                "Check the drive (SMART, `dmesg`), back up /var/lib/pve-cluster with "
                "`sqlite3 config.db .backup`, and move the node's load elsewhere.",
                (ev(f, f"{f.node}: {f.evidence}"),), None,
                (ManualFix(f.node, "dmesg -T | grep -iE 'I/O error|medium error' | tail -n 20; "
                                   "smartctl -a /dev/nvme0", "look"),), (f.node,)))
        elif (num(store.value("disk.pcie_correctable", f.node)) or 0) > 0:
            ctx.healthy.append(f"{f.node}: only correctable PCIe errors in the kernel log, no "
                               "I/O errors (the outage's red herring)")
    return out


def certificates_extra(ctx: Context) -> list[Fault]:
    """A node certificate not signed by the cluster CA, the CA missing, pveproxy not active."""
    store = ctx.store
    out = []
    for f in store.named("cert.signed_by_ca"):
        if f.value is False and f.node and not pve_unreadable(store, f.node):
            out.append(Fault(
                "cert-not-ca", f"the node certificate of {f.node} is not signed by the cluster CA",
                "critical", "high",
                f"Issue a new one on {f.node} with `pvecm updatecerts --force`, then restart "
                "pveproxy.", (ev(f, f"{f.node}: {f.evidence}"),),
                NextRunbook("certificate-regeneration", {"force": True}), (), (f.node,)))
    missing_ca = [f for f in store.named("ca.present") if f.value is False and f.node
                  and not pve_unreadable(store, f.node)]
    if missing_ca:
        out.append(Fault(
            "ca-missing", "the cluster CA (/etc/pve/pve-root-ca.pem) is missing", "critical",
            "high", "Run `pvecm updatecerts` on ONE node first (it makes a new CA), then "
                    "`--force` on the others so their certificates are signed by it.",
            tuple(ev(f, f"{f.node}: {f.evidence}") for f in missing_ca),
            NextRunbook("certificate-regeneration", {"force": True}), (),
            tuple(str(f.node) for f in missing_ca)))
    for f in store.named("pveproxy.active"):
        if f.value is False and f.node:
            out.append(Fault(
                "pveproxy-down", f"pveproxy is not running on {f.node}: the web UI (port 8006) "
                "is down there", "critical", "high",
                "Read why, then restart it (its ExecStartPre runs `pvecm updatecerts --silent`).",
                (ev(f, f"{f.node}: {f.evidence}"),), None,
                (ManualFix(f.node, "journalctl -b -u pveproxy --no-pager | tail -n 30; "
                                   "systemctl restart pveproxy", "fix"),), (f.node,)))
    return out


def two_node_large(ctx: Context) -> list[Fault]:
    """``two_node: 1`` in a corosync.conf listing three or more nodes (votequorum(5))."""
    store = ctx.store
    bad = [f for f in store.named("conf.two_node") if f.value is True and f.node
           and (num(store.value("conf.nodes", f.node)) or 0) >= 3]
    if not bad:
        return []
    return [Fault(
        "two-node-large",
        f"`two_node: 1` is set in a cluster of "
        f"{int(num(store.value('conf.nodes', bad[0].node)) or 0)} nodes: it belongs to two-node "
        "clusters only", "warning", "high",
        "Remove it through /etc/pve/corosync.conf (edit a copy, bump config_version, move it "
        "over the original) on ONE quorate node; pmxcfs copies it to every node.",
        tuple(ev(f, f"{f.node}: {f.evidence}") for f in bad), None,
        (ManualFix(str(bad[0].node),
                   "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.new && "
                   "sed -i '/two_node/d' /etc/pve/corosync.conf.new && "
                   "editor /etc/pve/corosync.conf.new  # bump totem.config_version, then: "
                   "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf", "fix"),),
        tuple(str(f.node) for f in bad))]


def ha_fence_risk(ctx: Context) -> list[Fault]:
    """Active HA services on a node without quorum: its watchdog resets it.

    pve-ha-manager LRM.pm: without quorum the LRM cannot renew its agent lock and goes to
    ``lost_agent_lock``, where the watchdog is no longer updated (softdog, 60 s); stopping
    pve-ha-lrm there does not give up the watchdog while services run ("got shutdown request
    in state 'lost_agent_lock'"). Maintenance mode and disarm are CRM commands written to
    ``/etc/pve/ha/crm_commands`` (Config.pm ``queue_crm_commands``), which a node without quorum
    cannot write. So the only fix is quorum back, and nothing that costs more quorum before it.
    """
    store = ctx.store
    out = []
    for f in store.named("ha.active_here"):
        if f.node and str(f.value).strip() and store.value("quorum.quorate", f.node) is False:
            out.append(Fault(
                "ha-fence-risk",
                f"{f.node} runs HA services ({f.value}) without quorum: its HA agent lock is "
                "lost and its watchdog resets the node unless quorum returns within 60 s",
                "critical", "high",
                "Bring quorum back first (the network): this node can neither enter maintenance "
                "mode nor disarm HA without quorum (both are written to /etc/pve), and stopping "
                "pve-ha-lrm does not release the watchdog while services run. Do nothing that "
                "costs more quorum until then. On a cluster where every node is quorate, "
                f"`ha-manager crm-command node-maintenance enable {f.node}` (or, from PVE 9.1, "
                "`ha-manager crm-command disarm-ha freeze`) before risky work prevents this.",
                (ev(f, f"{f.node}: {f.evidence}"),), NextRunbook("network-triage", {}), (),
                (f.node,), weight=50))
    return out


def ha_disarmed(ctx: Context) -> list[Fault]:
    """HA disarmed cluster-wide (pve-ha-manager 5.1.3+, ``ha-manager crm-command disarm-ha``):
    watchdogs released, so no node is fenced and no service recovered until ``arm-ha``.
    Right during maintenance; after the outage it is the step most easily forgotten
    (src/PVE/API2/HA/Status.pm ``disarm-ha``/``arm-ha``, Manager.pm)."""
    seen = [f for f in ctx.store.named("ha.armed_state")
            if f.node and str(f.value) in ("disarmed", "disarming")]
    if not seen:
        return []
    modes = {str(f.value) for f in ctx.store.named("ha.resource_mode")}
    mode = f" (resource mode {', '.join(sorted(modes))})" if modes else ""
    state = "being disarmed" if all(str(f.value) == "disarming" for f in seen) else "disarmed"
    node = seen[0].node or ""
    return [Fault(
        "ha-disarmed",
        f"HA is {state} cluster-wide{mode}: no node is fenced and no HA service is recovered "
        "or moved until HA is armed again",
        "warning", "high",
        "Keep it disarmed while you work on the cluster. When the work is done and every node "
        "is quorate, arm it again and check that `ha-manager status` says `fencing armed`.",
        tuple(ev(f, f"{f.node}: {f.evidence}") for f in seen[:3]), None,
        (ManualFix(node, "ha-manager crm-command arm-ha && sleep 20 && ha-manager status", "fix"),),
        tuple(sorted({f.node for f in seen if f.node})))]


def clock_skew(ctx: Context) -> list[Fault]:
    """Nodes whose clocks differ by more than :data:`SKEW_S` when asked at the same moment."""
    clocks = [(f, int(num(f.value) or 0)) for f in ctx.store.named("clock.epoch") if f.node]
    if len(clocks) < 2:
        return []
    lo = min(v for _, v in clocks)
    hi = max(v for _, v in clocks)
    if hi - lo <= SKEW_S:
        ctx.healthy.append(f"clocks agree within {hi - lo} s")
        return []
    median = sorted(v for _, v in clocks)[len(clocks) // 2]
    off = [f for f, v in clocks if abs(v - median) > SKEW_S]
    return [Fault(
        "clock-skew", f"the clocks of the nodes differ by {hi - lo} s "
        f"({', '.join(f'{f.node} {v - median:+d} s' for f, v in clocks if f in off)})",
        "warning", "high",
        "Check time sync on those nodes (chrony is Proxmox's default) and let it step the clock.",
        tuple(ev(f, f"{f.node}: {f.value}") for f, _ in clocks), None,
        tuple(ManualFix(str(f.node), "chronyc tracking; systemctl restart chrony; "
                                     "chronyc makestep", "fix") for f in off),
        tuple(str(f.node) for f in off))]
