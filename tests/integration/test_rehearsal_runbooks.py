"""Every shipped runbook, end to end, over real SSH against the simulated broken cluster.

The same wiring as ``pverunbook rehearse`` (Session → SimCluster + SSHTransport → Engine →
journal), with an operator who types what is asked. Each test checks the journal holds both
nodes' output, and that the cluster is healed afterwards where the runbook heals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from tests.sim.rehearsal import (
    builtin,
    rehearsal,
    run_engine,
    run_on,
    start_session,
    status_of,
)

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types exactly what each confirmation asks for, and says manual steps are done."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(manual=True, **kw)
        self.typed: list[str] = []

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.typed.append(request.expected)
        return request.expected


async def rehearse(tmp_path: Path, runbook: str, scenario: str = "nyc-outage",
                   sets: dict[str, str] | None = None, session: Session | None = None,
                   ) -> tuple[str, list[ev.Event], Session]:
    """Rehearse a shipped runbook, in ``session`` (left open) or in a new session on
    ``scenario`` (closed after the run)."""
    own = session is None
    if session is None:
        session = await start_session(tmp_path, scenario)
    rb = builtin(runbook)
    values, missing = resolve(rb, sets or {})
    assert not missing or all(any(m in s.params for s in rb.steps) for m in missing)
    try:
        status, events = await run_engine(session, rb, Operator(params=sets or {}), values,
                                          tmp_path / f"{runbook}.jsonl")
    finally:
        if own:
            await session.close()
    return status, events, session


def nodes_with_output(events: list[ev.Event]) -> set[str]:
    return {e.node for e in events if isinstance(e, ev.OutputChunk) and e.text.strip()}


async def test_network_triage_names_the_lossy_link(tmp_path: Path) -> None:
    status, events, _ = await rehearse(tmp_path, "network-triage")
    assert status in ("ok", "completed_with_failures")
    assert nodes_with_output(events) == {"ryanrishi", "pve001"}
    titles = [e.title for e in events if isinstance(e, ev.Finding) and e.severity == "critical"]
    assert any("packet loss to pve001 (192.168.4.201)" in t for t in titles), titles
    assert any("loss at hop 1" in e.title for e in events if isinstance(e, ev.Finding))
    # Read-only: nothing destructive was confirmed.
    assert not [e for e in events if isinstance(e, ev.ConfirmationGiven)
                and e.what == "destructive"]


async def test_network_triage_with_the_physical_checks_not_done_finishes(
        tmp_path: Path) -> None:
    """"Not done" at the triage's manual physical checks: every check still ran, so the run
    ends finished with that step not done by the operator, never "aborted"."""
    async with rehearsal(tmp_path) as session:
        rb = builtin("network-triage")
        values, _ = resolve(rb, {})
        status, events = await run_engine(session, rb, ScriptedDecider(manual=False), values,
                                          tmp_path / "triage.jsonl")
    assert status == "ok"
    (physical,) = [e for e in events if isinstance(e, ev.StepFinished)
                   and e.step_id == "physical"]
    assert physical.status == "skipped"
    assert physical.message.startswith("not done by the operator")
    ran = [e.step_id for e in events if isinstance(e, ev.StepFinished)]
    assert len(ran) == len(rb.steps)


async def test_corosync_tuning_on_the_flapping_cluster_changes_nothing(tmp_path: Path) -> None:
    """The story's cluster with the route still in place: the peer's corosync runs, so the
    expected votes are never lowered, and /etc/pve cannot take the change while the link
    flaps: the run stops before anything changes (fix the network first)."""
    session = await start_session(tmp_path)
    try:
        status, events, _ = await rehearse(tmp_path, "corosync-tuning", session=session,
                                           sets={"token": "10000"})
        conf = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf")
                for n in ("ryanrishi", "pve001")}
    finally:
        await session.close()
    steps = status_of(events)
    assert status != "ok", steps
    assert "apply" not in steps or steps["apply"] != "ok", steps
    assert not [e for e in events if isinstance(e, ev.CommandStarted)
                and "pvecm expected" in e.command]
    for text in conf.values():
        assert "config_version: 5" in text and "token: 10000" not in text


async def test_corosync_tuning_after_the_network_fix(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        before = await run_on(session, "pve001", "pvecm status")
        status, events, _ = await rehearse(tmp_path, "corosync-tuning", session=session,
                                           sets={"token": "10000"})
        after = {n: await run_on(session, n, "pvecm status") for n in ("ryanrishi", "pve001")}
        tokens = {n: await run_on(session, n, "corosync-cmapctl -g totem.token")
                  for n in ("ryanrishi", "pve001")}
        conf = await run_on(session, "pve001", "cat /etc/corosync/corosync.conf")
    finally:
        await session.close()
    steps = status_of(events)
    assert status == "ok", steps
    assert "Config Version:   5" in before
    assert all(steps[s] == "ok" for s in steps if s.startswith("verify")), steps
    assert steps["reload-all"] == "ok"
    assert all("Quorate:          Yes" in out for out in after.values()), after
    assert tokens == {n: "totem.token (u32) = 10000\n" for n in tokens}
    assert "token: 10000" in conf and "config_version: 6" in conf
    assert "token_retransmit" not in conf and "transport: udpu" not in conf
    assert nodes_with_output(events) == {"ryanrishi", "pve001"}
    taken = [e for e in events if isinstance(e, ev.CheckpointTaken)]
    assert taken and all(e.ok for e in taken)
    finds = [e.title for e in events if isinstance(e, ev.Finding)]
    assert not any("udpu" in t for t in finds)


async def test_certificate_regeneration_restores_the_web_ui(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        before = await run_on(session, "ryanrishi", "curl -sk -o /dev/null -w '%{http_code}' "
                                                    "https://localhost:8006 || true")
        status, events, _ = await rehearse(tmp_path, "certificate-regeneration",
                                           session=session)
        assert status == "ok", status_of(events)
        after = await run_on(session, "ryanrishi", "curl -sk -o /dev/null -w '%{http_code}' "
                                                   "https://localhost:8006")
    finally:
        await session.close()
    assert "200" not in before and "200" in after
    assert nodes_with_output(events) == {"ryanrishi", "pve001"}


async def test_vm_config_recovery_brings_vms_back(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        before = await run_on(session, "ryanrishi", "qm list")
        status, events, _ = await rehearse(tmp_path, "vm-config-recovery", session=session,
                                           sets={"source": "processes"})
        assert status == "ok", status_of(events)
        after = await run_on(session, "ryanrishi", "qm list")
        conf = await run_on(session, "ryanrishi", "cat /etc/pve/qemu-server/108.conf")
        review = await run_on(session, "ryanrishi",
                              "cat /root/pverunbook-recovered/108.conf.review")
    finally:
        await session.close()
    assert "media" not in before and "media" in after
    assert "net0: virtio=A6:4C:7B:8B:BE:B0" in conf and "memory: 4096" in conf
    # review notes beside the evidence, never as '#' lines (they would become the VM's Notes)
    assert not any(line.startswith("#") for line in conf.splitlines())
    assert "TODO: " in review and "VM 108" in review
    # with vmid = "all", qm showcmd is compared for every VM, one verdict per VM
    compared = "".join(e.text for e in events if getattr(e, "step_id", "") == "verify-showcmd"
                       and hasattr(e, "text"))
    assert all(f"VM {v}: qm showcmd matches" in compared for v in (101, 104, 108, 110))
    assert nodes_with_output(events) == {"ryanrishi", "pve001"}


def said_in(events: list[ev.Event], step_id: str) -> dict[str, str]:
    """Each node's output of one step (stdout and stderr together)."""
    out: dict[str, str] = {}
    for e in events:
        if isinstance(e, ev.OutputChunk) and e.step_id == step_id:
            out[e.node] = out.get(e.node, "") + e.text
    return out


