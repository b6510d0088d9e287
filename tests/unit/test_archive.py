"""Checkpoints stream one verified archive per node instead of reading file by file."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from pverunbook.engine import archive
from pverunbook.inventory import Node
from pverunbook.transport.base import ByteSink, CommandResult
from pverunbook.transport.local import LocalTransport

NODE = Node("n1", "localhost")


async def test_fetch_verifies_the_node_side_hash_and_spools_to_disk(tmp_path: Path) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 5000)
    spool = tmp_path / "spool"
    got = await archive.fetch(LocalTransport(), NODE, f"cat -- {src}", spool, idle_timeout=10)
    assert got.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert spool.read_bytes() == src.read_bytes() and spool.stat().st_mode & 0o777 == 0o600


class Corrupting(LocalTransport):
    """Flips one byte on the way: what a broken transfer looks like."""

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink: ByteSink) -> tuple[CommandResult, str]:
        first = [True]

        def bad(data: bytes) -> None:
            if first[0] and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
                first[0] = False
            sink(data)

        return await super().stream(node, command, idle_timeout=idle_timeout, sink=bad)


async def test_a_broken_transfer_is_caught_by_the_hash(tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x" * 100_000)
    with pytest.raises(archive.StreamFailed, match="sha256 differs"):
        await archive.fetch(Corrupting(), NODE, f"cat -- {src}", tmp_path / "s", idle_timeout=10)


async def test_timeout_counts_from_the_last_byte_not_from_the_start(tmp_path: Path) -> None:
    slow = "for i in 1 2 3 4 5 6; do head -c 1000 /dev/zero; sleep 0.3; done"
    got = await archive.fetch(LocalTransport(), NODE, slow, tmp_path / "s", idle_timeout=1.0)
    assert got.size == 6000  # 1.8 s in all, never 1 s without data
    with pytest.raises(archive.StreamFailed) as exc:
        await archive.fetch(LocalTransport(), NODE, "sleep 5", tmp_path / "t", idle_timeout=0.5)
    assert exc.value.timed_out


async def test_a_missing_tool_means_fall_back_not_fail(tmp_path: Path) -> None:
    with pytest.raises(archive.StreamUnavailable):
        await archive.fetch(LocalTransport(), NODE, "no-such-tool-xyz", tmp_path / "s",
                            idle_timeout=5)


async def test_member_names_only_select_what_is_indexed_never_where_it_is_written(
        tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in [("etc/pve/a.conf", b"a"), ("../../evil", b"x"),
                           ("etc/pve/b.conf", b"bb")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    spool = tmp_path / "spool.tar"
    spool.write_bytes(buf.getvalue())
    out_dir = tmp_path / "cp"
    got = (await archive.fetch_tree(LocalTransport(), NODE, f"cat -- {spool}",
                                    out_dir / "1.tar", {"/etc/pve/a.conf", "/etc/pve/b.conf"},
                                    idle_timeout=10)).files
    assert {p: s.size for p, s in got.items()} == {"/etc/pve/a.conf": 1, "/etc/pve/b.conf": 2}
    assert sorted(p.name for p in out_dir.iterdir()) == ["1.tar"]
    assert not (tmp_path.parent / "evil").exists()
    stored = (out_dir / "1.tar").read_bytes()
    b = got["/etc/pve/b.conf"]
    assert b.offset is not None and stored[b.offset:b.offset + b.size] == b"bb"
    assert (out_dir / "1.tar").stat().st_mode & 0o777 == 0o600


class NoFileReads(LocalTransport):
    """Fails every per-file read: a checkpoint that still verifies came through the stream."""

    reads: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.reads = []

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        self.reads.append(path)
        raise AssertionError(f"read {path} one by one")


async def test_a_tree_and_a_sqlite_db_are_captured_through_the_stream(tmp_path: Path) -> None:
    import sqlite3

    from pverunbook.engine.checkpoints import CheckpointStore, Parts

    tree = tmp_path / "tree"
    for i in range(50):
        (tree / f"d{i % 5}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 5}" / f"f{i}.conf").write_text(f"file {i}\n" * (i + 1))
    db = tmp_path / "config.db"
    con = sqlite3.connect(db)
    con.execute("create table tree (inode integer, data blob)")
    con.executemany("insert into tree values (?, ?)", [(i, b"v" * 500) for i in range(500)])
    con.commit()
    con.close()
    t = NoFileReads()
    store = CheckpointStore(root=tmp_path / "cps")
    parts = Parts(files=[str(tree)], sqlite=[str(db)])
    outcome = await store.capture("r", "s", [(NODE, t, parts)])
    assert outcome.ok, outcome.problems
    files = [i for i in outcome.items if i["kind"] == "file"]
    assert len(files) == 50 and all(i["sha256_local"] == i["sha256_remote"] for i in files)
    (sq,) = [i for i in outcome.items if i["kind"] == "sqlite"]
    assert sq["integrity_check"] == "ok" and sq["sha256_local"] == sq["sha256_remote"]
    assert t.reads == []


async def test_a_broken_stream_falls_back_to_verified_reads(tmp_path: Path) -> None:
    import sqlite3

    from pverunbook.engine.checkpoints import CheckpointStore, Parts

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.conf").write_text("a\n")
    db = tmp_path / "config.db"
    sqlite3.connect(db).close()
    outcome = await CheckpointStore(root=tmp_path / "cps").capture(
        "r", "s", [(NODE, Corrupting(), Parts(files=[str(tree)], sqlite=[str(db)]))])
    assert outcome.ok, outcome.problems


class CorruptingData(LocalTransport):
    """Flips one byte of the tar stream at ``at`` (inside a member's data: the headers still
    parse), what a transfer that broke mid-file looks like."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink: ByteSink) -> tuple[CommandResult, str]:
        seen = [0]

        def bad(data: bytes) -> None:
            start, seen[0] = seen[0], seen[0] + len(data)
            if start <= self.at < seen[0]:
                i = self.at - start
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            sink(data)

        return await super().stream(node, command, idle_timeout=idle_timeout, sink=bad)


async def test_a_member_that_differs_from_the_nodes_file_fails_the_checkpoint(
        tmp_path: Path) -> None:
    """The stream is not hashed as a whole: each member is compared with the node's own hash
    of the file, so a byte broken inside one file's data fails that file, not the others."""
    from pverunbook.engine.checkpoints import CheckpointStore, Parts

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.conf").write_bytes(b"a" * 1000)
    # 512-byte header per member: "tree" directory first, then a.conf's header, its data.
    t = CorruptingData(at=3 * 512 + 10)
    outcome = await CheckpointStore(root=tmp_path / "cps").capture(
        "r", "s", [(NODE, t, Parts(files=[str(tree)]))])
    (item,) = [i for i in outcome.items if i["kind"] == "file"]
    assert not outcome.ok and not item["ok"]
    assert "differs from the node's" in item["problem"]
    assert item["sha256_remote"] == hashlib.sha256(b"a" * 1000).hexdigest()
    assert item["sha256_local"] != item["sha256_remote"]
