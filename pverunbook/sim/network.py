"""The simulated cluster network: one L2 segment behind a home router, per pair of nodes.

Every node reaches every other node directly (one hop on ``vmbr0``) unless it carries a host
route to that peer through the router (``ip route add <peer> via <gateway>``), as ryanrishi
did in the story (domain.md §10: an mtr with the router as hop 1 between two nodes on one
subnet). Such a routed pair loses ``Scenario.gateway_loss_pct`` of its packets in both
directions (the replies of the other side ride the same congested path back), every other
pair is clean. Deleting the route heals exactly that pair.

A lossy pair's knet link flaps on a seeded schedule (down 10–26 s, up 4–10 s) while the token
of either end is shorter than :data:`STABLE_TOKEN_MS`; a longer token rides the bursts out.
The schedule is per pair and reproducible: the same seed gives the same flaps.
"""

from __future__ import annotations

import bisect
import random
import zlib
from typing import TYPE_CHECKING

from pverunbook.sim.fault_scenarios import udp_loss
from pverunbook.sim.nft import loss_between

if TYPE_CHECKING:
    from pverunbook.sim.world import SimNode, World

STABLE_TOKEN_MS = 5000  # a token this long rides out the simulated link's loss bursts
#: Loss (percent) the router's ICMP time-exceeded rate limit shows at its hop (not real loss).
ROUTER_ICMP_LIMIT_PCT = 84.0


def pair_key(a: SimNode, b: SimNode) -> tuple[str, str]:
    """The unordered pair as a sorted tuple of node names."""
    return (a.name, b.name) if a.name <= b.name else (b.name, a.name)


class Network:
    """Loss, routes and the knet link schedule of every pair of nodes in one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.loss_pct = world.scenario.gateway_loss_pct
        self.gateway = world.scenario.gateway
        #: per pair: link-down periods (start, end), and how far the schedule is drawn
        self._segments: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self._until: dict[tuple[str, str], float] = {}
        self._rngs: dict[tuple[str, str], random.Random] = {}
        self._origin = world.history_start  # the schedule starts with the history

    # -- routes and loss -------------------------------------------------------------------
    def peer_by_addr(self, addr: str) -> SimNode | None:
        """The node with this ring address, name or ``name.lan`` (None if not a node)."""
        for n in self.world.nodes.values():
            if addr in (n.addr, n.name, f"{n.name}.lan", n.link_local):
                return n
        return None

    def routed(self, src: SimNode, dst: SimNode) -> bool:
        """Whether ``src`` sends traffic for ``dst`` through the router (a host route)."""
        return src is not dst and dst.addr in src.host_routes

    def pair_loss(self, a: SimNode, b: SimNode) -> float:
        """Packet loss (percent) between two nodes, the same both ways."""
        if a is b:
            return 0.0
        routed = self.loss_pct if (self.routed(a, b) or self.routed(b, a)) else 0.0
        return max(routed, loss_between(a.addr, a.nft, b.addr, b.nft, corosync_only=False))

    def pair_cut(self, a: SimNode, b: SimNode) -> bool:
        """All of the pair's corosync traffic is dropped (a firewall rule dropping UDP 5405
        both ways): the knet link is down for good, whatever the token."""
        return a is not b and max(self.pair_loss(a, b), udp_loss(a, b)) >= 100

    def pair_flapping(self, a: SimNode, b: SimNode) -> bool:
        """The pair's knet link flaps: lossy (or its corosync UDP dropped by a firewall rule,
        :func:`~pverunbook.sim.fault_scenarios.udp_loss`), and a running corosync with a short
        token. A cut pair does not flap: it stays down."""
        loss = max(self.pair_loss(a, b), udp_loss(a, b))
        if loss < 5 or loss >= 100:
            return False
        tokens = [n.corosync.token for n in (a, b) if n.corosync.running]
        return bool(tokens) and min(tokens) < STABLE_TOKEN_MS

    def flapping_pairs(self) -> list[tuple[SimNode, SimNode]]:
        nodes = sorted(self.world.nodes.values(), key=lambda n: n.nodeid)
        return [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]
                if self.pair_flapping(a, b)]

    def node_flapping(self, n: SimNode) -> bool:
        """One of this node's own links flaps."""
        return any(n in pair for pair in self.flapping_pairs())

    # -- the flap schedule -----------------------------------------------------------------
    def _extend(self, key: tuple[str, str], until: float) -> list[tuple[float, float]]:
        segs = self._segments.setdefault(key, [])
        if key not in self._rngs:
            salt = zlib.crc32(f"{key[0]}|{key[1]}".encode())
            self._rngs[key] = random.Random(self.world.seed * 7919 + 13 + salt)
        rng = self._rngs[key]
        t = self._until.get(key, self._origin)
        while t < until:
            up = rng.uniform(4.0, 10.0)
            down = rng.uniform(10.0, 26.0)
            segs.append((t + up, t + up + down))
            t += up + down
        self._until[key] = t
        return segs

    def link_up_at(self, a: SimNode, b: SimNode, t: float) -> bool:
        """Whether the knet link between ``a`` and ``b`` carries traffic at simulated ``t``."""
        if self.pair_cut(a, b):
            return False
        if not self.pair_flapping(a, b):
            return True
        segs = self._extend(pair_key(a, b), t + 60)
        i = bisect.bisect_right(segs, (t, float("inf"))) - 1
        return not (i >= 0 and segs[i][0] <= t < segs[i][1])

    def boundaries(self, t0: float, t1: float) -> list[float]:
        """Sorted moments in (t0, t1] at which some flapping link goes down or comes up."""
        out: list[float] = []
        for a, b in self.flapping_pairs():
            for s, e in self._extend(pair_key(a, b), t1 + 60):
                if e < t0:
                    continue
                if s > t1:
                    break
                out += [x for x in (s, e) if t0 < x <= t1]
        return sorted(out)

    # -- what the kernel would say ---------------------------------------------------------
    def route(self, node: SimNode, dst: str) -> tuple[str | None, str]:
        """(gateway or None, device) the kernel picks on ``node`` for ``dst``."""
        peer = self.peer_by_addr(dst)
        if peer is node or dst.startswith("127.") or dst in ("localhost", "::1"):
            return None, "lo"
        if peer is not None:
            return (self.gateway, "vmbr0") if self.routed(node, peer) else (None, "vmbr0")
        if dst.startswith("fe80:"):
            return None, "vmbr0"
        if dst in node.host_routes:
            return self.gateway, "vmbr0"
        if dst.startswith("192.168.4."):
            return None, "vmbr0"
        return self.gateway, "vmbr0"
