"""Round-3 kinds (issue 21) tried on real inputs found elsewhere, beside the handed cases.

Every input is a few lines copied from the public page named in the comment above it (as it
was published); tests/data/outputs/realworld/SOURCES.toml lists them by kind.
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.pve import facts as pvefacts
from pverunbook.pve.facts import Observation
from pverunbook.pve.verdicts import (
    PeerNames,
    verdict_cmap_stats,
    verdict_corosync_conf,
    verdict_journal,
    verdict_quorum,
    worst,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "outputs"

# --- kind: pmxcfs's own log lines ---------------------------------------------------------

# https://github.com/LINBIT/linstor-server/issues/131 (px1's side of the same outage)
PX1_PMXCFS = """\
Apr 27 11:26:29 px1 corosync[4593]:   [KNET  ] host: host: 1 (passive) best link: 0 (pri: 1)
Apr 27 11:26:29 px1 corosync[4593]:   [TOTEM ] A new membership (2.706d) was formed. Members left: 1
Apr 27 11:26:29 px1 corosync[4593]:   [TOTEM ] Failed to receive the leave message. failed: 1
Apr 27 11:26:29 px1 corosync[4593]:   [CPG   ] downlist left_list: 1 received
Apr 27 11:26:29 px1 corosync[4593]:   [CPG   ] downlist left_list: 1 received
Apr 27 11:26:29 px1 pmxcfs[4475]: [dcdb] notice: members: 2/4475, 3/681
Apr 27 11:26:29 px1 corosync[4593]:   [QUORUM] Members[2]: 2 3
Apr 27 11:26:29 px1 corosync[4593]:   [MAIN  ] Completed service synchronization, ready to provide service.
Apr 27 11:26:29 px1 pmxcfs[4475]: [dcdb] notice: starting data syncronisation
Apr 27 11:26:29 px1 pmxcfs[4475]: [status] notice: members: 2/4475, 3/681
Apr 27 11:26:29 px1 pmxcfs[4475]: [status] notice: starting data syncronisation
Apr 27 11:26:29 px1 corosync[4593]:   [TOTEM ] A new membership (1.7071) was formed. Members joined: 1
Apr 27 11:26:29 px1 corosync[4593]:   [CPG   ] downlist left_list: 0 received
Apr 27 11:26:29 px1 corosync[4593]:   [CPG   ] downlist left_list: 0 received
Apr 27 11:26:29 px1 corosync[4593]:   [CPG   ] downlist left_list: 0 received
Apr 27 11:26:29 px1 pmxcfs[4475]: [status] notice: members: 1/4202, 2/4475, 3/681
"""  # noqa: E501


def test_pmxcfs_resync_on_the_quorate_side_is_read_not_ignored() -> None:
    """px1 saw px2 leave and rejoin: pmxcfs started resyncs that the lines do not see end."""
    got = verdict_journal(PX1_PMXCFS, names=PeerNames({1: "px2", 2: "px1", 3: "px3"}))
    titles = [f.title for f in got]
    assert "members left the membership 1 time(s): px2 (nodeid 1) 1x" in titles
    assert "pmxcfs resynced 2 time(s)" in titles
    facts = {f.name: f.value for f in pvefacts.extract("corosync-journal",
                                                       Observation("px1", PX1_PMXCFS))}
    assert facts["pmxcfs_log.resyncs"] == 2 and facts["pmxcfs_log.recovered"] is False


def test_pmxcfs_quorum_lost_and_regained_on_real_pmxcfs_is_history_with_its_resync() -> None:
    """Our capture of pmxcfs 8.1.3 (tests/data/outputs/README.md): lost quorum, regained it and
    finished its resync: a warning that names both, and the facts say it recovered."""
    text = (DATA / "pmxcfs-8.1.3_lab-cut-off-then-healed.log").read_text()
    got = verdict_journal(text)
    lost = next(f for f in got if f.title == "pmxcfs lost quorum 1 time(s)")
    assert lost.severity == "warning" and "quorum again later" in lost.detail
    facts = {f.name: f.value for f in pvefacts.extract("corosync-journal",
                                                       Observation("charlie", text))}
    assert facts["pmxcfs_log.quorum_lost"] == 1 and facts["pmxcfs_log.recovered"] is True
    assert facts["pmxcfs_log.send_failed"] == 0


# --- kind: a redundant knet link that flaps while another carries the traffic -------------

# https://github.com/corosync/corosync/issues/527 (two links; link 0 flaps, link 1 carries)
MAIL4_REDUNDANT = """\
Feb  7 16:40:02 mail4 corosync[14774]:   [KNET  ] rx: host: 3 link: 0 is up
Feb  7 16:40:02 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 0 (pri: 20)
Feb  7 16:41:01 mail4 corosync[14774]:   [KNET  ] link: host: 3 link: 0 is down
Feb  7 16:41:01 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 1 (pri: 10)
Feb  7 16:41:02 mail4 corosync[14774]:   [KNET  ] rx: host: 3 link: 0 is up
Feb  7 16:41:02 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 0 (pri: 20)
Feb  7 16:41:34 mail4 corosync[14774]:   [KNET  ] link: host: 3 link: 0 is down
Feb  7 16:41:34 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 1 (pri: 10)
Feb  7 16:41:35 mail4 corosync[14774]:   [KNET  ] rx: host: 3 link: 0 is up
Feb  7 16:41:35 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 0 (pri: 20)
Feb  7 16:44:00 mail4 corosync[14774]:   [KNET  ] link: host: 3 link: 0 is down
Feb  7 16:44:00 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 1 (pri: 10)
Feb  7 16:44:01 mail4 corosync[14774]:   [KNET  ] rx: host: 3 link: 0 is up
Feb  7 16:44:01 mail4 corosync[14774]:   [KNET  ] host: host: 3 (passive) best link: 0 (pri: 20)
"""  # noqa: E501
# https://github.com/kronosnet/kronosnet/issues/300 (one link: its down cuts the node off)
KNET300_ONE_LINK = """\
Apr 08 10:54:49 [120159] rh81-s1 corosync notice  [TOTEM ] A new membership (1:16) was formed. Members left: 2
Apr 08 10:54:49 [120159] rh81-s1 corosync notice  [QUORUM] Members[1]: 1
Apr 08 10:54:49 [120159] rh81-s1 corosync info    [KNET  ] link: host: 2 link: 0 is down
Apr 08 10:54:49 [120159] rh81-s1 corosync info    [KNET  ] host: host: 2 (passive) best link: 0 (pri: 1)
Apr 08 10:54:49 [120159] rh81-s1 corosync warning [KNET  ] host: host: 2 has no active links
"""  # noqa: E501


def test_a_redundant_link_flapping_is_a_warning_a_single_link_cut_off_is_critical() -> None:
    got = verdict_journal(MAIL4_REDUNDANT, names=PeerNames({3: "mail3"}))
    flap = next(f for f in got if f.title.startswith("link 0 to mail3 (nodeid 3) went down 3"))
    assert flap.severity == "warning" and "(a redundant link)" in flap.title
    assert "Link 1 to the same node stayed up" in flap.detail
    assert worst(got) == "warning"
    # As posted, node 2 sent its leave message: corosync logs "Failed to receive the leave
    # message. failed: 2" right after the membership for a member that vanished (totemsrp.c
    # memb_state_operational_enter), and the excerpt goes on without it, so its link going down
    # after is its corosync stopping, not a cut-off.
    stopped = verdict_journal(KNET300_ONE_LINK, names=PeerNames({2: "rh81-s2"}))
    assert worst(stopped) == "info", stopped
    # the same lines with that failed-leave line: the one link's loss cut the node off
    vanished = KNET300_ONE_LINK.replace(
        "Members left: 2\n", "Members left: 2\nApr 08 10:54:49 [120159] rh81-s1 corosync "
        "notice  [TOTEM ] Failed to receive the leave message. failed: 2\n")
    assert vanished != KNET300_ONE_LINK
    one = verdict_journal(vanished, names=PeerNames({2: "rh81-s2"}))
    assert worst(one) == "critical"
    down = next(f for f in one if f.title.startswith("link 0 to rh81-s2 (nodeid 2) went down"))
    assert "redundant" not in down.title
    assert any(f.title.startswith("no active link to rh81-s2 (nodeid 2): this node was cut off")
               and f.severity == "critical" for f in one)


# --- kind: votequorum flags: two_node where it belongs and where it does not --------------

# https://github.com/openSUSE/supportutils/pull/37 (a real 2-node cluster: 2Node is right there)
SUSE_TWO_NODE = """\
Quorum information
------------------
Date:             Thu Dec  6 10:06:45 2018
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          739312183
Ring ID:          3316
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   2
Highest expected: 2
Total votes:      2
Quorum:           1  
Flags:            2Node Quorate 

