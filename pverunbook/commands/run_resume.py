"""``run --resume`` / ``rehearse --resume``: which runbook a run began with, whether it changed
since, and whether the run already reached its end (nothing left to resume)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from pverunbook.commands.exits import err
from pverunbook.commands.inputs import load_runbook
from pverunbook.resume_hint import resume_command
from pverunbook.statedir import chosen_args


def runbook_of_run(started: Any, dirs: list[Path]) -> Any:
    """The runbook a run was started with: its file (absolute path), else by id in ``dirs``."""
    from pverunbook.runbook.loader import load_file

    if started.runbook_path and Path(started.runbook_path).is_file():
        return load_file(started.runbook_path)
    return load_runbook(started.runbook_id, dirs)


def accept_runbook_change(args: argparse.Namespace, started: Any, rb: Any) -> int | None:
    """Show what changed in the runbook since the run started; None when resume may go on.

    A resumed run must not silently follow different steps than the ones it began with: the
    diff is shown, and the operator accepts it (typing ``yes`` on a terminal, or
    ``--accept-changed-runbook``), else resume stops with exit 2.
    """
    from pverunbook.engine.resume import runbook_change

    change = runbook_change(started, rb)
    if not change:
        return None
    print(f"pverunbook: the runbook changed since run {started.run_id} started:\n{change}",
          file=sys.stderr)
    if getattr(args, "accept_changed_runbook", False):
        return None
    if sys.stdin.isatty():
        from pverunbook.terminal_decider import question_stream

        ask = question_stream()  # never into a redirected stdout
        ask.write("Resume with the changed runbook? Type 'yes' to go on: ")
        ask.flush()
        answer = sys.stdin.readline()
        if answer.strip() == "yes":
            return None
    again = resume_command(args, shlex.quote(str(args.resume)) + chosen_args())
    return err(f"{args.command or 'run'} --resume",
               "the runbook changed since the run started (diff above)",
               "check the diff; to go on with the changed runbook, resume again with "
               f"--accept-changed-runbook: `{again} --accept-changed-runbook`")


#: ``RunFinished`` statuses of a run that reached its last step: nothing is left to resume.
#: (A run that stopped — failed, aborted, interrupted — or has no end yet can go on.)
ENDED = ("ok", "completed_with_failures", "planned")


def ended(run: str, command: str = "run") -> int | None:
    """Exit 2 naming its report when ``run`` already reached its end, else None.

    Resuming such a run was refused for a reason beside the point ("the rehearsal cluster …
    was not kept") or would start nothing; the operator wants to know it is done and where its
    record is. An unreadable or unknown run is left to the checks after this one."""
    from pverunbook.engine.events import RunFinished, RunStarted
    from pverunbook.engine.journal import find_run, iter_journal

    run_id, status = run, None
    try:
        path = find_run(run)
        for e in iter_journal(path):
            if isinstance(e, RunStarted):
                run_id, status = e.run_id, None  # a resumed run: only its last end counts
            elif isinstance(e, RunFinished):
                status = e.status
    except (OSError, ValueError):
        return None
    if status not in ENDED:
        return None
    # a journal named by its path is found by that path, one in the state directory by its id
    which = shlex.quote(str(path)) if path == Path(run) else run_id + chosen_args()
    return err(f"{command} --resume", f"run {run_id} already finished (status {status}); its "
               f"report: pverunbook report {which}", "to do it again, start the runbook anew "
               "(a new run)")
