"""``/proc/<pmxcfs pid>/fd``: the files pmxcfs keeps open, as a real node shows them.

pmxcfs opens config.db once at start and keeps it (database.c ``bdb_backend_open``, WAL mode:
``config.db``, ``config.db-wal``, ``config.db-shm``) beside ``/dev/fuse``. After ``rm
config.db*`` procfs shows each as a link to ``<path> (deleted)`` and reading the link gives
the unlinked file (proc(5), /proc/pid/fd). That is how an operator saves a database deleted
under a running pmxcfs (the diagnosis's ``db-deleted-held``), so the rehearsal shows the same:
the database's content is the node's in-memory tree (:class:`~pverunbook.sim.memdb.MemDB`),
the WAL and shm files are empty (the simulated pmxcfs saves whole databases).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode

DB = "/var/lib/pve-cluster/config.db"
_FD = re.compile(r"/proc/(\d+)/fd(?:/(\d+))?")
_PID = re.compile(r"/proc/(\d+)(/cmdline)?")
#: fd number → what pmxcfs has open there (0-2 are /dev/null under systemd)
_OPEN = {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null", "3": "/dev/fuse",
         "4": DB, "5": DB + "-wal", "6": DB + "-shm"}


def _deleted(node: SimNode) -> bool:
    """config.db is gone from its path, or the path holds another file than pmxcfs opened."""
    try:
        ino = node.host(DB).stat().st_ino
    except FileNotFoundError:
        return True
    return node.pmxcfs.db_ino is not None and ino != node.pmxcfs.db_ino


def _table(node: SimNode, pid: str) -> dict[str, str] | None:
    p = node.pmxcfs
    if p.state != "running" or str(p.pid) != pid:
        return None
    gone = _deleted(node)
    return {fd: f"{t} (deleted)" if gone and t.startswith(DB) else t
            for fd, t in _OPEN.items()}


def listing(node: SimNode, resolved: str) -> list[str] | None:
    """The fd numbers for ``/proc/<pmxcfs pid>/fd`` (and ``cmdline``, ``fd`` for
    ``/proc/<pmxcfs pid>``); None for any other path."""
    pid = _PID.fullmatch(resolved)
    if pid and pid.group(2) is None and _table(node, pid.group(1)) is not None:
        return ["cmdline", "fd"]
    m = _FD.fullmatch(resolved)
    if not m or m.group(2) is not None:
        return None
    table = _table(node, m.group(1))
    return sorted(table, key=int) if table is not None else None


def link(node: SimNode, resolved: str) -> str | None:
    """What ``readlink /proc/<pmxcfs pid>/fd/N`` prints; None for any other path."""
    m = _FD.fullmatch(resolved)
    if not m or m.group(2) is None:
        return None
    table = _table(node, m.group(1))
    return table.get(m.group(2)) if table is not None else None


def content(node: SimNode, resolved: str) -> bytes | None:
    """What reading the link gives: the database pmxcfs holds (and pmxcfs's ``cmdline``), or
    ``/proc/<pid>/cmdline`` of another process the node runs; None for any other path."""
    pid = _PID.fullmatch(resolved)
    if pid and pid.group(2) and _table(node, pid.group(1)) is not None:
        return b"/usr/bin/pmxcfs\0"
    if pid and pid.group(2):  # any other process the node runs: its argv, NUL-separated
        proc = node.procs.get(int(pid.group(1)))
        if proc is not None and not node.host(resolved).exists():
            return b"".join(a.encode() + b"\0" for a in proc.argv)
        return None
    target = link(node, resolved)
    if target is None:
        return None
    if not target.startswith(DB) or target.startswith(DB + "-"):
        return b""
    memdb = node.pmxcfs.memdb
    if memdb is None:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.db"
        memdb.save(path)
        return path.read_bytes()
