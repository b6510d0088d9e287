"""Rollback timers against a real OpenSSH sshd (real sh, setsid, sleep, cp, mv, kill).

- The timer outlives the SSH session: every connection is killed right after arming, and the
  node still restores the file by itself.
- COMMIT after a reconnect: the connection drops before the check, the engine reconnects, the
  check passes, COMMIT stops the timer (no rollback process left) and the change stays.
- "Roll back now" rolls back now: the node's timer fires at once (not at its deadline, ten
  minutes away), the run journals ``fired`` and the refusal as the operator's, and a second
  "fire now" racing the first restores nothing twice.
- A rollback that itself fails is named loudly: the journal's ``failed`` event and an error
  note point at the log, which says FAILED.

The node directory and log sit in the login user's scratch directory (the user is not root);
timers are 3 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine import rollback_script as rs
from pverunbook.engine.checkpoints import CheckpointStore
from pverunbook.engine.decisions import (
    ROLLED_BACK,
    ConfirmRequest,
    FailureChoice,
    Refusal,
    ScriptedDecider,
)
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster
from pverunbook.report import render_report
from pverunbook.runbook.loader import load_text
from tests.integration.sshd_fixture import Sshd, sshd
from tests.integration.test_ssh_openssh import make, node

__all__ = ["sshd"]


def book(conf: Path) -> str:
    return f'''
id = "rb"
title = "Rollback"
[[steps]]
id = "change"
title = "Change the file"
targets = "n1"
destructive = true
confirm = "n1"
commands = ["echo new > {conf}"]
commit_within = 60
commit_checks = ["check"]
[steps.backup]
files = ["{conf}"]
[[steps]]
id = "check"
title = "The change is in place"
kind = "check"
targets = "n1"
commands = ["grep -x new {conf}"]
'''


class Operator(ScriptedDecider):
    def __init__(self, commit: bool) -> None:
        super().__init__(reconnect=True, failure=FailureChoice.RERUN)
        self.commit = commit

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            return "COMMIT" if self.commit else None
        return request.expected


def setup(sshd: Sshd, tmp_path: Path, decider: ScriptedDecider, name: str
          ) -> tuple[Engine, Path, Path, list[ev.Event]]:
    work = sshd.scratch / f"{name}-{os.getpid()}"
    work.mkdir(mode=0o777)
    os.chmod(work, 0o777)
    (work / "etc").mkdir(mode=0o777)
    os.chmod(work / "etc", 0o777)
    conf = work / "etc" / "app.conf"
    conf.write_text("old\n")
    os.chmod(conf, 0o666)
    transport = make(sshd, tmp_path)
    engine = Engine(load_text(book(conf)), Cluster("lab", (node(sshd, name="n1"),)), transport,
                    decider, run_id=name, checkpointer=CheckpointStore(tmp_path / "cp"))
    engine.commit_within_override = 3
    engine.rollback_root = str(work / "rollback")  # type: ignore[attr-defined]
    engine.rollback_log = str(work / "rollback.log")  # type: ignore[attr-defined]
    engine.rollback_settle = 20.0  # type: ignore[attr-defined]
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    return engine, work, conf, seen


def states(seen: list[ev.Event]) -> list[str]:
    return [e.state for e in seen if isinstance(e, ev.RollbackTimer)]


async def test_timer_outlives_the_ssh_session(sshd: Sshd, tmp_path: Path) -> None:
    engine, work, conf, seen = setup(sshd, tmp_path, Operator(commit=False), "outlive")
    run = asyncio.create_task(engine.run())
    for _ in range(400):
        if "armed" in states(seen):
            break
        await asyncio.sleep(0.05)
    assert "armed" in states(seen)
    await asyncio.sleep(0.3)  # the change itself runs
    sshd.kill_sessions()
    await engine.transport.close()
    run.cancel()  # pverunbook is gone too
    await asyncio.gather(run, return_exceptions=True)
    state = next(work.glob("rollback/*/state"))
    for _ in range(200):  # the node acts alone: 3 s timer
        if state.read_text().strip() in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    log = (work / "rollback.log").read_text()
    assert state.read_text().strip() == "done", log
    assert conf.read_text() == "old\n"
    assert f"restored {conf}" in log and "rollback finished" in log


async def test_commit_after_a_reconnect(sshd: Sshd, tmp_path: Path) -> None:
    engine, work, conf, seen = setup(sshd, tmp_path, Operator(commit=True), "reconnect")
    engine.commit_within_override = 30
    dropped = False

    def drop(e: ev.Event) -> None:
        nonlocal dropped
        if isinstance(e, ev.StepFinished) and e.step_id == "change" and not dropped:
            dropped = True
            sshd.kill_sessions()

    engine.subscribe(drop)
    try:
        status = await asyncio.wait_for(engine.run(), 120)
    finally:
        await engine.transport.close()
    assert dropped and status == "ok", [(type(e).__name__, getattr(e, "message", ""))
                                        for e in seen]
    assert states(seen) == ["armed", "committed"]
    assert (next(work.glob("rollback/*/state")).read_text().strip()) == "committed"
    ps = (await asyncio.to_thread(subprocess.run, ["ps", "-eo", "args"], capture_output=True,
                                  text=True, check=True)).stdout
    assert str(work / "rollback") not in ps
    assert conf.read_text() == "new\n"


class RollBackNow(Operator):
    """The operator answers the COMMIT question with "Roll back now"."""

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            return Refusal(ROLLED_BACK, now=True)
        return await super().confirm(request)


async def test_roll_back_now_restores_at_once(sshd: Sshd, tmp_path: Path) -> None:
    engine, work, conf, seen = setup(sshd, tmp_path, RollBackNow(commit=False), "now")
    engine.commit_within_override = 600  # the run below may not last that long
    try:
        status = await asyncio.wait_for(engine.run(), 120)
    finally:
        await engine.transport.close()
    log = (work / "rollback.log").read_text()
    assert status == "failed", status
    finished = [e for e in seen if isinstance(e, ev.RunFinished)]
    assert "'change' was rolled back by the operator" in finished[-1].message
    assert states(seen) == ["armed", "fired"], (states(seen), log)
    assert conf.read_text() == "old\n"
    assert log.count("restoring checkpoint") == 1 and "rolled back now by the operator" in log
    given = [e for e in seen if isinstance(e, ev.ConfirmationGiven) and e.what == "commit"]
    assert [(g.accepted, g.typed, g.reason) for g in given] == [(False, "", ROLLED_BACK)]
    # the waiting timer was stopped, not left to wake in ten minutes
    ps = (await asyncio.to_thread(subprocess.run, ["ps", "-eo", "args"], capture_output=True,
                                  text=True, check=True)).stdout
    assert str(work / "rollback") not in ps, ps
    # a second "fire now" (or the timer) after it: nothing is restored again
    tag = next(work.glob("rollback/*/state")).parent.name
    conf.write_text("changed by hand afterwards\n")
    again = await asyncio.to_thread(
        subprocess.run, ["sh", "-c", rs.fire_now_command(tag, str(work / "rollback"))],
        capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "state done"
    assert conf.read_text() == "changed by hand afterwards\n"


async def test_fire_now_and_the_timer_at_once_restore_once(sshd: Sshd, tmp_path: Path
                                                          ) -> None:
    """Whoever claims the timer first restores; one that finds it claimed (the timer firing
    at the same moment as "fire now") leaves without touching a file."""
    engine, work, conf, seen = setup(sshd, tmp_path, Away(commit=False), "race")
    engine.commit_within_override = 600
    run = asyncio.create_task(engine.run())
    for _ in range(400):
        if any(isinstance(e, ev.ConfirmationRequested) and e.what == "commit" for e in seen):
            break
        await asyncio.sleep(0.05)
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await engine.transport.close()
    d = next(work.glob("rollback/*/state")).parent
    sleeper = (d / "pid").read_text().strip()
    try:
        (d / "claim").mkdir()  # the other one got there first, still in state armed
        held = await asyncio.create_subprocess_exec("/bin/sh", f"{d}/rollback.sh", "now")
        assert await held.wait() == 0
        assert (d / "state").read_text().strip() == "armed"
        assert conf.read_text() == "new\n"
        (d / "claim").rmdir()
        procs = [await asyncio.create_subprocess_exec(
            "sh", "-c", rs.fire_now_command(d.name, str(work / "rollback"))) for _ in range(2)]
        await asyncio.gather(*(p.wait() for p in procs))
        for _ in range(200):
            if (d / "state").read_text().strip() in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
    finally:  # never leave the ten-minute timer behind
        await asyncio.to_thread(subprocess.run, ["kill", "--", f"-{sleeper}"],
                                capture_output=True, check=False)
    log = (work / "rollback.log").read_text() if (work / "rollback.log").exists() else ""
    assert (d / "state").read_text().strip() == "done", log
    assert log.count("restoring checkpoint") == 1, log
    assert conf.read_text() == "old\n"


async def test_a_failing_rollback_is_named_loudly(sshd: Sshd, tmp_path: Path) -> None:
    engine, work, conf, seen = setup(sshd, tmp_path, Operator(commit=False), "fails")
    engine.commit_within_override = 4

    def lock(e: ev.Event) -> None:
        # After the change, the file's directory turns read-only: the restore cannot land.
        if isinstance(e, ev.StepFinished) and e.step_id == "change":
            os.chmod(work / "etc", 0o555)

    engine.subscribe(lock)
    try:
        status = await asyncio.wait_for(engine.run(), 120)
    finally:
        await engine.transport.close()
        os.chmod(work / "etc", 0o777)
    assert status == "failed"
    failed = [e for e in seen if isinstance(e, ev.RollbackTimer) and e.state == "failed"]
    assert [e.node for e in failed] == ["n1"] and "FAILED" in failed[0].message
    notes = [e.text for e in seen if isinstance(e, ev.Note) and e.level == "error"]
    assert any(t.startswith("ROLLBACK FAILED on n1") for t in notes), notes
    # the deadline passing is said, not waited through in silence
    assert any(isinstance(e, ev.Note) and "fire now" in e.text for e in seen)
    assert "FAILED to restore" in (work / "rollback.log").read_text()
    report = render_report(seen)
    assert "- [ ] **n1: ROLLBACK FAILED** for `change`" in report, report
    assert conf.read_text() == "new\n"


class Away(Operator):
    """An operator who never answers COMMIT: pverunbook is killed at the question."""

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            await asyncio.Event().wait()
        return await super().confirm(request)


async def resumed(sshd: Sshd, tmp_path: Path, commit: bool, at_commit: bool = False,
                  between: Callable[[Path], Awaitable[None]] | None = None,
                  ) -> tuple[str, list[ev.Event], Path, Path]:
    """Kill a run while its commit check runs (or, ``at_commit``, at the COMMIT question),
    resume it; the second operator types COMMIT (or not). Returns the resumed run's status,
    its events, the node's work dir and file."""
    from pverunbook.engine.journal import Journal
    from pverunbook.engine.resume import load_resume

    decider = Away(commit=True) if at_commit else Operator(commit=True)
    decider.unknown = FailureChoice.RERUN
    engine, work, conf, seen = setup(sshd, tmp_path, decider, f"resume-{tmp_path.name}")
    engine.commit_within_override = 15 if at_commit else 60
    book_text = book(conf).replace('commands = ["grep -x new', 'commands = ["sleep 2; grep -x new')
    engine.runbook = load_text(book_text)
    path = tmp_path / "run.jsonl"
    journal = Journal(path)
    engine.subscribe(journal)
    engine.flushers.append(journal.flush)
    engine.journal_path = path
    run = asyncio.create_task(engine.run())
    def there() -> bool:
        if at_commit:
            return any(isinstance(e, ev.ConfirmationRequested) and e.what == "commit"
                       for e in seen)
        return any(isinstance(e, ev.StepStarted) and e.step_id == "check" for e in seen)

    for _ in range(400):
        if there():
            break
        await asyncio.sleep(0.05)
    assert there()
    run.cancel()  # pverunbook dies; the timer stays armed on the node
    await asyncio.gather(run, return_exceptions=True)
    await engine.transport.close()
    journal.close()
    if between is not None:
        await between(work)

    _, info = load_resume(path, engine.runbook)
    second = Operator(commit=commit)
    second.unknown = FailureChoice.RERUN
    again, _, _, seen2 = setup(sshd, tmp_path / "again", second,
                               f"resume-2-{tmp_path.name}")
    again.runbook, again.resume, again.statuses = engine.runbook, info, dict(info.statuses)
    again.commit_within_override = 60
    again.rollback_root, again.rollback_log = engine.rollback_root, engine.rollback_log  # type: ignore[attr-defined]
    again.checkpointer = engine.checkpointer
    journal2 = Journal(path)
    again.subscribe(journal2)
    again.flushers.append(journal2.flush)
    again.journal_path = path
    again.rollback_settle = 20.0  # type: ignore[attr-defined]
    try:
        status = await asyncio.wait_for(again.run(), 120)
    finally:
        await again.transport.close()
        journal2.close()
    return status, seen2, work, conf


