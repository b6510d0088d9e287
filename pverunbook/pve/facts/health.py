"""Fact rules of the cluster health check: what one node's evidence says about the faults an
operator meets next to a corosync outage (VMs without configs, certificates, /etc/pve's mount,
pmxcfs's own log, corosync.conf's quorum options, HA, the clock, disk errors).

Each rule reads one node's output of one step of ``runbooks/cluster-health-check.toml``.
Sources, per rule: qemu-server (``-id <vmid>`` on the kvm command line, domain notes §9),
pmxcfs database.c / pmxcfs.c log strings (domain notes §4), votequorum(5) and Corosync.pm
``create_conf`` (§3), pvecm updatecerts (§5), ha-manager.adoc (§7), fuse(4) ``ENOTCONN``.
"""

from __future__ import annotations

import re

from pverunbook.pve.corosync_conf.nodelist import nodelist_names
from pverunbook.pve.facts.model import Fact, Observation
from pverunbook.pve.outputs.pmxcfs import db_load

_KVM_ID = re.compile(r"^\s*(\d+)\s+\S*(?:kvm|qemu-system-\S+)\s(?:.*?\s)?-id\s+(\d+)\b", re.M)
_CONF_DIR = re.compile(r"^/etc/pve/nodes/([^/\s]+)/(qemu-server|lxc)/?:\s*$")
_CONF = re.compile(r"^(\d+)\.conf$")


def _section(text: str, name: str) -> str | None:
    """The lines after ``### name`` up to the next ``### `` marker (None when absent)."""
    out: list[str] = []
    inside = False
    found = False
    for line in text.splitlines():
        if line.startswith("### "):
            inside = line[4:].strip().split()[0] == name if line[4:].strip() else False
            found = found or inside
            continue
        if inside:
            out.append(line)
    return "\n".join(out) if found else None


def facts_vms(obs: Observation) -> list[Fact]:
    """``pgrep -a kvm`` (VMs running here) and ``ls -1 /etc/pve/nodes/*/qemu-server/
    /etc/pve/nodes/*/lxc/`` (where the cluster keeps each guest's config, as this node sees
    /etc/pve).

    ``vm.running`` = the VMIDs running on this node (space separated, sorted); ``vm.config_node``
    (peer = ``vm<id>``) = the node whose directory holds ``qemu-server/<id>.conf``;
    ``ct.config_node`` (peer = ``ct<id>``) the same for a container's ``lxc/<id>.conf``;
    ``ct.dirs_listed`` = the node directories whose ``lxc/`` the listing showed (space
    separated: an older check listed only ``qemu-server/``, and a directory not listed says
    nothing about its containers). A kvm process carries its VMID as ``-id <vmid>``
    (qemu-server ``config_to_command``, domain notes §9).
    """
    text = obs.seen
    running = sorted({int(m.group(2)) for m in _KVM_ID.finditer(_section(text, "kvm") or "")})
    out = [Fact("vm.running", " ".join(str(i) for i in running), obs.node,
                evidence=f"{len(running)} kvm process(es): "
                + (", ".join(str(i) for i in running) or "none"))]
    listing = _section(text, "configs")
    if listing is None:
        return out
    if "Transport endpoint is not connected" in listing or "timed out" in listing or \
            (_section(text, "pve") or "").strip() == "/etc/pve not mounted":
        # not mounted: the listing is empty because pmxcfs is not there, not because the
        # configs are gone (the step's last command says which)
        out.append(Fact("vm.configs_readable", False, obs.node,
                        evidence=obs.line_with("Transport endpoint") or "listing failed"))
        return out
    where: str | None = None
    kind = "qemu-server"
    count = 0
    lxc_dirs: list[str] = []
    for line in listing.splitlines():
        line = line.strip()
        if m := _CONF_DIR.match(line):
            where, kind = m.group(1), m.group(2)
            if kind == "lxc":
                lxc_dirs.append(where)
            continue
        if where and (c := _CONF.match(line)):
            if kind == "lxc":
                out.append(Fact("ct.config_node", where, obs.node, f"ct{c.group(1)}",
                                evidence=f"/etc/pve/nodes/{where}/lxc/{line}"))
                continue
            count += 1
            out.append(Fact("vm.config_node", where, obs.node, f"vm{c.group(1)}",
                            evidence=f"/etc/pve/nodes/{where}/qemu-server/{line}"))
    out.append(Fact("vm.configs_readable", True, obs.node, evidence=f"{count} config(s) listed"))
    if lxc_dirs:
        out.append(Fact("ct.dirs_listed", " ".join(lxc_dirs), obs.node,
                        evidence="ls /etc/pve/nodes/*/lxc/: " + ", ".join(lxc_dirs)))
    return out


