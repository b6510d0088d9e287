"""The health check's fact rules and diagnosis: each fault it names, with the runbook that
fixes it, and the order network → database → configs → certificates."""

from __future__ import annotations

from pverunbook.pve.diagnosis.check import check_diagnose, phase_of
from pverunbook.pve.facts import Fact, Observation, extract

KVM = ("### kvm\n"
       "2708 /usr/bin/kvm -id 101 -name pihole,debug-threads=on -no-shutdown -m 1024\n"
       "2757 /usr/bin/kvm -id 108 -name media,debug-threads=on -m 4096\n")


def facts(verdict: str, node: str, text: str, status: int | None = 0) -> list[Fact]:
    return extract(verdict, Observation(node, text, status))


def test_vms_running_without_configs_lead_to_vm_config_recovery() -> None:
    listing = ("### configs\n/etc/pve/nodes/pve001/qemu-server:\n\n"
               "/etc/pve/nodes/ryanrishi/qemu-server:\n")
    found = facts("vms", "ryanrishi", KVM + listing)
    assert Fact("vm.running", "101 108", "ryanrishi").key in {f.key for f in found}
    assert next(f for f in found if f.name == "vm.running").value == "101 108"
    diag = check_diagnose(found)
    (fault,) = [f for f in diag.faults if f.rule == "vm-without-config"]
    assert "101, 108" in fault.statement and fault.nodes == ("ryanrishi",)
    assert fault.next_runbook is not None
    assert fault.next_runbook.runbook == "vm-config-recovery"
    assert fault.next_runbook.params == {"source": "processes"}
    listed = [e.what for e in fault.evidence if "qemu-server" in e.what]
    # one verb: "lists 1 config(s) listed" read twice
    assert listed == ["ryanrishi: /etc/pve/nodes/*/qemu-server: 0 config(s) listed"]


def test_config_on_the_wrong_node_is_moved_by_hand() -> None:
    listing = ("### configs\n/etc/pve/nodes/pve001/qemu-server:\n108.conf\n\n"
               "/etc/pve/nodes/ryanrishi/qemu-server:\n101.conf\n")
    diag = check_diagnose(facts("vms", "ryanrishi", KVM + listing))
    assert [f.rule for f in diag.faults] == ["vm-config-wrong-node"]
    (fix,) = diag.faults[0].manual
    assert fix.node == "ryanrishi"
    assert fix.command == ("timeout 10 mv /etc/pve/nodes/pve001/qemu-server/108.conf "
                           "/etc/pve/nodes/ryanrishi/qemu-server/")


def test_no_fault_when_every_running_vm_has_its_config() -> None:
    listing = ("### configs\n/etc/pve/nodes/ryanrishi/qemu-server:\n101.conf\n108.conf\n")
    assert check_diagnose(facts("vms", "ryanrishi", KVM + listing)).faults == ()


def test_pmxcfs_own_log_names_the_damaged_node() -> None:
    bad = ("Dec 06 10:00:01 pve001 pmxcfs[812]: [database] crit: found entry with duplicate "
           "name 'qemu-server' - A:(inode = 0x3) B:(inode = 0x5)\n"
           "Dec 06 10:00:01 pve001 pmxcfs[812]: [database] crit: DB load failed\n")
    good = "Dec 06 10:00:01 ryanrishi pmxcfs[811]: [main] notice: teardown filesystem\n"
    store = facts("pmxcfs-journal", "pve001", bad) + facts("pmxcfs-journal", "ryanrishi", good)
    diag = check_diagnose(store)
    (fault,) = diag.faults
    assert fault.rule == "db-load-failed" and fault.nodes == ("pve001",)
    assert fault.next_runbook is not None
    assert fault.next_runbook.params == {"damaged_node": "pve001"}
    assert phase_of(fault.rule) == "database"


def test_dead_fuse_mount_and_missing_own_directory() -> None:
    dead = ("### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\n"
            "ls: cannot access '/etc/pve/nodes': Transport endpoint is not connected\nexit 2\n"
            "### own-dir\nno\n")
    own = "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\na\nexit 0\n### own-dir\nno\n"
    unmounted = "### mount\n### ls\nexit 0\n### own-dir\nno\n"
    store = (facts("pve-mount", "a", dead) + facts("pve-mount", "b", own)
             + facts("pve-mount", "c", unmounted))
    rules = {(f.rule, f.nodes) for f in check_diagnose(store).faults}
    assert ("pve-enotconn", ("a",)) in rules
    assert ("pve-own-dir-missing", ("b",)) in rules
    assert ("pve-not-mounted", ("c",)) in rules
    assert not any(r == "pve-own-dir-missing" and n in (("a",), ("c",)) for r, n in rules)


def test_certificate_not_signed_by_the_cluster_ca_and_pveproxy_down() -> None:
    text = ("### node-cert\nnotAfter=Nov  1 14:16:28 2099 GMT\n"
            "issuer=CN = Proxmox Virtual Environment, OU = old, O = PVE Cluster Manager CA\n"
            "### ca\nsubject=CN = Proxmox Virtual Environment, OU = new, "
            "O = PVE Cluster Manager CA\n### pveproxy\ninactive\n")
    rules = {f.rule: f for f in check_diagnose(facts("cert-chain", "pve001", text)).faults}
    assert set(rules) == {"cert-not-ca", "pveproxy-down"}
    nr = rules["cert-not-ca"].next_runbook
    assert nr is not None and nr.runbook == "certificate-regeneration" and nr.params["force"]
    assert rules["pveproxy-down"].manual[0].command.endswith("systemctl restart pveproxy")


