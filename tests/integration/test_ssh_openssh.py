"""SSHTransport against a real OpenSSH sshd on loopback: the behaviour a recovery run relies on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from pverunbook.inventory import Node
from pverunbook.transport.base import ConnectionLost, TransportError
from pverunbook.transport.ssh import HostKeyChanged, HostKeyUnknown, SSHTransport
from tests.integration.sshd_fixture import Sshd, remote_alive, sshd, wait_gone

__all__ = ["sshd"]  # the fixture, imported so pytest finds it here


class Out:
    """Collects streamed output with arrival times."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, str, str]] = []

    def __call__(self, stream: str, text: str) -> None:
        self.chunks.append((time.monotonic(), stream, text))

    def text(self, stream: str) -> str:
        return "".join(t for _, s, t in self.chunks if s == stream)

    async def wait_for(self, needle: str, within: float = 10) -> None:
        deadline = time.monotonic() + within
        while needle not in self.text("stdout"):
            assert time.monotonic() < deadline, f"never saw {needle!r}"
            await asyncio.sleep(0.02)


def marker() -> str:
    """A unique `sleep` argument, so pgrep finds exactly this test's process."""
    return f"600.{uuid.uuid4().int % 10**8}"


def make(sshd: Sshd, tmp_path: Path, **kw: Any) -> SSHTransport:
    kw.setdefault("known_hosts", tmp_path / "known_hosts")
    kw.setdefault("hash_known_hosts", False)
    return SSHTransport(client_keys=[str(sshd.client_key)], config_paths=[], connect_timeout=10,
                        **kw)


def node(sshd: Sshd, *, pinned: bool = True, name: str = "n1", **kw: Any) -> Node:
    kw.setdefault("host_key", sshd.host_key_line if pinned else "")
    return Node(name=name, host="127.0.0.1", port=sshd.port, user=sshd.user, **kw)


@pytest.fixture
async def transport(sshd: Sshd, tmp_path: Path) -> AsyncIterator[SSHTransport]:
    t = make(sshd, tmp_path)
    yield t
    await t.close()


async def run(t: SSHTransport, n: Node, command: str, timeout: float = 20) -> tuple[Any, Out]:
    out = Out()
    res = await t.run(n, command, timeout=timeout, on_output=out)
    return res, out


# -- commands --------------------------------------------------------------------------------
async def test_one_connection_reused_for_every_command(sshd: Sshd,
                                                      transport: SSHTransport) -> None:
    n = node(sshd)
    before = sshd.connections()
    clients = set()
    for _ in range(5):
        res, out = await run(transport, n, "echo $SSH_CLIENT")
        assert res.exit_status == 0
        clients.add(out.text("stdout").strip())
    assert len(clients) == 1, clients  # same client source port every time
    await asyncio.sleep(0.2)
    assert sshd.connections() - before == 1


async def test_a_command_that_ends_costs_no_eof_from_the_client(sshd: Sshd,
                                                               transport: SSHTransport) -> None:
    """sshd ends the command's stdin and closes the channel itself once the command exits:
    answering its EOF with ours was two more packets per command (one a MSG_IGNORE)."""
    from asyncssh.constants import MSG_CHANNEL_CLOSE, MSG_CHANNEL_EOF

    n = node(sshd)
    await transport.connect([n])
    conn = transport._conns[n.name].conn
    sent: list[int] = []
    real = conn.send_packet

    def recording(pkttype: int, *args: bytes, **kw: Any) -> None:
        sent.append(pkttype)
        real(pkttype, *args, **kw)

    conn.send_packet = recording  # type: ignore[method-assign]
    for command, status, text in [("true", 0, ""), ("echo hi; exit 3", 3, "hi\n"),
                                  ("seq 100000 | tail -n 1", 0, "100000\n")]:
        res, out = await run(transport, n, command)
        assert (res.exit_status, out.text("stdout")) == (status, text)
    assert sent.count(MSG_CHANNEL_CLOSE) == 3  # every channel closed ...
    assert MSG_CHANNEL_EOF not in sent  # ... without an EOF of ours


async def test_commands_on_nodes_run_concurrently(sshd: Sshd, transport: SSHTransport) -> None:
    nodes = [node(sshd, name=f"n{i}") for i in range(3)]
    await transport.connect(nodes)
    start = time.monotonic()
    results = await asyncio.gather(*(run(transport, n, "sleep 1; echo done") for n in nodes))
    assert time.monotonic() - start < 2.5
    assert [r.exit_status for r, _ in results] == [0, 0, 0]


