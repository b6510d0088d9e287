"""`systemctl stop corosync` in the simulator logs what Debian's and Proxmox VE's unit does.

corosync.service has ``ExecStop=/usr/sbin/corosync-cfgtool -H --force``: cfg's shutdown
message reaches every member and each logs "Node N was shut down by sysadmin" (cfg.c
``message_handler_req_exec_cfg_shutdown``), as the lab's systemctl shim now shows with real
corosync (tests/data/outputs/corosync-3.1.7_lab-own-stop-sysadmin-bravo.log). The simulator
logged "Node was shut down by a signal" on the stopped node only.
"""

from __future__ import annotations

import pytest

from pverunbook.pve.outputs.journal import parse_corosync_log
from pverunbook.pve.verdicts.base import PeerNames
from pverunbook.pve.verdicts.journal import verdict_journal
from pverunbook.sim import SimCluster
from pverunbook.sim.node import JournalEntry
from tests.sim.conftest import sh


async def test_systemctl_stop_corosync_is_shut_down_by_sysadmin_on_every_member(
        three: SimCluster) -> None:
    status, _, err = await sh(three, "pve001", "systemctl stop corosync")
    assert status == 0, err
    for name in ("ryanrishi", "pve001", "pve002"):
        log = "\n".join(e.msg for e in three.node(name).journal if e.unit == "corosync")
        assert "Node 2 was shut down by sysadmin" in log, (name, log[-1500:])
    own = "\n".join(e.msg for e in three.node("pve001").journal if e.unit == "corosync")
    assert "shut down by a signal" not in own.split("starting up")[-1]


def corosync_since(cluster: SimCluster, name: str, t0: float) -> list[JournalEntry]:
    """``name``'s corosync unit journal from simulated time ``t0`` on."""
    return [e for e in cluster.node(name).journal if e.unit == "corosync" and e.t >= t0]


async def corosync_journal(cluster: SimCluster, name: str) -> str:
    _, out, _ = await sh(cluster, name, "journalctl -u corosync --no-pager")
    return out


async def test_sigkill_of_corosync_is_a_lost_token_on_every_peer(three: SimCluster) -> None:
    # SIGKILL ends corosync without its leave message (totemsrp_finalize never runs): the
    # peers' token times out (timer_function_orf_token_timeout) and the new membership names
    # the node in "Failed to receive the leave message" (memb_state_operational_enter). The
    # simulator gave the peers a clean leave and logged a signal shutdown the killed process
    # can never log.
    pid = three.node("pve001").corosync.pid
    assert three.world is not None
    t0 = three.world.clock.now()
    status, _, err = await sh(three, "pve001", f"kill -9 {pid}")
    assert status == 0, err
    await three.advance(30)
    for name in ("ryanrishi", "pve002"):
        new = "\n".join(e.msg for e in corosync_since(three, name, t0))
        assert "[TOTEM ] Token has not been received in " in new, (name, new)
        assert "A processor failed, forming new configuration: token timed out (" in new
        assert "Failed to receive the leave message. failed: 2" in new, (name, new)
        assert "Members left: 2" in new and "shut down by" not in new, (name, new)
    own = corosync_since(three, "pve001", t0)
    assert [e.msg for e in own if e.ident != "systemd"] == [], own
    assert [e.msg for e in own if e.ident == "systemd"] == [
        "corosync.service: Main process exited, code=killed, status=9/KILL",
        "corosync.service: Failed with result 'signal'."]
    _, state, _ = await sh(three, "pve001", "systemctl is-active corosync")
    assert state.strip() == "failed"


async def test_sigterm_of_corosync_is_a_clean_leave(three: SimCluster) -> None:
    # SIGTERM runs main.c sig_exit_handler: "Node was shut down by a signal", the services
    # unload and the leave message goes out: the peers form the new membership at once.
    pid = three.node("pve002").corosync.pid
    assert three.world is not None
    t0 = three.world.clock.now()
    status, _, err = await sh(three, "pve002", f"kill {pid}")
    assert status == 0, err
    await three.advance(30)
    for name in ("ryanrishi", "pve001"):
        new = "\n".join(e.msg for e in corosync_since(three, name, t0))
        assert "Members left: 3" in new, (name, new)
        assert "Failed to receive the leave message" not in new, (name, new)
        assert "A processor failed" not in new and "Token has not been received" not in new
    own = "\n".join(e.msg for e in corosync_since(three, "pve002", t0))
    assert "[MAIN  ] Node was shut down by a signal" in own
    assert "Corosync Cluster Engine exiting normally" in own


