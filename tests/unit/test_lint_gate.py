"""A runbook with lint errors no ``lint_ok`` accepts is refused by every way to run it.

The story's commands (stop corosync and pve-cluster everywhere, delete config.db*, SIGKILL
pmxcfs, ``umount -l /etc/pve``, ``pvecm expected 1`` on every node) once ran headless and in the
app although ``validate`` rejected them: the loader now refuses them (``runbook/lint_gate.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook.runbook.catalog import discover
from pverunbook.runbook.lint_gate import RunbookLintError
from pverunbook.runbook.loader import load_file

REPO = Path(__file__).resolve().parents[2]

STORY = """\
id = "wipe"
title = "Wipe"
version = "1"
summary = "x"
[[steps]]
id = "s1"
title = "s1"
kind = "run"
targets = "all"
commands = ["systemctl stop corosync pve-cluster", "rm -rf /var/lib/pve-cluster/config.db*"]
destructive = true
confirm = "cluster"
[steps.backup]
files = ["/var/lib/pve-cluster/config.db"]
[[steps]]
id = "s2"
title = "udpu"
kind = "run"
targets = "all"
commands = ["pkill -9 pmxcfs; umount -l /etc/pve", "pvecm expected 1"]
"""

#: One node, SIGKILL of pmxcfs: an error lint_ok may accept once the step is destructive,
#: backed up and explained.
ONE_NODE = """\
id = "one"
title = "One"
[[steps]]
id = "kill"
title = "kill"
targets = "first"
commands = ["pkill -9 pmxcfs"]
destructive = true
confirm = "node"
explain = "Reviewed: this node's pmxcfs hangs in D state and ignores SIGTERM."
{lint_ok}
[steps.backup]
files = ["/var/lib/pve-cluster/config.db"]
"""


@pytest.fixture
def story(tmp_path: Path) -> Path:
    d = tmp_path / "rb"
    d.mkdir()
    p = d / "f.toml"
    p.write_text(STORY, encoding="utf-8")
    return p


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_loading_refuses_it_saying_what_where_and_what_to_do(story: Path) -> None:
    with pytest.raises(RunbookLintError) as caught:
        load_file(story)
    text = str(caught.value)
    assert f"{story}:10:53: PVR001 " in text  # each error: file:line:col, code, message
    assert f"{story}:20:14: PVR002 " in text and f"{story}:20:53: PVR006 " in text
    assert {"PVR001", "PVR002", "PVR003", "PVR006", "PVR013", "PVR016"} <= {
        i.code for i in caught.value.issues}
    assert "PVR013 cannot be accepted with lint_ok" in text
    assert "lint_ok" in text.splitlines()[-1] and f"pverunbook validate {story}" in text
    # validate loads without the refusal and reports the findings itself
    assert load_file(story, lint=False).id == "wipe"


def test_lint_ok_on_a_reviewed_step_is_respected(tmp_path: Path) -> None:
    p = tmp_path / "one.toml"
    p.write_text(ONE_NODE.format(lint_ok=""), encoding="utf-8")
    with pytest.raises(RunbookLintError) as caught:
        load_file(p)
    assert [i.code for i in caught.value.issues] == ["PVR002"]
    p.write_text(ONE_NODE.format(lint_ok='lint_ok = ["PVR002"]'), encoding="utf-8")
    assert load_file(p).steps[0].lint_ok == ("PVR002",)


def test_catalog_lists_it_as_invalid(story: Path) -> None:
    entry = next(e for e in discover([story.parent]) if e.path == story)
    assert entry.runbook is None and isinstance(entry.error, RunbookLintError)


def test_tui_refuses_it_before_taking_the_screen(story: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.commands.tui import tui_preflight

    args = argparse.Namespace(command="tui", runbook=str(story), runbooks=[], set=None,
                              cluster=None, resume=None)
    assert tui_preflight(args) == 2
    assert "PVR001" in capsys.readouterr().err


def test_headless_rehearse_refuses_it_before_anything_runs(story: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    r = cli("rehearse", str(story), "--headless", "--state-dir", str(state), "--confirm", "nyc")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{story}:10:53: PVR001" in r.stderr and "refused" in r.stderr
    assert "== run" not in r.stdout and "Traceback" not in r.stderr
    assert not (state / "runs").exists()  # no run was started, nothing journaled


@pytest.mark.parametrize("mode", ["--dry-run", "--local"])
def test_headless_run_refuses_it(story: Path, mode: str) -> None:
    r = cli("run", str(story), mode, "--headless", "--confirm", "nyc")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "PVR001" in r.stderr and "== run" not in r.stdout


def test_list_shows_it_invalid_and_fails(story: Path) -> None:
    r = cli("--runbooks", str(story.parent), "list")
    assert r.returncode != 0
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("f "))
    assert "INVALID" in line and "PVR0" in line
