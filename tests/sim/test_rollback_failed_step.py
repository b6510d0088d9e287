"""A ``commit_within`` step that fails: its rollback timers are stopped at once when it changed
nothing, and kept (with what to do said plainly) when it may have changed something.

The timers are armed before the step's commands. A headless corosync-tuning whose apply refused
at its version check (the ``.new`` copy gone, nothing moved) still waited the whole commit window
(420 s) for timers that could only put back what was there. Now the engine compares, on every
armed node, the checkpointed files with the checkpoint right after the failure: the same, the
timers are stopped (as COMMIT stops them) and the run ends; a file differs, the timers stay and
restore it, and the run waits for them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, FailureChoice
from pverunbook.engine.journal import read_journal
from pverunbook.engine.rollback import AT_END_WAIT
from pverunbook.engine.rollback_unchanged import NOTHING_CHANGED
from pverunbook.headless import TerminalDecider
from pverunbook.runbook.loader import load_text
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from tests.integration.test_rehearsal_runbooks import Operator
from tests.sim.rehearsal import builtin, run_on, start_session, status_of

pytest.importorskip("asyncssh")

NODES = ("ryanrishi", "pve001")
ROOT = "/var/lib/pverunbook/rollback"


class Headless(Operator):
    """``--headless --confirm nyc``: types the destructive step's answer; a failure follows the
    runbook (the headless decider's answer without a terminal). ``before`` runs on the cluster
    when the destructive step's question is asked (after the checks and the edit)."""

    def __init__(self, session: Session, before: str = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.before = before
        self.out = io.StringIO()

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "destructive" and self.before:
            await run_on(self.session, NODES[0], self.before)
        return await super().confirm(request)

    async def after_failure(self, step: Any, status: str) -> FailureChoice:
        return await TerminalDecider(interactive=False, out=self.out).after_failure(step, status)


def _timers(events: list[ev.Event]) -> list[tuple[str, str, str]]:
    return [(e.node, e.state, e.message) for e in events if isinstance(e, ev.RollbackTimer)]


def _notes(events: list[ev.Event], step: str) -> list[str]:
    return [e.text for e in events if isinstance(e, ev.Note) and e.step_id == step]


async def test_an_apply_that_changed_nothing_stops_its_timers_at_once(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        before = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf") for n in NODES}
        rb = builtin("corosync-tuning")
        values, _ = resolve(rb, {"token": "10000"})
        # the .new copy is gone when the apply runs: it refuses at its version check, under
        # the lock, before it moves anything
        operator = Headless(session, "rm /etc/pve/corosync.conf.new", params={"token": "10000"})
        engine_status, events = await _run(session, rb, operator, values, tmp_path, 60)
        after = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf") for n in NODES}
        states = {n: (await run_on(session, n, f"cat {ROOT}/*/state")).strip() for n in NODES}
        lock = await run_on(session, NODES[0], "ls /etc/pve/priv/lock/")
    finally:
        await session.close()
    assert engine_status == "failed"
    assert status_of(events)["apply"] == "failed"
    armed = [t for t in _timers(events) if t[1] == "armed"]
    assert {n for n, _, _ in armed} == set(NODES)
    stopped = [t for t in _timers(events) if t[1] != "armed"]
    assert {(n, s) for n, s, _ in stopped} == {(n, "disarmed") for n in NODES}, stopped
    assert all(m.startswith(NOTHING_CHANGED) for _, _, m in stopped), stopped
    notes = _notes(events, "apply")
    said = [t for t in notes if "before it changed anything" in t]
    assert len(said) == 1, notes
    assert "on ryanrishi, pve001" in said[0] and "timers are stopped now" in said[0], said
    assert not [t for t in notes if AT_END_WAIT in t], notes  # no wait for the timers
    assert states == {n: "committed" for n in NODES}
    assert after == before
    assert "file-corosync_conf" not in lock


CHANGE = '''
id = "change-then-fail"
title = "A change that fails after changing a file"
[[steps]]
id = "change"
title = "Change /etc/hosts, then fail"
targets = "pve001"
destructive = true
confirm = "pve001"
commands = ["echo '# changed' >> /etc/hosts", "{first}"]
commit_within = 60
commit_checks = ["check"]
[steps.backup]
files = ["/etc/hosts"]
[[steps]]
id = "check"
title = "The change is in place"
kind = "check"
targets = "pve001"
commands = ["grep -x '# changed' /etc/hosts"]
'''


async def test_a_step_that_changed_a_file_keeps_its_timers_and_says_what_to_do(
        tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        hosts = await run_on(session, "pve001", "cat /etc/hosts")
        rb = load_text(CHANGE.replace("{first}", "false"))
        engine_status, events = await _run(session, rb, Headless(session), {}, tmp_path, 6)
        after = await run_on(session, "pve001", "cat /etc/hosts")
    finally:
        await session.close()
    assert engine_status == "failed"
    states = [(n, s) for n, s, _ in _timers(events)]
    assert states == [("pve001", "armed"), ("pve001", "fired")], _timers(events)
    notes = _notes(events, "change")
    said = [t for t in notes if "may have changed the nodes" in t]
    assert len(said) == 1, notes
    assert "on pve001, /etc/hosts differs from checkpoint" in said[0], said
    assert "timers stay armed on pve001" in said[0] and "do not re-run 'change'" in said[0]
    assert after == hosts  # the timer put it back


async def test_a_step_that_failed_first_leaves_no_timer_and_goes_on(tmp_path: Path) -> None:
    """The same runbook failing at its first command, on_failure followed: stopped at once
    too, so a failure that changed nothing never waits, whatever the runbook does next."""
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        hosts = await run_on(session, "pve001", "cat /etc/hosts")
        rb = load_text(CHANGE.replace("echo '# changed' >> /etc/hosts", "false")
                       .replace("{first}", "true"))
        engine_status, events = await _run(session, rb, Headless(session), {}, tmp_path, 60)
        after = await run_on(session, "pve001", "cat /etc/hosts")
    finally:
        await session.close()
    assert engine_status == "failed"
    assert [(n, s) for n, s, _ in _timers(events)] == [("pve001", "armed"),
                                                       ("pve001", "disarmed")]
    assert after == hosts


async def _run(session: Session, rb: Any, operator: Operator, values: dict[str, Any],
               tmp_path: Path, seconds: int) -> tuple[str, list[ev.Event]]:
    """One run with a commit window of ``seconds`` (real ones: a run that waits for its timers
    waits that long), its status and its journal's events."""
    journal = tmp_path / f"{rb.id}.jsonl"
    engine = session.engine(rb, operator, values, journal_path=journal)
    engine.commit_within_override = seconds
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal)


class RerunOnce(Headless):
    """Chooses Re-run at the first failure (the TUI's and the terminal's choice), then follows
    the runbook."""

    async def after_failure(self, step: Any, status: str) -> FailureChoice:
        self.asked.append(f"failure:{step.id}")
        if self.asked.count(f"failure:{step.id}") == 1:
            return FailureChoice.RERUN
        return await super().after_failure(step, status)


async def test_a_rerun_while_the_first_attempts_timers_are_armed_does_not_run(
        tmp_path: Path) -> None:
    """Re-run after a failure that may have changed a file: the second attempt armed a second
    set of timers and the run forgot the first, which then restored the checkpoint at its own
    deadline, after (and over) whatever the second attempt did and COMMIT kept. The second
    attempt is refused now, saying why, and the run waits for the first attempt's timers."""
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        hosts = await run_on(session, "pve001", "cat /etc/hosts")
        rb = load_text(CHANGE.replace("{first}", "false"))
        operator = RerunOnce(session)
        engine_status, events = await _run(session, rb, operator, {}, tmp_path, 6)
        after = await run_on(session, "pve001", "cat /etc/hosts")
        dirs = await run_on(session, "pve001", f"ls {ROOT}")
    finally:
        await session.close()
    assert engine_status == "aborted"
    assert [(n, s) for n, s, _ in _timers(events)] == [("pve001", "armed"), ("pve001", "fired")]
    finished = [e for e in events if isinstance(e, ev.StepFinished) and e.step_id == "change"]
    assert [e.status for e in finished] == ["failed", "blocked"], finished
    why = finished[-1].message
    assert "previous attempt's rollback timers are still armed on pve001" in why, why
    assert "it did not run again" in why and "then run the runbook again" in why, why
    assert not [e for e in events if isinstance(e, ev.CommandStarted)
                and e.step_id == "change" and e.command.startswith("echo")][1:]
    assert len(dirs.split()) == 1, dirs  # one timer was armed on the node, not two
    assert after == hosts


@pytest.mark.parametrize("delete", ["false", "ip route del {{destination}} via {{via}}; false"])
async def test_a_recorded_rollback_compares_what_it_would_put_back(tmp_path: Path,
                                                                   delete: str) -> None:
    """route-fix's rollback restores no file: it records the route's line and puts that back.
    Its delete failing with the route still in place records the same line again: nothing to
    put back, the timer is stopped. Failing after the route went: the timer stays and does."""
    from pverunbook.runbook.catalog import builtin_dir

    text = (builtin_dir() / "route-fix.toml").read_text()
    rb = load_text(text.replace('commands = ["ip route del {{destination}} via {{via}}"]',
                                f'commands = ["{delete}"]'))
    session = await start_session(tmp_path, "nyc-outage")
    try:
        assert session.cluster is not None
        values, _ = resolve(rb, {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                 "via": "192.168.4.1"}, nodes=session.cluster.names)
        before = await run_on(session, "ryanrishi", "ip route show exact 192.168.4.201")
        engine_status, events = await _run(session, rb, Headless(session), values, tmp_path, 6)
        after = await run_on(session, "ryanrishi", "ip route show exact 192.168.4.201")
    finally:
        await session.close()
    assert engine_status == "failed"
    assert status_of(events)["delete"] == "failed"
    states = [s for _, s, _ in _timers(events)]
    notes = _notes(events, "delete")
    if delete == "false":
        assert states == ["armed", "disarmed"], _timers(events)
        assert any("before it changed anything" in t for t in notes), notes
    else:
        assert states == ["armed", "fired"], _timers(events)
        said = [t for t in notes if "may have changed the nodes" in t]
        assert len(said) == 1, notes
        assert "on ryanrishi, what its rollback puts back is no longer there as recorded" \
            in said[0], said
    assert before.strip() and after == before
