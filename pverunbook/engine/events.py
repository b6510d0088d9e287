"""Typed events: the only thing the engine tells the world.

The TUI, the headless CLI, the journal and the tests all consume the same stream. Every event is a
frozen dataclass with a ``kind`` and round-trips through JSON (``to_dict``/``event_from_dict``),
which is what makes the journal the single source for resume and for the incident report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        for name in field_names(type(self)):
            v = getattr(self, name)
            d[name] = list(v) if isinstance(v, tuple) else v
        return d


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
E = TypeVar("E", bound=Event)


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of an event class, in order; ``dataclasses.fields`` rebuilt the tuple on every
    call, twice for every event (redaction and the journal)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def with_text(event: E, fn: Callable[[Any], Any]) -> E:
    """``event`` with ``fn`` applied to every text field (str, tuple, list, dict), or the same
    object when ``fn`` changed none: how the engine redacts an event before anyone sees it."""
    changes: dict[str, Any] = {}
    for name in field_names(type(event)):
        value = getattr(event, name)
        if isinstance(value, str | tuple | list | dict):
            red = fn(value)
            if red != value:
                changes[name] = red
    return dataclasses.replace(event, **changes) if changes else event


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    run_id: str
    runbook_id: str
    runbook_title: str
    runbook_path: str
    mode: str
    cluster: str
    nodes: tuple[str, ...]
    params: dict[str, Any]
    resumed: bool = False
    operator: str = ""
    #: The runbook file's SHA-256 and text when the run started: resume (from any directory,
    #: ``runbook_path`` is absolute) shows what changed since and asks before going on.
    runbook_sha256: str = ""
    runbook_text: str = ""
    #: A rehearsal: the state directory of the simulated cluster it ran on, so ``run --resume``
    #: continues on that cluster wherever the journal and the state directory are ("" else).
    rehearsal_dir: str = ""
    #: A rehearsal: the scenario of that simulated cluster (every scenario's cluster is "nyc",
    #: so the run lists say which one it was), "" else and in older journals.
    scenario: str = ""


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step_id: str
    title: str
    index: int
    nodes: tuple[str, ...]
    destructive: bool = False
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class CommandStarted(Event):
    kind: ClassVar[str] = "command_started"
    step_id: str
    node: str
    command: str
    index: int
    timeout: float


@dataclass(frozen=True, kw_only=True)
class OutputChunk(Event):
    kind: ClassVar[str] = "output"
    step_id: str
    node: str
    stream: str
    text: str


@dataclass(frozen=True, kw_only=True)
class CommandFinished(Event):
    kind: ClassVar[str] = "command_finished"
    step_id: str
    node: str
    command: str
    index: int
    exit_status: int | None
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    connection_lost: bool = False
    error: str = ""
    dry_run: bool = False

    @property
    def outcome(self) -> str:
        if self.dry_run:
            return "not run (dry-run)"
        if self.connection_lost:
            return "connection lost"
        if self.timed_out:
            return f"timed out after {self.duration:.1f}s"
        if self.cancelled:
            return "cancelled"
        if self.error:
            return f"error: {self.error}"
        return f"exit {self.exit_status}"


@dataclass(frozen=True, kw_only=True)
class ExpectationResult(Event):
    kind: ClassVar[str] = "expectation"
    step_id: str
    node: str
    description: str
    ok: bool
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Finding(Event):
    kind: ClassVar[str] = "finding"
    step_id: str
    node: str | None
    severity: str
    title: str
    detail: str = ""
    evidence: str = ""


@dataclass(frozen=True, kw_only=True)
class GuardResult(Event):
    kind: ClassVar[str] = "guard"
    step_id: str
    check: str
    ok: bool
    warn_only: bool
    message: str


@dataclass(frozen=True, kw_only=True)
class ConfirmationRequested(Event):
    kind: ClassVar[str] = "confirmation_requested"
    step_id: str
    what: str
    prompt: str
    expected: str
    nodes: tuple[str, ...] = ()
    checkpoint_id: str = ""


@dataclass(frozen=True, kw_only=True)
class ConfirmationGiven(Event):
    kind: ClassVar[str] = "confirmation_given"
    step_id: str
    what: str
    accepted: bool
    typed: str = ""
    operator: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ParamsSet(Event):
    kind: ClassVar[str] = "params_set"
    step_id: str
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class FactsObserved(Event):
    """Typed facts read off one step's output (``pve/facts/``), ``Fact.to_json`` records.

    Journaled so that resume, the report and the diagnosis see the same values ``when`` saw.
    """

    kind: ClassVar[str] = "facts_observed"
    step_id: str
    facts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class ValueProposed(Event):
    """An input step proposes a parameter value from a fact; the answer follows as ParamsSet."""

    kind: ClassVar[str] = "value_proposed"
    step_id: str
    param: str
    value: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CheckpointRequested(Event):
    kind: ClassVar[str] = "checkpoint_requested"
    step_id: str
    nodes: tuple[str, ...]
    files: tuple[str, ...] = ()
    sqlite: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CheckpointTaken(Event):
    kind: ClassVar[str] = "checkpoint_taken"
    step_id: str
    checkpoint_id: str
    ok: bool
    path: str = ""
    items: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    kind: ClassVar[str] = "step_finished"
    step_id: str
    status: str
    message: str = ""
    duration: float = 0.0
    #: How the step ended on each target node (node → ok, failed, timed_out…): a step that
    #: changed one node and failed on another must never read as if it did nothing.
    node_status: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StepSkipped(Event):
    kind: ClassVar[str] = "step_skipped"
    step_id: str
    reason: str
    by_operator: bool = False
    #: The step's status when the operator chose to skip it and go on (failed, timed_out…);
    #: "" for a step skipped before it ran. Such a step ran: it is not "skipped".
    after: str = ""


@dataclass(frozen=True, kw_only=True)
class NodeConnection(Event):
    """A node's link to us changed: ``unreachable`` (it did not answer when the run started
    or before a destructive step: no step runs on it), ``lost`` mid-command, ``reconnecting``,
    ``down`` (gave up), ``connected`` (back)."""

    kind: ClassVar[str] = "node_connection"
    node: str
    state: str
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class RunPaused(Event):
    kind: ClassVar[str] = "run_paused"
    step_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Note(Event):
    """Free text for the journal: an operator's remark, a restore, a warning."""

    kind: ClassVar[str] = "note"
    text: str
    step_id: str = ""
    level: str = "info"


