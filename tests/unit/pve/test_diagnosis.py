"""Fact rules and diagnosis rules on real output.

Inputs: our own captures in tests/data/triage (README there says how they were made), the
corosync 3.1.7 captures and published samples in ../shared/testdata (skipped without it), and
../shared/cases/realworld. Each diagnosis rule has a test here; the simulator side is in
tests/integration/test_diagnosis_rehearsal.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pverunbook.pve import peer_sections
from pverunbook.pve.diagnosis import Diagnosis, diagnose, link_matrix
from pverunbook.pve.facts import Fact, FactStore, Observation, extract

REPO = Path(__file__).resolve().parents[3]
OWN = REPO / "tests" / "data" / "triage"
SHARED = REPO.parent / "shared"
REAL = SHARED / "testdata" / "outputs" / "corosync-3.1.7"
DOCS = SHARED / "testdata" / "outputs" / "docs"
CASES = SHARED / "cases" / "realworld"
needs_shared = pytest.mark.skipif(not REAL.is_dir(), reason=f"shared testdata not found at "
                                  f"{REAL}")

STORY = {"192.168.4.200": "ryanrishi", "192.168.4.201": "pve001"}


def own(name: str) -> str:
    return (OWN / name).read_text()


def facts(verdict: str, node: str, text: str, step: str, exit_status: int | None = 0,
          addrs: dict[str, str] | None = None, ids: dict[int, str] | None = None) -> list[Fact]:
    obs = Observation(node, text, exit_status, addrs if addrs is not None else STORY, ids or {})
    return [Fact(f.name, f.value, f.node, f.peer, f.evidence, step)
            for f in extract(verdict, obs)]


def rules(d: Diagnosis) -> list[str]:
    return [f.rule for f in d.faults]


# --- facts ---------------------------------------------------------------------------------


def test_sections_split_per_peer_and_keep_plain_output_whole() -> None:
    text = "### peer 10.0.0.2\nA\n### peer 10.0.0.3\nB\n### route-table\nT\n"
    assert peer_sections.peers(text) == [("10.0.0.2", "A\n"), ("10.0.0.3", "B\n")]
    assert peer_sections.section(text, "route-table") == "T\n"
    assert peer_sections.peers("plain\n") == [(None, "plain\n")]


def test_route_facts_see_the_host_route_and_the_on_link_subnet() -> None:
    text = ("### peer 192.168.4.201\n" + own("routed_ip-route-get.txt")
            + "### route-table\n" + own("routed_ip-route.txt"))
    got = {f.key: f.value for f in facts("route", "ryanrishi", text, "route")}
    assert got["route.via[ryanrishi→pve001]"] == "192.168.4.1"
    assert got["route.host_route[ryanrishi→pve001]"] == "192.168.4.201 via 192.168.4.1 dev eth0"
    assert got["route.on_link[ryanrishi→pve001]"] is True
    back = {f.key: f.value for f in facts(
        "route", "pve001", "### peer 192.168.4.200\n" + own("direct_ip-route-get.txt")
        + "### route-table\n" + own("direct_ip-route.txt"), "route")}
    assert back["route.via[pve001→ryanrishi]"] == ""
    assert "route.host_route[pve001→ryanrishi]" not in back


def test_ping_and_mtr_facts_per_peer_from_real_output() -> None:
    ping = {f.key: f.value for f in facts(
        "ping", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_ping.txt"), "ping")}
    assert 1 <= float(ping["ping.loss_pct[ryanrishi→pve001]"]) <= 60
    assert ping["ping.sent[ryanrishi→pve001]"] == 100
    mtr = {f.key: f.value for f in facts(
        "mtr", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_mtr.txt"), "mtr")}
    assert mtr["mtr.loss_pct[ryanrishi→pve001]"] == 16.0
    assert mtr["mtr.hops[ryanrishi→pve001]"] == 2
    assert mtr["mtr.hop_loss_pct[ryanrishi→pve001]"] == 80.0


def test_corosync_down_from_real_quorumtool_and_cfgtool() -> None:
    for verdict, name in (("quorum", "corosync-down_quorumtool-s.txt"),
                          ("links", "corosync-down_cfgtool-s.txt")):
        got = facts(verdict, "pve001", own(name), verdict, exit_status=1)
        assert [(f.key, f.value) for f in got] == [("corosync.running[pve001]", False)]


@needs_shared
def test_knet_facts_name_peers_by_address_and_node_id() -> None:
    addrs = {"10.213.0.1": "n1", "10.213.0.2": "n2"}
    got = {f.key: f.value for f in facts(
        "knet-nodes", "n1", (REAL / "cfgtool-n_2node.txt").read_text(), "links-detail", 0,
        addrs)}
    assert got == {"knet.reachable[n1→n2]": True, "knet.mtu[n1→n2]": 1397,
                   "knet.peer_nodeid[n1→n2]": 2}
    # cfgtool -s knows the peer only as "nodeid 2": -n's nodeid and address name it
    alone = facts("links", "n1", (REAL / "cfgtool-s_2node-partitioned.txt").read_text(),
                  "links", 0, addrs)
    store = FactStore([*alone, *facts("knet-nodes", "n1", (REAL / "cfgtool-n_2node.txt")
                                      .read_text(), "links-detail", 0, addrs)]).named_peers()
    assert {f.key for f in alone} >= {"knet.connected[n1→nodeid 2]"}
    assert store.value("knet.connected", "n1", "n2") is False
    links = {f.key: f.value for f in facts(
        "links", "n1", (REAL / "cfgtool-s_2node-partitioned.txt").read_text(), "links", 0,
        addrs, {2: "n2"})}
    assert links["knet.connected[n1→n2]"] is False
    assert (REAL / "cmapctl-token.txt").is_file()
    token = facts("cmap-stats", "n1", (REAL / "cmapctl-token.txt").read_text(), "knet-stats")
    assert [(f.key, f.value) for f in token] == [("corosync.token_ms[n1]", 3000)]


# --- diagnosis rules -----------------------------------------------------------------------


def story_store() -> list[Fact]:
    """The story's fault on real tools: host route on ryanrishi, pve001 answers directly."""
    out = facts("route", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_ip-route-get.txt")
                + "### route-table\n" + own("routed_ip-route.txt"), "route")
    out += facts("route", "pve001", "### peer 192.168.4.200\n" + own("direct_ip-route-get.txt")
                 + "### route-table\n" + own("direct_ip-route.txt"), "route")
    out += facts("ping", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_ping.txt"),
                 "ping")
    out += facts("mtr", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_mtr.txt"), "mtr")
    out += facts("mtr", "pve001", "### peer 192.168.4.200\n" + own("direct_mtr.txt"), "mtr")
    return out


def test_host_route_on_one_node_is_the_first_fault_with_the_exact_fix() -> None:
    d = diagnose(story_store(), nodes=["ryanrishi", "pve001"])
    first = d.faults[0]
    assert first.rule == "route-via-gateway"
    assert first.statement.startswith("corosync traffic from ryanrishi to pve001 is routed "
                                      "through 192.168.4.1 by a host route; pve001 answers "
                                      "directly")
    assert [(m.node, m.command) for m in first.manual] == [
        ("ryanrishi", "ip route del 192.168.4.201 via 192.168.4.1")]
    assert first.next_runbook is not None and first.next_runbook.runbook == "route-fix"
    assert dict(first.next_runbook.params) == {
        "route_node": "ryanrishi", "destination": "192.168.4.201", "via": "192.168.4.1"}
    assert {(e.node, e.step_id) for e in first.evidence} >= {("ryanrishi", "route"),
                                                             ("pve001", "route")}
    assert first.confidence == "high"
    # "through a gateway" usually means "not one subnet"; the route table says otherwise here
    assert "The netmask is not the problem" in first.action
    assert any(e.what.startswith("pve001's address is in a subnet ryanrishi is attached to")
               for e in first.evidence)


def test_routed_peer_without_host_route_points_at_the_netmask() -> None:
    store = [f for f in story_store() if f.name != "route.host_route"]
    store = [f if f.name != "route.on_link" else Fact(f.name, False, f.node, f.peer)
             for f in store]
    first = diagnose(store, nodes=["ryanrishi", "pve001"]).faults[0]
    assert first.rule == "route-via-gateway" and "not on one subnet" in first.statement
    assert "ip route del" not in " ".join(m.command for m in first.manual)


def test_lossy_link_names_the_pair_and_proposes_tuning_with_the_token() -> None:
    direct = [f for f in story_store() if not f.name.startswith("route.")]
    d = diagnose(direct, nodes=["ryanrishi", "pve001"])
    lossy = next(f for f in d.faults if f.rule == "lossy-link")
    assert "between ryanrishi and pve001" in lossy.statement
    assert lossy.next_runbook is not None
    assert lossy.next_runbook.label() == "corosync-tuning (token = 5000)"


def test_loss_on_a_routed_path_proposes_no_tuning_the_route_fix_comes_first() -> None:
    """The check's second fault on the story's cluster offered "Run next: corosync-tuning"
    for the loss on the path through the gateway, beside the route fault's route-fix and the
    triage's own advice "never tune corosync around a routed path"."""
    d = diagnose(story_store(), nodes=["ryanrishi", "pve001"])
    lossy = next(f for f in d.faults if f.rule == "lossy-link")
    assert "on the routed path through the gateway" in lossy.statement
    assert lossy.next_runbook is None
    assert "route-fix" in lossy.action and "Never tune corosync" in lossy.action
    route = next(f for f in d.faults if f.rule == "route-via-gateway")
    assert route.next_runbook is not None and route.next_runbook.runbook == "route-fix"


def test_ping_mtr_disagreement_says_which_to_trust() -> None:
    ping = facts("ping", "ryanrishi", "### peer 192.168.4.201\n" + own("udp-dropped_ping.txt"),
                 "ping")
    mtr = facts("mtr", "ryanrishi", "### peer 192.168.4.201\n" + own("routed_mtr.txt"), "mtr")
    d = diagnose(ping + mtr, nodes=["ryanrishi", "pve001"])
    c = next(f for f in d.faults if f.rule == "ping-mtr-disagree")
    assert "trust mtr" in c.statement or "trust ping" in c.statement
    assert "rate-limiting ICMP" in c.action  # 80% at hop 1 is not loss
    assert c.severity == "info"


@needs_shared
def test_udp_lost_while_icmp_is_clean() -> None:
    ping = facts("ping", "n1", "### peer 192.168.4.201\n" + own("udp-dropped_ping.txt"), "ping",
                 addrs={"192.168.4.201": "n2"})
    log = (REAL / "corosync-log_node1_loss-15-then-100-then-0.log").read_text()
    journal = facts("corosync-journal", "n1", log, "journal", ids={2: "n2"})
    d = diagnose(ping + journal, nodes=["n1", "n2"])
    assert d.faults[0].rule == "udp-lost-icmp-ok"
    assert "n1 and n2" in d.faults[0].statement and "UDP 5405" in d.faults[0].statement
    assert "lossy-link" not in rules(d)


@needs_shared
def test_flaps_of_a_link_connected_and_clean_now_may_be_history() -> None:
    # The same real journal (loss 15%, then 100%, then 0%) and a clean ping, but
    # corosync-cfgtool -s now shows the link connected from both ends (the real capture of the
    # same bed, read once as each node): knet's counters are since start, the journal keeps
    # half an hour, so after a fix they still show the outage. Not "UDP is being dropped".
    ping = facts("ping", "n1", "### peer 192.168.4.201\n" + own("udp-dropped_ping.txt"), "ping",
                 addrs={"192.168.4.201": "n2"})
    log = (REAL / "corosync-log_node1_loss-15-then-100-then-0.log").read_text()
    journal = facts("corosync-journal", "n1", log, "journal", ids={2: "n2"})
    cfg = (REAL / "cfgtool-s_2node-connected.txt").read_text()
    links = (facts("links", "n1", cfg, "links", addrs={}, ids={1: "n1", 2: "n2"})
             + facts("links", "n2", cfg, "links", addrs={}, ids={1: "n2", 2: "n1"}))
    d = diagnose(ping + journal + links, nodes=["n1", "n2"])
    udp = next(f for f in d.faults if f.rule == "udp-lost-icmp-ok")
    assert udp.severity == "warning" and udp.confidence == "low"
    assert "may be history" in udp.statement and "twice" in udp.action
    assert udp.next_runbook is not None and udp.next_runbook.runbook == "corosync-tuning"
    # one end still sees the link down: UDP loss while ICMP is clean, critical as before
    down = cfg.replace("nodeid:          2:\tconnected", "nodeid:          2:\tdisconnected")
    links = (facts("links", "n1", cfg, "links", addrs={}, ids={1: "n1", 2: "n2"})
             + facts("links", "n2", down, "links", addrs={}, ids={1: "n2", 2: "n1"}))
    udp = diagnose(ping + journal + links, nodes=["n1", "n2"]).faults[0]
    assert udp.rule == "udp-lost-icmp-ok" and udp.severity == "critical"
    assert "history" not in udp.statement


def _two_samples(before: int, after: int) -> str:
    """knet's counters for peer nodeid 2 read twice, as network-triage's knet-stats step
    prints them (``### sample N`` headers; lines in corosync-cmapctl's own format)."""
    def one(n: int) -> str:
        return (f"stats.knet.node2.link0.connected (u8) = 1\n"
                f"stats.knet.node2.link0.down_count (u32) = {n}\n"
                f"stats.knet.node2.link0.enabled (u8) = 1\n"
                f"stats.knet.node2.link0.latency_ave (u32) = 412\n"
                f"stats.knet.node2.link0.latency_samples (u32) = 2048\n")
    return f"### sample 1\n{one(before)}### sample 2\n{one(after)}### running\n"


@needs_shared
def test_flaps_are_history_when_knet_counters_do_not_grow_between_two_samples() -> None:
    """The issue-19 rehearsal: after the route fix, triage re-run in the same session said
    "quorum lost up to 80 times in 34 min", critical. With knet's counters sampled twice, the
    same journal and counts are history: no current fault."""
    ping = facts("ping", "n1", "### peer 192.168.4.201\n" + own("udp-dropped_ping.txt"), "ping",
                 addrs={"192.168.4.201": "n2"})
    log = (REAL / "corosync-log_node1_loss-15-then-100-then-0.log").read_text()
    journal = facts("corosync-journal", "n1", log, "journal", ids={2: "n2"})
    cfg = (REAL / "cfgtool-s_2node-connected.txt").read_text()
    links = (facts("links", "n1", cfg, "links", addrs={}, ids={1: "n1", 2: "n2"})
             + facts("links", "n2", cfg, "links", addrs={}, ids={1: "n2", 2: "n1"}))
    quorate = [Fact("quorum.quorate", True, n, None, "Quorate: Yes", "quorum")
               for n in ("n1", "n2")]
    steady = facts("cmap-stats", "n1", _two_samples(72, 72), "knet-stats", ids={2: "n2"})
    d = diagnose(ping + journal + links + steady + quorate, nodes=["n1", "n2"])
    assert [f.severity for f in d.faults] and all(f.severity == "info" for f in d.faults), \
        [(f.rule, f.severity, f.statement) for f in d.faults]
    hist = next(f for f in d.faults if f.rule == "link-flaps-history")
    assert hist.statement.startswith("history: the knet link between n1 and n2 went down")
    assert hist.next_runbook is None
    # the same, but the link went down twice between the samples: a fault now, not history
    growing = facts("cmap-stats", "n1", _two_samples(72, 74), "knet-stats", ids={2: "n2"})
    d = diagnose(ping + journal + links + growing + quorate, nodes=["n1", "n2"])
    now = d.faults[0]
    assert now.rule == "udp-lost-icmp-ok" and now.severity == "critical"
    assert "went down 2 times during the check" in now.statement
    lost = next(f for f in d.faults if f.rule == "quorum-lost-recently")
    assert lost.severity == "critical" and not lost.statement.startswith("history")


@needs_shared
def test_mtu_mismatch_between_the_two_ends() -> None:
    a = facts("knet-nodes", "n1", (REAL / "cfgtool-n_2node.txt").read_text(), "links-detail",
              addrs={"10.213.0.2": "n2"})
    b = facts("knet-nodes", "n2", (DOCS / "corosync-cfgtool" /
                                   "corosync-manpage_cfgtool-n.txt").read_text(),
              "links-detail", addrs={"192.168.1.102": "n1"})
    # the man page's "mtu: 469" is knet's start-up value (a 576-byte IPv4 packet's payload
    # before PMTUd ran, libknet links.c): a freshly started link, not a mismatch
    assert "mtu-mismatch" not in rules(diagnose(a + b, nodes=["n1", "n2"]))
    # the same output once PMTUd settled on a smaller path (a 1400-byte MTU on n2's side)
    settled = (DOCS / "corosync-cfgtool" / "corosync-manpage_cfgtool-n.txt").read_text() \
        .replace("mtu: 469", "mtu: 1297")
    b = facts("knet-nodes", "n2", settled, "links-detail", addrs={"192.168.1.102": "n1"})
    d = diagnose(a + b, nodes=["n1", "n2"])
    assert rules(d) == ["mtu-mismatch"]
    assert "n1: 1397" in d.faults[0].statement and "n2: 1297" in d.faults[0].statement


@needs_shared
def test_partition_says_who_has_quorum() -> None:
    cut = facts("quorum", "n1", (REAL / "quorumtool-siH_2node-partitioned.txt").read_text(),
                "quorum", addrs={"10.213.0.1": "n1"})
    other = facts("quorum", "n2", (REAL / "quorumtool-siH_2node-quorate.txt").read_text(),
                  "quorum", addrs={"10.213.0.1": "n1", "10.213.0.2": "n2"})
    d = diagnose(cut + other, nodes=["n1", "n2"])
    p = next(f for f in d.faults if f.rule == "partition")
    assert "n2 has quorum; n1 is cut off" in p.statement
    both = diagnose(cut + facts("quorum", "n2", (REAL / "quorumtool-siH_2node-partitioned.txt")
                                .read_text().replace("(local)", ""), "quorum"), nodes=["n1", "n2"])
    assert "no node has quorum" in both.faults[0].statement
    assert both.faults[0].next_runbook is not None
    assert both.faults[0].next_runbook.runbook == "qdevice-setup"


def test_corosync_not_running_names_the_node() -> None:
    d = diagnose(facts("quorum", "pve001", own("corosync-down_quorumtool-s.txt"), "quorum", 1))
    assert d.faults[0].rule == "corosync-not-running"
    assert d.faults[0].statement == "corosync is not running on pve001"
    assert d.faults[0].evidence[0].line == "Cannot initialize CMAP service"


def test_pmxcfs_blocked_when_the_write_probe_times_out() -> None:
    # timeout(1) exits 124 when the command is still running at the limit (coreutils manual)
    hung = facts("pve-write", "ryanrishi", "", "pve-write", 124)
    ok = facts("pve-write", "pve001", "", "pve-write", 0)
    d = diagnose(hung + ok, nodes=["ryanrishi", "pve001"])
    assert rules(d) == ["pmxcfs-blocked"]
    assert "/etc/pve writes hang on ryanrishi" in d.faults[0].statement
    assert diagnose(ok).faults == ()


@needs_shared
def test_config_version_mismatch_between_nodes() -> None:
    # Proxmox's own corosync.conf (pve-cluster test data, version 1) vs the bed's (version 5)
    a = facts("corosync-conf", "n1", (SHARED / "testdata" / "corosync-conf" / "single-node.conf")
              .read_text(), "conf")
    b = facts("corosync-conf", "n2", (SHARED / "cases" / "live" / "corosync-bed.conf")
              .read_text(), "conf")
    d = diagnose(a + b, nodes=["n1", "n2"])
    assert rules(d) == ["config-version-mismatch"]
    assert "n1=1, n2=5" in d.faults[0].statement
    assert [m.node for m in d.faults[0].manual] == ["n1"]


def test_config_version_mismatch_from_corosync_conf() -> None:
    conf = "totem {{\n  cluster_name: nyc\n  config_version: {}\n}}\n"
    d = diagnose(facts("corosync-conf", "a", conf.format(5), "conf")
                 + facts("corosync-conf", "b", conf.format(4), "conf"), nodes=["a", "b"])
    assert d.faults[0].rule == "config-version-mismatch"
    assert "a=5, b=4" in d.faults[0].statement
    assert [m.node for m in d.faults[0].manual] == ["b"]


def test_config_versions_read_at_different_moments_are_not_a_mismatch() -> None:
    # corosync-tuning reads every node's local copy (5), then validates the candidate
    # corosync.conf.new on one node (6): two moments, not two configurations. Found in a
    # rehearsal that ended with a false "the nodes run different corosync configurations".
    conf = "totem {{\n  cluster_name: nyc\n  config_version: {}\n}}\n"
    before = (facts("config-versions", "ryanrishi", conf.format(5), "local-configs")
              + facts("config-versions", "pve001", conf.format(5), "local-configs"))
    candidate = facts("corosync-conf", "ryanrishi", conf.format(6), "validate-new")
    d = diagnose(before + candidate, nodes=["ryanrishi", "pve001"])
    assert "config-version-mismatch" not in rules(d)
    # a later snapshot of every node that does differ is still reported
    after = (facts("config-versions", "ryanrishi", conf.format(6), "verify")
             + facts("config-versions", "pve001", conf.format(5), "verify"))
    d = diagnose(before + candidate + after, nodes=["ryanrishi", "pve001"])
    assert rules(d) == ["config-version-mismatch"]
    assert "ryanrishi=6, pve001=5" in d.faults[0].statement


def test_certificate_missing_and_expiring_from_real_openssl() -> None:
    gone = facts("cert", "pve001", own("cert-missing_openssl-x509.txt"), "inspect-node-cert", 1)
    d = diagnose(gone)
    assert d.faults[0].rule == "cert-missing"
    assert d.faults[0].next_runbook is not None
    assert d.faults[0].next_runbook.label() == "certificate-regeneration (force = false)"
    soon = facts("cert", "pve001", own("cert-expiring_openssl-x509.txt"), "inspect-node-cert")
    later = diagnose(soon, now=datetime(2026, 11, 30, tzinfo=UTC)).faults[0]
    assert later.rule == "cert-expired" and later.severity == "warning"
    past = diagnose(soon, now=datetime(2027, 1, 1, tzinfo=UTC)).faults[0]
    assert past.severity == "critical" and "expired" in past.statement


@needs_shared
def test_qdevice_registered_but_not_voting() -> None:
    got = facts("quorum", "n1", (CASES / "pvecm-qdevice-not-voting.txt").read_text(), "quorum",
                addrs={"192.0.2.110": "n1", "192.0.2.111": "n2"})
    d = diagnose(got)
    assert rules(d) == ["qdevice-not-voting"]
    voting = facts("quorum", "n1", (DOCS / "pvecm-status" /
                                    "pve-docs-head_2node-qdevice-partial.txt").read_text(), "q")
    assert diagnose(voting).faults == ()


def test_damaged_db_on_one_node_vs_all() -> None:
    bad = own("db-damaged_integrity.txt")
    good = own("db-ok_integrity.txt")
    one = diagnose(facts("db-integrity", "a", good, "db-state") +
                   facts("db-integrity", "b", bad, "db-state"), nodes=["a", "b"])
    assert one.faults[0].rule == "db-damaged-one"
    assert one.faults[0].next_runbook is not None
    assert one.faults[0].next_runbook.label() == "cluster-db-reset (damaged_node = b)"
    both = diagnose(facts("db-integrity", "a", bad, "db-state") +
                    facts("db-integrity", "b", bad, "db-state"), nodes=["a", "b"])
    assert both.faults[0].rule == "db-damaged-all"
    assert "cluster-db-reset" not in str(both.faults[0].next_runbook)
    # R's pmxcfs stops too: its HA goes first, or its watchdog fences it (LRM.pm)
    assert "R included" in both.faults[0].action and "pve-ha-lrm" in both.faults[0].action


def test_matrix_is_node_by_node_and_clean_links_are_said_to_be_fine() -> None:
    clean = facts("ping", "a", "### peer 192.168.4.201\n" + own("udp-dropped_ping.txt"), "ping",
                  addrs={"192.168.4.201": "b"})
    lossy = facts("ping", "a", "### peer 192.168.4.202\n" + own("routed_ping.txt"), "ping",
                  addrs={"192.168.4.202": "c"})
    store = FactStore(clean + lossy)
    d = diagnose(store, nodes=["a", "b", "c"])
    assert [len(r) for r in d.matrix] == [4, 4, 4, 4]
    assert d.matrix[1][2] == "ok" and d.matrix[1][3].startswith("ping ")
    assert d.matrix[2][3] == "?"
    # loss measured; knet's counters and the journal were not read: no claim about link downs
    assert d.healthy == ("link a ↔ b: no loss (ping 0% a→b), link downs not read",)
    assert link_matrix(store, ["a", "b", "c"]) == d.matrix
    lossy_fault = next(f for f in d.faults if f.rule == "lossy-link")
    assert "between a and c" in lossy_fault.statement


def test_faults_round_trip_to_json() -> None:
    d = diagnose(story_store(), nodes=["ryanrishi", "pve001"])
    data = d.to_json()
    first = data["faults"][0]  # type: ignore[index]
    assert first["rule"] == "route-via-gateway"
    assert first["manual"] == [{"node": "ryanrishi",
                                "command": "ip route del 192.168.4.201 via 192.168.4.1",
                                "kind": "fix"}]


@needs_shared
def test_quorum_lost_in_the_journal_while_quorate_now() -> None:
    log = (REAL / "corosync-log_node1_loss-15-then-100-then-0.log").read_text()
    journal = facts("corosync-journal", "n1", log, "journal", ids={2: "n2"})
    now = facts("quorum", "n1", (REAL / "quorumtool-siH_2node-quorate.txt").read_text(), "q")
    d = diagnose(journal + now, nodes=["n1", "n2"])
    flap = next(f for f in d.faults if f.rule == "quorum-lost-recently")
    assert "on n1 (quorate at the moment of the check)" in flap.statement


def test_corosync_down_seen_on_stdout_alone() -> None:
    # what the engine's facts see: stdout only; corosync's error went to stderr
    head = "Cluster information\n-------------------\nName:             nyc\n" \
           "Config Version:   5\nTransport:        knet\nSecure auth:      on\n\n"
    got = facts("quorum", "pve001", head, "quorum", exit_status=1)
    assert [(f.key, f.value) for f in got] == [("corosync.running[pve001]", False)]
    assert facts("links", "pve001", "", "links", exit_status=1)[0].value is False
    assert facts("links", "pve001", "", "links", exit_status=0) == []


@needs_shared
def test_flapping_link_without_icmp_asks_for_a_longer_measurement() -> None:
    # our corosync 3.1.7 capture: knet took the link to node 2 down several times; nothing
    # measured it with ICMP, so the rule cannot tell loss on the path from UDP loss
    log = (REAL / "corosync-log_node1_loss-15-then-100-then-0.log").read_text()
    d = diagnose(facts("corosync-journal", "n1", log, "journal", ids={2: "n2"}),
                 nodes=["n1", "n2"])
    flap = next(f for f in d.faults if f.rule == "flapping-link")
    assert flap.statement.startswith("the knet link between n1 and n2 went down ")
    assert flap.statement.endswith("; no ping/mtr measured on it")
    assert flap.next_runbook is not None
    assert flap.next_runbook.label() == "network-triage (ping_count = 100, mtr_cycles = 100)"
    assert {e.step_id for e in flap.evidence} == {"journal"}


def test_pmxcfs_refusing_writes_is_read_only_not_hung() -> None:
    # Constructed input: coreutils' message for EACCES, which pmxcfs returns for writes while
    # the node is not quorate (pve-docs pmxcfs.adoc: "read-only when a node loses quorum")
    denied = "touch: cannot touch '/etc/pve/nodes/pve001/probe': Permission denied\n"
    obs = Observation("pve001", "", 1, STORY, stderr=denied)
    store = [Fact(f.name, f.value, f.node, f.peer, f.evidence, "pve-write")
             for f in extract("pve-write", obs)]
    d = diagnose(store, nodes=["ryanrishi", "pve001"])
    assert rules(d) == ["pmxcfs-read-only"]
    assert d.faults[0].statement == ("/etc/pve refuses writes on pve001 (Permission denied: "
                                     "pmxcfs had no quorum when the write was tried, so it "
                                     "was read-only)")
    assert d.faults[0].evidence[0].line == "exit 1: " + denied.strip()
    # the fix stands on its own: no pointer to a fault that may not be in the list
    # corosync asked itself: `pvecm status` reads /etc/pve first (domain notes §6)
    assert "see the" not in d.faults[0].action
    assert "`corosync-quorumtool -s`" in d.faults[0].action
    assert "`pvecm status`" not in d.faults[0].action
    # corosync asked a moment later says quorate (a flapping membership): both moments named
    later = diagnose([*store, Fact("quorum.quorate", True, "pve001", None, "Quorate: Yes",
                                   "quorum")], nodes=["ryanrishi", "pve001"])
    (ro,) = [f for f in later.faults if f.rule == "pmxcfs-read-only"]
    assert ro.statement.endswith("(pve001: corosync said quorate when asked, moments apart: "
                                 "the membership is changing)"), ro.statement