def facts_pve_mount(obs: Observation) -> list[Fact]:
    """/etc/pve's state on this node: mounted (pmxcfs's FUSE mount in ``mount``), hung (exit
    124 of ``timeout 5 ls``), a dead mount (``Transport endpoint is not connected``: pmxcfs was
    killed and left its FUSE mount behind, domain notes §8 d), what ``/etc/pve/nodes`` lists
    (``pve.node_dirs``, space-separated, when ``ls`` exits 0) and whether this node's own
    ``nodes/<node>`` directory exists (``pvecm updatecerts`` creates it, §5)."""
    text = obs.seen
    out: list[Fact] = []
    mount = _section(text, "mount")
    if mount is not None:
        mounted = bool(re.search(r"\son /etc/pve type fuse", mount))
        out.append(Fact("pve.mounted", mounted, obs.node,
                        evidence=mount.strip().splitlines()[0] if mounted and mount.strip()
                        else "no fuse mount on /etc/pve"))
    ls = _section(text, "ls")
    if ls is not None:
        m = re.search(r"^exit (\d+)$", ls, re.M)
        code = int(m.group(1)) if m else None
        if "Transport endpoint is not connected" in ls:
            out.append(Fact("pve.enotconn", True, obs.node,
                            evidence=obs.line_with("Transport endpoint")))
        elif code == 124:
            out.append(Fact("pve.read_hung", True, obs.node,
                            evidence="timeout 5 ls /etc/pve/nodes: exit 124"))
        elif code is not None:
            out.append(Fact("pve.read_hung", False, obs.node, evidence=f"exit {code}"))
        if code == 0:
            # what /etc/pve/nodes holds: a renamed node's old directory is one no member has
            names = [ln.strip() for ln in ls.splitlines()
                     if ln.strip() and not re.fullmatch(r"exit \d+", ln.strip())]
            out.append(Fact("pve.node_dirs", " ".join(names), obs.node,
                            evidence="ls /etc/pve/nodes: " + (" ".join(names) or "empty")))
    # the answer is the section's first line: stderr (``ls: cannot access …`` of the step's
    # ``ls``) follows all of stdout in :attr:`Observation.seen`, so it lands in this last
    # section (seen on the simulator's wiped clusters: the missing directory went unreported)
    own = (_section(text, "own-dir") or "").strip().split("\n", 1)[0].strip()
    if own in ("yes", "no"):
        out.append(Fact("pve.own_dir", own == "yes", obs.node,
                        evidence=f"/etc/pve/nodes/{obs.node}: "
                        + ("present" if own == "yes" else "missing")))
    return out


#: Cluster-wide files of /etc/pve a wiped database loses and nothing regenerates (pmxcfs.c
#: imports only corosync.conf into a new database; ``pvecm updatecerts``, Cluster/Setup.pm
#: ``updatecerts_and_ssh``, writes the node directories, keys, certificates and vzdump.cron,
#: none of these), each with the fact that says whether it is there.
CLUSTER_FILES = {"storage.cfg": "pve.storage_cfg", "user.cfg": "pve.user_cfg",
                 "datacenter.cfg": "pve.datacenter_cfg"}
_FILE_TEST = re.compile(r"^(\S+) (\d+)$")