def test_two_node_in_a_three_node_cluster() -> None:
    conf = ("nodelist {\n  node {\n    name: a\n  }\n  node {\n    name: b\n  }\n"
            "  node {\n    name: c\n  }\n}\nquorum {\n  provider: corosync_votequorum\n"
            "  two_node: 1\n}\n")
    (fault,) = check_diagnose(facts("cluster-conf", "a", conf)).faults
    assert fault.rule == "two-node-large" and "3 nodes" in fault.statement
    two = conf.replace("  node {\n    name: c\n  }\n", "")
    assert check_diagnose(facts("cluster-conf", "a", two)).faults == ()


def test_a_cluster_node_missing_from_the_inventory_is_critical_and_first() -> None:
    """Every step on "all" covers the inventory's nodes: a 3-node cluster whose inventory lists
    two was checked on two, and the check said healthy. The nodelist of the local
    corosync.conf (pvecm's format: ``name``, ``nodeid``, ``ring0_addr``) names the third."""
    conf = ("nodelist {\n  node {\n    name: pve001\n    nodeid: 2\n    quorum_votes: 1\n"
            "    ring0_addr: 192.168.4.201\n  }\n  node {\n    name: pve002\n    nodeid: 3\n"
            "    quorum_votes: 1\n    ring0_addr: 192.168.4.202\n  }\n  node {\n"
            "    name: ryanrishi\n    nodeid: 1\n    quorum_votes: 1\n"
            "    ring0_addr: 192.168.4.200\n  }\n}\n\nquorum {\n"
            "  provider: corosync_votequorum\n}\n")
    store = facts("cluster-conf", "ryanrishi", conf) + facts("cluster-conf", "pve001", conf)
    assert check_diagnose(store, nodes=["ryanrishi", "pve001", "pve002"]).faults == ()
    (fault,) = check_diagnose(store, nodes=["ryanrishi", "pve001"]).faults
    assert fault.rule == "node-not-in-inventory" and fault.severity == "critical"
    assert fault.nodes == ("pve002",)
    assert fault.statement.startswith("pve002 is in the cluster's nodelist but NOT in the "
                                      "inventory: no step of this run checked it")
    assert fault.evidence[0].node == "ryanrishi" and "pve002" in fault.evidence[0].what
    # an inventory node the nodelist does not name: its steps read some other machine
    (extra,) = check_diagnose(store, nodes=["ryanrishi", "pve001", "pve002", "pve9"]).faults
    assert extra.rule == "node-not-in-inventory" and extra.severity == "warning"
    assert extra.nodes == ("pve9",)
    # without an inventory (facts alone) nothing is compared
    assert check_diagnose(store).faults == ()


def test_ha_services_without_quorum_would_fence() -> None:
    ha = "quorum No\nservice vm:108 (ryanrishi, started)\nservice vm:104 (pve001, stopped)\n"
    store = facts("ha", "ryanrishi", ha) + [Fact("quorum.quorate", False, "ryanrishi")]
    rules = [f for f in check_diagnose(store).faults if f.rule == "ha-fence-risk"]
    assert len(rules) == 1 and "vm:108" in rules[0].statement
    # LRM.pm lost_agent_lock: maintenance mode / disarm are written to /etc/pve, which this
    # node cannot write without quorum, so no command is offered to run there; quorum first
    assert rules[0].manual == ()
    assert rules[0].next_runbook is not None
    assert rules[0].next_runbook.runbook == "network-triage"
    store_ok = facts("ha", "ryanrishi", ha) + [Fact("quorum.quorate", True, "ryanrishi")]
    assert not [f for f in check_diagnose(store_ok).faults if f.rule == "ha-fence-risk"]


def test_clock_skew_names_the_node_that_is_off() -> None:
    store = (facts("clock", "a", "1796566716\n") + facts("clock", "b", "1796566717\n")
             + facts("clock", "c", "1796566790\n"))
    (fault,) = check_diagnose(store).faults
    assert fault.rule == "clock-skew" and fault.nodes == ("c",)
    assert check_diagnose(store[:2]).faults == ()


def test_correctable_pcie_errors_are_not_disk_errors() -> None:
    red_herring = ("[259647.1] nvme 0000:02:00.0: PCIe Bus Error: severity=Correctable, "
                   "type=Physical Layer\n")
    diag = check_diagnose(facts("disk", "a", red_herring))
    assert diag.faults == () and any("red herring" in h for h in diag.healthy)
    real = "[12.3] blk_update_request: I/O error, dev nvme0n1, sector 2048\n"
    (fault,) = check_diagnose(facts("disk", "a", real)).faults
    assert fault.rule == "disk-errors"


def _route_store() -> list[Fact]:
    return [Fact("route.via", "192.168.4.1", "ryanrishi", "pve001", "x via 192.168.4.1"),
            Fact("route.host_route", "192.168.4.201 via 192.168.4.1 dev vmbr0", "ryanrishi",
                 "pve001"),
            Fact("route.on_link", True, "ryanrishi", "pve001"),
            Fact("route.via", "", "pve001", "ryanrishi"),
            Fact("quorum.quorate", False, "ryanrishi"), Fact("quorum.quorate", False, "pve001")]


def test_route_fault_is_measured_first_then_goes_to_route_fix_with_parameters() -> None:
    """The check reads the route table but measures no loss: the first check sends the routed
    path to network-triage (how much it loses, whether the route is the only cause: the
    baseline the fix is judged by); once triage has measured it, the check proposes the
    runbook that deletes the route with its node, destination and gateway filled in."""
    expected = {"route_node": "ryanrishi", "destination": "192.168.4.201", "via": "192.168.4.1"}
    d = check_diagnose(_route_store(), nodes=("ryanrishi", "pve001"))
    first = next(f for f in d.faults if f.next_runbook)
    assert first.rule == "route-via-gateway"  # the partition's QDevice advice waits
    assert first.next_runbook is not None and first.next_runbook.runbook == "network-triage"
    measured = [Fact("ping.loss_pct", 20.0, "ryanrishi", "pve001"),
                Fact("ping.sent", 50, "ryanrishi", "pve001")]
    d = check_diagnose(_route_store(), nodes=("ryanrishi", "pve001"), measured=measured)
    first = next(f for f in d.faults if f.next_runbook)
    assert first.rule == "route-via-gateway"
    assert first.next_runbook is not None and first.next_runbook.runbook == "route-fix"
    assert dict(first.next_runbook.params) == expected