@pytest.mark.parametrize("signal, clean", [("-9", False), ("-TERM", True)])
async def test_the_journal_verdict_calls_a_killed_peer_a_fault(
        three: SimCluster, signal: str, clean: bool) -> None:
    # What the diagnosis reads (JournalSummary.left_cleanly): a killed corosync left without
    # its leave message, which is a member lost, never "left cleanly (its corosync stopped)".
    pid = three.node("pve001").corosync.pid
    await sh(three, "pve001", f"kill {signal} {pid}")
    await three.advance(30)
    text = await corosync_journal(three, "ryanrishi")
    summary = parse_corosync_log(text)
    (leave,) = [e for e in summary.events if e.kind == "new_membership" and 2 in e.left]
    assert summary.left_cleanly(leave, 2) is clean
    titles = [f.title for f in verdict_journal(
        text, names=PeerNames({1: "ryanrishi", 2: "pve001", 3: "pve002"}))]
    said_clean = [t for t in titles if t.startswith("pve001") and t.endswith(
        "left the membership cleanly (its corosync stopped)")]
    lost = [t for t in titles if t.startswith("members left the membership 1 time(s)")
            and "pve001" in t]
    assert (bool(said_clean), bool(lost)) == (clean, not clean), titles


async def test_every_node_sees_its_peers_links_come_up_after_its_own_start(
        three: SimCluster) -> None:
    # The nodes booted in list order at different times: the first node's journal had its
    # peers' links come up hours before its own "starting up" and none after it, so the
    # journal verdict said a peer "never became reachable after corosync started" as soon as
    # one of its links went down later.
    for name in ("ryanrishi", "pve001", "pve002"):
        log = [e.msg for e in three.node(name).journal if e.unit == "corosync"]
        start = max(i for i, m in enumerate(log) if "Corosync Cluster Engine" in m
                    and "starting up" in m)
        ups = {m.split("host: ")[1].split()[0] for m in log[start:] if "link: 0 is up" in m}
        own = str(three.node(name).nodeid)
        assert ups == {"1", "2", "3"} - {own}, (name, log[start:])


async def test_a_killed_peer_stays_a_member_for_token_plus_consensus(three: SimCluster) -> None:
    # corosync.conf(5) / totemconfig.c totem_volatile_config_read: with 3 nodes the token is
    # 3000 + (3 - 2) * 650 (token_coefficient) = 3650 ms and consensus 1.2 * that = 4380 ms.
    # totemsrp.c: the token is declared lost after the token timeout, then the gather state
    # waits the consensus timeout before the new membership forms; until then the survivors
    # keep the old members and stay quorate, and pmxcfs's messages (a write) wait.
    assert three.world is not None
    cs = three.node("ryanrishi").corosync
    assert (cs.token, cs.consensus) == (3000 + 650, int(1.2 * (3000 + 650)))
    forms = (cs.token + cs.consensus) / 1000
    pid = three.node("pve001").corosync.pid
    t0 = three.world.clock.now()
    status, _, err = await sh(three, "pve001", f"kill -9 {pid}")
    assert status == 0, err
    await three.advance(cs.token / 1000 * 0.5)
    _, quorum, _ = await sh(three, "ryanrishi", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in quorum and "Nodes:            3" in quorum, quorum
    _, log, _ = await sh(three, "ryanrishi", "journalctl -u corosync --no-pager")
    assert "A processor failed" not in log.split("Token has not been received")[-1]
    await three.advance(cs.token / 1000 * 0.6)  # past the token: lost, consensus awaited
    _, log, _ = await sh(three, "ryanrishi", "journalctl -u corosync --no-pager -n 3")
    assert log.rstrip().endswith(f"A processor failed, forming new configuration: token timed "
                                 f"out ({cs.token}ms), waiting {cs.consensus}ms for consensus."
                                 ), log
    _, quorum, _ = await sh(three, "pve002", "corosync-quorumtool -s")
    assert "Nodes:            3" in quorum, quorum
    # a write now waits until the new membership has formed, then completes
    status, _, err = await sh(three, "pve002", "echo x > /etc/pve/probe")
    assert status == 0, err
    assert three.world.clock.now() >= t0 + forms
    _, quorum, _ = await sh(three, "ryanrishi", "corosync-quorumtool -s")
    assert "Quorate:          Yes" in quorum and "Nodes:            2" in quorum, quorum
    (formed,) = [e for e in corosync_since(three, "ryanrishi", t0)
                 if "A new membership" in e.msg]
    assert formed.t == pytest.approx(t0 + forms), formed
    _, got, _ = await sh(three, "ryanrishi", "cat /etc/pve/probe")
    assert got == "x\n"
