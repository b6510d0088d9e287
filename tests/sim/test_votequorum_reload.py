"""The simulator's corosync/pmxcfs behaviours that corosync-tuning depends on, as the real
programs behave (sources in :mod:`pverunbook.sim.corosync_daemon`):

- votequorum refuses ``pvecm expected N`` below the votes present, and refuses to make a quorate
  node inquorate; a lowered value is raised again when nodes rejoin (votequorum.c
  ``message_handler_req_lib_votequorum_setexpected``, ``recalculate_quorum``);
- a node that is cut off alone accepts ``pvecm expected 1`` — which is why corosync-tuning must
  never run it there while the others are a quorate majority (split brain);
- without quorum a write into /etc/pve fails at once with EACCES (pmxcfs dcdb.c
  ``dcdb_send_fuse_message``), reads still work;
- only the node that wrote corosync.conf runs ``corosync-cfgtool -R``; a node that gets the
  file through a resync keeps its old running token until the next ``-R`` (dcdb.c
  ``dcdb_sync_corosync_conf`` / ``dcdb_commit``);
- a corosync started with an older config_version than its peers run exits at its first sync
  (cmap.c ``cmap_sync_activate``).

Stepped clock: simulated time moves only when a command waits or the test advances it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pverunbook.sim import SimCluster
from tests.sim.conftest import STORY_EPOCH, sh
from tests.sim.test_reactions import wait_for

BUMP = (
    "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.new && "
    "sed -i 's/config_version: 5/config_version: 6/; s/  secauth: on/  secauth: on\\n"
    "  token: 5000/' /etc/pve/corosync.conf.new && "
    "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf"
)


async def started(tmp_path: Path, scenario: str) -> SimCluster:
    return await SimCluster(scenario, state_dir=tmp_path / "state", time_scale=0.002,
                            stepped_from=STORY_EPOCH).start()


@pytest.fixture
async def three(tmp_path: Path) -> AsyncIterator[SimCluster]:
    sim = await started(tmp_path, "three-node")
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def cut_off(tmp_path: Path) -> AsyncIterator[SimCluster]:
    sim = await started(tmp_path, "three-node-cut-off")
    try:
        yield sim
    finally:
        await sim.stop()


async def test_expected_below_the_votes_present_is_refused(three: SimCluster) -> None:
    st, _, err = await sh(three, "pve001", "pvecm expected 1")
    assert st == 1
    assert err == "Unable to set expected votes: CS_ERR_INVALID_PARAM\n"
    _, out, _ = await sh(three, "pve001", "corosync-quorumtool -s")
    assert "Expected votes:   3\n" in out and "Quorate:          Yes" in out


async def test_cut_off_node_accepts_expected_one_and_makes_a_second_quorate_partition(
        cut_off: SimCluster) -> None:
    _, out, _ = await sh(cut_off, "pve001", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out and "Nodes:            2" in out
    _, out, _ = await sh(cut_off, "ryanrishi", "corosync-quorumtool -s")
    assert "Quorate:          No" in out and "Nodes:            1" in out
    assert not cut_off.split_brain  # one quorate partition (a majority) is no split brain
    # alone, its total votes are 1: votequorum accepts the value
    st, _, err = await sh(cut_off, "ryanrishi", "pvecm expected 1")
    assert (st, err) == (0, "")
    _, out, _ = await sh(cut_off, "ryanrishi", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out
    assert cut_off.split_brain  # pve001+pve002 and ryanrishi are both quorate now


async def test_write_without_quorum_fails_at_once_with_eacces(cut_off: SimCluster) -> None:
    st, out, err = await sh(cut_off, "ryanrishi",
                            "cat /etc/pve/corosync.conf >/dev/null; echo read $?; "
                            "touch /etc/pve/probe; echo write $?")
    assert out == "read 0\nwrite 1\n"
    assert "touch: cannot touch '/etc/pve/probe': Permission denied" in err
    st, out, _ = await sh(cut_off, "pve001", "touch /etc/pve/probe; echo write $?")
    assert out == "write 0\n"


async def test_lowered_expected_votes_are_raised_on_rejoin_and_not_set_back_by_hand(
        tmp_path: Path) -> None:
    sim = await started(tmp_path, "nyc-outage")  # the flapping link: alone, then together
    try:
        await wait_for(sim, "ryanrishi", "corosync-quorumtool -s", "Nodes:            1")
        st, _, err = await sh(sim, "ryanrishi", "pvecm expected 1")
        assert (st, err) == (0, "")
        _, out, _ = await sh(sim, "ryanrishi", "corosync-quorumtool -s")
        assert "Expected votes:   1\n" in out and "Quorate:          Yes" in out
        # setting it back by hand while the peer is away: refused (a quorate node would
        # become inquorate)
        st, _, err = await sh(sim, "ryanrishi", "pvecm expected 2")
        assert (st, err) == (1, "Unable to set expected votes: CS_ERR_INVALID_PARAM\n")
        # the peer rejoins: votequorum raises the expected votes by itself
        out = await wait_for(sim, "ryanrishi", "corosync-quorumtool -s", "Nodes:            2")
        assert "Expected votes:   2\n" in out
    finally:
        await sim.stop()


async def test_only_the_writer_reloads_and_a_resynced_node_keeps_the_old_token(
        three: SimCluster) -> None:
    st, _, _ = await sh(three, "pve002", "systemctl stop pve-cluster")
    assert st == 0
    st, _, err = await sh(three, "ryanrishi", BUMP)
    assert (st, err) == (0, "")
    for node in ("ryanrishi", "pve001"):
        _, out, _ = await sh(three, node, "corosync-cmapctl -g totem.token")
        assert out == "totem.token (u32) = 5000\n", node
    _, log, _ = await sh(three, "pve001", "journalctl -u corosync --no-pager")
    assert "Config reload requested by node 1" in log  # ryanrishi's -R, not its own
    # pve002's pmxcfs was down: its local file is old, and the -R made it reload that one
    _, out, _ = await sh(three, "pve002", "grep config_version /etc/corosync/corosync.conf")
    assert out.split() == ["config_version:", "5"]
    # pmxcfs comes back, resyncs, writes the local file -- and does not reload corosync
    await sh(three, "pve002", "systemctl start pve-cluster")
    await three.advance(2)
    _, out, _ = await sh(three, "pve002", "grep config_version /etc/corosync/corosync.conf")
    assert out.split() == ["config_version:", "6"]
    st, out, _ = await sh(three, "pve002", "corosync-cmapctl -g totem.token")
    assert "= 5000" not in out
    # one more cluster-wide reload, from any node, brings it in line
    st, out, _ = await sh(three, "pve001", "corosync-cfgtool -R")
    assert (st, out) == (0, "Reloading corosync.conf...\nDone\n")
    _, out, _ = await sh(three, "pve002", "corosync-cmapctl -g totem.token")
    assert out == "totem.token (u32) = 5000\n"


async def test_corosync_with_an_older_config_version_exits_at_its_first_sync(
        three: SimCluster) -> None:
    await sh(three, "pve002", "systemctl stop corosync")
    st, _, err = await sh(three, "ryanrishi", BUMP)
    assert (st, err) == (0, "")
    _, out, _ = await sh(three, "pve002", "grep config_version /etc/corosync/corosync.conf")
    assert out.split() == ["config_version:", "5"]
    await sh(three, "pve002", "systemctl start corosync")
    _, log, _ = await sh(three, "pve002", "journalctl -u corosync --no-pager")
    assert ("Received config version (6) is different than my config version (5)! Exiting"
            in log)
    st, out, _ = await sh(three, "pve002", "systemctl is-active corosync")
    assert out.strip() == "inactive"
    # the runbook's remedy: the new file by hand, then start
    _, new, _ = await sh(three, "ryanrishi", "cat /etc/corosync/corosync.conf")
    await sh(three, "pve002", "cat > /etc/corosync/corosync.conf", stdin=new.encode())
    await sh(three, "pve002", "systemctl start corosync")
    _, out, _ = await sh(three, "pve002", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in out and "Nodes:            3" in out
    _, out, _ = await sh(three, "pve002", "corosync-cmapctl -g totem.token")
    assert out == "totem.token (u32) = 5000\n"
