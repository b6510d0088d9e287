"""One simulated host: its daemons' runtime state, units, journal, processes and quorum view.

:class:`SimNode` is a Proxmox VE node of the rehearsal cluster (or, with ``role="qnetd"``, the
external QNetd host). What happens *between* nodes (membership, quorum, pmxcfs sync) is
:class:`pverunbook.sim.world.World`'s.
"""

from __future__ import annotations

import bisect
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.sim import etc_hosts
from pverunbook.sim.memdb import MemDB
from pverunbook.sim.nft import Ruleset
from pverunbook.sim.scenarios import link_local

if TYPE_CHECKING:
    from pverunbook.sim.world import World

__all__ = ["QNETD_UNITS", "UNIT_INFO", "CorosyncRuntime", "JournalEntry", "PmxcfsProc", "Proc",
           "SimNode", "Unit", "Vm"]


@dataclass(order=True)
class JournalEntry:
    t: float
    seq: int
    unit: str = field(compare=False)
    ident: str = field(compare=False)
    pid: int = field(compare=False)
    msg: str = field(compare=False)


@dataclass
class Unit:
    name: str
    description: str
    state: str = "active"  # active | inactive | failed
    since: float = 0.0
    pid: int = 0
    result: str = "success"
    enabled: bool = True


UNIT_INFO: dict[str, tuple[str, str]] = {
    "corosync": ("Corosync Cluster Engine", "/usr/sbin/corosync -f"),
    "pve-cluster": ("The Proxmox VE cluster filesystem", "/usr/bin/pmxcfs"),
    "pveproxy": ("PVE API Proxy Server", "pveproxy"),
    "pvedaemon": ("PVE API Daemon", "pvedaemon"),
    "pvestatd": ("PVE Status Daemon", "pvestatd"),
    "pve-ha-lrm": ("PVE Local HA Resource Manager Daemon", "pve-ha-lrm"),
    "pve-ha-crm": ("PVE Cluster HA Resource Manager Daemon", "pve-ha-crm"),
    "spiceproxy": ("PVE SPICE Proxy Server", "spiceproxy"),
    "pve-firewall": ("Proxmox VE firewall", "pve-firewall"),
    "ssh": ("OpenBSD Secure Shell server", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 "
            "startups"),
    "cron": ("Regular background program processing daemon", "/usr/sbin/cron -f"),
    "chrony": ("chrony, an NTP client/server", "/usr/sbin/chronyd -F 1"),
    "networking": ("Network initialization", ""),
    "corosync-qdevice": ("Corosync Qdevice daemon", "/usr/sbin/corosync-qdevice -f"),
    "corosync-qnetd": ("Corosync Qdevice Network daemon", "/usr/bin/corosync-qnetd -f"),
}
#: Units of a host that is not a Proxmox VE node (the QNetd host: plain Debian + qnetd).
QNETD_UNITS = ("ssh", "cron", "chrony", "networking", "corosync-qnetd")


