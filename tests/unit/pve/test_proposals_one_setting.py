"""One setting per runbook (pve/diagnosis/proposals.py): a wiped database's health check named
certificate-regeneration with force = false for the missing node certificates and with
force = true for the missing CA; run the plain way first, each node would make a CA of its
own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.diagnosis.model import Fault, NextRunbook
from pverunbook.pve.diagnosis.proposals import one_setting_per_runbook


def _fault(rule: str, nr: NextRunbook | None) -> Fault:
    return Fault(rule, rule, "critical", "high", "do it", (), nr, (), ("pve1",))


def test_the_covering_value_wins_for_every_proposal_of_the_runbook() -> None:
    plain = NextRunbook("certificate-regeneration", {"force": False})
    forced = NextRunbook("certificate-regeneration", {"force": True})
    other = NextRunbook("vm-config-recovery", {"source": "processes"})
    faults = [_fault("cert-missing", plain), _fault("configs", other),
              _fault("pve-own-dir-missing", plain), _fault("ca-missing", forced),
              _fault("no-runbook", None)]
    out = one_setting_per_runbook(faults)
    assert [f.rule for f in out] == [f.rule for f in faults]
    assert [f.next_runbook.params if f.next_runbook else None for f in out] == [
        {"force": True}, {"source": "processes"}, {"force": True}, {"force": True}, None]


def test_nothing_changes_without_the_covering_value() -> None:
    plain = NextRunbook("certificate-regeneration", {"force": False})
    faults = [_fault("cert-missing", plain), _fault("pve-own-dir-missing", plain)]
    assert one_setting_per_runbook(faults) == faults


@settings(max_examples=200, deadline=2000)
@given(st.lists(st.tuples(st.sampled_from(["certificate-regeneration", "route-fix", None]),
                          st.booleans()), max_size=8))
def test_order_and_runbooks_stay_and_force_is_one_value(spec: list[tuple[str | None, bool]]
                                                         ) -> None:
    faults = [_fault(f"r{i}", NextRunbook(rb, {"force": v}) if rb else None)
              for i, (rb, v) in enumerate(spec)]
    out = one_setting_per_runbook(faults)
    assert [(f.rule, f.next_runbook.runbook if f.next_runbook else None) for f in out] == \
        [(f.rule, f.next_runbook.runbook if f.next_runbook else None) for f in faults]
    certs = {f.next_runbook.params["force"] for f in out
             if f.next_runbook and f.next_runbook.runbook == "certificate-regeneration"}
    assert len(certs) <= 1
    routes = [f.next_runbook.params for f in out
              if f.next_runbook and f.next_runbook.runbook == "route-fix"]
    assert routes == [f.next_runbook.params for f in faults
                      if f.next_runbook and f.next_runbook.runbook == "route-fix"]
