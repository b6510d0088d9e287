"""A lossy pair among three nodes, as the real-pmxcfs lab shows it (the sim-vs-lab parity
test, tests/integration/test_lab_sim_parity.py, case ``lossy-pair``), and knet's counters of a
healthy link.

- libknet links.c ``knet_link_set_enable``: enabling a link whose peer has not answered yet
  goes through ``_link_updown(connected=0)``, which counts a down: every peer link reads
  ``down_count`` 1 from corosync's start, the node's own (loopback) link 0.
- pve-cluster dfsm.c ``dfsm_cpg_confchg_callback``: every member's DFSM goes back to
  DFSM_MODE_START_SYNC at each configuration change and queues writes until synced, so the
  third node, whose own links are clean, hangs its writes too; dcdb.c
  ``dcdb_send_fuse_message`` checks quorum when the write enters: the node the flapping link
  has dropped from the membership answers EACCES at once.
- totem leaves out the lower node id of the two ends (the lab: nodeid 2 every time).
"""

from __future__ import annotations

import pytest

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

LOSSY = ("nft add table inet t && nft 'add chain inet t out {{ type filter hook output priority "
         "0; policy accept; }}' && nft 'add rule inet t out ip daddr {peer} udp dport 5405 "
         "numgen random mod 100 < 30 drop'")



async def test_a_healthy_link_counts_its_start_as_one_down(three: SimCluster) -> None:
    _, out, _ = await sh(three, "ryanrishi", "corosync-cmapctl -m stats | grep -E "
                         "'link0.(down|up)_count'")
    assert out.splitlines() == [
        "stats.knet.node1.link0.down_count (u32) = 0", "stats.knet.node1.link0.up_count (u32) = 1",
        "stats.knet.node2.link0.down_count (u32) = 1", "stats.knet.node2.link0.up_count (u32) = 1",
        "stats.knet.node3.link0.down_count (u32) = 1", "stats.knet.node3.link0.up_count (u32) = 1"]


async def test_a_lossy_pair_hangs_the_third_nodes_writes_and_the_dropped_node_refuses(
        three: SimCluster) -> None:
    assert (await sh(three, "pve001", LOSSY.format(peer="192.168.4.202")))[0] == 0
    assert (await sh(three, "pve002", LOSSY.format(peer="192.168.4.201")))[0] == 0
    for _ in range(60):  # until the flapping link has dropped pve001 from the membership
        await three.advance(1)
        _, out, _ = await sh(three, "pve001", "corosync-quorumtool -s")
        if "Quorate:          No" in out:
            break
    else:
        pytest.fail("the lossy link never dropped pve001 from the membership")
    # totem leaves out the lower node id of the pair (the lab: always nodeid 2, never 3)
    _, out, _ = await sh(three, "pve002", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out
    st, out, err = await sh(three, "pve001", "timeout 5 touch /etc/pve/probe; echo rc=$?")
    assert out == "rc=1\n" and "Permission denied" in err, (out, err)
    _, out, _ = await sh(three, "ryanrishi", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out
    _, out, _ = await sh(three, "ryanrishi", "timeout 5 touch /etc/pve/probe; echo rc=$?")
    assert out == "rc=124\n"
