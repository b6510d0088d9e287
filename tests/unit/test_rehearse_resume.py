"""``rehearse --resume RUN`` is ``run --resume RUN``: the quit dialog and ``rehearse --help``
offered it, but argparse rejected it with the top-level usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main

GATED = """
id = "gated"
title = "A manual step before a destructive one"

[[steps]]
id = "gate"
title = "Check the cables"
kind = "manual"
instructions = "Check the cables."

[[steps]]
id = "touch"
title = "Print on pve001"
kind = "run"
targets = "pve001"
destructive = true
confirm = "node"
commands = ["echo hi"]
no_backup_reason = "prints only"
"""


def test_rehearse_resume_continues_a_stopped_rehearsal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "gated.toml"
    rb.write_text(GATED, encoding="utf-8")
    assert main(["rehearse", str(rb), "--headless"]) == 1  # no --confirm gate: it stops
    out = capsys.readouterr().out
    journals = list((tmp_path / "state" / "runs").glob("*.jsonl"))  # tests/conftest.py
    assert len(journals) == 1, out
    run_id = journals[0].stem
    # the stop says which command continues it, and the answers it needs are named up front
    assert f"`pverunbook rehearse --resume {run_id} --headless --confirm gate`" in out
    assert "this run may ask for: --confirm gate (step gate), --confirm pve001 (step touch)" \
        in out
    assert main(["rehearse", "--resume", run_id, "--headless", "--confirm", "gate",
                 "--confirm", "pve001"]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "hi" in out
    assert main(["rehearse", "--resume", run_id, "--headless"]) == 2  # finished: nothing left
    assert "already finished" in capsys.readouterr().err


def test_rehearse_resume_of_an_unknown_run_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rehearse", "--resume", "no-such-run", "--headless"]) == 2
    e = capsys.readouterr().err
    assert e.startswith("pverunbook: rehearse --resume: ") and "no-such-run" in e
    assert "usage:" not in e


def test_a_resume_with_state_dir_goes_on_the_scenario_that_directory_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hint printed when a rehearsal stops is `rehearse --resume ID --state-dir DIR
    --headless`, with no --scenario: followed on a three-node-wiped rehearsal, it was refused
    ("DIR holds a rehearsal of scenario 'three-node-wiped', not 'nyc-outage')."""
    rb = tmp_path / "gated.toml"
    rb.write_text(GATED, encoding="utf-8")
    state = tmp_path / "wiped"
    assert main(["rehearse", str(rb), "--headless", "--scenario", "three-node-wiped",
                 "--state-dir", str(state)]) == 1  # no --confirm gate: it stops
    out = capsys.readouterr().out
    run_id = next(tmp_path.rglob("runs/*.jsonl")).stem
    hint = f"`pverunbook rehearse --resume {run_id} --state-dir {state} --headless"
    assert hint in out, out
    assert main(["rehearse", "--resume", run_id, "--state-dir", str(state), "--headless",
                 "--confirm", "gate", "--confirm", "pve001"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "resuming" in out and "hi" in out
