"""A peer whose corosync stopped sent its leave message: it left cleanly, it was not cut off.

totemsrp.c: a stopping corosync (SIGTERM, `systemctl stop`, a reboot) sends
``memb_leave_message_send`` and the others form the new membership at once; a node the network
cut off makes the token time out first ("A processor failed, forming new configuration") and is
named in "Failed to receive the leave message". The check called a peer restarted on the real
lab "critical: no active link to nodeid 2: this node was cut off from it" on both others, and
the health check proposed corosync tuning ("went down 1 times in the last hour; corosync still
runs its default token"). Captures: tests/data/outputs/README.md.
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.pve import outputs
from pverunbook.pve.facts import Observation, extract
from pverunbook.pve.verdicts import verdict_journal

DATA = Path(__file__).resolve().parents[2] / "data" / "outputs"


def _bad(text: str) -> list[tuple[str, str]]:
    return [(f.severity, f.title) for f in verdict_journal(text)
            if f.severity in ("warning", "critical")]


def test_a_peer_restarted_with_sigterm_left_cleanly_not_cut_off() -> None:
    text = (DATA / "corosync-3.1.7_lab-peer-restarted-sigterm-alpha.log").read_text()
    assert "Members left: 2" in text and "host: host: 2 has no active links" in text
    assert _bad(text) == []
    titles = [f.title for f in verdict_journal(text)]
    assert "nodeid 2 left the membership cleanly (its corosync stopped)" in titles
    s = outputs.parse_corosync_log(text)
    assert s.link_downs() == {}
    assert outputs.peer_links(s)[2].cut_offs == 0
    facts = {f.key: f.value for f in extract("corosync-journal", Observation("alpha", text, 0))}
    assert not any(k.startswith("journal.link_down[") and v for k, v in facts.items()), facts
    # the same leave with corosync's "Failed to receive the leave message" for it (totemsrp.c
    # logs it right after the membership for a member whose leave never came: it vanished)
    # is a cut-off and a leave again
    stamp = text.split("Members left: 2\n")[0].rsplit("\n", 1)[1].split("[TOTEM ]")[0]
    lost = text.replace("Members left: 2\n", "Members left: 2\n" + stamp
                        + "[TOTEM ] Failed to receive the leave message. failed: 2\n", 1)
    assert lost != text and "failed: 2" in lost
    bad = _bad(lost)
    assert ("critical", "no active link to nodeid 2: this node was cut off from it 1 time "
            "in 30 s") in bad, bad
    assert any(t.startswith("members left the membership 1 time(s)") for _, t in bad), bad


def test_a_node_s_own_restart_is_no_shrink_of_its_membership() -> None:
    # bravo's own log: Members[3] ... exiting normally, starting up ... Members[1], Members[3]
    text = (DATA / "corosync-3.1.7_lab-peer-restarted-sigterm-bravo.log").read_text()
    assert "exiting normally" in text and text.count("starting up") == 2
    assert _bad(text) == []


def test_knet_counters_after_a_peer_restart_are_history_not_a_warning() -> None:
    """down_count since start counts a peer's restart: on a cluster up for months every link
    read as a warning after the first maintenance reboot."""
    from pverunbook.pve.verdicts import VERDICTS

    text = (DATA / "cmapctl-3.1.7_lab-3node-after-peer-restart.txt").read_text()
    got = VERDICTS["cmap-stats"](text)
    down = [f for f in got if "went down" in f.title]
    assert [(f.severity, f.title) for f in down] == [
        ("info", "knet link 0 to nodeid 2 went down 1 times since start")], got
    assert not [f for f in got if f.severity in ("warning", "critical")], got
    # three downs since start (beyond the link's own) are more than restarts explain
    more = text.replace("stats.knet.node2.link0.down_count (u32) = 2",
                        "stats.knet.node2.link0.down_count (u32) = 4")
    assert more != text
    assert [(f.severity, f.title) for f in VERDICTS["cmap-stats"](more)
            if "went down" in f.title] == [
        ("warning", "knet link 0 to nodeid 2 went down 3 times since start")]


def test_a_clean_leave_that_costs_quorum_names_the_leaver_and_the_loss() -> None:
    # constructed from the capture: as in a 2-node cluster, the leave costs this node quorum.
    # It said "which members left is not in these lines" beside the line that names it.
    text = (DATA / "corosync-3.1.7_lab-peer-restarted-sigterm-alpha.log").read_text()
    stamp = text.split("Members left: 2\n")[0].rsplit("\n", 1)[1].split("[TOTEM ]")[0]
    lost = text.replace("Members left: 2\n", "Members left: 2\n" + stamp + "[QUORUM] This "
                        "node is within the non-primary component and will NOT provide any "
                        "services.\n", 1)
    assert lost != text
    got = [(f.severity, f.title) for f in verdict_journal(lost)]
    assert ("critical", "quorum lost 1 time(s) in 30 s") in got, got
    assert ("info", "membership formed 5 time(s) in 30 s; only nodes that shut corosync down "
            "left (nodeid 2)") in got, got
    assert not any("which members left is not in these lines" in t for _, t in got), got


def test_the_node_s_own_id_in_has_no_active_links_is_not_a_peer() -> None:
    """knet adds the local host too and logged 'host: host: 2 has no active links' for pve001
    (nodeid 2) itself at start; 85 s later the check warned "nodeid 2 never became reachable
    after corosync started" on pve001, about pve001."""
    text = (DATA / "corosync-3.1.7_lab-3node-lossy-pair-pve001.log").read_text()
    assert "pve001 corosync warning [KNET  ] host: host: 2 has no active links" in text
    s = outputs.parse_corosync_log(text)
    assert outputs.local_nodeids(s) == {2}
    assert 2 not in outputs.peer_links(s)
    got = verdict_journal(text)
    assert not [f for f in got if "nodeid 2" in f.title], got
    # the loss on pve001 ↔ pve002 (nodeid 3) is still told
    assert any(f.severity == "critical" and "nodeid 3" in f.title for f in got), got


def test_knet_tearing_links_down_on_this_node_s_own_stop_is_no_cut_off() -> None:
    """bravo's own log of `systemctl stop corosync`: after "Unloading all Corosync service
    engines" knet logged "host: host: 3 has no active links" on its way out, read as
    "critical: no active link to nodeid 3: this node was cut off"."""
    text = (DATA / "corosync-3.1.7_lab-own-stop-sysadmin-bravo.log").read_text()
    stop = text.split("Unloading all Corosync service engines")[1].split("exiting normally")[0]
    assert "has no active links" in stop
    assert _bad(text) == []
    s = outputs.parse_corosync_log(text)
    assert all(p.cut_offs == 0 for p in outputs.peer_links(s).values())