async def test_a_resumed_run_finds_the_armed_timer_and_commits(sshd: Sshd, tmp_path: Path
                                                               ) -> None:
    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=True)
    pending = [e for e in seen2 if isinstance(e, ev.RollbackTimer) and e.state == "pending"]
    assert [e.node for e in pending] == ["n1"] and " s unless COMMIT" in pending[0].message
    left = float(pending[0].message.split(" in ", 1)[1].split(" s ", 1)[0])
    assert 0 < left <= 60
    assert status == "ok" and states(seen2)[-1] == "committed", states(seen2)
    assert conf.read_text() == "new\n"
    assert (next(work.glob("rollback/*/state")).read_text().strip()) == "committed"


async def test_a_run_resumed_at_its_commit_question_keeps_the_change(sshd: Sshd,
                                                                     tmp_path: Path) -> None:
    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=True, at_commit=True)
    assert status == "ok" and states(seen2)[-1] == "committed", states(seen2)
    assert not any(isinstance(e, ev.StepStarted) for e in seen2), "the check ran again"
    assert conf.read_text() == "new\n"


async def test_a_resumed_run_whose_commit_is_refused_stops(sshd: Sshd, tmp_path: Path) -> None:
    """COMMIT refused on a resumed run: the change is not kept, so the run does not end "ok"
    (exit 0) as though it had done its job — it stops, as a refusal during a run does."""
    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=False, at_commit=True)
    finished = [e for e in seen2 if isinstance(e, ev.RunFinished)]
    assert status == "failed", (status, finished)
    assert "'change' was not committed" in finished[-1].message
    assert not any(isinstance(e, ev.StepStarted) for e in seen2), "a step ran after the refusal"
    assert states(seen2)[-1] == "fired", states(seen2)  # the run waited for the timer
    assert conf.read_text() == "old\n"


