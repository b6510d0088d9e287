"""`pverunbook screenshots`: the shipped runbooks rehearsed to each picture, the same bytes twice.

Two processes (so nothing is shared: not the hash seed, not the temporary directories, not
the SSH keys the simulator would make) each take the network-triage picture, which needs the
simulated cluster to answer six steps of the shipped runbook over SSH on both nodes; the files
must exist (the command got to the picture) and be byte-for-byte equal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import pytest

from pverunbook.commands import screenshots
from pverunbook.ui import rehearsal_shots

ROOT = str(Path(__file__).resolve().parents[2])


def test_register_adds_the_command() -> None:
    parser = argparse.ArgumentParser()
    screenshots.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["screenshots", "--out", "x", "--only", "summary"])
    assert args.out == Path("x") and args.func is screenshots.cmd_screenshots
    assert args.only == ["summary"]
    assert screenshots.NAMES == rehearsal_shots.SHOTS  # --help's list is the real one
    with pytest.raises(SystemExit):
        parser.parse_args(["screenshots", "--only", "no-such-screen"])


async def _take(out: Path, *names: str) -> tuple[int, str]:
    only = [a for n in names for a in ("--only", n)]
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pverunbook", "screenshots", "--out", str(out), *only,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        cwd=ROOT)
    text, _ = await proc.communicate()
    return proc.returncode or 0, text.decode()


async def test_two_runs_write_the_same_svg_bytes(tmp_path: Path) -> None:
    (rc1, log1), (rc2, log2) = await asyncio.gather(_take(tmp_path / "a", "run-triage"),
                                                    _take(tmp_path / "b", "run-triage"))
    assert (rc1, rc2) == (0, 0), log1 + log2
    names = ["run-triage.svg", "run-triage-80x24.svg"]
    for d in ("a", "b"):
        assert sorted(p.name for p in (tmp_path / d).iterdir()) == sorted(names)
    for name in names:
        a = (tmp_path / "a" / name).read_bytes()
        b = (tmp_path / "b" / name).read_bytes()
        assert a == b, f"{name} differs between two runs"
        assert a.startswith(b"<svg")
    wide = (tmp_path / "a" / "run-triage.svg").read_text(encoding="utf-8").replace("&#160;", " ")
    # the shipped runbook's ping step on both nodes, as the simulated outage answers it
    assert "ryanrishi" in wide and "pve001" in wide and "ping statistics" in wide
    assert "22% packet loss" in wide  # the story's lossy routed link, the same every run


async def test_the_start_screen_shows_where_the_shipped_runbooks_are_without_this_machine(
        tmp_path: Path) -> None:
    """The start screen shows a runbook's path; a capture showed the checkout's absolute one
    (whoever took it, wherever), so the pictures differed between machines and named the one
    they were taken on."""
    from pverunbook.runbook.catalog import builtin_dir

    rc, log = await _take(tmp_path / "s", "start")
    assert rc == 0, log
    text = (tmp_path / "s" / "start.svg").read_text(encoding="utf-8").replace("&#160;", " ")
    assert "runbooks/cluster-health-check.toml" in text
    assert str(builtin_dir().resolve().parent) not in text and str(ROOT) not in text
