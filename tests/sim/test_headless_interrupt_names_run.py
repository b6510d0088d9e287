"""A headless run stopped by Ctrl-C (or SIGTERM/SIGHUP) ends with the command that continues
it. It printed ``pverunbook run --resume RUN`` with ``RUN`` left as a placeholder: at 3 a.m.
the operator had to scroll back a hundred lines of node output for the run id."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_resume_line_names_the_run(tmp_path: Path, sig: signal.Signals) -> None:
    env = dict(os.environ, PVERUNBOOK_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(ROOT),
               TMPDIR=str(tmp_path))
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pverunbook", "rehearse", "network-triage", "--headless"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    assert proc.stdout is not None
    run_id = ""
    seen: list[str] = []
    try:
        for line in proc.stdout:  # step 3 samples the knet counters 60 s apart: stop it there
            seen.append(line)
            found = re.search(r"\(run (\S+)\)", line)
            if found and not run_id:
                run_id = found.group(1)
            if "$ sleep 60" in line:
                break
        else:
            pytest.fail("the run ended before its step 3:\n" + "".join(seen)[-3000:])
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert run_id, "".join(seen)[:2000]
    # the subcommand typed (rehearse), not `run`: a run --resume of a rehearsal works too, but
    # the operator is told the command of the mode they are in
    assert f"`pverunbook rehearse --resume {run_id}`" in err, err
    assert "--resume RUN" not in err, err