def facts_cluster_files(obs: Observation) -> list[Fact]:
    """``timeout 5 test -s /etc/pve/<file>; echo "<file> $?"`` per file of
    :data:`CLUSTER_FILES`: true when the file exists and is not empty (exit 0), false when it
    is missing or empty (exit 1). Any other exit (124: /etc/pve hung, 125+: timeout itself
    failed) says nothing about the file and gives no fact; so does a line for another file.

    ``storage.cfg`` is what vm-config-recovery maps disks through (PVE::Storage reads it with
    ``cfs_read_file('storage.cfg')``); without it Proxmox knows only the ``local`` dir storage
    that PVE::Storage::Plugin ``parse_config`` adds in memory, not ``local-lvm`` or any other.
    """
    out: list[Fact] = []
    for line in obs.text.splitlines():
        m = _FILE_TEST.match(line.strip())
        if not m or m.group(1) not in CLUSTER_FILES or m.group(2) not in ("0", "1"):
            continue
        name, there = m.group(1), m.group(2) == "0"
        out.append(Fact(CLUSTER_FILES[name], there, obs.node,
                        evidence=f"/etc/pve/{name}: "
                        + ("present" if there else "missing or empty")))
    return out


def facts_pmxcfs_journal(obs: Observation) -> list[Fact]:
    """``journalctl -u pve-cluster -b``: did pmxcfs fail to load its database on this node?

    ``db.load_failed`` is true when pmxcfs logged a load failure (domain notes §4: its loader
    rejects trees SQLite calls sound, so its log is the judge, not only ``PRAGMA
    integrity_check``); ``db.io_error`` when SQLite reported an I/O error.

    Only the last pmxcfs process's lines count (:func:`pverunbook.pve.outputs.pmxcfs.db_load`,
    shared with the corosync journal's ``pmxcfs_log`` facts): ``-b`` keeps the lines of an
    earlier start whose load failed, and once the database was replaced the pmxcfs running now
    loaded it. Seen on the lab: a node recovered from a damaged database was still blamed.
    """
    load = db_load(obs.seen)
    out = [Fact("db.load_failed", load.failed, obs.node,
                evidence=(load.bad[-1][1] if load.bad else f"{load.lines} pve-cluster log "
                          "lines, no load failure"))]
    if load.io_error:
        out.append(Fact("db.io_error", True, obs.node, evidence=load.io[-1][1]))
    return out


def facts_cluster_conf(obs: Observation) -> list[Fact]:
    """The local ``/etc/corosync/corosync.conf`` (never hangs, unlike /etc/pve): how many
    nodes the nodelist has and their names (space-separated, file order: compared with the
    inventory), ``two_node``, a quorum device, the configured ``token`` and a
    ``token_retransmit`` set by hand."""
    text = obs.text
    out: list[Fact] = []
    nodes = len(re.findall(r"^\s*node\s*\{", text, re.M))
    if nodes:
        out.append(Fact("conf.nodes", nodes, obs.node, evidence=f"{nodes} node entries"))
    names = nodelist_names(text)
    if names:
        out.append(Fact("conf.node_names", " ".join(names), obs.node,
                        evidence="nodelist: " + ", ".join(f"name: {n}" for n in names)))
    m = re.search(r"^\s*two_node\s*:\s*(\d+)", text, re.M)
    out.append(Fact("conf.two_node", bool(m and m.group(1) == "1"), obs.node,
                    evidence=m.group(0).strip() if m else "no two_node"))
    out.append(Fact("conf.qdevice", bool(re.search(r"^\s*device\s*\{", text, re.M)), obs.node,
                    evidence="quorum { device { … } }" if re.search(r"^\s*device\s*\{", text,
                                                                     re.M) else "no device"))
    t = re.search(r"^\s*token\s*:\s*(\d+)", text, re.M)
    if t:
        out.append(Fact("conf.token_ms", int(t.group(1)), obs.node, evidence=t.group(0).strip()))
    r = re.search(r"^\s*token_retransmit\s*:\s*(\d+)", text, re.M)
    if r:
        # set by hand it breaks token_retransmit = token / (retransmits + 0.2); corosync-tuning
        # removes it (runbooks/corosync-tuning.toml), so with it the tuning is not in place
        out.append(Fact("conf.token_retransmit_ms", int(r.group(1)), obs.node,
                        evidence=r.group(0).strip()))
    return out


