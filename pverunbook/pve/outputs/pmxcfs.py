"""pmxcfs's log (``journalctl -u pve-cluster``): did the pmxcfs running now load its database?

One reading for every caller (the health check's ``pmxcfs-journal`` facts, the corosync
journal's ``pmxcfs_log`` facts and its verdict), so a stale failure cannot count in one place
and not in another.

Only the lines of the last pmxcfs process (``pmxcfs[PID]:``) count: ``journalctl -b`` (or a
longer window) keeps the lines of an earlier start whose load failed, and pmxcfs.c ``main``
exits when ``memdb_open`` fails, so a later pid is a later start that got past the load.
Message texts: pve-cluster src/pmxcfs database.c ``bdb_backend_load_index`` /
``bdb_backend_load`` and memdb.c ``memdb_open``, pmxcfs.c ``main``; SQLite's own errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: pmxcfs's own words for a database it cannot load (database.c ``bdb_backend_load_index`` and
#: ``memdb_open``; pmxcfs.c ``main``): SQLite's integrity_check passes some of these trees.
_DB_BAD = re.compile(r"DB load failed|inode has no name|directory inode contains data|"
                     r"missing directory inode|memdb_open failed|database disk image is "
                     r"malformed|file is not a database|SQLITE_CORRUPT|SQLITE_IOERR|"
                     r"disk I/O error")
_DB_IO = re.compile(r"IOERR|disk I/O error")
#: journalctl's tag of a pmxcfs line: ``Dec 06 10:00:01 pve001 pmxcfs[812]: ...``
_PMXCFS_PID = re.compile(r"\bpmxcfs\[(\d+)\]:")


@dataclass(frozen=True)
class DbLoad:
    """What the current pmxcfs run said about loading its database.

    ``bad`` and ``io`` are ``(line number, line)`` pairs (1-based in the text given).
    """

    bad: tuple[tuple[int, str], ...]
    io: tuple[tuple[int, str], ...]
    lines: int  # non-empty lines of the current run (all lines when no pid is shown)

    @property
    def failed(self) -> bool:
        """The database would not load: a load failure that is not only a disk I/O error
        (those are the disk's fault, told apart as ``io_error``)."""
        return bool(self.bad) and len(self.io) < len(self.bad)

    @property
    def io_error(self) -> bool:
        return bool(self.io)


def current_run(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The ``(lineno, line)`` pairs of the last pmxcfs process; lines of other programs stay.

    No ``pmxcfs[PID]:`` tag at all (a bare paste): every line counts.
    """
    pids = [m.group(1) for _, ln in lines if (m := _PMXCFS_PID.search(ln))]
    if not pids:
        return lines
    return [(i, ln) for i, ln in lines
            if (m := _PMXCFS_PID.search(ln)) is None or m.group(1) == pids[-1]]


def db_load(text: str) -> DbLoad:
    """Read ``text`` (a pve-cluster journal, alone or mixed with corosync's) for load failures
    of the pmxcfs running now."""
    lines = [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    now = current_run(lines)
    bad = tuple((i, ln) for i, ln in now if _DB_BAD.search(ln))
    io = tuple((i, ln) for i, ln in bad if _DB_IO.search(ln))
    return DbLoad(bad=bad, io=io, lines=len(now))
