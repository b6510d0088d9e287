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
