"""A runbook's guards stop it like its expectations do: the health check proposes a runbook
only after the faults that would make one of its guards fail before it has changed anything
(guard_stops.GUARD_FAULTS, read into run_diagnosis.runbook_stops)."""

from __future__ import annotations

from pathlib import Path

from pverunbook.pve.diagnosis import FAULT_IDS
from pverunbook.pve.diagnosis.check import check_diagnose, runnable_first
from pverunbook.pve.diagnosis.guard_stops import GUARD_FAULTS, guard_stops
from pverunbook.pve.diagnosis.model import Fault, NextRunbook
from pverunbook.pve.facts import Fact, Observation, extract
from pverunbook.run_diagnosis import runbook_stops
from pverunbook.runbook.catalog import builtin_dir, find
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import Guard, GuardKind, Step, StepKind
from pverunbook.runbook.when import parse

#: What a failed /etc/pve write leaves the check (pmxcfs refusing writes, hung, or gone).
WRITABLE_FAULTS = {"pmxcfs-read-only", "pmxcfs-blocked", "pmxcfs-not-mounted", "pve-enotconn",
                   "partition", "corosync-not-running"}


def facts(verdict: str, node: str, text: str) -> list[Fact]:
    return extract(verdict, Observation(node, text, 0))


def _fault(rule: str, runbook: str | None = None) -> Fault:
    return Fault(rule, rule, "critical", "high", "",
                 next_runbook=NextRunbook(runbook) if runbook else None)


def _step(sid: str, *guards: Guard, destructive: bool = False, when: str = "") -> Step:
    return Step(sid, sid, StepKind.RUN, commands=("true",), guards=guards,
                destructive=destructive, when=when or None,
                condition=parse(when, ("source",)) if when else None)


def test_every_guard_kind_is_mapped_to_faults_the_diagnosis_reports() -> None:
    assert set(GUARD_FAULTS) == {k.value for k in GuardKind}
    for kind, ids in GUARD_FAULTS.items():
        assert ids <= set(FAULT_IDS), (kind, ids - set(FAULT_IDS))
    assert GUARD_FAULTS["pve-writable"] == WRITABLE_FAULTS
    # pmxcfs stopped leaves /etc/pve a plain directory: the probe's touch succeeds there
    assert "pve-not-mounted" not in GUARD_FAULTS["pve-writable"]


def test_only_blocking_guards_before_the_first_change_count() -> None:
    quorate, writable = Guard(GuardKind.QUORATE), Guard(GuardKind.PVE_WRITABLE)
    steps = [_step("look", Guard(GuardKind.NO_HA_RESOURCES, warn=True)),
             _step("branch", Guard(GuardKind.INVENTORY_COMPLETE), when="source == dump"),
             _step("alone", Guard(GuardKind.COROSYNC_RUNNING),
                   when="corosync.running[first]"),
             _step("fix", quorate, destructive=True),
             _step("write", writable, destructive=True)]
    # warn: informs only; a `when` on facts: runs only where it may hold; after the first
    # destructive step: that change may be the runbook's own fix for what the guard checks
    assert guard_stops(steps) == {"node-not-in-inventory", "partition", "corosync-not-running"}
    assert guard_stops(steps[3:]) == GUARD_FAULTS["quorate"]
    assert guard_stops(steps[4:]) == WRITABLE_FAULTS


def test_the_shipped_runbooks_guards_stop_them_on_what_they_do_not_fix() -> None:
    got = {p.stem: guard_stops(load_file(p, lint=False).steps)
           for p in sorted(builtin_dir().glob("*.toml"))}
    inventory = {"node-not-in-inventory"}
    assert got["vm-config-recovery"] == WRITABLE_FAULTS | inventory
    assert got["certificate-regeneration"] == {"partition", "corosync-not-running"} | inventory
    assert got["qdevice-setup"] == {"partition", "corosync-not-running"} | inventory
    assert got["cluster-db-reset"] == inventory  # its no-ha-resources guard only warns
    assert got["rollback-settle"] == inventory
    # corosync-tuning restores quorum itself (`pvecm expected 1` on a node left alone) before
    # its pve-writable guards: it never waits on what it fixes
    assert got["corosync-tuning"] == frozenset()
    assert got["route-fix"] == got["network-triage"] == got["cluster-health-check"] == set()
    stops = runbook_stops()
    assert stops["vm-config-recovery"] >= WRITABLE_FAULTS
    assert "corosync-tuning" not in stops


def test_vm_config_recovery_is_proposed_after_what_keeps_etc_pve_from_taking_writes() -> None:
    for blocker in ("pmxcfs-read-only", "partition", "pmxcfs-blocked"):
        faults = [_fault("vm-without-config", "vm-config-recovery"), _fault(blocker)]
        assert [f.rule for f in runnable_first(faults, runbook_stops())] == [
            blocker, "vm-without-config"]


CONF = ("nodelist {\n  node {\n    name: pve001\n    nodeid: 2\n    quorum_votes: 1\n"
        "    ring0_addr: 192.168.4.201\n  }\n  node {\n    name: pve002\n    nodeid: 3\n"
        "    quorum_votes: 1\n    ring0_addr: 192.168.4.202\n  }\n  node {\n"
        "    name: ryanrishi\n    nodeid: 1\n    quorum_votes: 1\n"
        "    ring0_addr: 192.168.4.200\n  }\n}\n")


def test_rollback_settle_waits_for_the_inventory_its_guards_compare() -> None:
    # rollback-settle's keep and undo steps guard inventory-complete: with a node of the
    # nodelist missing from the inventory it would stop, so the inventory comes first
    gone = ("2026-12-06T18:40:00Z pve001 pverunbook-rollback[4242] x: armed\n"
            "TIMER 20261206-184110-ecbf4c-apply-1-pve001 armed deadline=1796582038 "
            "now=1796582338 process=gone\n")
    store = facts("rollbacks", "pve001", gone) + facts("cluster-conf", "ryanrishi", CONF)
    nodes = ["ryanrishi", "pve001"]
    before = [f.rule for f in check_diagnose(store, nodes=nodes).faults]
    assert before == ["rollback-stale", "node-not-in-inventory"]  # the phases alone
    after = [f.rule for f in check_diagnose(store, nodes=nodes, stops=runbook_stops()).faults]
    assert after == ["node-not-in-inventory", "rollback-stale"]


RB = ('id = "{id}"\ntitle = "t"\nversion = "1"\nsummary = "s"\n[[steps]]\nid = "a"\n'
      'title = "a"\nkind = "run"\ncommands = ["true"]\ndestructive = true\n'
      'no_backup_reason = "nothing on disk"\n[[steps.guards]]\ncheck = "quorate"\n')


def test_the_runbooks_folders_are_read_the_way_run_next_opens_a_runbook(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(RB.format(id="my-fix"))
    (tmp_path / "route-fix.toml").write_text(RB.format(id="route-fix"))
    stops = runbook_stops((tmp_path,))
    assert stops["my-fix"] == GUARD_FAULTS["quorate"]
    # the same id as a shipped runbook: "Run next" (catalog.find) opens the shipped one, so
    # its stops are the shipped one's (none), not the folder's
    assert find("route-fix", [tmp_path]).parent == builtin_dir()
    assert "route-fix" not in stops
    assert runbook_stops() == {k: v for k, v in stops.items() if k != "my-fix"}
