"""Scenarios of any size over real SSH: per-pair loss, routes, link-local addresses, 5 nodes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from pverunbook.sim import SimCluster
from pverunbook.sim.scenarios import SCENARIOS, link_local
from tests.sim.conftest import STORY_EPOCH


async def run(sim: SimCluster, node: str, command: str) -> asyncssh.SSHCompletedProcess:
    """Run ``command`` on a node over a real SSH connection (host key pinned)."""
    port = sim.port(node)
    n = next((x for x in sim.cluster.nodes if x.name == node), None)
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{port} {n.host_key}\n") if n else None
    async with asyncssh.connect("127.0.0.1", port=port, username="root",
                                client_keys=[str(sim.client_key_path)],
                                known_hosts=known) as conn:
        return await conn.run(command)


@pytest.fixture
async def nyc3(tmp_path: Path) -> AsyncIterator[SimCluster]:
    async with SimCluster("three-node-bad-link", state_dir=tmp_path / "s",
                          time_scale=0.002, stepped_from=STORY_EPOCH) as s:
        yield s


def loss_of(ping_output: str) -> float:
    m = re.search(r"([\d.]+)% packet loss", ping_output)
    assert m, ping_output
    return float(m.group(1))


async def test_three_nodes_one_bad_link_seen_from_both_ends_only(nyc3: SimCluster) -> None:
    addrs = {n.name: n.addr for n in nyc3.cluster.nodes}
    assert list(addrs) == ["ryanrishi", "pve001", "pve002"]
    assert len(set(addrs.values())) == 3
    losses = {}
    for src in addrs:
        for dst, addr in addrs.items():
            if src != dst:
                r = await run(nyc3, src, f"ping -q -c 100 -i 0.2 {addr}")
                losses[src, dst] = loss_of(r.stdout)
    bad = {("pve001", "pve002"), ("pve002", "pve001")}
    for pair, loss in losses.items():
        if pair in bad:
            assert loss >= 5, (pair, losses)
        else:
            assert loss == 0, (pair, losses)
    # the cause: pve001's host route to pve002 through the router, in the table and in `get`
    r = await run(nyc3, "pve001", "ip route; ip route get 192.168.4.202; "
                  "ip route get 192.168.4.200")
    assert "192.168.4.202 via 192.168.4.1 dev vmbr0 \n" in r.stdout
    assert "192.168.4.202 via 192.168.4.1 dev vmbr0 src 192.168.4.201 uid 0 \n" in r.stdout
    assert "192.168.4.200 dev vmbr0 src 192.168.4.201 uid 0 \n" in r.stdout
    r = await run(nyc3, "pve002", "ip route")
    assert "via 192.168.4.1 dev vmbr0 \n" not in r.stdout  # pve002 talks directly
    # mtr: the router hop only where the route is; the loss at the far end from both ends
    r = await run(nyc3, "pve001", "mtr --report --report-cycles=50 -n 192.168.4.202")
    hops = [line.split()[1] for line in r.stdout.splitlines() if ".|--" in line]
    assert hops == ["192.168.4.1", "192.168.4.202"]
    r = await run(nyc3, "ryanrishi", "mtr --report --report-cycles=50 -n 192.168.4.202")
    assert re.search(r"1\.\|-- 192\.168\.4\.202\s+0\.0%", r.stdout), r.stdout


async def test_knet_link_evidence_names_only_the_bad_pair(nyc3: SimCluster) -> None:
    journals = {}
    for n in ("ryanrishi", "pve001", "pve002"):
        r = await run(nyc3, n, "journalctl -u corosync -o cat | grep 'link: 0 is down' | sort -u")
        journals[n] = r.stdout
    assert journals["pve001"] == "[KNET  ] link: host: 3 link: 0 is down\n"
    assert journals["pve002"] == "[KNET  ] link: host: 2 link: 0 is down\n"
    assert journals["ryanrishi"] == ""
    # cfgtool: ryanrishi is connected to both peers at any moment
    for _ in range(5):
        r = await run(nyc3, "ryanrishi", "corosync-cfgtool -s")
        assert r.stdout.count("\tconnected") == 2, r.stdout
        await nyc3.advance(5)


async def test_deleting_the_route_heals_only_that_pair(nyc3: SimCluster) -> None:
    r = await run(nyc3, "pve001", "ip route del 192.168.4.202 && ip route get 192.168.4.202")
    assert r.exit_status == 0, r.stderr
    assert r.stdout.startswith("192.168.4.202 dev vmbr0 src 192.168.4.201")
    r = await run(nyc3, "pve002", "ping -q -c 100 -i 0.2 192.168.4.201")
    assert loss_of(r.stdout) == 0
    r = await run(nyc3, "pve001", "ip route del 192.168.4.202")
    assert (r.exit_status, r.stderr) == (2, "RTNETLINK answers: No such process\n")
    # the link calms: after a while all three are members and stay so
    await nyc3.advance(40)
    r = await run(nyc3, "pve002", "journalctl -u corosync -o cat | grep -c 'is down'")
    before = r.stdout
    await nyc3.advance(100)
    r = await run(nyc3, "pve002", "journalctl -u corosync -o cat | grep -c 'is down'; "
                  "pvecm status | grep -E '^(Nodes|Quorate)'")
    assert r.stdout == before + "Nodes:            3\nQuorate:          Yes\n"


async def test_five_nodes_quorate_with_distinct_addresses(tmp_path: Path) -> None:
    async with SimCluster("five-node", state_dir=tmp_path / "s", time_scale=0.02) as sim:
        names = [n.name for n in sim.cluster.nodes]
        assert len(names) == 5 and len({n.port for n in sim.cluster.nodes}) == 5
        lladdrs = set()
        for name in names:
            r = await run(sim, name, "hostname; ip -br addr show vmbr0; pvecm status")
            lines = r.stdout.splitlines()
            assert lines[0] == name
            fields = lines[1].split()
            assert fields[:2] == ["vmbr0", "UP"]
            assert fields[2] == sim.cluster.node(name).addr + "/24"
            lladdrs.add(fields[3])
            assert "Expected votes:   5" in r.stdout and "Quorum:           3  " in r.stdout
            assert "Quorate:          Yes" in r.stdout
        assert len(lladdrs) == 5 and all(a.startswith("fe80::") for a in lladdrs)
        r = await run(sim, "pve004", "corosync-cfgtool -s | grep -c connected")
        assert r.stdout == "4\n"


def test_link_local_is_the_eui64_of_the_mac() -> None:
    # RFC 4291 appendix A: flip the universal/local bit, insert ff:fe
    assert link_local("1c:69:7a:0d:3e:51") == "fe80::1e69:7aff:fe0d:3e51"
    for sc in SCENARIOS.values():
        assert len({n.link_local for n in sc.nodes}) == len(sc.nodes)
        assert len({n.addr for n in sc.nodes}) == len(sc.nodes)


async def test_ip_output_looks_like_iproute2(nyc3: SimCluster) -> None:
    r = await run(nyc3, "pve002", "ip -br addr; ip link show vmbr0; ip addr show dev vmbr0")
    lines = r.stdout.splitlines()
    assert lines[0] == "lo               UNKNOWN        127.0.0.1/8 ::1/128 "
    assert lines[1] == "enp1s0           UP             "
    assert lines[2] == "vmbr0            UP             192.168.4.202/24 " \
                       "fe80::dabb:c1ff:fe52:7e04/64 "
    assert "3: vmbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode " \
           "DEFAULT group default qlen 1000\n    link/ether d8:bb:c1:52:7e:04 brd " \
           "ff:ff:ff:ff:ff:ff\n" in r.stdout
    assert "    inet6 fe80::dabb:c1ff:fe52:7e04/64 scope link \n" \
           "       valid_lft forever preferred_lft forever\n" in r.stdout


async def test_a_person_fixes_the_route_in_an_interactive_shell(tmp_path: Path) -> None:
    """The story's fix typed line by line in a pty shell over SSH; the world reacts."""
    async with SimCluster("nyc-outage", state_dir=tmp_path / "s", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as sim:
        n = sim.cluster.node("ryanrishi")
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{n.port} {n.host_key}\n")
        async with asyncssh.connect("127.0.0.1", port=n.port, username="root", known_hosts=known,
                                    client_keys=[str(sim.client_key_path)]) as conn:
            proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
            await proc.stdout.readuntil("root@ryanrishi:~# ")
            proc.stdin.write("ip route get 192.168.4.201\n")
            before = await proc.stdout.readuntil("root@ryanrishi:~# ")
            proc.stdin.write("ip route del 192.168.4.201\n")
            await proc.stdout.readuntil("root@ryanrishi:~# ")
            proc.stdin.write("ip route get 192.168.4.201\n")
            after = await proc.stdout.readuntil("root@ryanrishi:~# ")
            proc.stdin.write("exit\n")
            await proc.wait_closed()
        assert "192.168.4.201 via 192.168.4.1 dev vmbr0 src 192.168.4.200" in before
        assert "192.168.4.201 dev vmbr0 src 192.168.4.200 uid 0 \r\n" in after  # pty: CRLF
        # the link calms: no loss either way, and no new link-down line once settled
        r = await run(sim, "pve001", "ping -q -c 50 -i 0.2 192.168.4.200")
        assert loss_of(r.stdout) == 0
        await sim.advance(40)
        count = "journalctl -u corosync -o cat | grep -c 'is down'"
        first = (await run(sim, "ryanrishi", count)).stdout
        await sim.advance(100)
        r = await run(sim, "ryanrishi", count + "; corosync-cfgtool -s | grep 'nodeid: *2:'")
        assert r.stdout == first + "\t\tnodeid:          2:\tconnected\n"


async def test_qdevice_setup_against_the_qnetd_host(tmp_path: Path) -> None:
    async with SimCluster("nyc-healthy", state_dir=tmp_path / "s", time_scale=0.02) as sim:
        qnetd = "192.168.4.250"
        r = await run(sim, "qnetd", "hostname; pvecm status")
        assert (r.stdout, r.exit_status) == ("qnetd\n", 127)  # a plain Debian host
        r = await run(sim, "ryanrishi", f"ping -q -c 5 -i 0.2 {qnetd} && ssh -o BatchMode=yes "
                      f"root@{qnetd} 'systemctl is-active corosync-qnetd && ss -tln'")
        assert r.exit_status == 0 and "active\n" in r.stdout
        assert re.search(r"\*:5403\s", r.stdout), r.stdout
        r = await run(sim, "ryanrishi", "dpkg -s corosync-qdevice | grep Status; "
                      f"pvecm qdevice setup {qnetd}")
        assert r.exit_status == 0, r.stderr
        assert r.stdout.startswith("Status: install ok installed\n")
        for n in ("ryanrishi", "pve001"):
            r = await run(sim, n, "pvecm status; corosync-qdevice-tool -s; ss -tn; "
                          "grep -A7 device /etc/corosync/corosync.conf")
            out = r.stdout
            assert "Expected votes:   3\n" in out and "Total votes:      3\n" in out
            assert "Flags:            Quorate Qdevice \n" in out
            assert "    Nodeid      Votes    Qdevice Name\n" in out
            assert re.search(r"^0x00000001          1    A,V,NMW 192\.168\.4\.200", out, re.M)
            assert "0x00000000          1            Qdevice\n" in out
            assert "State:                  Connected\n" in out
            assert re.search(rf"^tcp +ESTAB .* {qnetd}:5403$", out, re.M), out
            assert "      algorithm: ffsplit\n" in out and f"      host: {qnetd}\n" in out
        r = await run(sim, "qnetd", "corosync-qnetd-tool -l | grep -c 'Vote:  *ACK'")
        assert r.stdout == "2\n"
        # the point of it: one node down, the other keeps quorum (2 of 3 votes)
        await run(sim, "pve001", "systemctl stop corosync")
        r = await run(sim, "ryanrishi", "pvecm status | grep -E '^(Quorate|Total votes)'")
        assert r.stdout == "Quorate:          Yes\nTotal votes:      2\n"


async def test_wiped_scenario_keeps_only_what_pmxcfs_creates(tmp_path: Path) -> None:
    async with SimCluster("nyc-wiped", state_dir=tmp_path / "s", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as sim:
        for n in ("ryanrishi", "pve001"):
            r = await run(sim, n, "cd /etc/pve && find . -type f | sort; ls /etc/pve/local/")
            assert r.stdout.split() == ["./.clusterlog", "./.debug", "./.members", "./.rrd",
                                        "./.version", "./.vmlist", "./corosync.conf"]
            assert "No such file or directory" in r.stderr  # local -> nodes/<node>: dangling
        # fixing the network and regenerating certificates brings back only pvecm's files
        r = await run(sim, "ryanrishi", "ip route del 192.168.4.201")
        assert r.exit_status == 0
        await sim.advance(30)
        r = await run(sim, "ryanrishi", "pvecm updatecerts && ls /etc/pve/; "
                      "ls /etc/pve/storage.cfg /etc/pve/user.cfg")
        assert r.exit_status == 2, r.stderr
        assert r.stdout.split()[:2] == ["(re)generate", "node"]
        assert {"authkey.pub", "pve-root-ca.pem", "pve-www.key", "nodes"} <= set(r.stdout.split())
        assert "ls: cannot access '/etc/pve/storage.cfg': No such file or directory\n" in r.stderr
