"""What the health check takes from earlier runs: network-triage's measurement, while nothing
has changed since.

The check reads the network's state but leaves measuring loss to network-triage. When the run
just before a check (same cluster, same mode) was a network-triage run, its measured facts
(ping, mtr, knet counters) still describe the cluster and the check uses them; so they do when
only runbooks that leave the network alone ran since (``measurement.LINK_NEUTRAL``: configs,
certificates). Any other runbook in between may have changed the cluster (a deleted route, a
new token), and then the check proposes measuring again. Journals are the record of what ran,
for the TUI and headless alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.check import CHECK_ID, TRIAGE_ID
from pverunbook.pve.diagnosis.measurement import LINK_NEUTRAL, PATH_CHANGES, LastMeasure
from pverunbook.pve.facts import Fact

#: Runs older than this (s) before the check are not taken as its measurement.
MAX_AGE_S = 6 * 3600
#: The list of runs made on one rehearsal cluster, kept in its state directory.
RUNS_FILE = "runs.txt"
#: Under the state directory: run id → the rehearsal cluster's state directory, every run.
INDEX_FILE = "rehearsal-runs.txt"
#: run id → that list, for the runs this process started on a rehearsal cluster.
_REHEARSAL_RUNS: dict[str, Path] = {}


def note_rehearsal_run(run_id: str, journal: Path, sim_state_dir: Path) -> None:
    """Record that ``run_id`` ran on the rehearsal cluster kept in ``sim_state_dir``.

    A rehearsal cluster is only the same cluster across runs through its state directory; a
    fresh one (no state directory kept) shares no history with earlier runs of the scenario.
    """
    listing = sim_state_dir / RUNS_FILE
    _REHEARSAL_RUNS[run_id] = listing
    try:
        with open(listing, "a", encoding="utf-8") as fh:
            fh.write(f"{run_id}\t{journal}\n")
    except OSError:
        pass  # without the list the check only proposes measuring again
    from pverunbook.engine.journal import state_dir

    try:  # which rehearsal cluster each run used, for `run --resume` of a rehearsal run
        index = state_dir() / INDEX_FILE
        index.parent.mkdir(parents=True, exist_ok=True)
        with open(index, "a", encoding="utf-8") as fh:
            fh.write(f"{run_id}\t{sim_state_dir.resolve()}\n")
    except OSError:
        pass


def rehearsal_cluster_of(run_id: str) -> Path | None:
    """The state directory of the rehearsal cluster ``run_id`` ran on (None when unknown)."""
    from pverunbook.engine.journal import state_dir

    try:
        lines = (state_dir() / INDEX_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        rid, _, path = line.partition("\t")
        if rid == run_id and path:
            return Path(path)
    return None


def _first_record(path: Path) -> dict[str, object] | None:
    try:
        with open(path, "rb") as fh:
            line = fh.readline(1 << 20)
        data = json.loads(line)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "run_started" else None


def _path_change(path: Path) -> tuple[float | None, bool]:
    """``(when, undone)`` for a run that may change the cluster, from one read of its journal.

    ``when``: when it changed the path — the start of its first command in a destructive step
    whose change was kept (the ``ip route del``) — or None when it ran none (stopped at the
    confirmation, its guard failed: the path is the old one) or every such change was not kept.
    ``undone``: it did run such commands and not one change was kept (COMMIT refused or not
    typed in time: the nodes' rollback timers put the old route back), so for the check it is
    as if it had not run. A timer that needs a hand (its process gone) restores nothing: that
    step's change may stand.

    Not the run's start: the check said a link "went down also after the path changed" for a
    down between route-fix's start and its confirmation, before the route was deleted, and
    proposed corosync-tuning for it. Not a change that was rolled back either: after route-fix's
    COMMIT window ran out the check sent the operator through network-triage again ("the loss
    … has not been measured since route-fix changed the network") before offering route-fix.

    A shell opened during the run counts as a change at its time when no destructive command
    was kept: what was typed there is not recorded, and the story's own fix was an
    ``ip route del`` typed in a shell. A run with neither changed nothing (``(None, False)``):
    a route-fix stopped at its guard made the check ask for a new measurement "since route-fix
    (22:33 UTC) changed the network" (trial 14)."""
    from pverunbook.engine.journal import JournalError, iter_journal
    from pverunbook.run_diagnosis import not_kept_by_step

    destructive: set[str] = set()
    first: dict[str, float] = {}
    events: list[ev.Event] = []
    shell: float | None = None
    try:
        for e in iter_journal(path):
            events.append(e)
            if isinstance(e, ev.StepStarted) and e.destructive:
                destructive.add(e.step_id)
            elif isinstance(e, ev.CommandStarted) and e.step_id in destructive:
                first.setdefault(e.step_id, e.ts)
            elif isinstance(e, ev.Note) and e.text.startswith(ev.SHELL_NOTE_START) \
                    and shell is None:
                shell = e.ts
    except JournalError:
        return None, False
    if not first:
        return shell, False
    timers = {(e.step_id, e.node): e.state for e in events if isinstance(e, ev.RollbackTimer)}
    stuck = {step for (step, _), state in timers.items() if state in ev.ROLLBACK_NEEDS_HAND}
    undone = set(not_kept_by_step(events)) - stuck
    kept = [ts for step, ts in first.items() if step not in undone]
    if shell is not None:
        return min([*kept, shell]), False
    return (min(kept) if kept else None), not kept


@dataclass(frozen=True)
class History:
    """What earlier runs on the same cluster say: ``measured`` = network-triage's facts when it
    ran right before the check, or only runbooks that leave the network alone ran since
    (``LINK_NEUTRAL``); ``past`` = link downs and loss any
    earlier triage or check saw (the outage the cluster had, after its evidence is gone)."""

    measured: tuple[Fact, ...] = ()
    past: tuple[Fact, ...] = ()
    #: the newest triage run and the runbooks after it: why a link's loss was not measured
    last: LastMeasure | None = None
    #: ``(runbook id, when)`` of the newest run that changed the path corosync's packets
    #: take (measurement.PATH_CHANGES), ``when`` its first destructive command: link downs
    #: older than it describe a path that is gone
    path_change: tuple[str, float] | None = None


_PAST = ("journal.link_down", "knet.down_count", "ping.loss_pct", "mtr.loss_pct")


def _runs_of(cluster: str, mode: str, run_id: str = "",
             runs: Path | None = None) -> list[tuple[float, str, Path]]:
    """``(started, runbook id, journal)`` of the runs on ``cluster`` in ``mode`` (``run_id``'s
    rehearsal cluster, or the one this process runs), oldest first.

    A rehearsal cluster's runs are listed in its state directory (``RUNS_FILE``; a reset
    empties it: the reset cluster shares no history); other modes' are the journals."""
    from pverunbook.engine.journal import runs_dir

    if mode == "rehearsal":
        listing = _REHEARSAL_RUNS.get(run_id) if run_id else None
        if listing is None and run_id:
            where = rehearsal_cluster_of(run_id)  # a run of an earlier launch
            listing = where / RUNS_FILE if where is not None else None
        if listing is None and runs is not None:
            listing = runs / RUNS_FILE
        if listing is None:
            return []
        try:
            paths = [Path(line.split("\t", 1)[1]) for line in
                     listing.read_text(encoding="utf-8").splitlines() if "\t" in line]
        except OSError:
            return []
    else:
        folder = runs if runs is not None else runs_dir()
        paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    out: list[tuple[float, str, Path]] = []
    for p in paths:
        rec = _first_record(p)
        if rec is None or rec.get("run_id") == run_id:
            continue
        ts = rec.get("ts")
        if not isinstance(ts, int | float):
            continue
        if rec.get("cluster") != cluster or rec.get("mode") != mode:
            continue
        out.append((float(ts), str(rec.get("runbook_id")), p))
    return sorted(out)


def earlier_runs(started: ev.RunStarted, runs: Path | None = None) -> History:
    """Facts of earlier runs on the cluster of ``started`` (a check): see :class:`History`."""

    from pverunbook.engine.journal import JournalError, read_journal
    from pverunbook.run_diagnosis import collect_facts

    before = [(ts, runbook, p) for ts, runbook, p in
              _runs_of(started.cluster, started.mode, started.run_id, runs)
              if ts < started.ts and started.ts - ts <= MAX_AGE_S]
    measured: list[Fact] = []
    past: list[Fact] = []
    changed = False
    since: list[tuple[str, float]] = []  # newest first, up to the newest triage
    last: LastMeasure | None = None
    path_change: tuple[str, float] | None = None
    for ts, runbook, path in sorted(before, reverse=True):
        if runbook not in (CHECK_ID, TRIAGE_ID):
            at, _undone = _path_change(path)
            if at is None:
                # it changed nothing (stopped before its first destructive command, or every
                # change was rolled back): the path and what was measured on it stand
                continue
            if runbook in PATH_CHANGES and path_change is None:
                path_change = (runbook, at)
            # configs and certificates leave the links as triage measured them
            changed = changed or runbook not in LINK_NEUTRAL
            if last is None:
                since.append((runbook, at))
            continue
        try:
            facts = list(collect_facts(read_journal(path)))
        except JournalError:
            continue
        if runbook == TRIAGE_ID and last is None:
            last = LastMeasure(ts, tuple(facts), tuple(reversed(since)))
        if runbook == TRIAGE_ID and not changed and not measured:
            measured = facts
        past += [f for f in facts if f.name in _PAST and isinstance(f.value, int | float)
                 and not isinstance(f.value, bool) and f.value >= 1]
    return History(tuple(measured), tuple(past), last, path_change)


@dataclass(frozen=True)
class LastCheck:
    """What a new launch shows on the start screen, as the last one did before it closed:
    the last finished health check's diagnosis, and the runbook that ran after it (then the
    guided outage's next step is to check again)."""

    diagnosis: Any
    journal: Path
    #: ``(runbook id, title)`` of the last run after the check, if one ran.
    after: tuple[str, str] | None = None
    #: How that run ended when it did not finish ("was interrupted", "did not finish:
    #: pverunbook stopped during it"); "" when it reached its end (ok or not).
    after_unfinished: str = ""


def _unfinished(path: Path) -> str:
    """Why the run of journal ``path`` did not finish, or "" (see ``after_unfinished``).

    The rule of ``journal.list_runs``, over the journal's tail: its last ``run_finished``
    decides unless a ``run_started`` (a resume) follows it. Records after the end are not a
    sign of a crash: ``$`` on the summary screen journals a note there, and the last record
    alone once called such a run "did not finish (pverunbook stopped during it)"."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - (1 << 16)))
            tail = fh.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    status: str | None = None  # None: no end after the last start seen
    for line in tail:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # the first line of the tail may be cut
        if not isinstance(rec, dict):
            continue
        if rec.get("kind") == "run_finished":
            status = str(rec.get("status") or "")
        elif rec.get("kind") == "run_started":
            status = None
    if status is None:
        return "did not finish (pverunbook stopped during it)"
    return "was interrupted" if status == "interrupted" else ""


def last_check(cluster: str, mode: str, *, sim_state_dir: Path | None = None,
               runs: Path | None = None, names_by_addr: Any = None) -> LastCheck | None:
    """The last finished health check on ``cluster`` in ``mode``, diagnosed again from its
    journal (the same diagnosis its summary showed), or None when there is none.

    The README's promise is that the start screen says what is still wrong: it must not
    forget it when the app is started again on the same state directory. Reads journals:
    call it off the event loop."""
    from pverunbook.engine.journal import JournalError, read_journal
    from pverunbook.pve.diagnosis.check import CHECK_ID
    from pverunbook.run_diagnosis import collected_all, diagnose_run

    listed = _runs_of(cluster, mode, runs=sim_state_dir if mode == "rehearsal" else runs)
    for i in range(len(listed) - 1, -1, -1):
        _ts, runbook, path = listed[i]
        if runbook != CHECK_ID:
            continue
        try:
            events = read_journal(path)
        except JournalError:
            continue
        if not collected_all(events):
            # a check quit or aborted before its end measured only part of the cluster (or
            # nothing): it proves no health; the last whole check still says what is wrong
            continue
        _, diagnosis = diagnose_run(events, None, names_by_addr)
        after = None
        unfinished = ""
        for _ts2, later, later_path in reversed(listed[i + 1:]):
            if later != CHECK_ID:
                rec = _first_record(later_path) or {}
                after = (later, str(rec.get("runbook_title") or later))
                unfinished = _unfinished(later_path)
                break
        return LastCheck(diagnosis, path, after, unfinished)
    return None
