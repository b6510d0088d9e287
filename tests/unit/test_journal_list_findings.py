"""``journal list``: a run whose steps passed but whose findings are critical (a triage that
found the outage) is listed as ``ok — findings (CRIT)``, not as a plain ``ok``."""

from __future__ import annotations

import json

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.journal import runs_dir


def _journal(run_id: str, severity: str | None, runbook: str = "network-triage") -> None:
    t = 1_800_000_000.0
    events: list[ev.Event] = [
        ev.RunStarted(ts=t, run_id=run_id, runbook_id=runbook, runbook_title="T",
                      runbook_path="", mode="rehearsal", cluster="nyc", nodes=("a",),
                      params={})]
    if severity:
        events.append(ev.Finding(ts=t + 1, step_id="ping", node="a", severity=severity,
                                 title="loss", evidence="20% packet loss"))
    events.append(ev.RunFinished(ts=t + 2, status="ok"))
    d = runs_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{run_id}.jsonl").write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events),
                                       encoding="utf-8")


def test_critical_findings_are_not_listed_as_ok(capsys: pytest.CaptureFixture[str]) -> None:
    _journal("20270115-080000-aaaaaa", "critical")
    _journal("20270115-080001-bbbbbb", None)
    assert main(["journal", "list"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert "ok — findings (CRIT)" in lines["20270115-080000-aaaaaa"]
    assert "findings" not in lines["20270115-080001-bbbbbb"]
    assert " ok " in lines["20270115-080001-bbbbbb"]


def test_a_healthy_check_with_old_findings_is_listed_by_its_verdict_now(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A health check that said healthy while its logs held old link flaps (critical findings
    of its journal verdict that no fault rests on: history) was listed "ok — findings (CRIT)";
    it is labelled by the verdict now, like its own summary. A warning stays a warning."""
    _journal("20270115-080002-cccccc", "critical", runbook="cluster-health-check")
    _journal("20270115-080003-dddddd", "warning", runbook="cluster-health-check")
    assert main(["journal", "list"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert "findings" not in lines["20270115-080002-cccccc"]
    assert " ok " in lines["20270115-080002-cccccc"]
    assert "ok — findings (WARN)" in lines["20270115-080003-dddddd"]
