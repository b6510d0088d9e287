"""Property tests: no output parser or verdict raises on any text; failed reads are never judged.

Inputs mix fragments of real tool output (so the parsers' deeper paths are reached) with
arbitrary text, odd numbers and broken JSON — what a node with a damaged tool, a cut SSH
session or a pasted forum post produces. Bounded: small sizes, fixed example counts.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve import outputs
from pverunbook.pve.verdicts import LEVELS, SPECS, PeerNames, VerdictInput, judge

FRAGMENTS = [
    # pvecm status / corosync-quorumtool
    "Quorum information", "------------------", "Node ID:          0x0000000", "Node ID: zz",
    "Quorate:          Yes", "Quorate:          No", "Expected votes:   ", "Total votes:      9",
    "Quorum:           2 Activity blocked", "Flags:            Quorate Qdevice 2Node",
    "Membership information", "    Nodeid      Votes    Qdevice Name",
    "0x00000001          1   A,NV,NMW 192.0.2.110 (local)", "0x00000000          0   Qdevice",
    "0x          1 x", "99999999999999999999 1 big", "Cannot initialize CMAP service",
    "Qdevice (votes 1)", "Config Version:   ", "Ring ID:          1.1b",
    # corosync-cfgtool
    "Printing link status.", "Local node ID 1, transport knet", "LINK ID 0 udp", "RING ID 1",
    "\taddr\t= 10.0.0.1", "\tstatus:", "\t\tnodeid:          2:\tconnected",
    "\t\tnodeid  3:\tlink enabled:1\tlink connected:0", "node 0: link enabled:0 link connected:",
    "\tstatus\t= ring 0 active with no faults", "status = n3", "nodeid: 2 reachable",
    "   LINK: 0 udp (10.0.0.1->10.0.0.2) enabled connected mtu: 1397", "LINK: 99999 (->",
    "Could not initialize corosync configuration API error 2",
    # cmapctl
    "stats.knet.node2.link0.down_count (u32) = 6", "stats.knet.node2.link0.latency_ave (u32) = ",
    "nodelist.node.0.nodeid (u32) = 1", "nodelist.node.0.name (str) = pve001",
    "runtime.config.totem.token (u32) = 3000", "stats.knet.node1.link0.connected (u8) = -1",
    # journal
    "Nov 30 07:20:00 [29919] vm corosync warning [KNET  ] host: host: 2 has no active links",
    "Aug 08 20:21:58 node2 corosync[1076]:   [TOTEM ] A processor failed, forming new conf>",
    "Feb 31 25:61:99 x corosync[1]: [QUORUM] Members[99999999999]: 1",
    "2026-13-45T99:99:99+9999 h corosync[1]: [KNET  ] link: host: 1 link: 0 is down",
    "Jan  1 00:00:01 h corosync[2]: message repeated 5 times: [   [TOTEM ] Retransmit List: 1",
    "A new membership (1.9) was formed. Members joined: 2 left: 1", "-- No entries --",
    "This node is within the non-primary component and >", "Token has not been received in",
    "Failed to receive the leave message. failed: 1 2", "Corosync main process was not sched>",
    "Suppressed 12 messages from corosync.service", "> quoted\\[TOTEM\\] line", "\x1b[31mred",
    # mtr / ping / route
    "HOST: node1                     Loss%   Snt   Last   Avg  Best  Wrst StDev",
    "  2.|-- 192.0.2.2               0.0%     3  100.7 134.0 100.6 200.6  57.7",
    " 1. AS???    10.0.0.1  100.0  10  1105. 0.0 -nan", "  9.|-- ???  100.0", "2.|-- x 1.2.3%",
    "--- 10.0.0.2 ping statistics ---", "5 packets transmitted, 5 received, 1.2.3% packet loss",
    "rtt min/avg/max/mdev = 1..2/3/4/5 ms", "10.0.0.2 via inet6", "local", "RTNETLINK answers",
    "10.0.0.2 via 10.0.0.1 dev eth0 src 10.0.0.9 uid 0", "cache", "### peer 10.0.0.2",
    "### route-table", "{", '{"report": {"hubs": [{"count": "x"}]}}', "}",
]

lines = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40))
texts = st.one_of(
    st.lists(lines, max_size=12).map("\n".join),
    st.text(max_size=300),
    st.lists(lines, max_size=6).map("".join),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["report", "mtr", "hubs", "count", "host", "Loss%", "Snt",
                                 "Avg", "src", "dst"]), inner, max_size=5)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(texts, st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)))
def test_output_parsers_never_raise(text: str, window: float | None) -> None:
    outputs.clean(text)
    outputs.parse_quorum_status(text)
    outputs.parse_nodes(text)
    outputs.parse_cfgtool_status(text)
    outputs.parse_cfgtool_nodes(text)
    cmap = outputs.parse_cmapctl(text)
    outputs.knet_link_stats(cmap)
    outputs.cmap_nodelist(cmap)
    summary = outputs.parse_corosync_log(text, window)
    assert summary.counts.total() >= 0 and (summary.span_s is None or summary.span_s >= 0)
    outputs.parse_mtr(text)
    outputs.parse_ping(text)
    outputs.parse_ip_route_get(text)
    for line in text.splitlines()[:5]:
        outputs.classify(line, cut=True)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_mtr_json_of_any_shape_never_raises(value: object) -> None:
    text = json.dumps({"report": value}) if not isinstance(value, dict) else json.dumps(value)
    rep = outputs.parse_mtr(text)
    assert all(isinstance(h.hop, int) for h in rep.hops)
    assert outputs.parse_mtr("{" + text[:20]).error  # broken JSON says why, never raises


names = st.builds(
    PeerNames,
    st.dictionaries(st.integers(0, 2**32), st.text(min_size=1, max_size=8), max_size=3),
    st.dictionaries(st.sampled_from(["10.0.0.1", "10.0.0.2", "192.0.2.110"]),
                    st.text(min_size=1, max_size=8), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SPECS)), st.dictionaries(
    st.sampled_from(["pve001", "pve002", "pve003"]),
    st.builds(VerdictInput, texts, st.text(max_size=60),
              st.one_of(st.none(), st.integers(-1, 300)), st.booleans(),
              st.one_of(st.none(), st.floats(min_value=0, max_value=600))),
    min_size=1, max_size=3), names, st.lists(st.integers(0, 3), max_size=2))
def test_every_verdict_judges_any_output_without_raising(
        verdict: str, by_node: dict[str, VerdictInput], peer_names: PeerNames,
        ok_exit: list[int]) -> None:
    findings = judge(verdict, by_node, names=peer_names, ok_exit=ok_exit)
    assert findings, "a verdict always says something, if only that it could not read"
    for f in findings:
        assert f.severity in LEVELS and f.title and f.detail
    spec = SPECS[verdict]
    for node, inp in by_node.items():
        mine = [f for f in findings if f.node == node]
        answered = inp.exit_status is not None and inp.exit_status in (
            spec.answers | set(ok_exit))
        if not answered:
            # a failed read gets one finding that explains it, never a judgement of the text
            assert len(mine) == 1, mine
            explained = spec.tool_error(inp) if spec.tool_error else None
            assert mine[0].title.startswith("could not read") or (
                explained is not None and mine[0].title == explained[0].title), mine


# Inputs on which the parsers raised before (int()/float()/json.loads/datetime on odd text).
CRASHED_BEFORE = [
    ("quorum", "Node ID:          zz\n"),
    ("quorum", "Membership information\n0x 1 x\n"),
    ("ping", "5 packets transmitted, 5 received, 1.2.3% packet loss\n"),
    ("ping", "1 packets transmitted, 1 received, 0% packet loss\nrtt min/avg/max/mdev = 1..2/3 ms"),
    ("route", "10.0.0.2 via inet6\n"),
    ("mtr", '{"report": {"hubs": [{"count": "x", "Loss%": 0, "Snt": 1, "host": "h"}]}}'),
    ("mtr", '{"report": '),
    ("mtr", "[1, 2]"),
    ("corosync-journal", "Feb 31 25:61:99 h corosync[1]: [KNET  ] link: host: 1 link: 0 is down\n"),
]


def test_inputs_that_crashed_the_parsers_before() -> None:
    for verdict, text in CRASHED_BEFORE:
        findings = judge(verdict, {"pve001": VerdictInput(text)})
        assert findings and all(f.node == "pve001" for f in findings), (verdict, text)
