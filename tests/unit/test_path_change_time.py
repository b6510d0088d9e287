"""The health check places the journal's link downs against the moment route-fix changed the
path: its ``ip route del``, not the run's start. A down between the start and the typed
confirmation (the route still in place) was called "also after the path changed" and the
check proposed corosync-tuning for a link that had not gone down since the fix."""

from __future__ import annotations

import json
from pathlib import Path

from pverunbook.check_history import earlier_runs
from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.check import CHECK_ID

NODES = ("ryanrishi", "pve001")


def started(run_id: str, runbook: str, ts: float) -> ev.RunStarted:
    return ev.RunStarted(run_id=run_id, runbook_id=runbook, runbook_title=runbook,
                         runbook_path="", mode="live", cluster="nyc", nodes=NODES, params={},
                         ts=ts)


def write(folder: Path, first: ev.RunStarted, events: list[ev.Event]) -> None:
    path = folder / f"{first.run_id}.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in [first, *events]))


def route_fix(folder: Path, deleted: bool, kept: bool | None = None) -> None:
    events: list[ev.Event] = [
        ev.StepStarted(step_id="show", title="Show", index=0, nodes=NODES[:1], ts=1003.0),
        ev.CommandStarted(step_id="show", node="ryanrishi", command="ip route", index=0,
                          timeout=10.0, ts=1003.5),
        ev.StepFinished(step_id="show", status="ok", ts=1004.0),
        ev.StepStarted(step_id="delete", title="Delete", index=1, nodes=NODES[:1],
                       destructive=True, ts=1006.0),
        ev.ConfirmationRequested(step_id="delete", what="destructive", prompt="type it",
                                 expected="ryanrishi", ts=1006.5)]
    if deleted:
        events += [ev.ConfirmationGiven(step_id="delete", what="destructive", accepted=True,
                                        typed="ryanrishi", ts=1016.0),
                   ev.CommandStarted(step_id="delete", node="ryanrishi",
                                     command="ip route del 192.168.4.201 via 192.168.4.1",
                                     index=0, timeout=10.0, ts=1017.0),
                   ev.StepFinished(step_id="delete", status="ok", ts=1017.5)]
        if kept is not None:  # the step's COMMIT question, typed or not
            events += [
                ev.ConfirmationRequested(step_id="delete", what="commit", prompt="COMMIT",
                                         expected="COMMIT", nodes=NODES[:1], ts=1018.0),
                ev.ConfirmationGiven(step_id="delete", what="commit", accepted=kept,
                                     typed="COMMIT" if kept else "", ts=1110.0)]
            if not kept:
                events.append(ev.RollbackTimer(step_id="delete", node="ryanrishi",
                                               state="fired", ts=1111.0))
    else:
        events += [ev.ConfirmationGiven(step_id="delete", what="destructive", accepted=False,
                                        typed="", ts=1016.0),
                   ev.RunFinished(status="aborted", ts=1016.5)]
    write(folder, started("fix", "route-fix", 1000.0), events)


def test_the_path_changed_when_the_route_was_deleted_not_when_route_fix_started(
        tmp_path: Path) -> None:
    route_fix(tmp_path, deleted=True)
    check = started("check", CHECK_ID, 1100.0)
    assert earlier_runs(check, runs=tmp_path).path_change == ("route-fix", 1017.0)


def test_a_route_fix_that_deleted_nothing_did_not_change_the_path(tmp_path: Path) -> None:
    route_fix(tmp_path, deleted=False)
    check = started("check", CHECK_ID, 1100.0)
    assert earlier_runs(check, runs=tmp_path).path_change is None


def test_a_route_fix_whose_change_was_not_kept_is_as_if_it_had_not_run(tmp_path: Path) -> None:
    """COMMIT not typed in time: the timers put the route back. The check after it sent the
    operator through network-triage again ("the loss … has not been measured since route-fix
    changed the network") before offering route-fix."""
    triage = started("triage", "network-triage", 900.0)
    write(tmp_path, triage, [ev.RunFinished(status="ok", ts=950.0)])
    route_fix(tmp_path, deleted=True, kept=False)
    history = earlier_runs(started("check", CHECK_ID, 1200.0), runs=tmp_path)
    assert history.path_change is None
    assert history.last is not None and history.last.since == ()  # the triage stands


def test_a_route_fix_whose_change_was_kept_changed_the_path(tmp_path: Path) -> None:
    triage = started("triage", "network-triage", 900.0)
    write(tmp_path, triage, [ev.RunFinished(status="ok", ts=950.0)])
    route_fix(tmp_path, deleted=True, kept=True)
    history = earlier_runs(started("check", CHECK_ID, 1200.0), runs=tmp_path)
    assert history.path_change == ("route-fix", 1017.0)
    assert history.last is not None and [r for r, _ in history.last.since] == ["route-fix"]