def facts_runtime(obs: Observation) -> list[Fact]:
    """``corosync-cmapctl -g runtime.config.totem.token``: the token corosync really uses."""
    m = re.search(r"runtime\.config\.totem\.token\s*\(\w+\)\s*=\s*(\d+)", obs.text)
    if not m:
        return []
    return [Fact("corosync.token_ms", int(m.group(1)), obs.node, evidence=m.group(0))]


_ISSUER = re.compile(r"^issuer\s*=\s*(.+)$", re.M)
_SUBJECT = re.compile(r"^subject\s*=\s*(.+)$", re.M)


def facts_cert_chain(obs: Observation) -> list[Fact]:
    """The node certificate against the cluster CA, and whether pveproxy serves.

    Sections: ``### node-cert`` (``openssl x509 -noout -enddate -issuer``), ``### ca``
    (``openssl x509 -noout -subject`` of ``pve-root-ca.pem``) and ``### pveproxy``
    (``systemctl is-active pveproxy``). ``cert.signed_by_ca`` compares the issuer with the CA's
    subject (pvecm updatecerts signs ``pve-ssl.pem`` with ``pve-root-ca``, domain notes §5).
    """
    from pverunbook.pve.facts.node_state import facts_cert

    out: list[Fact] = []
    node_cert = _section(obs.seen, "node-cert")
    if node_cert is not None:
        out += facts_cert(Observation(obs.node, node_cert, obs.exit_status))
    ca = _section(obs.seen, "ca")
    ca_subject = None
    if ca is not None:
        if re.search(r"No such file|Could not open|[Uu]nable to load", ca):
            out.append(Fact("ca.present", False, obs.node,
                            evidence=next((ln.strip() for ln in ca.splitlines() if ln.strip()),
                                          "")))
        elif m := _SUBJECT.search(ca):
            ca_subject = m.group(1).strip()
            out.append(Fact("ca.present", True, obs.node, evidence=m.group(0).strip()))
    issuer = _ISSUER.search(node_cert or "")
    if issuer and ca_subject is not None:
        out.append(Fact("cert.signed_by_ca", issuer.group(1).strip() == ca_subject, obs.node,
                        evidence=issuer.group(0).strip()))
    proxy = _section(obs.seen, "pveproxy")
    if proxy is not None and proxy.strip():
        state = proxy.strip().splitlines()[0].strip()
        out.append(Fact("pveproxy.active", state == "active", obs.node,
                        evidence=f"pveproxy: {state}"))
    return out


def facts_clock(obs: Observation) -> list[Fact]:
    """``date -u +%s; date +%z``: this node's clock (epoch seconds) when the step ran, and its
    UTC offset, which turns the journal's year- and zone-less stamps into instants
    (:mod:`pverunbook.pve.journal_time`)."""
    from pverunbook.pve.journal_time import utc_offset_s

    m = re.search(r"^\s*(\d{9,11})\s*$", obs.text, re.M)
    if not m:
        return []
    out = [Fact("clock.epoch", int(m.group(1)), obs.node, evidence=m.group(1))]
    z = re.search(r"^\s*([+-]\d{2}:?\d{2})\s*$", obs.text, re.M)
    offset = utc_offset_s(z.group(1)) if z else None
    if z and offset is not None:
        out.append(Fact("clock.utc_offset_s", offset, obs.node, evidence=z.group(1)))
    return out


