"""The check's order: a precaution after every critical fault.

Once the network was fixed and measured, the check proposed corosync-tuning "as a precaution
against the next burst" (corosync-token-default, a warning of the network phase) before the
VMs running without a config and the missing certificates, critical faults of later phases
that do not wait on the token. A precaution now comes after every critical fault; a critical
network fault still comes first, and a warning of a later phase after the precaution.
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.check import check_diagnose, phase_of, precaution
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ("ryanrishi", "pve001")
KVM = ("### kvm\n"
       "2708 /usr/bin/kvm -id 101 -name pihole,debug-threads=on -no-shutdown -m 1024\n"
       "### configs\n/etc/pve/nodes/pve001/qemu-server:\n\n"
       "/etc/pve/nodes/ryanrishi/qemu-server:\n")


def calm_after_outage() -> list[Fact]:
    """Both nodes quorate, the link connected from both ends, the default token, and the
    outage's link downs still in the journal's hour: corosync-token-default."""
    out = []
    for a, b in (NODES, NODES[::-1]):
        out += [Fact("quorum.quorate", True, a), Fact("knet.connected", True, a, b),
                Fact("corosync.token_ms", 3000, a), Fact("journal.link_down", 12, a, b),
                Fact("journal.token_lost", 12, a)]
    return out


def vms_without_config() -> list[Fact]:
    return extract("vms", Observation("ryanrishi", KVM, 0))


def cert_missing() -> list[Fact]:
    return extract("cert", Observation(
        "pve001", "Could not open file or uri for loading certificate from "
                  "/etc/pve/nodes/pve001/pve-ssl.pem\n", 1))


def rules(facts: list[Fact]) -> list[str]:
    return [f.rule for f in check_diagnose(facts, nodes=NODES).faults]


def test_the_precaution_comes_after_the_configs_and_certificates() -> None:
    d = check_diagnose(calm_after_outage() + vms_without_config() + cert_missing(),
                       nodes=NODES)
    got = [f.rule for f in d.faults]
    assert got == ["vm-without-config", "cert-missing", "corosync-token-default"], got
    token = d.faults[-1]
    assert precaution(token) and phase_of(token.rule) == "network"
    # the first proposal is the configs' runbook, not the tuning
    first = next(f for f in d.faults if f.next_runbook is not None)
    assert first.next_runbook is not None and first.next_runbook.runbook == "vm-config-recovery"


def test_alone_or_with_later_warnings_it_keeps_its_place() -> None:
    assert rules(calm_after_outage()) == ["corosync-token-default"]
    # only the configs' critical fault: the tuning right after it, before the certificates'
    # phase had anything critical
    assert rules(calm_after_outage() + vms_without_config()) == [
        "vm-without-config", "corosync-token-default"]


def test_a_critical_link_fault_is_no_precaution_and_stays_first() -> None:
    lossy = [Fact("ping.loss_pct", 20.0, a, b) for a, b in (NODES, NODES[::-1])] + \
        [Fact("ping.sent", 50, a, b) for a, b in (NODES, NODES[::-1])]
    d = check_diagnose(calm_after_outage() + vms_without_config(), nodes=NODES,
                       measured=lossy)
    first = d.faults[0]
    assert first.rule == "lossy-link" and first.severity == "critical" and not precaution(first)
    assert first.next_runbook is not None and first.next_runbook.runbook == "corosync-tuning"
    assert [f.rule for f in d.faults][-1] == "vm-without-config"


def test_measuring_before_the_precaution_waits_only_when_the_path_was_measured() -> None:
    """The token advice asks to measure the link first while the journal's downs may predate
    route-fix and nothing measured the link since the check's figures. Right after route-fix
    that measurement confirms the network fix: it comes first. Once the link was measured
    after the fix and only other runbooks ran since (vm-config-recovery), measuring again
    before the certificates is the precaution's, after every critical fault."""
    from datetime import UTC, datetime

    from pverunbook.pve.diagnosis.measurement import LastMeasure

    now = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    t = now.timestamp()
    fix = ("route-fix", t - 900)
    facts = calm_after_outage() + vms_without_config() + cert_missing()
    after_fix = LastMeasure(t - 1200, (), (("route-fix", t - 900),))
    d = check_diagnose(facts, nodes=NODES, now=now, path_change=fix, last=after_fix)
    got = [f.rule for f in d.faults]
    assert got.index("corosync-token-default") < got.index("vm-without-config"), got
    token = d.faults[got.index("corosync-token-default")]
    assert token.next_runbook is not None and token.next_runbook.runbook == "network-triage"
    assert not precaution(token, remeasure=False)
    measured = LastMeasure(t - 600, (), (("vm-config-recovery", t - 300),))
    d = check_diagnose(facts, nodes=NODES, now=now, path_change=fix, last=measured)
    assert [f.rule for f in d.faults] == ["vm-without-config", "cert-missing",
                                          "corosync-token-default"]
    assert precaution(d.faults[-1], remeasure=True)