def test_token_is_raised_after_an_outage_only_while_it_is_the_default() -> None:
    calm = [Fact("quorum.quorate", True, "a"), Fact("quorum.quorate", True, "b"),
            Fact("knet.connected", True, "a", "b"), Fact("knet.connected", True, "b", "a")]
    past = [Fact("ping.loss_pct", 20.0, "a", "b")]
    default = calm + [Fact("corosync.token_ms", 3000, "a")]
    (fault,) = check_diagnose(default, nodes=("a", "b"), past=past).faults
    assert fault.rule == "corosync-token-default"
    assert fault.next_runbook is not None and dict(fault.next_runbook.params) == {"token": 5000}
    tuned = calm + [Fact("corosync.token_ms", 5000, "a")]
    assert check_diagnose(tuned, nodes=("a", "b"), past=past).faults == ()
    assert check_diagnose(default, nodes=("a", "b")).faults == ()


def test_a_load_failure_of_an_earlier_pmxcfs_start_is_history() -> None:
    """``journalctl -b`` keeps an earlier start's "DB load failed"; the pmxcfs running now
    (a later pid) loaded its database, so the node is not blamed (seen on the lab after the
    database was replaced); the last start failing still is."""
    earlier = ("Dec 06 10:00:01 pve001 pmxcfs[812]: [database] crit: DB load failed\n"
               "Dec 06 10:00:01 pve001 pmxcfs[812]: [main] crit: memdb_open failed - unable "
               "to open database '/var/lib/pve-cluster/config.db'\n")
    later = "Dec 06 10:05:00 pve001 pmxcfs[901]: [status] notice: update cluster info\n"
    good = "Dec 06 10:00:01 ryanrishi pmxcfs[811]: [main] notice: teardown filesystem\n"
    fixed = facts("pmxcfs-journal", "pve001", earlier + later) + \
        facts("pmxcfs-journal", "ryanrishi", good)
    assert check_diagnose(fixed).faults == ()
    again = facts("pmxcfs-journal", "pve001", earlier + later + earlier.replace("812", "950")) \
        + facts("pmxcfs-journal", "ryanrishi", good)
    (fault,) = check_diagnose(again).faults
    assert fault.rule == "db-load-failed" and fault.nodes == ("pve001",)


def test_faults_are_ordered_network_database_configs_certificates() -> None:
    store = (_route_store()
             + facts("cert-chain", "pve001", "### node-cert\nCould not open file\n")
             + facts("vms", "ryanrishi", KVM + "### configs\n/etc/pve/nodes/x/qemu-server:\n")
             + facts("pmxcfs-journal", "pve001", "pmxcfs[1]: [database] crit: DB load failed\n")
             + facts("pmxcfs-journal", "ryanrishi", "fine\n"))
    phases = [phase_of(f.rule) for f in check_diagnose(store).faults]
    assert phases == sorted(phases, key=("network", "database", "configs",
                                         "certificates").index)
    assert {"network", "database", "configs", "certificates"} <= set(phases)


def test_the_cluster_ca_missing() -> None:
    text = ("### node-cert\nnotAfter=Nov  1 14:16:28 2099 GMT\nissuer=CN = x\n### ca\n"
            "Could not open file or uri for loading certificate from /etc/pve/pve-root-ca.pem\n"
            "### pveproxy\nactive\n")
    (fault,) = check_diagnose(facts("cert-chain", "pve001", text)).faults
    assert fault.rule == "ca-missing"
    assert fault.next_runbook is not None and fault.next_runbook.params == {"force": True}


def test_no_certificate_is_missing_where_etc_pve_is_not_mounted() -> None:
    """A node whose pmxcfs is not running sees an empty /etc/pve: the mount is its fault, not a
    missing CA or certificate (seen on the lab with one node's database damaged)."""
    gone = ("### node-cert\nCould not open file or uri for loading certificate from "
            "/etc/pve/nodes/pve001/pve-ssl.pem\n### ca\nCould not open file or uri for loading "
            "certificate from /etc/pve/pve-root-ca.pem\n### pveproxy\nactive\n")
    unmounted = "### mount\n### ls\nexit 0\n### own-dir\nno\n"
    store = facts("cert-chain", "pve001", gone) + facts("pve-mount", "pve001", unmounted)
    assert [f.rule for f in check_diagnose(store).faults] == ["pve-not-mounted"]
    mounted = "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\na\nexit 0\n" \
        "### own-dir\nyes\n"
    store = facts("cert-chain", "pve001", gone) + facts("pve-mount", "pve001", mounted)
    assert {"ca-missing", "cert-missing"} <= {f.rule for f in check_diagnose(store).faults}


#: `ha-manager status` of pve-ha-manager 5.1.3+ as ha_manager.pm prints PVE::API2::HA::Status
#: ("$type $status"): disarmed with resource mode freeze, then armed again
HA_DISARMED = ("quorum OK\n"
               "master pve001 (active, Sat Dec  5 10:00:00 2026) - disarmed, resource mode: "
               "freeze\n"
               "fencing disarmed, resource mode: freeze (CRM watchdog released)\n"
               "lrm pve001 (disarm mode, watchdog released, Sat Dec  5 10:00:01 2026)\n"
               "service vm:101 (pve001, started)\n")
HA_ARMED = ("quorum OK\nmaster pve001 (active, Sat Dec  5 10:05:00 2026)\n"
            "fencing armed (CRM watchdog active)\n"
            "lrm pve001 (active, watchdog active, Sat Dec  5 10:05:01 2026)\n"
            "service vm:101 (pve001, started)\n")


