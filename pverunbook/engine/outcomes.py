"""What the engine's parts hand back to it, and the two hooks a session plugs in.

Kept apart from ``engine.py`` so the checkpoint store, the guard checker and resume can name
these shapes without importing the engine that drives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pverunbook.engine import events as ev
from pverunbook.inventory import Node
from pverunbook.pve.facts import Fact
from pverunbook.runbook.model import Step
from pverunbook.transport.base import CommandResult

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine

# Step (and node) statuses, worst first.
STATUS_ORDER = ["connection_lost", "timed_out", "cancelled", "failed", "planned", "ok"]


def ended_words(step: Step, status: str) -> str:
    """How a failed step ended, for the re-run question: a timeout says after how long, and
    that a re-run gets no more time (trial: "Step timed out" with no cause, then a re-run)."""
    if status == "timed_out":
        return (f"timed out after {step.timeout:g} s (the step's time limit; a re-run gets the "
                "same limit)")
    return status.replace("_", " ")


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of node statuses (``STATUS_ORDER``); "ok" for none."""
    worst = "ok"
    for s in statuses:
        if STATUS_ORDER.index(s) < STATUS_ORDER.index(worst):
            worst = s
    return worst


@dataclass
class CheckpointOutcome:
    """A checkpoint attempt: ``ok`` only when every part on every node was stored here and its
    sha256 matched the node's; ``items`` are the manifest's entries, ``problems`` say why not."""

    ok: bool
    checkpoint_id: str
    path: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class CheckpointProgress:
    """A checkpoint being taken while the operator reads the confirmation, for the front end.

    The engine asks the question while the checkpoint runs beside it (the operator should not
    wait for a copy before reading what the step does), and runs the step only once the
    checkpoint is verified. ``state``: "taking", then "verified" or "failed"."""

    nodes: tuple[str, ...]
    state: str = "taking"
    parts_done: int = 0
    parts_total: int = 0
    checkpoint_id: str = ""
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        """One line saying where the checkpoint is (the confirmation shows it, updated)."""
        if self.state == "verified":
            return (f"Checkpoint {self.checkpoint_id} verified (restore from it if this goes "
                    "wrong).")
        if self.state == "failed":
            first = self.problems[0] if self.problems else "it did not verify"
            return (f"Checkpoint FAILED: {first}. The step will not run on it: you will be "
                    "asked to retry, override or abort.")
        done = f"{self.parts_done}/{self.parts_total} parts" if self.parts_total else "starting"
        return (f"Taking the checkpoint on {', '.join(self.nodes)}: {done} done. The step "
                "runs only once it is complete and verified.")


class Checkpointer(Protocol):
    """Takes the checkpoint a destructive step declares (``checkpoints.CheckpointStore``)."""

    async def take(self, engine: Engine, step: Step, nodes: list[Node]) -> CheckpointOutcome: ...


class GuardChecker(Protocol):
    """Checks a step's guards on its nodes right before it runs (``guards.py``); a failed guard
    that is not ``warn_only`` blocks the step."""

    async def check(self, engine: Engine, step: Step,
                    nodes: list[Node]) -> list[ev.GuardResult]: ...


@dataclass
class ResumeInfo:
    """Where an interrupted run stopped, read from its journal."""

    start_index: int
    unknown_step: bool
    statuses: dict[str, str]
    #: Facts observed before the interruption (journaled FactsObserved), for ``when``.
    facts: list[Fact] = field(default_factory=list)
    #: The step that was waiting for its typed confirmation when the run stopped: nothing of
    #: it ran, so it starts again and asks again ("" when none).
    asked_again: str = ""
    #: Guards the operator went past with the override phrase (step id -> reason).
    overridden: dict[str, str] = field(default_factory=dict)
    #: How the unknown step's run ended while it ran: the run's end message when the journal
    #: recorded one (Ctrl+C, SIGTERM: "run cancelled"), "" when pverunbook itself stopped.
    stopped: str = ""


@dataclass
class NodeOutcome:
    """One step on one node: its status (``STATUS_ORDER``), whole stdout/stderr and the result
    of each command that ran."""

    node: str
    status: str
    stdout: str = ""
    stderr: str = ""
    results: list[CommandResult] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every command ran to an exit status: the output is whole enough to judge."""
        return bool(self.results) and all(r.exit_status is not None and not r.error
                                          for r in self.results)


def unknown_why(stopped: str, read_only: bool = False, manual: bool = False) -> str:
    """Why a resumed run's step has no known outcome, for the question that follows: a run
    cancelled while the step ran (``ResumeInfo.stopped`` holds its end message) stopped the
    step's commands part-way; without an end in the journal pverunbook itself stopped (killed,
    a crash, the terminal closed) and the commands may have finished or not.

    ``read_only``: a non-destructive ``check`` step, whose commands only read: its outcome is
    unknown but nothing on the nodes can have changed, and the question says so (it said "what
    they changed is not known" of a step that changes nothing).

    ``manual``: a step the operator does by hand, which runs no commands: the run stopped
    before the operator said whether it was done (it said "its commands were stopped
    part-way")."""
    if manual:
        how = (f"the run was stopped ({stopped}: Ctrl+C, SIGTERM or cancel)" if stopped else
               "pverunbook stopped (killed, a crash, the terminal closed)")
        return (f"{how} before you said whether this manual step was done; it runs no "
                "commands, so only you know whether the work by hand was done")
    if read_only:
        how = (f"the run was stopped while it ran ({stopped}: Ctrl+C, SIGTERM or cancel)"
               if stopped else
               "pverunbook stopped while it ran (killed, a crash, the terminal closed)")
        return (f"{how}, so its evidence is incomplete; it is a check that only reads, so "
                "nothing on the nodes was changed by it and re-running it is safe")
    if stopped:
        return (f"the run was stopped while it ran ({stopped}: Ctrl+C, SIGTERM or cancel), so "
                "its commands were stopped part-way and what they changed is not known")
    return ("pverunbook stopped while it ran (killed, a crash, the terminal closed), so "
            "nobody knows whether it finished")
