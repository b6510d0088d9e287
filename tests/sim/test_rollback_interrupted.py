"""A rollback timer whose restore was cut short (a reboot, a kill) while it was ``firing``.

The health check took every ``firing`` timer for one still restoring: a node whose rollback
process died half-way was reported as "putting the files back" forever. Now the check asks
whether the process that claimed the restore still runs (its pid in ``claim/pid``, that pid
still running the rollback script, in the same boot), says "restore interrupted" when it does
not, and proposes rollback-settle, which runs the restore again (undo) or marks the timer
committed with the files as they are (keep).

The rehearsal kills the rollback process while it is firing: its script has put /etc/hosts
back and waits in a reload command (blocked until the test lets it go on).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.rollback_script import Plan, arm_command, script
from pverunbook.run_diagnosis import diagnose_run
from pverunbook.session import Session
from tests.integration.test_rehearsal_runbooks import rehearse, run_on, status_of
from tests.sim.rehearsal import start_session

pytest.importorskip("asyncssh")

CHECKPOINT = "r1-apply-1"
NODE = "pve001"
CHANGED = "# changed by the step the timer guards"
#: The reload the script runs after the copies: it waits (as a slow corosync reload or an
#: /etc/pve write without quorum would) until the test creates the file.
GO_ON = "/root/rollback-may-go-on"
PLAN = Plan(node=NODE, tag=f"{CHECKPOINT}-{NODE}", seconds=5, step_id="apply", run_id="r1",
            checkpoint_id=CHECKPOINT, files=["/etc/hosts"],
            reload=[f"while test ! -e {GO_ON}; do sleep 5; done"])


async def _state(session: Session) -> str:
    return (await run_on(session, NODE, f"cat {PLAN.dir}/state")).strip()


async def _wait_for(session: Session, wanted: str) -> str:
    """Poll the timer until its log says ``wanted`` (the process is real: it takes its time)."""
    log = ""
    for _ in range(600):
        log = await run_on(session, NODE, f"cat {PLAN.dir}/log 2>/dev/null")
        if wanted in log:
            return log
        await asyncio.sleep(0.1)
    raise AssertionError(f"{wanted!r} never logged: {log}")


async def _firing(tmp_path: Path) -> Session:
    """A session whose pve001 timer fired, restored /etc/hosts and now waits in its reload."""
    session = await start_session(tmp_path, "three-node")
    d = PLAN.dir
    await run_on(session, NODE, f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                 f"{d}/restore/etc/hosts && cat > {d}/rollback.sh <<'PVRB'\n"
                 f"{script(PLAN)}PVRB\n")
    armed = await run_on(session, NODE, arm_command(PLAN))
    assert armed.startswith("armed setsid "), armed
    await run_on(session, NODE, f"echo '{CHANGED}' >> /etc/hosts")
    await _wait_for(session, "restored /etc/hosts")
    assert await _state(session) == "firing"
    return session


async def _check(tmp_path: Path, session: Session, name: str
                 ) -> list[tuple[str, str, tuple[str, ...], object]]:
    """The health check's rollback faults: (rule, severity, nodes, runbook proposed)."""
    (tmp_path / name).mkdir()
    _, events, _ = await rehearse(tmp_path / name, "cluster-health-check", session=session)
    _, diag = diagnose_run(events)
    return [(f.rule, f.severity, f.nodes, f.next_runbook.to_json() if f.next_runbook else None)
            for f in diag.faults if f.rule.startswith("rollback-")]


async def _kill_the_restore(session: Session) -> None:
    """Kill the rollback process as a reboot would end it: the one that slept, then fired."""
    pid = (await run_on(session, NODE, f"cat {PLAN.dir}/pid")).strip()
    assert pid.isdigit(), pid
    await run_on(session, NODE, f"kill -9 -- -{pid}")
    rc = await run_on(session, NODE, f"kill -0 {pid} 2>/dev/null && echo alive || echo gone")
    assert rc.strip() == "gone"


async def _settle(tmp_path: Path, session: Session, decision: str
                  ) -> tuple[str, list[ev.Event]]:
    (tmp_path / decision).mkdir()
    status, events, _ = await rehearse(tmp_path / decision, "rollback-settle", session=session,
                                       sets={"checkpoint": CHECKPOINT, "decision": decision})
    return status, events


def _shown(events: list[ev.Event], step: str) -> str:
    return "".join(e.text for e in events if isinstance(e, ev.OutputChunk)
                   and e.step_id == step and e.node == NODE)


async def test_a_restore_killed_while_firing_is_reported_interrupted_and_undo_finishes_it(
        tmp_path: Path) -> None:
    session = await _firing(tmp_path)
    try:
        # still restoring: its process runs, so it is the warning "putting back", not critical
        alive = await _check(tmp_path, session, "alive")
        assert alive == [("rollback-pending", "warning", (NODE,), None)], alive
        await _kill_the_restore(session)
        assert await _state(session) == "firing"
        proposed = {"runbook": "rollback-settle", "params": {"checkpoint": CHECKPOINT}}
        after_kill = await _check(tmp_path, session, "killed")
        assert after_kill == [("rollback-interrupted", "critical", (NODE,), proposed)], after_kill
        # after a reboot its pid may be another program's: alive, but not the restore
        other = (await run_on(session, NODE, "pidof pmxcfs")).strip()
        assert other.isdigit(), other
        await run_on(session, NODE, f"echo {other} > {PLAN.dir}/claim/pid")
        reused = await _check(tmp_path, session, "reused")
        assert reused == after_kill, reused
        await run_on(session, NODE, f"touch {GO_ON}")
        status, events = await _settle(tmp_path, session, "undo")
        assert status == "ok", status_of(events)
        assert status_of(events) == {"show": "ok", "choose": "ok", "undo": "ok",
                                     "verify": "ok"}
        assert "restore interrupted: files may be half restored" in _shown(events, "show")
        assert "restore interrupted: running it again" in _shown(events, "undo")
        assert await _state(session) == "done"
        assert CHANGED not in await run_on(session, NODE, "cat /etc/hosts")
        log = await run_on(session, NODE, f"cat {PLAN.dir}/log")
        assert log.count("rollback finished") == 1, log
        assert await _check(tmp_path, session, "after") == []
    finally:
        await session.close()


async def test_keep_after_an_interrupted_restore_marks_it_committed_as_it_is(tmp_path: Path
                                                                             ) -> None:
    session = await _firing(tmp_path)
    try:
        await _kill_the_restore(session)
        status, events = await _settle(tmp_path, session, "keep")
        assert status == "ok", status_of(events)
        assert status_of(events) == {"show": "ok", "choose": "ok", "keep": "ok",
                                     "verify": "ok"}
        assert await _state(session) == "committed"
        # what the cut-short restore put back stays; nothing else ran
        assert CHANGED not in await run_on(session, NODE, "cat /etc/hosts")
        assert "files kept as they are now" in await run_on(session, NODE,
                                                            f"cat {PLAN.dir}/log")
        assert await _check(tmp_path, session, "after") == []
    finally:
        await session.close()
