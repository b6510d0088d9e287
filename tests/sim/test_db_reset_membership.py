"""cluster-db-reset's ``peers-healthy`` wants the damaged node in the peers' corosync membership.

The peers can be quorate without it: a network split, and on the cut-off node someone ran
``pvecm expected 1`` (so every node, the damaged one too, says ``Quorate: Yes`` and the
``quorum`` step passes). Quorum, a readable /etc/pve and a sound database on every peer used to
be all the step asked, and the run went on to stop pmxcfs on a node whose new, empty pmxcfs had
no peer to sync with. The step now finds the damaged node's nodeid in each peer's corosync
nodelist and wants it listed by ``corosync-quorumtool -l``, and stops with what to fix first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.runbook.params import resolve
from pverunbook.runbook.template import render
from tests.sim.rehearsal import builtin, rehearsal, run_engine, run_on, run_with_status, status_of

pytest.importorskip("asyncssh")

DAMAGED = "pve002"
CUT = ("nft add table inet t && nft 'add chain inet t out {{ type filter hook output priority "
       "0; policy accept; }}' && nft 'add rule inet t out ip daddr {peer} udp dport 5405 drop'")


class Operator(ScriptedDecider):
    def __init__(self, **kw: Any) -> None:
        super().__init__(manual=True, **kw)

    async def confirm(self, request: ConfirmRequest) -> str | None:
        return request.expected


def step_text(events: list[ev.Event], step: str) -> str:
    return "".join(getattr(e, "text", "") or getattr(e, "message", "") for e in events
                   if getattr(e, "step_id", "") == step)


async def test_peers_quorate_without_the_damaged_node_are_a_refusal(tmp_path: Path) -> None:
    rb = builtin("cluster-db-reset")
    sets = {"damaged_node": DAMAGED}
    values, _ = resolve(rb, sets)
    async with rehearsal(tmp_path, "three-node") as session:
        assert session.sim is not None
        world = session.sim.world
        peers = [n for n in world.nodes.values() if n.name != DAMAGED]
        await run_on(session, DAMAGED, "rm /var/lib/pve-cluster/config.db")
        for p in peers:  # a split: the damaged node alone on its side
            assert (await run_with_status(session, DAMAGED, CUT.format(peer=p.addr)))[0] == 0
            await run_with_status(session, p.name, CUT.format(peer=world.nodes[DAMAGED].addr))
        await run_on(session, DAMAGED, "sleep 60")
        st, out = await run_with_status(session, DAMAGED, "pvecm expected 1")
        assert st == 0, out
        st, out = await run_with_status(session, DAMAGED, "corosync-quorumtool -s")
        assert st == 0 and "Nodes:            1" in out, out  # quorate, on its own
        for p in peers:
            st, out = await run_with_status(session, p.name, "corosync-quorumtool -l")
            assert st == 0 and DAMAGED not in out, out
        status, events = await run_engine(session, rb, Operator(params=sets), values,
                                          tmp_path / "split.jsonl")
    steps = status_of(events)
    assert steps.get("quorum") == "ok", steps  # every node says Quorate: Yes
    assert steps.get("peers-healthy") == "failed", steps
    assert status != "ok"
    text = step_text(events, "peers-healthy")
    assert f"NOT-IN-MEMBERSHIP: {DAMAGED} (nodeid 3) is not in the corosync membership" in text
    assert "Fix the network and membership first" in text
    assert not any(isinstance(e, ev.StepStarted) and e.step_id == "stop-cluster-services"
                   for e in events)


async def test_peers_with_the_damaged_node_in_their_membership_pass(tmp_path: Path) -> None:
    step = builtin("cluster-db-reset").step("peers-healthy")
    async with rehearsal(tmp_path, "three-node") as session:
        assert session.sim is not None
        for name in session.sim.world.nodes:
            if name == DAMAGED:
                continue
            values = {"node": name, "damaged_node": DAMAGED, "run_id": "r1"}
            for cmd in step.commands:
                st, out = await run_with_status(session, name, render(cmd, values))
                assert st == 0 and "NOT-IN-MEMBERSHIP" not in out, (cmd, out)
