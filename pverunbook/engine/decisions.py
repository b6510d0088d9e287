"""What the engine asks a human, and the answers it accepts.

The TUI answers with modals, the headless CLI with terminal prompts or flags, tests with scripts.
The engine never assumes an answer: every default here is the safe one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pverunbook.engine.outcomes import CheckpointProgress
from pverunbook.runbook.actions import ACTIONS
from pverunbook.runbook.model import Param, Step, StepKind

#: Typed to proceed past a failed or incomplete checkpoint. Long on purpose.
OVERRIDE_PHRASE = "proceed without a verified backup"
#: Typed (with a reason) to go past a failed step that guards later destructive steps.
GUARD_OVERRIDE_PHRASE = "go on without this guard"
#: Typed to keep an input value that the facts collected in this run contradict.
CONTRADICT_PHRASE = "use it despite the facts"


def not_read_only(step: Step) -> str:
    """Why ``step`` is not read-only, in words ("" when it is): the one rule for a step that
    changes nothing on the nodes and asks nothing — a non-destructive ``check`` without a
    confirmation. The resume question (unknown outcome) and a front end's "run the read-only
    steps" ask this; neither keeps its own copy of the rule."""
    if step.destructive:
        return "it is destructive: it changes the nodes"
    if step.kind is StepKind.INPUT:
        return "it asks for values"
    if step.kind is StepKind.MANUAL:
        return "it asks you to do something by hand"
    if step.kind is StepKind.RUN:
        return "it runs commands that may change something"
    if step.kind is StepKind.ACTION and not (step.action in ACTIONS
                                             and ACTIONS[step.action].read_only):
        return "it is an action of pverunbook's own that may change something"
    if step.confirm is not None:
        return "it asks for a confirmation"
    return ""


def read_only(step: Step) -> bool:
    """``step`` only reads: it changes nothing on the nodes and asks nothing."""
    return not not_read_only(step)


class StepAction(StrEnum):
    RUN = "run"
    SKIP = "skip"
    GOTO = "goto"
    ABORT = "abort"


@dataclass(frozen=True)
class StepDecision:
    action: StepAction = StepAction.RUN
    reason: str = ""
    goto: str | None = None


class FailureChoice(StrEnum):
    FOLLOW_RUNBOOK = "follow"  # what the runbook's on_failure says
    RERUN = "rerun"
    SKIP = "skip"
    ABORT = "abort"


class CheckpointChoice(StrEnum):
    RETRY = "retry"
    ABORT = "abort"
    OVERRIDE = "override"


class Refusal(str):
    """An answer to a confirmation that refuses on purpose, typing nothing: the front end's
    "Roll back now" on a COMMIT question, or headless without ``--confirm COMMIT``.

    A ``str`` (empty) so every decider keeps returning ``str | None``; the engine journals
    ``reason`` instead of "no answer in time" (a refusal and a timeout are different records),
    and ``now`` asks it to make the rollback timers fire at once (engine/rollback.py)."""

    reason: str
    now: bool

    def __new__(cls, reason: str, *, now: bool = False) -> Refusal:
        self = super().__new__(cls, "")
        self.reason = reason
        self.now = now
        return self


#: The journal's reason for a COMMIT question that got no answer before its deadline.
NO_ANSWER = "no answer in time"
#: The journal's reason for "Roll back now".
ROLLED_BACK = "rolled back by the operator"


@dataclass(frozen=True)
class ConfirmRequest:
    step: Step
    what: str
    prompt: str
    expected: str
    nodes: tuple[str, ...]
    checkpoint_id: str = ""
    changes: str = ""
    #: The step's ``summary`` per node (``node: sentence`` lines), shown above ``changes``.
    summary: str = ""
    #: For ``what == "commit"``: when the rollback timers fire (seconds since the epoch, this
    #: machine's clock); a front end shows the countdown and gives up at that moment.
    deadline: float = 0.0
    #: A destructive step's checkpoint, taken while this question is open (updated in place).
    checkpoint: CheckpointProgress | None = None
    #: A guard before this step was skipped by override (guard_skip.warning): shown with it.
    warning: str = ""


@dataclass(frozen=True)
class CheckpointFailure:
    step: Step
    problems: tuple[str, ...]
    checkpoint_id: str = ""


