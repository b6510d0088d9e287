"""What the TUI needs to resume a run (the runs it offers are listed by
:mod:`pverunbook.stopped_runs`, below the UI, which ``journal list`` shares).

Mirrors ``pverunbook run --resume`` (``commands.run.run_headless``): the runbook is reloaded
from the path the journal names, the parameters come back from the journal except secrets
(asked again), and the engine continues the same run id in the same journal file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.engine import ResumeInfo
from pverunbook.engine.journal import find_run, iter_journal
from pverunbook.engine.resume import REDACTED, load_resume, missing_secrets, runbook_change
from pverunbook.runbook.catalog import Entry
from pverunbook.runbook.model import Runbook


class ResumeProblem(Exception):
    """Why a run cannot be resumed here; ``hint`` says what to do instead."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ResumePlan:
    """Everything the parameters form and the run screen need to continue a run."""

    journal_path: Path
    run_id: str
    started: ev.RunStarted
    info: ResumeInfo
    runbook: Runbook
    #: Parameter values from the journal (secrets left out).
    given: dict[str, Any]
    #: Secret parameters the journal only has as [REDACTED]: asked again before starting.
    secrets: list[str] = field(default_factory=list)

    @property
    def rehearsal(self) -> bool:
        return self.started.mode == "rehearsal"


def plan_resume(target: str | Path, mode: str, entries: Sequence[Entry] = ()) -> ResumePlan:
    """Read the run ``target`` (run id, prefix of one, or journal path) for resuming in
    ``mode``; raises :class:`ResumeProblem` (or ``ResumeError``/``RunbookError``) when it
    cannot be."""
    from pverunbook.runbook.loader import load_file

    try:
        path = Path(target) if isinstance(target, Path) else find_run(target)
    except FileNotFoundError as exc:
        raise ResumeProblem(str(exc), "`pverunbook journal list` shows the runs") from exc
    if not path.exists():
        raise ResumeProblem(f"no journal at {path}")
    started, _ = load_resume(path)
    if started.mode != mode:
        how = {"rehearsal": "pverunbook tui --resume RUN",
               "live": "pverunbook tui --cluster INVENTORY --resume RUN",
               "local": "pverunbook tui --local --resume RUN",
               "dry-run": "pverunbook tui --dry-run --resume RUN"}.get(
            started.mode, "pverunbook run --resume RUN")
        raise ResumeProblem(
            f"run {started.run_id} was started in {started.mode} mode; this session is in "
            f"{mode} mode.",
            f"resume it in its own mode: {how.replace('RUN', started.run_id or path.stem)}")
    runbook: Runbook | None = None
    if started.runbook_path and Path(started.runbook_path).exists():
        runbook = load_file(Path(started.runbook_path))
    else:
        for e in entries:
            if e.runbook is not None and e.runbook.id == started.runbook_id:
                runbook = e.runbook
                break
    if runbook is None:
        raise ResumeProblem(
            f"the runbook of run {started.run_id} ({started.runbook_path or started.runbook_id})"
            " cannot be found",
            "put it back at that path, or pass its directory with --runbooks DIR")
    if runbook.id != started.runbook_id:
        raise ResumeProblem(f"{started.runbook_path} is now runbook '{runbook.id}', but the run "
                            f"was of '{started.runbook_id}'")
    changed = runbook_change(started, runbook)
    if changed:
        # The steps already done were those of the old text: going on with a different runbook
        # must be a decision, taken where the whole diff can be read (the CLI shows it and asks).
        shown = changed if len(changed) < 2000 else changed[:2000] + "\n…"
        raise ResumeProblem(
            f"the runbook of run {started.run_id} changed since the run started:\n{shown}",
            f"review the change and accept it with `pverunbook run --resume "
            f"{started.run_id or path.stem}` (it shows the diff and asks), or put the old "
            "runbook back")
    # Again with the runbook: positions after skipped steps are then exact.
    started, info = load_resume(path, runbook)
    known = {p.name for p in runbook.params}
    given = {k: v for k, v in started.params.items()
             if k in known and not (isinstance(v, str) and REDACTED in v)}
    return ResumePlan(journal_path=path, run_id=started.run_id or path.stem, started=started,
                      info=info, runbook=runbook, given=given,
                      secrets=missing_secrets(runbook, started))


def replay_events(path: Path) -> Iterator[ev.Event]:
    """The journal's events, read as they are replayed: its output too, so a resumed run shows
    where it left off (``RunState.restore`` keeps each step's last lines, as a live run does;
    a long journal is never held whole)."""
    return iter_journal(path)
