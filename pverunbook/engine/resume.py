"""Where an interrupted run stopped, read back from its journal.

The rule that matters: a step that was running when the process died has an UNKNOWN outcome
(its commands may have half-run on the nodes), so the engine must ask the operator before
re-running it; it is never silently redone or silently skipped. Finished steps stay done.

One exception is known for certain: a step that died while its typed confirmation was open
(``confirmation_requested`` journaled, no ``command_started`` and no rollback timer armed for it)
ran nothing on any node — the engine journals every command durably before it starts
(node_commands.py) and arms rollback timers only after the answer. Its outcome is not unknown:
the run goes on at that step, which asks its question again. A manual step stays unknown (its
work is done by hand, outside the journal).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.journal import iter_journal
from pverunbook.engine.outcomes import ResumeInfo
from pverunbook.pve.facts import Fact
from pverunbook.runbook.model import Runbook

REDACTED = "[REDACTED]"
#: Step statuses after which the run simply goes on with the next step.
DONE = ("ok", "planned", "skipped")


class ResumeError(ValueError):
    pass


def load_resume(journal_path: Path, runbook: Runbook | None = None
                ) -> tuple[ev.RunStarted, ResumeInfo]:
    """The first ``RunStarted`` (params merged with later ``ParamsSet``) and where to go on.

    ``runbook`` is optional: it only makes the position after a skipped step exact when that
    step was never started (the journal's ``StepSkipped`` carries no index).
    """
    started: ev.RunStarted | None = None
    params: dict[str, Any] = {}
    index_of: dict[str, int] = {}
    if runbook is not None:
        index_of.update({s.id: i for i, s in enumerate(runbook.steps)})
    statuses: dict[str, str] = {}
    open_step: str | None = None  # started, not finished
    asked = False  # the open step's typed confirmation was requested
    touched = False  # the open step started a command or armed a rollback timer
    ran_after_finish: str | None = None  # CommandStarted seen after its StepFinished
    last: tuple[int, str] | None = None  # (index, status) of the last step that ended
    facts: list[Fact] = []
    overridden: dict[str, str] = {}
    stopped = ""  # the run's end message, recorded while the open step ran
    # a resumed session asked about the open step's unknown outcome: its end (an abort at
    # that question) is not what stopped the step, and must not replace what did
    answered = False
    for event in iter_journal(journal_path):
        if isinstance(event, ev.RunStarted):
            if started is None:
                started = event
            params.update(event.params)
        elif isinstance(event, ev.FactsObserved):
            for record in event.facts:
                try:
                    facts.append(Fact.from_json(record))
                except ValueError:
                    continue  # a damaged record: the fact is observed again when its step reruns
        elif isinstance(event, ev.ParamsSet):
            params.update(event.values)
        elif isinstance(event, ev.ConfirmationGiven):
            if event.what == "unknown outcome" and event.step_id == open_step:
                answered = True
            if event.what == "guard override" and event.accepted:
                overridden[event.step_id] = event.reason
        elif isinstance(event, ev.StepStarted):
            index_of[event.step_id] = event.index
            open_step, ran_after_finish = event.step_id, None
            asked = touched = answered = False
            stopped = ""
        elif isinstance(event, ev.RunFinished):
            if open_step is not None and not answered:
                stopped = event.message or event.status
        elif isinstance(event, ev.ConfirmationRequested):
            if event.step_id == open_step and event.what in ("destructive", "confirm"):
                asked = True
        elif isinstance(event, ev.RollbackTimer):
            if event.step_id == open_step:
                touched = True
        elif isinstance(event, ev.CommandStarted):
            if event.step_id != open_step:
                ran_after_finish = event.step_id
            else:
                touched = True
        elif isinstance(event, ev.StepFinished):
            statuses[event.step_id] = event.status
            if open_step == event.step_id:
                open_step = None
            if ran_after_finish == event.step_id:
                ran_after_finish = None
            if event.step_id in index_of:
                last = (index_of[event.step_id], event.status)
        elif isinstance(event, ev.StepSkipped):
            statuses[event.step_id] = "skipped"
            if ran_after_finish == event.step_id:
                ran_after_finish = None
            if event.step_id in index_of:
                idx = index_of[event.step_id]
            else:  # the engine walks in order: a skip without index is the next step
                idx = last[0] + 1 if last else 0
                index_of[event.step_id] = idx
            last = (idx, "skipped")
    if started is None:
        raise ResumeError(f"{journal_path}: no run_started event; this is not a run journal "
                          "(or it was cut before the first line was written)")
    started = dataclasses.replace(started, params=params)
    if open_step is not None and asked and not touched and ran_after_finish is None:
        # Stopped at its confirmation: nothing ran; go on at it (the question is asked again).
        return started, ResumeInfo(start_index=index_of[open_step], unknown_step=False,
                                   statuses=statuses, facts=facts, asked_again=open_step,
                                   overridden=overridden)
    unknown = open_step or ran_after_finish
    if unknown is not None:
        statuses[unknown] = "unknown"
        return started, ResumeInfo(start_index=index_of[unknown], unknown_step=True,
                                   statuses=statuses, facts=facts, overridden=overridden,
                                   stopped=stopped if unknown == open_step else "")
    if last is None:
        return started, ResumeInfo(start_index=0, unknown_step=False, statuses=statuses,
                                   facts=facts, overridden=overridden)
    index, status = last
    start = index + 1 if status in DONE else index
    return started, ResumeInfo(start_index=start, unknown_step=False, statuses=statuses,
                               facts=facts, overridden=overridden)


def missing_secrets(runbook: Runbook, run_started: ev.RunStarted) -> list[str]:
    """Parameters whose value the journal only has as ``[REDACTED]``: ask for them again."""
    out: list[str] = []
    for p in runbook.params:
        value = run_started.params.get(p.name)
        if value == REDACTED or (isinstance(value, str) and REDACTED in value):
            out.append(p.name)
    return out


#: A runbook text larger than this is not copied into the journal (its hash still is).
MAX_RUNBOOK_TEXT = 256 * 1024


def runbook_identity(runbook: Runbook) -> tuple[str, str, str]:
    """(absolute path, SHA-256 of the file, its text) of the runbook file, for ``RunStarted``.

    The path is absolute so ``run --resume`` works from any directory; the hash and text let
    resume show what changed in the file since the run started. ("", "", "") when the runbook
    has no file (built from text in tests); the text is "" when unreadable or very large.
    """
    import hashlib

    if runbook.path is None:
        return "", "", ""
    path = Path(runbook.path).resolve()
    try:
        raw = path.read_bytes()
    except OSError:
        return str(path), "", ""
    text = raw.decode("utf-8", errors="replace") if len(raw) <= MAX_RUNBOOK_TEXT else ""
    return str(path), hashlib.sha256(raw).hexdigest(), text


def runbook_change(started: ev.RunStarted, runbook: Runbook) -> str:
    """What changed in the runbook file since the run started, as a unified diff.

    "" when nothing changed, or when the journal has no hash (older journals) to compare with.
    When the old text was not kept, the diff is replaced by the two hashes.
    """
    import difflib

    if not started.runbook_sha256:
        return ""
    path, sha, text = runbook_identity(runbook)
    if sha == started.runbook_sha256:
        return ""
    if not started.runbook_text or not text:
        return (f"{path or started.runbook_path}: SHA-256 {started.runbook_sha256[:12]}... when "
                f"the run started, {sha[:12] or 'unreadable'}... now\n")
    return "".join(difflib.unified_diff(
        started.runbook_text.splitlines(keepends=True), text.splitlines(keepends=True),
        f"{started.runbook_path} (when the run started)", f"{path} (now)"))
