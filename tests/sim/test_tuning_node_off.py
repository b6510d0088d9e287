"""corosync-tuning while one node of three is powered off, rehearsed over SSH.

The node that is off cannot be read, checkpointed, armed or checked, and when it boots its
corosync loads the old /etc/corosync/corosync.conf and exits at its first sync with the others
(corosync exec/cmap.c ``cmap_sync_activate``: "Received config version (N) is different than
my config version (M)! Exiting"); its pmxcfs copies /etc/pve/corosync.conf to the local file
only once it syncs (pve-cluster dcdb.c), which needs corosync. Before, the run stopped at
``apply`` with guard messages about different config_versions and an incomplete inventory
(neither true), and no way on; ``catch-up-stopped`` (``not all(corosync.running)``) never
counted the node that did not answer. Now the change waits for a typed acceptance, goes on
without that node (no checkpoint, no timer there), and the last step names it with the
commands that bring it back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from tests.integration.test_rehearsal_runbooks import Operator
from tests.sim.rehearsal import builtin, run_engine, run_on, start_session, status_of

pytest.importorskip("asyncssh")

PHRASE = "change without the unreachable nodes"


class Refuses(Operator):
    """Types every confirmation but the one that accepts going on without a node."""

    summary = ""

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.expected == PHRASE:
            self.summary = request.summary
            self.typed.append("")
            return None
        return await super().confirm(request)


async def tune_with_pve002_off(tmp_path: Path, operator: Operator,
                               ) -> tuple[Session, str, list[ev.Event]]:
    session = await start_session(tmp_path, "three-node")
    assert session.sim is not None and session.cluster is not None
    await session.sim.power_off("pve002")
    assert set(await session.connect()) == {"pve002"}
    rb = builtin("corosync-tuning")
    values, _ = resolve(rb, {"token": "8000"}, nodes=session.cluster.names)
    status, events = await run_engine(session, rb, operator, values, tmp_path / "tuning.jsonl")
    return session, status, events


def asked(events: list[ev.Event], step_id: str) -> list[ev.ConfirmationRequested]:
    return [e for e in events if isinstance(e, ev.ConfirmationRequested)
            and e.step_id == step_id]


async def test_nothing_is_written_unless_the_operator_accepts_the_missing_node(
        tmp_path: Path) -> None:
    operator = Refuses(params={"token": "8000"})
    session, status, events = await tune_with_pve002_off(tmp_path, operator)
    try:
        files = {n: await run_on(session, n, "grep -h config_version /etc/corosync/corosync.conf"
                                             " /etc/pve/corosync.conf; ls /etc/pve")
                 for n in ("ryanrishi", "pve001")}
    finally:
        await session.close()
    steps = status_of(events)
    assert steps["accept-unreachable"] == "declined" and status != "ok", steps
    assert "edit" not in steps and "apply" not in steps, steps
    assert operator.summary.startswith("ryanrishi: shows the corosync membership"), \
        operator.summary
    assert "while pve002 did not answer SSH: no checkpoint" in operator.summary
    for text in files.values():
        assert text.count("config_version: 5") == 2 and "corosync.conf.new" not in text, text


async def test_accepted_change_skips_the_missing_node_and_says_how_to_bring_it_back(
        tmp_path: Path) -> None:
    operator = Operator(params={"token": "8000"})
    session, status, events = await tune_with_pve002_off(tmp_path, operator)
    try:
        assert session.sim is not None and session.transport is not None
        assert session.cluster is not None
        await session.sim.power_on("pve002")
        booted = await run_on(session, "pve002", "systemctl is-active corosync; "
                              "journalctl -u corosync --no-pager | grep -F 'config version'")
        # what catch-up-unreachable says: the cluster's file into the local one, restart
        new = await session.transport.read_file(session.cluster.node("ryanrishi"),
                                                "/etc/pve/corosync.conf", timeout=30)
        await session.transport.write_file(session.cluster.node("pve002"),
                                           "/etc/corosync/corosync.conf", new, timeout=30)
        await run_on(session, "pve002", "systemctl restart corosync")
        quorate = ""
        for _ in range(200):  # until pve002 is back in the quorate membership
            quorate = await run_on(session, "pve002", "corosync-quorumtool -s")
            if "Quorate:          Yes" in quorate and "Nodes:            3" in quorate:
                break
        after = await run_on(session, "pve002", "corosync-cmapctl -g totem.token; "
                             "grep config_version /etc/pve/corosync.conf")
    finally:
        await session.close()
    steps = status_of(events)
    assert operator.typed[0] == PHRASE
    (accept,) = asked(events, "accept-unreachable")
    assert accept.expected == PHRASE
    assert steps["apply"] == "ok" and steps["verify-links"] == "ok", steps
    assert status == "completed_with_failures", steps  # steps went on without pve002
    guards = {e.check: e for e in events if isinstance(e, ev.GuardResult) and e.step_id == "apply"}
    for check in ("same-config-version", "inventory-complete"):
        assert guards[check].ok and "pve002: not compared: did not answer SSH" \
            in guards[check].message, guards[check].message
    assert any(isinstance(e, ev.Note) and e.step_id == "apply" and e.text.startswith(
        "no checkpoint and no rollback timer on pve002") for e in events)
    (commit,) = asked(events, "apply")[1:]
    assert "every node (ryanrishi, pve001) restores" in commit.prompt, commit.prompt
    (told,) = asked(events, "catch-up-unreachable")
    assert "**pve002** did not answer SSH" in told.prompt
    assert "/etc/pve/corosync.conf /etc/corosync/corosync.conf" in told.prompt
    assert "systemctl restart corosync" in told.prompt and "shows 8000" in told.prompt
    # booted with the old file, its corosync left at the first sync, as the step warns
    assert booted.startswith("inactive\n"), booted
    assert "Received config version (6) is different than my config version (5)! Exiting" \
        in booted, booted
    assert "Quorate:          Yes" in quorate, quorate
    assert after == "totem.token (u32) = 8000\n  config_version: 6\n", after
