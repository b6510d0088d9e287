"""``list`` and ``validate`` as a newcomer meets them: ``--runbooks DIR`` after the command,
each error said once and a failing exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pverunbook.cli import parse_args

REPO = Path(__file__).resolve().parents[2]

#: Three schema errors (no id, no title, no steps): each must be printed once.
EMPTY = "# nothing here yet\n"

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
