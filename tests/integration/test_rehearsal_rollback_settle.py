"""rollback-settle on the rehearsal cluster: a stale rollback timer kept or undone on every node
of its checkpoint, with the health check naming it before and not after.

The timers are the engine's own (rollback_script.script / arm_command) on two of three nodes of
one checkpoint, made stale as a reboot would (their ``sleep`` killed), with the guarded file
changed after arming, as the step it guards would have changed it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.rollback_script import Plan, arm_command, script
from pverunbook.pve.diagnosis.rollbacks import checkpoint_of
from pverunbook.run_diagnosis import diagnose_run
from pverunbook.session import Mode, Session, SessionConfig
from tests.integration.test_rehearsal_runbooks import rehearse, run_on, status_of

pytest.importorskip("asyncssh")

CHECKPOINT = "r1-apply-1"
ARMED = ("ryanrishi", "pve001")  # of the three: pve002 has no timer of this checkpoint
CHANGED = "# changed by the step the timer guards"


def skipped(events: list[ev.Event]) -> set[str]:
    return {e.step_id for e in events if isinstance(e, ev.StepSkipped)}


async def _stale_timers(tmp_path: Path, alive: bool = False) -> Session:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="three-node",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    for node in ARMED:
        plan = Plan(node=node, tag=f"{CHECKPOINT}-{node}", seconds=100000, step_id="apply",
                    run_id="r1", checkpoint_id=CHECKPOINT, files=["/etc/hosts"])
        d = plan.dir
        await run_on(session, node, f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                     f"{d}/restore/etc/hosts && cat > {d}/rollback.sh <<'PVRB'\n"
                     f"{script(plan)}PVRB\n")
        armed = await run_on(session, node, arm_command(plan))
        assert armed.startswith("armed setsid "), armed
        await run_on(session, node, f"echo '{CHANGED}' >> /etc/hosts")
        if not alive:
            await run_on(session, node, f"kill $(sed -n 's/^pid=//p' {d}/armed)")
    return session


async def _check(tmp_path: Path, session: Session, name: str) -> list[str]:
    (tmp_path / name).mkdir()
    _, events, _ = await rehearse(tmp_path / name, "cluster-health-check", session=session)
    _, diag = diagnose_run(events)
    return [f"{f.rule} {','.join(f.nodes)} "
            f"{f.next_runbook.to_json() if f.next_runbook else None}" for f in diag.faults
            if f.rule.startswith("rollback-")]


async def _settle(tmp_path: Path, session: Session, decision: str
                  ) -> tuple[str, list[ev.Event]]:
    (tmp_path / decision).mkdir()
    status, events, _ = await rehearse(tmp_path / decision, "rollback-settle", session=session,
                                       sets={"checkpoint": CHECKPOINT, "decision": decision})
    return status, events


async def test_undo_puts_the_files_back_on_every_node_of_the_checkpoint(tmp_path: Path
                                                                        ) -> None:
    session = await _stale_timers(tmp_path)
    try:
        before = await _check(tmp_path, session, "before")
        proposed = {"runbook": "rollback-settle", "params": {"checkpoint": CHECKPOINT}}
        assert before == [f"rollback-stale {n} {proposed}" for n in ARMED], before
        status, events = await _settle(tmp_path, session, "undo")
        assert status == "ok", status_of(events)
        assert status_of(events) == {"show": "ok", "choose": "ok", "undo": "ok",
                                     "verify": "ok"}
        assert skipped(events) == {"found", "keep"}
        # a destructive step: confirmed by typing, after a checkpoint of the live files
        assert [e.step_id for e in events if isinstance(e, ev.CheckpointTaken)] == ["undo"]
        for node in ARMED:
            hosts = await run_on(session, node, "cat /etc/hosts")
            assert CHANGED not in hosts, (node, hosts)
            state = await run_on(session, node, f"cat /var/lib/pverunbook/rollback/"
                                                f"{CHECKPOINT}-{node}/state")
            assert state.strip() == "done", (node, state)
        assert "no rollback timer of" in await run_on(
            session, "pve002", f"test -d /var/lib/pverunbook/rollback/{CHECKPOINT}-pve002 "
                               f"&& echo there || echo 'no rollback timer of'")
        assert await _check(tmp_path, session, "after") == []
    finally:
        await session.close()


async def test_keep_marks_the_timers_committed_and_changes_nothing_else(tmp_path: Path
                                                                        ) -> None:
    session = await _stale_timers(tmp_path)
    try:
        status, events = await _settle(tmp_path, session, "keep")
        assert status == "ok", status_of(events)
        assert status_of(events) == {"show": "ok", "choose": "ok", "keep": "ok",
                                     "verify": "ok"}
        assert skipped(events) == {"found", "undo"}
        for node in ARMED:
            assert CHANGED in await run_on(session, node, "cat /etc/hosts"), node
            state = await run_on(session, node, f"cat /var/lib/pverunbook/rollback/"
                                                f"{CHECKPOINT}-{node}/state")
            assert state.strip() == "committed", (node, state)
        assert await _check(tmp_path, session, "after") == []
    finally:
        await session.close()


async def test_the_question_names_each_nodes_timer_state(tmp_path: Path) -> None:
    """keep or undo?: the question said nothing of the nodes. It names each one's timer now:
    stale on ryanrishi, fired (restore done) on pve001, none on pve002."""
    session = await _stale_timers(tmp_path)
    try:
        await run_on(session, "pve001",
                     f"echo done > /var/lib/pverunbook/rollback/{CHECKPOINT}-pve001/state")
        status, events = await _settle(tmp_path, session, "keep")
    finally:
        await session.close()
    assert status == "ok", status_of(events)
    (said,) = [e.text for e in events if isinstance(e, ev.Note) and e.step_id == "choose"]
    assert said.startswith("Each node's rollback timer of this checkpoint — "), said
    assert "ryanrishi: armed, its process gone (stale)" in said, said
    assert "pve001: fired: the checkpoint's files are back" in said, said
    assert "pve002: no timer of this checkpoint" in said, said
    # the Note comes before the answer it informs
    kinds = [(type(e).__name__, e.step_id) for e in events
             if isinstance(e, ev.Note | ev.ParamsSet) and e.step_id == "choose"]
    assert kinds == [("Note", "choose"), ("ParamsSet", "choose")], kinds


async def test_a_timer_that_still_waits_is_not_touched(tmp_path: Path) -> None:
    """Alive: it fires by itself; the run stops at the first step, before the question."""
    session = await _stale_timers(tmp_path, alive=True)
    try:
        status, events = await _settle(tmp_path, session, "undo")
        assert status != "ok"
        assert status_of(events).get("show") == "failed", status_of(events)
        assert set(status_of(events)) == {"show"}
        for node in ARMED:
            assert CHANGED in await run_on(session, node, "cat /etc/hosts"), node
            state = await run_on(session, node, f"cat /var/lib/pverunbook/rollback/"
                                                f"{CHECKPOINT}-{node}/state")
            assert state.strip() == "armed", (node, state)
    finally:
        await session.close()


async def test_a_checkpoint_no_node_has_stops_before_anything_is_asked(tmp_path: Path
                                                                      ) -> None:
    """A misspelt id must not read as settled: the run fails before the question, nothing is
    confirmed, no checkpoint is taken, and the real timers are left as they were."""
    session = await _stale_timers(tmp_path)
    try:
        (tmp_path / "wrong").mkdir()
        status, events, _ = await rehearse(
            tmp_path / "wrong", "rollback-settle", session=session,
            sets={"checkpoint": CHECKPOINT + "x", "decision": "undo"})
        assert status != "ok"
        assert status_of(events) == {"show": "ok", "found": "failed"}, status_of(events)
        assert not [e for e in events if isinstance(e, ev.CheckpointTaken)]
        assert any("the id is misspelt" in str(e) for e in events)
        for node in ARMED:
            state = await run_on(session, node, f"cat /var/lib/pverunbook/rollback/"
                                                f"{CHECKPOINT}-{node}/state")
            assert state.strip() == "armed", (node, state)
    finally:
        await session.close()


async def test_the_first_step_names_the_commands_undo_would_run(tmp_path: Path) -> None:
    """A timer that changes no file (route-fix's: its script runs ``ip route replace``) has no
    diff to show: the question must not be asked blind, so the commands are listed."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="three-node",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    route = "ip route replace 192.0.2.7 via 192.0.2.1"
    try:
        plan = Plan(node="pve001", tag=f"{CHECKPOINT}-pve001", seconds=100000,
                    step_id="delete", run_id="r1", checkpoint_id=CHECKPOINT, reload=[route])
        await run_on(session, "pve001", f"mkdir -p {plan.dir} && cat > {plan.dir}/rollback.sh "
                     f"<<'PVRB'\n{script(plan)}PVRB\n")
        assert (await run_on(session, "pve001", arm_command(plan))).startswith("armed setsid ")
        await run_on(session, "pve001", f"kill $(sed -n 's/^pid=//p' {plan.dir}/armed)")
        status, events = await _settle(tmp_path, session, "keep")
        assert status == "ok", status_of(events)
        shown = "".join(e.text for e in events if isinstance(e, ev.OutputChunk)
                        and e.step_id == "show" and e.node == "pve001")
        assert f"undo also runs: {route}\n" in shown, shown
    finally:
        await session.close()


def test_the_checkpoint_is_the_tag_without_its_node() -> None:
    assert checkpoint_of("r1-apply-1-pve001", "pve001") == "r1-apply-1"
    assert checkpoint_of("r1-apply-1-pve.001", "pve.001") == "r1-apply-1"
    assert checkpoint_of("by-hand", "pve001") == ""
    assert checkpoint_of("-pve001", "pve001") == ""