async def test_a_resumed_run_waits_for_a_rollback_still_firing(sshd: Sshd, tmp_path: Path
                                                               ) -> None:
    """pverunbook came back while the node's rollback was still restoring (state ``firing``,
    the /etc/pve write waiting for quorum): it waits for the outcome and journals ``fired``,
    not "unknown" with a "needs a hand"."""
    finisher: list[subprocess.Popen[bytes]] = []

    def firing(work: Path) -> None:
        d = _firing(work)
        # the node's restore, still running (its claim names it, as rollback.sh's does):
        # it finishes a few seconds later
        finisher.append(subprocess.Popen(
            ["sh", "-c", "sleep 3; echo 'rollback finished: restored' >> \"$1\"/log; "
                         "echo done > \"$1\"/state", f"{d}/rollback.sh", str(d)]))
        (d / "claim" / "pid").write_text(f"{finisher[0].pid}\n")

    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=True, at_commit=True,
                                              between=_in_thread(firing))
    for p in finisher:
        await asyncio.to_thread(p.wait)
    assert states(seen2) == ["fired"], [(e.state, e.message) for e in seen2
                                        if isinstance(e, ev.RollbackTimer)]
    assert status == "failed"
    finished = [e for e in seen2 if isinstance(e, ev.RunFinished)]
    assert "restored its checkpoint while pverunbook was away" in finished[-1].message


