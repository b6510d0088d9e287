"""``list`` and ``validate`` as a newcomer meets them: ``--runbooks DIR`` after the command,
each error said once, a failing exit, and lint findings even while schema errors remain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pverunbook.cli import parse_args

REPO = Path(__file__).resolve().parents[2]

#: Three schema errors (no id, no title, no steps): each must be printed once.
EMPTY = "# nothing here yet\n"

#: A typo (a schema error) and the story's database wipe in a step that parses.
TYPO_AND_WIPE = """\
id = "wipe"
title = "Wipe"
[[steps]]
id = "s1"
title = "s1"
targets = "first"
commands = ["rm -rf /var/lib/pve-cluster/config.db*"]
destrutive = true
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_runbooks_dir_is_taken_before_and_after_the_command() -> None:
    assert parse_args(["list", "--runbooks", "b"]).runbooks == [Path("b")]
    both = parse_args(["--runbooks", "a", "validate", "--runbooks", "b"])
    assert both.runbooks == [Path("a"), Path("b")]
    assert not hasattr(both, "runbooks_after")
    assert parse_args(["rehearse", "x", "--runbooks", "b"]).runbooks == [Path("b")]
    assert parse_args(["plan", "x", "--runbooks", "b"]).runbooks == [Path("b")]


def test_list_says_each_error_once_and_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text(EMPTY, encoding="utf-8")
    r = cli("list", "--runbooks", str(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    both = r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("empty "))
    assert "INVALID" in line and "missing required key 'id'" in line
    for error in ("missing required key 'id'", "missing required key 'title'",
                  "needs at least one [[steps]]"):
        assert both.count(error) == 1, (error, both)
    assert "1 runbook(s) are invalid" in r.stderr and "network-triage" in r.stdout


def test_validate_lints_the_steps_that_parsed_despite_schema_errors(tmp_path: Path) -> None:
    f = tmp_path / "wipe.toml"
    f.write_text(TYPO_AND_WIPE, encoding="utf-8")
    r = cli("validate", str(f))
    assert r.returncode == 2
    assert f"{f}:8:1: unknown key 'destrutive'" in r.stderr
    assert f"{f}:7:14: PVR001 " in r.stderr
    assert "covers only the steps that parsed" in r.stderr


def test_validate_says_plainly_when_nothing_could_be_linted(tmp_path: Path) -> None:
    f = tmp_path / "broken.toml"
    f.write_text('id = "x"\ntitle = "unterminated\n', encoding="utf-8")
    r = cli("validate", str(f))
    assert r.returncode == 2
    assert "not linted yet" in r.stderr and "once the errors above are fixed" in r.stderr
    assert "Traceback" not in r.stderr
