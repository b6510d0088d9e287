"""One process per journal: a second writer (a resume of a run still running) is refused.

The real CLI in two processes: the first run waits inside a step while the second tries to
resume (or write) the same journal; the second must be refused with who holds it, and the
destructive step must run exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pverunbook.engine.journal import Journal
from pverunbook.engine.runlock import LockHeld, hold

REPO = Path(__file__).resolve().parents[2]

_HOLD = """
import sys, time
from pathlib import Path
from pverunbook.engine.runlock import hold
lock = hold(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "journal")
print("held", flush=True)
time.sleep(600)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_held_journal_is_refused_with_who_holds_it_and_freed_when_the_holder_dies(
        tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    proc = _holder(path)
    try:
        with pytest.raises(LockHeld) as info:
            Journal(path)
        text = str(info.value)
        assert f"pid {proc.pid} on host " in text and " since " in text and str(path) in text
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up: the kernel drops the lock
        proc.wait()
    j = Journal(path)  # a crashed holder leaves no stale lock
    j.close()


def test_the_lock_counts_within_one_process_and_a_directory_has_its_own(tmp_path: Path) -> None:
    a = hold(tmp_path / "run.jsonl", "journal")
    b = hold(tmp_path / "run.jsonl", "journal")  # the resume path, then the journal writer
    a.release()
    proc = subprocess.run([sys.executable, "-c", _HOLD.replace("time.sleep(600)", ""),
                           str(tmp_path / "run.jsonl")], env=dict(os.environ, PYTHONPATH=str(
                               REPO)), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "is in use by pid" in proc.stderr  # still held by b
    b.release()
    with hold(tmp_path, "state dir"):
        assert (tmp_path / ".lock").is_file()
    assert not (tmp_path / ".lock").exists()


def _runbook(tmp: Path) -> Path:
    marker, go, precious = tmp / "marker", tmp / "go", tmp / "precious.cfg"
    precious.write_text("keep me\n")
    wait = f"echo waiting >> {marker}; n=0; until [ -e {go} ] || [ $n -ge 1200 ]; do " \
           f"sleep 0.1; n=$((n+1)); done"
    rb = tmp / "rb.toml"
    rb.write_text(
        'id = "lock"\ntitle = "Lock test"\n\n'
        f'[[steps]]\nid = "wait"\ntitle = "Wait"\ntimeout = 180\ncommands = {json.dumps([wait])}'
        "\n\n"
        f'[[steps]]\nid = "wipe"\ntitle = "Wipe"\ndestructive = true\n'
        f'commands = {json.dumps([f"echo wipe >> {marker}"])}\n\n'
        f'[steps.backup]\nfiles = ["{precious}"]\n')
    return rb


def test_a_resume_of_a_running_run_is_refused_and_the_destructive_step_runs_once(
        tmp_path: Path) -> None:
    rb, journal, marker = _runbook(tmp_path), tmp_path / "run.jsonl", tmp_path / "marker"
    env = dict(os.environ, PVERUNBOOK_STATE_DIR=str(tmp_path / "state"),
               PVERUNBOOK_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    base = [sys.executable, "-m", "pverunbook", "run", str(rb), "--headless", "--confirm",
            "local"]
    first = subprocess.Popen(base + ["--local", "--journal", str(journal)], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120  # hang guard
        while not marker.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), first.communicate(timeout=10)
        second = subprocess.run(base + ["--resume", str(journal)], env=env, text=True,
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        again = subprocess.run(base + ["--local", "--journal", str(journal)], env=env,
                               text=True, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=120)
        (tmp_path / "go").touch()
        out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    for refused in (second, again):
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        assert f"is in use by pid {first.pid} on host" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert first.returncode == 0, out
    assert marker.read_text().split() == ["waiting", "wipe"]  # each step ran exactly once
    # and the journal is one run's, not two interleaved
    kinds = [json.loads(line)["kind"] for line in journal.read_text().splitlines()]
    assert kinds.count("run_started") == 1 and kinds.count("run_finished") == 1


async def test_two_rehearsals_on_one_state_dir_the_second_is_refused(tmp_path: Path) -> None:
    from pverunbook.sim.cluster import SimCluster

    first = SimCluster(state_dir=tmp_path / "rehearsal")
    await first.start()
    try:
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", _HOLD, str(tmp_path / "rehearsal"), "state dir"],
            capture_output=True,
            text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert proc.returncode != 0
        assert f"state dir {tmp_path / 'rehearsal'} is in use by pid {os.getpid()}" \
            in proc.stderr, proc.stderr
    finally:
        await first.stop()
    with hold(tmp_path / "rehearsal", "state dir"):  # released by stop()
        pass