def _firing(work: Path) -> Path:
    """The node's timer fired and claimed the restore (``state`` firing, ``claim/``), as
    rollback.sh does, and the timer's sleeping process is gone; returns its directory."""
    d = next(work.glob("rollback/*/state")).parent
    sleeper = (d / "pid").read_text().strip()
    subprocess.run(["kill", "--", f"-{sleeper}"], capture_output=True, check=False)
    (d / "claim").mkdir()
    (d / "claim" / "pid").write_text(f"{sleeper}\n")
    (d / "state").write_text("firing\n")
    return d


def _in_thread(change: Callable[[Path], object]) -> Callable[[Path], Awaitable[None]]:
    async def run(work: Path) -> None:
        await asyncio.to_thread(change, work)
    return run


async def test_a_resumed_run_stops_waiting_for_a_restore_whose_process_is_gone(
        sshd: Sshd, tmp_path: Path) -> None:
    """A timer found ``firing`` whose restoring process is gone (a reboot, a kill) was waited
    for until the wait gave up (``rollback_settle``, 6 minutes by default), then called
    "had not finished". Its process is asked as the health check asks it (claim/pid still
    running this timer's rollback.sh): gone, the wait stops and says the restore was
    interrupted, the files may be half restored, and which runbook settles it."""
    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=True, at_commit=True,
                                              between=_in_thread(_firing))
    timers = [e for e in seen2 if isinstance(e, ev.RollbackTimer)]
    assert [e.state for e in timers] == ["unknown"], timers
    cp = next(work.glob("rollback/*/state")).parent.name.rsplit("-n1", 1)[0]
    for said in (timers[0].message, *[e.text for e in seen2 if isinstance(e, ev.Note)
                                      and e.level == "error"]):
        assert "n1: the rollback restoring checkpoint" in said and "was interrupted" in said
        assert f"{conf} may be half restored on n1" in said, said
        assert f"run the runbook rollback-settle with checkpoint={cp}" in said, said
    finished = [e for e in seen2 if isinstance(e, ev.RunFinished)]
    assert status == "failed"
    assert "restore was interrupted on n1: files may be half restored" in finished[-1].message
    assert f"rollback-settle with checkpoint={cp}" in finished[-1].message
    assert not [e for e in seen2 if isinstance(e, ev.Note) and "had not finished" in e.text]