def test_ha_left_disarmed_is_named_with_the_command_that_arms_it() -> None:
    store = facts("ha", "pve001", HA_DISARMED) + facts("ha", "pve002", HA_DISARMED) + [
        Fact("quorum.quorate", True, "pve001"), Fact("quorum.quorate", True, "pve002")]
    (fault,) = [f for f in check_diagnose(store).faults if f.rule == "ha-disarmed"]
    assert fault.severity == "warning" and "resource mode freeze" in fault.statement
    assert fault.nodes == ("pve001", "pve002")
    assert [m.command.split(" &&")[0] for m in fault.manual] == ["ha-manager crm-command arm-ha"]
    assert phase_of("ha-disarmed") == "certificates"  # re-armed last
    armed = facts("ha", "pve001", HA_ARMED) + [Fact("quorum.quorate", True, "pve001")]
    assert not [f for f in check_diagnose(armed).faults if f.rule.startswith("ha-")]
    # before pve-ha-manager 5.1.3 there is no fencing line: nothing is assumed
    old = facts("ha", "pve001", "quorum OK\nservice vm:101 (pve001, started)\n")
    assert not [f for f in old if f.name == "ha.armed_state"]


def test_findings_of_a_recovered_cluster_read_as_history_not_as_critical_now() -> None:
    """After the outage the corosync journal still holds the token losses of the last hour
    (its verdict: critical); the check sees every link connected and every node quorate, with
    the raised token, and says healthy. Those findings read as history next to "healthy", never
    as a critical finding now; a standing warning (no QDevice) stays a warning."""
    calm = [Fact("quorum.quorate", True, "a", None, "", "quorum"),
            Fact("quorum.quorate", True, "b", None, "", "quorum"),
            Fact("knet.connected", True, "a", "b", "", "links"),
            Fact("knet.connected", True, "b", "a", "", "links"),
            Fact("journal.link_down", 12, "a", "b", "link: 0 is down", "corosync-journal"),
            Fact("corosync.token_ms", 5000, "a", None, "", "corosync")]
    healthy = check_diagnose(calm, nodes=("a", "b"))
    assert healthy.faults == ()
    assert healthy.finding_now("corosync-journal", "a", "critical", whole=True) == "history"
    assert healthy.finding_now("quorum", "a", "warning", whole=True) == "warning"
    assert healthy.finding_now("quorum", "a", "ok", whole=True) == "ok"
    # a diagnosis that did not read the whole cluster (no rule for what the verdict saw):
    # an empty one is not "healthy", so the finding stays critical
    assert healthy.finding_now("corosync-journal", "a", "critical") == "critical"
    # with the default token the same history is a warning fault resting on that journal:
    # its critical finding reads as that fault's severity, not as critical
    default = [f for f in calm if f.name != "corosync.token_ms"] + [
        Fact("corosync.token_ms", 3000, "a", None, "", "corosync")]
    (fault,) = check_diagnose(default, nodes=("a", "b")).faults
    assert fault.rule == "corosync-token-default" and fault.severity == "warning"
    d = check_diagnose(default, nodes=("a", "b"))
    assert d.finding_now("corosync-journal", "a", "critical") == "warning"
    # a cluster still broken now: a critical finding stays critical
    broken = check_diagnose(_route_store(), nodes=("ryanrishi", "pve001"))
    assert broken.finding_now("corosync-journal", "ryanrishi", "critical",
                              whole=True) == "critical"


DELETED = "Error: unable to open database \"/var/lib/pve-cluster/config.db\": " \
    "unable to open database file\n"  # tests/data/triage/db-deleted_integrity.txt
MOUNTED = "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\na\nb\nc\nexit 0\n" \
    "### own-dir\nyes\n"
QUORATE = ("Quorum information\n------------------\nQuorate:          Yes\n\n"
           "Votequorum information\n----------------------\nExpected votes:   3\n"
           "Total votes:      3\nQuorum:           2\nFlags:            Quorate\n")


def test_database_deleted_on_one_node_resyncs_from_a_sound_peer() -> None:
    store = (facts("db-integrity", "a", "ok\n") + facts("db-integrity", "b", DELETED, 1)
             + facts("db-integrity", "c", "ok\n") + facts("pve-mount", "b", MOUNTED))
    assert Fact("db.integrity", "missing", "b").key in {f.key for f in store}
    (fault,) = [f for f in check_diagnose(store).faults if f.rule.startswith("db-")]
    assert fault.rule == "db-deleted" and fault.nodes == ("b",)
    assert "pmxcfs still runs on b" in fault.statement and "a, c have" in fault.statement
    assert fault.next_runbook is not None
    assert fault.next_runbook.label() == "cluster-db-reset (damaged_node = b)"
    assert phase_of(fault.rule) == "database"


def test_database_deleted_everywhere_while_pmxcfs_runs_says_save_it_first() -> None:
    nodes = ("a", "b", "c")
    store = [f for n in nodes for f in facts("db-integrity", n, DELETED, 1)
             + facts("pve-mount", n, MOUNTED) + facts("quorum", n, QUORATE)]
    diag = check_diagnose(store, nodes=nodes)
    (fault,) = [f for f in diag.faults if f.rule.startswith("db-")]
    assert fault.rule == "db-deleted-held" and fault.severity == "critical"
    assert fault.nodes == nodes and fault.next_runbook is None
    assert "Do NOT stop or restart pve-cluster" in fault.action
    assert "not the case now" not in fault.action  # every node is quorate
    # first save on every node, then the restarts one node at a time
    assert [m.node for m in fault.manual] == [*nodes, *nodes]
    assert all("/proc/$p/fd" in m.command for m in fault.manual[:3])
    assert all(m.command.startswith("systemctl restart pve-cluster") for m in fault.manual[3:])
    # without quorum a restarted pmxcfs may find no member to resync from
    alone = [f for n in nodes for f in facts("db-integrity", n, DELETED, 1)
             + facts("pve-mount", n, MOUNTED)]
    (held,) = [f for f in check_diagnose(alone, nodes=nodes).faults
               if f.rule == "db-deleted-held"]
    assert "not the case now: fix the network and quorum first" in held.action


