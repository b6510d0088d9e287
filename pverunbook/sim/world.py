"""The simulated cluster's state and how it reacts: corosync, quorum, pmxcfs, services, VMs.

One :class:`World` owns every node (:mod:`pverunbook.sim.node`). Time is simulated
(:mod:`pverunbook.sim.clock`) and the corosync link follows a seeded schedule, so a run is
reproducible: the same commands at the same simulated moments give the same output. State
changes are driven by the emulated commands (``systemctl``, ``pvecm``, writes into /etc/pve...)
and by :meth:`World.tick`, which replays schedule boundaries in order and writes the journal
lines real daemons would.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
from collections.abc import Callable
from pathlib import Path

from pverunbook.sim import certs, corosync_daemon, pmxcfs_daemon
from pverunbook.sim.clock import SimClock
from pverunbook.sim.fault_scenarios import global_knet_mtu
from pverunbook.sim.network import STABLE_TOKEN_MS, Network
from pverunbook.sim.node import (
    QNETD_UNITS,
    UNIT_INFO,
    CorosyncRuntime,
    JournalEntry,
    PmxcfsProc,
    Proc,
    SimNode,
    Unit,
    Vm,
)
from pverunbook.sim.scenarios import Scenario

#: SimNode and friends moved to :mod:`pverunbook.sim.node`; importing them from here still works.
__all__ = ["QNETD_UNITS", "STABLE_TOKEN_MS", "UNIT_INFO", "CorosyncRuntime", "JournalEntry",
           "PmxcfsProc", "Proc", "SimNode", "Unit", "Vm", "World"]


class World:
    """Every node of one simulated cluster, the network between them and simulated time.

    corosync's and pmxcfs's behaviour live in :mod:`.corosync_daemon` and
    :mod:`.pmxcfs_daemon` (the methods below delegate); building and booting in :mod:`.build`.
    """

    def __init__(self, scenario: Scenario, state_dir: Path, time_scale: float,
                 seed: int | None = None, clock: SimClock | None = None) -> None:
        self.scenario = scenario
        self.state_dir = state_dir
        #: real-time-driven by default; a SteppedClock makes every run the same (screenshots)
        self.clock = clock if clock is not None else SimClock(time_scale)
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
        #: Called after every program a node's shell ran (sim/shell/executor.py ``_invoke``):
        #: the cluster saves world.json there when the volatile state changed, so a change
        #: the node reported done survives a kill -9 of the process (SimCluster._durable).
        self.on_command: Callable[[], None] | None = None

    def command_done(self) -> None:
        """A program returned on some node: make what it changed durable (see on_command)."""
        if self.on_command is not None:
            self.on_command()

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
        """Replay simulated time as it passes (a stepped clock needs no such loop: its time
        moves only through the ticks of the commands that wait, see
        :mod:`pverunbook.sim.clock`, so a UI sharing the process stays idle)."""
        if self.clock.stepped:
            return
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
        self.clock.advance(now)
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
        nodes is down, one end is left out and forms its own ring: the lower node id. Seen on
        the real-pmxcfs lab (corosync 3.1.7, three nodes, 30% of UDP dropped between nodeids
        2 and 3): every one of the membership changes left out nodeid 2, never 3 (the outcome
        of totemsrp.c ``memb_join_process`` merging the two ends' failed lists). So the
        cliques are built from the highest node id down.
        """
        running = sorted((n for n in self.nodes.values() if n.corosync.running),
                         key=lambda n: -n.nodeid)
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
            corosync_daemon.first_sync_refused(self, n, t)
        for n in nodes:
            if not n.corosync.running and n.corosync.members:
                n.corosync.members, n.corosync.quorate = frozenset(), False
        for g in self._groups():
            new = frozenset(m.nodeid for m in g)
            for n in g:
                if new != n.corosync.members and not self._still_forming(n, new, t):
                    self._membership_changed(n, n.corosync.members, new, t)
        for n in nodes:
            self._update_quorum(n, t)
        # Split brain: two or more different quorate memberships at once (e.g. a cut-off node
        # made quorate with `pvecm expected 1` while the others are a quorate majority).
        partitions: dict[frozenset[int], list[SimNode]] = {}
        for n in nodes:
            if n.corosync.running and n.corosync.quorate:
                partitions.setdefault(n.corosync.members, []).append(n)
        if len(partitions) >= 2 and not self.split_brain_noted:
            self.split_brain = True
            self.split_brain_noted = True
            sides = [", ".join(x.name for x in side) for side in partitions.values()]
            for n in nodes:
                n.log("pve-cluster", "pverunbook-sim", 1,
                      "REHEARSAL WARNING: split brain - " + " and ".join(
                          f"[{side}]" for side in sides)
                      + " are each quorate on their own (pvecm expected 1 on a side that was "
                      "cut off); their /etc/pve copies now diverge and one side's changes will "
                      "be lost", t)
        elif len(partitions) < 2:
            self.split_brain_noted = False
        self._sync_pmxcfs(t)

    def _still_forming(self, n: SimNode, new: frozenset[int], t: float) -> bool:
        """Whether ``n`` keeps its old membership at ``t`` because a member vanished (corosync
        killed: no leave message) less than token + consensus ago.

        totemsrp.c: the token is declared lost after ``token_timeout``
        (``timer_function_orf_token_timeout``: "A processor failed, forming new
        configuration: token timed out (%ums), waiting %ums for consensus."), and the gather
        state waits ``consensus_timeout`` for the vanished node's join before the new ring
        forms. Both are the effective values (totemconfig.c ``totem_volatile_config_read``:
        token + (nodes - 2) * token_coefficient, then consensus = 1.2 * that token;
        corosync.conf(5) ``token_coefficient``, ``consensus``): 3650 + 4380 ms for three
        nodes on the defaults. Until then the node stays quorate with the old members, and
        nothing is delivered (:attr:`CorosyncRuntime.forming_until`)."""
        cs = n.corosync
        gone = [m for m in self.nodes.values() if m.nodeid in cs.members - new
                and m.corosync.vanished and not m.corosync.running]
        if not gone:
            cs.forming_until = None
            return False
        until = max(m.corosync.vanished_at for m in gone) + (cs.token + cs.consensus) / 1000
        if t >= until:
            cs.forming_until = None
            return False
        if cs.forming_until != until:
            cs.forming_until = until
            self.at(until, lambda _t: None)  # tick() forms the membership then
            # the journal shows each line from its moment on (journalctl: nothing later
            # than now), so a read inside the window says why the cluster waits
            lost = until - cs.consensus / 1000
            n.corosync_log(f"[TOTEM ] Token has not been received in {int(cs.token * 0.75)} "
                           "ms ", lost - cs.token / 1000 * 0.25)
            n.corosync_log(f"[TOTEM ] A processor failed, forming new configuration: token "
                           f"timed out ({cs.token}ms), waiting {cs.consensus}ms for consensus.",
                           lost)
        return True

    def _membership_changed(self, n: SimNode, old: frozenset[int], new: frozenset[int],
                            t: float) -> None:
        cs = n.corosync
        joined = sorted(new - old)
        left = sorted(old - new)
        # A peer whose corosync exited normally (systemctl stop) sent a leave message
        # (corosync exec/totemsrp.c totemsrp_finalize -> memb_leave_message_send): the others
        # form the new membership at once, with no token timeout and no "Failed to receive the
        # leave message". Only a peer that vanished (a link gone, its corosync killed with
        # SIGKILL) makes the token time out.
        unclean = [i for i in left if any(m.nodeid == i and (m.corosync.running
                                                             or m.corosync.vanished)
                                          for m in self.nodes.values())]
        # A link that went down was already silent for a token; a corosync killed now is
        # found gone one token from now (the token warning at 75% of it, then the timeout).
        killed = bool(unclean) and all(
            m.corosync.vanished for m in self.nodes.values() if m.nodeid in unclean)
        lost_at = max(m.corosync.vanished_at for m in self.nodes.values()
                      if m.nodeid in unclean) + cs.token / 1000 if killed else t
        if old and unclean and not killed:  # a killed peer's: logged by _still_forming
            tok = cs.token
            n.corosync_log(f"[TOTEM ] Token has not been received in {int(tok * 0.75)} ms ",
                           lost_at - tok / 1000 * 0.25)
            n.corosync_log(f"[TOTEM ] A processor failed, forming new configuration: token "
                           f"timed out ({tok}ms), waiting {cs.consensus}ms for consensus.",
                           lost_at)
        if self.net.node_flapping(n) and joined and self.rng.random() < 0.35:
            seqs = sorted(self.rng.sample(range(0x5, 0x140), self.rng.randint(1, 6)))
            n.corosync_log("[TOTEM ] Retransmit List: " + " ".join(f"{s:x}" for s in seqs)
                           + " ", t + 1.5)
        tm = lost_at + cs.consensus / 1000 if unclean else t + 0.01
        tm = max(tm, cs.log_floor + 0.01)  # after the previous change's lines
        cs.log_floor = tm
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
        if unclean:
            n.corosync_log("[TOTEM ] Failed to receive the leave message. failed: "
                           + " ".join(map(str, unclean)), tm)
        cs.members = new
        cs.pending_log_t = tm
        # a configuration change starts pmxcfs's sync anew (dfsm.c dfsm_cpg_confchg_callback);
        # alone, it is synced at once and logs no "starting data syncronisation"
        n.pmxcfs.synced_members = n.pmxcfs.syncing = frozenset()
        if len(new) > 1:
            cs.first_sync = False  # cmap.c: the config_version check is done once
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
        corosync_daemon.raise_expected(n)
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
    def corosync_check(self, text: str, authkey: bytes | None,
                       test_only: bool = False) -> str | None:
        return corosync_daemon.corosync_check(self, text, authkey, test_only)

    def _load_runtime(self, n: SimNode, text: str) -> None:
        return corosync_daemon._load_runtime(self, n, text)

    def corosync_start(self, n: SimNode, t: float) -> str | None:
        return corosync_daemon.corosync_start(self, n, t)

    def corosync_stop(self, n: SimNode, t: float, by_sysadmin: bool = False,
                      sig: int = 15) -> None:
        return corosync_daemon.corosync_stop(self, n, t, by_sysadmin, sig)

    def corosync_reload(self, n: SimNode, t: float) -> str | None:
        return corosync_daemon.corosync_reload(self, n, t)

    def cluster_reload(self, n: SimNode, t: float) -> str | None:
        return corosync_daemon.cluster_reload(self, n, t)

    def set_expected(self, n: SimNode, value: int) -> str | None:
        return corosync_daemon.set_expected(self, n, value)

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

    def cfs_unlock_request(self, n: SimNode, rel: str) -> bool:
        return pmxcfs_daemon.cfs_unlock_request(self, n, rel)

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
        pem, key = n.host("/etc/pve/local/pve-ssl.pem"), n.host("/etc/pve/local/pve-ssl.key")
        ok = pem.exists() and key.exists()
        # a key that is not the certificate's (updatecerts made a new key but kept the old
        # certificate): pveproxy runs, but every TLS handshake fails ("no shared cipher")
        mismatch = ok and not certs.key_matches(pem.read_bytes(), key.read_bytes())
        ok = ok and not mismatch
        n.pveproxy_cert_ok = ok
        u = n.units["pveproxy"]
        if not ok and not mismatch and u.state == "active":
            for i in range(3):
                wpid = n.alloc_pid()
                n.log("pveproxy", "pveproxy", u.pid, f"worker {wpid} started", t + i)
                n.log("pveproxy", "pveproxy", wpid,
                      "/etc/pve/local/pve-ssl.pem: failed to use local certificate chain "
                      "(cert_file or cert) at /usr/share/perl5/PVE/APIServer/AnyEvent.pm "
                      "line 2025.", t + i + 0.1)
                n.log("pveproxy", "pveproxy", u.pid, f"worker {wpid} finished", t + i + 0.2)