async def test_a_resumed_run_says_what_an_armed_timer_without_its_process_means(
        sshd: Sshd, tmp_path: Path) -> None:
    """``armed`` with its process gone was reported as "timer state 'armed', running=0" and
    the run went on: it says now that the timer will never fire, nothing will restore the
    file and the change stays, names the runbook that settles it, and stops there."""
    def killed(work: Path) -> None:
        d = next(work.glob("rollback/*/state")).parent
        sleeper = (d / "pid").read_text().strip()
        subprocess.run(["kill", "--", f"-{sleeper}"], capture_output=True, check=False)
        for _ in range(200):  # until reaped (a zombie still answers kill -0)
            if not _alive(sleeper):
                return
            time.sleep(0.05)

    status, seen2, work, conf = await resumed(sshd, tmp_path, commit=True, at_commit=True,
                                              between=_in_thread(killed))
    timers = [e for e in seen2 if isinstance(e, ev.RollbackTimer)]
    assert [e.state for e in timers] == ["unknown"], timers
    said = timers[0].message
    assert "will never fire" in said and "its process is gone" in said, said
    assert f"nothing will restore {conf} on n1 and the step's changes stay" in said, said
    assert "run the runbook rollback-settle with checkpoint=" in said, said
    assert "running=0" not in said
    assert status == "failed"
    finished = [e for e in seen2 if isinstance(e, ev.RunFinished)]
    assert "will never fire" in finished[-1].message
    assert "rollback-settle" in finished[-1].message
    assert not any(isinstance(e, ev.StepStarted) for e in seen2), "a step ran after it"
    assert conf.read_text() == "new\n"
    assert (next(work.glob("rollback/*/state")).read_text().strip()) == "armed"


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    return True


