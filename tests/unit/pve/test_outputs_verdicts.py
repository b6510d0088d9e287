"""Parsers and verdicts, on the real corosync 3.1.7 captures and on captured tool output."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from pverunbook.pve import outputs
from pverunbook.pve.verdicts import (
    CROSS_NODE_VERDICTS,
    VERDICTS,
    Finding,
    PeerNames,
    verdict_config_versions,
    verdict_corosync_conf,
    verdict_journal,
    verdict_links,
    verdict_mtr,
    verdict_ping,
    verdict_quorum,
    verdict_route,
)

TESTDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata"
REAL = TESTDATA / "outputs" / "corosync-3.1.7"
DOCS = TESTDATA / "outputs" / "docs"
needs_testdata = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"shared testdata not found at {REAL}"
)


def real(name: str) -> str:
    return (REAL / name).read_text()


def worst(findings: list[Finding]) -> str:
    order = ["ok", "info", "warning", "critical"]
    return max((f.severity for f in findings), key=order.index)


# Captured with iputils ping / mtr 0.95 / iproute2 in two network namespaces on the test bed.
PING_OK = """\
PING 10.213.9.2 (10.213.9.2) 56(84) bytes of data.
64 bytes from 10.213.9.2: icmp_seq=1 ttl=64 time=0.953 ms
64 bytes from 10.213.9.2: icmp_seq=5 ttl=64 time=0.059 ms

--- 10.213.9.2 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 811ms
rtt min/avg/max/mdev = 0.053/0.237/0.953/0.358 ms
"""
PING_DEAD = """\
PING 10.213.9.77 (10.213.9.77) 56(84) bytes of data.

--- 10.213.9.77 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 408ms

"""
PING_LOSSY = """\
--- 192.168.4.201 ping statistics ---
100 packets transmitted, 85 received, +3 errors, +1 duplicates, 15% packet loss, time 19830ms
rtt min/avg/max/mdev = 0.301/4.120/48.007/9.871 ms, pipe 2
"""
ROUTE_DIRECT = "10.213.9.2 dev cxA src 10.213.9.1 uid 0 \n    cache \n"
ROUTE_VIA = "10.99.0.1 via 10.213.9.2 dev cxA src 10.213.9.1 uid 0 \n    cache \n"
ROUTE_LOCAL = "local 10.213.9.1 dev lo table local src 10.213.9.1 uid 0 \n    cache <local> \n"
ROUTE_ERR = "RTNETLINK answers: Network is unreachable\n"
MTR_JSON = """{
    "report": {
        "mtr": {"src": "vm", "dst": "10.99.0.1", "tos": 0, "tests": 3, "psize": "64",
                "bitpattern": "0x00"},
        "hubs": [
            {"count": 1, "host": "10.99.0.1", "Loss%": 0.0, "Snt": 3, "Last": 0.071,
             "Avg": 0.073, "Best": 0.071, "Wrst": 0.079, "StDev": 0.003}
        ]
    }
}"""
MTR_LOCAL = """\
Start: 2026-11-25T10:56:34+0000
HOST: vm                          Loss%   Snt   Last   Avg  Best  Wrst StDev
  1.|-- 10.99.0.1                  0.0%     3    0.1   0.2   0.1   0.4   0.2
