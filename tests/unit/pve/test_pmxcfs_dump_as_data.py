"""A pmxcfs SQL dump is data: only the ``tree`` rows are read, nothing in it is ever executed.

Kind (reliability case ``pmxcfs-dump/attach.sql.gz``): ``executescript`` on a backup ran
``ATTACH DATABASE 'file' AS x`` and wrote that file in the operator's directory. Further real
inputs of the kind: SQLite documents that ATTACH creates the file when it does not exist
(https://www.sqlite.org/lang_attach.html), and the sqlite3 shell's ``.dump`` output this parser
must still accept is the format Proxmox's own backups use
(https://pve.proxmox.com/wiki/Proxmox_Cluster_File_System_(pmxcfs) "Recovery").
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.cli import main
from pverunbook.pve.pmxcfs import PmxcfsError, create_db, dump_sql_gz, read_tree
from pverunbook.pve.sqldump import DumpError, parse_tree_dump

DATA = Path(__file__).resolve().parents[2] / "data" / "pmxcfs"
SCHEMA = ("CREATE TABLE tree (inode INTEGER PRIMARY KEY NOT NULL, parent INTEGER NOT NULL, "
          "version INTEGER NOT NULL, writer INTEGER NOT NULL, mtime INTEGER NOT NULL, "
          "type INTEGER NOT NULL, name TEXT NOT NULL, data BLOB);\n")
HEAD = SCHEMA + "INSERT INTO tree VALUES(0,0,1,0,0,8,'__version__',NULL);\n"


def _dump(tmp_path: Path, body: str, name: str = "config-1.sql") -> Path:
    p = tmp_path / name
    p.write_text(HEAD + body)
    return p


def test_attach_case_is_refused_and_writes_nothing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    out = tmp_path / "out"
    assert main(["pmxcfs", "extract", str(DATA / "attach.sql.gz")]) == 2
    assert main(["pmxcfs", "extract", str(DATA / "attach.sql.gz"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "attach.sql.gz:3: refusing" in err and "ATTACH" in err
    assert "Traceback" not in err
    assert not (tmp_path / "ATTACK-written-by-dump.db").exists()
    assert set(tmp_path.iterdir()) == before  # nothing written, not even --out
    with pytest.raises(PmxcfsError, match="ATTACH"):
        read_tree(DATA / "attach.sql.gz")


@pytest.mark.parametrize("stmt, word", [
    ("ATTACH DATABASE 'x.db' AS evil;", "ATTACH"),
    ("ATTACH 'x.db' AS evil;", "ATTACH"),
    ("PRAGMA writable_schema=ON;", "PRAGMA"),
    ("CREATE TRIGGER t AFTER INSERT ON tree BEGIN DELETE FROM tree; END;", "CREATE TRIGGER"),
    ("CREATE VIEW v AS SELECT 1;", "CREATE VIEW"),
    ("CREATE TABLE other(x);", "'other'"),
    ("INSERT INTO other VALUES(1);", "'other'"),
    ("DELETE FROM tree;", "DELETE"),
    ("VACUUM INTO 'x.db';", "VACUUM"),
    ("INSERT INTO tree VALUES(5,0,1,0,0,8,'f',readfile('/etc/shadow'));", "not a literal"),
    ("INSERT INTO tree SELECT * FROM tree;", "VALUES"),
])
def test_anything_but_tree_rows_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           stmt: str, word: str) -> None:
    monkeypatch.chdir(tmp_path)
    p = _dump(tmp_path, stmt + "\n")
    with pytest.raises(PmxcfsError, match=r"config-1\.sql:3: ") as info:
        read_tree(p)
    assert word in str(info.value)
    assert not (tmp_path / "x.db").exists()


def test_real_sqlite3_shell_dump_round_trips(tmp_path: Path) -> None:
    """The sqlite3 shell writes PRAGMA foreign_keys=OFF, BEGIN/COMMIT and replace(...char(10))."""
    if shutil.which("sqlite3") is None:
        pytest.skip("needs the sqlite3 shell (Debian package sqlite3; .ci/run installs it)")
    files = {"nodes/pve001/qemu-server/108.conf": b"name: media\nmemory: 4096\r\n",
             "priv/x.key": bytes(range(256)), "user.cfg": b"it's\n"}
    db = tmp_path / "config.db"
    create_db(db, files, mtime=1700000000)
    # pmxcfs binds file data as text in some versions: make one row text to get replace(...).
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tree SET data = CAST(data AS TEXT) WHERE name = '108.conf'")
    conn.commit()
    conn.close()
    text = subprocess.run(["sqlite3", str(db), ".dump"], check=True, capture_output=True,
                          text=True).stdout
    assert "PRAGMA foreign_keys=OFF" in text and "char(10)" in text
    dump = tmp_path / "config-1700000000.sql.gz"
    dump.write_bytes(gzip.compress(text.encode()))
    assert read_tree(dump) == files


def test_python_iterdump_round_trips(tmp_path: Path) -> None:
    files = {"corosync.conf": b"totem {\n}\n", "nodes/a/lrm_status": b"{}"}
    db = tmp_path / "config.db"
    create_db(db, files)
    assert read_tree(dump_sql_gz(db, tmp_path / "b.sql.gz")) == files


@pytest.mark.parametrize("row, what", [
    ("(5,'x',1,0,0,8,'f',NULL)", "parent must be an integer"),
    ("(5,0,1,0,0,8.5,'f',NULL)", "type must be an integer"),
    ("(5,0,1,0,0,8,42,NULL)", "name must be text"),
    ("(5,0,1,0,0,8,'f',3.25)", "data must be a blob"),
    ("(5,0,1,0,0,8,'f')", "7 values"),
])
def test_odd_column_types_are_named(tmp_path: Path, row: str, what: str) -> None:
    p = _dump(tmp_path, f"INSERT INTO tree VALUES{row};\n")
    with pytest.raises(PmxcfsError, match=what):
        read_tree(p)


def test_odd_types_in_a_config_db_are_named(tmp_path: Path) -> None:
    db = tmp_path / "config.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tree (inode, parent, version, writer, mtime, type, name, data)")
    conn.execute("INSERT INTO tree VALUES (0, 0, 1, 0, 0, 8, '__version__', NULL)")
    conn.execute("INSERT INTO tree VALUES ('one', 0, 1, 0, 0, 8, 'a', X'00')")
    conn.commit()
    conn.close()
    with pytest.raises(PmxcfsError, match="inode must be an integer"):
        read_tree(db)


def test_huge_value_in_a_config_db_is_refused_before_loading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pverunbook.pve import pmxcfs

    monkeypatch.setattr(pmxcfs, "MAX_FILE_BYTES", 1000)
    db = tmp_path / "config.db"
    conn = sqlite3.connect(db)
    conn.execute(SCHEMA)
    conn.execute("INSERT INTO tree VALUES (0, 0, 1, 0, 0, 8, '__version__', NULL)")
    conn.execute("INSERT INTO tree VALUES (1, 0, 1, 0, 0, 8, 'big', zeroblob(5000))")
    conn.commit()
    conn.close()
    with pytest.raises(PmxcfsError, match="5000 bytes"):
        read_tree(db)


def test_gzip_bomb_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pverunbook.pve import pmxcfs

    monkeypatch.setattr(pmxcfs, "MAX_DUMP_BYTES", 100_000)
    p = tmp_path / "config-1.sql.gz"
    p.write_bytes(gzip.compress(b"-- " + b"A" * 10_000_000))
    with pytest.raises(PmxcfsError, match="larger than"):
        read_tree(p)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_dump_parser_raises_only_dump_error(text: str) -> None:
    with contextlib.suppress(DumpError):
        parse_tree_dump(HEAD + text)


_SQLISH = st.lists(st.sampled_from([
    "INSERT", "INTO", "tree", "VALUES", "(", ")", ",", ";", "'a''b'", "X'00'", "X'0'", "NULL",
    "-", "1", "2.5", "replace", "char", "CREATE", "TABLE", "PRAGMA", "foreign_keys", "=", "OFF",
    "BEGIN", "COMMIT", "ATTACH", "\"tree\"", "inode", "[x]", "/*", "*/", "--", "\n"]),
    max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_SQLISH)
def test_pmxcfs_reader_raises_only_pmxcfs_error_on_sql_like_dumps(
        tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    d = tmp_path_factory.mktemp("dump")
    p = d / "config-1.sql"
    p.write_text(HEAD + text)
    with contextlib.suppress(PmxcfsError):
        read_tree(p)
    assert sorted(x.name for x in d.iterdir()) == ["config-1.sql"]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_pmxcfs_reader_raises_only_pmxcfs_error_on_bytes(
        tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    d = tmp_path_factory.mktemp("db")
    for name, blob in (("config.db", b"SQLite format 3\x00" + data), ("c.sql.gz", data),
                       ("c.sql.gz", b"\x1f\x8b" + data)):
        p = d / name
        p.write_bytes(blob)
        with contextlib.suppress(PmxcfsError):
            read_tree(p)


async def test_pmxcfs_restore_action_refuses_the_attach_dump(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action vm-config-recovery uses reads the dump as data too: refused, nothing written."""
    import shutil as sh

    from pverunbook.engine import events as ev
    from pverunbook.engine.decisions import ScriptedDecider
    from pverunbook.engine.engine import Engine
    from pverunbook.inventory import local_cluster
    from pverunbook.runbook.loader import load_text
    from pverunbook.transport.local import LocalTransport

    backup = tmp_path / "backup"
    backup.mkdir()
    sh.copy(DATA / "attach.sql.gz", backup / "config-1700000000.sql.gz")
    dest = tmp_path / "pve"
    dest.mkdir()
    monkeypatch.chdir(tmp_path)
    book = load_text(f'''id = "r"
title = "R"
[[steps]]
id = "restore"
title = "Restore"
kind = "action"
action = "pmxcfs-restore"
[steps.args]
source = "{backup}/config-*.sql.gz"
dest = "{dest}"
''')
    engine = Engine(book, local_cluster(), LocalTransport(), ScriptedDecider(), run_id="r")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    assert await engine.run() == "failed"
    said = "".join(e.text for e in seen if isinstance(e, ev.OutputChunk))
    assert "refusing" in said and "ATTACH" in said
    assert _nothing_written(tmp_path, dest)


def _nothing_written(root: Path, dest: Path) -> bool:
    return not list(root.rglob("ATTACK*")) and not any(dest.iterdir())