#: How the note of a shell session starts (``pverunbook.shell.shell_note``, which sits below the
#: engine and keeps its own copy; a test holds them equal): the health check's
#: history counts a run with such a note as one that may have changed the cluster (what was
#: typed there is not recorded).
SHELL_NOTE_START = "operator used an interactive shell on "


@dataclass(frozen=True, kw_only=True)
class RollbackTimer(Event):
    """A node-side rollback timer (``commit_within``) changed: ``armed``, ``arm_failed``,
    ``committed`` (COMMIT), ``disarmed`` (stopped as COMMIT does because its step changed
    nothing: it failed first, or none of its commands ran),
    ``disarm_failed``, ``pending`` (found armed on resume), ``fired`` (restored),
    ``failed`` (the rollback itself failed), ``unknown`` (its outcome could not be read)."""

    kind: ClassVar[str] = "rollback"
    step_id: str
    node: str
    state: str
    checkpoint_id: str = ""
    #: When it fires, seconds since the epoch on the node's clock (0: not armed).
    deadline: float = 0.0
    seconds: float = 0.0
    files: tuple[str, ...] = ()
    dir: str = ""
    method: str = ""
    message: str = ""


#: RollbackTimer states after which a person must look at the node: the timer never started,
#: could not be stopped, its restore failed, or its outcome could not be read. One list for
#: the report, the summary and the diagnosis, so they cannot disagree on what needs a hand.
ROLLBACK_NEEDS_HAND = ("arm_failed", "disarm_failed", "failed", "unknown")

#: The reason a ``disarmed`` timer carries first in its message: its ``commit_within`` step
#: failed before it changed anything, so the timer was stopped (engine/rollback_unchanged.py).
ROLLBACK_NOTHING_CHANGED = "nothing was changed (the step failed first)"


def rollback_state(e: RollbackTimer) -> str:
    """``e.state``, but ``disarmed`` for a timer stopped because its step changed nothing also
    when the journal recorded it as ``committed`` (journals written before ``disarmed`` existed):
    nothing was committed, and the report and ``journal show`` must not say so."""
    if e.state == "committed" and e.message.startswith(ROLLBACK_NOTHING_CHANGED):
        return "disarmed"
    return e.state


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    status: str
    message: str = ""
    duration: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (RunStarted, StepStarted, CommandStarted, OutputChunk, CommandFinished,
                ExpectationResult, Finding, GuardResult, ConfirmationRequested, ConfirmationGiven,
                ParamsSet, CheckpointRequested, CheckpointTaken, StepFinished, StepSkipped,
                NodeConnection, RunPaused, Note, RunFinished, FactsObserved, ValueProposed,
                RollbackTimer)
}


def event_from_dict(d: dict[str, Any]) -> Event:
    cls = EVENT_TYPES[d["kind"]]
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for k, v in d.items():
        if k in names:
            kwargs[k] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)
