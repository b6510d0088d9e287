"""A node's own /etc/pve/nodes/<node> missing: named once per check, and a renamed node (its
guests' configs still under the old name, a directory no cluster member has) told apart from
a wiped one.

Outputs are the check's steps as a node prints them: ``pve-mount`` (``ls /etc/pve/nodes``,
``test -d``), ``pve-write`` (coreutils stat/truncate messages for pmxcfs's ENOENT),
``cluster-conf`` (corosync.conf's nodelist) and ``vms`` (``pgrep -a kvm``, ``ls -1
/etc/pve/nodes/*/qemu-server/``). Sources: pve-cluster pmxcfs.c (the node is its host name),
memdb.c ``memdb_rename`` (no non-empty directory renamed), pmxcfs.adoc "POSIX Compatibility"
and "Recovering/Moving Guests from Failed Nodes", pvecm.adoc "Preparing Nodes".
"""

from __future__ import annotations

from pverunbook.pve.diagnosis import diagnose
from pverunbook.pve.diagnosis.check import check_diagnose, phase_of
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ["pve-new", "pve2"]


def facts(verdict: str, node: str, text: str, status: int = 0, stderr: str = "") -> list[Fact]:
    return [Fact(f.name, f.value, f.node, f.peer, f.evidence, verdict)
            for f in extract(verdict, Observation(node, text, status, stderr=stderr))]


def mount(node: str, listed: list[str], own: bool) -> list[Fact]:
    text = ("### mount\n/dev/fuse on /etc/pve type fuse (rw,nosuid,nodev,relatime,user_id=0,"
            "group_id=0,default_permissions,allow_other)\n### ls\n"
            + "".join(f"{d}\n" for d in listed) + "exit 0\n### own-dir\n"
            + ("yes" if own else "no") + "\n")
    return facts("pve-mount", node, text)


def write_enoent(node: str) -> list[Fact]:
    return facts("pve-write", node, "### probe\n", 1,
                 f"stat: cannot statx '/etc/pve/nodes/{node}': No such file or directory\n"
                 f"stat: cannot statx '/etc/pve/nodes/{node}/pve-ssl.pem': No such file or "
                 "directory\n"
                 f"truncate: cannot open '/etc/pve/nodes/{node}/pve-ssl.pem' for writing: "
                 "No such file or directory\n")


def write_ok(node: str) -> list[Fact]:
    return facts("pve-write", node, f"drwxr-xr-x /etc/pve/nodes/{node}\n### probe\n"
                 f"/etc/pve/nodes/{node}/pve-ssl.pem\n", 1,
                 f"truncate: failed to truncate '/etc/pve/nodes/{node}/pve-ssl.pem' at "
                 "1048577 bytes: File too large\n")


def conf(node: str, names: list[str]) -> list[Fact]:
    body = "".join(f"  node {{\n    name: {n}\n    nodeid: {i}\n    quorum_votes: 1\n"
                   f"    ring0_addr: 10.0.0.{i}\n  }}\n" for i, n in enumerate(names, 1))
    return facts("cluster-conf", node, f"nodelist {{\n{body}}}\n")


def vms(node: str, running: list[int], dirs: dict[str, list[int]]) -> list[Fact]:
    kvm = "".join(f"{2700 + i} /usr/bin/kvm -id {i} -name vm{i} -m 1024\n" for i in running)
    listing = "\n".join(f"/etc/pve/nodes/{d}/qemu-server/:\n"
                        + "".join(f"{i}.conf\n" for i in ids) for d, ids in dirs.items())
    return facts("vms", node, f"### kvm\n{kvm}### configs\n{listing}")


