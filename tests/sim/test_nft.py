"""The simulated nft: the rules the real-pmxcfs lab uses to break corosync's links
(tests/integration/bed.py ``drop``/``cut``) break the simulated cluster the same way, so one
command makes the same fault on both and the simulator can be held to the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.sim import SimCluster
from pverunbook.sim.nft import Ruleset, loss_between
from tests.sim.conftest import STORY_EPOCH, sh

pytest.importorskip("asyncssh")

TABLE = "pvrbbed"
SETUP = (f"nft add table inet {TABLE} && nft 'add chain inet {TABLE} out {{ type filter hook "
         "output priority 0; policy accept; }'")


def drop(peer_addr: str, pct: int | None = None) -> str:
    share = f" numgen random mod 100 < {pct}" if pct is not None else ""
    return (f"{SETUP} && nft 'add rule inet {TABLE} out ip daddr {peer_addr} udp dport 5405"
            f"{share} drop'")


async def test_dropping_corosync_udp_both_ways_costs_quorum_and_ping_still_works(
        healthy: SimCluster) -> None:
    a, b = "ryanrishi", "pve001"
    addr = {n: healthy.world.nodes[n].addr for n in (a, b)}
    assert (await sh(healthy, a, "corosync-quorumtool -s"))[1].count("Quorate:          Yes") == 1
    for src, dst in ((a, b), (b, a)):
        rc, _, err = await sh(healthy, src, drop(addr[dst]))
        assert rc == 0, err
    await healthy.advance(60)
    for n in (a, b):
        rc, out, _ = await sh(healthy, n, "corosync-quorumtool -s")
        assert "Quorate:          No" in out, out
        rc, _, err = await sh(healthy, n, f"timeout 5 touch /etc/pve/nodes/{n}/probe")
        assert rc == 1 and "Permission denied" in err, (rc, err)  # EACCES, as real pmxcfs
    rc, out, _ = await sh(healthy, a, f"ping -c 5 -i 0.2 {addr[b]}")
    assert rc == 0 and " 0% packet loss" in out, out  # only UDP 5405 is dropped
    listed = (await sh(healthy, a, "nft list ruleset"))[1]
    assert f"ip daddr {addr[b]} udp dport 5405 drop" in listed, listed
    # deleting the table heals the link, as the lab's heal() does
    for n in (a, b):
        assert (await sh(healthy, n, f"nft delete table inet {TABLE}"))[0] == 0
    await healthy.advance(60)
    for n in (a, b):
        assert "Quorate:          Yes" in (await sh(healthy, n, "corosync-quorumtool -s"))[1]


async def test_rules_survive_a_new_session_and_errors_are_nfts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as sim:
        rc, _, err = await sh(sim, "pve001", f"nft add rule inet {TABLE} out ip daddr 1.2.3.4 drop")
        assert rc == 1 and err.startswith("Error: Could not process rule: No such file"), err
        rc, _, err = await sh(sim, "pve001", "nft frobnicate")
        assert rc == 1 and err.startswith("Error: syntax error"), err
        addr = sim.world.nodes["ryanrishi"].addr
        assert (await sh(sim, "pve001", drop(addr)))[0] == 0
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as again:
        listed = (await sh(again, "pve001", "nft list ruleset"))[1]
        assert f"ip daddr {addr} udp dport 5405 drop" in listed, listed
        await again.advance(60)
        out = (await sh(again, "pve001", "corosync-quorumtool -s"))[1]
        assert "Quorate:          No" in out, out


def test_loss_between_counts_only_rules_between_the_two_nodes() -> None:
    a, b = Ruleset(), Ruleset()
    a.run(f"add table inet {TABLE}".split())
    a.run(f"add chain inet {TABLE} out {{ type filter hook output priority 0 ; }}".split())
    a.run(f"add rule inet {TABLE} out ip daddr 10.0.0.2 udp dport 5405 numgen random mod 100 "
          "< 30 drop".split())
    a.run(f"add rule inet {TABLE} out ip daddr 10.0.0.3 drop".split())
    assert loss_between("10.0.0.1", a, "10.0.0.2", b, corosync_only=True) == 30
    assert loss_between("10.0.0.1", a, "10.0.0.2", b, corosync_only=False) == 0  # ICMP passes
    assert loss_between("10.0.0.1", a, "10.0.0.3", b, corosync_only=False) == 100
    assert loss_between("10.0.0.2", b, "10.0.0.3", Ruleset(), corosync_only=True) == 0
    back = Ruleset.from_json(a.to_json())
    assert back.listing() == a.listing()