async def test_output_is_streamed_as_it_arrives(sshd: Sshd, transport: SSHTransport) -> None:
    res, out = await run(transport, node(sshd), "echo first; sleep 3; echo second")
    end = time.monotonic()
    assert res.exit_status == 0
    assert out.text("stdout") == "first\nsecond\n"
    first_at = next(t for t, s, text in out.chunks if "first" in text)
    assert end - first_at > 2, "the first line was held back until the command ended"


async def test_exit_status_and_stderr_kept_apart(sshd: Sshd, transport: SSHTransport) -> None:
    res, out = await run(transport, node(sshd), "echo out; echo err >&2; exit 7")
    assert res.exit_status == 7 and not res.timed_out
    assert out.text("stdout") == "out\n"
    assert out.text("stderr") == "err\n"


async def test_multibyte_split_across_chunks(sshd: Sshd, transport: SSHTransport) -> None:
    res, out = await run(transport, node(sshd),
                         r"printf 'a\342\234'; sleep 0.5; printf '\223 ok\n'")
    assert res.exit_status == 0
    assert len([c for c in out.chunks if c[1] == "stdout"]) >= 2
    assert out.text("stdout") == "a✓ ok\n"  # "a" streamed first, the ✓ held until whole


async def test_hostile_command_runs_with_sh_semantics(sshd: Sshd,
                                                     transport: SSHTransport) -> None:
    res, out = await run(transport, node(sshd),
                         "x='it'\"'\"'s'; echo \"$x\" $(echo sub) `echo back`\necho line2")
    assert res.exit_status == 0
    assert out.text("stdout") == "it's sub back\nline2\n"


async def test_timeout_leaves_no_process(sshd: Sshd, transport: SSHTransport) -> None:
    m = marker()
    res, _ = await run(transport, node(sshd), f"sleep {m}", timeout=1.5)
    assert res.timed_out and res.exit_status is None
    assert wait_gone(m), f"'sleep {m}' is still running on the node"
    res, out = await run(transport, node(sshd), "echo still usable")
    assert out.text("stdout") == "still usable\n"


async def test_timeout_kills_children_of_a_compound_command(sshd: Sshd,
                                                           transport: SSHTransport) -> None:
    m = marker()
    res, _ = await run(transport, node(sshd), f"sleep {m} & sleep {m}; echo never", timeout=1.5)
    assert res.timed_out
    assert wait_gone(m)


async def test_cancel_leaves_no_process(sshd: Sshd, transport: SSHTransport) -> None:
    m = marker()
    out = Out()
    task = asyncio.create_task(transport.run(node(sshd), f"echo started; sleep {m}",
                                             timeout=60, on_output=out))
    await out.wait_for("started")
    assert remote_alive(m)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_gone(m), f"'sleep {m}' survived cancellation"


async def test_a_command_that_ignores_term_is_killed_after_its_grace(
        sshd: Sshd, transport: SSHTransport) -> None:
    """sshd's signal request only TERMs; the connection's guardian KILLs what is left."""
    m = marker()
    res, _ = await run(transport, node(sshd), f"trap '' TERM; sleep {m} & sleep {m}; :",
                       timeout=1.5)
    assert res.timed_out
    assert wait_gone(m, within=8), "a TERM-proof command outlived its timeout"


async def test_a_dropped_connection_kills_its_commands_but_not_what_they_detached(
        sshd: Sshd, tmp_path: Path) -> None:
    """The guardian's end-of-file: running commands die, even one that ignores TERM; a
    program detached with setsid (how a rollback timer is armed) lives on."""
    t = make(sshd, tmp_path)
    m, stubborn, detached = marker(), marker(), marker()
    try:
        n = node(sshd)
        await t.connect([n])
        res, _ = await run(t, n, f"setsid -f sleep {detached} </dev/null >/dev/null 2>&1")
        assert res.exit_status == 0
        outs = [Out(), Out()]
        tasks = [asyncio.create_task(t.run(n, f"echo started; sleep {m}", timeout=60,
                                           on_output=outs[0])),
                 asyncio.create_task(t.run(n, f"trap '' TERM; echo started; sleep {stubborn}; :",
                                           timeout=60, on_output=outs[1]))]
        for out in outs:
            await out.wait_for("started")
        sshd.kill_sessions()
        for task in tasks:
            with pytest.raises(ConnectionLost):
                await asyncio.wait_for(task, 10)
        assert wait_gone(m), "a command outlived its connection"
        assert wait_gone(stubborn, within=8), "a TERM-proof command outlived its connection"
        assert remote_alive(detached), "a detached program died with the connection"
    finally:
        await t.close()
        await asyncio.to_thread(subprocess.run, ["pkill", "-f", f"sleep {detached}"],
                                capture_output=True)


