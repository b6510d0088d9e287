"""A tree's archive is stored and indexed as it arrives: long names, limits, backpressure,
torn files."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shlex
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import archive, untar
from pverunbook.engine.checkpoints import CheckpointStore, Parts
from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult
from pverunbook.transport.local import LocalTransport

NODE = Node("n1", "localhost")


def _tar(members: list[tuple[str, bytes]], fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
async def test_long_names_are_matched_in_gnu_and_pax_archives(tmp_path: Path, fmt: int) -> None:
    long = "etc/pve/" + "/".join(["nested-directory-name"] * 8) + "/qemu-server-100.conf"
    data = b"boot: order=scsi0\n" * 50
    spool = tmp_path / "a.tar"
    spool.write_bytes(_tar([(long, data), ("etc/pve/short", b"s")], fmt))
    dest = tmp_path / "cp" / "1.tar"
    got = await archive.fetch_tree(LocalTransport(), NODE, f"cat -- {spool}", dest,
                                   {"/" + long}, idle_timeout=10)
    (member,) = got.files.values()
    assert got.files == {"/" + long: untar.Stored(hashlib.sha256(data).hexdigest(), len(data),
                                                  member.offset)}
    assert member.offset is not None and got.exit == 0
    stored = dest.read_bytes()
    assert stored == spool.read_bytes() and stored[member.offset:][:len(data)] == data
    assert got.size == len(stored)
    assert dest.stat().st_mode & 0o777 == 0o600


async def test_a_member_larger_than_declared_leaves_nothing_written(tmp_path: Path) -> None:
    spool = tmp_path / "a.tar"
    spool.write_bytes(_tar([("t/a", b"a" * 10), ("t/b", b"b" * 5000)], tarfile.GNU_FORMAT))
    out = tmp_path / "cp"
    with pytest.raises(archive.TooLarge, match="/t/b: the archive holds 5000 bytes"):
        await archive.fetch_tree(LocalTransport(), NODE, f"cat -- {spool}", out / "1.tar",
                                 {"/t/a", "/t/b"}, {"/t/a": 10, "/t/b": 11}, idle_timeout=10)
    assert list(out.iterdir()) == []


async def test_a_truncated_archive_is_refused_and_removed(tmp_path: Path) -> None:
    spool = tmp_path / "a.tar"
    spool.write_bytes(_tar([("t/a", b"a" * 700), ("t/b", b"b" * 5000)],
                           tarfile.GNU_FORMAT)[:2048])
    out = tmp_path / "cp"
    with pytest.raises(archive.StreamFailed, match="could not be read"):
        await archive.fetch_tree(LocalTransport(), NODE, f"cat -- {spool}", out / "1.tar",
                                 {"/t/a", "/t/b"}, idle_timeout=10)
    assert list(out.iterdir()) == []


async def test_the_pipe_pauses_the_sender_until_the_thread_catches_up() -> None:
    loop = asyncio.get_running_loop()
    pipe = untar.Pipe(loop, high=1000, low=100)
    for c in b"abc":
        assert pipe.put(bytes([c]) * 300) is None
    wait = pipe.put(b"d" * 300)  # 1200 queued: past the high mark
    assert wait is not None and not wait.done()
    assert await asyncio.to_thread(pipe.read, 300) == b"a" * 300
    await asyncio.sleep(0.05)
    assert not wait.done()  # 900 still queued, above the low mark
    assert await asyncio.to_thread(pipe.read, 900) == b"b" * 300 + b"c" * 300 + b"d" * 300
    await asyncio.wait_for(wait, 5)
    pipe.close()
    await asyncio.to_thread(pipe.drain)
    assert pipe.size == 1200


async def test_backpressure_keeps_a_large_stream_correct(tmp_path: Path) -> None:
    """LocalTransport waits on the pipe: the bytes stored are exactly the bytes sent."""
    data = bytes(range(256)) * 80_000  # 20 MB, past the pipe's high mark
    src = tmp_path / "t" / "big"
    src.parent.mkdir()
    src.write_bytes(data)
    dest = tmp_path / "cp" / "1.tar"
    got = await archive.fetch_tree(LocalTransport(), NODE, archive.tar_command(str(src)),
                                   dest, {str(src)}, idle_timeout=30)
    member = got.files[str(src)]
    assert member.sha256 == hashlib.sha256(data).hexdigest() and member.offset is not None
    assert dest.read_bytes()[member.offset:member.offset + member.size] == data


async def test_tar_exit_1_means_the_node_hashes_again_and_a_torn_copy_fails(
        tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.conf").write_text("a\n")
    (tree / "b.conf").write_text("b\n")
    t = LocalTransport()

    async def stream(node: Node, command: str, **kw: Any) -> tuple[CommandResult, str]:
        # After tar has read everything, b.conf changes, and the producer exits 1 as GNU tar
        # does for "file changed as we read it".
        producer = archive.tar_command(str(tree))
        changed = f"{producer}; echo changed >> {shlex.quote(str(tree / 'b.conf'))}; false"
        return await LocalTransport.stream(t, node, command.replace(producer, changed), **kw)

    t.stream = stream  # type: ignore[method-assign]
    outcome = await CheckpointStore(root=tmp_path / "cps").capture(
        "r", "s", [(NODE, t, Parts(files=[str(tree)]))])
    by_name = {Path(i["path"]).name: i for i in outcome.items if i["kind"] == "file"}
    assert by_name["a.conf"]["ok"]
    assert not by_name["b.conf"]["ok"] and "differs from the node's" in \
        by_name["b.conf"]["problem"]
    assert not outcome.ok


async def test_cancelled_mid_stream_leaves_no_file_and_no_thread(tmp_path: Path) -> None:
    """The operator refused while the archive was arriving: what was stored is gone when
    the cancellation returns (the checkpoint folder is removed right after; a thread still
    writing into it would leave files behind)."""
    spool = tmp_path / "a.tar"
    spool.write_bytes(_tar([("t/a", b"a" * 1000), ("t/b", b"b" * 1000)], tarfile.GNU_FORMAT))
    out = tmp_path / "cp"
    dest = out / "1.tar"
    task = asyncio.ensure_future(archive.fetch_tree(
        LocalTransport(), NODE, f"head -c 2048 {spool}; sleep 30", dest, {"/t/a", "/t/b"},
        idle_timeout=60))
    for _ in range(500):
        if dest.exists() and dest.stat().st_size == 2048:
            break
        await asyncio.sleep(0.01)
    assert dest.exists() and dest.stat().st_size == 2048, "the stream never arrived"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(out.iterdir()) == []


async def test_the_stream_starts_before_the_listing_and_waits_for_it(tmp_path: Path) -> None:
    """``listed``: the archive arrives (and queues) before the node's listing; its members are
    indexed once the listing says which, and a stream that ended larger than the listing
    allows is refused even though all of it came first."""
    data = b"x" * 200_000
    spool = tmp_path / "a.tar"
    spool.write_bytes(_tar([("t/a", data), ("t/b", b"b" * 10)], tarfile.GNU_FORMAT))
    loop = asyncio.get_running_loop()

    async def fetch(dest: Path, sizes: dict[str, int]) -> archive.Extracted:
        listed: asyncio.Future[dict[str, int]] = loop.create_future()
        sent = tmp_path / f"sent-{dest.parent.name}"
        task = asyncio.ensure_future(archive.fetch_tree(
            LocalTransport(), NODE, f"cat -- {spool} && touch {sent}", dest, None,
            idle_timeout=10, listed=listed))
        for _ in range(500):  # the node has sent the whole archive before its listing
            if sent.exists():
                break
            await asyncio.sleep(0.01)
        assert sent.exists() and not task.done()
        listed.set_result(sizes)
        return await task

    got = await fetch(tmp_path / "ok" / "1.tar", {"/t/a": len(data), "/t/b": 10})
    assert set(got.files) == {"/t/a", "/t/b"}
    assert got.files["/t/a"].sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "ok" / "1.tar").read_bytes() == spool.read_bytes()
    with pytest.raises(archive.TooLarge, match="more than the"):
        await fetch(tmp_path / "big" / "1.tar", {"/t/b": 10})
    assert list((tmp_path / "big").iterdir()) == []
