"""The start screen's memory of the last health check (check_history.last_check) takes only a
check that reached its end: one quit before its first step said "✔ The cluster is healthy"
on a cluster with eight faults."""

from __future__ import annotations

import json
from pathlib import Path

from pverunbook.check_history import last_check
from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.check import CHECK_ID

BROKEN_ROUTE = "192.168.4.201 via 192.168.4.1 dev vmbr0 src 192.168.4.200 uid 0\n"


def journal(folder: Path, run_id: str, ts: float, events: list[ev.Event]) -> Path:
    started = ev.RunStarted(run_id=run_id, runbook_id=CHECK_ID, runbook_title="check",
                            runbook_path="", mode="live", cluster="nyc",
                            nodes=("ryanrishi", "pve001"), params={}, ts=ts)
    path = folder / f"{run_id}.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in [started, *events]))
    return path


def test_a_check_quit_before_its_end_is_not_the_last_word(tmp_path: Path) -> None:
    quit_early = [ev.RunFinished(status="interrupted", ts=200.0)]
    journal(tmp_path, "r2", 200.0, quit_early)
    assert last_check("nyc", "live", runs=tmp_path) is None  # no "healthy" from nothing
    whole = [ev.StepStarted(step_id="route", title="Route", index=0, nodes=("ryanrishi",),
                            ts=100.5),
             ev.OutputChunk(step_id="route", node="ryanrishi", stream="stdout",
                            text=BROKEN_ROUTE, ts=100.6),
             ev.StepFinished(step_id="route", status="ok", ts=100.7),
             ev.RunFinished(status="ok", ts=101.0)]
    older = journal(tmp_path, "r1", 100.0, whole)
    got = last_check("nyc", "live", runs=tmp_path)
    assert got is not None and got.journal == older  # the whole check, not the one quit early


def test_a_run_after_the_check_that_never_finished_is_said_so(tmp_path: Path) -> None:
    """The start screen said "Run next: Cluster health check — check the cluster again after
    Network triage" although that triage was killed part-way: it says it did not finish and
    offers the resume first."""
    from types import SimpleNamespace

    from pverunbook.ui.last_check import apply_last_check

    journal(tmp_path, "c1", 100.0, [ev.RunFinished(status="ok", ts=101.0)])
    triage = ev.RunStarted(run_id="t1", runbook_id="network-triage",
                           runbook_title="Network triage", runbook_path="", mode="live",
                           cluster="nyc", nodes=("ryanrishi", "pve001"), params={}, ts=200.0)
    step = ev.StepStarted(step_id="ping", title="Ping", index=0, nodes=("ryanrishi",), ts=201.0)
    path = tmp_path / "t1.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in (triage, step)))
    said: list[tuple[object, ...]] = []
    app = SimpleNamespace(health=None, suggest_next=lambda *a: said.append(a))
    got = last_check("nyc", "live", runs=tmp_path)
    assert got is not None and got.after == ("network-triage", "Network triage")
    assert got.after_unfinished == "did not finish (pverunbook stopped during it)"
    apply_last_check(app, got)  # type: ignore[arg-type]
    assert said == [(CHECK_ID, {}, "Network triage did not finish (pverunbook stopped during "
                                   "it): resume it first (r on its row below), or check the "
                                   "cluster again")]
    # once it finished, the check again, as before
    with path.open("a") as fh:
        fh.write(json.dumps(ev.RunFinished(status="ok", ts=300.0).to_dict()) + "\n")
    got = last_check("nyc", "live", runs=tmp_path)
    assert got is not None and got.after_unfinished == ""
    said.clear()
    apply_last_check(app, got)  # type: ignore[arg-type]
    assert said == [(CHECK_ID, {}, "check the cluster again after Network triage")]


def test_a_shell_used_on_the_summary_does_not_unfinish_the_run(tmp_path: Path) -> None:
    """`$` on the summary screen journals a note after ``run_finished``: the next launch said
    route-fix "did not finish (pverunbook stopped during it): resume it first" about a run that
    had ended (its change rolled back by the operator). A run resumed after it ended (a later
    ``run_started``) without a new end is still unfinished."""
    journal(tmp_path, "c1", 100.0, [ev.RunFinished(status="ok", ts=101.0)])
    fix = ev.RunStarted(run_id="f1", runbook_id="route-fix", runbook_title="Route fix",
                        runbook_path="", mode="live", cluster="nyc",
                        nodes=("ryanrishi", "pve001"), params={}, ts=200.0)
    path = tmp_path / "f1.jsonl"
    records = [fix, ev.RunFinished(status="failed", ts=210.0),
               ev.Note(text="operator used an interactive shell on ryanrishi for 9 s", ts=230.0)]
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in records))
    got = last_check("nyc", "live", runs=tmp_path)
    assert got is not None and got.after == ("route-fix", "Route fix")
    assert got.after_unfinished == ""
    with path.open("a") as fh:  # resumed, then killed before its end
        fh.write(json.dumps(ev.RunStarted(
            run_id="f1", runbook_id="route-fix", runbook_title="Route fix", runbook_path="",
            mode="live", cluster="nyc", nodes=("ryanrishi",), params={}, ts=300.0,
            resumed=True).to_dict()) + "\n")
        fh.write(json.dumps(ev.Note(text="a note", ts=301.0).to_dict()) + "\n")
    got = last_check("nyc", "live", runs=tmp_path)
    assert got is not None
    assert got.after_unfinished == "did not finish (pverunbook stopped during it)"