async def test_connection_loss_is_reported_and_reconnect_works(sshd: Sshd, tmp_path: Path) -> None:
    t = make(sshd, tmp_path)
    try:
        n, other = node(sshd), node(sshd, name="n2")
        await t.connect([n])
        m = marker()
        out = Out()
        task = asyncio.create_task(t.run(n, f"echo started; sleep {m}", timeout=60,
                                         on_output=out))
        await out.wait_for("started")
        sshd.kill_sessions()
        with pytest.raises(ConnectionLost) as info:
            await asyncio.wait_for(task, 10)
        assert info.value.node == "n1"
        assert "connection lost" in str(info.value)
        assert wait_gone(m), "the command outlived its connection"
        # Another node's connection, opened afterwards, is unaffected; n1 comes back.
        res, _ = await run(t, other, "true")
        assert res.exit_status == 0
        await t.reconnect(n)
        res, out2 = await run(t, n, "echo back")
        assert res.exit_status == 0 and out2.text("stdout") == "back\n"
    finally:
        await t.close()


async def test_connection_loss_does_not_disturb_other_nodes(sshd: Sshd, tmp_path: Path) -> None:
    lossy, steady = make(sshd, tmp_path), make(sshd, tmp_path)
    try:
        n1, n2 = node(sshd), node(sshd, name="n2")
        await lossy.connect([n1])
        out = Out()
        victim = asyncio.create_task(lossy.run(n1, f"echo started; sleep {marker()}",
                                               timeout=60, on_output=out))
        await out.wait_for("started")
        survivor_pids = set(sshd.session_pids())
        await steady.connect([n2])
        steady_pids = set(sshd.session_pids()) - survivor_pids
        survivor = asyncio.create_task(run(steady, n2, "sleep 1; echo fine"))
        await asyncio.sleep(0.2)
        for pid in survivor_pids:  # only n1's connection
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(victim, 10)
        res, out2 = await survivor
        assert res.exit_status == 0 and out2.text("stdout") == "fine\n"
        assert steady_pids
    finally:
        await lossy.close()
        await steady.close()


async def test_connection_dropped_while_idle_is_reopened(sshd: Sshd,
                                                        transport: SSHTransport) -> None:
    n = node(sshd)
    res, first = await run(transport, n, "echo $SSH_CLIENT")
    sshd.kill_sessions()
    await asyncio.sleep(0.3)
    res, second = await run(transport, n, "echo $SSH_CLIENT")  # no command was in flight
    assert res.exit_status == 0 and second.text("stdout") != first.text("stdout")


# -- the user's OpenSSH setup ----------------------------------------------------------------
async def test_ssh_config_alias_user_port_identity_and_hostkeyalias(sshd: Sshd,
                                                                  tmp_path: Path) -> None:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"""\
Host pve-a
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    HostKeyAlias pve-a.example
""")
    kh = tmp_path / "known_hosts"
    t = SSHTransport(known_hosts=kh, config_paths=[cfg], accept_new_host_key=True,
                     hash_known_hosts=False, username="nobody-should-use-this")
    try:
        res, out = await run(t, Node(name="a", host="pve-a"), "id -un")
        assert res.exit_status == 0 and out.text("stdout") == f"{sshd.user}\n"
    finally:
        await t.close()
    # Recorded under the alias, without the port, exactly as OpenSSH does.
    assert kh.read_text().startswith("pve-a.example ssh-ed25519 ")


async def test_proxyjump_from_ssh_config(sshd: Sshd, tmp_path: Path) -> None:
    jump_kh = tmp_path / "jump_known_hosts"
    jump_kh.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_key_line}\n")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"""\
