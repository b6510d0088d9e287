"""Everything a run writes follows the one state directory the operator chose.

Checkpoints read only ``$PVERUNBOOK_DATA_DIR`` (else the per-user data dir), so with
``$PVERUNBOOK_STATE_DIR`` alone they went to the user's default directory; and a headless
``rehearse --state-dir DIR`` kept its simulated cluster in DIR but wrote its journal, index and
checkpoints to the environment's (or the default) state directory. One resolver
(``pverunbook/statedir.py``) now decides, and the commands that read runs take ``--state-dir``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook import statedir
from pverunbook.cli import main

#: One destructive step with a checkpoint on one node of the rehearsal cluster (a few seconds).
TINY = """
id = "tiny"
title = "One checkpointed step"

[[steps]]
id = "touch"
title = "Print on pve001"
kind = "run"
targets = "pve001"
destructive = true
confirm = "node"
commands = ["echo hi"]

[steps.backup]
outputs = ["ip route"]
"""


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    f = tmp_path / "tiny.toml"
    f.write_text(TINY, encoding="utf-8")
    return f


def test_state_dir_holds_journal_checkpoints_and_cluster(
        tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = tmp_path / "chosen"
    env_state, env_data = tmp_path / "state", tmp_path / "data"  # tests/conftest.py sets these
    assert main(["rehearse", str(tiny), "--headless", "--state-dir", str(chosen),
                 "--confirm", "pve001"]) == 0
    out = capsys.readouterr().out
    journals = list((chosen / "runs").glob("*.jsonl"))
    assert len(journals) == 1, out
    run_id = journals[0].stem
    assert [p.parent.name for p in (chosen / "checkpoints").glob("*/manifest.json")] == \
        [f"{run_id}-touch-1"]
    assert (chosen / "world.json").is_file()  # the simulated cluster stays in DIR itself
    assert _files(env_state) == [] and _files(env_data) == []
    # what the run says to type next finds the run in DIR
    assert f"report:  pverunbook report {run_id} --state-dir {chosen}" in out
    assert main(["report", run_id, "--state-dir", str(chosen)]) == 0
    assert f"{run_id}-touch-1" in capsys.readouterr().out
    assert main(["checkpoints", "list", "--state-dir", str(chosen)]) == 0
    assert f"{run_id}-touch-1" in capsys.readouterr().out
    assert main(["journal", "list", "--state-dir", str(chosen)]) == 0
    assert run_id in capsys.readouterr().out
    # and only there: the default state directory does not hold it
    assert main(["report", run_id]) == 2


def test_checkpoints_follow_the_state_dir_environment(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PVERUNBOOK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    state = tmp_path / "state"
    assert main(["rehearse", str(tiny), "--headless", "--confirm", "pve001"]) == 0
    capsys.readouterr()
    assert len(list((state / "checkpoints").glob("*/manifest.json"))) == 1
    assert len(list((state / "runs").glob("*.jsonl"))) == 1
    assert _files(tmp_path / "xdg-data") == [] and _files(tmp_path / "home") == []


def test_one_resolver_orders_flag_then_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pverunbook.engine.checkpoint_index import checkpoints_dir
    from pverunbook.engine.journal import runs_dir
    from pverunbook.session import default_rehearsal_dir
    from pverunbook.sim.cluster import SimCluster

    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "d"))
    assert checkpoints_dir() == tmp_path / "d" / "checkpoints"  # an explicit data dir wins
    monkeypatch.delenv("PVERUNBOOK_DATA_DIR")
    assert checkpoints_dir() == tmp_path / "s" / "checkpoints"
    assert runs_dir() == tmp_path / "s" / "runs"
    assert default_rehearsal_dir("nyc-outage") == tmp_path / "s" / "rehearsal" / "nyc-outage"
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "d"))
    with statedir.chosen(tmp_path / "flag"):  # --state-dir wins over both variables
        assert runs_dir() == tmp_path / "flag" / "runs"
        assert checkpoints_dir() == tmp_path / "flag" / "checkpoints"
        assert SimCluster.default_state_dir() == tmp_path / "flag" / "rehearsal"
        assert statedir.chosen_args() == f" --state-dir {tmp_path / 'flag'}"
    assert runs_dir() == tmp_path / "s" / "runs" and statedir.chosen_args() == ""


def test_reset_of_the_rehearsal_keeps_the_runs_beside_it(tmp_path: Path) -> None:
    from pverunbook.session import reset_state_dir

    for d in ("nodes/pve001", "runs", "checkpoints/c1", "keys", "shell"):
        (tmp_path / d).mkdir(parents=True)
    for f in ("world.json", "runs.txt", "runs/r.jsonl", "checkpoints/c1/manifest.json",
              "keys/rehearsal_ed25519", "checkpoint-seal.key", "rehearsal-runs.txt"):
        (tmp_path / f).write_text("x\n")
    reset_state_dir(tmp_path)
    left = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert left == {"runs", "runs/r.jsonl", "checkpoints", "checkpoints/c1",
                    "checkpoints/c1/manifest.json", "keys", "keys/rehearsal_ed25519",
                    "checkpoint-seal.key", "rehearsal-runs.txt"}


#: Every command that takes --state-dir, with the arguments it needs to get that far.
STATE_DIR_COMMANDS = {
    "journal list": [], "journal show": ["RUN"], "checkpoints list": [],
    "checkpoints show": ["ID"], "restore": ["ID"], "report": ["RUN"],
    "run": ["--rehearsal", "network-triage", "--headless"],
    "rehearse": ["network-triage", "--headless"], "check": ["--headless"], "tui": [],
    "simulate": [],
}


def _commands_with_state_dir() -> set[str]:
    """The (sub)commands whose parser has a --state-dir option, read from the parser itself:
    a new command with --state-dir must be added to STATE_DIR_COMMANDS (and is checked)."""
    import argparse

    from pverunbook.cli import build_parser

    found: set[str] = set()

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if "--state-dir" in action.option_strings:
                found.add(prefix)
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())

    walk(build_parser(), "")
    return found


def test_every_state_dir_command_is_listed() -> None:
    assert _commands_with_state_dir() == set(STATE_DIR_COMMANDS)


@pytest.mark.parametrize("command", sorted(STATE_DIR_COMMANDS))
def test_a_file_as_state_dir_is_refused_by_every_command(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``journal list --state-dir FILE`` answered "no runs in FILE/runs" (exit 0) while
    ``check``/``rehearse`` said "not a directory": one check (statedir.unusable) for all."""
    f = tmp_path / "somefile"
    f.write_text("x\n")
    for state in (f, f / "below"):
        argv = [*command.split(), *STATE_DIR_COMMANDS[command], "--state-dir", str(state)]
        assert main(argv) == 2, argv
        e = capsys.readouterr().err
        assert f"pverunbook: {command} --state-dir: {state}: " in e
        assert "not a directory" in e and f"{f}" in e and "give a directory" in e
        assert not (f.parent / "runs").exists()


