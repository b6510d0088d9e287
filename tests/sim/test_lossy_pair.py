"""A lossy pair among three nodes, as the real-pmxcfs lab shows it (the sim-vs-lab parity
test, tests/integration/test_lab_sim_parity.py, case ``lossy-pair``), and knet's counters of a
healthy link.

- libknet links.c ``knet_link_set_enable``: enabling a link whose peer has not answered yet
  goes through ``_link_updown(connected=0)``, which counts a down: every peer link reads
  ``down_count`` 1 from corosync's start, the node's own (loopback) link 0.
- pve-cluster dfsm.c ``dfsm_cpg_confchg_callback``: every member's DFSM goes back to
  DFSM_MODE_START_SYNC at each configuration change and queues writes until synced. While the
  lossy link joins two members the sync does not end (the lab: "starting data
  syncronisation" and nothing more until the next change), so the third node, whose own links
  are clean, hangs its writes too; a membership without the lossy link syncs and takes them.
  dcdb.c ``dcdb_send_fuse_message`` checks quorum when the write enters: the node the flapping
  link has dropped from the membership answers EACCES at once.
- totem leaves out the lower node id of the two ends (the lab: nodeid 2 every time).
"""

from __future__ import annotations

import asyncio

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


async def until(cluster: SimCluster, node: str, text: str) -> None:
    """Advance the world a second at a time until ``corosync-quorumtool -s`` on ``node`` shows
    ``text`` (at most a minute)."""
    for _ in range(60):
        await cluster.advance(1)
        _, out, _ = await sh(cluster, node, "corosync-quorumtool -s")
        if text in out:
            return
    pytest.fail(f"{node} never showed {text!r}")


async def last_dcdb_line(cluster: SimCluster, node: str) -> str:
    _, out, _ = await sh(cluster, node, "journalctl -u pve-cluster --no-pager | grep '\\[dcdb\\]' "
                                        "| tail -n 1")
    return out.strip().split(": ", 1)[-1]


async def test_a_lossy_pair_hangs_writes_while_its_link_is_in_the_membership(
        three: SimCluster) -> None:
    assert (await sh(three, "pve001", LOSSY.format(peer="192.168.4.202")))[0] == 0
    assert (await sh(three, "pve002", LOSSY.format(peer="192.168.4.201")))[0] == 0
    await until(three, "pve001", "Quorate:          No")
    # totem leaves out the lower node id of the pair (the lab: always nodeid 2, never 3)
    _, out, _ = await sh(three, "pve002", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out
    st, out, err = await sh(three, "pve001", "timeout 5 touch /etc/pve/probe; echo rc=$?")
    assert out == "rc=1\n" and "Permission denied" in err, (out, err)
    # the two left synced at once (no lossy link between them) and take writes: on the lab
    # the quorate side's queued writes landed when such a two-node membership had synced, and
    # the health check's write probe right after the first drop went through
    assert await last_dcdb_line(three, "ryanrishi") == "[dcdb] notice: all data is up to date"
    _, out, _ = await sh(three, "ryanrishi", "timeout 5 touch /etc/pve/probe; echo rc=$?")
    assert out == "rc=0\n"
    # the lossy link back inside the membership: the sync never ends (the lab: "starting data
    # syncronisation", nothing more until the next change), and every member's write waits,
    # the third node's too, whose own links are clean
    await until(three, "ryanrishi", "Nodes:            3")
    assert await last_dcdb_line(three, "ryanrishi") == \
        "[dcdb] notice: starting data syncronisation"
    names = ("ryanrishi", "pve001", "pve002")
    got = await asyncio.gather(*(sh(three, node, "timeout 5 touch /etc/pve/probe2; echo rc=$?")
                                 for node in names))  # at the same moment
    assert {n: out for n, (_, out, _) in zip(names, got, strict=True)} == dict.fromkeys(
        names, "rc=124\n")