def test_database_deleted_everywhere_with_pmxcfs_stopped_is_lost() -> None:
    unmounted = "### mount\n### ls\nexit 0\n### own-dir\nno\n"
    store = [f for n in ("a", "b") for f in facts("db-integrity", n, DELETED, 1)
             + facts("pve-mount", n, unmounted)]
    (fault,) = [f for f in check_diagnose(store).faults if f.rule.startswith("db-")]
    assert fault.rule == "db-deleted-lost" and fault.next_runbook is None
    assert "pmxcfs is not running on a, b" in fault.statement
    assert "ONE node" in fault.action
    # the runbook's own wording of a deleted database is the same fact
    reset = "Error: /var/lib/pve-cluster/config.db was deleted: lost, pmxcfs would start " \
        "with an empty database\n"
    assert [f.value for f in facts("db-integrity", "a", reset, 1)] == ["missing"]


def _calm_link(down_count: int = 0) -> list[Fact]:
    """Two quorate nodes whose link is connected from both ends, no loss by ping, knet's
    counters read (``down_count`` downs each way), the raised token."""
    out: list[Fact] = []
    for a, b in (("a", "b"), ("b", "a")):
        out += [Fact("knet.connected", True, a, b), Fact("knet.links_down", 0, a, b),
                Fact("ping.loss_pct", 0.0, a, b), Fact("ping.sent", 100, a, b),
                Fact("knet.down_count", down_count, a, b), Fact("quorum.quorate", True, a),
                Fact("corosync.token_ms", 5000, a)]
    return out


def test_a_healthy_link_is_listed_once_and_never_without_flaps_beside_earlier_downs() -> None:
    """The healthy summary listed "fine: link ryanrishi ↔ pve001: no loss, no link flaps" and
    "fine: link pve001 ↔ ryanrishi: … it lost packets earlier (86 link downs …)": one link
    twice, the second in alphabetical order, and "no link flaps" beside 86 link downs."""
    past = [Fact("journal.link_down", 86, "b", "a")]
    diag = check_diagnose(_calm_link(), nodes=("b", "a"), past=past)
    assert diag.faults == ()
    links = [h for h in diag.healthy if h.startswith("link ")]
    assert len(links) == 1, diag.healthy
    (line,) = links
    assert line.startswith("link b ↔ a: connected from both ends now, no loss (ping 0% ")
    assert "86 link downs" in line and "no link flaps" not in line
    # without an earlier run's downs: one line, measured now, flaps read and none
    (alone,) = [h for h in check_diagnose(_calm_link(), nodes=("b", "a")).healthy
                if h.startswith("link ")]
    assert alone.startswith("link b ↔ a: connected from both ends now, no loss (")
    assert alone.endswith(", no link flaps")


def test_a_link_read_only_by_cfgtool_is_not_called_fine_for_what_was_not_measured() -> None:
    """A triage stopped after its first steps said "fine: link ryanrishi ↔ nodeid 2: no loss,
    no link flaps": the peer by nodeid, and loss and flaps nobody had measured."""
    s_out = ("Local node ID 1, transport knet\nLINK ID 0 udp\n\taddr\t= 192.168.4.200\n"
             "\tstatus:\n\t\tnodeid:          1:\tlocalhost\n"
             "\t\tnodeid:          2:\tconnected\n")
    n_out = ("Local node ID 1, transport knet\nnodeid: 2 reachable\n"
             "   LINK: 0 udp (192.168.4.200->192.168.4.201) enabled connected mtu: 1397\n")
    addrs = {"192.168.4.200": "ryanrishi", "192.168.4.201": "pve001"}
    found = extract("links", Observation("ryanrishi", s_out, 0, names_by_addr=addrs)) + \
        extract("knet-nodes", Observation("ryanrishi", n_out, 0, names_by_addr=addrs))
    assert any(f.peer == "nodeid 2" for f in found)  # cfgtool -s knows only the nodeid
    diag = check_diagnose(found, nodes=("ryanrishi", "pve001"))
    links = [h for h in diag.healthy if h.startswith("link ")]
    assert links == ["link ryanrishi ↔ pve001: connected as ryanrishi sees it, loss not "
                     "measured (the health check sends no probes: network-triage measures loss "
                     "with ping and mtr on every link), link downs not read"]


