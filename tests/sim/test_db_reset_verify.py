"""cluster-db-reset's ``verify-services`` judges the pmxcfs the runbook started, not an older one.

The node's journal already says ``all data is up to date`` from before the reset (every pmxcfs
start logs it). The check used to read the last ten minutes of it, so a pmxcfs started by the
runbook that never synced still passed. It now reads the log from the start the previous step
recorded, and wants ``starting data syncronisation`` before ``all data is up to date``: pmxcfs
alone in its membership logs the second line at once without syncing anything (dfsm.c: a
membership of one goes straight to synced), the first only with peers to sync with.
"""

from __future__ import annotations

import re
from pathlib import Path

from pverunbook.runbook.template import render
from tests.sim.rehearsal import builtin, rehearsal, run_with_status

DAMAGED = "pve002"
CUT = ("nft add table inet t && nft 'add chain inet t out {{ type filter hook output priority "
       "0; policy accept; }}' && nft 'add rule inet t out ip daddr {peer} udp dport 5405 drop'")


async def test_sim_verify_services_reads_only_the_restarted_pmxcfs(tmp_path: Path) -> None:
    rb = builtin("cluster-db-reset")
    start, verify = rb.step("start-cluster-services"), rb.step("verify-services")
    values = {"run_id": "r1", "node": DAMAGED, "damaged_node": DAMAGED}
    wanted = [e for e in verify.expect if e.match is not None]
    assert wanted

    async def judged() -> tuple[bool, str]:
        out = ""
        for cmd in verify.commands:
            st, text = await run_with_status(session, DAMAGED, render(cmd, values), timeout=90)
            assert st == 0, text
            out += text
        return all(re.search(e.match or "", out, re.M) for e in wanted), out

    async with rehearsal(tmp_path, "three-node") as session:
        assert session.sim is not None
        world = session.sim.world
        peers = [n for n in world.nodes.values() if n.name != DAMAGED]
        before = await run_with_status(session, DAMAGED, "journalctl -u pve-cluster --no-pager")
        assert "all data is up to date" in before[1]  # from before the reset
        assert (await run_with_status(session, DAMAGED, "systemctl stop pve-cluster"))[0] == 0
        # the damaged node cut off from its peers: its new pmxcfs is alone
        for p in peers:
            assert (await run_with_status(session, DAMAGED, CUT.format(peer=p.addr)))[0] == 0
            await run_with_status(session, p.name, CUT.format(peer=world.nodes[DAMAGED].addr))
        await run_with_status(session, DAMAGED, "sleep 60")
        for cmd in start.commands:
            assert (await run_with_status(session, DAMAGED, render(cmd, values)))[0] == 0
        ok, out = await judged()
        assert "all data is up to date" in out  # alone, it says so, having synced nothing
        assert not ok, out
        # back with its peers: it syncs, and the check passes
        for n in [DAMAGED, *(p.name for p in peers)]:
            await run_with_status(session, n, "nft delete table inet t")
        await run_with_status(session, DAMAGED, "sleep 60")
        ok, out = await judged()
        assert ok, out