async def test_vm_config_recovery_of_one_vm_is_not_here_on_the_other_nodes(
        tmp_path: Path) -> None:
    # VM 108 runs on ryanrishi only: pve001 must say "not here" and succeed, not fail the
    # rebuild, the write and the comparison (which left the operator only "skip", and the
    # write that did happen on ryanrishi was then reported as skipped).
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        status, events, _ = await rehearse(tmp_path, "vm-config-recovery", session=session,
                                           sets={"source": "processes", "vmid": "108"})
        conf = await run_on(session, "ryanrishi", "cat /etc/pve/qemu-server/108.conf")
        others = await run_on(session, "pve001", "ls /etc/pve/nodes/pve001/qemu-server/")
    finally:
        await session.close()
    assert status == "ok", status_of(events)
    steps = status_of(events)
    for step_id in ("rebuild-preview", "rebuild-write", "verify-showcmd"):
        assert steps[step_id] == "ok", (step_id, steps[step_id])
        said = said_in(events, step_id)
        assert "VM 108: not here: it runs on ryanrishi" in said["pve001"], said
        assert "not here" not in said["ryanrishi"]
    assert "memory: 4096" in conf
    assert "108.conf" not in others
    assert "VM 108: qm showcmd matches" in said_in(events, "verify-showcmd")["ryanrishi"]