def test_rollback_timers_still_armed_are_pending_or_stale() -> None:
    from pverunbook.engine.rollback_script import ROOT
    from pverunbook.pve.diagnosis.rollbacks import ROLLBACK_ROOT

    assert ROLLBACK_ROOT == ROOT
    log = "no pverunbook rollback log on this node\n"
    alive = log + ("TIMER 20261206-184110-ecbf4c-apply-1-ryanrishi armed deadline=1796582038 "
                   "now=1796581938 process=alive\n")
    gone = ("2026-12-06T18:40:00Z pve001 pverunbook-rollback[4242] x: armed\n"
            "TIMER 20261206-184110-ecbf4c-apply-1-pve001 armed deadline=1796582038 "
            "now=1796582338 process=gone\n")
    store = facts("rollbacks", "ryanrishi", alive) + facts("rollbacks", "pve001", gone)
    diag = check_diagnose(store, nodes=["ryanrishi", "pve001"])
    by_rule = {f.rule: f for f in diag.faults}
    assert set(by_rule) == {"rollback-pending", "rollback-stale"}
    pending, stale = by_rule["rollback-pending"], by_rule["rollback-stale"]
    assert pending.nodes == ("ryanrishi",) and pending.severity == "warning"
    assert "fires in 100 s" in pending.statement
    assert "pverunbook run --resume" in pending.action
    assert stale.nodes == ("pve001",) and stale.severity == "critical"
    assert "neither kept (COMMIT) nor undone" in stale.statement
    assert stale.manual[0].command.startswith(
        "cd /var/lib/pverunbook/rollback/20261206-184110-ecbf4c-apply-1-pve001")
    # the way out, with the exact commands for this timer, not a <dir> to fill in
    d = "/var/lib/pverunbook/rollback/20261206-184110-ecbf4c-apply-1-pve001"
    assert f"keep `echo committed > {d}/state`" in stale.action
    assert f"undo `sh {d}/rollback.sh fire`" in stale.action and "<dir>" not in stale.action
    assert 'diff -u "${f#restore}" "$f"' in stale.manual[0].command
    # the way out by runbook: rollback-settle with the checkpoint (the tag without the node)
    assert stale.next_runbook is not None and stale.next_runbook.to_json() == {
        "runbook": "rollback-settle", "params": {"checkpoint": "20261206-184110-ecbf4c-apply-1"}}
    assert pending.next_runbook is None  # it still fires by itself: resume and COMMIT, or wait
    # a half-kept change is settled before anything else, network faults included
    from pverunbook.pve.diagnosis.check import phase_of

    cut = facts("quorum", "pve001", "Quorate:          No\n")
    with_network = check_diagnose(store + cut, nodes=["ryanrishi", "pve001"])
    assert [phase_of(f.rule) for f in with_network.faults][:2] == ["rollbacks", "rollbacks"]
    assert len({phase_of(f.rule) for f in with_network.faults}) > 1, with_network.faults
    # a log without armed timers is no fault; a committed timer prints no TIMER line
    assert check_diagnose(facts("rollbacks", "pve001", log)).faults == ()


def test_a_rollback_timer_past_its_deadline_is_undoing_not_waiting() -> None:
    """The app quit at the COMMIT question; the next launch's check found the timers
    ``firing`` 33 s past their deadline and said "The change is live now ... To keep it,
    resume the run and type COMMIT ...; to let it roll back, wait for the deadline": the
    deadline had passed and the timer was already putting the files back."""
    firing = ("TIMER 20261207-095753-34af1a-apply-1-ryanrishi firing deadline=1796637960 "
              "now=1796637993 process=alive\n")
    (fault,) = check_diagnose(facts("rollbacks", "ryanrishi", firing),
                              nodes=["ryanrishi", "pve001"]).faults
    assert fault.rule == "rollback-pending" and fault.nodes == ("ryanrishi",)
    assert "has fired and is putting back" in fault.statement
    assert "33 s past its deadline" in fault.statement
    assert "no longer be kept with COMMIT" in fault.action
    assert "wait for the deadline" not in fault.action and "--resume" not in fault.action
    # armed, alive, but its sleep overslept the deadline: the same, it fires at any moment
    late = firing.replace(" firing ", " armed ")
    (fault,) = check_diagnose(facts("rollbacks", "ryanrishi", late),
                              nodes=["ryanrishi", "pve001"]).faults
    assert "wait for the deadline" not in fault.action
    assert "past its deadline and puts back, any moment now," in fault.statement


def test_a_rollback_timer_whose_restore_process_is_gone_is_interrupted() -> None:
    """A node rebooted (or its rollback process was killed) while the timer was putting the
    files back: ``state`` still says firing, nothing runs it. It was told "putting back" for
    ever; it is a restore cut short, critical, settled by rollback-settle."""
    line = ("TIMER 20261207-095753-34af1a-apply-1-ryanrishi firing deadline=1796637960 "
            "now=1796638993 process=gone\n")
    (fault,) = check_diagnose(facts("rollbacks", "ryanrishi", line),
                              nodes=["ryanrishi", "pve001"]).faults
    assert fault.rule == "rollback-interrupted" and fault.severity == "critical"
    assert fault.nodes == ("ryanrishi",)
    assert "restore interrupted" in fault.statement
    assert "files may be half restored" in fault.statement
    assert fault.next_runbook is not None and fault.next_runbook.to_json() == {
        "runbook": "rollback-settle", "params": {"checkpoint": "20261207-095753-34af1a-apply-1"}}
    d = "/var/lib/pverunbook/rollback/20261207-095753-34af1a-apply-1-ryanrishi"
    assert f"rm -rf {d}/claim; echo armed > {d}/state; sh {d}/rollback.sh fire" in fault.action
    assert "putting back" not in fault.statement


def _fixed_link() -> list[Fact]:
    """The story's two nodes after route-fix: connected from both ends, quorate, corosync's
    journal read on both and no link down in it, no probes sent (the check sends none)."""
    out = []
    for a, b in (("ryanrishi", "pve001"), ("pve001", "ryanrishi")):
        out += [Fact("quorum.quorate", True, a), Fact("knet.connected", True, a, b),
                Fact("journal.token_lost", 0, a), Fact("corosync.token_ms", 5000, a)]
    return out