Membership information
----------------------
    Nodeid      Votes Name
 739312183          1 c1 (local)
 739312184          1 c2
"""  # noqa: W291
# https://github.com/PegaProx/project-pegaprox/issues/252 (4 nodes + QDevice, two of them up)
PEGAPROX_QDEVICE = """\
Quorum information
------------------
Date:             Fri Apr  3 04:05:16 2026
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          0x00000002
Ring ID:          1.8d4
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   4
Highest expected: 4
Total votes:      3
Quorum:           3  
Flags:            Quorate Qdevice 

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
0x00000001          1    A,V,NMW 192.168.51.239
0x00000002          1    A,V,NMW 192.168.50.218 (local)
0x00000000          1            Qdevice
"""  # noqa: W291


def test_two_node_flag_is_latent_split_brain_only_with_more_votes() -> None:
    two = verdict_quorum(SUSE_TWO_NODE)
    assert not any("two_node" in f.title or "no vote to spare" in f.title for f in two)
    assert worst(two) == "ok"
    qd = verdict_quorum(PEGAPROX_QDEVICE)
    assert not any("two_node" in f.title or "no vote to spare" in f.title for f in qd)


# --- kind: corosync.conf crypto and corosync 2 keys ------------------------------------------

# https://github.com/kronosnet/kronosnet/issues/300 (knet with crypto: nothing to warn about)
KNET300_CONF = """\
totem {
    version: 2
    cluster_name: my_cluster
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    interface {
        linknumber: 0
        knet_transport: sctp
    }
}

