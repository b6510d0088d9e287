"""A change a rehearsal node reported done survives a kill -9 of the process holding it.

The rehearsal cluster lives in pverunbook's own process. Its world.json (host routes, stopped
units…) was written only every few seconds and at a clean stop, so route-fix killed right after
``ip route del`` returned came back with the route still there: the resumed run's ``verify``
then said the peer was "still reached through a gateway". Here the process runs a mutating
command over real SSH, is SIGKILLed as soon as the exit status arrived, and the state directory
must hold the change — read from disk and from a relaunched cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook.sim import SimCluster
from tests.sim.test_topology import run

pytest.importorskip("asyncssh")

REPO = Path(__file__).resolve().parents[2]

#: Started in a child process: the autosave is pushed out of reach, so only what the command
#: itself made durable can be on disk when the child dies.
CHILD = """
import asyncio, sys, time
import asyncssh
from pverunbook.sim import cluster
cluster.AUTOSAVE_SECONDS = 3600.0

async def main() -> None:
    sim = cluster.SimCluster("nyc-outage", state_dir=sys.argv[1], time_scale=0.02)
    await sim.start()
    n = sim.cluster.node("ryanrishi")
    async with asyncssh.connect("127.0.0.1", port=n.port, username="root", known_hosts=None,
                                client_keys=[str(sim.client_key_path)]) as conn:
        r = await conn.run(sys.argv[2])
    print(f"exit {r.exit_status}", flush=True)
    time.sleep(600)  # blocks the loop too: nothing more is saved from here on

asyncio.run(main())
"""


def run_then_kill(d: Path, command: str) -> None:
    """Run ``command`` on ryanrishi in a child process holding the rehearsal, SIGKILL the
    child as soon as the exit status arrived; the command must have succeeded."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(d), command],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                             env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert child.stdout is not None
        line = child.stdout.readline().decode()
    finally:
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate(timeout=60)
    assert line == "exit 0\n", err.decode()[-2000:]


def test_a_deleted_route_is_on_disk_when_the_command_returns(tmp_path: Path) -> None:
    d = tmp_path / "state"
    run_then_kill(d, "ip route del 192.168.4.201 via 192.168.4.1")
    saved = json.loads((d / "world.json").read_text())
    assert saved["nodes"]["ryanrishi"]["host_routes"] == [], saved["nodes"]["ryanrishi"]


async def test_the_relaunched_cluster_has_the_change(tmp_path: Path) -> None:
    d = tmp_path / "state"
    await asyncio.to_thread(run_then_kill, d,
                            "ip route del 192.168.4.201 && systemctl stop pveproxy")
    async with SimCluster(None, state_dir=d, time_scale=0.02) as sim:
        r = await run(sim, "ryanrishi", "ip route | grep -c via; systemctl is-active pveproxy")
    assert r.stdout == "1\ninactive\n", (r.stdout, r.stderr)
