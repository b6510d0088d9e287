"""A terminal that does not read must not stall the engine (pverunbook/termout.py).

A headless rehearsal whose one step prints ~2 MB on every node runs with its stdout on a pipe
nobody reads until the run's journal says it ended. Before the writer thread, the first full
pipe buffer (64 KiB) blocked ``write()`` inside the event loop: the engine stopped, the
journal never reached ``run_finished``, and a step's timeout fired for a command that was
done. Then the whole output is read: nothing may be dropped, the exit status is 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

RUNBOOK = '''
id = "flood"
title = "Flood the terminal"
version = "1"
summary = "One read-only step whose output is far larger than a pipe's buffer."

[[steps]]
id = "flood"
title = "Print 200000 numbered lines on every node"
kind = "check"
targets = "all"
commands = ["seq 1 200000"]
timeout = 120
'''
#: How long the run may take with nobody reading its output (it takes seconds).
BOUND_S = 240


def finished(state: Path) -> bool:
    for journal in (state / "runs").glob("*.jsonl"):
        for line in journal.read_text(errors="replace").splitlines():
            if '"run_finished"' in line:
                return True
    return False


def test_a_terminal_that_does_not_read_does_not_stall_the_run(tmp_path: Path) -> None:
    book = tmp_path / "flood.toml"
    book.write_text(RUNBOOK)
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pverunbook", "rehearse", str(book), "--headless",
         "--scenario", "three-node", "--state-dir", str(state)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + BOUND_S
        while not finished(state):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, (
                "the run did not end while its stdout was not read: a write to the terminal "
                "blocked the engine")
            time.sleep(0.5)
        out, err = proc.communicate(timeout=BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    for node in ("ryanrishi", "pve001", "pve002"):
        lines = [ln for ln in text.splitlines() if ln.lstrip().startswith(f"{node} | ")]
        assert len(lines) == 200000, (node, len(lines))
        assert lines[-1].endswith("| 200000"), lines[-1]
    events = [json.loads(x) for j in (state / "runs").glob("*.jsonl")
              for x in j.read_text().splitlines() if x.strip()]
    outcomes = [e for e in events if e.get("kind") == "command_finished"]
    assert len(outcomes) == 3, outcomes
    assert all(e["exit_status"] == 0 and not e["timed_out"] for e in outcomes), outcomes