nodelist {
    node {
        ring0_addr: 192.168.106.155
        name: rh80-test01
        nodeid: 1
    }

    node {
        ring0_addr: 192.168.106.156
        name: rh80-test02
        nodeid: 2
    }
}

quorum {
    provider: corosync_votequorum
    two_node: 1
}
"""
# https://github.com/corosync/corosync/pull/650 (no crypto keys at all: knet's default is
# aes256/sha256, totemconfig.c totem_get_crypto; not "crypto off")
COROSYNC650_CONF = """\
totem {
\tversion: 2
\ttransport: knet
}

nodelist {
\tnode {
\t\tnodeid: 5
\t\tring0_addr: 192.168.63.45
\t}
\tnode {
\t\tnodeid: 6
\t\tring0_addr: 192.168.63.46
\t}
}
"""


def test_crypto_on_or_by_default_is_not_warned() -> None:
    for conf in (KNET300_CONF, COROSYNC650_CONF):
        got = verdict_corosync_conf(conf)
        assert not any("crypto" in f.title or "rrp_mode" in f.title for f in got), \
            [(f.severity, f.title) for f in got]
    off = KNET300_CONF.replace("crypto_cipher: aes256", "crypto_cipher: none") \
        .replace("crypto_hash: sha256", "crypto_hash: none")
    assert any(f.title == "warning: totem.crypto_cipher" for f in verdict_corosync_conf(off))


# --- kind: a full corosync-cmapctl dump given where knet's counters are expected -------------


def test_a_full_cmap_dump_says_it_holds_no_knet_counters() -> None:
    """Our captures of corosync 3.1.7's `corosync-cmapctl` (no `-m stats`) on the lab."""
    for name in ("cmapctl-3.1.7_lab-2node-full-dump.txt", "cmapctl-3.1.7_lab-3node-full-dump.txt"):
        got = verdict_cmap_stats((DATA / name).read_text())
        assert not any(f.severity == "ok" for f in got), name
        none = next(f for f in got if f.title == "no knet link counters in this output")
        assert "-m stats" in none.detail and none.severity == "warning"


