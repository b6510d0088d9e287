"""The project's own SSH transport against the rehearsal cluster (wrapped commands, SFTP)."""

from __future__ import annotations

import pytest

from pverunbook.sim import SimCluster

ssh = pytest.importorskip("pverunbook.transport.ssh")


async def test_ssh_transport_runs_times_out_and_moves_files(sim: SimCluster,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = ssh.SSHTransport(mode="rehearsal", known_hosts=tmp_path / "known_hosts",
                         client_keys=[str(sim.client_key_path)], config_paths=[])
    node = sim.cluster.node("ryanrishi")
    chunks: list[tuple[str, str]] = []
    try:
        await t.connect(list(sim.cluster.nodes))
        r = await t.run(node, "hostname; echo e >&2; exit 4", timeout=10,
                        on_output=lambda s, x: chunks.append((s, x)))
        assert r.exit_status == 4
        assert ("stdout", "ryanrishi\n") in chunks and ("stderr", "e\n") in chunks
        r = await t.run(node, "sleep 600", timeout=0.5, on_output=lambda s, x: None)
        assert r.timed_out
        assert not [p for p in sim.node("ryanrishi").procs.values() if p.argv[0] == "sleep"]
        # /etc/pve is writable once the link is fixed (the story's stale host route) and quorate
        await t.run(node, "ip route del 192.168.4.201", timeout=10, on_output=lambda s, x: None)
        for _ in range(150):  # bounded: at most 300 simulated seconds
            q = await t.run(node, "pvecm status | grep -c 'Quorate: *Yes'", timeout=10,
                            on_output=lambda s, x: None)
            if q.exit_status == 0:
                break
            await sim.advance(2)
        await sim.advance(30)  # the membership settles
        await t.write_file(node, "/etc/pve/qemu-server/108.conf", b"name: media\n", mode=0o640,
                           timeout=10)
        assert await t.read_file(node, "/etc/pve/local/qemu-server/108.conf",
                                 timeout=10) == b"name: media\n"
        db = sim.node("ryanrishi").pmxcfs.memdb
        assert db is not None and "nodes/ryanrishi/qemu-server/108.conf" in db.entries
    finally:
        await t.close()