def renamed_cluster(nodelist: list[str]) -> list[Fact]:
    """pve-new was pve-old: its host name changed; pve2 is fine."""
    listed = ["pve-old", "pve2"]
    guests = {"pve-old": [100, 101], "pve2": [200]}
    return (mount("pve-new", listed, False) + mount("pve2", listed, True)
            + write_enoent("pve-new") + write_ok("pve2")
            + conf("pve-new", nodelist) + conf("pve2", nodelist)
            + vms("pve-new", [100, 101], guests) + vms("pve2", [200], guests)
            # its certificate is under the old name too: pve-ssl.pem is missing for pve-new
            + facts("cert-chain", "pve-new",
                    "### node-cert\nCould not open file or uri for loading certificate from "
                    "/etc/pve/nodes/pve-new/pve-ssl.pem\n### ca\nsubject=CN = Proxmox "
                    "Virtual Environment, OU = 1a2b, O = PVE Cluster Manager CA\n"
                    "### pveproxy\nactive\n"))


def test_a_missing_own_directory_is_named_once_per_check() -> None:
    # both probes see it: the pve-mount step's test -d and the write probe's ENOENT
    store = (mount("pve-new", ["pve-new", "pve2"], True) + mount("pve2", ["pve-new"], False)
             + write_ok("pve-new") + write_enoent("pve2"))
    diag = check_diagnose(store, nodes=NODES)
    dirs = [f for f in diag.faults
            if f.rule in ("pmxcfs-node-dir-missing", "pve-own-dir-missing")]
    assert [(f.rule, f.nodes) for f in dirs] == [("pmxcfs-node-dir-missing", ("pve2",))]
    (fault,) = dirs
    assert fault.statement.startswith("/etc/pve/nodes/pve2 is missing: ")
    assert "not a quorum problem" in fault.statement
    # the evidence of both probes, the proposal both made
    assert {e.step_id for e in fault.evidence} == {"pve-mount", "pve-write"}
    assert fault.next_runbook is not None and fault.next_runbook.label() == \
        "certificate-regeneration (force = true)"
    assert phase_of("pve-own-dir-missing") == phase_of("pmxcfs-node-dir-missing") == "database"


def test_the_pve_mount_step_alone_names_it_with_the_same_words() -> None:
    store = mount("pve2", ["pve-new"], False)
    (fault,) = check_diagnose(store, nodes=NODES).faults
    assert fault.rule == "pve-own-dir-missing" and fault.nodes == ("pve2",)
    both = check_diagnose(store + write_enoent("pve2"), nodes=NODES).faults
    assert [f.rule for f in both] == ["pmxcfs-node-dir-missing"]
    assert both[0].statement == fault.statement and both[0].action == fault.action
    assert both[0].next_runbook == fault.next_runbook


def _renamed_fault(nodelist: list[str]) -> None:
    diag = check_diagnose(renamed_cluster(nodelist), nodes=NODES)
    dirs = [f for f in diag.faults
            if f.rule in ("pmxcfs-node-dir-missing", "pve-own-dir-missing")]
    assert len(dirs) == 1, [f.rule for f in diag.faults]
    (fault,) = dirs
    assert fault.rule == "pmxcfs-node-dir-missing" and fault.nodes == ("pve-new",)
    assert fault.statement.startswith("pve-new was renamed from pve-old: ")
    assert "VMs 100, 101 (running on pve-new)" in fault.statement
    assert "200" not in fault.statement
    # never certificate-regeneration first: no runbook moves configs, the commands do
    assert fault.next_runbook is None
    (fix,) = fault.manual
    assert fix.node == "pve-new"
    assert fix.command.split(" && ")[:3] == [
        "timeout 10 mkdir -p /etc/pve/nodes/pve-new/qemu-server /etc/pve/nodes/pve-new/lxc",
        "timeout 10 mv /etc/pve/nodes/pve-old/qemu-server/100.conf "
        "/etc/pve/nodes/pve-new/qemu-server/",
        "timeout 10 mv /etc/pve/nodes/pve-old/qemu-server/101.conf "
        "/etc/pve/nodes/pve-new/qemu-server/"]
    assert "/etc/pve/nodes/pve-old/lxc/*.conf" in fix.command
    assert "certificate-regeneration" in fault.action and "updatecerts" in fault.action
    # the guests running on pve-new with configs under pve-old are this fault, not 'wrong node'
    assert "vm-config-wrong-node" not in {f.rule for f in diag.faults}
    faults = list(diag.faults)
    # the nodelist's old name is this node, checked under its new name: no inventory gap
    assert "node-not-in-inventory" not in {f.rule for f in faults}
    assert "cert-missing" in {f.rule for f in faults}
    assert not any(f.next_runbook is not None
                   and f.next_runbook.runbook == "certificate-regeneration"
                   for f in faults[:faults.index(fault)])


