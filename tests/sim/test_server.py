"""The rehearsal nodes over real SSH (asyncssh client): exec, streaming, SFTP, auth, keys."""

from __future__ import annotations

import asyncio
import hashlib

import asyncssh

from pverunbook.inventory import parse_cluster
from pverunbook.sim import SimCluster
from pverunbook.transport.wrapper import guard_command, stop_line, wrap_command


async def connect(sim: SimCluster, node: str = "ryanrishi", **kw: object) \
        -> asyncssh.SSHClientConnection:
    n = sim.cluster.node(node)
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{n.port} {n.host_key}\n")
    opts: dict[str, object] = {"client_keys": [str(sim.client_key_path)]}
    opts.update(kw)
    return await asyncssh.connect("127.0.0.1", port=n.port, username="root", known_hosts=known,
                                  **opts)  # type: ignore[arg-type]


async def test_exec_exit_status_and_streams(sim: SimCluster) -> None:
    async with await connect(sim) as c:
        r = await c.run("hostname; echo oops >&2; exit 3")
        assert (r.exit_status, r.stdout, r.stderr) == (3, "ryanrishi\n", "oops\n")
        r = await c.run("definitely-not-a-command")
        assert r.exit_status == 127
        assert r.stderr == "sh: 1: definitely-not-a-command: not found\n"
        r = await c.run("echo a | tr a b && false || echo c")
        assert r.stdout == "b\nc\n"


async def test_each_node_has_its_own_pinned_host_key(sim: SimCluster) -> None:
    a, b = sim.cluster.nodes
    assert a.host_key != b.host_key and a.port != b.port
    async with await connect(sim, "pve001") as c:
        assert (await c.run("hostname")).stdout == "pve001\n"
    inv = parse_cluster(sim.inventory_toml())
    assert inv.node("ryanrishi").host_key == a.host_key
    assert inv.node("pve001").addr == "192.168.4.201"


async def test_password_auth(sim: SimCluster) -> None:
    async with await connect(sim, client_keys=None, password=sim.password) as c:
        assert (await c.run("whoami")).stdout == "root\n"


async def test_output_is_streamed(sim: SimCluster) -> None:
    async with await connect(sim) as c:
        proc = await c.create_process("ping -c 5 -i 1 192.168.4.1")
        first = await proc.stdout.readline()
        assert first.startswith("PING 192.168.4.1")
        lines = [await proc.stdout.readline() for _ in range(5)]
        assert all("icmp_seq=" in ln for ln in lines)
        await proc.wait()
        # the first line arrives while the command still waits for its input: streamed,
        # not collected at the end
        proc = await c.create_process("echo first; read x; echo got $x")
        assert await proc.stdout.readline() == "first\n"
        assert proc.exit_status is None
        proc.stdin.write("it\n")
        assert await proc.stdout.readline() == "got it\n"
        assert (await proc.wait()).exit_status == 0


async def running(sim: SimCluster, program: str, gone: bool = False) -> None:
    """Wait until ``program`` runs on ryanrishi (or, with ``gone``, no longer runs); fails
    after 2000 turns of the event loop with a real pause each."""
    for _ in range(2000):
        procs = [p for p in sim.node("ryanrishi").procs.values() if p.argv[:1] == [program]]
        if bool(procs) != gone:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{program} {'still runs' if gone else 'never started'}")


async def test_signal_and_close_cancel_the_command(sim: SimCluster) -> None:
    async with await connect(sim) as c:
        proc = await c.create_process("sleep 100000")
        await running(sim, "sleep")
        proc.send_signal("TERM")
        r = await asyncio.wait_for(proc.wait(), 5)
        assert r.exit_status == 143
        proc = await c.create_process("journalctl -u corosync -f")
        await proc.stdout.readline()
        proc.close()
        await asyncio.wait_for(proc.wait_closed(), 5)
    # nothing left registered as running on the node
    await running(sim, "journalctl", gone=True)


