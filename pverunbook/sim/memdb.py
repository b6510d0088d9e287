"""pmxcfs's in-memory tree and its SQLite file (``config.db``), as pve-cluster keeps them.

Each simulated node has its own copy, like real pmxcfs: copies agree only while the nodes
share a membership and sync. Saving writes real rows in pmxcfs's ``tree`` schema, so
``sqlite3 config.db``, ``.backup`` and the project's own pmxcfs readers see what they would on
a node.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

DT_DIR = 4
DT_REG = 8
SCHEMA = (
    "CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL, "
    "version INTEGER NOT NULL, writer INTEGER NOT NULL, mtime INTEGER NOT NULL, "
    "type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB)"
)


class MemDBError(Exception):
    """config.db cannot be read or written (not a database, wrong schema, bad rows): what
    sqlite or the row check said, as pmxcfs's ``[database] crit:`` line would.

    ``loader`` is True when SQLite read the rows but pmxcfs's loader rejects them (database.c
    ``bdb_backend_load_index``); the message is then its ``cfs_critical`` text."""

    def __init__(self, message: str, loader: bool = False) -> None:
        super().__init__(message)
        self.loader = loader


Row = tuple[int, int, int, int, int, int, "str | None", "bytes | None"]


def loader_problem(rows: list[Row]) -> str | None:
    """What pmxcfs's loader (pve-cluster src/pmxcfs/database.c ``bdb_backend_load_index``)
    says about these tree rows, in its order and words, or None when it accepts them. SQLite's
    ``PRAGMA integrity_check`` accepts every one of these trees."""
    types: dict[int, int] = {0: DT_DIR}
    names: dict[int, set[str]] = {}
    wanted: set[int] = set()
    for inode, parent, _v, _w, _m, typ, name, data in rows:
        if not name:
            return f"inode has no name (inode = {inode:016X})"
        typ &= 255
        if typ == DT_DIR and data:
            return f"directory inode contains data (inode = {inode:016X})"
        if typ not in (DT_DIR, DT_REG):
            return f"inode has unknown type (inode = {inode:016X}, type = {typ})"
        if inode == 0:
            if name != "__version__":
                return f"root inode has unexpected name '{name}'"
            continue
        if parent in types and types[parent] != DT_DIR:
            return ("parent is not a directory "
                    f"(inode = {inode:016X}, parent = {parent:016X}, name = '{name}')")
        if parent not in types:
            wanted.add(parent)
        if name in names.setdefault(parent, set()):
            return f"found entry with duplicate name '{name}'"
        names[parent].add(name)
        types[inode] = typ
        wanted.discard(inode)
    for inode in sorted(wanted):
        return f"missing directory inode (inode = {inode:016X})"
    return None


#: pmxcfs's lock directories (cfs-utils.c ``path_is_lockdir``; memdb.c registers the ones
#: made right in ``priv/lock``) and their lifetime (memdb.c ``CFS_LOCK_TIMEOUT``, 120 s).
LOCK_DIR = "priv/lock/"
LOCK_TIMEOUT = 120


def is_lockdir(rel: str) -> bool:
    """A directory right under ``priv/lock``: a cfs lock (``file-corosync_conf``…)."""
    return rel.startswith(LOCK_DIR) and len(rel) > len(LOCK_DIR) and "/" not in rel[len(LOCK_DIR):]


@dataclass
class Entry:
    inode: int
    version: int
    writer: int
    mtime: int
    is_dir: bool
    data: bytes = b""


class MemDB:
    """Path-keyed tree (``nodes/x/qemu-server/108.conf``), with pmxcfs's version counters."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.version = 0
        self.next_inode = 1
        self.mtime = 0
        #: lock directory → when this pmxcfs first saw it (memdb.c ``memdb->locks``,
        #: ``ltime``): kept in memory only, never in config.db
        self.locks: dict[str, int] = {}

    def copy(self) -> MemDB:
        other = MemDB()
        other.entries = {k: replace(v) for k, v in self.entries.items()}
        other.version, other.next_inode, other.mtime = self.version, self.next_inode, self.mtime
        other.locks = dict(self.locks)
        return other

    def see_locks(self, now: int) -> None:
        """pmxcfs opened this tree (memdb.c ``memdb_update_locks`` from ``memdb_open``): every
        lock directory it holds counts as seen now, whatever its age before."""
        self.locks = {k: now for k, e in self.entries.items() if e.is_dir and is_lockdir(k)}

    def lock_expired(self, rel: str, now: int) -> bool:
        """memdb.c ``memdb_lock_expired``: a lock not seen before is recorded now (not
        expired); one seen more than :data:`LOCK_TIMEOUT` seconds ago has expired."""
        ltime = self.locks.setdefault(rel, now)
        return now > ltime and now - ltime > LOCK_TIMEOUT

    # -- queries ---------------------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        return {k: e.data for k, e in self.entries.items() if not e.is_dir}

    def is_dir(self, rel: str) -> bool:
        return rel == "" or (rel in self.entries and self.entries[rel].is_dir)

    def exists(self, rel: str) -> bool:
        return rel == "" or rel in self.entries

    def children(self, rel: str) -> list[str]:
        prefix = f"{rel}/" if rel else ""
        return sorted(k[len(prefix):] for k in self.entries
                      if k.startswith(prefix) and "/" not in k[len(prefix):])

    # -- updates (each bumps the tree version like memdb.c) -------------------------------
    def _bump(self, mtime: int) -> int:
        self.version += 1
        self.mtime = max(self.mtime, mtime)
        return self.version

    def mkdir(self, rel: str, writer: int, mtime: int) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = Entry(self.next_inode, self._bump(mtime), writer, mtime, True)
                self.next_inode += 1
                if is_lockdir(d):
                    self.locks[d] = mtime  # memdb_mkdir: a new lock's timeout starts now

    def write(self, rel: str, data: bytes, writer: int, mtime: int) -> None:
        parent = rel.rpartition("/")[0]
        if parent:
            self.mkdir(parent, writer, mtime)
        old = self.entries.get(rel)
        inode = old.inode if old else self.next_inode
        if not old:
            self.next_inode += 1
        self.entries[rel] = Entry(inode, self._bump(mtime), writer, mtime, False, bytes(data))

    def unlink(self, rel: str, mtime: int) -> None:
        for k in [k for k in self.entries if k == rel or k.startswith(rel + "/")]:
            del self.entries[k]
            self.locks.pop(k, None)
        self._bump(mtime)

    def rename(self, src: str, dst: str, writer: int, mtime: int) -> None:
        moved = {k: v for k, v in self.entries.items() if k == src or k.startswith(src + "/")}
        for k in moved:
            del self.entries[k]
        for k in [k for k in self.entries if k == dst or k.startswith(dst + "/")]:
            del self.entries[k]
        for k, v in moved.items():
            v.version = self._bump(mtime)
            v.mtime, v.writer = mtime, writer
            self.entries[dst + k[len(src):]] = v

    # -- persistence -----------------------------------------------------------------------
    def rows(self) -> list[tuple[int, int, int, int, int, int, str, bytes | None]]:
        inodes = {"": 0}
        inodes.update({k: e.inode for k, e in self.entries.items()})
        out: list[tuple[int, int, int, int, int, int, str, bytes | None]] = [
            (0, 0, self.version, 0, self.mtime, DT_DIR, "__version__", None)]
        for k in sorted(self.entries, key=lambda p: self.entries[p].inode):
            e = self.entries[k]
            parent = inodes.get(k.rpartition("/")[0], 0)
            out.append((e.inode, parent, e.version, e.writer, e.mtime,
                        DT_DIR if e.is_dir else DT_REG, k.rpartition("/")[2],
                        None if e.is_dir else e.data))
        return out

    def save(self, path: Path) -> None:
        """Rewrite the tree table in one transaction (WAL mode, like pmxcfs).

        Raises :class:`MemDBError` when the file is not a pmxcfs database (someone wrote
        over it) or sqlite cannot write it; the file is left as it was."""
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                if new:
                    conn.execute(SCHEMA)
                with conn:
                    conn.execute("DELETE FROM tree")
                    conn.executemany("INSERT INTO tree VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     self.rows())
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise MemDBError(str(exc)) from None
        if new:
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path) -> MemDB:
        """Read a config.db. Raises :class:`MemDBError` for a file that is not a database,
        lacks the ``tree`` table or holds rows pmxcfs could not use (NULL fields, a parent
        loop)."""
        try:
            return cls._load(path)
        except sqlite3.Error as exc:
            raise MemDBError(str(exc)) from None
        except (TypeError, ValueError, KeyError) as exc:
            raise MemDBError(f"malformed tree row ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _load(cls, path: Path) -> MemDB:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(
                "SELECT inode, parent, version, writer, mtime, type, name, data FROM tree"
            ).fetchall()
        finally:
            conn.close()
        problem = loader_problem(rows)
        if problem is not None:
            raise MemDBError(problem, loader=True)
        db = cls()
        by_inode: dict[int, tuple[int, str]] = {}
        for inode, parent, version, _w, mtime, _t, name, _d in rows:
            if inode == 0:
                db.version, db.mtime = int(version), int(mtime)
            else:
                by_inode[int(inode)] = (int(parent), str(name))

        def path_of(inode: int, depth: int = 0) -> str:
            parent, name = by_inode[inode]
            if parent == 0 or depth > 64 or parent not in by_inode:
                return name
            return f"{path_of(parent, depth + 1)}/{name}"

        for inode, _p, version, writer, mtime, typ, _n, data in rows:
            if inode == 0:
                continue
            db.entries[path_of(int(inode))] = Entry(int(inode), int(version), int(writer),
                                                    int(mtime), int(typ) == DT_DIR,
                                                    bytes(data or b""))
            db.next_inode = max(db.next_inode, int(inode) + 1)
        return db
