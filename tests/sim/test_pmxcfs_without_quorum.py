"""/etc/pve on a node without quorum, as the lab's real pmxcfs shows it (issue: the simulator
blocked such a write until quorum came back, and reported the quorate modes).

pve-cluster src/pmxcfs/dcdb.c ``dcdb_send_fuse_message``: ``if (!cfs_is_quorate()) return
-EACCES;`` — the write fails at once with "Permission denied"; cfs-plug-memdb.c
``tree_entry_stat`` + pmxcfs.c ``cfs_fuse_getattr``: /etc/pve 0755 and its files 0640 when
quorate, 0555 / 0440 when not, priv 0700 / 0500.
"""

from __future__ import annotations

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh


async def test_a_write_without_quorum_fails_with_eacces_and_modes_follow_quorum(
        healthy: SimCluster) -> None:
    st, out, _ = await sh(healthy, "ryanrishi",
                          "stat -c '%a %n' /etc/pve /etc/pve/storage.cfg /etc/pve/priv")
    assert (st, out) == (0, "755 /etc/pve\n640 /etc/pve/storage.cfg\n700 /etc/pve/priv\n")
    st, _, _ = await sh(healthy, "pve001", "systemctl stop corosync")
    assert st == 0
    await healthy.advance(10)
    for node in ("ryanrishi", "pve001"):  # the stopped node and its peer without a majority
        st, out, err = await sh(healthy, node, "timeout 5 touch /etc/pve/probe; echo rc=$?")
        assert out == "rc=1\n" and "Permission denied" in err, (node, out, err)
        st, out, _ = await sh(healthy, node, "cat /etc/pve/storage.cfg >/dev/null; echo rc=$?")
        assert out == "rc=0\n"  # reads work
    st, out, _ = await sh(healthy, "ryanrishi",
                          "stat -c '%a %n' /etc/pve /etc/pve/storage.cfg /etc/pve/priv")
    assert (st, out) == (0, "555 /etc/pve\n440 /etc/pve/storage.cfg\n500 /etc/pve/priv\n")


async def test_corosync_cfgtool_n_lists_only_reachable_peers(healthy: SimCluster) -> None:
    """corosync tools/corosync-cfgtool.c (ACTION_NODESTATUS_GET) prints a peer only "if it is
    reachable (and not us)": never a "nodeid: N unreachable" line."""
    _, out, _ = await sh(healthy, "ryanrishi", "corosync-cfgtool -n")
    assert "nodeid: 2 reachable" in out
    await sh(healthy, "pve001", "systemctl stop corosync")
    await healthy.advance(10)
    _, out, _ = await sh(healthy, "ryanrishi", "corosync-cfgtool -n")
    assert out.splitlines() == ["Local node ID 1, transport knet"]