_HA_SERVICE = re.compile(r"^service\s+(\S+)\s+\((\S+?),\s*([\w-]+)\)", re.M)
#: pve-ha-manager 5.1.3+ (PVE 9.1): ``fencing <armed-state>[, resource mode: <mode>] (...)``
#: (src/PVE/API2/HA/Status.pm ``status``, printed by ha_manager.pm as "$type $status")
_HA_FENCING = re.compile(r"^fencing\s+(armed|standby|disarming|disarmed)\b"
                         r"(?:,\s*resource mode:\s*(\w+))?.*$", re.M)


def facts_ha(obs: Observation) -> list[Fact]:
    """``ha-manager status``: HA resources that are active, by node (ha-manager.adoc: without
    quorum a node with active HA services is fenced by its watchdog after 60 s)."""
    out: list[Fact] = []
    by_node: dict[str, list[str]] = {}
    for m in _HA_SERVICE.finditer(obs.text):
        if m.group(3) not in ("stopped", "disabled", "ignored", "error"):
            by_node.setdefault(m.group(2), []).append(m.group(1))
    out.append(Fact("ha.active_here", " ".join(by_node.get(obs.node, [])), obs.node,
                    evidence=next((m.group(0) for m in _HA_SERVICE.finditer(obs.text)
                                   if m.group(2) == obs.node), "no HA service on this node")))
    fencing = _HA_FENCING.search(obs.text)
    if fencing:
        # the CRM's view (manager_status), the same on every node that can read /etc/pve
        out.append(Fact("ha.armed_state", fencing.group(1), obs.node, evidence=fencing.group(0)))
        if fencing.group(2):
            out.append(Fact("ha.resource_mode", fencing.group(2), obs.node,
                            evidence=fencing.group(0)))
    return out


_DISK_ERR = re.compile(r"I/O error|EXT4-fs error|XFS \(\S+\): .*(?:error|corrupt)|"
                       r"Buffer I/O error|critical medium error|blk_update_request|"
                       r"Remounting filesystem read-only", re.I)
_CORRECTABLE = re.compile(r"PCIe Bus Error: severity=Correctable")


def facts_disk(obs: Observation) -> list[Fact]:
    """Kernel messages (``dmesg``) about the disk under /var/lib/pve-cluster: real I/O errors
    versus correctable PCIe errors, which the story showed are not the fault (story.md
    "Initial Hardware Suspicion")."""
    lines = [ln.strip() for ln in obs.seen.splitlines() if ln.strip()]
    errors = [ln for ln in lines if _DISK_ERR.search(ln)]
    corr = [ln for ln in lines if _CORRECTABLE.search(ln)]
    out = [Fact("disk.io_errors", len(errors), obs.node,
                evidence=errors[-1] if errors else "no I/O errors in the kernel log")]
    if corr:
        out.append(Fact("disk.pcie_correctable", len(corr), obs.node, evidence=corr[-1]))
    return out


#: One line per rollback timer the check finds still armed (cluster-health-check.toml,
#: step ``rollbacks``): ``TIMER <dir> <armed|firing> deadline=<epoch> now=<epoch>
#: process=<alive|gone>``.
_TIMER = re.compile(r"^TIMER (\S+) (armed|firing) deadline=(\d*) now=(\d+) "
                    r"process=(alive|gone)\s*$", re.M)


#: rollback-settle's first step, once per node: whether this node has the timer of the
#: checkpoint asked for (``rollback timer of CP on this node`` / ``no rollback timer of CP on
#: this node``). Its next step stops the run when no node has it (a wrong id).
_SETTLE = re.compile(r"^(no )?rollback timer of \S+ on this node\s*$", re.M)
#: The same step's lines about the timer it found: ``state: <state file>``, the ``armed`` file
#: (``deadline=<epoch>``), ``now: <epoch>`` (the node's clock) and ``timer process: alive|gone``.
_SETTLE_STATE = re.compile(r"^state: (\S+)\s*$", re.M)
_SETTLE_PROCESS = re.compile(r"^timer process: (alive|gone)\s*$", re.M)
_SETTLE_DEADLINE = re.compile(r"^deadline=(\d+)\s*$", re.M)
_SETTLE_NOW = re.compile(r"^now: (\d+)\s*$", re.M)


