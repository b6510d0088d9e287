"""What a run's journal says about where it ran: the mode it was started in, and the simulated
cluster a rehearsal changed (``run --resume`` continues there, never on a fresh broken one).
Split from ``commands/run.py`` (argument handling of run/rehearse/resume)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pverunbook.commands.exits import err
from pverunbook.commands.inputs import nearest_run


def kept_cluster(started: Any) -> tuple[Path | None, str | None]:
    """``(directory, scenario)`` of the simulated cluster a rehearsal run (its ``RunStarted``)
    changed; either is None when that cluster was not kept. The journal names the directory;
    older journals only the index of the state directory (check_history)."""
    from pverunbook.check_history import rehearsal_cluster_of

    where = Path(started.rehearsal_dir) if started.rehearsal_dir else \
        rehearsal_cluster_of(started.run_id)
    saved = None
    if where is not None and where.is_dir():
        from pverunbook.sim import SimCluster

        saved = SimCluster.saved_scenario(where)
    return where, saved


def _rehearsal_cluster_of(run: str, command: str = "run") -> tuple[Path, str] | int:
    """A rehearsal run resumes on the simulated cluster it ran on (its state directory and
    scenario), never on a fresh broken one: the steps done before the interruption changed
    that cluster, not a new one. An error (exit status) when that cluster is gone."""
    from pverunbook.engine.events import RunStarted
    from pverunbook.engine.journal import find_run, iter_journal

    try:
        started = next((e for e in iter_journal(find_run(run)) if isinstance(e, RunStarted)),
                       None)
    except OSError as exc:
        return err(f"{command} --resume", nearest_run(run, exc))
    if started is None:
        return err(f"{command} --resume", f"{run}: no run_started event", "`pverunbook journal "
                   "list` shows the runs that can be resumed")
    where, saved = kept_cluster(started)
    if where is None or saved is None:
        gone = where or "its directory"
        return err(f"{command} --resume", f"the rehearsal cluster of run {started.run_id} was not "
                   f"kept (a temporary cluster that ended with the run, or {gone} was "
                   "removed)", "resuming on a fresh broken cluster would skip "
                   "what the first steps changed: start the runbook again (`pverunbook "
                   f"rehearse {started.runbook_id}` keeps its cluster), or pass --state-dir "
                   "DIR of the cluster to resume on")
    return where, saved


def _mode_of_run(run: str) -> tuple[Any, str]:
    """The mode an interrupted run was started in, from its journal's first RunStarted, and
    "" — or None and why it cannot be told, with what to do (no such run, not a journal, an
    unknown mode)."""
    from pverunbook.engine.events import RunStarted
    from pverunbook.engine.journal import find_run, iter_journal
    from pverunbook.session import Mode

    problems: list[str] = []
    try:
        path = find_run(run)
        for e in iter_journal(path, problems):
            if isinstance(e, RunStarted):
                if e.mode in {m.value for m in Mode}:
                    return Mode(e.mode), ""
                return None, (f"{path}: run {e.run_id} has an unknown mode {e.mode!r}; if it "
                              "was a live run, resume it with --cluster FILE")
    except OSError as exc:  # FileNotFoundError, JournalError: the message names the run
        return None, nearest_run(run, exc)
    first = problems[0].removesuffix("; skipped") + "; " if problems else ""
    return None, (f"{first}{path} has no run_started event, so it is not a run journal; "
                  "`pverunbook journal list` shows the runs that can be resumed")