def test_a_link_whose_loss_predates_the_route_fix_is_measured_again_first() -> None:
    """After route-fix a healthy check said "loss not measured" and proposed nothing: the last
    triage's figures describe the routed path that is gone. It says why, gives the last
    figure and its time, and proposes network-triage first; once triage measured the link
    again, it gives the number and proposes nothing."""
    from pverunbook.pve.diagnosis.measurement import LastMeasure

    nodes = ("ryanrishi", "pve001")
    t0 = 1765076940.0  # 03:09 UTC
    triage = (Fact("ping.loss_pct", 14.0, "ryanrishi", "pve001"),
              Fact("ping.sent", 50, "ryanrishi", "pve001"))
    after_fix = LastMeasure(t0, triage, (("route-fix", t0 + 120),))
    d = check_diagnose(_fixed_link(), nodes=nodes, last=after_fix)
    (fault,) = d.faults
    assert fault.rule == "loss-unmeasured-after-change" and fault.severity == "info"
    assert fault.next_runbook is not None and fault.next_runbook.runbook == "network-triage"
    assert "route-fix (03:11 UTC)" in fault.statement and "(03:09 UTC)" in fault.statement
    (link,) = [h for h in d.healthy if h.startswith("link ")]
    assert link == ("link ryanrishi ↔ pve001: connected from both ends now, loss not measured "
                    "since route-fix (03:11 UTC) ran (network-triage at 03:09 UTC measured "
                    "ping 14% ryanrishi→pve001, before it; run network-triage to measure it "
                    "now), no link down in corosync's journal")
    # ranked before the token advice the old figures led to
    store = [f for f in _fixed_link() if f.name != "corosync.token_ms"] + \
        [Fact("corosync.token_ms", 3000, "ryanrishi")]
    past = [Fact("ping.loss_pct", 14.0, "ryanrishi", "pve001")]
    rules = [f.rule for f in check_diagnose(store, nodes=nodes, past=past,
                                            last=after_fix).faults]
    assert rules == ["loss-unmeasured-after-change", "corosync-token-default"]
    # the journal's hour still holds the outage's link downs: no fine line for the link (the
    # token advice speaks for it), and the link is still measured again first
    flapped = store + [Fact("journal.link_down", 75, "ryanrishi", "pve001"),
                       Fact("journal.link_down", 75, "pve001", "ryanrishi")]
    d = check_diagnose(flapped, nodes=nodes, last=after_fix)
    assert [f.rule for f in d.faults] == ["loss-unmeasured-after-change",
                                          "corosync-token-default"]
    # a runbook that leaves the path alone: the reason, no proposal
    tuned = LastMeasure(t0, triage, (("corosync-tuning", t0 + 60),))
    d = check_diagnose(_fixed_link(), nodes=nodes, last=tuned)
    assert d.faults == ()
    (link,) = [h for h in d.healthy if h.startswith("link ")]
    assert "since corosync-tuning (03:10 UTC) ran (network-triage at 03:09 UTC measured ping " \
           "14% ryanrishi→pve001, before it)" in link and "run network-triage" not in link
    # measured after the fix: the number, nothing proposed
    now = (Fact("ping.loss_pct", 0.0, "ryanrishi", "pve001"),
           Fact("ping.sent", 50, "ryanrishi", "pve001"))
    d = check_diagnose(_fixed_link(), nodes=nodes, measured=now,
                       last=LastMeasure(t0 + 300, now))
    assert d.faults == ()
    (link,) = [h for h in d.healthy if h.startswith("link ")]
    assert "no loss (ping 0% ryanrishi→pve001)" in link and "not measured" not in link


QUORATE3 = """Quorum information
------------------
Date:             Mon Dec  7 03:13:34 2026
Quorum provider:  corosync_votequorum
Nodes:            3
Node ID:          0x0000000{id}
Ring ID:          1.1b8
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      3
Quorum:           2{quorate}
Flags:            Quorate{sp}

Membership information
----------------------
    Nodeid      Votes Name
0x00000001          1 192.168.4.200{me1}
0x00000002          1 192.168.4.201{me2}
0x00000003          1 192.168.4.202
"""


def _quorate3(node_id: int) -> str:
    """corosync-quorumtool -siH of a quorate 3-node cluster as node ``node_id`` prints it
    (tools/corosync-quorumtool.c: "Quorum: %d" then two spaces when quorate, "Flags: Quorate "
    with its trailing blank)."""
    return QUORATE3.format(id=node_id, me1=" (local)" if node_id == 1 else "",
                           me2=" (local)" if node_id == 2 else "", quorate="  ", sp=" ")


def test_a_node_the_check_could_not_reach_is_a_fault_never_healthy() -> None:
    """pve002's sshd refused the connection: the check read ryanrishi and pve001 only, found
    nothing wrong there, and said HEALTHY. A node not read is a fault of its own, which says
    why (refused vs timed out) and what to do."""
    store = facts("quorum", "ryanrishi", _quorate3(1)) + facts("quorum", "pve001", _quorate3(2))
    nodes = ["ryanrishi", "pve001", "pve002"]
    assert check_diagnose(store, nodes=nodes).faults == ()  # what was read is fine
    refused = ("cannot connect to root@127.0.0.1:9: connection refused; check the host "
               "name/address, that the node is up and that sshd listens on that port")
    diag = check_diagnose(store, nodes=nodes, unchecked={"pve002": refused})
    (fault,) = diag.faults
    assert fault.rule == "node-not-checked" and fault.severity == "critical"
    assert fault.nodes == ("pve002",) and phase_of(fault.rule) == "network"
    assert fault.statement.startswith("pve002 was NOT checked: connection refused")
    assert "nothing listens on that port" in fault.action and "run the check again" in \
        fault.action
    assert fault.next_runbook is not None and fault.next_runbook.runbook == "network-triage"
    assert fault.evidence[0].line == refused
    slow = "connecting to root@10.0.0.3:22 timed out after 10s"
    (fault,) = check_diagnose(store, nodes=nodes, unchecked={"pve002": slow}).faults
    assert fault.statement.startswith("pve002 was NOT checked: connection timed out")
    assert "firewall" in fault.action


