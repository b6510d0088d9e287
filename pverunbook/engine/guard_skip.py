"""Going past a step that guards later destructive steps: never with one key.

A runbook checks before it destroys: ``cluster-db-reset``'s "the other nodes are quorate"
comes before "stop pve-cluster" and "move config.db aside" on the damaged node. If that
check failed and one key skipped it, the destructive steps ran on a cluster with no quorate
peer to resync from — the outage's own disaster (the database emptied with nothing to take
``/etc/pve`` from, dcdb.c ``dcdb_select_leader`` picks whatever is left).

The rule, from the runbook model alone (so it holds for every runbook):

* a step **guards** when it is not destructive itself, is not an ``input`` step, its
  ``on_failure`` is not ``continue`` (``continue`` is the author saying its failure is
  information, not a precondition: a damaged node's own checks fail by design), and a
  destructive step comes after it in the runbook's order;
* going past such a step without it having succeeded — Skip after it failed, Skip before it
  ran, a jump over it, skipping it when its outcome is unknown after a crash — needs the
  operator to type :data:`GUARD_OVERRIDE_PHRASE` and give a reason. Following the runbook's
  own ``on_failure = "goto:..."`` route stays one key: that is where the author sends it.

An accepted override is journaled (``ConfirmationGiven(what="guard override")`` with the
reason), kept for the rest of the run (and restored on resume), and every later typed
confirmation says which guard was skipped (:func:`warning`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    GUARD_OVERRIDE_PHRASE,
    CheckpointChoice,
    GuardFailure,
)
from pverunbook.runbook.model import FailureAction, Runbook, Step, StepKind

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine

WHAT = "guard override"


def guarded_by(runbook: Runbook, index: int) -> list[Step]:
    """The destructive steps that step ``index`` guards (empty: it guards nothing)."""
    step = runbook.steps[index]
    if (step.destructive or step.kind is StepKind.INPUT
            or step.on_failure.action is FailureAction.CONTINUE):
        return []
    return [s for s in runbook.steps[index + 1:] if s.destructive]


async def allow_skip(engine: Engine, index: int, status: str, message: str = "") -> bool:
    """May the run go past step ``index`` that did not succeed? True at once when it guards
    nothing; otherwise only when the operator typed the phrase and a reason (journaled)."""
    step = engine.runbook.steps[index]
    later = guarded_by(engine.runbook, index)
    if not later or step.id in engine.overridden_guards:
        return True
    ask = getattr(engine.decider, "guard_failed", None)
    failure = GuardFailure(step=step, status=status, message=message,
                           guarded=tuple(s.id for s in later))
    answer = await ask(failure) if ask is not None else None
    typed = answer.text.strip() if answer is not None else ""
    reason = " ".join(answer.reason.split()) if answer is not None else ""
    accepted = (answer is not None and answer.choice is CheckpointChoice.OVERRIDE
                and typed == GUARD_OVERRIDE_PHRASE and bool(reason))
    names = ", ".join(s.id for s in later)
    engine.emit(ev.ConfirmationGiven(
        step_id=step.id, what=WHAT, accepted=accepted, typed=typed, operator=engine.operator,
        reason=reason or f"not overridden: '{step.id}' {status} and guards {names}"))
    if accepted:
        engine.overridden_guards[step.id] = reason
        engine.emit(ev.Note(step_id=step.id, level="warning", text=(
            f"guard '{step.id}' ({step.title}) {status} and was SKIPPED by override "
            f"(typed by {engine.operator}: {reason}); the destructive steps after it "
            f"({names}) will say so when they ask")))
    elif answer is not None:
        why = "no reason given" if typed == GUARD_OVERRIDE_PHRASE else \
            f"type exactly '{GUARD_OVERRIDE_PHRASE}'"
        engine.emit(ev.Note(step_id=step.id, level="error", text=(
            f"override refused ({why}): '{step.id}' guards {names} and was not skipped")))
    await engine.durable()
    return accepted


async def allow_jump(engine: Engine, start: int, target: int) -> bool:
    """A jump forward from ``start`` to ``target`` passes over steps ``start..target-1``:
    each one that guards a destructive step at or after ``target`` and has not succeeded
    needs its own override."""
    for j in range(start, target):
        step = engine.runbook.steps[j]
        later = [s for s in guarded_by(engine.runbook, j)
                 if engine.runbook.index(s.id) >= target]
        if not later or engine.statuses.get(step.id) in ("ok", "planned"):
            continue
        status = engine.statuses.get(step.id, "not run")
        if not await allow_skip(engine, j, status, f"jumped over to "
                                f"'{engine.runbook.steps[target].id}'"):
            return False
    return True


def warning(engine: Engine) -> str:
    """What every typed confirmation after an overridden guard says ("" when none)."""
    if not engine.overridden_guards:
        return ""
    parts = []
    for sid, reason in engine.overridden_guards.items():
        title = next((s.title for s in engine.runbook.steps if s.id == sid), sid)
        parts.append(f"'{title}' ({sid}; reason given: {reason})")
    return (f"⚠ GUARD SKIPPED by override: {'; '.join(parts)}. What it checks before this "
            "step was NOT confirmed.")
