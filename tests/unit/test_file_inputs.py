"""Files that are not regular files, and broken gzip streams: refused at once, by name.

``validate``, ``corosync check/set``, ``vm-config``, ``plan --cluster``, ``pmxcfs extract`` and
``journal show`` blocked forever on a FIFO; ``vm-config --from-cmdline /dev/zero`` ran out of
memory; a ``.sql.gz`` with a broken stream ended in "could not handle this input". Run through
the real CLI in a subprocess, with a generous timeout as a hang guard only.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook.runbook.readfile import read_capped

REPO = Path(__file__).resolve().parents[2]

COMMANDS = [
    ["validate", "{f}"],
    ["corosync", "check", "{f}"],
    ["corosync", "set", "{f}", "token=3000"],
    ["vm-config", "--from-cmdline", "{f}"],
    ["pmxcfs", "extract", "{f}"],
    ["plan", "--cluster", "{f}", "network-triage"],
    ["journal", "show", "{f}"],
]


def _cli(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PVERUNBOOK_STATE_DIR=str(tmp / "state"),
               PVERUNBOOK_DATA_DIR=str(tmp / "data"))
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], env=env, cwd=tmp,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)  # hang guard: a FIFO used to block forever


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_fifo_or_a_device_is_refused_by_every_file_input(
        tmp_path: Path, command: list[str], kind: str) -> None:
    if kind == "fifo":
        target = tmp_path / "input.jsonl"
        os.mkfifo(target)
        expected = "is a FIFO (named pipe), not a regular file"
    else:
        target = Path(kind)
        expected = "is a character device, not a regular file"
    proc = _cli([a.format(f=target) for a in command], tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert expected in proc.stderr and str(target) in proc.stderr, proc.stderr
    assert "could not handle this input" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_gzip_stream_is_named_as_such(tmp_path: Path) -> None:
    data = gzip.compress(b"INSERT INTO tree VALUES(1);\n" * 5000)
    broken = data[:40] + bytes(b ^ 0x55 for b in data[40:80]) + data[80:]
    dump = tmp_path / "config-1.sql.gz"
    dump.write_bytes(broken)
    proc = _cli(["pmxcfs", "extract", str(dump)], tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "damaged gzip data" in proc.stderr and str(dump) in proc.stderr, proc.stderr
    assert "could not handle this input" not in proc.stderr


def test_a_file_larger_than_its_cap_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    assert read_capped(big, 5000) == b"x" * 5000
    with pytest.raises(OSError, match="larger than 4 KiB"):
        read_capped(big, 4096)
