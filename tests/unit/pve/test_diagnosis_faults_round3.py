"""Diagnosis faults added with issues 19 and 21, each on real or source-derived output.

- /etc/pve errors told apart: EACCES (read-only without quorum), ENOENT (this node's directory
  is missing), ENOTCONN (pmxcfs died, its mount left behind), exit 124 (hung), and the
  non-mutating probe's EFBIG (writable);
- a redundant knet link down while another link carries the traffic (a warning), versus every
  link down (critical);
- pmxcfs's own log: a database that would not load, a local corosync.conf that is newer;
- a peer missing from ``corosync-cfgtool -n`` (it lists reachable peers only).
"""

from __future__ import annotations

from pverunbook.pve.diagnosis import Diagnosis, diagnose
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ["pve1", "pve2", "pve3"]
ADDRS = {"10.0.0.1": "pve1", "10.0.0.2": "pve2", "10.0.0.3": "pve3"}
IDS = {1: "pve1", 2: "pve2", 3: "pve3"}


def facts(verdict: str, node: str, text: str, step: str, exit_status: int | None = 0,
          stderr: str = "") -> list[Fact]:
    obs = Observation(node, text, exit_status, ADDRS, IDS, stderr=stderr)
    return [Fact(f.name, f.value, f.node, f.peer, f.evidence, step)
            for f in extract(verdict, obs)]


def rules(d: Diagnosis) -> list[str]:
    return [f.rule for f in d.faults]


# Constructed: what the network-triage write probe prints (coreutils stat/truncate messages
# for the errno pmxcfs returns; the stat mode is cfs-plug-memdb.c tree_entry_stat's).
PROBE_OK = ("drwxr-xr-x /etc/pve/nodes/pve1\n### probe\n/etc/pve/nodes/pve1/pve-ssl.pem\n",
            "truncate: failed to truncate '/etc/pve/nodes/pve1/pve-ssl.pem' at 1048577 bytes: "
            "File too large\n")
PROBE_RO = ("dr-xr-xr-x /etc/pve/nodes/pve2\n### probe\n/etc/pve/nodes/pve2/pve-ssl.pem\n",
            "truncate: failed to truncate '/etc/pve/nodes/pve2/pve-ssl.pem' at 1048577 bytes: "
            "Permission denied\n")
PROBE_ENOENT = ("### probe\n",
                "stat: cannot statx '/etc/pve/nodes/pve3': No such file or directory\n"
                "stat: cannot statx '/etc/pve/nodes/pve3/pve-ssl.pem': No such file or "
                "directory\n")
PROBE_ENOTCONN = ("", "stat: cannot statx '/etc/pve/nodes/pve3': Transport endpoint is not "
                      "connected\n")
PROBE_NO_TARGET = ("drwxr-xr-x /etc/pve/nodes/pve3\n### probe\n",
                   "stat: cannot statx '/etc/pve/nodes/pve3/pve-ssl.pem': No such file or "
                   "directory\n")


def test_write_probe_errors_are_different_faults() -> None:
    ok = facts("pve-write", "pve1", PROBE_OK[0], "pve-write", 1, PROBE_OK[1])
    got = {f.name: f.value for f in ok}
    assert got["pmxcfs.writable"] is True and got["pmxcfs.write_error"] == "EFBIG"
    assert got["pmxcfs.dir_writable"] is True
    ro = facts("pve-write", "pve2", PROBE_RO[0], "pve-write", 1, PROBE_RO[1])
    assert {f.name: f.value for f in ro}["pmxcfs.dir_writable"] is False
    gone = facts("pve-write", "pve3", *PROBE_ENOENT[:1], step="pve-write", exit_status=1,
                 stderr=PROBE_ENOENT[1])
    d = diagnose(ok + ro + gone, nodes=NODES)
    assert rules(d) == ["pmxcfs-node-dir-missing", "pmxcfs-read-only"]
    missing, readonly = d.faults
    assert missing.nodes == ("pve3",) and "not a quorum problem" in missing.statement
    assert readonly.nodes == ("pve2",) and "Permission denied" in readonly.statement
    dead = facts("pve-write", "pve3", PROBE_ENOTCONN[0], "pve-write", 1, PROBE_ENOTCONN[1])
    d = diagnose(ok + dead, nodes=NODES)
    assert rules(d) == ["pmxcfs-not-mounted"]
    assert "corosync not running" not in d.faults[0].statement
    assert "restart pve-cluster" in d.faults[0].action
    hung = facts("pve-write", "pve2", "", "pve-write", 124)
    assert rules(diagnose(ok + hung, nodes=NODES)) == ["pmxcfs-blocked"]
    # nothing to probe (none of the node's files exists): no verdict on writes at all
    none = facts("pve-write", "pve3", PROBE_NO_TARGET[0], "pve-write", 0, PROBE_NO_TARGET[1])
    assert "pmxcfs.writable" not in {f.name for f in none}
    assert rules(diagnose(ok + none, nodes=NODES)) == []


