"""SimCluster: the rehearsal cluster's public API (start, save, reset, stop, inventory).

A rehearsal cluster lives in a **state directory**::

    <state>/keys/                 host key per node, one client key, a password (made once)
    <state>/nodes/<node>/         each node's files: /etc, /var/lib/pve-cluster/config.db …
    <state>/nodes/.sim-state      the scenario the nodes were built from
    <state>/world.json            what lives only in memory: routes, stopped units, VMs, QDevice

Use it like this (front ends keep one for their whole life)::

    sim = SimCluster("nyc-outage", state_dir=SimCluster.default_state_dir())
    await sim.start()           # builds the scenario on first use, else continues the saved one
    sim.cluster                 # the inventory (nodes on 127.0.0.1, own ports, pinned host keys)
    sim.save()                  # crash-safe (temp file + rename); also done every few seconds
    await sim.reset()           # back to the scenario's start; same ports and host keys
    await sim.advance(30)       # with stepped_from=EPOCH only: let 30 simulated seconds pass
    await sim.stop()            # saves, closes the SSH listeners

``scenario=None`` continues whatever the state directory holds (or starts ``nyc-outage``); a
named scenario that differs from the saved one raises :class:`SimStateError` (reset first, or
use another directory). Without ``state_dir`` a temporary directory (mode 0700: it holds the
client's private key and the nodes' root password) is used and deleted by :meth:`stop`, at the
latest when the process exits, also on SIGTERM or SIGHUP (see :func:`_own_temp_dir`). Keys are
generated once per state directory, so an inventory written for one launch keeps working with
the next and pinned host keys stay valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

import asyncssh

from pverunbook.inventory import Cluster, Node, dump_cluster
from pverunbook.sim import scenarios
from pverunbook.sim import state as simstate
from pverunbook.sim.clock import SteppedClock
from pverunbook.sim.state import SimStateError
from pverunbook.sim.world import SimNode, World

if TYPE_CHECKING:
    from pverunbook.engine.runlock import RunLock

__all__ = ["DEFAULT_SCENARIO", "DEFAULT_TIME_SCALE", "SimCluster", "SimStateError"]

DEFAULT_TIME_SCALE = 0.02
DEFAULT_SCENARIO = "nyc-outage"
AUTOSAVE_SECONDS = 3.0

#: Deleters of the temporary state directories this process still has (see _own_temp_dir).
_TEMP_DIRS: list[weakref.finalize] = []
_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _own_temp_dir(owner: object) -> tuple[Path, Callable[[], object]]:
    """A new private temporary state directory that cannot outlive the process.

    ``tempfile.mkdtemp`` makes it 0700 (made explicit here: it holds a private key and a
    password). It is deleted when the owner is stopped (``SimCluster.stop``), garbage
    collected or the interpreter exits (``weakref.finalize`` runs at exit), and when SIGTERM or
    SIGHUP would kill the process: those signals end it without any exit handler, so while
    their handler is still the default one, a handler is put in that deletes the directories
    and then dies of the same signal as before. A front end that handles the signals itself
    (headless ``run`` and ``simulate`` stop cleanly on them, which stops the cluster) keeps its
    own handlers.
    """
    path = Path(tempfile.mkdtemp(prefix="pverunbook-sim-"))
    path.chmod(0o700)
    fin = weakref.finalize(owner, shutil.rmtree, path, ignore_errors=True)
    _TEMP_DIRS[:] = [f for f in _TEMP_DIRS if f.alive] + [fin]
    if threading.current_thread() is threading.main_thread():
        for sig in _EXIT_SIGNALS:
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _remove_temp_dirs_and_die)
    return path, fin


def _remove_temp_dirs_and_die(signum: int, frame: FrameType | None) -> None:
    for fin in list(_TEMP_DIRS):
        fin()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


class SimCluster:
    """A simulated Proxmox VE cluster reachable over real SSH on 127.0.0.1.

    ``time_scale`` is real seconds per simulated second: 1.0 for people, small for tests.
    ``ports`` pins node name → SSH port (default: free ports).
    """

    def __init__(self, scenario: str | None = DEFAULT_SCENARIO, state_dir: Path | None = None,
                 time_scale: float = DEFAULT_TIME_SCALE, ports: dict[str, int] | None = None,
                 *, stepped_from: float | None = None) -> None:
        self._own_dir = state_dir is None
        self._remove_dir: Callable[[], object] = lambda: None
        if state_dir is None:
            self.state_dir, self._remove_dir = _own_temp_dir(self)
        else:
            self.state_dir = Path(state_dir)
        saved = self.saved_scenario(self.state_dir)
        name = scenario or saved or DEFAULT_SCENARIO
        self.scenario = scenarios.get(name)
        if saved is not None and saved != self.scenario.name:
            simstate.check_state_dir(self.state_dir, self.scenario.name)  # raises, says why
        self.time_scale = time_scale
        #: a stepped clock starting at this epoch second (``None``: simulated time follows
        #: the real clock); see :mod:`pverunbook.sim.clock`
        self.stepped_from = stepped_from
        self._ports = dict(ports or {})
        self.world: World | None = None
        self._servers: dict[str, object] = {}
        self._cluster: Cluster | None = None
        self._autosave: asyncio.Task[None] | None = None
        #: world.json's content as last written (``_durable`` writes only a change)
        self._saved = b""
        self.password = ""
        self.client_key_path = self.state_dir / "keys" / "rehearsal_ed25519"
        self._dir_lock: RunLock | None = None

    # -- where state lives -----------------------------------------------------------------
    @staticmethod
    def default_state_dir() -> Path:
        """The per-user rehearsal state directory (``rehearsal/`` under the one state directory
        ``pverunbook.statedir`` resolves, e.g. ``~/.local/state/pverunbook/rehearsal``)."""
        from pverunbook.statedir import rehearsal_dir

        return rehearsal_dir()

    @staticmethod
    def saved_scenario(state_dir: Path) -> str | None:
        """The scenario a state directory holds a rehearsal of, or None if it holds none."""
        return simstate.saved_scenario(state_dir)

    @property
    def world_file(self) -> Path:
        return self.state_dir / simstate.FILE

    # -- keys ------------------------------------------------------------------------------
    def _keys(self) -> tuple[dict[str, asyncssh.SSHKey], asyncssh.SSHKey]:
        kdir = self.state_dir / "keys"
        kdir.mkdir(parents=True, exist_ok=True)
        kdir.chmod(0o700)
        host_keys = {}
        for name in self._host_names():
            path = kdir / f"ssh_host_ed25519_key.{name}"
            if not path.exists():
                key = asyncssh.generate_private_key("ssh-ed25519", comment=f"root@{name}")
                key.write_private_key(path)
                key.write_public_key(str(path) + ".pub")
                path.chmod(0o600)
            host_keys[name] = asyncssh.read_private_key(path)
        if not self.client_key_path.exists():
            key = asyncssh.generate_private_key("ssh-ed25519", comment="pverunbook-rehearsal")
            key.write_private_key(self.client_key_path)
            key.write_public_key(str(self.client_key_path) + ".pub")
            self.client_key_path.chmod(0o600)
        pw = kdir / "password"
        if not pw.exists():
            pw.write_text("rehearse-" + secrets.token_hex(4) + "\n")
            pw.chmod(0o600)
        self.password = pw.read_text().strip()
        return host_keys, asyncssh.read_private_key(self.client_key_path)

    def _host_names(self) -> list[str]:
        names = [nd.name for nd in self.scenario.nodes]
        if self.scenario.qnetd is not None:
            names.append(self.scenario.qnetd[0])
        return names

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> SimCluster:
        """Build (first use) or load the state directory, then serve every node over SSH."""
        from pverunbook.sim import commands  # noqa: F401 - registers the emulated programs
        from pverunbook.sim.server import NodeServer

        self.state_dir.mkdir(parents=True, exist_ok=True)
        # it holds the nodes' root password and the client's private key: private, as the
        # temporary one is (a kept rehearsal cluster under the state directory too)
        self.state_dir.chmod(0o700)
        if self._dir_lock is None:
            # One process per state dir: two rehearsals on one directory lose each other's
            # changes; the second is refused with who holds it (engine/runlock.py).
            from pverunbook.engine.runlock import hold

            self._dir_lock = hold(self.state_dir, "state dir")
        host_keys, client_key = self._keys()
        saved = simstate.load(self.world_file)
        (self.state_dir / "nodes").mkdir(exist_ok=True)
        clock = None if self.stepped_from is None else \
            SteppedClock(self.time_scale, self.stepped_from)
        world = World(self.scenario, self.state_dir / "nodes", self.time_scale, clock=clock)
        world.build(saved)
        world.finish_boot()
        self.world = world
        nodes = []
        try:
            for name in self._host_names():
                simnode = world.nodes.get(name) or world.extra_hosts[name]
                srv = NodeServer(simnode, host_keys[name], self.password, [client_key])
                port = await srv.start(self._ports.get(name, 0))
                self._ports[name] = port
                self._servers[name] = srv
                if name not in world.nodes:
                    continue  # the QNetd host is reachable but not part of the inventory
                pub = host_keys[name].export_public_key().decode().strip()
                pub = " ".join(pub.split()[:2])
                nodes.append(Node(name=name, host="127.0.0.1", port=port, user="root",
                                  addr=simnode.addr, gateway=self.scenario.gateway,
                                  host_key=pub))
        except BaseException:
            await self.stop()
            raise
        self._cluster = Cluster(name=self.scenario.cluster_name, nodes=tuple(nodes),
                                source="rehearsal")
        world.start_background()
        world.on_command = self._durable
        from pverunbook.sim.commands.detach import rearm_rollback_timers

        for simnode in world.nodes.values():  # timers outlive the app on real nodes
            rearm_rollback_timers(simnode)
        self.save()
        self._autosave = asyncio.get_running_loop().create_task(self._autosave_loop())
        return self

    async def _autosave_loop(self) -> None:
        while True:
            await asyncio.sleep(AUTOSAVE_SECONDS)
            with contextlib.suppress(OSError):
                self.save()

    def save(self) -> None:
        """Write world.json now (atomically). Node files and config.db are always current."""
        if self.world is not None:
            data = simstate.encode(self.world)
            simstate.write_atomic(self.world_file, data)
            self._saved = data

    def _durable(self) -> None:
        """After every program a node ran (``World.on_command``): save world.json when what it
        holds changed (a route deleted, a unit stopped), before the exit status is sent. The
        autosave alone left seconds in which a kill -9 of pverunbook lost a change the node had
        reported done: the route came back on relaunch, and the run's verify then failed with
        a misleading "still reached through a gateway". Unchanged state writes nothing."""
        if self.world is None:
            return
        data = simstate.encode(self.world)
        if data == self._saved:
            return
        with contextlib.suppress(OSError):  # the autosave and stop() try again
            simstate.write_atomic(self.world_file, data)
            self._saved = data

    async def advance(self, sim_seconds: float) -> None:
        """Let ``sim_seconds`` of simulated time pass now (a stepped clock only: the link
        schedule, timers and journal move on exactly that much). ValueError otherwise."""
        if self.world is None:
            raise RuntimeError("SimCluster is not started")
        clock = self.world.clock
        if not isinstance(clock, SteppedClock):
            raise ValueError("only a stepped clock (stepped_from=...) can be advanced by hand")
        self.world.tick(clock.advance_by(sim_seconds))
        await asyncio.sleep(0)

    async def reset(self) -> None:
        """Throw the rehearsal away and start the scenario afresh on the same ports and keys."""
        await self._halt(save=False)
        shutil.rmtree(self.state_dir / "nodes", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.world_file.unlink()
        await self.start()

    async def stop(self, save: bool = True) -> None:
        """Save (unless ``save`` is False) and close every SSH listener and the world; a
        temporary state directory (no ``state_dir`` given) is deleted: nothing can continue
        it, and it holds the rehearsal's private key and password."""
        try:
            await self._halt(save and not self._own_dir)
        finally:
            self.cleanup()

    async def _halt(self, save: bool) -> None:
        from pverunbook.sim.server import NodeServer

        if self._autosave is not None:
            self._autosave.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._autosave
            self._autosave = None
        if save:
            with contextlib.suppress(OSError):
                self.save()
        for srv in self._servers.values():
            assert isinstance(srv, NodeServer)
            await srv.stop()
        self._servers.clear()
        if self.world is not None:
            from pverunbook.sim.commands import detach

            for node in self.world.nodes.values():
                await detach.stop_all(node)
            await self.world.stop_background()
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None

    async def __aenter__(self) -> SimCluster:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def cleanup(self) -> None:
        """Delete the state directory if this object created it (a temp dir)."""
        self._remove_dir()

    # -- a node's power ----------------------------------------------------------------------
    async def power_off(self, name: str) -> None:
        """Shut node ``name`` down: systemd stops corosync (its ExecStop says "shut down by
        sysadmin" to the members) and pve-cluster, every program it runs ends (rollback timers
        too), and its SSH port refuses connections until :meth:`power_on`."""
        from pverunbook.sim.commands import detach
        from pverunbook.sim.server import NodeServer

        node, world = self.node(name), self.world
        assert world is not None
        srv = self._servers[name]
        assert isinstance(srv, NodeServer)
        await srv.stop()
        t = world.clock.now()
        world.corosync_stop(node, t, by_sysadmin=True)
        world.pmxcfs_stop(node, t)
        for unit in ("corosync", "pve-cluster"):
            node.units[unit].state, node.units[unit].since = "inactive", t
        await detach.stop_all(node)

    async def power_on(self, name: str) -> None:
        """Boot node ``name`` again from what its disk holds: pve-cluster, then corosync from
        its own /etc/corosync/corosync.conf (which exits at its first sync when the others run
        another config_version: cmap.c), then sshd on the same port."""
        from pverunbook.sim.server import NodeServer

        node, world = self.node(name), self.world
        assert world is not None
        t = world.clock.now()
        for unit, err in (("pve-cluster", world.pmxcfs_start(node, t, local=False, managed=True)),
                          ("corosync", world.corosync_start(node, t))):
            up = not err and (node.corosync.running if unit == "corosync"
                              else node.pmxcfs.state == "running")
            node.units[unit].state = "active" if up else "failed" if err else "inactive"
            node.units[unit].since = t
            node.units[unit].pid = (node.corosync.pid if unit == "corosync"
                                    else node.pmxcfs.pid) if up else 0
        srv = self._servers[name]
        assert isinstance(srv, NodeServer)
        await srv.start(self._ports[name])

    # -- queries ---------------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            raise RuntimeError("SimCluster is not started")
        return self._cluster

    def node(self, name: str) -> SimNode:
        """A simulated node (or the QNetd host) by name."""
        if self.world is None:
            raise RuntimeError("SimCluster is not started")
        return self.world.nodes.get(name) or self.world.extra_hosts[name]

    def port(self, name: str) -> int:
        """The SSH port of a node or of the QNetd host."""
        return self._ports[name]

    def inventory_toml(self) -> str:
        return dump_cluster(self.cluster)

    @property
    def split_brain(self) -> bool:
        return bool(self.world and self.world.split_brain)

    def fingerprints(self) -> dict[str, str]:
        """SHA256 host key fingerprints per node, as ``ssh`` prints them."""
        out = {}
        for n in self.cluster.nodes:
            key = asyncssh.import_public_key(n.host_key)
            out[n.name] = key.get_fingerprint("sha256")
        return out