# --- kind: a 2-node cluster with no vote to spare -------------------------------------------


def test_two_nodes_without_qdevice_or_two_node_have_no_vote_to_spare() -> None:
    """Our capture of a healthy 2-node lab (corosync 3.1.7): quorate, but either node's loss
    costs quorum; SUSE's two_node cluster (found above) has quorum 1 and gets no such warning."""
    got = verdict_quorum((DATA / "quorumtool-siH-3.1.7_lab-2node-quorate.txt").read_text())
    assert [(f.severity, f.title) for f in got] == [
        ("ok", "quorate: 2 of 2 expected votes, 2 needed"),
        ("warning", "2-node cluster without a QDevice: no vote to spare")]
    assert not any("no vote to spare" in f.title for f in verdict_quorum(SUSE_TWO_NODE))


# --- found: full corosync-cmapctl dumps and a 2-node cluster without two_node ----------------

#: Found full `corosync-cmapctl` dumps (no `-m stats`), copied whole from the pages named in
#: tests/data/outputs/realworld/SOURCES.toml: both nodes of a 2-node PVE cluster, and the first
#: node of a 3-node GFS2 cluster with three knet links. With `corosync.conf`'s default token
#: (3000 ms) and token_coefficient (650 ms), the effective token is token + (nodes - 2) *
#: token_coefficient (corosync.conf(5), exec/totemconfig.c): 3000 ms for 2 nodes, 3650 for 3.
FOUND_CMAP_DUMPS = {
    "realworld/cmapctl-full-dump-2node_sre-ai-team-201.txt": 3000,
    "realworld/cmapctl-full-dump-2node_sre-ai-team-202.txt": 3000,
    "realworld/cmapctl-full-dump-3node-3links_linuxhl5-gfs2.txt": 3650,
}


def test_found_full_cmap_dumps_say_they_hold_no_knet_counters() -> None:
    """corosync-cmapctl reads the stats map only with `-m stats` (tools/corosync-cmapctl.c):
    a dump without it has no `stats.knet.*` keys, so no link can be judged from it - said as a
    warning, never 'ok' - while the token it does hold is read."""
    names = ("cmapctl-full-dump-2node_sre-ai-team-201.txt",
             "cmapctl-full-dump-2node_sre-ai-team-202.txt",
             "cmapctl-full-dump-3node-3links_linuxhl5-gfs2.txt")
    assert [f"realworld/{n}" for n in names] == list(FOUND_CMAP_DUMPS)
    for name, token in FOUND_CMAP_DUMPS.items():
        got = verdict_cmap_stats((DATA / name).read_text())
        assert not any(f.severity == "ok" for f in got), name
        none = next(f for f in got if f.title == "no knet link counters in this output")
        assert none.severity == "warning" and "-m stats" in none.detail, name
        assert f"effective token timeout {token} ms" in [f.title for f in got], name


