"""A resumed headless run's diagnosis, summary and exit status are the whole run's: the
findings journaled before the interruption count, as they do in its report. A triage stopped
by Ctrl-C and resumed said ``== run ok`` and exited 0 while its report held critical faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pverunbook.cli import main

CRIT = """
id = "crit"
title = "A check that finds a critical fault, then another"

[[steps]]
id = "look"
title = "Look"
kind = "check"
targets = "pve001"
commands = ["echo bad"]
on_failure = "continue"

[[steps.expect]]
match = "good"
severity = "critical"
message = "the node says bad"

[[steps]]
id = "again"
title = "Look again"
kind = "check"
targets = "pve001"
commands = ["echo fine"]
"""


def _interrupted_after_first_step(journal: Path) -> None:
    """The journal as a Ctrl-C during the second step leaves it: the first step finished,
    the run ended ``interrupted``."""
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    end = next(i for i, r in enumerate(records)
               if r["kind"] == "step_finished" and r["step_id"] == "look")
    kept = records[:end + 1] + [{"kind": "run_finished", "ts": records[end]["ts"] + 1,
                                 "status": "interrupted", "message": "", "duration": 1.0}]
    journal.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def test_a_resumed_run_keeps_the_findings_made_before_the_interruption(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "crit.toml"
    rb.write_text(CRIT, encoding="utf-8")
    state = tmp_path / "sd"
    assert main(["rehearse", str(rb), "--headless", "--state-dir", str(state)]) == 3
    whole = capsys.readouterr().out
    assert "findings (1 critical" in whole, whole
    (journal,) = (state / "runs").glob("*.jsonl")
    _interrupted_after_first_step(journal)

    code = main(["rehearse", "--resume", journal.stem, "--state-dir", str(state), "--headless"])
    out = capsys.readouterr().out
    assert "resuming" in out and "echo fine" in out and "echo bad" not in out, out
    assert code == 3, out
    tail = out[out.index("-- again: ok"):]
    assert "CRIT pve001: the node says bad" in tail, out  # the summary names it again
    assert "== run ok — findings (1 critical, see the diagnosis)" in tail, out


def test_a_resumed_run_as_json_diagnoses_the_whole_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "crit.toml"
    rb.write_text(CRIT, encoding="utf-8")
    state = tmp_path / "sd"
    main(["rehearse", str(rb), "--headless", "--state-dir", str(state)])
    capsys.readouterr()
    (journal,) = (state / "runs").glob("*.jsonl")
    _interrupted_after_first_step(journal)
    code = main(["rehearse", "--resume", journal.stem, "--state-dir", str(state), "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 3
    assert not any(r.get("kind") == "finding" for r in lines)  # not printed again
    assert lines[-1]["kind"] == "diagnosis"
