"""The "next:" lines of a headless check are commands that work as printed: they carry the
``--state-dir`` the check was given (without it the next runbook landed on another, fresh
simulated cluster), and, with no terminal, the ``--confirm`` answers the next runbook will ask
for are named under it (typed as printed, it stopped at its first question, exit 1)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_next_lines_carry_the_state_dir_and_name_the_confirms(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    env.pop("PVERUNBOOK_STATE_DIR", None)
    r = subprocess.run([sys.executable, "-m", "pverunbook", "check", "--headless",
                        "--state-dir", str(state)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 3, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stdout.splitlines()
    nexts = [i for i, line in enumerate(lines) if line.strip().startswith("next: ")]
    assert nexts, r.stdout[-3000:]
    suffix = f" --state-dir {shlex.quote(str(state))}"
    for i in nexts:
        assert lines[i].endswith(suffix), lines[i]
    vm = next(i for i in nexts if "vm-config-recovery" in lines[i])
    hint = lines[vm + 1].strip()
    assert hint.startswith("(no terminal answers its questions: add --confirm "), hint
    assert "--confirm nyc" in hint and hint.endswith("or run it at a terminal)"), hint
    # a runbook that asks nothing gets no such line
    triage = next(i for i in nexts if "network-triage" in lines[i])
    assert not lines[triage + 1].strip().startswith("(no terminal"), lines[triage + 1]
