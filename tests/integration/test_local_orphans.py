"""``--local`` commands die with pverunbook: SIGTERM, SIGHUP (caught: the step is cancelled and
the journal ends with ``run_finished: interrupted``) and SIGKILL (not catchable: the watcher
process of transport/reaper.py kills the command's process group when pverunbook's pipe closes).

A real pverunbook process runs a step whose command starts ``sleep`` in the background and
waits; the test kills pverunbook and then checks that the ``sleep`` is gone.
Kind (found by trying it): commands run in a session of their own so timeouts can kill them
whole, which also hides them from the signals that end pverunbook. Further real inputs of the
kind: prctl(2)'s PR_SET_PDEATHSIG is cleared in children, so it cannot cover a shell's children
(https://man7.org/linux/man-pages/man2/prctl.2.html; a sandbox hit exactly that: descendants
outlived a SIGKILLed supervisor, https://github.com/multikernel/sandlock/issues/238), and CBMC
left its solver processes running after a SIGKILL (https://github.com/diffblue/cbmc/pull/8900).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pid: int, limit: float = 10.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_local_command_dies_with_pverunbook(tmp_path: Path, sig: signal.Signals) -> None:
    pidfile = tmp_path / "sleep.pid"
    book = tmp_path / "book.toml"
    book.write_text(f'''id = "orphan"
title = "Orphan"
[[steps]]
id = "wait"
title = "Wait"
kind = "check"
targets = "local"
timeout = 600
commands = "sleep 300 & echo $! > {pidfile}; wait"
''')
    env = {**os.environ, "PYTHONPATH": str(REPO), "PVERUNBOOK_STATE_DIR": str(tmp_path / "s"),
           "PVERUNBOOK_DATA_DIR": str(tmp_path / "d")}
    journal = tmp_path / "run.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "pverunbook", "run", str(book), "--local",
                             "--headless", "--journal", str(journal)],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sleep_pid = 0
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not sleep_pid:
            if pidfile.exists() and pidfile.read_text().strip():
                sleep_pid = int(pidfile.read_text())
            time.sleep(0.05)
        assert sleep_pid and _alive(sleep_pid), "the step's command did not start"
        proc.send_signal(sig)
        rc = proc.wait(timeout=30)
        assert _wait_gone(sleep_pid), f"sleep {sleep_pid} outlived pverunbook ({sig.name})"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if sleep_pid and _alive(sleep_pid):
            os.kill(sleep_pid, signal.SIGKILL)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if sig is signal.SIGKILL:
        assert rc == -signal.SIGKILL
        return
    assert rc == 128 + sig, err
    assert f"stopped by {sig.name}" in err and "Traceback" not in err
    last = json.loads(journal.read_text().splitlines()[-1])
    assert last["kind"] == "run_finished" and last["status"] == "interrupted"