# corosync 3.1.5+ `corosync-cfgtool -s` with two links (layout of the real capture in
# ../shared/testdata/outputs/corosync-3.1.7/cfgtool-s_2node-connected.txt), link 1 to pve2 down.
CFG_TWO_LINKS = """\
Local node ID 1, transport knet
LINK ID 0 udp
\taddr\t= 10.0.0.1
\tstatus:
\t\tnodeid:          1:\tlocalhost
\t\tnodeid:          2:\tconnected
\t\tnodeid:          3:\tconnected
LINK ID 1 udp
\taddr\t= 10.1.0.1
\tstatus:
\t\tnodeid:          1:\tlocalhost
\t\tnodeid:          2:\tdisconnected
\t\tnodeid:          3:\tconnected
"""


def test_a_redundant_link_down_is_a_warning_every_link_down_is_critical() -> None:
    one = facts("links", "pve1", CFG_TWO_LINKS, "links", 1)
    d = diagnose(one, nodes=NODES)
    assert rules(d) == ["redundant-link-down"]
    assert d.faults[0].severity == "warning" and d.faults[0].nodes == ("pve1", "pve2")
    both = CFG_TWO_LINKS.replace("2:\tconnected", "2:\tdisconnected")
    d = diagnose(facts("links", "pve1", both, "links", 1), nodes=NODES)
    assert rules(d) == ["flapping-link"] and d.faults[0].severity == "critical"
    assert "is down now" in d.faults[0].statement
    # a link down now is not one "corosync's counters say drops packets": it carries nothing
    # (three-node-cut-off: ryanrishi cut off from both peers read "drops packets" twice)
    assert "drops packets" not in d.faults[0].action
    assert "down now" in d.faults[0].action and "cut off" in d.faults[0].action


# corosync-cfgtool.c prints a node under -n only when it is reachable: pve3 is missing here
# (layout of the real capture ../shared/testdata/outputs/corosync-3.1.7/cfgtool-n_2node.txt).
CFG_N_WITHOUT_PVE3 = """\
Local node ID 1, transport knet
nodeid: 2 reachable
   LINK: 0 udp (10.0.0.1->10.0.0.2) enabled connected mtu: 1397

"""


def test_a_peer_missing_from_cfgtool_n_is_unreachable() -> None:
    got = {f.key: f.value for f in facts("knet-nodes", "pve1", CFG_N_WITHOUT_PVE3, "links-detail")}
    assert got["knet.reachable[pve1→pve2]"] is True
    assert got["knet.reachable[pve1→pve3]"] is False
    d = diagnose(facts("knet-nodes", "pve1", CFG_N_WITHOUT_PVE3, "links-detail"), nodes=NODES)
    assert rules(d) == ["flapping-link"] and d.faults[0].nodes == ("pve1", "pve3")


# Constructed from pmxcfs's own format strings (pve-cluster 9.1.6: database.c
# bdb_backend_load "DB load failed", pmxcfs.c "memdb_open failed", dcdb.c "local corosync.conf is
# newer") in the journal's short format.
PMXCFS_DB = """\
Mar 03 09:12:01 pve3 pmxcfs[1012]: [database] crit: missing directory inode (inode = 00000000000000A1)
Mar 03 09:12:01 pve3 pmxcfs[1012]: [database] crit: DB load failed
Mar 03 09:12:01 pve3 pmxcfs[1012]: [main] crit: memdb_open failed - unable to open database '/var/lib/pve-cluster/config.db'
"""  # noqa: E501
PMXCFS_NEWER = """\
Mar 03 09:20:11 pve2 pmxcfs[988]: [dcdb] crit: local corosync.conf is newer
"""


