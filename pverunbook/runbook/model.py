"""The runbook as plain typed data: what the loader produces and the engine consumes.

Nothing here does I/O or knows about TOML; positions (``Pos``) are kept so that every later error
(lint, plan, run) can still point at ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pverunbook.runbook.when import Condition


@dataclass(frozen=True)
class Pos:
    """Where something was written: 1-based line and column in a file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ParamType(StrEnum):
    INT = "int"
    STR = "str"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    prompt: str
    default: int | str | bool | None = None
    min: int | None = None
    max: int | None = None
    regex: str | None = None
    #: What ``regex`` accepts, in words ("a VMID, 100 to 999999999, or 'all'"): a refused
    #: value is told this, never the raw pattern.
    regex_help: str = ""
    #: ``"ip"``: the value must be one IPv4 or IPv6 address (Python's ``ipaddress``), a check
    #: no readable regex makes (``192.168.4.999`` has the shape of an address).
    format: str | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""
    pos: Pos | None = None
    #: Set by the loader when a step's ``targets`` uses this parameter: its value must then be
    #: exactly one inventory node's name (never ``all``, ``first``, ``local``, a list or a
    #: pattern), checked against the cluster when the value is given.
    chooses_node: bool = False


class StepKind(StrEnum):
    RUN = "run"
    CHECK = "check"
    MANUAL = "manual"
    INPUT = "input"
    ACTION = "action"


class FailureAction(StrEnum):
    STOP = "stop"
    CONTINUE = "continue"
    GOTO = "goto"


@dataclass(frozen=True)
class OnFailure:
    action: FailureAction = FailureAction.STOP
    goto: str | None = None

    def __str__(self) -> str:
        return f"goto {self.goto}" if self.action is FailureAction.GOTO else self.action.value


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    BOTH = "both"


@dataclass(frozen=True)
class Expectation:
    """A regex that must (``match``) or must not (``absent``) appear in a node's output.

    ``severity`` ("critical" or "warning") makes it a finding instead of a failure: a
    read-only check whose output shows a fault has still done its job (the evidence is the
    point), so the node is marked with the finding and the step does not fail."""

    match: str | None = None
    absent: str | None = None
    stream: Stream = Stream.BOTH
    nodes: tuple[str, ...] = ()
    message: str = ""
    severity: str = ""
    #: The diagnosis's fault ids (``Fault.rule``) this expectation fails on: while the health
    #: check names one of them, this runbook would stop here, so the check proposes it only
    #: after the runbook that fixes that fault (:func:`pverunbook.run_diagnosis.runbook_stops`).
    faults: tuple[str, ...] = ()
    pos: Pos | None = None

    def describe(self) -> str:
        where = f" on {', '.join(self.nodes)}" if self.nodes else ""
        if self.match is not None:
            return f"output must match /{self.match}/{where}"
        return f"output must not match /{self.absent}/{where}"


@dataclass(frozen=True)
class Backup:
    """What a checkpoint must capture on every target node before the step runs."""

    files: tuple[str, ...] = ()
    sqlite: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.files or self.sqlite or self.outputs)


class GuardKind(StrEnum):
    QUORATE = "quorate"
    NOT_QUORATE = "not-quorate"
    PVE_WRITABLE = "pve-writable"
    COROSYNC_RUNNING = "corosync-running"
    SAME_CONFIG_VERSION = "same-config-version"
    INVENTORY_COMPLETE = "inventory-complete"
    NO_HA_RESOURCES = "no-ha-resources"
    COMMAND = "command"


#: Guards that compare nodes with one another, and which nodes they compare: "inventory" (every
#: inventory node, whatever the step's targets: a step on "first" still learns whether the
#: others agree) or "targets" (the step's own nodes only). The engine probes by this table; the
#: linter refuses a "targets" comparison on a step bounded to one node (PVR017), where it would
#: compare that node with itself and pass having checked nothing.
GUARD_COMPARES: dict[GuardKind, str] = {
    GuardKind.SAME_CONFIG_VERSION: "inventory",
    GuardKind.INVENTORY_COMPLETE: "inventory",
}