async def _killed_after_arming(sshd: Sshd, tmp_path: Path, name: str
                               ) -> tuple[Engine, Path, Path, Path]:
    """A run killed between arming its timers and journaling them: the journal ends at
    ``checkpoint_taken`` (the events after it never reach the disk) while the node's timer is
    armed. Returns the engine, the journal, the node's work dir and file."""
    from pverunbook.engine.journal import Journal

    engine, work, conf, seen = setup(sshd, tmp_path, Operator(commit=True), name)
    engine.commit_within_override = 60
    path = tmp_path / "run.jsonl"
    journal = Journal(path)
    engine.journal_path = path
    cut: list[ev.Event] = []
    run: asyncio.Task[str] | None = None

    def to_disk(e: ev.Event) -> None:
        if isinstance(e, ev.RollbackTimer) and not cut:
            cut.append(e)
            assert run is not None
            run.cancel()  # dies at the journal's wait, before any command of the step
        if not cut:
            journal(e)

    engine.subscribe(to_disk)
    engine.flushers.append(journal.flush)
    run = asyncio.create_task(engine.run())
    await asyncio.gather(run, return_exceptions=True)
    await engine.transport.close()
    journal.close()
    assert cut and conf.read_text() == "old\n"
    return engine, path, work, conf


async def test_resume_stops_the_timers_armed_before_the_crash_instead_of_a_second_set(
        sshd: Sshd, tmp_path: Path) -> None:
    """kill -9 right after the destructive confirmation: the journal ends at checkpoint_taken
    but the node's attempt-1 timer is armed. Resume ran the step again with a second timer
    beside it; the first one then fired at its own deadline and put the old file back over
    the committed change. Now the resumed run finds it, stops it (nothing of the step ran,
    so nothing to keep or undo) and journals that, for a timer still waiting and for one
    whose process is gone."""
    from pverunbook.engine.resume import load_resume

    for case in ("waiting", "gone"):
        engine, path, work, conf = await _killed_after_arming(sshd, tmp_path / case, case)
        (first,) = work.glob("rollback/*-change-1-n1")
        assert (first / "state").read_text().strip() == "armed"
        pid = (first / "pid").read_text().strip()
        if case == "gone":  # the node rebooted, or the sleep was killed
            os.killpg(int(pid), signal.SIGTERM)
            for _ in range(200):  # until reaped (a zombie still answers kill -0)
                if not _alive(pid):
                    break
                await asyncio.sleep(0.05)
        _, info = load_resume(path, engine.runbook)
        assert info.asked_again == "change"  # the journal says nothing of it ran
        again, _, _, seen2 = setup(sshd, tmp_path / case / "again", Operator(commit=True),
                                   f"{case}-2")
        again.runbook, again.resume, again.statuses = engine.runbook, info, dict(info.statuses)
        again.rollback_root, again.rollback_log = engine.rollback_root, engine.rollback_log  # type: ignore[attr-defined]
        again.checkpointer = engine.checkpointer
        again.commit_within_override = 60
        again.journal_path = path
        try:
            status = await asyncio.wait_for(again.run(), 120)
        finally:
            await again.transport.close()
        assert status == "ok", "\n".join(str(e) for e in seen2[3:])
        assert (first / "state").read_text().strip() == "committed", case
        assert not _alive(pid), "the first timer still runs"
        found = [e for e in seen2 if isinstance(e, ev.RollbackTimer)
                 and e.dir.endswith(first.name)]
        assert [e.state for e in found] == ["disarmed"], found  # nothing was committed
        assert "which the journal does not know" in found[0].message
        assert ("still waiting" if case == "waiting" else "its process gone") in \
            found[0].message
        assert conf.read_text() == "new\n"  # attempt 2 ran and was committed
