"""Helpers shared by the lab's shims (tests/integration/lab_shims/*), which run inside a node.

The lab copies this directory to ``<lab>/shims`` and bind-mounts it over ``/usr/local/sbin``
in every node, with ``lab.json`` beside it: the pmxcfs binary and version, a copy of the
``pverunbook`` package (``repo``, for ``qm showcmd``) and the cluster name, all inside the
lab's directory (a node's ``/root`` is its own, so nothing may live under the machine's
/root). Nothing here runs on the operator's side.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONF: dict[str, str] = json.loads((HERE / "lab.json").read_text())
UNITS = Path("/run/lab-units")


def note(tool: str, what: str) -> None:
    """Every shim says on stderr that it is one, and what it stands for."""
    print(f"{tool}: lab shim ({what})", file=sys.stderr)


def nodename() -> str:
    return socket.gethostname()


def pidfile(unit: str) -> Path:
    return UNITS / f"{unit}.pid"


def alive(pid: int, comm: str = "") -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    if state == "Z":
        return False
    if not comm:
        return True
    try:  # the process may end between the two reads (ESRCH on a /proc file of a dead pid)
        return Path(f"/proc/{pid}/comm").read_text().strip() == comm
    except OSError:
        return False


def unit_pid(unit: str, comm: str) -> int:
    try:
        pid = int(pidfile(unit).read_text())
    except (OSError, ValueError):
        return 0
    return pid if alive(pid, comm) else 0


def spawn(unit: str, argv: list[str], log: str, journal: str | None = None) -> int:
    """Start a daemon detached from the caller (its own session, stdio to ``log``).

    With ``journal`` (the syslog tag), its output goes through a small logger that writes
    each line the way journalctl prints it (``Dec 06 14:21:13 alpha pmxcfs[123]: ...``), so
    the journalctl shim can print and filter it by time as the real one does."""
    UNITS.mkdir(parents=True, exist_ok=True)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        if journal is None:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, close_fds=True)
        else:
            r, w = os.pipe()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=w, stderr=w,
                                    start_new_session=True, close_fds=True)
            os.close(w)
            subprocess.Popen([sys.executable, __file__, log, journal, str(proc.pid)], stdin=r,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True, close_fds=True)
            os.close(r)
    pidfile(unit).write_text(f"{proc.pid}\n")
    (UNITS / f"{unit}.since").write_text(time.strftime("%a %Y-%m-%d %H:%M:%S UTC"))
    return proc.pid


def _journal_logger(log: str, tag: str, pid: str) -> None:
    host = socket.gethostname()
    with open(log, "a", encoding="utf-8", errors="replace") as out:
        for line in sys.stdin.buffer:
            stamp = time.strftime("%b %d %H:%M:%S")
            out.write(f"{stamp} {host} {tag}[{pid}]: "
                      f"{line.decode('utf-8', 'replace').rstrip()}\n")
            out.flush()


def terminate(pid: int, comm: str, grace: float) -> bool:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL (systemd's stop with KillMode=mixed).
    True when it ended within the grace time."""
    if not alive(pid, comm):
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace
    while alive(pid, comm) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not alive(pid, comm):
        return True
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(200):
        if not alive(pid, comm):
            break
        time.sleep(0.05)
    return False


def pve_mounted() -> bool:
    """Whether /etc/pve is a FUSE mount in this node's mount namespace."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == "/etc/pve" and parts[2].startswith("fuse"):
            return True
    return False


if __name__ == "__main__":
    _journal_logger(*sys.argv[1:4])