@dataclass
class CorosyncRuntime:
    """What a running corosync loaded (cmap), plus votequorum's live state."""

    running: bool = False
    pid: int = 0
    text: str = ""
    token: int = 3000
    consensus: int = 3600
    config_version: int = 0
    transport: str = "knet"
    secauth: bool = True
    cluster_name: str = ""
    nodes: list[tuple[str, int, str]] = field(default_factory=list)  # (name, nodeid, addr)
    two_node: bool = False
    qdevice_votes: int = 0
    qdevice_host: str = ""
    #: votequorum's error when the quorum section conflicts with the device (``lms``, ``atb``,
    #: ``allow_downscale``, a low ``expected_votes``, two_node): "disabling quorum device
    #: operations", so corosync-qdevice cannot register and the QDevice casts no vote
    qdevice_blocked: str = ""
    expected_override: int | None = None
    members: frozenset[int] = frozenset()
    ring: str = ""
    quorate: bool = False
    authkey: bytes = b""
    pending_log_t: float | None = None
    #: When this node's last membership change was logged: a later change is logged after
    #: it. A membership lost at t is logged at t + consensus (the token and consensus
    #: time corosync waits first); a rejoin decided before then (the route fixed within
    #: those seconds) was stamped before the loss, so the journal ended on 'node lost
    #: quorum' while the node was quorate, and the health check called pmxcfs unrecovered.
    log_floor: float = 0.0
    #: cmap.c ``cmap_first_sync``: the config_version check at the first sync with others
    first_sync: bool = True
    #: corosync ended without sending its leave message (SIGKILL, a crash): its peers lose
    #: the token and name it in "Failed to receive the leave message" (totemsrp.c); reset
    #: when it starts again
    vanished: bool = False
    #: when it vanished (simulated time): its peers keep it in their membership, quorate, until
    #: the token and then consensus have timed out (World.update_membership)
    vanished_at: float = 0.0
    #: a membership change this node's totem is still forming (the token lost, consensus not
    #: reached): the moment the new membership forms, None when totem is operational. Nothing
    #: is delivered meanwhile, so a write into /etc/pve waits (pmxcfs's CPG message)
    forming_until: float | None = None


@dataclass
class PmxcfsProc:
    state: str = "stopped"  # stopped | running
    local_mode: bool = False
    managed: bool = False  # started by systemd (pve-cluster.service)
    mount: str = "none"  # none | mounted | stale
    pid: int = 0
    memdb: MemDB | None = None
    db_ino: int | None = None
    synced_members: frozenset[int] = frozenset()
    #: the membership whose DFSM sync has started and not finished ("starting data
    #: syncronisation" logged, no "all data is up to date" yet)
    syncing: frozenset[int] = frozenset()


@dataclass
class Vm:
    vmid: int
    pid: int
    argv: list[str]
    conf: dict[str, str]
    started: float


@dataclass
class Proc:
    pid: int
    argv: list[str]
    tty: str = "?"
    stat: str = "S"
    started: float = 0.0


