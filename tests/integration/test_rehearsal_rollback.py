"""corosync-tuning's rollback timer, rehearsed over real SSH on the simulated cluster.

The simulator runs the very script the engine writes (``setsid -f nohup sh rollback.sh sleep``),
so these show what the nodes do: COMMIT after the checks leaves the new config and no timer;
no COMMIT brings the old config back on every node with a higher config_version, and the
rollback log says so.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.headless import TerminalDecider
from pverunbook.session import Session
from tests.integration.test_rehearsal_runbooks import Operator, rehearse
from tests.sim.rehearsal import run_on, start_session, status_of

pytest.importorskip("asyncssh")

NODES = ("ryanrishi", "pve001")


class NoCommit(Operator):
    """Confirms the change, then never types COMMIT."""

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            self.typed.append("(nothing)")
            return None
        return await super().confirm(request)


class HeadlessNoCommit(Operator):
    """Headless with ``--confirm nyc`` (the destructive step's answer) and no ``--confirm
    COMMIT``: the COMMIT question goes to the headless decider."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.out = io.StringIO()

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            return await TerminalDecider(confirm_text=["nyc"], interactive=False,
                                         out=self.out).confirm(request)
        return await super().confirm(request)


def timers(events: list[ev.Event], state: str) -> set[str]:
    return {e.node for e in events if isinstance(e, ev.RollbackTimer) and e.state == state}


async def test_commit_keeps_the_change_and_leaves_no_timer(tmp_path: Path) -> None:
    # A steady cluster: on the story's flapping link corosync-tuning stops before any change.
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        status, events, _ = await rehearse(tmp_path, "corosync-tuning", session=session,
                                           sets={"token": "10000"})
        confs = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf") for n in NODES}
        procs = {n: await run_on(session, n, "ps aux") for n in NODES}
        states = {n: await run_on(session, n, "cat /var/lib/pverunbook/rollback/*/state")
                  for n in NODES}
    finally:
        await session.close()
    assert status in ("ok", "completed_with_failures"), status_of(events)
    assert timers(events, "armed") == set(NODES)
    assert timers(events, "committed") == set(NODES)
    assert not timers(events, "fired") and not timers(events, "disarm_failed")
    commits = [e for e in events if isinstance(e, ev.ConfirmationGiven) and e.what == "commit"]
    assert [e.accepted for e in commits] == [True]
    for n in NODES:
        assert "token: 10000" in confs[n] and "config_version: 6" in confs[n], confs[n]
        assert "rollback.sh" not in procs[n], procs[n]
        assert states[n].strip() == "committed", states[n]


async def test_no_commit_restores_the_old_config_everywhere(tmp_path: Path) -> None:
    # A steady cluster: on the outage's flapping link the restored (old) token flaps again and
    # /etc/pve stays read-only on a node for longer than the script waits (it says so).
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        before = await run_on(session, "pve001", "cat /etc/corosync/corosync.conf")
        rb_status, events, _ = await _no_commit(tmp_path, session)
        confs = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf") for n in NODES}
        pve = await run_on(session, "ryanrishi", "cat /etc/pve/corosync.conf")
        logs = {n: await run_on(session, n, "cat /var/log/pverunbook-rollback.log")
                for n in NODES}
    finally:
        await session.close()
    assert rb_status == "failed"
    assert timers(events, "armed") == set(NODES)
    assert timers(events, "fired") == set(NODES), "\n".join(
        f"{e.node} {e.state} {e.message}" for e in events if isinstance(e, ev.RollbackTimer))
    assert "token: 10000" not in before
    old_token = [ln for ln in before.splitlines() if ln.strip().startswith("token:")]
    for n in NODES:
        # The old content, with a config_version above the change's 6 (5 -> 6 -> 7).
        assert "token: 10000" not in confs[n] and "config_version: 7" in confs[n], confs[n]
        assert all(t in confs[n] for t in old_token)
        assert "rollback finished: restored" in logs[n], logs[n]
    assert "config_version: 7" in pve and "token: 10000" not in pve
    from pverunbook.report import render_report

    report = render_report(events)
    assert "## Rollback timers" in report and "timer fired: checkpoint restored" in report


async def test_headless_without_confirm_commit_records_a_refusal(tmp_path: Path) -> None:
    """No --confirm COMMIT: the journal says COMMIT was refused for that reason, with nothing
    typed (never the destructive step's 'nyc'), and the summary says refused, not timed out."""
    from pverunbook.run_diagnosis import not_kept_by_step

    session = await start_session(tmp_path, "nyc-healthy")
    try:
        status, events, _ = await _no_commit(tmp_path, session, HeadlessNoCommit)
    finally:
        await session.close()
    assert status == "failed"
    commits = [e for e in events if isinstance(e, ev.ConfirmationGiven) and e.what == "commit"]
    assert [(e.accepted, e.typed, e.reason) for e in commits] == [
        (False, "", "no --confirm COMMIT was given")]
    assert timers(events, "fired") == set(NODES)
    said = not_kept_by_step(events)["apply"]
    assert "(COMMIT was refused: no --confirm COMMIT was given)" in said, said
    from pverunbook.report import render_report

    report = render_report(events)
    assert "Confirmation (commit) for `apply`: " in report
    assert "typed ` nyc ` — refused" not in report.split("Confirmation (commit)", 1)[1], report


async def _no_commit(tmp_path: Path, session: Session, decider: type[Operator] = NoCommit
                     ) -> tuple[str, list[ev.Event], Session]:
    from pverunbook.engine.journal import read_journal
    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import load_file
    from pverunbook.runbook.params import resolve

    rb = load_file(builtin_dir() / "corosync-tuning.toml")
    values, _ = resolve(rb, {"token": "10000"})
    journal = tmp_path / "no-commit.jsonl"
    engine = session.engine(rb, decider(params={"token": "10000"}), values,
                            journal_path=journal)
    engine.commit_within_override = 8  # real seconds, as the operator would wait
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal), session


