"""``journal list`` lists every run, and says which stopped runs a later healthy health check
settled — the runs the start screen lists among the older ones (o) — with the same rule
(``pverunbook.stopped_runs``): the check is whole, found no fault, is the last whole check on
that cluster and mode, and began after the run stopped."""

from __future__ import annotations

import json
import time

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.journal import runs_dir
from pverunbook.pve.diagnosis.check import CHECK_ID
from pverunbook.pve.facts import Fact

T = 1_800_000_000.0


def _write(run_id: str, events: list[ev.Event]) -> None:
    d = runs_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{run_id}.jsonl").write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events),
                                       encoding="utf-8")


def _stopped(run_id: str, at: float, status: str = "aborted") -> None:
    _write(run_id, [
        ev.RunStarted(ts=at, run_id=run_id, runbook_id="route-fix", runbook_title="Route fix",
                      runbook_path="", mode="live", cluster="nyc", nodes=("a", "b"), params={}),
        ev.StepStarted(ts=at + 1, step_id="show", title="Show the route", index=0,
                       nodes=("a",)),
        ev.RunFinished(ts=at + 2, status=status)])


def _check(run_id: str, at: float, quorate: bool = True) -> None:
    _write(run_id, [
        ev.RunStarted(ts=at, run_id=run_id, runbook_id=CHECK_ID, runbook_title="Health check",
                      runbook_path="", mode="live", cluster="nyc", nodes=("a", "b"), params={}),
        ev.FactsObserved(step_id="quorum", ts=at + 1, facts=tuple(
            Fact("quorum.quorate", quorate, node=n).to_json() for n in ("a", "b"))),
        ev.RunFinished(ts=at + 2, status="ok")])


def _lines(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["journal", "list"]) == 0
    return {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}


def test_a_stopped_run_a_later_healthy_check_settled_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    _stopped("20270115-080000-aborted", T)
    _stopped("20270115-080500-failedx", T + 300, status="failed")
    _check("20270115-081000-checkok", T + 600)
    lines = _lines(capsys)
    at = time.strftime("%Y-%m-%d %H:%M", time.localtime(T + 600))
    for run in ("20270115-080000-aborted", "20270115-080500-failedx"):
        assert lines[run].endswith(f"(settled by check 20270115-081000-checkok at {at})"), \
            lines[run]
    assert "settled" not in lines["20270115-081000-checkok"]


def test_no_settling_by_a_sick_earlier_or_older_check(
        capsys: pytest.CaptureFixture[str]) -> None:
    _check("20270115-075000-checkok", T - 600)  # before the run stopped
    _stopped("20270115-080000-aborted", T)
    lines = _lines(capsys)
    assert "settled" not in lines["20270115-080000-aborted"]
    # a healthy check after it, but the last whole check found a fault: broken again
    _check("20270115-081000-checkok", T + 600)
    _check("20270115-082000-checkno", T + 1200, quorate=False)
    lines = _lines(capsys)
    assert "settled" not in lines["20270115-080000-aborted"]
    assert len(lines) == 4  # every run is listed, settled or not


def test_an_interrupted_health_check_is_not_offered_once_a_later_check_ran() -> None:
    """The start screen of a cluster a later whole check found healthy still offered "r
    Resume" for a health check quit part-way an hour before: it is read-only, changed nothing,
    and the newer check already says everything it would have. A later run of the check
    supersedes it, as a later run supersedes a stopped one of any runbook."""
    from pverunbook.stopped_runs import interrupted_runs

    _write("20270115-080000-quitchk", [
        ev.RunStarted(ts=T, run_id="20270115-080000-quitchk", runbook_id=CHECK_ID,
                      runbook_title="Health check", runbook_path="", mode="live",
                      cluster="nyc", nodes=("a", "b"), params={}),
        ev.StepStarted(ts=T + 1, step_id="quorum", title="Quorum", index=0, nodes=("a", "b"))])
    assert [r.run_id for r in interrupted_runs()] == ["20270115-080000-quitchk"]
    _check("20270115-081000-checkok", T + 600)
    assert [r.run_id for r in interrupted_runs()] == []