Host jump
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    UserKnownHostsFile {jump_kh}
Host behind
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    ProxyJump jump
""")
    t = SSHTransport(known_hosts=tmp_path / "kh", config_paths=[cfg])
    before = sshd.connections()
    try:
        res, out = await run(t, Node(name="b", host="behind", host_key=sshd.host_key_line),
                             "echo $SSH_CLIENT")
        assert res.exit_status == 0
        assert out.text("stdout").startswith("127.0.0.1 ")
    finally:
        await t.close()
    await asyncio.sleep(0.2)
    assert sshd.connections() - before == 2  # the jump and the tunnelled login


# -- host keys -------------------------------------------------------------------------------
async def test_unknown_host_refused_without_accept(sshd: Sshd, tmp_path: Path) -> None:
    t = make(sshd, tmp_path)
    with pytest.raises(HostKeyUnknown) as info:
        await t.connect([node(sshd, pinned=False)])
    assert info.value.fingerprint == sshd.fingerprint
    assert sshd.fingerprint in str(info.value)
    assert "--accept-new-host-keys" in str(info.value)
    assert not (tmp_path / "known_hosts").exists()
    await t.close()


async def test_unknown_host_asked_and_refused(sshd: Sshd, tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []

    async def no(name: str, fp: str) -> bool:
        asked.append((name, fp))
        return False

    t = make(sshd, tmp_path, accept_new_host_key=no)
    with pytest.raises(HostKeyUnknown):
        await t.connect([node(sshd, pinned=False)])
    assert asked == [("n1", sshd.fingerprint)]
    await t.close()


@pytest.mark.parametrize("hashed", [False, True])
async def test_unknown_host_accepted_and_recorded(sshd: Sshd, tmp_path: Path,
                                                  hashed: bool) -> None:
    kh = tmp_path / "known_hosts"
    t = make(sshd, tmp_path, accept_new_host_key=True, hash_known_hosts=hashed)
    n = node(sshd, pinned=False)
    res, _ = await run(t, n, "true")
    assert res.exit_status == 0
    await t.close()
    line = kh.read_text()
    assert line.count("\n") == 1
    assert line.startswith("|1|") if hashed else line.startswith(f"[127.0.0.1]:{sshd.port} ")
    assert sshd.host_key_line.split()[1] in line
    if shutil.which("ssh-keygen"):  # OpenSSH itself finds the entry
        found = await asyncio.create_subprocess_exec(
            "ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(kh),
            stdout=asyncio.subprocess.DEVNULL)
        assert await found.wait() == 0
    again = make(sshd, tmp_path, hash_known_hosts=hashed)
    res, _ = await run(again, n, "true")
    assert res.exit_status == 0
    await again.close()


async def test_changed_host_key_refused(sshd: Sshd, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    other_line = other.export_public_key("openssh").decode().split()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {other_line[0]} {other_line[1]}\n")
    t = make(sshd, tmp_path, accept_new_host_key=True)  # never accepts a *changed* key
    with pytest.raises(HostKeyChanged) as info:
        await t.connect([node(sshd, pinned=False)])
    msg = str(info.value)
    assert other.get_fingerprint("sha256") in msg and sshd.fingerprint in msg
    assert "ssh-keygen -R" in msg
    assert kh.read_text().count("\n") == 1
    await t.close()


async def test_pinned_key_overrides_known_hosts(sshd: Sshd, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    pin = other.export_public_key("openssh").decode().strip()
    t = make(sshd, tmp_path, accept_new_host_key=True)
    with pytest.raises(HostKeyChanged) as info:
        await t.connect([node(sshd, pinned=False, host_key=pin)])
    assert other.get_fingerprint("sha256") in str(info.value)
    assert sshd.fingerprint in str(info.value)
    assert not (tmp_path / "known_hosts").exists()
    res, _ = await run(t, node(sshd), "true")  # the right pin works with no known_hosts at all
    assert res.exit_status == 0
    await t.close()


# -- connect errors --------------------------------------------------------------------------
@pytest.mark.parametrize("make_node", [
    lambda s: Node(name="n1", host="127.0.0.1", port=1, user=s.user),
    lambda s: Node(name="n1", host="no-such-host.invalid", user=s.user),
    lambda s: Node(name="n1", host="127.0.0.1", port=s.port, user="no-such-user-pvrb",
                   host_key=s.host_key_line),
], ids=["refused", "dns", "auth"])
async def test_connect_errors_say_what_to_do(sshd: Sshd, tmp_path: Path,
                                             make_node: Callable[[Sshd], Node]) -> None:
    t = make(sshd, tmp_path)
    with pytest.raises(TransportError) as info:
        await t.connect([make_node(sshd)])
    assert info.value.node == "n1" and info.value.hint
    await t.close()


# -- files -----------------------------------------------------------------------------------
async def test_sftp_round_trip_with_mode(sshd: Sshd, transport: SSHTransport) -> None:
    n = node(sshd)
    path = f"{sshd.scratch}/corosync.conf"
    data = "totem {\n  version: 2\n}\nünïcode\n".encode() + bytes(range(256))
    await transport.write_file(n, path, data, mode=0o640, timeout=10)
    assert await transport.read_file(n, path, timeout=10) == data
    res, out = await run(transport, n, f"stat -c %a {path}; ls -a {sshd.scratch}")
    assert out.text("stdout").split("\n")[0] == "640"
    assert ".tmp" not in out.text("stdout")  # written to a temp name, then renamed
    await transport.write_file(n, path, b"new\n", timeout=10)  # mode=None keeps the mode
    res, out = await run(transport, n, f"stat -c %a {path}; cat {path}")
    assert out.text("stdout") == "640\nnew\n"
    fresh = f"{sshd.scratch}/fresh"
    await transport.write_file(n, fresh, b"", timeout=10)
    assert await transport.read_file(n, fresh, timeout=10) == b""


def _long_argv_process(args: list[str]) -> tuple[Any, bytes]:
    """A sleeping process with ``args`` in its argv, and its ``/proc/<pid>/cmdline`` once
    exec has finished (right after fork the old argv shows)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", *args])
    expected = b""
    for _ in range(500):
        expected = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        if expected.endswith(args[-1].encode() + b"\0"):
            break
        time.sleep(0.01)
    return proc, expected


