"""The health check's overview on the summary screen: the faults to fix, in order, then what
is only noted. A newcomer read "6 faults, in the order to fix them: … 2. network history" as a
sixth job (a link that went down earlier and is fine now, an info finding)."""

from __future__ import annotations

from pverunbook.pve.diagnosis.model import Diagnosis, Fault, NextRunbook
from pverunbook.ui.screens.summary import render_overview


def _fault(rule: str, statement: str, severity: str, nr: NextRunbook | None = None) -> Fault:
    return Fault(rule, statement, severity, "high", "do it", (), nr)  # type: ignore[arg-type]


def test_info_is_noted_after_the_faults_and_not_counted() -> None:
    d = Diagnosis((
        _fault("flapping-link", "the corosync link between a and b went down 88 times: "
               "token 1000 ms is too short for it", "critical",
               NextRunbook("corosync-tuning", {})),
        _fault("link-flaps-history", "history: the knet link between a and c went down 3 "
               "times, all before the last hour; it is up and clean now", "info"),
        _fault("cert-missing", "b has no node certificate (pve-ssl.pem)", "critical",
               NextRunbook("certificate-regeneration", {"force": False})),
    ))
    lines = render_overview(d).plain.splitlines()
    assert lines[0] == "2 faults, in the order to fix them:"
    assert lines[1].startswith(" 1. network") and "went down 88 times" in lines[1]
    assert "→ corosync-tuning" in lines[1]
    assert lines[2].startswith(" 2. certificates") and "→ certificate-regeneration" in lines[2]
    assert lines[3] == "Noted, nothing to fix now:"
    assert lines[4].startswith(" · network") and lines[4].endswith(
        "earlier, now fine: the knet link between a and c went down 3 times, all before the "
        "last hour"), lines[4]
    assert len(lines) == 5


def test_only_notes_say_so_without_a_count_of_faults() -> None:
    d = Diagnosis((_fault("link-flaps-history", "history: the knet link between a and c went "
                          "down 3 times", "info"),))
    assert render_overview(d).plain.splitlines()[0] == "Noted, nothing to fix now:"


def test_faults_are_numbered_one_to_n_everywhere_when_a_note_comes_first() -> None:
    """A check whose network history came first read "4 faults" numbered 2, 3, 4, 5 and
    "Noted … 1.": the overview, the details, the console and "First by hand: #N" now count
    the faults to fix from 1 and leave the note unnumbered."""
    from pverunbook.headless import format_diagnosis
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.ui.screens.summary import render_fault

    d = Diagnosis((
        _fault("link-flaps-history", "history: the knet link between a and c went down 3 "
               "times", "info"),
        _fault("storage-cfg", "storage.cfg is gone", "critical"),
        _fault("configs-gone", "VM configs are gone", "critical",
               NextRunbook("vm-config-recovery", {})),
    ))
    lines = render_overview(d).plain.splitlines()
    assert [ln[:4] for ln in lines] == ["2 fa", " 1. ", " 2. ", "Note", " · n"]
    assert "storage.cfg is gone" in lines[1]
    assert render_fault(None, d.faults[0]).plain.startswith("· history")
    step = next_step(d.faults, {"vm-config-recovery": ["storage-cfg"]})
    assert step.first_words().startswith("First by hand: #1 (storage.cfg is gone)")
    out = format_diagnosis(d, check=True)
    heads = [ln for ln in out if ln.startswith(" ") and "[confidence" in ln]
    assert [h.split()[0] for h in heads] == ["1.", "2.", "·"], heads
