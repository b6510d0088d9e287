"""Runs that did not end well, as the start screen and ``pverunbook journal list`` show them:
interrupted or unfinished (resumable), stopped by the operator or a failure, and which of the
stopped ones a later healthy health check settled.

Below the UI (no Textual): the start screen lists :func:`interrupted_runs`, ``journal list``
marks every settled run with :func:`settled_runs`; both use the one rule,
:attr:`InterruptedRun.settled`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.journal import RunSummary, iter_journal, list_runs

#: ``RunFinished.status`` values (plus list_runs' own "unfinished") that can be resumed.
RESUMABLE = ("unfinished", "interrupted")
#: Runs the operator stopped (a declined confirmation, "Not done", Abort) or that stopped on a
#: failure: ``run --resume`` continues them, so the start screen offers them too — the newest
#: run of its runbook only (a later run of the same runbook supersedes it).
STOPPED = ("aborted", "failed")
#: What follows a COMMIT whose deadline passed: the journal cannot tell what the timers did, and
#: this list asks no node (it is read before the start screen's first frame). The health check
#: asks them: a timer still ``armed`` whose process is gone is its rollback-stale fault, which
#: the rollback-settle runbook keeps or undoes.
OUTCOME_UNKNOWN = ("what they did is unknown here (a timer whose process is gone never fires): "
                   "run the health check, and Settle a stale rollback timer (rollback-settle) "
                   "if it names one")
#: (cluster, mode, rehearsal cluster) → (start, run id) of its last healthy whole check.
_Seen = dict[tuple[str, str, str], tuple[float, str]]


@dataclass(frozen=True)
class InterruptedRun:
    """One unfinished run, as listed on the start screen."""

    run_id: str
    path: Path
    runbook_id: str
    title: str
    mode: str
    cluster: str
    started: float
    status: str
    #: Title (or id) of the last step that started or was skipped, "" if none did.
    last_step: str
    last_state: str
    #: A ``commit_within`` change whose timers the journal last saw armed, never committed
    #: nor fired: its step's title, and the earliest deadline (seconds since the epoch, by the
    #: nodes' clocks; 0 when none is pending). The nodes put the change back at that time unless
    #: the run is resumed and COMMIT typed — the one thing on this screen that cannot wait.
    commit_step: str = ""
    commit_due: float = 0.0
    #: The nodes whose timers wait for that COMMIT.
    commit_nodes: tuple[str, ...] = ()
    #: When the journal's last record was written (the run stopped then), 0 when unknown.
    ended: float = 0.0
    #: The start of a whole health check on the same cluster and mode, begun after this run
    #: stopped, that found no fault (and is the last whole check there); 0 when there is none.
    healthy_since: float = 0.0
    #: That check's run id ("" when there is none).
    healthy_check: str = ""
    #: Why a stopped run stopped, as its end said (a declined confirmation, a change not kept
    #: and rolled back, an abort's reason); "" for a run that died on its own.
    reason: str = ""
    #: A rehearsal's scenario ("" when the journal does not say: a live run, an older one).
    scenario: str = ""

    @property
    def where(self) -> str:
        """The cluster it ran on: ``nyc`` or, in a rehearsal, ``nyc (three-node-bad-link)``."""
        return where(self.cluster, self.scenario)

    @property
    def settled(self) -> bool:
        """A run the operator stopped (aborted, failed) whose cluster a later whole health
        check found healthy: what it was for is no longer wrong, so the start screen lists it
        among the older runs instead of offering it first. Its journal stays, and it can still
        be resumed. A run that died on its own (interrupted, unfinished) or waits for a COMMIT
        never is: nobody decided it was over."""
        return self.status in STOPPED and self.healthy_since > 0 and not self.commit_step

    def settled_line(self) -> str:
        """Why a settled run is among the older ones ("" for any other run)."""
        if not self.settled:
            return ""
        at = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.healthy_since))
        return f"the health check of {at} found the cluster healthy since"

    def settled_by(self) -> str:
        """``settled by check ID at TIME`` for ``journal list`` ("" for any other run)."""
        if not self.settled:
            return ""
        at = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.healthy_since))
        return f"settled by check {self.healthy_check or '?'} at {at}"

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))

    def commit_overdue(self, now: float | None = None) -> bool:
        """A pending COMMIT whose deadline passed: the journal cannot say what the timers did
        (fired, or their process was gone: a node rebooted, the sleep was killed)."""
        now = time.time() if now is None else now
        return bool(self.commit_step) and self.commit_due - now <= 0

    def commit_line(self, now: float | None = None) -> str:
        """One sentence on the pending COMMIT, "" when there is none."""
        if not self.commit_step:
            return ""
        now = time.time() if now is None else now
        at = time.strftime("%H:%M:%S", time.localtime(self.commit_due))
        left = self.commit_due - now
        if left > 0:
            mins, secs = divmod(int(left), 60)
            return (f"COMMIT pending: the nodes roll back “{self.commit_step}” at {at} (in "
                    f"{mins} min {secs:02d} s) unless you resume this run and type COMMIT")
        return (f"COMMIT was pending: the rollback timers of “{self.commit_step}” were due at "
                f"{at}; {OUTCOME_UNKNOWN}")

    def commit_banner(self, now: float | None = None) -> str:
        """The start screen's main proposal while a COMMIT is pending ("" when none is): the
        nodes, the step they put back and when. Shorter than :meth:`commit_line`, so it fits
        a few lines at 80 columns above everything else."""
        if not self.commit_step:
            return ""
        now = time.time() if now is None else now
        on = f" on {', '.join(self.commit_nodes)}" if self.commit_nodes else ""
        left = self.commit_due - now
        if left > 0:
            mins, secs = divmod(int(left), 60)
            when = f"{mins} min {secs:02d} s" if mins else f"{secs} s"
            return (f"⚠ COMMIT pending{on}: the nodes roll back “{self.commit_step}” in "
                    f"{when}")
        at = time.strftime("%H:%M:%S", time.localtime(self.commit_due))
        return (f"⚠ COMMIT was pending{on}: the rollback timers of “{self.commit_step}” were "
                f"due at {at}; {OUTCOME_UNKNOWN}")


def interrupted_runs() -> list[InterruptedRun]:
    """Unfinished runs (no ``RunFinished`` after the last ``RunStarted``, or "interrupted"),
    and stopped ones (aborted, failed) that are the newest run of their runbook, newest
    first; the stopped ones a later health check found the cluster healthy after are marked
    (``InterruptedRun.settled``) and come last. An unfinished health check is left out once a
    later one started: it only reads, and the later check says all its resume would."""
    from pverunbook.pve.diagnosis.check import CHECK_ID

    out: list[InterruptedRun] = []
    runs = list_runs()
    newest: dict[str, float] = {}
    for r in runs:
        newest[r.runbook] = max(newest.get(r.runbook, 0.0), r.started)
    checks: _Seen = {}
    for r in runs:
        latest = r.started >= newest.get(r.runbook, 0.0)
        stopped = r.status in STOPPED and latest
        if r.status not in RESUMABLE and not stopped:
            continue
        if r.runbook == CHECK_ID and not latest:
            # the health check reads only: a later check says all a resume of this one would
            continue
        run = _describe(r.path, r.status)
        if run is None:
            continue
        if stopped:
            run = _settle(run, checks)
        out.append(run)
    # a run whose change the nodes are about to put back comes first, then newest first, the
    # settled ones after the others
    out.sort(key=lambda r: (r.commit_due == 0.0, r.settled, -r.started))
    return out


def settled_runs(runs: list[RunSummary] | None = None) -> dict[str, InterruptedRun]:
    """Every stopped run (aborted, failed) a later whole health check found the cluster
    healthy after, by run id: :attr:`InterruptedRun.settled`, for any such run in the list
    (``journal list`` lists them all; the start screen only the newest of each runbook)."""
    out: dict[str, InterruptedRun] = {}
    checks: _Seen = {}
    for r in list_runs() if runs is None else runs:
        if r.status not in STOPPED:
            continue
        run = _describe(r.path, r.status)
        if run is not None and (run := _settle(run, checks)).settled:
            out[r.run_id] = run
    return out


def _settle(run: InterruptedRun, seen: _Seen) -> InterruptedRun:
    """``run`` with the healthy check that came after it stopped, if one did (a run waiting
    for a COMMIT is never settled: the nodes are about to put its change back)."""
    if run.commit_step:
        return run
    healthy, check_id = _healthy_check(run, seen)
    if healthy > run.ended:
        return replace(run, healthy_since=healthy, healthy_check=check_id)
    return run


def _healthy_check(run: InterruptedRun, seen: _Seen) -> tuple[float, str]:
    """Start time and run id of the last whole health check on ``run``'s cluster and mode
    when it found no fault, else ``(0, "")`` (read once per cluster: ``seen``). A rehearsal
    run's cluster is the simulated one it ran on (its state directory); one no longer known
    has no later check.
    """
    from pverunbook.check_history import last_check, rehearsal_cluster_of

    sim_dir = rehearsal_cluster_of(run.run_id) if run.mode == "rehearsal" else None
    if run.mode == "rehearsal" and sim_dir is None:
        return 0.0, ""
    key = (run.cluster, run.mode, str(sim_dir or ""))
    if key not in seen:
        seen[key] = (0.0, "")
        try:
            found = last_check(run.cluster, run.mode, sim_state_dir=sim_dir)
            if found is not None and not found.diagnosis.faults:
                seen[key] = _started(found.journal)
        except Exception:  # noqa: BLE001 - one unreadable check must not hide the list
            pass
    return seen[key]


def _started(path: Path) -> tuple[float, str]:
    for e in iter_journal(path):
        if isinstance(e, ev.RunStarted):
            return e.ts, e.run_id or path.stem
        break
    return 0.0, ""


def _describe(path: Path, status: str) -> InterruptedRun | None:
    from pverunbook.run_diagnosis import skipped_after

    started: ev.RunStarted | None = None
    titles: dict[str, str] = {}
    last_step, last_state = "", ""
    timers: dict[tuple[str, str], ev.RollbackTimer] = {}
    ended = 0.0
    reason = ""
    try:
        for e in iter_journal(path):
            ended = max(ended, e.ts)
            if isinstance(e, ev.RunFinished):
                reason = e.message
            elif isinstance(e, ev.RunStarted):
                reason = ""  # a resume that ended has its own
            if isinstance(e, ev.RollbackTimer):
                timers[(e.step_id, e.node)] = e
            if isinstance(e, ev.RunStarted) and started is None:
                started = e
            elif isinstance(e, ev.StepStarted):
                titles[e.step_id] = e.title
                last_step, last_state = e.step_id, "running"
            elif isinstance(e, ev.ConfirmationRequested) and e.step_id == last_step \
                    and last_state == "running" and e.what in ("destructive", "confirm"):
                # died at its typed confirmation: nothing ran (engine/resume.py)
                last_state = "awaiting confirmation, nothing ran"
            elif isinstance(e, ev.CommandStarted | ev.RollbackTimer) and e.step_id == last_step \
                    and last_state.startswith("awaiting"):
                last_state = "running"
            elif isinstance(e, ev.StepFinished):
                last_step, last_state = e.step_id, e.status
            elif isinstance(e, ev.StepSkipped):
                after = skipped_after(e)
                last_step, last_state = e.step_id, (f"{after.replace('_', ' ')}, then the "
                                                    "operator went on" if after else "skipped")
    except OSError:
        return None
    if started is None:
        return None
    if last_state == "running":
        last_state = "outcome unknown"
    # engine/rollback.py: "armed" when set, "pending" when a resumed run found it still armed;
    # every other state (committed, fired, failed, …) ends the wait
    waiting = [t for t in timers.values() if t.state in ("armed", "pending") and t.deadline]
    due = min((t.deadline for t in waiting), default=0.0)
    first = next((t for t in waiting if t.deadline == due), None)
    commit_step = titles.get(first.step_id, first.step_id) if first is not None else ""
    commit_nodes = tuple(dict.fromkeys(t.node for t in waiting
                                       if first is not None and t.step_id == first.step_id))
    return InterruptedRun(
        run_id=started.run_id or path.stem, path=path, runbook_id=started.runbook_id,
        title=started.runbook_title or started.runbook_id, mode=started.mode,
        cluster=started.cluster, started=started.ts, status=status,
        last_step=titles.get(last_step, last_step), last_state=last_state,
        commit_step=commit_step, commit_due=due, commit_nodes=commit_nodes, ended=ended,
        reason=reason if status in STOPPED else "", scenario=started.scenario)


def where(cluster: str, scenario: str = "") -> str:
    """A cluster's name, with the rehearsal scenario it was (every scenario's is "nyc")."""
    return f"{cluster} ({scenario})" if scenario and scenario != cluster else cluster