"""
# story.md, verbatim
MTR_STORY = """\
HOST: ryanrishi           Loss%   Snt   Last   Avg  Best  Wrst StDev
1.|-- 192.168.4.1        84.0%    50    0.1   0.2   0.1   0.5   0.1
2.|-- pve001              2.0%    50    1.7   1.5   0.4   2.1   0.4
"""
# corosync-cmapctl -m stats | grep knet.node, corosync 3.1.7 (excerpt)
CMAP_STATS = """\
stats.knet.node1.link0.connected (u8) = 1
stats.knet.node1.link0.down_count (u32) = 0
stats.knet.node2.link0.connected (u8) = 0
stats.knet.node2.link0.down_count (u32) = 6
stats.knet.node2.link0.enabled (u8) = 1
stats.knet.node2.link0.latency_ave (u32) = 412
stats.knet.node2.link0.latency_samples (u32) = 2048
stats.knet.node2.link0.tx_data_bytes (u64) = 5767
runtime.config.totem.token (u32) = 3000
"""
# The three corosync-cfgtool -s layouts (domain.md section 6).
CFG_30 = (
    "Printing link status.\nLocal node ID 1\nLINK ID 0\n\taddr\t= 10.0.0.1\n\tstatus:\n"
    "\t\tnodeid  1:\tlocalhost\n\t\tnodeid  2:\tconnected\n\t\tnodeid  3:\tdisconnected\n"
)
CFG_312 = (
    "Local node ID 1, transport knet\nLINK ID 0\n\taddr\t= 10.0.0.1\n\tstatus:\n"
    "\t\tnodeid:   1:\tlocalhost\n\t\tnodeid:   2:\tconnected\n"
)


# --- quorum -------------------------------------------------------------------------------


@needs_testdata
def test_parse_quorum_real_quorate() -> None:
    st = outputs.parse_quorum_status(real("quorumtool-siH_2node-quorate.txt"))
    assert st.quorate is True
    assert (st.expected_votes, st.highest_expected, st.total_votes, st.quorum) == (2, 2, 2, 2)
    assert st.flags == ["Quorate"] and not st.activity_blocked
    assert st.node_id == 1 and st.ring_id == "1.9" and st.nodes == 2
    assert st.members == [
        outputs.Member(1, 1, "10.213.0.1", True),
        outputs.Member(2, 1, "10.213.0.2", False),
    ]
    # quorate, but two nodes without a QDevice have no vote to spare: a warning, not OK
    got = verdict_quorum(real("quorumtool-siH_2node-quorate.txt"))
    assert [(f.severity, f.title) for f in got] == [
        ("ok", "quorate: 2 of 2 expected votes, 2 needed"),
        ("warning", "2-node cluster without a QDevice: no vote to spare")]


@needs_testdata
def test_parse_quorum_real_partitioned() -> None:
    text = real("quorumtool-siH_2node-partitioned.txt")
    st = outputs.parse_quorum_status(text)
    assert st.quorate is False and st.activity_blocked
    assert st.total_votes == 1 and st.quorum == 2 and st.flags == []
    assert [m.nodeid for m in st.members] == [1]
    (f,) = verdict_quorum(text)
    assert f.severity == "critical" and "NOT quorate" in f.title
    assert "every peer is powered off" in f.detail and "QDevice" in f.detail
    assert "merely cut off" in f.detail  # the 3+ node case: split brain, not just both halves


@needs_testdata
def test_parse_nodes_real_and_docs() -> None:
    assert outputs.parse_nodes(real("quorumtool-l_2node.txt")) == [
        outputs.Member(1, 1, "ryanrishi", True),
        outputs.Member(2, 1, "pve001", False),
    ]
    hp = outputs.parse_nodes((DOCS / "pvecm-nodes" / "pve-docs-head_4node-hp.txt").read_text())
    assert [(m.name, m.local) for m in hp][:2] == [("hp1", False), ("hp2", True)]


@needs_testdata
def test_parse_pvecm_status_docs() -> None:
    text = (DOCS / "pvecm-status" / "pve-docs-head_4node-knet-quorate.txt").read_text()
    st = outputs.parse_quorum_status(text)
    assert (st.cluster_name, st.config_version, st.transport, st.secure_auth) == (
        "prod-central",
        3,
        "knet",
        "on",
    )
    assert st.ring_id == "1.1a8" and len(st.members) == 4 and st.members[1].local
    old = (DOCS / "pvecm-status" / "pve-docs-2019-corosync2_4node-quorate.txt").read_text()
    assert outputs.parse_quorum_status(old).ring_id == "1928"
    qd = (DOCS / "pvecm-status" / "pve-docs-head_2node-qdevice-partial.txt").read_text()
    st = outputs.parse_quorum_status(qd)
    assert st.quorate is True and st.has_qdevice
    assert st.members[0] == outputs.Member(1, 1, "192.168.22.180", True, "A,V,NMW")
    assert st.members[2] == outputs.Member(0, 1, "Qdevice", False, None)


def test_quorum_corosync_down() -> None:
    (f,) = verdict_quorum("Cannot initialize CMAP service\n")
    assert f.severity == "critical" and "not running" in f.title


# --- links --------------------------------------------------------------------------------


@needs_testdata
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cfgtool-s_2node-connected.txt", "info"),
        # Captured during 15% loss while the link happened to be up: -s is a snapshot, the
        # flapping only shows in the log (see test_journal_real_log).
        ("cfgtool-s_2node-15pct-loss.txt", "info"),
        ("cfgtool-s_2node-partitioned.txt", "critical"),
    ],
)
def test_links_real(name: str, expected: str) -> None:
    st = outputs.parse_cfgtool_status(real(name))
    assert st.local_nodeid == 1 and st.transport == "knet" and st.generation == "3.1.5+"
    assert st.links[0].transport == "udp" and st.links[0].addr == "10.213.0.1"
    assert worst(verdict_links(real(name))) == expected


@needs_testdata
def test_links_partitioned_names_the_node() -> None:
    titles = [f.title for f in verdict_links(real("cfgtool-s_2node-partitioned.txt"))]
    assert "link 0 to nodeid 2 is disconnected" in titles
    assert "no working link to nodeid 2" in titles
    named = verdict_links(real("cfgtool-s_2node-partitioned.txt"), names=PeerNames({2: "pve001"}))
    assert "no working link to pve001 (nodeid 2)" in [f.title for f in named]
    assert {f.peer for f in named} == {"pve001"}


def test_cfgtool_older_generations() -> None:
    st = outputs.parse_cfgtool_status(CFG_30)
    assert st.generation == "3.0.4-3.1.0" and st.transport is None
    assert [(p.nodeid, p.ok) for p in st.links[0].peers] == [(1, True), (2, True), (3, False)]
    assert worst(verdict_links(CFG_30)) == "critical"
    st = outputs.parse_cfgtool_status(CFG_312)
    assert st.generation == "3.1.2-3.1.4" and st.transport == "knet"
    assert [p.status for p in st.links[0].peers] == ["localhost", "connected"]


@needs_testdata
def test_cfgtool_docs_and_brief() -> None:
    man = (DOCS / "corosync-cfgtool" / "corosync-manpage_cfgtool-s_3node.txt").read_text()
    assert [p.nodeid for p in outputs.parse_cfgtool_status(man).links[0].peers] == [1, 2, 3]
    brief = (DOCS / "corosync-cfgtool" / "corosync-manpage_cfgtool-s-b_3node.txt").read_text()
    st = outputs.parse_cfgtool_status(brief)
    assert st.links[0].brief == "n33" and st.generation == "brief"
    assert worst(verdict_links(brief)) == "ok"
    assert worst(verdict_links(brief.replace("n33", "n31"))) == "warning"


@needs_testdata
def test_cfgtool_n() -> None:
    (node,) = outputs.parse_cfgtool_nodes(real("cfgtool-n_2node.txt"))
    assert node.nodeid == 2 and node.reachable
    assert node.links == [outputs.KnetLink(0, "10.213.0.1", "10.213.0.2", True, True, 1397, "udp")]
    man = (DOCS / "corosync-cfgtool" / "corosync-manpage_cfgtool-n.txt").read_text()
    links = outputs.parse_cfgtool_nodes(man)[0].links
    assert [(lk.link, lk.connected, lk.mtu) for lk in links] == [
        (0, True, 1397),
        (1, False, 469),
        (2, False, 469),
    ]


# --- cmap -------------------------------------------------------------------------------


@needs_testdata
def test_cmapctl() -> None:
    assert outputs.parse_cmapctl(real("cmapctl-token.txt")) == {
        "runtime.config.totem.token": "3000"
    }
    stats = outputs.knet_link_stats(outputs.parse_cmapctl(CMAP_STATS))
    assert stats[(2, 0)]["down_count"] == 6 and stats[(1, 0)]["connected"] == 1
    titles = [f.title for f in VERDICTS["cmap-stats"](CMAP_STATS)]
    assert "knet link 0 to nodeid 2 went down 5 times since start" in titles
    assert "knet link 0 to nodeid 2 is not connected" in titles


# --- journal ------------------------------------------------------------------------------


@needs_testdata
def test_journal_real_log() -> None:
    text = real("corosync-log_node1_loss-15-then-100-then-0.log")
    s = outputs.parse_corosync_log(text)
    c = s.counts
    assert c["token_not_received"] == 9
    assert c["processor_failed"] == 5
    assert c["link_down"] == 6 and c["link_up"] == 7
    assert c["retransmit"] == 1 and c["quorum_lost"] == 1
    assert s.link_downs() == {(2, 0): 6}
    assert s.span_s == 96.0
    findings = verdict_journal(text)
    titles = [f.title for f in findings]
    assert "link 0 to nodeid 2 went down 6 times in 96 s" in titles
    assert "quorum lost 1 time(s) in 96 s" in titles
    assert worst(findings) == "critical"


@needs_testdata
def test_journal_window() -> None:
    text = real("corosync-log_node1_loss-15-then-100-then-0.log")
    s = outputs.parse_corosync_log(text, window_s=60)
    assert s.link_downs() == {(2, 0): 4}  # 10:33:24 .. 10:34:05 within 10:33:21-10:34:21
    quiet = outputs.parse_corosync_log(text, window_s=5)
    assert quiet.counts["link_down"] == 0
    assert "link 0 to nodeid 2 went down 4 times in 60 s" in [
        f.title for f in verdict_journal(text, window_s=60)
    ]


def test_journal_formats_and_year_rollover() -> None:
    text = (
        "Dec 31 23:59:58 pve001 corosync[812]:   [KNET  ] link: host: 1 link: 1 is down\n"
        "Jan  1 00:00:01 pve001 corosync[812]:   [TOTEM ] Retransmit List: fd fe 103\n"
        "Jan  1 00:00:03 pve001 corosync[812]:   [QUORUM] Members[1]: 2\n"
    )
    s = outputs.parse_corosync_log(text)
    assert [e.kind for e in s.events] == ["link_down", "retransmit", "members"]
    t0, t1 = s.events[0].time, s.events[1].time
    assert t0 is not None and t1 is not None and (t1 - t0).total_seconds() == 3
    assert s.events[0].host == 1 and s.events[0].link == 1 and s.events[2].count == 1
    iso = outputs.parse_timestamp("2026-01-01T00:00:03.250+0100 pve001 corosync[812]: x")
    assert iso == datetime(2025, 12, 31, 23, 0, 3, 250000)
    ts = outputs.parse_timestamp("Nov 25 10:33:02.123456 host corosync[1]: x")
    assert ts is not None and ts.microsecond == 123456
    assert worst(verdict_journal("Nov 25 10:00:00 h corosync[1]: started\n")) == "ok"


# --- mtr / ping / route -------------------------------------------------------------------


def test_mtr_story() -> None:
    rep = outputs.parse_mtr(MTR_STORY)
    assert rep.src == "ryanrishi" and rep.dst == "pve001"
    assert [(h.hop, h.loss_pct) for h in rep.hops] == [(1, 84.0), (2, 2.0)]
    findings = verdict_mtr(MTR_STORY)
    titles = [f.title for f in findings]
    assert "loss at hop 1 (192.168.4.1) only: ICMP rate limiting on the router, not loss" in titles
    # one lost probe of 50 is a reason to look closer, not a lossy link (issue 19, R1)
    loss = next(f for f in findings if f.title == "2% loss to pve001 (1 of 50 probes)")
    assert loss.severity == "warning"
    assert "pve001 is 2 hops away" in titles
    assert not any(f.severity == "critical" and "loss" in f.title for f in findings)


def test_mtr_json_and_local() -> None:
    rep = outputs.parse_mtr(MTR_JSON)
    assert rep.src == "vm" and rep.hops[0] == outputs.MtrHop(
        1, "10.99.0.1", 0.0, 3, 0.071, 0.073, 0.071, 0.079, 0.003
    )
    assert worst(verdict_mtr(MTR_JSON)) == "ok"
    assert outputs.parse_mtr(MTR_LOCAL).hops[0].avg == 0.2
    assert worst(verdict_mtr(MTR_LOCAL)) == "ok"


def test_ping() -> None:
    p = outputs.parse_ping(PING_OK)
    assert p == outputs.PingSummary("10.213.9.2", 5, 5, 0.0, 0, 0, 0.053, 0.237, 0.953, 0.358)
    assert worst(verdict_ping(PING_OK)) == "ok"
    assert verdict_ping(PING_DEAD)[0].severity == "critical"
    lossy = outputs.parse_ping(PING_LOSSY)
    assert lossy is not None and (lossy.errors, lossy.duplicates, lossy.loss_pct) == (3, 1, 15.0)
    titles = [f.title for f in verdict_ping(PING_LOSSY)]
    assert "15% packet loss to 192.168.4.201" in titles
    assert "high jitter to 192.168.4.201: mdev 9.871 ms" in titles
    assert outputs.parse_ping("nothing") is None


def test_route() -> None:
    assert outputs.parse_ip_route_get(ROUTE_VIA).via == "10.213.9.2"
    direct = outputs.parse_ip_route_get(ROUTE_DIRECT)
    assert (direct.via, direct.dev, direct.src) == (None, "cxA", "10.213.9.1")
    assert outputs.parse_ip_route_get(ROUTE_LOCAL).kind == "local"
    (f,) = verdict_route(ROUTE_VIA, "pve001")
    assert f.title.startswith("reaches pve001 through the gateway 10.213.9.2")
    assert "not on one L2 segment" in f.title
    assert verdict_route(ROUTE_DIRECT)[0].severity == "ok"
    assert verdict_route(ROUTE_ERR)[0].severity == "critical"


# --- config -------------------------------------------------------------------------------

CONF = """\
totem {
  version: 2
  cluster_name: nyc
  config_version: %d
}
nodelist {
  node {
    name: a
    nodeid: 1
    ring0_addr: 10.0.0.1
  }
}
"""


def test_config_versions() -> None:
    (f,) = verdict_config_versions({"pve001": CONF % 6, "ryanrishi": CONF % 5})
    assert f.severity == "critical"
    assert f.title == "config_version differs between nodes (6 vs 5)"
    assert "pve001=6" in (f.evidence or "")
    assert worst(verdict_config_versions({"a": CONF % 6, "b": CONF % 6})) == "ok"
    edited = (CONF % 6).replace("10.0.0.1", "10.0.0.9")
    assert worst(verdict_config_versions({"a": CONF % 6, "b": edited})) == "warning"
    assert CROSS_NODE_VERDICTS["config-versions"] is verdict_config_versions


def test_config_versions_of_one_node_compare_nothing() -> None:
    """One node's file (a one-node inventory, or the others unreadable) agrees with nothing:
    it said "all 1 nodes have config_version 6" and "Identical corosync.conf on every node"."""
    (f,) = verdict_config_versions({"pve001": CONF % 6})
    assert f.severity == "info", f
    assert f.title == "only pve001's corosync.conf was read (config_version 6): nothing to " \
                      "compare it with", f.title
    assert "does not show that the cluster's nodes agree" in f.detail, f.detail
    assert "Identical" not in f.detail and f.node == "pve001"


def test_corosync_conf_verdict() -> None:
    assert worst(verdict_corosync_conf(CONF % 3)) == "ok"
    broken = verdict_corosync_conf("totem { version: 2\n}\n")
    assert broken[0].severity == "critical" and "line 1" in broken[0].title
    assert worst(verdict_corosync_conf((CONF % 3).replace("ring0", "ring1"))) == "critical"


def test_registry_names() -> None:
    assert set(VERDICTS) == {
        "quorum",
        "links",
        "corosync-journal",
        "mtr",
        "ping",
        "route",
        "corosync-conf",
        "cmap-stats",
    }
    for fn in VERDICTS.values():
        found = fn("")
        assert found and all(isinstance(f, Finding) for f in found)
        # nothing to read is never a confident OK
        assert all(f.severity != "ok" for f in found), found