def test_a_renamed_node_moves_its_guests_configs_before_any_certificate() -> None:
    _renamed_fault(["pve-new", "pve2"])  # corosync.conf's nodelist has the new name


def test_a_renamed_node_still_named_by_its_old_name_in_the_nodelist() -> None:
    # only the host name changed: corosync.conf still calls the node pve-old
    _renamed_fault(["pve-old", "pve2"])
    fault = next(f for f in check_diagnose(renamed_cluster(["pve-old", "pve2"]),
                                           nodes=NODES).faults
                 if f.rule == "pmxcfs-node-dir-missing")
    assert "nodelist still calls this node pve-old" in fault.action


def test_a_directory_of_a_member_is_no_rename() -> None:
    # pve3 is a member the inventory leaves out: its directory is its own, not pve-new's old
    store = (mount("pve-new", ["pve3", "pve2"], False) + write_enoent("pve-new")
             + conf("pve-new", ["pve-new", "pve2", "pve3"]))
    (fault,) = [f for f in check_diagnose(store, nodes=NODES).faults
                if f.rule == "pmxcfs-node-dir-missing"]
    assert fault.statement.startswith("/etc/pve/nodes/pve-new is missing")
    assert fault.next_runbook is not None
    assert fault.next_runbook.runbook == "certificate-regeneration"
    # two directories no member has: no guess which one was this node
    two = (mount("pve-new", ["old-a", "old-b", "pve2"], False) + write_enoent("pve-new")
           + conf("pve-new", ["pve-new", "pve2"]))
    (fault,) = [f for f in check_diagnose(two, nodes=NODES).faults
                if f.rule == "pmxcfs-node-dir-missing"]
    assert fault.next_runbook is not None and fault.manual[0].command.startswith("hostname")
    assert "also holds old-a, old-b" in fault.statement
    # pve-new missing from the nodelist, and pve3 a real member the inventory leaves out
    # beside pve-x: two nodelist names without a host, so pve3's directory is no old name
    partial = (mount("pve-new", ["pve3", "pve2"], False) + write_enoent("pve-new")
               + conf("pve-new", ["pve-x", "pve2", "pve3"]))
    (fault,) = [f for f in check_diagnose(partial, nodes=NODES).faults
                if f.rule == "pmxcfs-node-dir-missing"]
    assert fault.next_runbook is not None and "renamed from" not in fault.statement
    # a wiped database: nothing under /etc/pve/nodes at all
    wiped = mount("pve-new", [], False) + conf("pve-new", ["pve-new", "pve2"])
    (fault,) = check_diagnose(wiped, nodes=NODES).faults
    assert "not a rename" in fault.statement and fault.next_runbook is not None


def test_the_triage_write_probe_alone_keeps_its_proposal() -> None:
    # network-triage lists no directories: nothing says it was renamed
    (fault,) = diagnose(write_enoent("pve2"), nodes=NODES).faults
    assert fault.rule == "pmxcfs-node-dir-missing" and fault.nodes == ("pve2",)
    assert fault.next_runbook is not None
    assert fault.next_runbook.runbook == "certificate-regeneration"
    assert "pmxcfs cannot rename a non-empty directory" in fault.action


def test_the_listing_of_etc_pve_nodes_is_a_fact() -> None:
    (listed,) = [f for f in mount("a", ["a", "b"], True) if f.name == "pve.node_dirs"]
    assert listed.value == "a b" and listed.evidence == "ls /etc/pve/nodes: a b"
    hung = facts("pve-mount", "a", "### mount\n### ls\nexit 124\n### own-dir\nno\n")
    assert "pve.node_dirs" not in {f.name for f in hung}


