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
    assert lines[2].startswith(" 3. certificates") and "→ certificate-regeneration" in lines[2]
    assert lines[3] == "Noted, nothing to fix now:"
    assert lines[4].startswith(" 2. network") and lines[4].endswith(
        "earlier, now fine: the knet link between a and c went down 3 times, all before the "
        "last hour"), lines[4]
    assert len(lines) == 5


def test_only_notes_say_so_without_a_count_of_faults() -> None:
    d = Diagnosis((_fault("link-flaps-history", "history: the knet link between a and c went "
                          "down 3 times", "info"),))
    assert render_overview(d).plain.splitlines()[0] == "Noted, nothing to fix now:"
