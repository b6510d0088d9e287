"""What the health check takes from earlier runs: network-triage's measurement, while nothing
has changed since.

The check reads the network's state but leaves measuring loss to network-triage. When the run
just before a check (same cluster, same mode) was a network-triage run, its measured facts
(ping, mtr, knet counters) still describe the cluster and the check uses them; any other runbook
in between may have changed the cluster (a deleted route, a new token), and then the check
proposes measuring again. Journals are the record of what ran, for the TUI and headless alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.check import CHECK_ID, TRIAGE_ID
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


@dataclass(frozen=True)
class History:
    """What earlier runs on the same cluster say: ``measured`` = network-triage's facts when it
    ran right before the check (nothing changed since); ``past`` = link downs and loss any
    earlier triage or check saw (the outage the cluster had, after its evidence is gone)."""

    measured: tuple[Fact, ...] = ()
    past: tuple[Fact, ...] = ()


_PAST = ("journal.link_down", "knet.down_count", "ping.loss_pct", "mtr.loss_pct")


def earlier_runs(started: ev.RunStarted, runs: Path | None = None) -> History:
    """Facts of earlier runs on the cluster of ``started`` (a check): see :class:`History`."""
    from pverunbook.engine.journal import JournalError, read_journal, runs_dir
    from pverunbook.run_diagnosis import collect_facts

    if started.mode == "rehearsal":
        listing = _REHEARSAL_RUNS.get(started.run_id)
        if listing is None:
            return History()
        try:
            paths = [Path(line.split("\t", 1)[1]) for line in
                     listing.read_text(encoding="utf-8").splitlines() if "\t" in line]
        except OSError:
            return History()
    else:
        folder = runs if runs is not None else runs_dir()
        paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    before: list[tuple[float, str, Path]] = []
    for p in paths:
        rec = _first_record(p)
        if rec is None or rec.get("run_id") == started.run_id:
            continue
        ts = rec.get("ts")
        if not isinstance(ts, int | float) or ts >= started.ts or started.ts - ts > MAX_AGE_S:
            continue
        if rec.get("cluster") != started.cluster or rec.get("mode") != started.mode:
            continue
        before.append((float(ts), str(rec.get("runbook_id")), p))
    measured: list[Fact] = []
    past: list[Fact] = []
    changed = False
    for _ts, runbook, path in sorted(before, reverse=True):
        if runbook not in (CHECK_ID, TRIAGE_ID):
            changed = True
            continue
        try:
            facts = list(collect_facts(read_journal(path)))
        except JournalError:
            continue
        if runbook == TRIAGE_ID and not changed and not measured:
            measured = facts
        past += [f for f in facts if f.name in _PAST and isinstance(f.value, int | float)
                 and not isinstance(f.value, bool) and f.value >= 1]
    return History(tuple(measured), tuple(past))
