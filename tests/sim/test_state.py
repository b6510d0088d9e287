"""Rehearsal state kept between launches (save, load, reset) and checked over real SSH."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from pverunbook.sim import SimCluster
from pverunbook.sim.cluster import SimStateError
from pverunbook.sim.state import write_atomic
from tests.sim.test_topology import run


async def test_second_launch_finds_the_cluster_as_it_was_left(tmp_path: Path) -> None:
    d = tmp_path / "state"
    async with SimCluster("nyc-outage", state_dir=d, time_scale=0.02) as sim:
        r = await run(sim, "ryanrishi", "ip route del 192.168.4.201 && systemctl stop pveproxy "
                      "&& echo kept > /root/note")
        assert r.exit_status == 0, r.stderr
        keys = {n.name: n.host_key for n in sim.cluster.nodes}
    saved = json.loads((d / "world.json").read_text())
    assert saved["scenario"] == "nyc-outage"
    assert saved["nodes"]["ryanrishi"]["host_routes"] == []
    assert saved["nodes"]["pve001"]["host_routes"] == []
    assert SimCluster.saved_scenario(d) == "nyc-outage"
    async with SimCluster(None, state_dir=d, time_scale=0.02) as sim:
        assert sim.scenario.name == "nyc-outage"
        assert {n.name: n.host_key for n in sim.cluster.nodes} == keys
        r = await run(sim, "ryanrishi", "ip route; systemctl is-active pveproxy; cat /root/note")
        assert r.stdout == ("default via 192.168.4.1 dev vmbr0 proto kernel onlink \n"
                            "192.168.4.0/24 dev vmbr0 proto kernel scope link src "
                            "192.168.4.200 \ninactive\nkept\n")
        ports = {n.name: n.port for n in sim.cluster.nodes}
        n = sim.cluster.node("ryanrishi")
        old = await asyncssh.connect("127.0.0.1", port=n.port, username="root",
                                     known_hosts=None, client_keys=[str(sim.client_key_path)])
        await sim.reset()
        # a connection into the thrown-away world is closed (clients reconnect to the new one)
        with pytest.raises(asyncssh.Error):
            await old.run("hostname")
        old.close()
        assert {n.name: n.port for n in sim.cluster.nodes} == ports
        r = await run(sim, "ryanrishi", "ip route | grep -c via; systemctl is-active pveproxy; "
                      "cat /root/note")
        assert (r.stdout, r.stderr) == ("2\nactive\n", "cat: /root/note: No such file or "
                                        "directory\n")


async def test_a_state_dir_of_another_scenario_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "state"
    async with SimCluster("nyc-healthy", state_dir=d, time_scale=0.02):
        pass
    with pytest.raises(SimStateError, match="holds a rehearsal of scenario 'nyc-healthy'"):
        SimCluster("five-node", state_dir=d)
    (d / "world.json").write_text("{torn")
    with pytest.raises(SimStateError, match="cannot read the saved rehearsal state"):
        await SimCluster(None, state_dir=d).start()


def test_atomic_write_leaves_old_or_new(tmp_path: Path) -> None:
    p = tmp_path / "world.json"
    write_atomic(p, b"old")
    write_atomic(p, b"new")
    assert p.read_bytes() == b"new"
    assert [x.name for x in tmp_path.iterdir()] == ["world.json"]  # no temp file left behind


@pytest.mark.parametrize("breakage", ["other-scenario", "torn-world", "a-file"])
def test_tui_refuses_an_unusable_state_dir_with_what_where_and_what_to_do(
        tmp_path: Path, breakage: str) -> None:
    """`pverunbook tui --state-dir DIR` with a DIR it cannot use: exit 2 and one message
    naming the directory and what to do, before the app takes the screen; no traceback."""
    import subprocess
    import sys

    d = tmp_path / "state"
    if breakage == "a-file":
        d.write_text("not a directory\n")
    else:
        (d / "nodes").mkdir(parents=True)
        (d / "nodes" / ".sim-state").write_text("nyc-healthy\n" if breakage == "other-scenario"
                                                else "nyc-outage\n")
        if breakage == "torn-world":
            (d / "world.json").write_text("{torn")
    r = subprocess.run([sys.executable, "-m", "pverunbook", "tui", "--state-dir", str(d)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert r.stderr.startswith(("pverunbook: tui: ", "pverunbook: tui --state-dir: "))
    assert str(d) in r.stderr
    assert "--state-dir" in r.stderr  # what to do: another directory (or start over)