@dataclass(frozen=True)
class Guard:
    """A precondition checked right before a step runs; ``warn`` guards only inform."""

    check: GuardKind
    within: float = 5.0
    command: str | None = None
    warn: bool = False
    message: str = ""
    pos: Pos | None = None
    #: For the guards that compare every inventory node: a node that did not answer SSH in
    #: this run is named ("not compared") instead of failing the guard. Only after a step in
    #: which the operator accepted going on without it (corosync-tuning ``accept-unreachable``).
    skip_unreachable: bool = False


@dataclass(frozen=True)
class Rollback:
    """Where a step's node-side rollback timer is armed and what it runs after restoring.

    ``targets`` defaults to the step's own targets (a corosync.conf moved into /etc/pve on one
    node changes every node's local copy, so that step arms on ``all``); ``reload`` runs on the
    node after the checkpointed files are back (corosync.conf gets its own procedure, see
    ``engine/rollback_script.py``)."""

    targets: tuple[str, ...] = ()
    reload: tuple[str, ...] = ()
    #: A probe run on every armed node right before the timer is armed: it must exit 0 (what
    #: ``reload`` re-creates is there now), else nothing is armed and the step does not run.
    requires: str = ""
    #: A command run on every armed node right after ``requires``: each line it prints is kept
    #: in the timer, and a ``reload`` command holding ``{{recorded}}`` runs once per line with
    #: that line's words there (route-fix: the route's full ``ip route`` line, put back as it
    #: was, ``proto``/``metric``/``src`` and all). No line, no timer, and the step does not run.
    record: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    kind: StepKind
    targets: tuple[str, ...] = ("all",)
    commands: tuple[str, ...] = ()
    timeout: float = 30.0
    ok_exit: tuple[int, ...] = (0,)
    expect: tuple[Expectation, ...] = ()
    on_failure: OnFailure = field(default_factory=OnFailure)
    destructive: bool = False
    confirm: str | None = None
    backup: Backup = field(default_factory=Backup)
    no_backup_reason: str = ""
    guards: tuple[Guard, ...] = ()
    verdict: str | None = None
    params: tuple[str, ...] = ()
    instructions: str = ""
    #: A manual step whose work only a person at the nodes can do (copy a file to a node whose
    #: corosync is down, swap a cable): headless ``--confirm`` may not answer it; without a
    #: terminal the run stops there, so "done" always means someone said so.
    needs_person: bool = False
    explain: str = ""
    hint: str = ""
    when: str | None = None
    #: ``when`` parsed at load time (None without ``when``).
    condition: Condition | None = field(default=None, compare=False)
    #: At most this many nodes; the plan and the engine refuse a step that would exceed it.
    max_targets: int | None = None
    #: For input steps: parameter → selector over a per-node fact (``db.integrity == false``);
    #: the node it selects is proposed as the answer.
    propose: dict[str, str] = field(default_factory=dict)
    lint_ok: tuple[str, ...] = ()
    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    #: Seconds the operator has to type COMMIT after the change; unless they do, a timer armed
    #: on the nodes before the change restores the checkpointed files (None: no timer).
    commit_within: int | None = None
    #: The later check steps whose success proves the change worked; COMMIT is asked once
    #: every one of them passed.
    commit_checks: tuple[str, ...] = ()
    rollback: Rollback = field(default_factory=Rollback)
    #: What the step does on each node, in words, shown at its confirmation above the
    #: commands (runbook/confirm_summary.py); "" for none.
    summary: str = ""
    #: Seconds each peer costs, per unit of an int parameter (runbook/step_time.py): a value
    #: that makes the step outlast ``timeout`` on the cluster is refused before the run.
    seconds_per_peer: dict[str, float] = field(default_factory=dict)
    pos: Pos | None = None


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    summary: str
    version: str
    tags: tuple[str, ...]
    explain: str
    params: tuple[Param, ...]
    steps: tuple[Step, ...]
    path: Path | None = None

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def index(self, step_id: str) -> int:
        for i, s in enumerate(self.steps):
            if s.id == step_id:
                return i
        raise KeyError(step_id)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)
