"""pmxcfs database: create -> read -> extract, SQL dumps, and refusing path traversal."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from pverunbook.pve.pmxcfs import (
    DT_DIR,
    DT_REG,
    PmxcfsError,
    create_db,
    dump_sql_gz,
    extract,
    list_dirs,
    read_tree,
)

FILES = {
    "corosync.conf": b"totem {\n  cluster_name: nyc\n}\n",
    "storage.cfg": b"dir: local\n\tpath /var/lib/vz\n",
    "nodes/pve001/qemu-server/108.conf": b"memory: 4096\nname: media\n",
    "nodes/ryanrishi/qemu-server/101.conf": b"memory: 2048\n",
    "priv/authkey.key": b"-----BEGIN PRIVATE KEY-----\n",
    "user.cfg": b"",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "config.db"
    create_db(path, FILES, mtime=1700000000)
    return path


def test_create_uses_pmxcfs_schema_and_wal(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cols = [r[1] for r in conn.execute("PRAGMA table_info(tree)")]
        assert cols == ["inode", "parent", "version", "writer", "mtime", "type", "name", "data"]
        rows = conn.execute("SELECT inode, parent, version, type, name FROM tree").fetchall()
    finally:
        conn.close()
    by_inode = {r[0]: r for r in rows}
    assert by_inode[0][4] == "__version__"
    assert by_inode[0][2] == max(r[2] for r in rows)  # root version is the newest
    entries = [r for r in rows if r[0] != 0]
    assert len({r[2] for r in entries}) == len(entries)  # each change got its own version
    names = {r[4]: r for r in rows}
    assert names["nodes"][3] == DT_DIR and names["nodes"][1] == 0
    conf = names["108.conf"]
    assert conf[3] == DT_REG
    parent = by_inode[conf[1]]
    assert parent[4] == "qemu-server"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_read_tree_round_trip(db: Path) -> None:
    assert read_tree(db) == FILES
    assert "nodes/pve001/qemu-server" in list_dirs(db)


def test_read_is_read_only(db: Path) -> None:
    before = db.read_bytes()
    read_tree(db)
    assert db.read_bytes() == before


def test_extract_modes_and_listing(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = extract(db, out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(FILES)
    assert (out / "nodes/pve001/qemu-server/108.conf").read_bytes() == FILES[
        "nodes/pve001/qemu-server/108.conf"]
    assert stat.S_IMODE((out / "priv/authkey.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "storage.cfg").stat().st_mode) == 0o640


def test_dump_sql_gz_round_trip(db: Path, tmp_path: Path) -> None:
    dump = dump_sql_gz(db, tmp_path / "config-1700000000.sql.gz")
    assert gzip.decompress(dump.read_bytes()).startswith(b"BEGIN TRANSACTION;")
    assert read_tree(dump) == FILES
    plain = tmp_path / "config.sql"
    plain.write_bytes(gzip.decompress(dump.read_bytes()))
    assert read_tree(plain) == FILES


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="sqlite3 CLI not installed")
def test_dump_made_by_sqlite3_cli(db: Path, tmp_path: Path) -> None:
    # exactly what Cluster.pm cfs_backup_database runs
    res = subprocess.run(["sqlite3", str(db), ".dump"], capture_output=True, check=True)
    dump = tmp_path / "config-1.sql.gz"
    dump.write_bytes(gzip.compress(res.stdout))
    assert read_tree(dump) == FILES


def test_wal_content_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "config.db"
    create_db(path, {"a.conf": b"1"})
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE tree SET data = ? WHERE name = 'a.conf'", (b"2",))
    writer.commit()
    try:
        assert Path(f"{path}-wal").stat().st_size > 0
        assert read_tree(path) == {"a.conf": b"2"}
    finally:
        writer.close()


@pytest.mark.parametrize("bad", ["..", "a/b", ".", ""])
def test_path_traversal_refused(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "evil.db"
    create_db(path, {"x": b"1"})
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO tree VALUES (99, 0, 99, 0, 0, ?, ?, ?)",
                 (DT_REG if bad != ".." else DT_DIR, bad, b"pwned"))
    conn.commit()
    conn.close()
    out = tmp_path / "out"
    with pytest.raises(PmxcfsError, match="unsafe"):
        extract(path, out)
    assert not (tmp_path / "b").exists()
    assert not out.exists() or not any(out.rglob("*"))


def test_create_refuses_bad_paths_and_overwrite(tmp_path: Path, db: Path) -> None:
    with pytest.raises(PmxcfsError):
        create_db(tmp_path / "x.db", {"../etc/passwd": b""})
    with pytest.raises(PmxcfsError):
        create_db(tmp_path / "y.db", {"/abs": b""})
    with pytest.raises(PmxcfsError, match="exists"):
        create_db(db, {})


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PmxcfsError, match="no such file"):
        read_tree(tmp_path / "nope.db")
    junk = tmp_path / "junk.sql.gz"
    junk.write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(PmxcfsError):
        read_tree(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(PmxcfsError, match="tree"):
        read_tree(other)
