"""Every message that tells the operator a command echoes the subcommand they typed: after
``rehearse`` it says ``rehearse --resume``, never ``run --resume`` ("already finished" said
``run --resume`` to someone who had typed ``rehearse --resume``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.commands.run_resume import resume_command
from pverunbook.engine import events as ev
from tests.unit.test_rehearse_resume import GATED


def _journal(path: Path, *events: ev.Event) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))


def _started(**kw: object) -> ev.RunStarted:
    base: dict[str, object] = dict(run_id="r-one", runbook_id="network-triage",
                                   runbook_title="T", runbook_path="", mode="rehearsal",
                                   cluster="nyc", nodes=("ryanrishi", "pve001"), params={})
    base.update(kw)
    return ev.RunStarted(**base)  # type: ignore[arg-type]


def _stopped_rehearsal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    rb = tmp_path / "gated.toml"
    rb.write_text(GATED, encoding="utf-8")
    assert main(["rehearse", str(rb), "--headless"]) == 1  # no --confirm gate: it stops
    out = capsys.readouterr().out
    journals = list((tmp_path / "state" / "runs").glob("*.jsonl"))  # tests/conftest.py
    assert len(journals) == 1, out
    return rb, journals[0].stem


@pytest.mark.parametrize("command", ["run", "rehearse"])
def test_already_finished_names_the_command_typed(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    _journal(state / "runs" / "r-one.jsonl", _started(), ev.RunFinished(status="ok"))
    assert main([command, "--resume", "r-one", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pverunbook: {command} --resume: run r-one already finished"), err


def test_resume_with_reset_names_the_command_typed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rehearse", "--resume", "r-one", "--reset", "--headless"]) == 2
    assert capsys.readouterr().err.startswith("pverunbook: rehearse --reset: ")


def test_a_rehearsal_cluster_not_kept_names_the_command_typed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _journal(tmp_path / "state" / "runs" / "r-one.jsonl",
             _started(rehearsal_dir=str(tmp_path / "gone")))
    assert main(["rehearse", "--resume", "r-one", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pverunbook: rehearse --resume: the rehearsal cluster of run r-one "
                          "was not kept"), err


def test_a_stopped_rehearsal_says_rehearse_resume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "gated.toml"
    rb.write_text(GATED, encoding="utf-8")
    assert main(["rehearse", str(rb), "--headless"]) == 1
    out = capsys.readouterr().out
    run_id = next((tmp_path / "state" / "runs").glob("*.jsonl")).stem
    assert f"`pverunbook rehearse --resume {run_id} --headless --confirm gate`" in out, out
    assert "pverunbook run --resume" not in out


def test_a_changed_runbook_names_the_command_typed_and_how_to_go_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb, run_id = _stopped_rehearsal(tmp_path, capsys)
    rb.write_text(GATED.replace("echo hi", "echo hello"), encoding="utf-8")
    assert main(["rehearse", "--resume", run_id, "--headless"]) == 2
    err = capsys.readouterr().err
    assert "pverunbook: rehearse --resume: the runbook changed since the run started" in err
    assert f"`pverunbook rehearse --resume {run_id} --headless --accept-changed-runbook`" \
        in err, err


def test_ctrl_c_names_the_command_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "gated.toml"
    rb.write_text(GATED, encoding="utf-8")

    async def ctrl_c(self: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("pverunbook.engine.engine.Engine.run", ctrl_c)
    assert main(["rehearse", str(rb), "--headless", "--confirm", "gate"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; the journal has everything up to here. Continue with " \
           "`pverunbook rehearse --resume " in err, err


@pytest.mark.parametrize(("argv", "said"), [
    (dict(command="rehearse"), "pverunbook rehearse --resume R"),
    (dict(command="run", cluster=None), "pverunbook run --resume R"),
    (dict(command="run", cluster=Path("my nodes.toml")),
     "pverunbook run --resume R --cluster 'my nodes.toml'"),
    (dict(command="check", rehearse=True, cluster=None), "pverunbook rehearse --resume R"),
    (dict(command="check", rehearse=False, cluster=Path("n.toml")),
     "pverunbook run --resume R --cluster n.toml"),
    (dict(command="rehearse", headless=True), "pverunbook rehearse --resume R --headless"),
    (dict(command="run", cluster=Path("n.toml"), headless=True),
     "pverunbook run --resume R --cluster n.toml --headless"),
])
def test_resume_command(argv: dict[str, object], said: str) -> None:
    assert resume_command(argparse.Namespace(**argv), "R") == said


@pytest.mark.parametrize(("command", "mode", "said"), [
    ("run", "rehearsal", "pverunbook run route-fix --rehearsal --set route_node=pve001"),
    ("rehearse", "rehearsal", "pverunbook rehearse route-fix --set route_node=pve001"),
    ("check", "rehearsal", "pverunbook rehearse route-fix --set route_node=pve001"),
    ("run", "live", "pverunbook run route-fix --cluster CLUSTER.toml --set route_node=pve001"),
])
def test_next_runbook_echoes_the_command_typed(command: str, mode: str, said: str) -> None:
    """After ``run X --rehearsal`` the diagnosis's "next:" said ``rehearse route-fix``."""
    from types import SimpleNamespace

    from pverunbook.headless import format_diagnosis

    nr = SimpleNamespace(runbook="route-fix", params={"route_node": "pve001"},
                         label=lambda: "route-fix")
    fault = SimpleNamespace(severity="critical", rule="r", statement="s", confidence="high",
                            action="a", manual=[], next_runbook=nr, evidence=[])
    diag = SimpleNamespace(faults=[fault], matrix=[], healthy=[])
    lines = format_diagnosis(diag, mode, " --state-dir D", command=command)
    assert f"      next: route-fix  ->  {said} --state-dir D" in lines, lines
