"""knet links: ``corosync-cfgtool -s`` (every layout since corosync 2), ``-b``, ``-n`` and cmapctl.

``corosync-cfgtool -s`` changed its layout with almost every corosync 3 release (domain.md
section 6, corosync tools/corosync-cfgtool.c and the pull requests that changed it):

- corosync 2 (PVE ≤ 5): ``RING ID 0`` / ``id = IP`` / ``status = ring 0 active with no faults``.
- corosync 3.0.0: ``node 0:\tlink enabled:1\tlink connected:1`` — a node *index*, not a nodeid
  (kronosnet issue 194); corosync PR 431 (Feb 2019) printed nodeids instead:
  ``nodeid  2:\tlink enabled:1\tlink connected:1`` (PVE 6.0/6.1, RHEL 8.0-8.2). The local
  node is listed like a peer, and on a second link it may show ``link enabled:0``.
- corosync PR 540 (Mar 2020, 3.0.4; PVE 6.2-6.3): ``nodeid  2:\tconnected`` / ``localhost``.
- corosync 3.1.x: ``Local node ID 1, transport knet`` and ``nodeid:   2:``; from 3.1.5 (PVE 7.1
  and later) ``LINK ID 0 udp`` and ``nodeid:          2:``.

Since corosync PR 546 (3.0.4) ``-s`` exits 1 when a peer is not connected, so exit 1 with link
lines is an answer, not a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.outputs.text import clean


@dataclass(frozen=True)
class LinkPeer:
    nodeid: int
    status: str  # localhost | connected | disconnected | disabled | ... (normalised)
    raw: str = ""  # the status text as printed ("link enabled:1\tlink connected:0")

    @property
    def ok(self) -> bool:
        return self.status.startswith(("localhost", "connected"))


@dataclass
class LinkStatus:
    link: int
    addr: str | None = None
    transport: str | None = None  # "udp" on 3.1.5+ ("LINK ID 0 udp")
    peers: list[LinkPeer] = field(default_factory=list)
    brief: str | None = None  # -b: "n33", one character per node in nodelist order
    legacy_status: str | None = None  # corosync 2 "RING ID": "ring 0 active with no faults"

    @property
    def legacy_faulty(self) -> bool:
        """corosync 2 marks a failed ring ``FAULTY`` (``Marking ringid 0 interface … FAULTY``)."""
        return self.legacy_status is not None and "FAULTY" in self.legacy_status.upper()


@dataclass
class CfgtoolStatus:
    """What ``corosync-cfgtool -s`` printed. With ``generation == "3.0.0 (node index)"`` the
    ``nodeid`` of each :class:`LinkPeer` is the node's index in the nodelist, not its id."""

    local_nodeid: int | None = None
    transport: str | None = None
    links: list[LinkStatus] = field(default_factory=list)
    #: "corosync2", "3.0.0 (node index)", "3.0.1-3.0.3", "3.0.4-3.1.0", "3.1.2-3.1.4", "3.1.5+",
    #: "brief" or "unknown"
    generation: str = "unknown"
    error: str | None = None  # "Could not initialize corosync configuration API error 2"


_PEER = re.compile(r"^\s*node(?:id)?:?\s+(\d{1,10}):\s*(.*\S)\s*$")
_OLD_FLAGS = re.compile(r"link enabled:\s*(\d)\s+link connected:\s*(\d)")


def _normalise(status: str) -> str:
    """``link enabled:E link connected:C`` (corosync 3.0.0-3.0.3) in today's words.

    connected:1 is connected whatever ``enabled`` says: 3.0.x reports the local node on a
    second link as ``enabled:0 connected:1`` (corosync PR 431).
    """
    m = _OLD_FLAGS.search(status)
    if not m:
        return status
    if m.group(2) == "1":
        return "connected"
    return "disabled" if m.group(1) == "0" else "disconnected"


