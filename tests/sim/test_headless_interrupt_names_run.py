"""A headless run stopped by Ctrl-C (or SIGTERM/SIGHUP) ends with the command that continues
it. It printed ``pverunbook run --resume RUN`` with ``RUN`` left as a placeholder: at 3 a.m.
the operator had to scroll back a hundred lines of node output for the run id."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
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
    assert f"`pverunbook rehearse --resume {run_id} --headless`" in err, err
    assert "--resume RUN" not in err, err


CUT = ('id = "cut"\ntitle = "Cut"\n'
       '[[steps]]\nid = "cut"\ntitle = "Cut"\ncommands = ["true"]\ndestructive = true\n'
       'confirm = "cluster"\nno_backup_reason = "a test"\n')


def test_ctrl_c_at_a_typed_prompt_ends_the_run(tmp_path: Path) -> None:
    """Ctrl-C at "type 'nyc' to go on" printed "run interrupted", then the process sat in
    readline until Enter: asyncio.run waited for the thread reading the terminal. It ends
    now, exit 130, and the line says to go on headless."""
    import pty  # noqa: F401 - a terminal is what makes the headless run ask

    rb = tmp_path / "cut.toml"
    rb.write_text(CUT, encoding="utf-8")
    env = dict(os.environ, PVERUNBOOK_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(ROOT),
               TMPDIR=str(tmp_path))
    env.pop("PYTHONWARNINGS", None)
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pverunbook", "rehearse", str(rb), "--headless"],
        env=env, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    os.close(slave)
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        buf = ""
        # stdout is a pipe and stdin the terminal: the question is on stderr (the process has
        # no controlling terminal to open). The prompt has no newline: read by chars
        while "type 'nyc'" not in buf.lower():
            ch = proc.stderr.read(1)
            if not ch:
                pytest.fail("the run ended before its prompt:\n" + buf[-3000:])
            buf += ch
        seen.append(buf)
        time.sleep(1)  # the prompt is written just before the line is read: be in that read
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)  # nothing is typed: Enter is never pressed
        except subprocess.TimeoutExpired:
            pytest.fail("Ctrl-C at the prompt left the process waiting for a line")
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "--headless`" in err, err
