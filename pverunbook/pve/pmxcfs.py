"""Read, extract and create pmxcfs databases (``/var/lib/pve-cluster/config.db``).

pmxcfs keeps all of ``/etc/pve`` in one SQLite table (pve-cluster ``database.c``)::

    tree(inode, parent, version, writer, mtime, type, name, data)

``type`` is DT_DIR (4) or DT_REG (8); inode 0 is the root directory, and a row with inode 0
named ``__version__`` holds the database version.  When the cluster filesystem is broken this
file (or a ``config-<epoch>.sql.gz`` backup made by ``sqlite3 config.db .dump | gzip``) is the
only copy of every VM config, so these helpers read it without ever writing to it.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

DT_DIR = 4
DT_REG = 8
ROOT_INODE = 0
VERSION_NAME = "__version__"

SCHEMA = (
    "CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL, "
    "version INTEGER NOT NULL, writer INTEGER NOT NULL, mtime INTEGER NOT NULL, "
    "type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB)"
)


class PmxcfsError(ValueError):
    """The database cannot be read or written as asked (message says why)."""


def _is_dump(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".sql.gz") or name.endswith(".sql") or name.endswith(".gz")


def _load_dump(path: Path) -> sqlite3.Connection:
    """Load an SQL text dump into an in-memory database (the backup is never modified)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise PmxcfsError(f"{path}: damaged gzip data ({exc})") from exc
    try:
        script = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PmxcfsError(f"{path}: dump is not UTF-8 SQL text") from exc
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(script)
    except sqlite3.Error as exc:
        conn.close()
        raise PmxcfsError(f"{path}: not a valid SQL dump ({exc})") from exc
    return conn


def _open(path: str | os.PathLike[str]) -> sqlite3.Connection:
    p = Path(path)
    if not p.exists():
        raise PmxcfsError(f"{p}: no such file")
    if p.is_dir():
        raise PmxcfsError(f"{p}: is a directory, expected config.db or a .sql.gz dump")
    with p.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        # mode=ro still reads a -wal file beside it (needs the -shm, which sqlite manages).
        uri = p.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise PmxcfsError(f"{p}: cannot open read-only ({exc})") from exc
        return conn
    if _is_dump(p) or head[:2] == b"\x1f\x8b" or head.lstrip().upper().startswith(b"PRAGMA"):
        return _load_dump(p)
    return _load_dump(p)


def _rows(conn: sqlite3.Connection, path: Path) -> list[tuple[int, int, int, str, bytes | None]]:
    try:
        cur = conn.execute("SELECT inode, parent, type, name, data FROM tree")
        return [(int(a), int(b), int(c), str(d), e) for a, b, c, d, e in cur.fetchall()]
    except sqlite3.Error as exc:
        raise PmxcfsError(f"{path}: no pmxcfs 'tree' table ({exc})") from exc


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise PmxcfsError(f"unsafe file name {name!r} in database")


def _walk(rows: list[tuple[int, int, int, str, bytes | None]]) -> Iterator[tuple[str, int, bytes]]:
    """Yield (relative path, type, data) for every reachable entry, parents first."""
    children: dict[int, list[tuple[int, int, str, bytes | None]]] = {}
    for inode, parent, typ, name, data in rows:
        if inode == ROOT_INODE:
            continue  # the root dir / __version__ row
        children.setdefault(parent, []).append((inode, typ, name, data))
    seen: set[int] = set()
    stack: list[tuple[int, str]] = [(ROOT_INODE, "")]
    while stack:
        inode, prefix = stack.pop()
        for child, typ, name, data in sorted(children.get(inode, []), key=lambda r: r[2]):
            _check_name(name)
            if child in seen:
                raise PmxcfsError(f"loop in database at inode {child}")
            seen.add(child)
            rel = f"{prefix}{name}"
            yield rel, typ, bytes(data or b"")
            if typ == DT_DIR:
                stack.append((child, rel + "/"))


def read_tree(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """Map every regular file in a config.db or .sql(.gz) dump to its contents.

    Keys are relative paths such as ``nodes/pve001/qemu-server/108.conf``.
    """
    conn = _open(path)
    try:
        rows = _rows(conn, Path(path))
    finally:
        conn.close()
    return {rel: data for rel, typ, data in _walk(rows) if typ == DT_REG}


def list_dirs(path: str | os.PathLike[str]) -> list[str]:
    """Relative paths of all directories in the database (empty ones included)."""
    conn = _open(path)
    try:
        rows = _rows(conn, Path(path))
    finally:
        conn.close()
    return [rel for rel, typ, _ in _walk(rows) if typ == DT_DIR]


def extract(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the database's tree below ``out_dir`` and return the files written.

    Files under ``priv/`` get mode 0600 (keys, tokens), others 0640, as pmxcfs shows them.
    Names containing ``/`` or ``..`` are refused so a crafted database cannot write elsewhere.
    """
    conn = _open(db_path)
    try:
        rows = _rows(conn, Path(db_path))
    finally:
        conn.close()
    entries = list(_walk(rows))  # validates every name before anything is written
    root = Path(out_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for rel, typ, data in entries:
        target = (root / rel).resolve()
        if root != target and root not in target.parents:
            raise PmxcfsError(f"refusing to write {rel!r} outside {root}")
        if typ == DT_DIR:
            target.mkdir(parents=True, exist_ok=True)
            continue
        if typ != DT_REG:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o600 if PurePosixPath(rel).parts[0] == "priv" else 0o640
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(target, mode)
        written.append(target)
    return written


def create_db(
    path: str | os.PathLike[str], files: dict[str, bytes], *, mtime: int | None = None
) -> None:
    """Create a pmxcfs-schema database holding ``files`` (used by the simulator and tests).

    Directories are created for every path prefix; each row gets a fresh version number like
    pmxcfs would assign, and the ``__version__`` row carries the highest one.
    """
    p = Path(path)
    if p.exists():
        raise PmxcfsError(f"{p}: already exists; refusing to overwrite a database")
    now = int(time.time()) if mtime is None else mtime
    conn = sqlite3.connect(p)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(SCHEMA)
        dirs: dict[str, int] = {"": ROOT_INODE}
        next_inode = 1
        version = 0
        rows: list[tuple[int, int, int, int, int, int, str, bytes | None]] = []
        for rel in sorted(files):
            parts = PurePosixPath(rel).parts
            if not parts or rel.startswith("/"):
                raise PmxcfsError(f"bad path {rel!r}; use relative paths like nodes/x/y.conf")
            for name in parts:
                _check_name(name)
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    version += 1
                    dirs[d] = next_inode
                    parent = dirs["/".join(parts[: i - 1])]
                    rows.append((next_inode, parent, version, 0, now, DT_DIR, parts[i - 1], None))
                    next_inode += 1
            version += 1
            parent = dirs["/".join(parts[:-1])]
            rows.append((next_inode, parent, version, 0, now, DT_REG, parts[-1], files[rel]))
            next_inode += 1
        rows.insert(0, (ROOT_INODE, ROOT_INODE, version, 0, now, DT_DIR, VERSION_NAME, None))
        conn.executemany("INSERT INTO tree VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    finally:
        conn.close()
    os.chmod(p, 0o600)


def dump_sql_gz(db_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write ``sqlite3 config.db .dump | gzip`` equivalent (Proxmox's own backup format)."""
    conn = _open(db_path)
    try:
        text = "\n".join(conn.iterdump()) + "\n"
    finally:
        conn.close()
    target = Path(out)
    with gzip.open(target, "wb") as fh:
        fh.write(text.encode("utf-8"))
    return target
