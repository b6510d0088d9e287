"""The simulator boots a node as a real one boots: pmxcfs before corosync.

pve-cluster.service is ``Before=corosync.service`` (pve-cluster debian/pve-cluster.service), so
a real node's pmxcfs logs ``cpg/quorum/cmap_initialize failed`` until corosync runs, then joins
(``[dcdb] notice: members: ...``); the lab boots its nodes in that order too
(tests/integration/lab.py ``Lab.up``) and the simulator is held to it. A freshly booted
rehearsal node's log must show that start-up, and the journal verdict must call it start-up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pverunbook.pve.verdicts import verdict_journal
from pverunbook.sim import scenarios
from pverunbook.sim.world import World


def _booted(tmp_path: Path) -> World:
    async def build() -> World:  # World makes an asyncio.Event: needs a loop
        world = World(scenarios.get("three-node"), tmp_path, 1.0, seed=1)
        world.build(None)
        world.finish_boot()
        return world
    return asyncio.run(build())


def test_a_booted_node_logs_pmxcfs_waiting_for_corosync_then_joining(tmp_path: Path) -> None:
    world = _booted(tmp_path)
    for node in world.nodes.values():
        lines = [e.msg for e in node.journal if e.unit == "pve-cluster"]
        failed = [i for i, m in enumerate(lines) if "cpg_initialize failed" in m]
        joined = [i for i, m in enumerate(lines) if "[dcdb] notice: members: " in m]
        assert failed and joined and failed[0] < joined[-1], (node.name, lines[:12])
        text = "".join(f"Dec 07 12:00:00 {node.name} pmxcfs[{node.pmxcfs.pid}]: {m}\n"
                       for m in lines)
        found = verdict_journal(text)
        assert not [f for f in found if f.severity in ("warning", "critical")], found
        assert any("waited for corosync" in f.title for f in found), found
