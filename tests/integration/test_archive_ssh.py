"""Checkpoint streaming over a real OpenSSH sshd: raw bytes, node-side hash, idle timeout."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from pverunbook.engine import archive
from pverunbook.engine.checkpoints import CheckpointStore, Parts
from pverunbook.inventory import Node
from pverunbook.transport.ssh import SSHTransport
from tests.integration.sshd_fixture import Sshd, sshd
from tests.integration.test_ssh_openssh import make, node

__all__ = ["sshd"]


class SftpRefused(SSHTransport):
    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        raise AssertionError(f"read {path} over SFTP one by one")


async def test_binary_stream_over_ssh_is_byte_exact_and_verified(sshd: Sshd,
                                                                 tmp_path: Path) -> None:
    src = sshd.scratch / f"blob-{tmp_path.name}"
    src.write_bytes(bytes(range(256)) * 4096)  # every byte value, 1 MiB: no text decoding
    src.chmod(0o644)
    t = make(sshd, tmp_path)
    try:
        got = await archive.fetch(t, node(sshd), f"cat -- {src}", tmp_path / "spool",
                                  idle_timeout=10)
        assert got.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
        with pytest.raises(archive.StreamFailed) as exc:
            await archive.fetch(t, node(sshd), "sleep 4", tmp_path / "s2", idle_timeout=0.5)
        assert exc.value.timed_out
    finally:
        await t.close()


async def test_checkpoint_of_a_tree_over_ssh_uses_one_stream(sshd: Sshd, tmp_path: Path) -> None:
    tree = sshd.scratch / f"pve-{tmp_path.name}"
    for i in range(40):
        d = tree / f"nodes/n{i % 4}/qemu-server"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{100 + i}.conf").write_text(f"memory: {1024 + i}\n")
    for p in [tree, *tree.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    t = make(sshd, tmp_path)
    t.__class__ = SftpRefused
    try:
        outcome = await CheckpointStore(root=tmp_path / "cps").capture(
            "r", "s", [(node(sshd), t, Parts(files=[str(tree)]))])
    finally:
        await t.close()
    assert outcome.ok, outcome.problems
    files = [i for i in outcome.items if i["kind"] == "file"]
    assert len(files) == 40 and all(i["sha256_local"] == i["sha256_remote"] for i in files)


async def test_a_slow_reader_pauses_the_ssh_channel_and_loses_nothing(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the pipe's high mark the channel is paused (the node's side waits), then resumed:
    the file stored is byte for byte the node's, however often that happened."""
    import asyncssh

    from pverunbook.engine import untar

    monkeypatch.setattr(untar, "PIPE_HIGH", 64 * 1024)
    monkeypatch.setattr(untar, "PIPE_LOW", 16 * 1024)
    pauses: list[int] = []
    real_pause = asyncssh.SSHClientChannel.pause_reading

    def pause(self: asyncssh.SSHClientChannel[bytes]) -> None:
        pauses.append(1)
        real_pause(self)

    monkeypatch.setattr(asyncssh.SSHClientChannel, "pause_reading", pause)
    # The reader is made slow (a pause per batch written to the archive file): on a fast
    # machine the thread kept up with loopback SSH and the channel never needed pausing.
    real_writev = untar._writev_all

    def slow_writev(fd: int, chunks: list[bytes]) -> None:
        time.sleep(0.005)
        real_writev(fd, chunks)

    monkeypatch.setattr(untar, "_writev_all", slow_writev)
    tree = sshd.scratch / f"big-{tmp_path.name}"
    tree.mkdir()
    data = bytes(range(256)) * 32768  # 8 MiB
    (tree / "blob").write_bytes(data)
    for p in (tree, tree / "blob"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    t = make(sshd, tmp_path)
    try:
        got = await archive.fetch_tree(t, node(sshd), archive.tar_command(str(tree)),
                                       tmp_path / "out" / "1.tar", {str(tree / "blob")},
                                       idle_timeout=20)
    finally:
        await t.close()
    member = got.files[str(tree / "blob")]
    assert member.sha256 == hashlib.sha256(data).hexdigest() and member.offset is not None
    stored = (tmp_path / "out" / "1.tar").read_bytes()
    assert stored[member.offset:member.offset + member.size] == data
    assert pauses, "the channel was never paused: the test did not exercise backpressure"
