"""The test bed itself: N real corosync nodes reachable over real SSH, and its faults.

Every claim here comes from the real programs (corosync-quorumtool, corosync-cfgtool, ping,
OpenSSH's sshd via pverunbook's asyncssh transport), never from the bed's shims.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.integration.bed import Bed
from tests.integration.bed_fixture import bed, healthy_bed, run_runbook, start_pverunbook

__all__ = ["bed", "healthy_bed"]  # fixtures, imported so pytest finds them here

WHOAMI = """\
id = "bed-whoami"
title = "Which node am I on?"
version = "1"

[[steps]]
id = "who"
title = "hostname, corosync's view"
kind = "check"
targets = "all"
commands = ["hostname", "corosync-cfgtool -s", "corosync-quorumtool -s"]
timeout = 20
"""

SLOW = """\
id = "bed-slow"
title = "A command that takes a while"
version = "1"

[[steps]]
id = "slow"
title = "sleep"
kind = "check"
targets = "all"
commands = ["echo started; sleep 20; echo finished"]
timeout = 60
on_failure = "continue"
"""


def node_lines(output: str, node: str) -> str:
    """What pverunbook --headless printed as ``node | line`` for one node."""
    return "\n".join(m.group(1) for m in
                     re.finditer(rf"^\s*{re.escape(node)} \| (.*)$", output, re.M))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("bed", [2, 3, 5], indirect=True)
def test_every_node_is_its_own_corosync_node_over_ssh(bed: Bed, tmp_path: Path) -> None:
    names = [n.name for n in bed.nodes]
    for name in names:
        quorate, members = bed.quorum(name)
        assert quorate and members == len(names), (name, quorate, members)
    res = run_runbook(bed, write(tmp_path, "whoami.toml", WHOAMI), tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    for n in bed.nodes:
        out = node_lines(res.stdout, n.name)
        assert out.splitlines()[0] == n.name, out  # its own UTS namespace
        assert f"Local node ID {n.nodeid}, transport knet" in out
        assert f"addr\t= {n.addr}" in out
        assert out.count("connected") == len(names) - 1
        assert re.search(rf"^Nodes:\s+{len(names)}$", out, re.M), out


def test_corosync_udp_drop_leaves_icmp_alone(healthy_bed: Bed) -> None:
    bed = healthy_bed
    bed.drop("bravo", "charlie", 100)
    deadline = time.monotonic() + 30
    while "disconnected" not in bed.on("bravo", ["corosync-cfgtool", "-s"]).stdout:
        assert time.monotonic() < deadline, "knet never noticed the dropped UDP"
        time.sleep(0.5)
    ping = bed.on("bravo", ["ping", "-c", "5", "-i", "0.2", "-W", "1", bed.node("charlie").addr])
    assert " 0% packet loss" in ping.stdout, ping.stdout
    links = bed.on("alpha", ["corosync-cfgtool", "-s"]).stdout
    assert "disconnected" not in links, links  # only the chosen pair


def test_cut_link_stops_icmp_too(healthy_bed: Bed) -> None:
    bed = healthy_bed
    bed.cut("alpha", "charlie")
    ping = bed.on("alpha", ["ping", "-c", "2", "-i", "0.2", "-W", "1", bed.node("charlie").addr])
    assert "100% packet loss" in ping.stdout, ping.stdout
    ok = bed.on("alpha", ["ping", "-c", "2", "-i", "0.2", "-W", "1", bed.node("bravo").addr])
    assert " 0% packet loss" in ok.stdout, ok.stdout


def test_stopped_corosync_leaves_the_others_quorate(healthy_bed: Bed) -> None:
    bed = healthy_bed
    bed.stop_corosync("charlie")
    bed.wait_quorate(["alpha", "bravo"], members=2)
    res = bed.on("charlie", ["corosync-quorumtool", "-s"])
    assert res.returncode != 0


def test_stopped_sshd_refuses_new_logins_only_there(healthy_bed: Bed, tmp_path: Path) -> None:
    bed = healthy_bed
    bed.stop_sshd("bravo")
    res = run_runbook(bed, write(tmp_path, "whoami.toml", WHOAMI), tmp_path, timeout=120)
    assert res.returncode != 0
    assert "bravo" in res.stdout + res.stderr
    assert "Local node ID 2" not in res.stdout


def test_kill_ssh_session_mid_command(healthy_bed: Bed, tmp_path: Path) -> None:
    bed = healthy_bed
    log = tmp_path / "run.out"
    proc = start_pverunbook(
        bed, "run", str(write(tmp_path, "slow.toml", SLOW)), "--cluster", str(bed.inventory),
        "--headless", "--confirm", "bed", state=tmp_path, out=log)
    try:
        deadline = time.monotonic() + 60
        while "started" not in node_lines(log.read_text(), "charlie"):
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.2)
        assert bed.kill_sessions("charlie") >= 1
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = log.read_text()
    assert proc.returncode != 0
    assert "finished" in node_lines(out, "alpha")
    assert "finished" not in node_lines(out, "charlie")