def test_found_two_node_pvecm_without_two_node_has_no_vote_to_spare() -> None:
    """`pvecm status` of both nodes of a 2-node PVE cluster (hex node ids, members named by
    address): quorum 2 of 2 with no `2Node` flag and no QDevice - votequorum needs both votes
    (expected_votes / 2 + 1, exec/votequorum.c calculate_quorum), so either node's loss stops
    the cluster."""
    for node, name in ((1, "pvecm-2node-quorate-hexids_sre-ai-team-201.txt"),
                       (2, "pvecm-2node-quorate-hexids_sre-ai-team-202.txt")):
        text = (DATA / "realworld" / name).read_text()
        assert [(f.severity, f.title) for f in verdict_quorum(text)] == [
            ("ok", "quorate: 2 of 2 expected votes, 2 needed"),
            ("warning", "2-node cluster without a QDevice: no vote to spare")], name
        facts = {f.name: f.value for f in pvefacts.extract("quorum", Observation("n", text))}
        assert facts["corosync.nodeid"] == node and facts["quorum.quorum"] == 2, name
        assert facts["quorum.member_count"] == 2 and facts["quorum.flags"] == "Quorate", name


def test_found_healthy_pmxcfs_log_is_read_as_pmxcfs_verifying_its_database() -> None:
    """`systemctl status pve-cluster corosync` on both nodes of a healthy PVE 9.1 cluster:
    pmxcfs logged only 'data verification successful' (dfsm.c: the hourly check that this
    node's database has the leader's checksum) and corosync only the join. The pmxcfs lines are
    read as pmxcfs's own evidence - verified, no trouble - and, alone, never as 'no corosync
    instability'."""
    for name in ("systemctl-status-pve-cluster-corosync-pve9_sre-ai-team-proxmox1.txt",
                 "systemctl-status-pve-cluster-corosync-pve9_sre-ai-team-proxmox2.txt"):
        text = (DATA / "realworld" / name).read_text()
        got = [(f.severity, f.title) for f in verdict_journal(text)]
        assert ("ok", "pmxcfs verified its database against the cluster 10 time(s)") in got
        assert not any(sev in ("warning", "critical") for sev, _t in got), (name, got)
        facts = {f.name: f.value for f in pvefacts.extract("corosync-journal",
                                                           Observation("n", text))}
        assert facts["pmxcfs_log.verified"] == 10 and facts["pmxcfs_log.wrong_checksum"] == 0
        assert facts["pmxcfs_log.db_load_failed"] is False
        pmxcfs_only = "\n".join(ln for ln in text.splitlines() if "pmxcfs[" in ln) + "\n"
        alone = [f.title for f in verdict_journal(pmxcfs_only)]
        assert alone == ["pmxcfs verified its database against the cluster 10 time(s)"], alone


# Constructed from dfsm.c's format ("wrong checksum %016" PRIX64 " != %016" PRIX64
# " - restarting") and its resync lines, in the journal's short format.
PMXCFS_WRONG_CHECKSUM = """\
Mar 03 10:00:01 pve2 pmxcfs[988]: [dcdb] crit: wrong checksum 9C4A1B2F3E5D6A70 != 1F2E3D4C5B6A7980 - restarting
Mar 03 10:00:02 pve2 pmxcfs[988]: [dcdb] notice: members: 1/812, 2/988, 3/901
Mar 03 10:00:02 pve2 pmxcfs[988]: [dcdb] notice: starting data syncronisation
"""  # noqa: E501


def test_a_wrong_checksum_is_a_database_that_differed_and_must_resync() -> None:
    got = {f.title: f.severity for f in verdict_journal(PMXCFS_WRONG_CHECKSUM)}
    title = "pmxcfs found its database differed from the cluster's 1 time(s) (wrong checksum)"
    assert got.get(title) == "critical"
    healed = PMXCFS_WRONG_CHECKSUM + (
        "Mar 03 10:00:03 pve2 pmxcfs[988]: [dcdb] notice: all data is up to date\n")
    assert {f.title: f.severity for f in verdict_journal(healed)}.get(title) == "warning"
