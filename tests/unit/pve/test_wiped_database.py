"""What a wiped cluster database leaves for the health check to name: the cluster-wide files
(storage.cfg, user.cfg, datacenter.cfg) a new empty config.db does not have, this node's
/etc/pve/nodes/<node> directory, and an order of proposals in which the next runbook named
can run (a runbook that would stop on a fault still named comes after it)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.diagnosis.check import check_diagnose, runnable_first
from pverunbook.pve.diagnosis.health import DEFAULT_STORAGE_CFG, WRITE_DEFAULT_STORAGE_CFG
from pverunbook.pve.diagnosis.model import Fault, NextRunbook
from pverunbook.pve.facts import Fact, Observation, extract
from pverunbook.pve.facts.health import CLUSTER_FILES, facts_cluster_files
from pverunbook.pve.qemu_cmdline import parse_storage_cfg
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file

MOUNTED = "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\nexit 0\n### own-dir\nyes\n"
#: The check's ``cluster-files`` step on a node of a wiped cluster (the exits of `test -s`).
WIPED = "storage.cfg 1\nuser.cfg 1\ndatacenter.cfg 1\n"


def facts(verdict: str, node: str, text: str, stderr: str = "") -> list[Fact]:
    return extract(verdict, Observation(node, text, 0, stderr=stderr))


def test_storage_cfg_missing_is_critical_and_says_how_to_put_it_back() -> None:
    store = [f for n in ("pve001", "pve002") for f in
             facts("cluster-files", n, WIPED) + facts("pve-mount", n, MOUNTED)]
    by_rule = {f.rule: f for f in check_diagnose(store, nodes=["pve001", "pve002"]).faults}
    storage = by_rule["storage-cfg-missing"]
    assert storage.severity == "critical" and storage.nodes == ("pve001", "pve002")
    assert "pverunbook pmxcfs extract" in storage.action and "pvesm add" in storage.action
    assert storage.next_runbook is None  # which storages a cluster had, only a copy knows
    (fix,) = storage.manual
    assert fix.node == "pve001" and fix.command == WRITE_DEFAULT_STORAGE_CFG
    # only where the installer's thin pool is, and never over an existing storage.cfg
    assert fix.command.startswith("lvs pve/data && test ! -s /etc/pve/storage.cfg &&\n")
    others = by_rule["cluster-file-missing"]
    assert others.severity == "warning"
    assert others.statement.startswith("user.cfg and datacenter.cfg are missing")
    assert "root@pam" in others.statement
    # the default it writes is a storage.cfg Proxmox parses: local and local-lvm
    assert [(s.storeid, s.type, s.vgname) for s in
            parse_storage_cfg(DEFAULT_STORAGE_CFG).storages] == [
        ("local", "dir", None), ("local-lvm", "lvmthin", "pve")]


def test_the_storage_cfg_fix_is_on_a_quorate_node() -> None:
    """/etc/pve is written only where there is quorum: the cut-off node (first in the list)
    was named for the fix while the text says "on ONE quorate node" (trial 13)."""
    nodes = ["ryanrishi", "pve001", "pve002"]
    store = [f for n in nodes for f in
             facts("cluster-files", n, WIPED) + facts("pve-mount", n, MOUNTED)]
    store += [Fact("quorum.quorate", n != "ryanrishi", n, None, "Quorate", "quorum")
              for n in nodes]
    by_rule = {f.rule: f for f in check_diagnose(store, nodes=nodes).faults}
    storage = by_rule["storage-cfg-missing"]
    assert "quorate node" in storage.action
    assert [m.node for m in storage.manual] == ["pve001"]


def test_present_files_and_an_unreadable_pve_are_no_fault() -> None:
    fine = facts("cluster-files", "a", "storage.cfg 0\nuser.cfg 0\ndatacenter.cfg 0\n")
    assert [f.value for f in fine] == [True, True, True]
    # /etc/pve not mounted: every file reads as missing, the mount is the fault
    gone = facts("cluster-files", "b", WIPED) + facts("pve-mount", "b", "### mount\n")
    rules = [f.rule for f in check_diagnose(fine + gone).faults]
    assert "storage-cfg-missing" not in rules and "cluster-file-missing" not in rules
    assert "pve-not-mounted" in rules
    # a hung /etc/pve (exit 124) says nothing about the files
    assert facts("cluster-files", "c", "storage.cfg 124\nuser.cfg 124\n") == []


_LINE = st.one_of(
    st.tuples(st.sampled_from([*CLUSTER_FILES, "corosync.conf", "storage.cfg.new"]),
              st.sampled_from(["0", "1", "2", "124", "125", "x"])).map(" ".join),
    st.text(st.characters(codec="utf-8"), max_size=40))


@settings(max_examples=200, deadline=2000)
@given(lines=st.lists(_LINE, max_size=12), err=st.text(max_size=40))
def test_the_file_facts_read_only_exits_0_and_1_of_the_three_files(
        lines: list[str], err: str) -> None:
    text = "\n".join(lines)
    found = facts_cluster_files(Observation("n", text, 0, stderr=err))
    expected: dict[str, bool] = {}
    for line in text.splitlines():
        parts = line.strip().split(" ")
        if len(parts) == 2 and parts[0] in CLUSTER_FILES and parts[1] in ("0", "1"):
            expected[CLUSTER_FILES[parts[0]]] = parts[1] == "0"
    assert {f.name: f.value for f in found} == expected
    assert all(f.node == "n" and f.evidence for f in found)


def test_own_directory_missing_is_read_with_ls_complaining_on_stderr() -> None:
    # the check's pve-mount step on a wiped node: `ls /etc/pve/nodes` fails on stderr, which
    # follows all of stdout, so it used to land in the own-dir section and hide the "no"
    out = "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\nexit 2\n### own-dir\nno\n"
    err = "ls: cannot access '/etc/pve/nodes': No such file or directory\n"
    (own,) = [f for f in facts("pve-mount", "pve001", out, err) if f.name == "pve.own_dir"]
    assert own.value is False
    rules = [f.rule for f in check_diagnose(facts("pve-mount", "pve001", out, err)).faults]
    assert rules == ["pve-own-dir-missing"]


def _fault(rule: str, runbook: str | None = None) -> Fault:
    return Fault(rule, rule, "critical", "high", "",
                 next_runbook=NextRunbook(runbook) if runbook else None)


def test_a_runbook_that_would_stop_on_a_named_fault_is_proposed_after_it() -> None:
    faults = [_fault("route"), _fault("vm-without-config", "vm-config-recovery"),
              _fault("storage-cfg-missing"), _fault("cert-missing", "certificate-regeneration"),
              _fault("pve-own-dir-missing", "certificate-regeneration")]
    stops = {"vm-config-recovery": {"storage-cfg-missing", "pve-own-dir-missing"}}
    assert [f.rule for f in runnable_first(faults, stops)] == [
        "route", "storage-cfg-missing", "cert-missing", "pve-own-dir-missing",
        "vm-without-config"]
    assert runnable_first(faults, {}) == faults  # nothing declared: the order stands
    # two that wait on each other: the first goes first, nothing is lost
    loop = [_fault("a", "x"), _fault("b", "y")]
    assert runnable_first(loop, {"x": {"b"}, "y": {"a"}}) == loop


def test_wiped_database_order_follows_the_runbooks_own_stops() -> None:
    # on a wiped database the VM configs come after what recreates the node directories
    # (updatecerts) and after storage.cfg, as vm-config-recovery's expectations declare
    from pverunbook.run_diagnosis import runbook_stops

    vmc = load_file(builtin_dir() / "vm-config-recovery.toml")
    declared = {s.id: set(e.faults) for s in vmc.steps for e in s.expect if e.faults}
    assert {"pve-own-dir-missing", "pmxcfs-node-dir-missing"} <= declared["configs-really-gone"]
    assert declared["storage-cfg"] == {"storage-cfg-missing"}
    kvm = "### kvm\n2708 /usr/bin/kvm -id 101 -name a -m 1024\n### configs\n"
    store = (facts("cluster-files", "pve001", WIPED)
             + facts("vms", "pve001", kvm, "ls: cannot access '/etc/pve/nodes/*/qemu-server/'")
             + facts("pve-mount", "pve001", MOUNTED.replace("yes", "no")))
    diag = check_diagnose(store, nodes=["pve001"], stops=runbook_stops())
    named = [f.next_runbook.runbook if f.next_runbook else f.rule for f in diag.faults
             if f.next_runbook or f.rule == "storage-cfg-missing"]
    assert named.index("vm-config-recovery") > max(
        named.index("certificate-regeneration"), named.index("storage-cfg-missing")), named


def test_declared_stops_name_faults_the_diagnosis_reports_and_never_a_finding() -> None:
    from pverunbook.pve.diagnosis import FAULT_IDS
    from pverunbook.run_diagnosis import runbook_stops
    from pverunbook.runbook.loader import RunbookError, load_text

    stops = runbook_stops()
    assert {"vm-config-recovery", "certificate-regeneration"} <= set(stops)
    for runbook, ids in stops.items():
        assert ids <= set(FAULT_IDS), (runbook, ids - set(FAULT_IDS))
    text = ('id = "x"\ntitle = "x"\nversion = "1"\n[[steps]]\nid = "a"\ntitle = "a"\n'
            'kind = "check"\ncommands = ["true"]\n[[steps.expect]]\nabsent = "^NO"\n'
            'severity = "warning"\nmessage = "m"\nfaults = ["storage-cfg-missing"]\n')
    try:
        load_text(text, "rb.toml")
    except RunbookError as exc:
        assert "'faults' names what stops a run: a finding never does" in str(exc)
    else:
        raise AssertionError("faults on a finding loaded")
    rb = load_text(text.replace('severity = "warning"\n', ""), "rb.toml")
    assert rb.steps[0].expect[0].faults == ("storage-cfg-missing",)
