"""A run whose checks all passed while its verdicts found critical problems is never a bare
"ok" in headless: the step and the run say "ok — findings" (the TUI: tests/ui)."""

from __future__ import annotations

import io

from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter
from pverunbook.run_diagnosis import step_status_label


def run(findings: list[ev.Finding]) -> str:
    out = io.StringIO()
    p = EventPrinter(out)
    p(ev.StepStarted(step_id="ping", title="Loss to every peer", index=0, nodes=("ryanrishi",)))
    for f in findings:
        p(f)
    p(ev.StepFinished(step_id="ping", status="ok"))
    p(ev.RunFinished(status="ok", duration=1.0))
    return out.getvalue()


def test_headless_says_ok_with_findings_when_a_check_saw_critical_loss() -> None:
    crit = ev.Finding(step_id="ping", node="ryanrishi", severity="critical",
                      title="24% packet loss to pve001")
    text = run([crit])
    assert "-- ping: ok — findings (CRIT)" in text
    assert "== run ok — findings (1 critical, see the diagnosis)" in text
    clean = run([])
    assert "-- ping: ok\n" in clean and "== run ok (1.0s)" in clean
    assert step_status_label("ok", "") == "ok"

