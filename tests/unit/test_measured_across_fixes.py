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


@pytest.mark.parametrize("fix", ["certificate-regeneration", "vm-config-recovery"])
def test_the_measurement_after_route_fix_stands_after_a_database_fix(
        tmp_path: Path, fix: str) -> None:
    route_fix(tmp_path, deleted=True, kept=True)
    triage(tmp_path, "triage", 1200.0)
    write(tmp_path, started("fix2", fix, 1300.0), [ev.RunFinished(status="ok", ts=1350.0)])
    history = earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path)
    assert [f.name for f in history.measured] == ["ping.loss_pct"]
    assert history.path_change == ("route-fix", 1017.0)
    assert history.last is not None and [r for r, _ in history.last.since] == [fix]


def test_corosync_tuning_since_asks_for_a_new_measurement(tmp_path: Path) -> None:
    route_fix(tmp_path, deleted=True, kept=True)
    triage(tmp_path, "triage", 1200.0)
    write(tmp_path, started("tune", "corosync-tuning", 1300.0),
          [ev.RunFinished(status="ok", ts=1350.0)])
    assert earlier_runs(started("check", CHECK_ID, 1400.0), runs=tmp_path).measured == ()
