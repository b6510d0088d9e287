"""The first runbook the diagnosis names, and what must be fixed by hand before it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.diagnosis.model import Fault, NextRunbook
from pverunbook.pve.diagnosis.next_step import next_step


def fault(rule: str, runbook: str | None = None) -> Fault:
    return Fault(rule, f"{rule} statement", "critical", "high", "fix it",
                 next_runbook=NextRunbook(runbook) if runbook else None)


STOPS = {"vm-config-recovery": frozenset({"storage-cfg-missing", "pve-own-dir-missing"})}


def test_a_manual_fault_the_runbook_stops_on_comes_first_by_hand() -> None:
    """The wiped 3-node check: storage.cfg gone (no runbook), then the VMs without config."""
    faults = [fault("storage-cfg-missing"), fault("vm-without-config", "vm-config-recovery")]
    step = next_step(faults, STOPS)
    assert step.fault is faults[1] and step.blocked
    assert [(n, f.rule) for n, f in step.by_hand] == [(1, "storage-cfg-missing")]
    words = step.first_words()
    assert words.startswith("First by hand: #1 (storage-cfg-missing statement)")
    assert "vm-config-recovery stops while it is so" in words


def test_a_manual_fault_the_runbook_does_not_stop_on_leaves_it_free() -> None:
    faults = [fault("clock-skew"), fault("vm-without-config", "vm-config-recovery")]
    step = next_step(faults, STOPS)
    assert step.fault is faults[1] and not step.blocked and step.first_words() == ""


def test_a_fault_with_its_own_runbook_is_not_by_hand() -> None:
    faults = [fault("pve-own-dir-missing", "certificate-regeneration"),
              fault("vm-without-config", "vm-config-recovery")]
    step = next_step(faults, STOPS)
    assert step.fault is faults[0] and not step.blocked


def test_no_runbook_named() -> None:
    step = next_step([fault("clock-skew")], STOPS)
    assert step.fault is None and not step.blocked and step.first_words() == ""


RULES = ["storage-cfg-missing", "pve-own-dir-missing", "clock-skew", "vm-without-config"]


@settings(max_examples=200, deadline=200)
@given(st.lists(st.tuples(st.sampled_from(RULES),
                          st.sampled_from([None, "vm-config-recovery", "route-fix"])),
                max_size=6))
def test_the_next_is_the_first_runbook_and_by_hand_are_earlier_manual_stops(
        spec: list[tuple[str, str | None]]) -> None:
    faults = [fault(r, rb) for r, rb in spec]
    step = next_step(faults, STOPS)
    first = next((f for f in faults if f.next_runbook is not None), None)
    assert step.fault is first
    for n, f in step.by_hand:
        assert faults[n - 1] is f and f.next_runbook is None
        assert first is not None and first.next_runbook is not None
        assert f.rule in STOPS.get(first.next_runbook.runbook, ())
        assert n - 1 < faults.index(first)


def test_the_headless_diagnosis_says_what_comes_by_hand_under_its_next_line() -> None:
    """The wiped three-node check printed "next: vm-config-recovery" under the VMs without a
    config, while #1 (storage.cfg gone, no runbook) stops that runbook at its third step."""
    from pverunbook.headless import format_diagnosis
    from pverunbook.pve.diagnosis.model import Diagnosis
    from pverunbook.run_diagnosis import runbook_stops

    assert "storage-cfg-missing" in runbook_stops()["vm-config-recovery"]
    diag = Diagnosis(faults=(fault("storage-cfg-missing"),
                             fault("vm-without-config", "vm-config-recovery")))
    lines = format_diagnosis(diag, "rehearsal", check=True)
    at = next(i for i, line in enumerate(lines) if "next: vm-config-recovery" in line)
    assert lines[at + 1].strip().startswith("First by hand: #1 (storage-cfg-missing statement)")
    free = format_diagnosis(Diagnosis(faults=diag.faults[::-1]), "rehearsal", check=True)
    assert not any("First by hand" in line for line in free)