async def test_vm_config_recovery_of_a_vm_running_nowhere_fails(tmp_path: Path) -> None:
    status, events, _ = await rehearse(tmp_path, "vm-config-recovery", "nyc-network-fixed",
                                       sets={"source": "processes", "vmid": "999"})
    assert status != "ok"
    assert status_of(events)["rebuild-preview"] == "failed"
    said = said_in(events, "rebuild-preview")
    assert said and all("VM 999 runs on no node" in text for text in said.values()), said


async def test_vm_config_recovery_without_storage_cfg_writes_nothing(tmp_path: Path) -> None:
    # Without the node's storage.cfg the disks' storage ids are unknown: no VM config is
    # written (none with a guessed `local-lvm`), and the step names the disk and the fix.
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        status, events, _ = await rehearse(
            tmp_path, "vm-config-recovery", session=session,
            sets={"source": "processes", "storage_cfg": "/root/no-such-storage.cfg"})
        listing = await run_on(session, "ryanrishi", "ls /root/pverunbook-recovered/")
        review = await run_on(session, "ryanrishi",
                              "cat /root/pverunbook-recovered/108.conf.review")
    finally:
        await session.close()
    assert status != "ok"
    said = "".join(getattr(e, "text", "") or getattr(e, "message", "") for e in events
                   if getattr(e, "step_id", "") == "rebuild-preview")
    assert "/root/no-such-storage.cfg unreadable" in said
    assert "108.conf.recovered not written" in said
    assert "108.conf.recovered" not in listing  # the preview stopped before the write step
    assert "MISSING: scsi0: /dev/pve/vm-108-disk-0 is a volume of a Proxmox storage" in review
    assert "local-lvm" not in review


async def test_cluster_db_reset_resyncs_one_node(tmp_path: Path) -> None:
    status, events, _ = await rehearse(tmp_path, "cluster-db-reset", scenario="nyc-healthy",
                                       sets={"damaged_node": "pve001"})
    assert status == "ok", status_of(events)
    # nyc-healthy: pve001's database is sound, so naming it needed the explicit phrase
    assert [e.accepted for e in events if isinstance(e, ev.ConfirmationGiven)
            and e.what == "contradicts facts"] == [True]
    assert nodes_with_output(events) == {"ryanrishi", "pve001"}
    destructive = [e for e in events if isinstance(e, ev.StepStarted) and e.destructive]
    assert destructive and all(e.nodes == ("pve001",) for e in destructive)
    assert all(e.ok for e in events if isinstance(e, ev.CheckpointTaken))
