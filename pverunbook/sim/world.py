"""The simulated cluster's state and how it reacts: corosync, quorum, pmxcfs, services, VMs.

One :class:`World` owns every node. Time is simulated (``time_scale`` real seconds per simulated
second) and the corosync link follows a seeded schedule, so a run is reproducible: the same
commands at the same simulated moments give the same output. State changes are driven by the
emulated commands (``systemctl``, ``pvecm``, writes into /etc/pve...) and by :meth:`World.tick`,
which replays schedule boundaries in order and writes the journal lines real daemons would.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import os
import random
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pverunbook.sim.memdb import MemDB
from pverunbook.sim.network import STABLE_TOKEN_MS, Network
from pverunbook.sim.scenarios import Scenario, link_local

__all__ = ["STABLE_TOKEN_MS", "SimNode", "World"]

COROSYNC_VERSION = "3.1.7"
PVE_DIR = "/etc/pve"
VERSION_RE = re.compile(r"config_version\s*:\s*(\d+)")


class SimClock:
    """Simulated wall clock: starts at the real time, runs 1/time_scale times faster."""

    def __init__(self, time_scale: float, start: float | None = None) -> None:
        self.scale = max(time_scale, 1e-4)
        self.t0_sim = time.time() if start is None else start
        self.t0_real = time.monotonic()

    def now(self) -> float:
        return self.t0_sim + (time.monotonic() - self.t0_real) / self.scale

    def real(self, sim_seconds: float) -> float:
        return max(sim_seconds, 0.0) * self.scale

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real(sim_seconds))


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
    expected_override: int | None = None
    members: frozenset[int] = frozenset()
    ring: str = ""
    quorate: bool = False
    authkey: bytes = b""
    pending_log_t: float | None = None


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
        self.boot_time = 0.0
        self.pveproxy_cert_ok = True
        #: destinations (peer ring addresses) this node routes through the gateway
        self.host_routes: set[str] = set()
        self.link_local = link_local(mac)
        #: corosync-qdevice is configured on this node (``pvecm qdevice setup``)
        self.qdevice_configured = False
        from pverunbook.sim.fs import NodeFS

        self.fs = NodeFS(self)

    # -- helpers ---------------------------------------------------------------------------
    def host(self, vpath: str) -> Path:
        return self.root / vpath.lstrip("/")

    def alloc_pid(self) -> int:
        self.next_pid += random.randint(1, 7)
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
        for line in hosts.splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and self.name in fields[1:] and not fields[0].startswith("127."):
                return True
        return False

    # -- quorum ----------------------------------------------------------------------------
    def expected_votes(self) -> int:
        cs = self.corosync
        if cs.expected_override is not None:
            return cs.expected_override
        return max(len(cs.nodes), 1) + cs.qdevice_votes

    def qdevice_state(self) -> tuple[bool, bool]:
        """(alive, vote) of this node's corosync-qdevice (votequorum's ``A``/``V`` flags).

        Alive: corosync.conf has a ``quorum.device`` section, corosync-qdevice runs and the
        QNetd host's corosync-qnetd answers on TCP 5403. Vote (ffsplit, tie-breaker lowest
        node id): the partition holding more than half of the nodes, or exactly half and
        the lowest node id.
        """
        cs = self.corosync
        u = self.units.get("corosync-qdevice")
        host = self.world.qnetd_host()
        alive = bool(cs.running and cs.qdevice_votes and u is not None and u.state == "active"
                     and host is not None and host.units["corosync-qnetd"].state == "active")
        if not alive:
            return False, False
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
        if not cs.running or not cs.quorate:
            return False
        # While one of its links flaps the membership keeps changing and pmxcfs never finishes
        # a sync, unless this node's quorum does not depend on a peer at all (pvecm expected 1).
        return not self.world.net.node_flapping(self) or self.quorum() <= 1


class World:
    def __init__(self, scenario: Scenario, state_dir: Path, time_scale: float,
                 seed: int | None = None) -> None:
        self.scenario = scenario
        self.state_dir = state_dir
        self.clock = SimClock(time_scale)
        self.seed = scenario.seed if seed is None else seed
        self.rng = random.Random(self.seed)
        self.seq = 0
        self.nodes: dict[str, SimNode] = {}
        self.ring_seq = 0x1a4
        self.last_tick = self.clock.now()
        self.timers: list[tuple[float, int, Callable[[float], None]]] = []
        self.split_brain = False
        self.split_brain_noted = False
        #: the replayed history starts here (half an hour before the world was created)
        self.history_start = self.clock.t0_sim - 1800
        self.net = Network(self)
        #: hosts outside the cluster (the QNetd host), by name
        self.extra_hosts: dict[str, SimNode] = {}
        #: knet link state per ordered pair (node, peer) as that node's corosync last saw it
        self.knet: dict[tuple[str, str], bool] = {}
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.ca_serial = 2

    # -- network / link --------------------------------------------------------------------
    def network_changed(self, node: SimNode, what: str) -> None:
        """A route or address changed on ``node`` (``ip route del``…): links react at once."""
        del what  # the kernel logs nothing for a route change
        self.tick()
        self.update_membership(self.clock.now())
        self.changed.set()

    def qnetd_host(self) -> SimNode | None:
        """The scenario's QNetd host, if it has one."""
        return next((h for h in self.extra_hosts.values() if h.role == "qnetd"), None)

    def extra_host_by_addr(self, addr: str) -> SimNode | None:
        """A simulated host outside the cluster (the QNetd host) by address or name."""
        for h in self.extra_hosts.values():
            if addr in (h.addr, h.name, f"{h.name}.lan"):
                return h
        return None

    def flapping(self) -> bool:
        """Some knet link of the cluster flaps (see :class:`~pverunbook.sim.network.Network`)."""
        return bool(self.net.flapping_pairs())

    # -- lifecycle -------------------------------------------------------------------------
    def start_background(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop_background(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(min(0.05, max(self.clock.scale * 0.5, 0.01)))
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the simulation alive; shown in the journal
                import traceback

                for n in self.nodes.values():
                    n.log("pverunbook-sim", "pverunbook-sim", 1,
                          "simulation error: " + traceback.format_exc().splitlines()[-1])

    def at(self, t: float, fn: Callable[[float], None]) -> None:
        self.seq += 1
        heapq.heappush(self.timers, (t, self.seq, fn))

    def tick(self, now: float | None = None) -> None:
        """Replay everything that happened since the last tick, in simulated-time order."""
        now = self.clock.now() if now is None else now
        t = self.last_tick
        while True:
            nxt_timer = self.timers[0][0] if self.timers else float("inf")
            bounds = self.net.boundaries(t, min(now, nxt_timer))
            if bounds:
                t = bounds[0]
                self.update_membership(t)
                continue
            if nxt_timer <= now:
                t_timer, _, fn = heapq.heappop(self.timers)
                t = max(t, t_timer)
                fn(t)
                self.update_membership(t)
                continue
            break
        self.update_membership(now)
        self.last_tick = now

    # -- membership and quorum -------------------------------------------------------------
    def _compatible(self, a: SimNode, b: SimNode) -> bool:
        ca, cb = a.corosync, b.corosync
        if not (ca.running and cb.running):
            return False
        if ca.cluster_name != cb.cluster_name or ca.transport != cb.transport:
            return False
        if ca.secauth != cb.secauth or (ca.secauth and ca.authkey != cb.authkey):
            return False
        ids_a = {nid for _, nid, _ in ca.nodes}
        return b.nodeid in ids_a and a.nodeid in {nid for _, nid, _ in cb.nodes}

    def _knet_links(self, t: float) -> None:
        """Each running corosync's view of its knet link to each peer; logs the changes.

        Only the two ends of a link log about it (``[KNET  ] link: host: 3 link: 0 is down``),
        so a bad link between two nodes shows in exactly those two journals.
        """
        nodes = list(self.nodes.values())
        for n in nodes:
            for p in nodes:
                if p is n:
                    continue
                key = (n.name, p.name)
                if not n.corosync.running:
                    self.knet.pop(key, None)
                    continue
                up = (p.corosync.running and self._compatible(n, p)
                      and self.net.link_up_at(n, p, t))
                was = self.knet.get(key, False)
                if up == was:
                    continue
                self.knet[key] = up
                if up:
                    n.corosync_log(f"[KNET  ] rx: host: {p.nodeid} link: 0 is up", t)
                    n.corosync_log(f"[KNET  ] link: Resetting MTU for link 0 because host "
                                   f"{p.nodeid} joined", t)
                    n.corosync_log(f"[KNET  ] host: host: {p.nodeid} (passive) best link: 0 "
                                   "(pri: 1)", t)
                    n.corosync_log("[KNET  ] pmtud: Global data MTU changed to: 1397", t + 0.8)
                else:
                    n.corosync_log(f"[KNET  ] link: host: {p.nodeid} link: 0 is down", t + 0.4)
                    n.corosync_log(f"[KNET  ] host: host: {p.nodeid} (passive) best link: 0 "
                                   "(pri: 1)", t + 0.4)
                    n.corosync_log(f"[KNET  ] host: host: {p.nodeid} has no active links",
                                   t + 0.4)

    def _groups(self) -> list[list[SimNode]]:
        """Totem rings: greedy cliques of running nodes whose knet links are up both ways.

        Totem needs every member to reach every other, so when only the link between two
        nodes is down, the lower node ids keep one ring and the other end forms its own.
        """
        running = sorted((n for n in self.nodes.values() if n.corosync.running),
                         key=lambda n: n.nodeid)
        groups: list[list[SimNode]] = []
        for n in running:
            for g in groups:
                if all(self.knet.get((n.name, m.name)) and self.knet.get((m.name, n.name))
                       for m in g):
                    g.append(n)
                    break
            else:
                groups.append([n])
        return groups

    def update_membership(self, t: float) -> None:
        nodes = list(self.nodes.values())
        self._knet_links(t)
        for n in nodes:
            if not n.corosync.running and n.corosync.members:
                n.corosync.members, n.corosync.quorate = frozenset(), False
        for g in self._groups():
            new = frozenset(m.nodeid for m in g)
            for n in g:
                if new != n.corosync.members:
                    self._membership_changed(n, n.corosync.members, new, t)
        for n in nodes:
            self._update_quorum(n, t)
        quorate_alone = [n for n in nodes if n.corosync.quorate
                         and len(n.corosync.members) < len(nodes)]
        if len(quorate_alone) >= 2 and not self.split_brain_noted:
            self.split_brain = True
            self.split_brain_noted = True
            for n in nodes:
                n.log("pve-cluster", "pverunbook-sim", 1,
                      "REHEARSAL WARNING: split brain - "
                      + " and ".join(x.name for x in quorate_alone)
                      + " are each quorate on their own (pvecm expected 1 on both sides); "
                      "their /etc/pve copies now diverge and one side's changes will be lost",
                      t)
        elif len(quorate_alone) < 2:
            self.split_brain_noted = False
        self._sync_pmxcfs(t)

    def _membership_changed(self, n: SimNode, old: frozenset[int], new: frozenset[int],
                            t: float) -> None:
        cs = n.corosync
        joined = sorted(new - old)
        left = sorted(old - new)
        if old and left:
            tok = cs.token
            n.corosync_log(f"[TOTEM ] Token has not been received in {int(tok * 0.75)} ms ",
                           t - tok / 1000 * 0.25)
            n.corosync_log(f"[TOTEM ] A processor failed, forming new configuration: token "
                           f"timed out ({tok}ms), waiting {cs.consensus}ms for consensus.", t)
        if self.net.node_flapping(n) and joined and self.rng.random() < 0.35:
            seqs = sorted(self.rng.sample(range(0x5, 0x140), self.rng.randint(1, 6)))
            n.corosync_log("[TOTEM ] Retransmit List: " + " ".join(f"{s:x}" for s in seqs)
                           + " ", t + 1.5)
        tm = t + cs.consensus / 1000 if left else t + 0.01
        self.ring_seq += 4 if n.nodeid == min(new) else 0
        cs.ring = f"{min(new)}.{self.ring_seq:x}"
        ids = " ".join(str(i) for i in sorted(new))
        n.corosync_log(f"[QUORUM] Sync members[{len(new)}]: {ids}", tm)
        if joined:
            n.corosync_log(f"[QUORUM] Sync joined[{len(joined)}]: "
                           + " ".join(map(str, joined)), tm)
        if left:
            n.corosync_log(f"[QUORUM] Sync left[{len(left)}]: " + " ".join(map(str, left)), tm)
        what = []
        if joined:
            what.append("Members joined: " + " ".join(map(str, joined)))
        if left:
            what.append("Members left: " + " ".join(map(str, left)))
        n.corosync_log(f"[TOTEM ] A new membership ({cs.ring}) was formed. " + " ".join(what), tm)
        if left:
            n.corosync_log("[TOTEM ] Failed to receive the leave message. failed: "
                           + " ".join(map(str, left)), tm)
        cs.members = new
        cs.pending_log_t = tm
        if n.pmxcfs.state == "running" and not n.pmxcfs.local_mode:
            n.cfs_log("[dcdb] notice: members: " + ", ".join(
                f"{i}/{self._node_by_id(i).pmxcfs.pid}" for i in sorted(new)
                if self._node_by_id(i).pmxcfs.state == "running"), tm)

    def _node_by_id(self, nodeid: int) -> SimNode:
        for n in self.nodes.values():
            if n.nodeid == nodeid:
                return n
        raise KeyError(nodeid)

    def _update_quorum(self, n: SimNode, t: float) -> None:
        cs = n.corosync
        if not cs.running:
            return
        votes = n.total_votes()
        q = votes >= n.quorum()
        tm = cs.pending_log_t if cs.pending_log_t is not None else t
        if q != cs.quorate:
            if q:
                n.corosync_log("[QUORUM] This node is within the primary component and will "
                               "provide service.", tm)
            else:
                n.corosync_log("[QUORUM] This node is within the non-primary component and "
                               "will NOT provide any services.", tm)
            if n.pmxcfs.state == "running" and not n.pmxcfs.local_mode:
                n.cfs_log("[status] notice: node has quorum" if q
                          else "[status] notice: node lost quorum", tm)
            cs.quorate = q
        if cs.pending_log_t is not None:
            ids = " ".join(str(i) for i in sorted(cs.members))
            n.corosync_log(f"[QUORUM] Members[{len(cs.members)}]: {ids}", tm)
            n.corosync_log("[MAIN  ] Completed service synchronization, ready to provide "
                           "service.", tm)
            cs.pending_log_t = None

    # -- pmxcfs ----------------------------------------------------------------------------
    def _sync_pmxcfs(self, t: float) -> None:
        """dfsm: nodes that share a membership converge on the copy with the highest version."""
        groups: list[list[SimNode]] = []
        for n in self.nodes.values():
            p = n.pmxcfs
            if p.state != "running" or p.local_mode or not n.corosync.running:
                continue
            grp = [self._node_by_id(i) for i in sorted(n.corosync.members)]
            grp = [g for g in grp if g.pmxcfs.state == "running" and not g.pmxcfs.local_mode]
            if grp and grp[0] is n:
                groups.append(grp)
        for grp in groups:
            ids = frozenset(g.nodeid for g in grp)
            if all(g.pmxcfs.synced_members == ids for g in grp):
                continue
            leader = max(grp, key=lambda g: (g.pmxcfs.memdb.version if g.pmxcfs.memdb else -1,
                                             -g.nodeid))
            lm = leader.pmxcfs.memdb
            assert lm is not None
            desc = ", ".join(f"{g.nodeid}/{g.pmxcfs.pid}" for g in grp)
            for g in grp:
                g.cfs_log("[dcdb] notice: starting data syncronisation", t)
                if len(grp) > 1:
                    g.cfs_log("[dcdb] notice: received all states", t + 0.01)
                    g.cfs_log(f"[dcdb] notice: leader is {leader.nodeid}/{leader.pmxcfs.pid}",
                              t + 0.01)
                    g.cfs_log(f"[dcdb] notice: synced members: {desc}", t + 0.01)
                if g is not leader and g.pmxcfs.memdb is not None \
                        and g.pmxcfs.memdb.files() != lm.files():
                    g.pmxcfs.memdb = lm.copy()
                    g.cfs_log("[dcdb] notice: waiting for updates from leader", t + 0.01)
                    g.cfs_log("[dcdb] notice: update complete - trying to commit (got "
                              f"{len(lm.entries)} inode updates)", t + 0.02)
                    self.persist(g)
                    self.materialize(g)
                    self.sync_corosync_conf(g, t, notify=True)
                g.cfs_log("[dcdb] notice: all data is up to date", t + 0.03)
                g.pmxcfs.synced_members = ids
        self.changed.set()

    def persist(self, n: SimNode) -> None:
        """Save a node's memdb to its config.db, unless that file was deleted under pmxcfs."""
        p = n.pmxcfs
        if p.memdb is None:
            return
        db = n.host("/var/lib/pve-cluster/config.db")
        try:
            ino = db.stat().st_ino
        except FileNotFoundError:
            return  # pmxcfs still writes to the unlinked inode; nothing reaches the new path
        if p.db_ino is not None and ino != p.db_ino:
            return
        p.memdb.save(db)

    def materialize(self, n: SimNode) -> None:
        """Mirror the node's memdb into its etc/pve directory (what the FUSE mount shows)."""
        root = n.host(PVE_DIR)
        root.mkdir(parents=True, exist_ok=True)
        p = n.pmxcfs
        if p.mount != "mounted" or p.memdb is None:
            for child in root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            return
        db = p.memdb
        want_files = db.files()
        want_dirs = {k for k, e in db.entries.items() if e.is_dir}
        links = {"local": f"nodes/{n.name}", "qemu-server": f"nodes/{n.name}/qemu-server",
                 "lxc": f"nodes/{n.name}/lxc", "openvz": f"nodes/{n.name}/openvz"}
        for dirpath, dirnames, filenames in os.walk(root, topdown=False):
            for name in filenames + dirnames:
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                if rel in links and full.is_symlink():
                    continue
                if full.is_symlink() or full.is_file():
                    if rel not in want_files or rel in links:
                        full.unlink()
                elif full.is_dir() and rel not in want_dirs:
                    shutil.rmtree(full)
        for d in sorted(want_dirs):
            (root / d).mkdir(parents=True, exist_ok=True)
            os.chmod(root / d, 0o700 if d.split("/")[-1] == "priv" else 0o755)
        for rel, data in want_files.items():
            f = root / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            try:
                same = f.read_bytes() == data
            except OSError:
                same = False
            if not same:
                f.write_bytes(data)
            mode = 0o600 if "priv/" in rel or rel.startswith("priv") else 0o640
            os.chmod(f, mode)
            mt = db.entries[rel].mtime
            os.utime(f, (mt, mt))
        for name, target in links.items():
            link = root / name
            if not link.is_symlink():
                if link.exists():
                    shutil.rmtree(link) if link.is_dir() else link.unlink()
                link.symlink_to(target)
        for dot in (".members", ".version", ".vmlist", ".clusterlog", ".rrd", ".debug"):
            (root / dot).write_bytes(b"")

    def sync_corosync_conf(self, n: SimNode, t: float, notify: bool) -> None:
        """pmxcfs ``dcdb_sync_corosync_conf``: copy /etc/pve/corosync.conf to the local file."""
        p = n.pmxcfs
        if p.memdb is None or "corosync.conf" not in p.memdb.entries:
            return
        data = p.memdb.entries["corosync.conf"].data
        m = VERSION_RE.search(data.decode("utf-8", "replace"))
        new_version = int(m.group(1)) if m else 0
        if not new_version:
            n.cfs_log("[dcdb] crit: unable to parse cluster config_version", t)
            return
        local = n.host("/etc/corosync/corosync.conf")
        try:
            old = local.read_bytes()
        except OSError:
            old = b""
        mo = VERSION_RE.search(old.decode("utf-8", "replace"))
        old_version = int(mo.group(1)) if mo else 0
        if old == data:
            return
        if new_version < old_version:
            n.cfs_log("[dcdb] crit: local corosync.conf is newer", t)
            return
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name("corosync.conf.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, local)
        n.cfs_log(f"[dcdb] notice: wrote new corosync config '/etc/corosync/corosync.conf' "
                  f"(version = {new_version})", t)
        if notify and old_version and n.corosync.running:
            self.corosync_reload(n, t)

    # -- corosync --------------------------------------------------------------------------
    def corosync_check(self, text: str, authkey: bytes | None) -> str | None:
        """The error real corosync 3.1.7 stops with for this config, or None."""
        from pverunbook.pve.corosync_conf import CorosyncParseError, parse, validate

        try:
            conf = parse(text)
        except CorosyncParseError as exc:
            return f"parse error in config: {exc.message}"
        transport = conf.get("totem.transport") or "knet"
        crypto = conf.get("totem.secauth") == "on" or (
            conf.get("totem.crypto_cipher") or "none") != "none"
        if transport in ("udp", "udpu"):
            if crypto:
                return ("parse error in config: crypto_cipher & crypto_hash are only valid for "
                        "the Knet transport.")
            links = {k for node in conf.nodes() for k in node if k.endswith("_addr")}
            if len(links) > 1:
                return (f"parse error in config: {len(links)} is too many configured interfaces "
                        "for non-Knet transport.")
        if conf.get("totem.version") != "2":
            return "parse error in config: This totem parser can only parse version 2 " \
                   "configurations."
        tok = int(conf.get("totem.token") or 3000)
        join = int(conf.get("totem.join") or 50)
        consensus = int(conf.get("totem.consensus") or int(tok * 1.2))
        if consensus < join:
            return (f"The consensus timeout parameter ({consensus} ms) may not be less than "
                    f"join timeout ({join} ms).")
        if crypto and transport == "knet" and not authkey:
            return "Could not open /etc/corosync/authkey: No such file or directory"
        for prob in validate(conf):
            if prob.severity == "fatal":
                return f"parse error in config: {prob.message}"
        return None

    def _load_runtime(self, n: SimNode, text: str) -> None:
        from pverunbook.pve.corosync_conf import effective_token, parse

        conf = parse(text)
        cs = n.corosync
        cs.text = text
        cs.token = effective_token(conf)
        cs.consensus = int(conf.get("totem.consensus") or int(cs.token * 1.2))
        cs.config_version = int(conf.get("totem.config_version") or 0)
        cs.transport = conf.get("totem.transport") or "knet"
        cs.secauth = conf.get("totem.secauth") == "on"
        cs.cluster_name = conf.get("totem.cluster_name") or ""
        cs.two_node = conf.get("quorum.two_node") == "1"
        # pvecm qdevice setup adds quorum { device { model: net; votes: 1; net {...} } }
        cs.qdevice_votes = 1 if re.search(r"^\s*device\s*\{", text, re.M) else 0
        m = re.search(r"^\s*host\s*:\s*(\S+)", text, re.M)
        cs.qdevice_host = m.group(1) if m and cs.qdevice_votes else ""
        cs.nodes = [(d.get("name", ""), int(d.get("nodeid", "0") or 0), d.get("ring0_addr", ""))
                    for d in conf.nodes()]

    def corosync_start(self, n: SimNode, t: float) -> str | None:
        """Start corosync from /etc/corosync/corosync.conf; returns the error or None."""
        cs = n.corosync
        if cs.running:
            return None
        try:
            text = n.host("/etc/corosync/corosync.conf").read_text()
        except OSError:
            text = ""
        try:
            authkey: bytes | None = n.host("/etc/corosync/authkey").read_bytes()
        except OSError:
            authkey = None
        pid = n.alloc_pid()
        cs.pid = pid
        lg = n.corosync_log
        lg(f"[MAIN  ] Corosync Cluster Engine {COROSYNC_VERSION} starting up", t)
        lg("[MAIN  ] Corosync built-in features: dbus monitoring watchdog systemd xmlconf "
           "vqsim nozzle snmp pie relro bindnow", t)
        err = "Can't read file /etc/corosync/corosync.conf: No such file or directory" \
            if not text else self.corosync_check(text, authkey)
        if err:
            lg(f"[MAIN  ] {err}", t)
            lg("[MAIN  ] Corosync Cluster Engine exiting with status 8 at main.c:1445.", t)
            return err
        self._load_runtime(n, text)
        cs.authkey = authkey or b""
        cs.running = True
        cs.members = frozenset()
        cs.quorate = False
        cs.expected_override = None
        lg(f"[TOTEM ] Initializing transport ({'Kronosnet' if cs.transport == 'knet' else 'UDP/IP Unicast'}).", t)  # noqa: E501
        lg("[TOTEM ] totemknet initialized", t)
        lg("[KNET  ] pmtud: MTU manually set to: 0", t)
        lg("[KNET  ] common: crypto_nss.so has been loaded from "
           "/usr/lib/x86_64-linux-gnu/kronosnet/crypto_nss.so", t)
        lg("[SERV  ] Service engine loaded: corosync configuration map access [0]", t)
        lg("[QB    ] server name: cmap", t)
        lg("[SERV  ] Service engine loaded: corosync configuration service [1]", t)
        lg("[QB    ] server name: cfg", t)
        lg("[SERV  ] Service engine loaded: corosync cluster closed process group service "
           "v1.01 [2]", t)
        lg("[QB    ] server name: cpg", t)
        lg("[SERV  ] Service engine loaded: corosync profile loading service [4]", t)
        lg("[SERV  ] Service engine loaded: corosync resource monitoring service [6]", t)
        lg("[WD    ] Watchdog not enabled by configuration", t)
        lg("[WD    ] resource load_15min missing a recovery key.", t)
        lg("[WD    ] resource memory_used missing a recovery key.", t)
        lg("[WD    ] no resources configured.", t)
        lg("[SERV  ] Service engine loaded: corosync watchdog service [7]", t)
        lg("[QUORUM] Using quorum provider corosync_votequorum", t)
        lg("[SERV  ] Service engine loaded: corosync vote quorum service v1.0 [5]", t)
        lg("[QB    ] server name: votequorum", t)
        lg("[SERV  ] Service engine loaded: corosync cluster quorum service v0.1 [3]", t)
        lg("[QB    ] server name: quorum", t)
        lg("[TOTEM ] Configuring link 0", t)
        lg(f"[TOTEM ] Configured link number 0: local addr: {n.addr}, port=5405", t)
        lg("[KNET  ] link: Resetting MTU for link 0 because host "
           f"{n.nodeid} joined", t)
        for p in n.peers():
            lg(f"[KNET  ] host: host: {p.nodeid} (passive) best link: 0 (pri: 1)", t)
            lg(f"[KNET  ] host: host: {p.nodeid} has no active links", t)
        self._membership_changed(n, frozenset(), frozenset({n.nodeid}), t)
        self._update_quorum(n, t)
        u = n.units["corosync"]
        u.pid = pid
        self.update_membership(t)
        return None

    def corosync_stop(self, n: SimNode, t: float) -> None:
        cs = n.corosync
        if not cs.running:
            return
        lg = n.corosync_log
        lg("[MAIN  ] Node was shut down by a signal", t)
        lg("[SERV  ] Unloading all Corosync service engines.", t)
        lg("[QB    ] withdrawing server sockets", t)
        lg("[SERV  ] Service engine unloaded: corosync vote quorum service v1.0", t)
        lg("[MAIN  ] Corosync Cluster Engine exiting normally", t)
        cs.running = False
        cs.members = frozenset()
        cs.quorate = False
        if n.pmxcfs.state == "running" and not n.pmxcfs.local_mode:
            n.cfs_log("[status] notice: node lost quorum", t)
            n.cfs_log("[dcdb] crit: cpg_dispatch failed: 2", t)
            n.cfs_log("[dcdb] crit: cpg_leave failed: 2", t)
            n.cfs_log("[confdb] crit: cmap_dispatch failed: 2", t)
            n.cfs_log("[quorum] crit: quorum_dispatch failed: 2", t)
            n.pmxcfs.synced_members = frozenset()
        self.update_membership(t)

    def corosync_reload(self, n: SimNode, t: float) -> str | None:
        """``corosync-cfgtool -R``: reload volatile keys; read-only keys need a restart."""
        cs = n.corosync
        if not cs.running:
            return "Could not initialize corosync configuration API error 2"
        try:
            text = n.host("/etc/corosync/corosync.conf").read_text()
        except OSError:
            return "Reload of the configuration file failed with error CS_ERR_NOT_EXIST"
        from pverunbook.pve.corosync_conf import CorosyncParseError, parse

        try:
            conf = parse(text)
        except CorosyncParseError:
            n.corosync_log("[CFG   ] Cannot load new config file for reload.", t)
            return "Reload of the configuration file failed with error CS_ERR_INVALID_PARAM"
        n.corosync_log("[CFG   ] Config reload requested by node " + str(n.nodeid), t)
        ro = {"totem.transport": (conf.get("totem.transport") or "knet", cs.transport),
              "totem.cluster_name": (conf.get("totem.cluster_name") or "", cs.cluster_name),
              "totem.secauth": ("on" if conf.get("totem.secauth") == "on" else "off",
                                "on" if cs.secauth else "off")}
        keep = {}
        for key, (new, old) in ro.items():
            if new != old:
                n.corosync_log(f"[CFG   ] Modified entry '{key}' in corosync.conf cannot be "
                               "changed at run-time", t)
                keep[key] = old
        old_token = cs.token
        transport, name, secauth = cs.transport, cs.cluster_name, cs.secauth
        self._load_runtime(n, text)
        cs.transport, cs.cluster_name, cs.secauth = transport, name, secauth
        if cs.token != old_token:
            n.corosync_log(f"[TOTEM ] Token Timeout ({cs.token} ms) retransmit timeout "
                           f"({int(cs.token / 4.2)} ms)", t)
        n.corosync_log("[KNET  ] pmtud: MTU manually set to: 0", t)
        self.update_membership(t)
        return None

    # -- pmxcfs lifecycle ------------------------------------------------------------------
    def pmxcfs_start(self, n: SimNode, t: float, local: bool, managed: bool) -> str | None:
        p = n.pmxcfs
        if p.state == "running":
            return "unable to acquire pmxcfs lock: Resource temporarily unavailable"
        if not n.hostname_resolves:
            return (f"Unable to resolve node name '{n.name}' to a non-loopback IP address - "
                    "missing entry in '/etc/hosts' or DNS?")
        pid = n.alloc_pid()
        p.pid = pid
        db_path = n.host("/var/lib/pve-cluster/config.db")
        memdb: MemDB | None = None
        if db_path.exists():
            try:
                memdb = MemDB.load(db_path)
            except sqlite3.Error as exc:
                n.cfs_log(f"[database] crit: unable to open database '{db_path}' - {exc}", t)
                return "unable to open database"
        if memdb is None:
            # pmxcfs.c main(): a missing database is created empty and only the host's
            # /etc/corosync/corosync.conf is imported; nothing else (proxmox/pve-cluster
            # src/pmxcfs/pmxcfs.c, "automatically import corosync.conf from host"). The
            # symlinks and .version/.members/.vmlist/.rrd/.clusterlog/.debug are plugins
            # (create_symlinks), not files. What comes back after that is only what
            # pve-cluster.service's ExecStartPost `pvecm updatecerts --silent` writes once
            # quorate (see commands/pve.py _updatecerts); storage.cfg, user.cfg,
            # datacenter.cfg, VM/CT configs, firewall and HA state stay lost.
            memdb = MemDB()
            now = int(t)
            try:
                conf = n.host("/etc/corosync/corosync.conf").read_bytes()
                memdb.write("corosync.conf", conf, n.nodeid, now)
            except OSError:
                pass
            memdb.save(db_path)
        p.db_ino = db_path.stat().st_ino
        p.memdb = memdb
        p.state = "running"
        p.local_mode = local
        p.managed = managed
        p.mount = "mounted"
        p.synced_members = frozenset()
        if local:
            n.cfs_log("[main] notice: forcing local mode (although corosync.conf exists)", t)
        self.materialize(n)
        self.sync_corosync_conf(n, t, notify=False)
        if not local and not n.corosync.running:
            n.cfs_log("[quorum] crit: quorum_initialize failed: 2", t)
            n.cfs_log("[quorum] crit: can't initialize service", t)
            n.cfs_log("[confdb] crit: cmap_initialize failed: 2", t)
            n.cfs_log("[confdb] crit: can't initialize service", t)
            n.cfs_log("[dcdb] crit: cpg_initialize failed: 2", t)
            n.cfs_log("[dcdb] crit: can't initialize service", t)
            n.cfs_log("[status] crit: cpg_initialize failed: 2", t)
            n.cfs_log("[status] crit: can't initialize service", t)
        elif not local:
            n.cfs_log(f"[status] notice: update cluster info (cluster name  "
                      f"{n.corosync.cluster_name}, version = {n.corosync.config_version})", t)
            n.cfs_log("[dcdb] notice: members: " + ", ".join(
                f"{i}/{self._node_by_id(i).pmxcfs.pid}" for i in sorted(n.corosync.members)
                if self._node_by_id(i).pmxcfs.state == "running"), t)
        self.update_membership(t)
        if n.corosync.quorate and not local:
            n.cfs_log("[status] notice: node has quorum", t)
        self.persist(n)
        return None

    def pmxcfs_stop(self, n: SimNode, t: float, signal: int = 15) -> None:
        p = n.pmxcfs
        if p.state != "running":
            return
        if signal == 9:
            p.mount = "stale"
        else:
            n.cfs_log("[main] notice: teardown filesystem", t)
            self.persist(n)
            p.mount = "none" if p.mount != "stale" else "stale"
            n.cfs_log("[main] notice: exit proxmox configuration filesystem (0)", t)
        p.state = "stopped"
        p.synced_members = frozenset()
        if p.mount != "stale":
            self.materialize(n)
        self.changed.set()

    # -- writes into /etc/pve --------------------------------------------------------------
    def cfs_apply(self, n: SimNode, op: str, rel: str, data: bytes = b"", dst: str = "") -> None:
        """Apply a write on node ``n`` (already known writable) to every node it syncs with."""
        t = self.clock.now()
        targets = [n]
        if not n.pmxcfs.local_mode:
            for p in n.peers():
                if (p.nodeid in n.corosync.members and p.pmxcfs.state == "running"
                        and not p.pmxcfs.local_mode):
                    targets.append(p)
        for node in targets:
            db = node.pmxcfs.memdb
            assert db is not None
            now = int(t)
            if op == "write":
                db.write(rel, data, n.nodeid, now)
            elif op == "mkdir":
                db.mkdir(rel, n.nodeid, now)
            elif op == "unlink":
                db.unlink(rel, now)
            elif op == "rename":
                db.rename(rel, dst, n.nodeid, now)
            self.persist(node)
            self.materialize(node)
        touched = {rel, dst}
        if "corosync.conf" in touched:
            for node in targets:
                self.sync_corosync_conf(node, t, notify=True)
        for node in targets:
            node.pmxcfs.synced_members = frozenset(
                x.nodeid for x in targets) if len(targets) > 1 else node.pmxcfs.synced_members
        self.changed.set()

    async def wait_writable(self, n: SimNode) -> None:
        """Block like a write into /etc/pve does without quorum (until it can complete)."""
        while True:
            self.tick()
            if n.pve_writable():
                return
            await asyncio.sleep(min(0.05, max(self.clock.scale, 0.005)))

    # -- VMs --------------------------------------------------------------------------------
    def vm_config(self, n: SimNode, vmid: int) -> str | None:
        db = n.pmxcfs.memdb
        if db is None or n.pmxcfs.state != "running":
            return None
        e = db.entries.get(f"nodes/{n.name}/qemu-server/{vmid}.conf")
        return e.data.decode("utf-8", "replace") if e else None

    def vm_owner(self, vmid: int) -> SimNode | None:
        for n in self.nodes.values():
            db = n.pmxcfs.memdb
            if db is None:
                continue
            for m in self.nodes.values():
                if f"nodes/{m.name}/qemu-server/{vmid}.conf" in db.entries:
                    return m
        return None

    # -- building (pverunbook.sim.build) ---------------------------------------------------
    def build(self, saved: dict[str, object] | None = None) -> None:
        """Create node directories (first start) and boot every node; see :mod:`.build`."""
        from pverunbook.sim import build

        build.build(self, saved)

    def finish_boot(self) -> None:
        from pverunbook.sim import build

        build.finish_boot(self)

    def _pveproxy_check(self, n: SimNode, t: float) -> None:
        ok = (n.host("/etc/pve/local/pve-ssl.pem").exists()
              and n.host("/etc/pve/local/pve-ssl.key").exists())
        n.pveproxy_cert_ok = ok
        u = n.units["pveproxy"]
        if not ok and u.state == "active":
            for i in range(3):
                wpid = n.alloc_pid()
                n.log("pveproxy", "pveproxy", u.pid, f"worker {wpid} started", t + i)
                n.log("pveproxy", "pveproxy", wpid,
                      "/etc/pve/local/pve-ssl.pem: failed to use local certificate chain "
                      "(cert_file or cert) at /usr/share/perl5/PVE/APIServer/AnyEvent.pm "
                      "line 2025.", t + i + 0.1)
                n.log("pveproxy", "pveproxy", u.pid, f"worker {wpid} finished", t + i + 0.2)

