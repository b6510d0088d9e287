"""``run --resume`` of a rehearsal run continues on the simulated cluster that run used (the
steps before the interruption changed THAT cluster), and refuses, saying why, when that cluster
is gone — instead of resuming on a fresh broken cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main


def test_resume_uses_the_runs_own_rehearsal_cluster(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = tmp_path / "cluster"
    journal = tmp_path / "triage.jsonl"
    # no terminal and no --confirm: the manual step is not done, the run stops there
    assert main(["rehearse", "network-triage", "--headless", "--state-dir", str(cluster),
                 "--journal", str(journal)]) != 0
    runs = (cluster / "runs.txt").read_text(encoding="utf-8").splitlines()
    assert len(runs) == 1
    capsys.readouterr()
    assert main(["run", "--resume", str(journal), "--headless", "--confirm", "nyc"]) in (0, 3)
    # the resumed run ran on that cluster (a fresh one would have listed it elsewhere)
    again = (cluster / "runs.txt").read_text(encoding="utf-8").splitlines()
    assert len(again) == 2 and again[1].split("\t")[0] == runs[0].split("\t")[0]


def test_resume_refuses_when_the_rehearsal_cluster_is_gone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    journal = tmp_path / "triage.jsonl"
    cluster = tmp_path / "cluster"
    assert main(["rehearse", "network-triage", "--headless", "--journal", str(journal),
                 "--state-dir", str(cluster)]) != 0
    shutil.rmtree(cluster)
    capsys.readouterr()
    assert main(["run", "--resume", str(journal), "--headless", "--confirm", "nyc"]) == 2
    err = capsys.readouterr().err
    assert "was not kept" in err and "--state-dir" in err