def guests(node: str, running: list[int], vms_in: dict[str, list[int]],
           cts_in: dict[str, list[int]]) -> list[Fact]:
    """The ``vms`` step as it lists both ``qemu-server/`` and ``lxc/`` (ls sorts its operands
    and heads each directory with its name)."""
    kvm = "".join(f"{2700 + i} /usr/bin/kvm -id {i} -name vm{i} -m 1024\n" for i in running)
    sections = {f"/etc/pve/nodes/{d}/qemu-server/": ids for d, ids in vms_in.items()}
    sections |= {f"/etc/pve/nodes/{d}/lxc/": ids for d, ids in cts_in.items()}
    listing = "\n".join(f"{path}:\n" + "".join(f"{i}.conf\n" for i in sections[path])
                        for path in sorted(sections))
    return facts("vms", node, f"### kvm\n{kvm}### configs\n{listing}")


def rebooted_cluster(nodelist: list[str], pve2_vms: list[int] | None = None,
                     pve2_running: list[int] | None = None) -> list[Fact]:
    """pve-new was pve-old and has rebooted since: pveproxy's `pvecm updatecerts --silent`
    made an empty /etc/pve/nodes/pve-new; VMs 100 and 101 (running on pve-new) and container
    300 are still filed under pve-old."""
    listed = ["pve-new", "pve-old", "pve2"]
    vms_in = {"pve-new": [], "pve-old": [100, 101], "pve2": [200] if pve2_vms is None
              else pve2_vms}
    cts_in = {"pve-new": [], "pve-old": [300], "pve2": []}
    return (mount("pve-new", listed, True) + mount("pve2", listed, True)
            + write_ok("pve-new") + write_ok("pve2")
            + conf("pve-new", nodelist) + conf("pve2", nodelist)
            + guests("pve-new", [100, 101], vms_in, cts_in)
            + guests("pve2", [200] if pve2_running is None else pve2_running, vms_in, cts_in))


def test_a_renamed_node_after_its_reboot_has_an_empty_own_directory() -> None:
    for nodelist in (["pve-new", "pve2"], ["pve-old", "pve2"]):
        diag = check_diagnose(rebooted_cluster(nodelist), nodes=NODES)
        rules = [f.rule for f in diag.faults]
        (fault,) = [f for f in diag.faults if f.rule == "node-renamed"]
        assert fault.nodes == ("pve-new",)
        assert fault.statement == (
            "pve-new was renamed from pve-old: /etc/pve/nodes/pve-new holds no guest config, "
            "and /etc/pve/nodes/pve-old, a name no node goes by now, still holds VMs 100, 101 "
            "(running on pve-new) and container (CT) 300 and the old name's certificate")
        # the directories exist (updatecerts made them): one mv per guest, nothing else
        (fix,) = fault.manual
        assert fix.node == "pve-new" and fix.command.split(" && ") == [
            "timeout 10 mv /etc/pve/nodes/pve-old/qemu-server/100.conf "
            "/etc/pve/nodes/pve-new/qemu-server/",
            "timeout 10 mv /etc/pve/nodes/pve-old/qemu-server/101.conf "
            "/etc/pve/nodes/pve-new/qemu-server/",
            "timeout 10 mv /etc/pve/nodes/pve-old/lxc/300.conf /etc/pve/nodes/pve-new/lxc/"]
        assert fault.next_runbook is None
        assert "ExecStartPre" in fault.action and "updatecerts" in fault.action
        assert phase_of("node-renamed") == "database"
        # the same fault, not each VM on the 'wrong' node, nor the old name as a lost node
        assert "vm-config-wrong-node" not in rules
        assert "node-not-in-inventory" not in rules
        assert "pve-own-dir-missing" not in rules and "pmxcfs-node-dir-missing" not in rules