async def test_the_guardian_contract_is_honoured(sim: SimCluster) -> None:
    """As on a real node (transport/wrapper.py): a marked command's stdin is empty; the
    guardian's ``stop TOKEN`` ends that command (143) and no other; its end-of-file ends the
    rest of its link's commands, and a command of another link runs on."""
    link, other = "0123456789ab", "ba9876543210"
    async with await connect(sim) as c:
        guard = await c.create_process(guard_command(link), encoding=None)
        marked = await c.run(wrap_command("cat; echo empty", f"{link}.1"))
        assert (marked.exit_status, marked.stdout) == (0, "empty\n")
        first = await c.create_process(wrap_command("sleep 100000", f"{link}.2"))
        second = await c.create_process(wrap_command("sleep 100001", f"{link}.3"))
        foreign = await c.create_process(wrap_command("sleep 100002", f"{other}.2"))
        await running(sim, "sleep")
        guard.stdin.write(b"stop nonsense\n" + stop_line(f"{other}.2") + stop_line(f"{link}.2"))
        assert (await asyncio.wait_for(first.wait(), 5)).exit_status == 143
        assert second.exit_status is None and foreign.exit_status is None
        guard.stdin.write_eof()
        assert (await asyncio.wait_for(second.wait(), 5)).exit_status == 143
        await asyncio.sleep(0.05)
        assert foreign.exit_status is None
        foreign.send_signal("TERM")
        assert (await asyncio.wait_for(foreign.wait(), 5)).exit_status == 143


async def test_commands_run_concurrently(sim: SimCluster) -> None:
    # a command that waits for its input does not hold up the others on the connection
    async with await connect(sim) as c:
        waiting = await c.create_process("read x; echo got $x")
        others = await asyncio.gather(*(c.run(f"echo {k}") for k in range(3)))
        assert [r.stdout for r in others] == ["0\n", "1\n", "2\n"]
        assert waiting.exit_status is None
        waiting.stdin.write("late\n")
        assert (await waiting.wait()).stdout == "got late\n"


async def test_sftp_reads_and_writes_real_bytes(sim: SimCluster) -> None:
    async with await connect(sim) as c, c.start_sftp_client() as sftp:
        async with sftp.open("/etc/hostname", "rb") as f:
            assert await f.read() == b"ryanrishi\n"
        async with sftp.open("/root/backup.bin", "wb") as f:
            await f.write(bytes(range(256)))
        assert (sim.node("ryanrishi").root / "root/backup.bin").read_bytes() == bytes(range(256))
        async with sftp.open("/var/lib/pve-cluster/config.db", "rb") as f:
            assert (await f.read(16)).startswith(b"SQLite format 3")
        r = await c.run("sha256sum /root/backup.bin")
        assert r.stdout.startswith(hashlib.sha256(bytes(range(256))).hexdigest())


async def test_sftp_write_into_etc_pve_waits_while_the_link_flaps(sim: SimCluster) -> None:
    async with await connect(sim) as c, c.start_sftp_client() as sftp:
        async def put() -> None:
            async with sftp.open("/etc/pve/sftp-test", "wb") as f:
                await f.write(b"x")

        task = asyncio.ensure_future(put())
        await sim.advance(30)  # simulated time passes: the write waits while the link flaps
        for _ in range(50):
            await asyncio.sleep(0)
        assert not task.done()
        # The network fix (the story's stale host route) calms the link; the write then lands.
        # (Lowering expected votes is refused while the peer is a member.)
        await c.run("ip route del 192.168.4.201")
        for _ in range(150):  # bounded: at most 300 simulated seconds
            await sim.advance(2)
            for _ in range(20):
                await asyncio.sleep(0)
            if task.done():
                break
        await asyncio.wait_for(task, 5)
        assert (await c.run("cat /etc/pve/sftp-test")).stdout == "x"


async def test_interactive_shell_prompt(sim: SimCluster) -> None:
    async with await connect(sim) as c:
        proc = await c.create_process(term_type="xterm")
        proc.stdin.write("hostname\n")
        buf = ""
        while "ryanrishi\r\n" not in buf.split("hostname", 1)[-1]:
            buf += await asyncio.wait_for(proc.stdout.read(1024), 5)
        assert "root@ryanrishi:~# " in buf
        proc.stdin.write("exit\n")
        await asyncio.wait_for(proc.wait(), 5)
