"""network-triage's figures still count for the health check after runbooks that leave the
network alone. After check, triage, route-fix, triage, the check went on to the database
faults; once certificate-regeneration had run it proposed network-triage again ("measure the
link first": the downs may predate route-fix), and again after each fix (trial 13). A runbook
that may change the links (corosync-tuning) still asks for a new measurement."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.check_history import earlier_runs
from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.check import CHECK_ID
from tests.unit.test_path_change_time import route_fix, started, write

PING = {"name": "ping.loss_pct", "value": 0, "node": "ryanrishi", "peer": "192.168.4.201",
        "evidence": "0% packet loss", "step_id": "ping"}


def triage(folder: Path, run_id: str, ts: float) -> None:
    write(folder, started(run_id, "network-triage", ts), [
        ev.FactsObserved(step_id="ping", facts=(PING,), ts=ts + 5),
        # the /etc/pve read failed (exit 2 on a wiped database), answered with Continue
        ev.StepFinished(step_id="pve-read", status="failed", ts=ts + 8),
        ev.RunFinished(status="completed_with_failures", ts=ts + 10)])


def changed(folder: Path, run_id: str, runbook: str, ts: float) -> None:
    """A run of ``runbook`` that ran a destructive command (it changed the cluster)."""
    write(folder, started(run_id, runbook, ts), [
        ev.StepStarted(step_id="apply", title="Apply", index=0, nodes=("ryanrishi",),
                       destructive=True, ts=ts + 1),
        ev.CommandStarted(step_id="apply", node="ryanrishi", command="true", index=0,
                          timeout=10.0, ts=ts + 2),
        ev.StepFinished(step_id="apply", status="ok", ts=ts + 3),
        ev.RunFinished(status="ok", ts=ts + 50)])


@pytest.mark.parametrize("fix", ["certificate-regeneration", "vm-config-recovery"])
def test_the_measurement_after_route_fix_stands_after_a_database_fix(
        tmp_path: Path, fix: str) -> None:
    route_fix(tmp_path, deleted=True, kept=True)
    triage(tmp_path, "triage", 1200.0)
    changed(tmp_path, "fix2", fix, 1300.0)
    history = earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path)
    assert [f.name for f in history.measured] == ["ping.loss_pct"]
    assert history.path_change == ("route-fix", 1017.0)
    assert history.last is not None and [r for r, _ in history.last.since] == [fix]


def test_corosync_tuning_since_asks_for_a_new_measurement(tmp_path: Path) -> None:
    route_fix(tmp_path, deleted=True, kept=True)
    triage(tmp_path, "triage", 1200.0)
    changed(tmp_path, "tune", "corosync-tuning", 1300.0)
    assert earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path).measured == ()


def test_a_run_that_changed_nothing_leaves_the_measurement_standing(tmp_path: Path) -> None:
    """Trial 14: route-fix stopped at its guard (nothing deleted) after a triage; the check
    said the loss was "not measured since route-fix (22:33 UTC) changed the network" and sent
    the operator back to network-triage. A corosync-tuning that stopped at its confirmation
    is the same: nothing ran."""
    triage(tmp_path, "triage", 900.0)
    route_fix(tmp_path, deleted=False)  # starts at 1000, refused at the confirmation
    write(tmp_path, started("tune", "corosync-tuning", 1100.0),
          [ev.RunFinished(status="aborted", ts=1150.0)])
    history = earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path)
    assert [f.name for f in history.measured] == ["ping.loss_pct"]
    assert history.path_change is None
    assert history.last is not None and history.last.since == ()


def test_a_shell_during_a_run_counts_as_a_change_at_its_time(tmp_path: Path) -> None:
    """What was typed in a shell is not recorded, and the story's fix was an `ip route del`
    typed in one: a run whose only change may have been made there still counts."""
    triage(tmp_path, "triage", 900.0)
    write(tmp_path, started("fix", "route-fix", 1000.0), [
        ev.Note(text="operator used an interactive shell on ryanrishi for 40 s (ended "
                     "normally); what was typed there is not recorded", ts=1040.0),
        ev.RunFinished(status="aborted", ts=1050.0)])
    history = earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path)
    assert history.measured == ()
    assert history.path_change == ("route-fix", 1040.0)
    assert history.last is not None and history.last.since == (("route-fix", 1040.0),)


def test_the_shell_note_is_the_one_the_history_reads() -> None:
    from pverunbook.shell import shell_note

    assert shell_note("pve001", 12.0, 0).startswith(ev.SHELL_NOTE_START)