class SimNode:
    """One simulated Proxmox VE node: its directory, daemons, journal and processes."""

    def __init__(self, world: World, name: str, nodeid: int, addr: str, nic: str, mac: str,
                 hardware: str, root: Path, role: str = "pve") -> None:
        self.world = world
        #: "pve" for a cluster node, "qnetd" for the external QNetd host (no PVE programs)
        self.role = role
        self.name = name
        self.nodeid = nodeid
        self.addr = addr
        self.nic = nic
        self.mac = mac
        self.hardware = hardware
        self.root = root
        self.journal: list[JournalEntry] = []
        self.units: dict[str, Unit] = {}
        self.corosync = CorosyncRuntime()
        self.pmxcfs = PmxcfsProc()
        self.vms: dict[int, Vm] = {}
        self.procs: dict[int, Proc] = {}
        self.next_pid = 40000 + 1000 * nodeid
        #: PIDs follow a per-node seeded sequence, so the same commands give the same PIDs
        self._pid_rng = random.Random(world.seed * 31 + zlib.crc32(name.encode()))
        self.boot_time = 0.0
        self.pveproxy_cert_ok = True
        #: destinations (peer ring addresses) this node routes through the gateway
        self.host_routes: set[str] = set()
        #: what ``ip route`` prints after ``dev vmbr0`` for such a route (``proto static
        #: metric 100``), as it was added; none for a route with the defaults
        self.route_attrs: dict[str, str] = {}
        #: nftables rules added at run time (``nft add ...``), kept across sessions
        self.nft = Ruleset()
        self.link_local = link_local(mac)
        #: corosync-qdevice is configured on this node (``pvecm qdevice setup``)
        self.qdevice_configured = False
        from pverunbook.sim.fs import NodeFS

        self.fs = NodeFS(self)

    # -- helpers ---------------------------------------------------------------------------
    def host(self, vpath: str) -> Path:
        return self.root / vpath.lstrip("/")

    def alloc_pid(self) -> int:
        self.next_pid += self._pid_rng.randint(1, 7)
        return self.next_pid

    def log(self, unit: str, ident: str, pid: int, msg: str, t: float | None = None) -> None:
        when = self.world.clock.now() if t is None else t
        self.world.seq += 1
        bisect.insort(self.journal, JournalEntry(when, self.world.seq, unit, ident, pid, msg))

    def corosync_log(self, msg: str, t: float) -> None:
        self.log("corosync", "corosync", self.corosync.pid, msg, t)

    def cfs_log(self, msg: str, t: float | None = None) -> None:
        self.log("pve-cluster", "pmxcfs", self.pmxcfs.pid, msg, t)

    def peers(self) -> list[SimNode]:
        return [n for n in self.world.nodes.values() if n is not self]

    @property
    def hostname_resolves(self) -> bool:
        """pmxcfs needs the node name to resolve to a non-loopback address (/etc/hosts)."""
        try:
            hosts = self.host("/etc/hosts").read_text()
        except OSError:
            return False
        return etc_hosts.node_ip(hosts, self.name) is not None

    # -- quorum ----------------------------------------------------------------------------
    def expected_votes(self) -> int:
        cs = self.corosync
        if cs.expected_override is not None:
            return cs.expected_override
        return max(len(cs.nodes), 1) + cs.qdevice_votes

    def qdevice_state(self) -> tuple[bool, bool]:
        """(alive, vote) of this node's corosync-qdevice (votequorum's ``A``/``V`` flags).

        Alive: corosync.conf has a ``quorum.device`` section and corosync-qdevice runs (it
        polls votequorum). Vote: only while the QNetd host's corosync-qnetd answers on TCP
        5403 — disconnected, qdevice-net's ffsplit casts no vote (``A,NV``) — and then
        (ffsplit, tie-breaker lowest node id) for the partition holding more than half of the
        nodes, or exactly half and the lowest node id.
        """
        cs = self.corosync
        u = self.units.get("corosync-qdevice")
        host = self.world.qnetd_host()
        alive = bool(cs.running and cs.qdevice_votes and not cs.qdevice_blocked
                     and u is not None and u.state == "active")
        if not alive:
            return False, False
        if host is None or host.units["corosync-qnetd"].state != "active":
            return True, False
        n, m = len(cs.nodes), len(cs.members)
        lowest = min((nid for _a, nid, _b in cs.nodes), default=0)
        return True, m * 2 > n or (m * 2 == n and lowest in cs.members)

    def total_votes(self) -> int:
        return len(self.corosync.members) + (self.corosync.qdevice_votes
                                             if self.qdevice_state()[1] else 0)

    def quorum(self) -> int:
        if self.corosync.two_node and self.corosync.expected_override is None:
            return 1
        return self.expected_votes() // 2 + 1

    def pve_writable(self) -> bool:
        """Whether a write into /etc/pve completes now (otherwise it blocks, as on a node)."""
        p = self.pmxcfs
        if p.state != "running" or p.mount != "mounted":
            return False
        if p.local_mode:
            return True
        cs = self.corosync
        if not cs.running or not cs.quorate or cs.forming_until is not None:
            return False
        # pmxcfs delivers a write once its DFSM has synced the current membership: until then
        # messages queue (dfsm.c; "dfsm_deliver_queue" when the sync ends). While a flapping
        # link joins two members that sync never ends (pmxcfs_daemon._sync_stalls), so a
        # write waits until a membership without it has synced or the link is calm; unless
        # this node's quorum does not depend on a peer at all (pvecm expected 1). Seen on the
        # real-pmxcfs lab: writes on the quorate side landed when a two-node membership
        # without the lossy link had synced, and hung while the three were members.
        members = frozenset(m.nodeid for m in self.world.nodes.values()
                            if m.nodeid in cs.members and m.corosync.running
                            and m.pmxcfs.state == "running" and not m.pmxcfs.local_mode)
        return p.synced_members == members or self.quorum() <= 1
