"""``run --resume`` of a rehearsal run continues on the simulated cluster that run used (the
steps before the interruption changed THAT cluster), and refuses, saying why, when that cluster
is gone — instead of resuming on a fresh broken cluster.

The run is stopped headless by a manual step that comes before a destructive one: without a
terminal it is done only on ``--confirm STEP_ID`` (a cluster name does not answer it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main

GATED = """
id = "gated"
title = "A manual step before a destructive one"

[[steps]]
id = "look"
title = "Look"
targets = "pve001"
commands = ["hostname"]

[[steps]]
id = "unplug"
title = "Unplug the old link"
kind = "manual"
instructions = "Unplug the old link of {{cluster}}."

[[steps]]
id = "mark"
title = "Mark pve001"
targets = "pve001"
destructive = true
confirm = "node"
no_backup_reason = "writes one marker file in /tmp"
commands = ["touch /tmp/gated-marker"]
"""


@pytest.fixture
def gated(tmp_path: Path) -> Path:
    f = tmp_path / "gated.toml"
    f.write_text(GATED, encoding="utf-8")
    return f


def test_resume_uses_the_runs_own_rehearsal_cluster(
        tmp_path: Path, gated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = tmp_path / "cluster"
    journal = tmp_path / "gated.jsonl"
    # no terminal, and --confirm nyc/pve001 do not answer the manual step: the run stops there
    assert main(["rehearse", str(gated), "--headless", "--state-dir", str(cluster),
                 "--journal", str(journal), "--confirm", "nyc", "--confirm", "pve001"]) == 1
    out = capsys.readouterr().out
    assert "before the destructive step(s) mark" in out and "--confirm unplug" in out
    runs = (cluster / "runs.txt").read_text(encoding="utf-8").splitlines()
    assert len(runs) == 1
    assert main(["run", "--resume", str(journal), "--headless", "--confirm", "unplug",
                 "--confirm", "pve001"]) == 0
    out = capsys.readouterr().out
    assert "(done: answered by --confirm unplug)" in out
    # the resumed run ran on that cluster (a fresh one would have listed it elsewhere)
    again = (cluster / "runs.txt").read_text(encoding="utf-8").splitlines()
    assert len(again) == 2 and again[1].split("\t")[0] == runs[0].split("\t")[0]


def test_resume_refuses_when_the_rehearsal_cluster_is_gone(
        tmp_path: Path, gated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    journal = tmp_path / "gated.jsonl"
    cluster = tmp_path / "cluster"
    assert main(["rehearse", str(gated), "--headless", "--journal", str(journal),
                 "--state-dir", str(cluster)]) == 1
    shutil.rmtree(cluster)
    capsys.readouterr()
    assert main(["run", "--resume", str(journal), "--headless", "--confirm", "unplug"]) == 2
    err = capsys.readouterr().err
    assert "was not kept" in err and "--state-dir" in err
