"""Headless rehearsals that continue one simulated cluster: ``rehearse --state-dir``.

The TUI keeps its rehearsal cluster between runbooks; a headless operator (or a script) does the
same (without ``--state-dir`` in the state directory's ``rehearsal/<scenario>``, the app's),
and the diagnosis's "next:" command continues on that cluster instead of a fresh broken one.
``--json`` alone is a headless run (JSON lines on stdout).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pverunbook.cli import main


def _token(stdout: str) -> set[object]:
    record = json.loads(stdout.strip().splitlines()[-1])
    assert record["kind"] == "diagnosis"
    return {f["value"] for f in record["facts"] if f["name"] == "corosync.token_ms"}


def test_rehearse_state_dir_carries_the_cluster_to_the_next_runbook(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    journal = tmp_path / "tuning.jsonl"
    assert main(["rehearse", "corosync-tuning", "--scenario", "nyc-network-fixed",
                 "--state-dir", str(state), "--headless", "--confirm", "nyc",
                 "--confirm", "COMMIT", "--journal", str(journal)]) == 0
    out = capsys.readouterr().out
    # a journal given by path is reported by path (its run id is not under the state dir)
    assert f"report:  pverunbook report {journal}" in out
    # the next runbook on the same simulated cluster sees the tuned token; --json is headless
    assert main(["rehearse", "network-triage", "--scenario", "nyc-network-fixed",
                 "--state-dir", str(state), "--json", "--confirm", "nyc"]) in (0, 3)
    assert _token(capsys.readouterr().out) == {5000}
    # without --state-dir: the cluster kept under the state directory (the TUI's), not DIR's
    assert main(["rehearse", "network-triage", "--scenario", "nyc-network-fixed",
                 "--json", "--confirm", "nyc"]) in (0, 3)
    assert 5000 not in _token(capsys.readouterr().out)


def test_rehearsals_without_state_dir_keep_the_cluster_until_reset(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With $PVERUNBOOK_STATE_DIR alone (tests/conftest.py sets it), headless rehearsals used
    a fresh cluster each time while the app kept one under $PVERUNBOOK_STATE_DIR/rehearsal:
    now both keep it there, and --reset starts the scenario afresh."""
    scenario = ["--scenario", "nyc-network-fixed"]
    assert main(["rehearse", "corosync-tuning", *scenario, "--headless", "--confirm", "nyc",
                 "--confirm", "COMMIT"]) == 0
    capsys.readouterr()
    assert (tmp_path / "state" / "rehearsal" / "nyc-network-fixed" / "world.json").is_file()
    assert main(["rehearse", "network-triage", *scenario, "--json", "--confirm", "nyc"]) in (0, 3)
    assert _token(capsys.readouterr().out) == {5000}
    assert main(["rehearse", "network-triage", *scenario, "--json", "--confirm", "nyc",
                 "--reset"]) in (0, 3)
    assert 5000 not in _token(capsys.readouterr().out)


def test_rehearse_state_dir_is_refused_outside_rehearsal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "network-triage", "--dry-run", "--headless",
                 "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--state-dir" in err and "rehearse" in err


QUICK = ("--set", "ping_count=10", "--set", "mtr_cycles=3", "--set", "sample_s=5")


def test_a_triage_that_finds_critical_faults_exits_3_a_healthy_one_0(tmp_path: Path) -> None:
    """Read-only checks mark nodes instead of failing steps, so every step of a triage on the
    story's broken cluster ends ok; its exit status still says it found problems (3), and a
    triage of a healthy cluster exits 0 (README, exit status)."""
    broken = main(["rehearse", "network-triage", "--scenario", "nyc-outage", "--headless",
                   "--state-dir", str(tmp_path / "broken"), *QUICK])
    healthy = main(["rehearse", "network-triage", "--scenario", "nyc-healthy", "--headless",
                    "--state-dir", str(tmp_path / "healthy"), *QUICK])
    assert (broken, healthy) == (3, 0)