def test_the_environment_state_dir_is_checked_the_same_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "somefile"
    f.write_text("x\n")
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(f))
    assert main(["journal", "list"]) == 2
    e = capsys.readouterr().err
    assert "$PVERUNBOOK_STATE_DIR" in e and f"{f}: a file, not a directory" in e
    assert main(["list"]) == 0  # a command that reads no state directory does not care
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "new"))
    assert main(["journal", "list"]) == 0  # not there yet: fine, it is created when written
    assert "no runs in" in capsys.readouterr().out


ENV_COMMANDS = (["rehearse", "route-fix", "--headless"], ["check", "--headless"],
                ["journal", "list"], ["report", "some-run"], ["checkpoints", "list"])


@pytest.mark.parametrize("argv", ENV_COMMANDS, ids=lambda a: " ".join(a))
def test_an_unusable_environment_state_dir_is_named_by_every_command(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A place no file can be made (/proc) ended in "could not handle this input:
    FileNotFoundError …" naming neither the variable nor the path: the variable, its value,
    what to do. (A directory not there yet is made, parents included: scripts name new ones.)"""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc (Linux) for a directory no one can write in")
    cases = {"/proc/pverunbook-no-such": "cannot write in /proc",
             "/proc": "cannot write in /proc"}
    for value, why in cases.items():
        monkeypatch.setenv("PVERUNBOOK_STATE_DIR", value)
        assert main(argv) == 2, value
        e = capsys.readouterr().err
        assert f"state directory unusable: $PVERUNBOOK_STATE_DIR={value}: {why}" in e, e
        assert "set PVERUNBOOK_STATE_DIR to a writable directory" in e
        assert "Traceback" not in e and "report this" not in e


def test_the_app_and_headless_rehearsals_keep_the_same_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With $PVERUNBOOK_STATE_DIR alone, the app kept its simulated cluster under
    ``$PVERUNBOOK_STATE_DIR/rehearsal/<scenario>`` while ``rehearse``/``check`` started a fresh
    one every time: one rule (statedir.rehearsal_cluster_dir) for both; --state-dir DIR wins."""
    import pverunbook.commands.run as run_cmd
    import pverunbook.ui.app as app

    seen: dict[str, Path | None] = {}

    def fake_app(config: object, **_: object) -> object:
        seen["tui"] = config.sim_state_dir  # type: ignore[attr-defined]
        raise SystemExit(0)

    async def fake_headless(args: object, config: object) -> int:
        seen[str(args.command)] = config.sim_state_dir  # type: ignore[attr-defined]
        return 0

    monkeypatch.setattr(app, "make_app", fake_app)
    monkeypatch.setattr(run_cmd, "run_headless", fake_headless)
    monkeypatch.setattr("pverunbook.commands.tui.has_terminal", lambda: True)
    state = tmp_path / "state"  # tests/conftest.py sets $PVERUNBOOK_STATE_DIR to it
    with pytest.raises(SystemExit):
        main(["tui", "--scenario", "nyc-healthy"])
    assert main(["rehearse", "network-triage", "--headless", "--scenario", "nyc-healthy"]) == 0
    assert main(["check", "--headless", "--scenario", "nyc-healthy"]) == 0
    assert main(["run", "--rehearsal", "network-triage", "--headless",
                 "--scenario", "nyc-healthy"]) == 0
    kept = state / "rehearsal" / "nyc-healthy"
    assert seen == {"tui": kept, "rehearse": kept, "check": kept, "run": kept}
    chosen = tmp_path / "chosen"
    with pytest.raises(SystemExit):
        main(["tui", "--state-dir", str(chosen)])
    assert main(["rehearse", "network-triage", "--headless", "--state-dir", str(chosen)]) == 0
    assert seen["tui"] == seen["rehearse"] == chosen.absolute()


def test_reset_starts_the_kept_cluster_afresh_and_keeps_the_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import pverunbook.commands.run as run_cmd

    async def fake_headless(args: object, config: object) -> int:
        return 0

    monkeypatch.setattr(run_cmd, "run_headless", fake_headless)
    kept = tmp_path / "state" / "rehearsal" / "nyc-outage"
    (kept / "nodes").mkdir(parents=True)
    (kept / "world.json").write_text("{}")
    (kept / "keys").mkdir()
    (tmp_path / "state" / "runs").mkdir()
    assert main(["rehearse", "network-triage", "--headless", "--reset"]) == 0
    assert not (kept / "nodes").exists() and not (kept / "world.json").exists()
    assert (kept / "keys").is_dir() and (tmp_path / "state" / "runs").is_dir()
    assert main(["run", "--resume", "x", "--reset", "--headless"]) == 2
    assert "--reset" in capsys.readouterr().err