def _settle_timer(obs: Observation, here: bool) -> list[Fact]:
    """``rollback.timer``: what rollback-settle's first step found of this node's timer —
    ``counting`` (armed, its process waits: it fires by itself), ``gone`` (armed, its process
    gone: stale), ``firing`` (restoring now), ``interrupted`` (firing, its process gone),
    ``fired`` (state done), ``failed``, ``committed``, ``none`` (no timer of that checkpoint
    here), else the state file's word. ``rollback.timer_seconds_left`` for a counting one."""
    if not here:
        return [Fact("rollback.timer", "none", obs.node, evidence="no timer of this checkpoint")]
    st = _SETTLE_STATE.search(obs.seen)
    proc = _SETTLE_PROCESS.search(obs.seen)
    state = st.group(1) if st else "missing"
    alive = proc is not None and proc.group(1) == "alive"
    word = {"armed": "counting" if alive else "gone",
            "firing": "firing" if alive else "interrupted",
            "done": "fired"}.get(state, state)
    evidence = "; ".join(m.group(0).strip() for m in (st, proc) if m is not None)
    out = [Fact("rollback.timer", word, obs.node, evidence=evidence)]
    deadline, now = _SETTLE_DEADLINE.search(obs.seen), _SETTLE_NOW.search(obs.seen)
    if word == "counting" and deadline and now:
        out.append(Fact("rollback.timer_seconds_left", int(deadline.group(1)) - int(now.group(1)),
                        obs.node, evidence=f"deadline {deadline.group(1)}, now {now.group(1)}"))
    return out


def facts_rollbacks(obs: Observation) -> list[Fact]:
    """pverunbook's own rollback timers on the node (engine/rollback_script.py).

    ``rollback.alive`` per timer directory (``peer`` = the directory under
    /var/lib/pverunbook/rollback): True while its ``sleep`` (setsid) or systemd timer waits,
    False for a timer whose ``state`` still says armed but whose process is gone (the node
    rebooted, someone killed it); ``rollback.seconds_left`` = deadline - now (negative: it
    should have fired); ``rollback.firing``: it fired and is restoring now.
    ``rollback.failed``: the node's rollback log has ``ROLLBACK FAILED``.
    ``rollback.here``: rollback-settle found this node's timer of its checkpoint (or not);
    ``rollback.timer``: in which state (:func:`_settle_timer`).
    """
    out: list[Fact] = []
    for m in _TIMER.finditer(obs.seen):
        tag, state, deadline, now, proc = m.groups()
        out.append(Fact("rollback.alive", proc == "alive", obs.node, tag, evidence=m.group(0)))
        if state == "firing":  # its deadline came: it is putting the copies back now
            out.append(Fact("rollback.firing", True, obs.node, tag, evidence=m.group(0)))
        if deadline:
            out.append(Fact("rollback.seconds_left", int(deadline) - int(now), obs.node, tag,
                            evidence=f"state {state}, deadline {deadline}, now {now}"))
    for m in _SETTLE.finditer(obs.seen):
        out.append(Fact("rollback.here", m.group(1) is None, obs.node, evidence=m.group(0)))
        out += _settle_timer(obs, m.group(1) is None)
    failed = [ln for ln in obs.seen.splitlines() if "ROLLBACK FAILED" in ln]
    if failed:
        out.append(Fact("rollback.failed", True, obs.node, evidence=failed[-1].strip()))
    return out


#: verdict name → rule, merged into :data:`pverunbook.pve.facts.FACT_RULES`.
HEALTH_FACT_RULES = {
    "vms": facts_vms,
    "pve-mount": facts_pve_mount,
    "cluster-files": facts_cluster_files,
    "pmxcfs-journal": facts_pmxcfs_journal,
    "cluster-conf": facts_cluster_conf,
    "corosync-runtime": facts_runtime,
    "cert-chain": facts_cert_chain,
    "clock": facts_clock,
    "ha": facts_ha,
    "disk": facts_disk,
    "rollbacks": facts_rollbacks,
}