async def test_health_check_finds_a_failed_rollback(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "echo '2024-11-19T21:40:23Z pve001 pverunbook-rollback"
                     "[42259] cp-1-pve001: ROLLBACK FAILED on pve001: restored' "
                     ">> /var/log/pverunbook-rollback.log")
        _, events, _ = await rehearse(tmp_path, "cluster-health-check", session=session)
    finally:
        await session.close()
    # a read-only check marks the node with a finding (severity on the expectation) instead
    # of failing the step
    found = [e for e in events if isinstance(e, ev.Finding) and e.step_id == "rollbacks"
             and e.severity == "critical"]
    assert [e.node for e in found] == ["pve001"], found
    assert "rollback failed on this node" in found[0].title


async def test_health_check_finds_a_pending_and_a_stale_rollback_timer(tmp_path: Path) -> None:
    """A timer still armed after the app is gone: pending while its process waits (it will
    undo the change), stale once the process is gone (nothing will keep or undo it)."""
    from pverunbook.engine.rollback_script import Plan, arm_command, script
    from pverunbook.run_diagnosis import diagnose_run

    plan = Plan(node="pve001", tag="cp-test-pve001", seconds=100000, step_id="apply",
                run_id="r1", checkpoint_id="cp-test", files=["/etc/hosts"])
    d = plan.dir
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                     f"{d}/restore/etc/hosts && cat > {d}/rollback.sh <<'PVRB'\n"
                     f"{script(plan)}PVRB\n")
        armed = await run_on(session, "pve001", arm_command(plan))
        assert armed.startswith("armed setsid "), armed
        _, events, _ = await rehearse(tmp_path, "cluster-health-check", session=session)
        _, diag = diagnose_run(events)
        pending = [f for f in diag.faults if f.rule == "rollback-pending"]
        assert [f.nodes for f in pending] == [("pve001",)], [f.rule for f in diag.faults]
        assert "cp-test-pve001: fires in " in pending[0].statement, pending[0].statement
        assert not [f for f in diag.faults if f.rule == "rollback-stale"]
        await run_on(session, "pve001", f"kill $(sed -n 's/^pid=//p' {d}/armed)")
        _, events, _ = await rehearse(tmp_path, "cluster-health-check", session=session)
        _, diag = diagnose_run(events)
        stale = [f for f in diag.faults if f.rule == "rollback-stale"]
        assert [f.nodes for f in stale] == [("pve001",)], [f.rule for f in diag.faults]
        assert not [f for f in diag.faults if f.rule == "rollback-pending"]
        assert "echo committed >" in stale[0].action
    finally:
        await session.close()