@dataclass(frozen=True)
class GuardFailure:
    """A step that guards later destructive steps failed (or is to be skipped before it ran),
    and the operator asked to go past it: the answer must carry ``GUARD_OVERRIDE_PHRASE``
    and a reason (``Answer(CheckpointChoice.OVERRIDE, text=..., reason=...)``)."""

    step: Step
    status: str
    message: str
    #: The destructive steps after it, in the runbook's order (ids).
    guarded: tuple[str, ...]


@dataclass
class Answer:
    """A typed answer; ``text`` is what the operator typed (journaled verbatim)."""

    choice: Any
    text: str = ""
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Decider(Protocol):
    async def before_step(self, step: Step, index: int) -> StepDecision:
        """Called before each step: the TUI waits for "next", headless returns RUN."""
        ...

    async def confirm(self, request: ConfirmRequest) -> str | None:
        """Return what the operator typed, or None if they refused."""
        ...

    async def manual_done(self, step: Step, instructions: str) -> bool: ...

    async def ask_params(self, step: Step, params: list[Param],
                         current: dict[str, Any]) -> dict[str, Any] | None:
        """Return the new values (strings are parsed by the engine), or None to abort."""
        ...

    async def after_failure(self, step: Step, status: str) -> FailureChoice: ...

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        """Answer.choice is a CheckpointChoice; OVERRIDE needs Answer.text == OVERRIDE_PHRASE."""
        ...

    async def guard_failed(self, failure: GuardFailure) -> Answer | None:
        """Going past a failed guard: an OVERRIDE answer with ``GUARD_OVERRIDE_PHRASE`` and a
        reason, or None to go back (the run does not go past it)."""
        ...

    async def unknown_outcome(self, step: Step, why: str = "") -> FailureChoice:
        """A step was running when a previous run stopped: RERUN or SKIP, never silently.
        ``why``: how it stopped, in words (outcomes.unknown_why)."""
        ...

    async def connection_lost(self, node: str, step: Step) -> bool:
        """Return True to reconnect (the engine retries with backoff), False to stop."""
        ...


class ScriptedDecider:
    """Answers from fixed values: ``--confirm TEXT`` in the CLI, and the tests."""

    def __init__(self, confirm_text: str | None = None, manual: bool = False,
                 params: dict[str, Any] | None = None,
                 failure: FailureChoice = FailureChoice.FOLLOW_RUNBOOK,
                 checkpoint: Answer | None = None,
                 unknown: FailureChoice = FailureChoice.SKIP,
                 reconnect: bool = False, guard: Answer | None = None) -> None:
        self.confirm_text = confirm_text
        self.manual = manual
        self.params = params or {}
        self.failure = failure
        self.checkpoint = checkpoint or Answer(CheckpointChoice.ABORT)
        self.unknown = unknown
        self.reconnect = reconnect
        #: The answer when going past a failed guard (None: not overridden).
        self.guard = guard
        self.asked: list[str] = []

    async def before_step(self, step: Step, index: int) -> StepDecision:
        return StepDecision()

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.asked.append(f"confirm:{request.step.id}")
        return self.confirm_text

    async def manual_done(self, step: Step, instructions: str) -> bool:
        self.asked.append(f"manual:{step.id}")
        return self.manual

    async def ask_params(self, step: Step, params: list[Param],
                         current: dict[str, Any]) -> dict[str, Any] | None:
        self.asked.append(f"params:{step.id}")
        return {p.name: self.params.get(p.name, current.get(p.name)) for p in params}

    async def after_failure(self, step: Step, status: str) -> FailureChoice:
        return self.failure

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        self.asked.append(f"checkpoint:{failure.step.id}")
        return self.checkpoint

    async def guard_failed(self, failure: GuardFailure) -> Answer | None:
        self.asked.append(f"guard:{failure.step.id}")
        return self.guard

    async def unknown_outcome(self, step: Step, why: str = "") -> FailureChoice:
        self.asked.append(f"unknown:{step.id}")
        return self.unknown

    async def connection_lost(self, node: str, step: Step) -> bool:
        self.asked.append(f"connection:{node}")
        return self.reconnect