def test_link_downs_from_before_the_route_fix_do_not_propose_token_tuning() -> None:
    """After route-fix (its verify pinged with 0% loss) the check proposed corosync-tuning
    token=5000 because the link "went down 77 times in the last hour": all of them before
    the fix, which the journal's hour still covered. The count is labelled as such, and the
    proposal is to measure the link now, not to tune for a path that is gone."""
    from datetime import UTC, datetime

    nodes = ("ryanrishi", "pve001")
    now = datetime(2026, 12, 7, 3, 30, tzinfo=UTC)
    fix = ("route-fix", datetime(2026, 12, 7, 3, 11, tzinfo=UTC).timestamp())
    store = [f for f in _fixed_link() if f.name != "corosync.token_ms"] + [
        Fact("corosync.token_ms", 3000, "ryanrishi"),
        Fact("journal.link_down", 77, "ryanrishi", "pve001"),
        Fact("journal.link_down", 77, "pve001", "ryanrishi")]
    # no change in the journal's hour: the downs are the link's, the token advice stands
    (tune,) = check_diagnose(store, nodes=nodes, now=now).faults
    assert tune.rule == "corosync-token-default" and "went down 77 times" in tune.statement
    assert tune.next_runbook is not None and tune.next_runbook.runbook == "corosync-tuning"
    # route-fix at 03:11, within the hour: labelled, and measure first
    (tune,) = check_diagnose(store, nodes=nodes, now=now, path_change=fix).faults
    assert "went down 77 times in the last hour — counted over the hour before this check, " \
           "which includes the time before route-fix at 03:11 UTC changed the path" \
        in tune.statement
    assert tune.next_runbook is not None and tune.next_runbook.runbook == "network-triage"
    assert tune.action.startswith("Those downs may all be from before route-fix at 03:11 UTC")
    # a fix older than the journal's hour changes nothing
    old = ("route-fix", datetime(2026, 12, 7, 2, 0, tzinfo=UTC).timestamp())
    (tune,) = check_diagnose(store, nodes=nodes, now=now, path_change=old).faults
    assert tune.next_runbook is not None and tune.next_runbook.runbook == "corosync-tuning"
    assert "route-fix" not in tune.statement


def test_three_nodes_the_history_names_only_the_link_that_went_down() -> None:
    """Three nodes after route-fix, quorate, every link connected; only pve001 ↔ pve002 went
    down in the journal's hour. The fault named all three links ("ryanrishi ↔ pve001 and
    ryanrishi ↔ pve002 and pve001 ↔ pve002 … went down 85 times") beside a matrix with one ↓85
    and "fine" lines saying the other two had no link down; and its quorum loss no node."""
    nodes = ("ryanrishi", "pve001", "pve002")
    store = [Fact("journal.link_down", 85, "pve001", "pve002"),
             Fact("journal.link_down", 85, "pve002", "pve001"),
             Fact("journal.quorum_lost", 85, "pve001")]
    for a in nodes:
        store += [Fact("quorum.quorate", True, a), Fact("corosync.token_ms", 3650, a)]
        store += [Fact("knet.connected", True, a, b) for b in nodes if b != a]
    (fault,) = check_diagnose(store, nodes=nodes).faults
    assert fault.rule == "corosync-token-default"
    assert "the corosync link pve001 ↔ pve002 is connected now" in fault.statement
    assert "ryanrishi ↔" not in fault.statement
    assert "quorum was lost 85 times (on pve001)" in fault.statement
    # with the token raised the same history is a line per link: only that link's says so
    tuned = [f for f in store if f.name != "corosync.token_ms"] + [
        Fact("corosync.token_ms", 5650, a) for a in nodes]
    d = check_diagnose(tuned, nodes=nodes)
    said = [h for h in d.healthy if "went down 85 times" in h]
    assert len(said) == 1 and said[0].startswith("link pve001 ↔ pve002:"), d.healthy


def test_three_nodes_earlier_loss_names_only_the_link_that_lost_packets() -> None:
    """The same after the journal's hour: the earlier runs' figures are of pve001 ↔ pve002,
    and the fault said "the corosync link ryanrishi ↔ pve001 and ryanrishi ↔ pve002 and
    pve001 ↔ pve002 … lost packets earlier (85 link downs, 14% ping loss …)"."""
    nodes = ("ryanrishi", "pve001", "pve002")
    store = []
    for a in nodes:
        store += [Fact("quorum.quorate", True, a), Fact("corosync.token_ms", 3650, a)]
        store += [Fact("knet.connected", True, a, b) for b in nodes if b != a]
    past = [Fact("journal.link_down", 85, "pve001", "pve002"),
            Fact("ping.loss_pct", 14.0, "pve001", "pve002")]
    (fault,) = check_diagnose(store, nodes=nodes, past=past).faults
    assert "the corosync link pve001 ↔ pve002 is connected now" in fault.statement
    assert "ryanrishi ↔" not in fault.statement


def test_a_triage_that_sampled_knet_twice_is_not_contradicted_by_the_next_check() -> None:
    """nyc3 after route-fix: network-triage read knet's counters twice (no down between) and
    said "history … nothing to fix now"; the check right after it, with that triage's ping and
    mtr at 0%, said "corosync's UDP between pve001 and pve002 is lost while ICMP gets through"
    and proposed corosync-tuning: it took the triage's ping but not its two samples."""
    nodes = ("ryanrishi", "pve001", "pve002")
    bad = {"pve001", "pve002"}
    store = [Fact("journal.link_down", 85, "pve001", "pve002"),
             Fact("journal.link_down", 85, "pve002", "pve001")]
    measured = []
    for a in nodes:
        store += [Fact("quorum.quorate", True, a), Fact("corosync.token_ms", 3650, a)]
        for b in (n for n in nodes if n != a):
            store.append(Fact("knet.connected", True, a, b))
            measured += [Fact("ping.loss_pct", 0.0, a, b), Fact("ping.sent", 50, a, b),
                         Fact("mtr.loss_pct", 0.0, a, b), Fact("mtr.sent", 50, a, b),
                         Fact("knet.down_count", 85 if {a, b} == bad else 1, a, b),
                         Fact("knet.down_delta", 0, a, b)]
    faults = check_diagnose(store, nodes=nodes, measured=measured).faults
    assert "udp-lost-icmp-ok" not in [f.rule for f in faults], [f.statement for f in faults]
    (history,) = [f for f in faults if f.rule == "link-flaps-history" and set(f.nodes) == bad]
    assert history.severity == "info" and history.next_runbook is None
