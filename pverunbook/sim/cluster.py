"""SimCluster: the rehearsal cluster's public API (start, stop, inventory, node state).

Keys live in the state directory and are generated once (ed25519 host key per node, one
client key, a password), so an inventory written for one run keeps working with the same
state directory and pinned host keys stay valid.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import asyncssh

from pverunbook.inventory import Cluster, Node, dump_cluster
from pverunbook.sim import scenarios
from pverunbook.sim.world import SimNode, World

DEFAULT_TIME_SCALE = 0.02


class SimCluster:
    """A simulated Proxmox VE cluster reachable over real SSH on 127.0.0.1.

    ``time_scale`` is real seconds per simulated second: 1.0 for people, small for tests.
    """

    def __init__(self, scenario: str = "nyc-outage", state_dir: Path | None = None,
                 time_scale: float = DEFAULT_TIME_SCALE, ports: dict[str, int] | None = None)\
            -> None:
        self.scenario = scenarios.get(scenario)
        self._own_dir = state_dir is None
        self.state_dir = Path(tempfile.mkdtemp(prefix="pverunbook-sim-")) if state_dir is None \
            else Path(state_dir)
        self.time_scale = time_scale
        self._ports = dict(ports or {})
        self.world: World | None = None
        self._servers: dict[str, object] = {}
        self._cluster: Cluster | None = None
        self.password = ""
        self.client_key_path = self.state_dir / "keys" / "rehearsal_ed25519"

    # -- keys ------------------------------------------------------------------------------
    def _keys(self) -> tuple[dict[str, asyncssh.SSHKey], asyncssh.SSHKey]:
        kdir = self.state_dir / "keys"
        kdir.mkdir(parents=True, exist_ok=True)
        kdir.chmod(0o700)
        host_keys = {}
        for nd in self.scenario.nodes:
            path = kdir / f"ssh_host_ed25519_key.{nd.name}"
            if not path.exists():
                key = asyncssh.generate_private_key("ssh-ed25519", comment=f"root@{nd.name}")
                key.write_private_key(path)
                key.write_public_key(str(path) + ".pub")
                path.chmod(0o600)
            host_keys[nd.name] = asyncssh.read_private_key(path)
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

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> SimCluster:
        from pverunbook.sim import commands  # noqa: F401 - registers the emulated programs
        from pverunbook.sim.server import NodeServer

        self.state_dir.mkdir(parents=True, exist_ok=True)
        host_keys, client_key = self._keys()
        world = World(self.scenario, self.state_dir / "nodes", self.time_scale)
        (self.state_dir / "nodes").mkdir(exist_ok=True)
        world.build()
        world.finish_boot()
        self.world = world
        nodes = []
        try:
            for nd in self.scenario.nodes:
                srv = NodeServer(world.nodes[nd.name], host_keys[nd.name], self.password,
                                 [client_key])
                port = await srv.start(self._ports.get(nd.name, 0))
                self._servers[nd.name] = srv
                pub = host_keys[nd.name].export_public_key().decode().strip()
                pub = " ".join(pub.split()[:2])
                nodes.append(Node(name=nd.name, host="127.0.0.1", port=port, user="root",
                                  addr=nd.addr, gateway="192.168.4.1", host_key=pub))
        except BaseException:
            await self.stop()
            raise
        self._cluster = Cluster(name="nyc", nodes=tuple(nodes), source="rehearsal")
        world.start_background()
        return self

    async def stop(self) -> None:
        from pverunbook.sim.server import NodeServer

        for srv in self._servers.values():
            assert isinstance(srv, NodeServer)
            await srv.stop()
        self._servers.clear()
        if self.world is not None:
            await self.world.stop_background()

    async def __aenter__(self) -> SimCluster:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def cleanup(self) -> None:
        """Delete the state directory if this object created it (a temp dir)."""
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- queries ---------------------------------------------------------------------------
    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            raise RuntimeError("SimCluster is not started")
        return self._cluster

    def node(self, name: str) -> SimNode:
        if self.world is None:
            raise RuntimeError("SimCluster is not started")
        return self.world.nodes[name]

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