async def test_sftp_reads_proc_cmdline_to_the_end(sshd: Sshd, transport: SSHTransport) -> None:
    """``/proc/<pid>/cmdline`` reports size 0 in ``stat``; the SFTP read must go to EOF anyway
    (a kvm's command line is how vm-config-recovery rebuilds a lost config). The argv here is
    larger than one read chunk, so the chunked loop is exercised too."""
    from pverunbook.transport.ssh import READ_CHUNK

    args = [f"-drive file=/dev/pve/vm-{i}-disk-0,if=none,id=drive-scsi{i}" for i in range(8000)]
    proc, expected = _long_argv_process(args)
    try:
        assert os.stat(f"/proc/{proc.pid}/cmdline").st_size == 0  # the premise
        assert len(expected) > READ_CHUNK
        got = await transport.read_file(node(sshd), f"/proc/{proc.pid}/cmdline", timeout=10)
        assert got == expected
        assert got.split(b"\0")[-2] == args[-1].encode()
    finally:
        proc.kill()
        proc.wait()


async def test_sftp_errors_name_node_and_path(sshd: Sshd, transport: SSHTransport) -> None:
    n = node(sshd)
    with pytest.raises(TransportError) as info:
        await transport.read_file(n, "/nonexistent/file", timeout=10)
    assert info.value.node == "n1" and "/nonexistent/file" in str(info.value)
    with pytest.raises(TransportError) as info:
        await transport.write_file(n, "/nonexistent/dir/file", b"x", timeout=10)
    assert "/nonexistent/dir/file" in str(info.value) and info.value.hint


async def test_sftp_read_times_out_on_a_hanging_file(sshd: Sshd,
                                                    transport: SSHTransport) -> None:
    n = node(sshd)
    fifo = f"{sshd.scratch}/hang.fifo"
    res, _ = await run(transport, n, f"mkfifo {fifo}")
    assert res.exit_status == 0
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        await transport.read_file(n, fifo, timeout=1)
    assert time.monotonic() - start < 5
    assert "timed out" in str(info.value) and fifo in str(info.value)
    path = f"{sshd.scratch}/after"
    await transport.write_file(n, path, b"ok", timeout=10)  # a fresh SFTP session works
    assert await transport.read_file(n, path, timeout=10) == b"ok"
