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
import zlib
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


#: Bounds on what is read, far above what pmxcfs itself stores (pve-cluster memdb.h limits a
#: file to 1 MiB and the whole tree to a few hundred MiB): a crafted or damaged database or a
#: gzip bomb is refused before it can exhaust memory.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_NAME_CHARS = 255
#: An SQL dump larger than this (after gunzip) is refused.
MAX_DUMP_BYTES = 2 * MAX_TOTAL_BYTES

Row = tuple[int, int, int, str, bytes | None]


def _is_dump(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".sql.gz") or name.endswith(".sql") or name.endswith(".gz")


def _read_dump_bytes(path: Path) -> bytes:
    """The dump's SQL text as bytes, gunzipped, never more than ``MAX_DUMP_BYTES``."""
    with path.open("rb") as fh:
        head = fh.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                raw = gz.read(MAX_DUMP_BYTES + 1)
        else:
            with path.open("rb") as fh:
                raw = fh.read(MAX_DUMP_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a stream damaged inside a deflate block raises zlib.error.
        raise PmxcfsError(f"{path}: damaged gzip data ({exc}); take another copy of the "
                          "dump") from exc
    if len(raw) > MAX_DUMP_BYTES:
        raise PmxcfsError(f"{path}: dump is larger than {MAX_DUMP_BYTES >> 20} MiB; this is not "
                          "a pmxcfs backup (they are a few MiB at most)")
    return raw


def _load_dump(path: Path) -> list[Row]:
    """The ``tree`` rows of an SQL text dump, parsed as data: nothing in it is executed."""
    from pverunbook.pve.sqldump import DumpError, parse_tree_dump

    raw = _read_dump_bytes(path)
    try:
        script = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PmxcfsError(f"{path}: dump is not UTF-8 SQL text (byte {exc.start}); expected "
                          "`sqlite3 config.db .dump` output, optionally gzipped") from exc
    try:
        table = parse_tree_dump(script)
    except DumpError as exc:
        raise PmxcfsError(f"{path}:{exc.line}: {exc.message}") from exc
    return [_row(values, table.columns, f"{path}:{line}") for line, values in table.rows]


def _row(values: tuple[object, ...] | dict[str, object], columns: tuple[str, ...],
         where: str) -> Row:
    """One validated row: integer inode/parent/type, a short text name, bytes or NULL data."""
    if isinstance(values, tuple):
        if len(values) != len(columns):
            raise PmxcfsError(f"{where}: row has {len(values)} values, the tree table "
                              f"{len(columns)} columns")
        values = dict(zip(columns, values, strict=True))
    out: list[object] = []
    for col in ("inode", "parent", "type"):
        v = values.get(col)
        if isinstance(v, bool) or not isinstance(v, int):
            raise PmxcfsError(f"{where}: column {col} must be an integer, got "
                              f"{_kind(v)}; this is not a pmxcfs tree row")
        out.append(v)
    name = values.get("name")
    if isinstance(name, bytes):
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            name = None
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise PmxcfsError(f"{where}: column name must be text of at most {MAX_NAME_CHARS} "
                          f"characters, got {_kind(name)}")
    data = values.get("data")
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogateescape")
    if data is not None and not isinstance(data, bytes):
        raise PmxcfsError(f"{where}: column data must be a blob, text or NULL, got "
                          f"{_kind(data)}")
    if data is not None and len(data) > MAX_FILE_BYTES:
        raise PmxcfsError(f"{where}: file {name!r} is {len(data)} bytes, more than "
                          f"{MAX_FILE_BYTES >> 20} MiB; refusing it")
    return (int(out[0]), int(out[1]), int(out[2]), name, data)  # type: ignore[call-overload]


def _kind(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"a blob of {len(value)} bytes"
    if isinstance(value, str):
        return f"text {value[:20]!r}" + ("..." if len(value) > 20 else "")
    return f"{type(value).__name__} {value!r}"[:60]


def _open(path: str | os.PathLike[str]) -> sqlite3.Connection | list[Row]:
    """A read-only connection to a config.db, or the rows of an SQL dump (parsed as data)."""
    p = Path(path)
    if not p.exists():
        raise PmxcfsError(f"{p}: no such file")
    if p.is_dir():
        raise PmxcfsError(f"{p}: is a directory, expected config.db or a .sql.gz dump")
    try:
        with p.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise PmxcfsError(f"{p}: cannot read ({exc.strerror})") from exc
    if head.startswith(b"SQLite format 3"):
        # mode=ro still reads a -wal file beside it (needs the -shm, which sqlite manages).
        uri = p.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise PmxcfsError(f"{p}: cannot open read-only ({exc})") from exc
        return conn
    return _load_dump(p)


def _db_rows(conn: sqlite3.Connection, path: Path) -> list[Row]:
    """The tree rows of a config.db, sizes checked before any value is loaded."""
    try:
        cols = [r[1] for r in conn.execute("SELECT * FROM pragma_table_info('tree')")]
        if not {"inode", "parent", "type", "name", "data"} <= set(cols):
            raise PmxcfsError(f"{path}: no pmxcfs 'tree' table (inode, parent, type, name, "
                              "data); is this /var/lib/pve-cluster/config.db?")
        (count,) = conn.execute("SELECT count(*) FROM tree").fetchone()
        if count > MAX_ROWS:
            raise PmxcfsError(f"{path}: {count} rows, more than pmxcfs ever stores; refusing")
        big = conn.execute(
            "SELECT rowid, length(CAST(name AS BLOB)), length(CAST(data AS BLOB)) FROM tree "
            "WHERE length(CAST(name AS BLOB)) > ? OR length(CAST(data AS BLOB)) > ? LIMIT 1",
            (MAX_NAME_CHARS * 4, MAX_FILE_BYTES)).fetchone()
        if big is not None:
            raise PmxcfsError(f"{path}: row {big[0]} holds a value of "
                              f"{max(big[1] or 0, big[2] or 0)} bytes, more than pmxcfs stores; "
                              "refusing to load it")
        (total,) = conn.execute("SELECT total(length(CAST(data AS BLOB))) FROM tree").fetchone()
        if total > MAX_TOTAL_BYTES:
            raise PmxcfsError(f"{path}: {int(total)} bytes of file data, more than pmxcfs "
                              "stores; refusing")
        cur = conn.execute("SELECT rowid, inode, parent, type, name, data FROM tree")
        return [_row({"inode": a, "parent": b, "type": c, "name": d, "data": e},
                     ("inode", "parent", "type", "name", "data"), f"{path}: row {rid}")
                for rid, a, b, c, d, e in cur]
    except sqlite3.Error as exc:
        raise PmxcfsError(f"{path}: cannot read the pmxcfs 'tree' table ({exc})") from exc


def _rows(path: str | os.PathLike[str]) -> list[Row]:
    """The tree rows; PmxcfsError when there are none (an empty file is no backup)."""
    opened = _open(path)
    if isinstance(opened, list):
        rows = opened
    else:
        try:
            rows = _db_rows(opened, Path(path))
        finally:
            opened.close()
    if not rows:
        raise PmxcfsError(f"{path}: holds no pmxcfs tree rows (empty, or not a config.db/dump)")
    return rows


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise PmxcfsError(f"unsafe file name {name!r} in database")


def _walk(rows: list[Row]) -> Iterator[tuple[str, int, bytes]]:
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
    rows = _rows(path)
    return {rel: data for rel, typ, data in _walk(rows) if typ == DT_REG}


def list_dirs(path: str | os.PathLike[str]) -> list[str]:
    """Relative paths of all directories in the database (empty ones included)."""
    rows = _rows(path)
    return [rel for rel, typ, _ in _walk(rows) if typ == DT_DIR]


def extract(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the database's tree below ``out_dir`` and return the files written.

    Files under ``priv/`` get mode 0600 (keys, tokens), others 0640, as pmxcfs shows them.
    Names containing ``/`` or ``..`` are refused so a crafted database cannot write elsewhere.
    """
    rows = _rows(db_path)
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
    if isinstance(conn, list):
        raise PmxcfsError(f"{db_path}: is already an SQL dump, not a config.db")
    try:
        text = "\n".join(conn.iterdump()) + "\n"
    finally:
        conn.close()
    target = Path(out)
    with gzip.open(target, "wb") as fh:
        fh.write(text.encode("utf-8"))
    return target