def test_pmxcfs_log_db_load_failed_and_local_conf_newer() -> None:
    db = facts("corosync-journal", "pve3", PMXCFS_DB, "journal")
    newer = facts("corosync-journal", "pve2", PMXCFS_NEWER, "journal")
    d = diagnose(db + newer, nodes=NODES)
    assert rules(d) == ["pmxcfs-db-load-failed", "pmxcfs-conf-newer"]
    failed, conf = d.faults
    assert failed.severity == "critical" and failed.next_runbook is not None
    assert failed.next_runbook.runbook == "cluster-db-reset"
    assert dict(failed.next_runbook.params) == {"damaged_node": "pve3"}
    assert conf.severity == "warning" and conf.nodes == ("pve2",)


# Constructed: the same failure from an earlier start (pmxcfs[1012], as `journalctl -b` keeps
# it), then the database replaced and pmxcfs started again (pmxcfs[1388]) and loading it: its
# dfsm.c / status.c start-up lines. pmxcfs.c main exits when memdb_open fails, so a later pid
# is a later start that got past the load.
PMXCFS_DB_THEN_STARTED = PMXCFS_DB + """\
Mar 03 09:40:02 pve3 pmxcfs[1388]: [main] notice: resolved node name 'pve3' to '10.0.0.3' for default node IP address
Mar 03 09:40:02 pve3 pmxcfs[1388]: [status] notice: update cluster info (cluster name  lab, version = 3)
Mar 03 09:40:02 pve3 pmxcfs[1388]: [status] notice: node has quorum
Mar 03 09:40:02 pve3 pmxcfs[1388]: [dcdb] notice: starting data syncronisation
Mar 03 09:40:03 pve3 pmxcfs[1388]: [dcdb] notice: all data is up to date
"""  # noqa: E501


def test_a_db_load_failure_of_an_earlier_pmxcfs_start_is_not_the_current_one() -> None:
    """Only the last pmxcfs pid's lines say whether the database loads now: the corosync
    journal's facts and verdict read pmxcfs's log as the health check does (one function,
    outputs.pmxcfs.db_load); the same failure in the last run still counts."""
    from pverunbook.pve.verdicts import verdict_journal

    stale = facts("corosync-journal", "pve3", PMXCFS_DB_THEN_STARTED, "journal")
    (loaded,) = [f for f in stale if f.name == "pmxcfs_log.db_load_failed"]
    assert loaded.value is False
    assert "pmxcfs-db-load-failed" not in rules(diagnose(stale, nodes=NODES))
    assert not [f for f in verdict_journal(PMXCFS_DB_THEN_STARTED) if "database" in f.title]
    again = PMXCFS_DB_THEN_STARTED + PMXCFS_DB.replace("1012", "1502")
    failed = facts("corosync-journal", "pve3", again, "journal")
    assert rules(diagnose(failed, nodes=NODES)) == ["pmxcfs-db-load-failed"]
    (finding,) = [f for f in verdict_journal(again) if "database" in f.title]
    assert finding.severity == "critical" and "pmxcfs[1502]" in (finding.evidence or "")


# corosync-cmapctl -m stats lines (format of the real capture in
# ../shared/testdata/outputs/corosync-3.1.7/cmapctl-token.txt) right after a start: a high
# running mean over a dozen heartbeats, and PMTUd's start-up MTU (`corosync-cfgtool -n`).
FRESH_STATS = """\
stats.knet.node2.link0.connected (u8) = 1
stats.knet.node2.link0.down_count (u32) = 0
stats.knet.node2.link0.enabled (u8) = 1
stats.knet.node2.link0.latency_ave (u32) = 51234
stats.knet.node2.link0.latency_samples (u32) = 12
"""
FRESH_N = """\
Local node ID 1, transport knet
nodeid: 2 reachable
   LINK: 0 udp (10.0.0.1->10.0.0.2) enabled connected mtu: 469

nodeid: 3 reachable
   LINK: 0 udp (10.0.0.1->10.0.0.3) enabled connected mtu: 1397

"""


def test_a_freshly_started_cluster_is_not_faulty() -> None:
    from pverunbook.pve.verdicts import verdict_cmap_stats, worst

    fresh = verdict_cmap_stats(FRESH_STATS)
    assert worst(fresh) == "info" and "not settled yet" in fresh[0].title
    settled = verdict_cmap_stats(FRESH_STATS.replace("= 12", "= 2048"))
    assert worst(settled) == "warning"
    d = diagnose(facts("knet-nodes", "pve1", FRESH_N, "links-detail"), nodes=NODES)
    assert rules(d) == []