def test_an_empty_own_directory_beside_an_orphan_is_no_guess() -> None:
    # pve2's directory is as empty: which node was pve-old? The VMs pve-new runs say it
    store = rebooted_cluster(["pve-new", "pve2"], pve2_vms=[], pve2_running=[])
    (fault,) = [f for f in check_diagnose(store, nodes=NODES).faults
                if f.rule == "node-renamed"]
    assert fault.nodes == ("pve-new",)
    # ... and without them nothing does: each node may simply run no guest
    quiet = [f for f in store if not (f.name == "vm.running" and f.node == "pve-new")]
    quiet += facts("vms", "pve-new", "### kvm\n")
    assert "node-renamed" not in {f.rule for f in check_diagnose(quiet, nodes=NODES).faults}
    # a member's own directory holding guests is no old name
    member = rebooted_cluster(["pve-new", "pve2", "pve-old"])
    assert "node-renamed" not in {f.rule for f in check_diagnose(member, nodes=NODES).faults}


def test_a_missing_own_directory_names_each_container_when_lxc_was_listed() -> None:
    listed = ["pve-old", "pve2"]
    cts = {"pve-old": [300, 301], "pve2": []}
    store = (mount("pve-new", listed, False) + write_enoent("pve-new")
             + conf("pve-new", ["pve-new", "pve2"])
             + guests("pve-new", [100], {"pve-old": [100], "pve2": []}, cts))
    (fault,) = [f for f in check_diagnose(store, nodes=NODES).faults
                if f.rule == "pmxcfs-node-dir-missing"]
    assert "VM 100 (running on pve-new) and containers (CT) 300, 301" in fault.statement
    assert fault.manual[0].command.split(" && ") == [
        "timeout 10 mkdir -p /etc/pve/nodes/pve-new/qemu-server /etc/pve/nodes/pve-new/lxc",
        "timeout 10 mv /etc/pve/nodes/pve-old/qemu-server/100.conf "
        "/etc/pve/nodes/pve-new/qemu-server/",
        "timeout 10 mv /etc/pve/nodes/pve-old/lxc/300.conf /etc/pve/nodes/pve-new/lxc/",
        "timeout 10 mv /etc/pve/nodes/pve-old/lxc/301.conf /etc/pve/nodes/pve-new/lxc/"]


def test_the_vms_step_lists_containers_apart_from_vms() -> None:
    got = guests("a", [], {"a": [100], "b": []}, {"a": [300], "b": []})
    assert {(f.name, f.value, f.peer) for f in got if f.name.endswith("config_node")} == {
        ("vm.config_node", "a", "vm100"), ("ct.config_node", "a", "ct300")}
    (listed,) = [f for f in got if f.name == "ct.dirs_listed"]
    assert listed.value == "a b"


def test_the_check_and_network_triage_propose_the_same_regeneration() -> None:
    """Both find the missing directories; only the check reads the CA. On a wiped database
    the check said force = true (the CA is gone) and network-triage's summary force = false,
    for the same cluster (trial 13): the directory's fault proposes the covering value."""
    triage = write_enoent("pve-new") + write_enoent("pve2")
    check = [*triage, *mount("pve-new", [], False), *mount("pve2", [], False),
             *(Fact("ca.present", False, n, None, "no pve-root-ca.pem", "cert-chain")
               for n in NODES)]

    def proposals(faults: object) -> set[str]:
        return {f.next_runbook.label() for f in faults  # type: ignore[attr-defined]
                if f.next_runbook and f.next_runbook.runbook == "certificate-regeneration"}

    by_triage = diagnose(triage, nodes=NODES).faults
    assert "pmxcfs-node-dir-missing" in [f.rule for f in by_triage]
    by_check = check_diagnose(check, nodes=NODES).faults
    assert {"pmxcfs-node-dir-missing", "ca-missing"} <= {f.rule for f in by_check}
    assert proposals(by_triage) == proposals(by_check) == {
        "certificate-regeneration (force = true)"}
