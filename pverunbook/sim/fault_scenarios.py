"""Rehearsal scenarios for faults the diagnosis names beyond the story's host route.

Each scenario is an ordinary :class:`~pverunbook.sim.scenarios.Scenario` (registered in
``SCENARIOS`` through :func:`fault_scenarios`) plus the :class:`Faults` of this module, which
the simulator's network, ``ip``, ``nft`` and corosync tools ask about through the functions
below. With no faults (every other scenario) the functions answer what a healthy cluster says,
so the tools behave as before.

- ``nyc-udp-blocked``: a firewall rule on pve001 drops part of corosync's UDP from ryanrishi
  (``udp dport 5405 numgen random mod 100 < 30 drop``, the kind of rule an nftables hardening
  leaves behind). ICMP passes untouched, so ping and mtr are clean while the knet link flaps.
  How it looks on a real cluster: testdata/outputs/corosync-3.1.7 (15% then 100% of UDP 5405
  dropped with nftables in network namespaces).
- ``three-node-cut-off``: pve001 and pve002 drop all of ryanrishi's corosync UDP (the
  real-pmxcfs lab's "one node cut off": ``nft … udp dport 5405 drop``): two of three nodes are
  a quorate majority, the inventory's first node is alone. The case where `pvecm expected 1`
  on the first node would make a second quorate partition (votequorum.c accepts it there:
  alone, its total votes are 1).
- ``three-node-mtu``: pve002's cluster NIC and bridge have MTU 1400 (set for a VPN), the others
  1500. knet's path MTU discovery settles on a smaller data MTU on every link to pve002
  (1400 − 103 bytes of knet/crypto overhead = 1297) than between ryanrishi and pve001 (1397);
  ``corosync-cfgtool -n`` and cmap's ``stats.knet.nodeN.link0.mtu`` show it per link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pverunbook.sim.scenarios import Scenario
    from pverunbook.sim.world import SimNode, World

DEFAULT_MTU = 1500
#: knet's headers plus crypto (secauth on, aes256/sha256) on a 1500-byte link: 1500 → 1397
KNET_OVERHEAD = 103


@dataclass(frozen=True)
class Faults:
    """Faults of one scenario that the base :class:`Scenario` has no field for."""

    #: (node, peer): ``node``'s firewall drops ``udp_drop_pct`` % of corosync's UDP from peer
    udp_drop: tuple[tuple[str, str], ...] = ()
    udp_drop_pct: float = 30.0
    #: MTU of a node's cluster NIC and bridge, by node name (others: 1500)
    mtu: Mapping[str, int] = field(default_factory=dict)


FAULTS: dict[str, Faults] = {
    "nyc-udp-blocked": Faults(udp_drop=(("pve001", "ryanrishi"),)),
    "three-node-mtu": Faults(mtu={"pve002": 1400}),
    "three-node-cut-off": Faults(udp_drop=(("pve001", "ryanrishi"), ("pve002", "ryanrishi")),
                                 udp_drop_pct=100.0),
}
NONE = Faults()

def fault_scenarios() -> dict[str, Scenario]:
    """The scenarios of this module, by name (``scenarios.SCENARIOS`` registers them).

    Built on call: this module is imported by the simulator's tools and network before (or
    while) ``scenarios`` is, so it must not need ``scenarios`` at import time.
    """
    from pverunbook.sim.scenarios import NYC3_NODES, NYC_NODES, NYC_VMS, QNETD, Scenario

    return {
        "nyc-udp-blocked": Scenario(
            "nyc-udp-blocked",
            "A firewall rule on pve001 drops 30% of corosync's UDP 5405 from ryanrishi: ping "
            "and mtr are clean, the knet link flaps and quorum comes and goes",
            NYC_NODES, NYC_VMS, qnetd=QNETD),
        "three-node-cut-off": Scenario(
            "three-node-cut-off",
            "Three nodes; firewall rules on pve001 and pve002 drop all corosync UDP 5405 from "
            "ryanrishi (the inventory's first node): pve001 and pve002 are quorate without it, "
            "ryanrishi is alone and not quorate",
            NYC3_NODES, NYC_VMS),
        "three-node-mtu": Scenario(
            "three-node-mtu",
            "Three nodes; pve002's cluster NIC has MTU 1400, the others 1500: knet's data MTU "
            "on the links to pve002 is smaller than between ryanrishi and pve001",
            NYC3_NODES, NYC_VMS),
    }


def faults(world: World) -> Faults:
    """The faults of the world's scenario (none for scenarios defined elsewhere)."""
    return FAULTS.get(world.scenario.name, NONE)


def udp_loss(a: SimNode, b: SimNode) -> float:
    """Loss (percent) of corosync's UDP between two nodes caused by a firewall rule; ICMP and
    everything else pass. The rule drops one direction; knet's link needs both."""
    # here, not with the module: the app imports the scenarios (through this module) to check
    # --scenario before its first frame, and nft's rule parser is not needed for that
    from pverunbook.sim.nft import loss_between

    f = faults(a.world)
    made = loss_between(a.addr, a.nft, b.addr, b.nft, corosync_only=True)
    if (a.name, b.name) in f.udp_drop or (b.name, a.name) in f.udp_drop:
        return max(f.udp_drop_pct, made)
    return made


def iface_mtu(node: SimNode) -> int:
    """MTU of the node's cluster NIC and ``vmbr0``."""
    return faults(node.world).mtu.get(node.name, DEFAULT_MTU)


def knet_mtu(node: SimNode, peer: SimNode | None) -> int:
    """knet's data MTU on the link from ``node`` to ``peer`` after PMTUd: the smaller interface
    MTU of the two ends, less knet's overhead (corosync-cfgtool -n ``mtu:``)."""
    ends = [iface_mtu(node)] + ([iface_mtu(peer)] if peer is not None else [])
    return min(ends) - KNET_OVERHEAD


def global_knet_mtu(node: SimNode) -> int:
    """knet's global data MTU on ``node``: the smallest over its links
    (``pmtud: Global data MTU changed to: N``)."""
    return min((knet_mtu(node, p) for p in node.peers()), default=DEFAULT_MTU - KNET_OVERHEAD)


def nft_ruleset(node: SimNode) -> str:
    """``nft list ruleset`` on ``node``: an accepting input chain, plus the scenario's rule."""
    f = faults(node.world)
    rules = ""
    for src, peer in f.udp_drop:
        if src != node.name:
            continue
        addr = next((p.addr for p in node.peers() if p.name == peer), peer)
        rules += (f"\t\tip saddr {addr} udp dport 5405 drop\n" if f.udp_drop_pct >= 100 else
                  f"\t\tip saddr {addr} udp dport 5405 numgen random mod 100 < "
                  f"{f.udp_drop_pct:g} drop\n")
    return ("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority "
            f"filter; policy accept;\n{rules}\t}}\n}}\n")
