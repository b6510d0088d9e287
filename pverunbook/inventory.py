"""The cluster inventory: which nodes a run targets and how to reach them (TOML).

```toml
[cluster]
name = "nyc"

[[nodes]]
name = "ryanrishi"        # the Proxmox node name (what `hostname` says)
host = "192.168.4.200"    # what SSH connects to; may be a ~/.ssh/config Host alias
addr = "192.168.4.200"    # corosync ring0 address (defaults to host)
addr1 = "10.10.10.1"      # optional: address on a second corosync link (ring1)
port = 22
user = "root"
gateway = "192.168.4.1"   # optional, used by network triage
nodeid = 1                # optional: corosync nodeid, so findings name "host 1" by node name
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.runbook.positions import key_positions, nearest


@dataclass(frozen=True)
class Node:
    name: str
    host: str
    port: int | None = None
    user: str | None = None
    addr: str = ""
    #: Address on a second corosync link (ring1_addr), for runbooks that add or check link 1.
    addr1: str = ""
    gateway: str = ""
    #: Host key pinned for this node (OpenSSH public key line); the rehearsal cluster sets it.
    host_key: str = ""
    #: corosync nodeid (corosync.conf nodelist), so log lines about "host: 2" name the node.
    nodeid: int | None = None

    @property
    def ring_addr(self) -> str:
        return self.addr or self.host


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]
    source: str = ""

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


class InventoryError(Exception):
    pass


NODE_KEYS = {"name", "host", "port", "user", "addr", "addr1", "gateway", "host_key", "nodeid"}


def local_cluster() -> Cluster:
    """This machine as a one-node cluster, for ``--local`` runs."""
    import socket

    name = socket.gethostname() or "localhost"
    return Cluster(name="local", nodes=(Node(name=name, host="localhost", addr="127.0.0.1"),),
                   source="--local")


#: What an inventory looks like, for error messages (the format is in runbooks/README.md).
INVENTORY_HINT = ('give a TOML file with a [cluster] table (name = "CLUSTER") and one '
                  '[[nodes]] table per node (name = "pve1", host = "ssh host or address", '
                  'addr = "ring0 address"), like runbooks/clusters/nyc.toml')


def load_cluster(path: str | Path) -> Cluster:
    from pverunbook.runbook import tomlfile

    p = Path(path)
    try:
        text = tomlfile.read_text(p, "cluster inventory")
    except tomlfile.TomlFileError as exc:
        raise InventoryError(f"{exc}; {INVENTORY_HINT}") from exc
    return parse_cluster(text, str(p))


def parse_cluster(text: str, file: str = "<cluster>") -> Cluster:
    from pverunbook.runbook import tomlfile

    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomlfile.parse(text, file)
    except tomlfile.TomlFileError as exc:
        raise InventoryError(str(exc)) from exc
    pos = key_positions(text)
    errors: list[str] = []

    def err(path: tuple[str | int, ...], msg: str) -> None:
        line, col = nearest(pos, path)
        errors.append(f"{file}:{line}:{col}: {msg}")

    for key in data:
        if key not in ("cluster", "nodes"):
            err((key,), f"unknown key '{key}' (expected [cluster] and [[nodes]])")
    cl = data.get("cluster", {})
    if not isinstance(cl, dict) or not isinstance(cl.get("name"), str) or not cl.get("name"):
        err(("cluster",), "[cluster] needs name = \"<cluster name>\"")
        cl = {"name": ""}
    for key in cl:
        if key != "name":
            err(("cluster", key), f"unknown key '{key}' in [cluster]")
    nodes: list[Node] = []
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        err(("nodes",), f"at least one [[nodes]] entry is needed; {INVENTORY_HINT}")
        raw_nodes = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            err(("nodes", i), "a node must be a table")
            continue
        for key in raw:
            if key not in NODE_KEYS:
                err(("nodes", i, key), f"unknown key '{key}' in a node (one of "
                    f"{', '.join(sorted(NODE_KEYS))})")
        name, host = raw.get("name"), raw.get("host")
        if not isinstance(name, str) or not name:
            err(("nodes", i), "a node needs name = \"<node name>\"")
            continue
        if name in seen:
            err(("nodes", i, "name"), f"duplicate node '{name}'")
        seen.add(name)
        if not isinstance(host, str) or not host:
            host = name
        port = raw.get("port")
        if port is not None and (not isinstance(port, int) or isinstance(port, bool)
                                 or not 0 < port < 65536):
            err(("nodes", i, "port"), "port must be a number from 1 to 65535")
            port = None
        nodeid = raw.get("nodeid")
        if nodeid is not None and (not isinstance(nodeid, int) or isinstance(nodeid, bool)
                                   or not 0 < nodeid < 2**32):
            err(("nodes", i, "nodeid"), "nodeid must be corosync's node id, a number from 1")
            nodeid = None
        nodes.append(Node(name=name, host=host, port=port, user=_opt_str(raw, "user"),
                          addr=_opt_str(raw, "addr") or "", addr1=_opt_str(raw, "addr1") or "",
                          gateway=_opt_str(raw, "gateway") or "",
                          host_key=_opt_str(raw, "host_key") or "", nodeid=nodeid))
    if errors:
        raise InventoryError("\n".join(errors))
    return Cluster(name=str(cl["name"]), nodes=tuple(nodes), source=file)


def _opt_str(raw: dict[str, Any], key: str) -> str | None:
    v = raw.get(key)
    return v if isinstance(v, str) else None


def dump_cluster(cluster: Cluster) -> str:
    import tomlkit  # here, not with the module: the app imports this before its first frame

    doc = tomlkit.document()
    doc.add("cluster", {"name": cluster.name})
    aot = tomlkit.aot()
    for n in cluster.nodes:
        t = tomlkit.table()
        t.add("name", n.name)
        t.add("host", n.host)
        if n.port:
            t.add("port", n.port)
        if n.user:
            t.add("user", n.user)
        if n.addr:
            t.add("addr", n.addr)
        if n.addr1:
            t.add("addr1", n.addr1)
        if n.gateway:
            t.add("gateway", n.gateway)
        if n.host_key:
            t.add("host_key", n.host_key)
        if n.nodeid is not None:
            t.add("nodeid", n.nodeid)
        aot.append(t)
    doc.add("nodes", aot)
    return tomlkit.dumps(doc)
