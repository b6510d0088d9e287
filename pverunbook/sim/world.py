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
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pverunbook.sim import corosync_daemon, pmxcfs_daemon
from pverunbook.sim.fault_scenarios import global_knet_mtu
from pverunbook.sim.memdb import MemDB
from pverunbook.sim.network import STABLE_TOKEN_MS, Network
from pverunbook.sim.scenarios import Scenario, link_local

__all__ = ["STABLE_TOKEN_MS", "SimNode", "World"]



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

        Alive: corosync.conf has a ``quorum.device`` section and corosync-qdevice runs (it
        polls votequorum). Vote: only while the QNetd host's corosync-qnetd answers on TCP
        5403 — disconnected, qdevice-net's ffsplit casts no vote (``A,NV``) — and then
        (ffsplit, tie-breaker lowest node id) for the partition holding more than half of the
        nodes, or exactly half and the lowest node id.
        """
        cs = self.corosync
        u = self.units.get("corosync-qdevice")
        host = self.world.qnetd_host()
        alive = bool(cs.running and cs.qdevice_votes and u is not None and u.state == "active")
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
        if not cs.running or not cs.quorate:
            return False
        # While one of its links flaps the membership keeps changing and pmxcfs never finishes
        # a sync, unless this node's quorum does not depend on a peer at all (pvecm expected 1).
        return not self.world.net.node_flapping(self) or self.quorum() <= 1


class World:
    """Every node of one simulated cluster, the network between them and simulated time.

    corosync's and pmxcfs's behaviour live in :mod:`.corosync_daemon` and
    :mod:`.pmxcfs_daemon` (the methods below delegate); building and booting in :mod:`.build`.
    """

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
                    n.corosync_log("[KNET  ] pmtud: Global data MTU changed to: "
                                   f"{global_knet_mtu(n)}", t + 0.8)
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


    # -- corosync and pmxcfs (sim/corosync_daemon.py, sim/pmxcfs_daemon.py) ---------------
    def corosync_check(self, text: str, authkey: bytes | None) -> str | None:
        return corosync_daemon.corosync_check(self, text, authkey)

    def _load_runtime(self, n: SimNode, text: str) -> None:
        return corosync_daemon._load_runtime(self, n, text)

    def corosync_start(self, n: SimNode, t: float) -> str | None:
        return corosync_daemon.corosync_start(self, n, t)

    def corosync_stop(self, n: SimNode, t: float) -> None:
        return corosync_daemon.corosync_stop(self, n, t)

    def corosync_reload(self, n: SimNode, t: float) -> str | None:
        return corosync_daemon.corosync_reload(self, n, t)

    def _sync_pmxcfs(self, t: float) -> None:
        return pmxcfs_daemon._sync_pmxcfs(self, t)

    def persist(self, n: SimNode) -> bool:
        return pmxcfs_daemon.persist(self, n)

    def materialize(self, n: SimNode) -> None:
        return pmxcfs_daemon.materialize(self, n)

    def sync_corosync_conf(self, n: SimNode, t: float, notify: bool) -> None:
        return pmxcfs_daemon.sync_corosync_conf(self, n, t, notify)

    def pmxcfs_start(self, n: SimNode, t: float, local: bool, managed: bool) -> str | None:
        return pmxcfs_daemon.pmxcfs_start(self, n, t, local, managed)

    def pmxcfs_stop(self, n: SimNode, t: float, signal: int=15) -> int:
        return pmxcfs_daemon.pmxcfs_stop(self, n, t, signal)

    def cfs_apply(self, n: SimNode, op: str, rel: str, data: bytes=b'', dst: str='') -> None:
        return pmxcfs_daemon.cfs_apply(self, n, op, rel, data, dst)

    async def wait_writable(self, n: SimNode) -> None:
        return await pmxcfs_daemon.wait_writable(self, n)

    def vm_config(self, n: SimNode, vmid: int) -> str | None:
        return pmxcfs_daemon.vm_config(self, n, vmid)

    def vm_owner(self, vmid: int) -> SimNode | None:
        return pmxcfs_daemon.vm_owner(self, vmid)

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

