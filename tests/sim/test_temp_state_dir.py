"""A rehearsal without ``--state-dir`` leaves nothing behind in the temporary directory.

Its state directory holds the rehearsal client's private key and the nodes' root password, so
it is private (0700) and deleted when the cluster stops: at the end of a headless run, when
``simulate`` stops, on SIGTERM and SIGHUP (which end a process without running any exit
handler: a closed terminal, ``kill``, ``systemctl stop``), and when the process simply exits.
Every test points ``TMPDIR`` at its own directory and looks for ``pverunbook-sim-*`` there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.sim import SimCluster

from .conftest import STORY_EPOCH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tmpdir_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tempfile`` makes its directories under ``tmp_path / "tmp"`` for this test."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp


def leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("pverunbook-sim-*"))


async def test_temp_state_dir_is_private_and_removed_on_stop(tmpdir_here: Path) -> None:
    sim = SimCluster("nyc-outage", time_scale=0.002, stepped_from=STORY_EPOCH)
    await sim.start()
    try:
        assert sim.state_dir.parent == tmpdir_here
        assert (sim.state_dir.stat().st_mode & 0o777) == 0o700
        assert (sim.state_dir / "keys" / "password").read_text().startswith("rehearse-")
        assert sim.client_key_path.exists()
    finally:
        await sim.stop()
    assert leftovers(tmpdir_here) == []


async def test_a_given_state_dir_is_kept(tmp_path: Path) -> None:
    async with SimCluster("nyc-outage", state_dir=tmp_path / "s", time_scale=0.002,
                          stepped_from=STORY_EPOCH):
        pass
    assert (tmp_path / "s" / "keys" / "password").exists()
    assert (tmp_path / "s" / "world.json").exists()


async def test_session_close_removes_the_temp_state_dir(tmpdir_here: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a headless ``rehearse`` does at its end (``run_headless`` closes its session)."""
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="nyc-outage",
                                    time_scale=0.002))
    await session.start()
    try:
        assert len(leftovers(tmpdir_here)) == 1
        await session.connect()
    finally:
        await session.close()
    assert leftovers(tmpdir_here) == []


def _env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), PVERUNBOOK_STATE_DIR=str(tmp_path / "state"),
               PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    return env


def _wait_for_password(tmp: Path, proc: subprocess.Popen[str]) -> Path:
    """The temp state dir once its password is written (the process is then serving)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(tmp.glob("pverunbook-sim-*/keys/password"))
        if found:
            return found[0].parent.parent
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before the cluster started:\n{out}\n{err}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("no temporary state directory appeared within 120 s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_headless_rehearsal_stopped_by_signal_keeps_its_cluster_private(
        tmp_path: Path, sig: signal.Signals) -> None:
    """A headless rehearsal keeps its cluster where the app does (statedir
    ``rehearsal_cluster_dir``: ``$PVERUNBOOK_STATE_DIR/rehearsal/<scenario>``), private, and
    a signal leaves nothing in the temporary directory."""
    env = _env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pverunbook", "rehearse", "network-triage", "--headless",
         "--confirm", "nyc"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    kept = tmp_path / "state" / "rehearsal" / "nyc-outage"
    deadline = time.monotonic() + 120
    while not (kept / "keys" / "password").exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before the cluster started:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no rehearsal cluster appeared in {kept} within 120 s")
        time.sleep(0.1)
    assert (kept.stat().st_mode & 0o077) == 0, oct(kept.stat().st_mode)
    assert ((kept / "keys").stat().st_mode & 0o077) == 0
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (out, err)
    assert f"stopped by {sig.name}" in err
    assert leftovers(Path(env["TMPDIR"])) == []
    assert (kept / "world.json").exists()  # the next rehearsal continues this cluster


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_simulate_stopped_by_signal_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    env = _env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pverunbook", "simulate"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # serving once it says so
        lines.append(line)
        if "Press Ctrl-C" in line:
            break
    assert any("temporary: deleted when this stops" in x for x in lines), lines
    assert len(leftovers(Path(env["TMPDIR"]))) == 1
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    assert "rehearsal cluster stopped" in out
    assert leftovers(Path(env["TMPDIR"])) == []


SCRIPT = """
import sys, time
from pverunbook.sim import SimCluster
sim = SimCluster("nyc-outage")
print(sim.state_dir, flush=True)
if sys.argv[1] == "wait":
    time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_process_killed_by_signal_still_removes_it(tmp_path: Path, sig: signal.Signals) -> None:
    """No front end handles the signal here: the cluster's own handler deletes the directory
    and the process still dies of the signal, as it would have."""
    env = _env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "wait"], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    state = Path(proc.stdout.readline().strip())
    assert state.is_dir() and (state.stat().st_mode & 0o777) == 0o700
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == -sig
    assert not state.exists()
    assert leftovers(Path(env["TMPDIR"])) == []


def test_a_process_that_exits_without_stopping_removes_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = subprocess.run([sys.executable, "-c", SCRIPT, "exit"], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert Path(out.strip()).name.startswith("pverunbook-sim-")
    assert leftovers(Path(env["TMPDIR"])) == []
