"""The report of a whole incident (``report --incident``): which runs it takes, the timeline of
what each changed, the first check's faults and the last check's verdict, and each run's own
report under it — journals written as the engine writes them."""

from __future__ import annotations

import json

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.journal import list_runs, runs_dir
from pverunbook.pve.diagnosis.check import CHECK_ID
from pverunbook.pve.facts import Fact
from pverunbook.report_incident import collect, demoted, incident_runs, render_incident

T = 1_800_000_000.0


def _write(run_id: str, events: list[ev.Event]) -> None:
    d = runs_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{run_id}.jsonl").write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events),
                                       encoding="utf-8")


def _start(run_id: str, at: float, runbook: str, cluster: str = "nyc") -> ev.RunStarted:
    return ev.RunStarted(ts=at, run_id=run_id, runbook_id=runbook, runbook_title=runbook,
                         runbook_path="", mode="live", cluster=cluster, nodes=("a", "b"),
                         params={})


def _check(run_id: str, at: float, quorate: bool = True, cluster: str = "nyc") -> None:
    _write(run_id, [
        _start(run_id, at, CHECK_ID, cluster),
        ev.FactsObserved(step_id="quorum", ts=at + 1, facts=tuple(
            Fact("quorum.quorate", quorate, node=n).to_json() for n in ("a", "b"))),
        ev.RunFinished(ts=at + 2, status="ok")])


def _fix(run_id: str, at: float, commit: bool = True) -> None:
    _write(run_id, [
        _start(run_id, at, "route-fix"),
        ev.StepStarted(ts=at + 1, step_id="show", title="Show", index=0, nodes=("a",)),
        ev.CommandStarted(ts=at + 1, step_id="show", node="a", command="ip route",
                          index=0, timeout=10),
        ev.OutputChunk(ts=at + 1, step_id="show", node="a", stream="stdout",
                       text="# not a heading\npassword=hunter2-xyzzy\n"),
        ev.StepStarted(ts=at + 2, step_id="apply", title="Delete the route", index=1,
                       nodes=("a",), destructive=True),
        ev.CheckpointTaken(ts=at + 3, step_id="apply", checkpoint_id="cp1", ok=True),
        ev.CommandStarted(ts=at + 4, step_id="apply", node="a", command="ip route del x",
                          index=0, timeout=10),
        *([ev.ConfirmationGiven(ts=at + 5, step_id="apply", what="commit", accepted=True,
                                typed="COMMIT")] if commit else []),
        ev.RunFinished(ts=at + 6, status="ok")])


@pytest.fixture
def story() -> None:
    _fix("20270115-070000-oldfix", T - 7200)
    _check("20270115-071000-oldok", T - 6600)  # closed the previous incident
    _check("20270115-080000-sick", T, quorate=False)
    _check("20270115-080100-other", T + 60, cluster="lon")  # another cluster
    _fix("20270115-080500-fix", T + 300)
    _check("20270115-081000-ok1", T + 600)
    _check("20270115-081100-ok2", T + 660)  # checked twice at the end


def _ids(runs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.summary.run_id if hasattr(r, "summary") else r.run_id for r in runs]


def test_the_incident_goes_back_to_the_healthy_check_before_it(story: None) -> None:
    assert _ids(collect()) == ["20270115-080000-sick", "20270115-080500-fix",
                               "20270115-081000-ok1", "20270115-081100-ok2"]


def test_since_takes_every_run_of_the_cluster_from_then(story: None) -> None:
    assert _ids(collect(since=T - 7000)) == [
        "20270115-071000-oldok", "20270115-080000-sick", "20270115-080500-fix",
        "20270115-081000-ok1", "20270115-081100-ok2"]


def test_named_runs_are_ordered_in_time(story: None) -> None:
    assert _ids(collect(["20270115-080500-fix", "20270115-080000-sick"])) == [
        "20270115-080000-sick", "20270115-080500-fix"]


def test_the_tui_incident_ends_at_its_own_latest_run(story: None) -> None:
    last = runs_dir() / "20270115-080500-fix.jsonl"
    assert _ids(collect(last=last)) == ["20270115-080000-sick", "20270115-080500-fix"]


def test_no_healthy_check_means_every_run_of_the_cluster() -> None:
    _fix("20270115-070000-a", T)
    _fix("20270115-070500-b", T + 300)
    assert _ids(incident_runs(list_runs(), lambda r: False)) == [
        "20270115-070000-a", "20270115-070500-b"]


def test_timeline_faults_now_and_each_run(story: None) -> None:
    text = render_incident(collect())
    assert text.startswith("# Incident report: cluster nyc, 4 run(s)")
    timeline = text.split("## Timeline")[1].split("\n## ")[0]
    rows = [ln for ln in timeline.splitlines() if ln.startswith("| ") and "`" in ln]
    assert len(rows) == 4
    assert "20270115-080000-sick" in rows[0] and rows[0].endswith("| ok: 1 fault(s) | nothing |")
    assert rows[3].endswith("| ok: healthy | nothing |")
    assert "destructive: apply; 1 checkpoint(s); COMMIT: apply" in rows[1]
    faults = text.split("## Faults found")[1].split("\n## ")[0]
    assert "First health check (`20270115-080000-sick`): 1 fault(s)" in faults
    assert "- critical:" in faults
    assert "Last health check (`20270115-081100-ok2`): **healthy**, no fault" in faults
    # each run's own report, one level down; a command's output is no heading
    assert text.count("\n### Run ") == 4
    assert "\n### Run 2: route-fix on cluster nyc" in text
    assert "\n#### Summary" in text and "\n## Summary" not in text
    assert "\n# not a heading" in text
    assert "hunter2-xyzzy" not in text  # redacted as the single report is


def test_demoted_leaves_fenced_lines_alone() -> None:
    assert demoted(["# A", "````", "# b", "```", "````", "## C"]) == [
        "### A", "````", "# b", "```", "````", "#### C"]


def test_cli_writes_the_incident_report(story: None, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "incident.md"
    assert main(["report", "--incident", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "4 run(s)" in text and "20270115-071000-oldok" not in text
    assert main(["report", "--since", "not a time"]) == 2
    assert "--since not a time: not a time" in capsys.readouterr().err
    assert main(["report"]) == 2