def parse_cfgtool_status(text: str) -> CfgtoolStatus:
    """Parse ``corosync-cfgtool -s`` (every layout in the module docstring) and ``-b``.

    Never raises; ``links`` is empty when the text holds no link lines (then ``error`` may say
    why, e.g. corosync is not running).
    """
    out = CfgtoolStatus()
    cur: LinkStatus | None = None
    for raw in clean(text).splitlines():
        line = raw.strip()
        if re.match(r"Could not |Cannot initiali[sz]e", line):
            out.error = out.error or line
            continue
        m = re.match(r"Local node ID (\d{1,10})(?:, transport (\S+))?", line)
        if m:
            out.local_nodeid = int(m.group(1))
            out.transport = m.group(2)
            continue
        m = re.match(r"(LINK|RING|Link|Ring) ID (\d{1,3})(?:\s+(\S+))?$", line)
        if m:
            cur = LinkStatus(int(m.group(2)), transport=m.group(3))
            out.links.append(cur)
            if m.group(1).upper() == "RING":
                out.generation = "corosync2"
            continue
        if cur is None:
            continue
        m = re.match(r"(addr|id)\s*=\s*(\S+)", line)
        if m:
            cur.addr = m.group(2)
            continue
        m = re.match(r"status\s*=\s*(.+)$", line)
        if m:
            if out.generation == "corosync2":
                cur.legacy_status = m.group(1)
            else:
                cur.brief = m.group(1)
            continue
        m = _PEER.match(raw)
        if m:
            cur.peers.append(LinkPeer(int(m.group(1)), _normalise(m.group(2)), m.group(2)))
            if out.generation == "unknown":
                if re.match(r"\s*node\s", raw):
                    out.generation = "3.0.0 (node index)"
                elif _OLD_FLAGS.search(m.group(2)):
                    out.generation = "3.0.1-3.0.3"
                elif re.match(r"\s*nodeid:\s{5,}", raw):
                    out.generation = "3.1.5+"
                elif re.match(r"\s*nodeid:", raw):
                    out.generation = "3.1.2-3.1.4"
                else:
                    out.generation = "3.0.4-3.1.0"
    if out.generation == "unknown" and any(lk.brief for lk in out.links):
        out.generation = "brief"
    return out


@dataclass(frozen=True)
class KnetLink:
    link: int
    src: str
    dst: str
    enabled: bool
    connected: bool
    mtu: int | None
    transport: str | None = None


@dataclass
class KnetNode:
    nodeid: int
    reachable: bool
    links: list[KnetLink] = field(default_factory=list)


_N_LINK = re.compile(
    r"LINK:\s*(\d{1,3})\s+(?:(\w+)\s+)?\(([^)]*?)->([^)]*)\)\s*(.*?)(?:mtu:\s*(\d{1,9}))?\s*$"
)


def parse_cfgtool_nodes(text: str) -> list[KnetNode]:
    """Parse ``corosync-cfgtool -n`` (per-node reachability and knet link details)."""
    nodes: list[KnetNode] = []
    for raw in clean(text).splitlines():
        line = raw.strip()
        m = re.match(r"nodeid:?\s+(\d{1,10})\s+(\w+)", line)
        if m:
            nodes.append(KnetNode(int(m.group(1)), m.group(2) == "reachable"))
            continue
        m = _N_LINK.match(line)
        if m and nodes:
            words = m.group(5).split()
            nodes[-1].links.append(
                KnetLink(
                    int(m.group(1)),
                    m.group(3),
                    m.group(4),
                    "enabled" in words,
                    "connected" in words,
                    int(m.group(6)) if m.group(6) else None,
                    m.group(2),
                )
            )
    return nodes


# --- corosync-cmapctl -----------------------------------------------------------------------

_CMAP = re.compile(r"^(\S+) \((\w+)\) = ?(.*)$")


def parse_cmapctl(text: str) -> dict[str, str]:
    """``key (type) = value`` lines into a dict of strings."""
    out: dict[str, str] = {}
    for line in clean(text).splitlines():
        m = _CMAP.match(line.strip())
        if m:
            out[m.group(1)] = m.group(3)
    return out


def knet_link_stats(cmap: dict[str, str]) -> dict[tuple[int, int], dict[str, int]]:
    """``stats.knet.nodeN.linkM.X`` counters grouped by (nodeid, link)."""
    out: dict[tuple[int, int], dict[str, int]] = {}
    for key, value in cmap.items():
        m = re.fullmatch(r"stats\.knet\.node(\d{1,10})\.link(\d{1,3})\.(\w+)", key)
        if m and re.fullmatch(r"-?\d{1,20}", value):
            out.setdefault((int(m.group(1)), int(m.group(2))), {})[m.group(3)] = int(value)
    return out


def cmap_nodelist(cmap: dict[str, str]) -> dict[int, tuple[str | None, str | None]]:
    """``nodelist.node.N.{nodeid,name,ring0_addr}`` as nodeid → (name, ring0 address)."""
    by_pos: dict[str, dict[str, str]] = {}
    for key, value in cmap.items():
        m = re.fullmatch(r"nodelist\.node\.(\d{1,6})\.(nodeid|name|ring0_addr)", key)
        if m:
            by_pos.setdefault(m.group(1), {})[m.group(2)] = value.strip()
    out: dict[int, tuple[str | None, str | None]] = {}
    for entry in by_pos.values():
        nid = entry.get("nodeid", "")
        if re.fullmatch(r"\d{1,10}", nid):
            out[int(nid)] = (entry.get("name"), entry.get("ring0_addr"))
    return out
