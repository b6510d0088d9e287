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



def test_headless_check_that_says_healthy_reads_earlier_losses_as_history() -> None:
    """The health check's journal step still sees the outage's token losses (critical to its
    verdict) while the check finds the cluster healthy: the run is "ok", the summary lists
    them as earlier, now fine, never "findings (1 critical)" next to HEALTHY."""
    out = io.StringIO()
    p = EventPrinter(out)
    p(ev.RunStarted(run_id="r-history", runbook_id="cluster-health-check", runbook_title="C",
                    runbook_path="", mode="rehearsal", cluster="nyc", nodes=("ryanrishi",),
                    params={}))
    p(ev.StepStarted(step_id="corosync-journal", title="corosync journal", index=0,
                     nodes=("ryanrishi",)))
    p(ev.Finding(step_id="corosync-journal", node="ryanrishi", severity="critical",
                 title="token lost 12 time(s) in 41m"))
    p(ev.StepFinished(step_id="corosync-journal", status="ok"))
    p(ev.RunFinished(status="ok", duration=1.0))
    text = out.getvalue()
    assert "HEALTHY" in text
    assert "== run ok (1.0s)" in text and "findings (1 critical" not in text
    assert "INFO ryanrishi: token lost 12 time(s) in 41m (earlier, now fine)" in text
