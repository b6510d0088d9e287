"""A mistyped name gets the nearest choices first ("did you mean network-triage?"), then the
list: runbook ids, ``--set`` parameter names, scenarios, commands and actions, checkpoint ids.
Before, ``run netwrok-triage`` answered with all nine runbook ids to read through."""

from __future__ import annotations

import pytest

from pverunbook.cli import main
from pverunbook.runbook.suggest import did_you_mean


def _err(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        rc = int(exc.code or 0)
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["run", "netwrok-triage", "--dry-run", "--headless"],
    ["rehearse", "netwrok-triage", "--headless"],
    ["rehearse", "netwrok-triage", "--json"],
    ["plan", "netwrok-triage"],
    ["plan", "runbooks/netwrok-triage.toml"],
])
def test_a_mistyped_runbook_names_the_nearest_before_the_list(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _err(argv, capsys)
    assert rc == 2, err
    said = "(did you mean network-triage?)"
    assert said in err and err.index(said) < err.index("the available runbooks are"), err
    assert "Traceback" not in err


def test_a_runbook_name_near_nothing_gets_the_list_alone(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _err(["plan", "zzzz"], capsys)
    assert rc == 2 and "did you mean" not in err and "network-triage" in err, err


@pytest.mark.parametrize("argv", [
    ["plan", "corosync-tuning"],
    ["run", "corosync-tuning", "--dry-run", "--headless"],
])
def test_a_mistyped_parameter_names_the_nearest(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _err([*argv, "--set", "tokn=5000", "--set", "add_second_lnk=true",
                    "--set", "zzz=1"], capsys)
    assert rc == 2, err
    assert "tokn (did you mean token?)" in err, err
    assert "add_second_lnk (did you mean add_second_link?)" in err, err
    assert "zzz (this runbook takes: token, add_second_link)" in err, err


def test_a_mistyped_scenario_names_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _err(["rehearse", "network-triage", "--headless", "--scenario", "nyc-outgae"],
                   capsys)
    assert rc == 2 and "unknown scenario 'nyc-outgae' (did you mean nyc-outage?)" in err, err
    assert "known: five-node" in err


@pytest.mark.parametrize(("argv", "typo", "meant"), [
    (["rehersae", "network-triage"], "rehersae", "rehearse"),
    (["journal", "lsit"], "lsit", "list"),
    (["checkpoints", "shwo", "x"], "shwo", "show"),
])
def test_a_mistyped_command_names_the_nearest(
        argv: list[str], typo: str, meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _err(argv, capsys)
    assert rc == 2, err
    assert f"invalid choice: '{typo}'; did you mean {meant}? (choose from " in err, err


@pytest.mark.parametrize("command", [["checkpoints", "show"], ["restore"]])
def test_a_mistyped_checkpoint_id_names_the_nearest(
        command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.engine.checkpoint_index import checkpoints_dir

    for cid in ("20261207-125227-573678-delete-1", "20261207-130102-9a1b2c-apply-2"):
        (checkpoints_dir() / cid).mkdir(parents=True)
    typo = "20261207-125227-573678-delet-1"
    rc, err = _err([*command, typo], capsys)
    assert rc == 2, err
    assert f"no checkpoint '{typo}' (did you mean 20261207-125227-573678-delete-1" in err, err
    assert "checkpoints list" in err


def test_did_you_mean_words() -> None:
    assert did_you_mean("netwrok-triage", ["network-triage", "route-fix"]) == \
        "did you mean network-triage?"
    assert did_you_mean("Route-Fix", ["route-fix"]) == "did you mean route-fix?"
    assert did_you_mean("three-nod", ["three-node", "three-node-mtu", "four-node"]) == \
        "did you mean three-node or three-node-mtu?"
    assert did_you_mean("zzzz", ["network-triage"]) == ""


@pytest.mark.parametrize("argv", [
    ["journal", "show"], ["report"], ["run", "--resume"], ["rehearse", "--resume"],
])
def test_a_mistyped_run_id_names_the_nearest(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.engine.journal import runs_dir

    runs_dir().mkdir(parents=True)
    for rid in ("20261207-125022-0836ad", "20261206-091500-77aa01"):
        (runs_dir() / f"{rid}.jsonl").write_text("")
    typo = "20261207-125022-0836ab"
    rc, err = _err([*argv, typo, *(["--headless"] if "--resume" in argv else [])], capsys)
    assert rc == 2, err
    assert f"no run '{typo}' (did you mean 20261207-125022-0836ad?) in {runs_dir()}" in err, err
    assert "journal list" in err
