"""The engine: the only place that decides what runs next.

It walks a runbook step by step, fans commands out to target nodes concurrently, enforces
timeouts, evaluates expectations and verdicts, takes checkpoints and asks for confirmation before
destructive steps, routes failures, and reports everything as events. It knows nothing of Textual:
the TUI and the headless CLI are two ``Decider`` implementations and two event subscribers.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    CheckpointChoice,
    CheckpointFailure,
    ConfirmRequest,
    Decider,
    FailureChoice,
    StepAction,
)
from pverunbook.engine.observations import observe_facts, propose_values
from pverunbook.engine.output import OutputBuffer
from pverunbook.engine.redaction import Redactor
from pverunbook.engine.targets import (
    LOCAL_NODE,
    TargetError,
    confirm_expected,
    decide_when,
    render_commands,
    resolve_targets,
    step_values,
)
from pverunbook.inventory import Cluster, Node
from pverunbook.pve.facts import Fact, FactStore
from pverunbook.runbook.model import FailureAction, Runbook, Step, StepKind, Stream
from pverunbook.runbook.params import (
    ParamValueError,
    check_node,
    check_value,
    parse_value,
    secret_values,
)
from pverunbook.transport.base import CommandResult, Transport, TransportError

Subscriber = Callable[[ev.Event], None]

MAX_VISITS = 10
RECONNECT_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)

# Step (and node) statuses, worst first.
STATUS_ORDER = ["connection_lost", "timed_out", "cancelled", "failed", "planned", "ok"]


@dataclass
class CheckpointOutcome:
    ok: bool
    checkpoint_id: str
    path: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Checkpointer(Protocol):
    async def take(self, engine: Engine, step: Step, nodes: list[Node]) -> CheckpointOutcome: ...


class GuardChecker(Protocol):
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


@dataclass
class NodeOutcome:
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


class Engine:
    def __init__(self, runbook: Runbook, cluster: Cluster, transport: Transport,
                 decider: Decider, *, params: Mapping[str, Any] | None = None,
                 run_id: str = "", local_transport: Transport | None = None,
                 checkpointer: Checkpointer | None = None,
                 guards: GuardChecker | None = None,
                 resume: ResumeInfo | None = None, operator: str | None = None,
                 redactor: Redactor | None = None) -> None:
        self.runbook = runbook
        self.cluster = cluster
        self.transport = transport
        self.local_transport = local_transport
        self.decider = decider
        self.params: dict[str, Any] = dict(params or {})
        #: Every event passes it before any subscriber sees it (UI, journal, report alike);
        #: shared with the journal and the checkpoint store by the session.
        self.redactor = redactor if redactor is not None else Redactor()
        for value in secret_values(runbook, self.params):
            self.redactor.add(value)
        self.run_id = run_id
        self.checkpointer = checkpointer
        self.guards = guards
        self.resume = resume
        self.operator = operator if operator is not None else _whoami()
        self.subscribers: list[Subscriber] = []
        self.flushers: list[Callable[[], Awaitable[None]]] = []
        self.statuses: dict[str, str] = dict(resume.statuses) if resume else {}
        #: Every fact observed in this run (restored on resume): what ``when`` reads.
        self.facts = FactStore(resume.facts if resume else ())
        self._node_tasks: list[asyncio.Task[NodeOutcome]] = []
        self._cancelling = False
        #: Nodes that did not answer when the run started (name → why), set by the session:
        #: read-only steps go on without them, destructive steps that target them are refused.
        self.unreachable: dict[str, str] = {}
        self.partial = False
        #: Where this run's journal is written (set by the session), for the UI to show.
        self.journal_path: Path | None = None

    # -- events -----------------------------------------------------------------------------
    @property
    def dry_run(self) -> bool:
        return not self.transport.executes

    @property
    def mode(self) -> str:
        return self.transport.mode

    def subscribe(self, fn: Subscriber) -> None:
        self.subscribers.append(fn)

    def emit(self, event: ev.Event) -> None:
        event = self._redacted(event)
        for fn in list(self.subscribers):
            fn(event)

    def _redacted(self, event: ev.Event) -> ev.Event:
        """``event`` with secret values replaced in every text field (the same object if none)."""
        import dataclasses

        changes: dict[str, Any] = {}
        for f in dataclasses.fields(event):
            value = getattr(event, f.name)
            if isinstance(value, str | tuple | list | dict):
                red = self.redactor.obj(value)
                if red != value:
                    changes[f.name] = red
        return dataclasses.replace(event, **changes) if changes else event

    async def durable(self) -> None:
        for f in self.flushers:
            await f()

    def transport_for(self, node: Node) -> Transport:
        if node is LOCAL_NODE and self.transport.executes:
            if self.local_transport is None:
                raise TransportError("local", "this run has no local transport for "
                                     "'targets = \"local\"' steps")
            return self.local_transport
        return self.transport

    def values_for(self, node: Node) -> dict[str, object]:
        return step_values(node, self.cluster, self.params, self.run_id)

    # -- control from the UI ----------------------------------------------------------------
    def cancel_current(self) -> bool:
        """Stop the commands of the running step on every node (they are killed remotely)."""
        running = [t for t in self._node_tasks if not t.done()]
        self._cancelling = bool(running)
        for t in running:
            t.cancel()
        return bool(running)

    # -- the run ----------------------------------------------------------------------------
    def check_params(self) -> None:
        """Refuse node-choosing parameters that are not exactly one inventory node.

        Raises ParamValueError ("name: why; one of ...") before anything runs or is journaled.
        """
        for p in self.runbook.params:
            if p.chooses_node and p.name in self.params:
                try:
                    check_node(p, self.params[p.name], self.cluster.names)
                except ParamValueError as exc:
                    raise ParamValueError(f"{p.name}: {exc}") from None

    async def run(self) -> str:
        self.check_params()
        start = time.monotonic()
        from pverunbook.engine.resume import runbook_identity

        rb_path, rb_sha, rb_text = runbook_identity(self.runbook)
        self.emit(ev.RunStarted(
            run_id=self.run_id, runbook_id=self.runbook.id, runbook_title=self.runbook.title,
            runbook_path=rb_path, mode=self.mode, cluster=self.cluster.name,
            nodes=tuple(self.cluster.names), params=self._public_params(),
            resumed=self.resume is not None, operator=self.operator,
            runbook_sha256=rb_sha, runbook_text=rb_text))
        await self.durable()
        try:
            status, message = await self._walk()
        except TransportError as exc:
            status, message = "failed", str(exc)
        except Exception as exc:
            # A bug, not bad input: the journal still ends with run_finished, and the error goes
            # on to the UI / CLI, which show it.
            self.emit(ev.RunFinished(status="failed", duration=time.monotonic() - start,
                                     message=f"pverunbook stopped on an unexpected error: "
                                             f"{type(exc).__name__}: {exc}"))
            await self.durable()
            raise
        except asyncio.CancelledError:
            self.emit(ev.RunFinished(status="interrupted", message="run cancelled",
                                     duration=time.monotonic() - start))
            await self.durable()
            raise
        self.emit(ev.RunFinished(status=status, message=message,
                                 duration=time.monotonic() - start))
        await self.durable()
        return status

    def _public_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.runbook.params:
            if p.name in self.params:
                out[p.name] = "[REDACTED]" if p.secret else self.params[p.name]
        return out

    async def _walk(self) -> tuple[str, str]:
        steps = self.runbook.steps
        i = self.resume.start_index if self.resume else 0
        visits: dict[str, int] = {}
        unknown_pending = bool(self.resume and self.resume.unknown_step)
        finished_ok = True
        while i < len(steps):
            step = steps[i]
            if unknown_pending:
                unknown_pending = False
                choice = await self.decider.unknown_outcome(step)
                self.emit(ev.ConfirmationGiven(
                    step_id=step.id, what="unknown outcome", accepted=choice is FailureChoice.RERUN,
                    typed=choice.value, operator=self.operator,
                    reason="step was running when the previous run stopped"))
                await self.durable()
                if choice is FailureChoice.ABORT:
                    return "aborted", f"stopped at '{step.id}' (outcome of the last run unknown)"
                if choice is not FailureChoice.RERUN:
                    self.emit(ev.StepSkipped(step_id=step.id, by_operator=True,
                                             reason="outcome unknown after a crash; operator "
                                                    "chose not to re-run"))
                    self.statuses[step.id] = "skipped"
                    i += 1
                    continue
            # `when` is decided before anything is asked: a step that will not act never asks
            # for a confirmation, a checkpoint or a "next".
            runs, why = decide_when(step, self.params, self.facts, self.cluster.nodes[0].name)
            if runs is None and self.dry_run:
                self.emit(ev.Note(step_id=step.id, text=f"'{step.when}' is decided by facts "
                                  f"when the run gets here ({why})"))
            elif not runs:
                reason = (f"condition '{step.when}' is false" if runs is False else
                          f"condition '{step.when}' cannot be decided, so the step does not act")
                self.emit(ev.StepSkipped(step_id=step.id, reason=f"{reason} ({why})" if why
                                         else reason))
                self.statuses[step.id] = "skipped"
                await self.durable()
                i += 1
                continue
            decision = await self.decider.before_step(step, i)
            if decision.action is StepAction.ABORT:
                return "aborted", decision.reason or "stopped by the operator"
            if decision.action is StepAction.SKIP:
                self.emit(ev.StepSkipped(step_id=step.id, reason=decision.reason or "skipped",
                                         by_operator=True))
                self.statuses[step.id] = "skipped"
                await self.durable()
                i += 1
                continue
            if decision.action is StepAction.GOTO and decision.goto:
                i = self.runbook.index(decision.goto)
                continue
            visits[step.id] = visits.get(step.id, 0) + 1
            if visits[step.id] > MAX_VISITS:
                return "failed", f"step '{step.id}' was reached {MAX_VISITS} times; stopping " \
                                 "to avoid a loop (check its on_failure route)"
            attempt = 0
            while True:
                attempt += 1
                status, message = await self._step(step, i, attempt)
                self.statuses[step.id] = status
                if status in ("ok", "planned", "skipped"):
                    break
                if status in ("declined", "blocked"):
                    return "aborted", message
                if status == "aborted":
                    return "aborted", message
                choice = (FailureChoice.FOLLOW_RUNBOOK if self.dry_run
                          else await self.decider.after_failure(step, status))
                if choice is FailureChoice.RERUN:
                    self.emit(ev.Note(step_id=step.id, text=f"operator re-runs '{step.id}'"))
                    continue
                break
            if status in ("ok", "planned", "skipped"):
                i += 1
                continue
            if choice is FailureChoice.SKIP:
                self.emit(ev.StepSkipped(step_id=step.id, by_operator=True,
                                         reason=f"operator skipped after {status}"))
                finished_ok = False  # skipping a failure does not make the run clean
                i += 1
                continue
            if choice is FailureChoice.ABORT:
                return "aborted", f"stopped by the operator after '{step.id}' {status}"
            finished_ok = False
            action = step.on_failure.action
            if action is FailureAction.CONTINUE:
                i += 1
            elif action is FailureAction.GOTO and step.on_failure.goto:
                i = self.runbook.index(step.on_failure.goto)
            else:
                return "failed", f"step '{step.id}' {status}: {message}".rstrip(": ")
        if self.dry_run:
            return "planned", "dry-run: nothing was executed"
        if self.partial and finished_ok:
            return "completed_with_failures", "some steps did not run on unreachable nodes: " \
                   + ", ".join(sorted(self.unreachable))
        return ("ok" if finished_ok else "completed_with_failures"), ""

    async def _step(self, step: Step, index: int, attempt: int) -> tuple[str, str]:
        started = time.monotonic()
        try:
            nodes = resolve_targets(step, self.cluster, self.params) \
                if step.kind in (StepKind.RUN, StepKind.CHECK, StepKind.ACTION) \
                or step.destructive else []
        except TargetError as exc:
            self.emit(ev.StepStarted(step_id=step.id, title=step.title, index=index, nodes=(),
                                     destructive=step.destructive, attempt=attempt))
            self.emit(ev.StepFinished(step_id=step.id, status="failed", message=str(exc)))
            return "failed", str(exc)
        self.emit(ev.StepStarted(step_id=step.id, title=step.title, index=index,
                                 nodes=tuple(n.name for n in nodes),
                                 destructive=step.destructive, attempt=attempt))
        await self.durable()
        if step.destructive and not self.dry_run and nodes:
            await self._probe_reachable(nodes)
        missing = [n for n in nodes if n.name in self.unreachable]
        if missing:
            status, message = self._unreachable_step(step, nodes, missing)
            nodes = [n for n in nodes if n.name not in self.unreachable]
        if not missing or (status == "ok" and nodes):
            status, message = await self._step_body(step, nodes)
            if missing and status == "ok":
                message = f"not run on {', '.join(n.name for n in missing)} (unreachable)"
        self.emit(ev.StepFinished(step_id=step.id, status=status, message=message,
                                  duration=time.monotonic() - started))
        await self.durable()
        return status, message

    async def _probe_reachable(self, nodes: list[Node]) -> None:
        """Before a destructive step, make sure every target answers (connections are reused,
        so this costs nothing for a node that is up); one that does not joins ``unreachable``
        and the step is refused, instead of changing some nodes and failing on the others."""
        async def one(node: Node) -> None:
            try:
                await self.transport_for(node).connect([node])
            except TransportError as exc:
                self.unreachable[node.name] = exc.message + (f"; {exc.hint}" if exc.hint else "")

        await asyncio.gather(*(one(n) for n in nodes if n.name not in self.unreachable))

    def _unreachable_step(self, step: Step, nodes: list[Node],
                          missing: list[Node]) -> tuple[str, str]:
        """Name the target nodes that did not answer; refuse a destructive step on part of its
        nodes. Returns ("ok", "") when the step may go on on the nodes that answer."""
        names = ", ".join(f"{n.name} ({self.unreachable[n.name]})" for n in missing)
        if step.destructive:
            return "blocked", (f"refused: {names} did not answer, and a destructive step runs "
                               "on all of its nodes or on none; bring the node back (or remove "
                               "it from the inventory), then resume the run")
        self.partial = True
        if len(missing) == len(nodes):
            return "failed", f"not run: every target node is unreachable: {names}"
        self.emit(ev.Note(step_id=step.id, level="warning",
                          text=f"not run on {names}: unreachable; the other nodes go on"))
        return "ok", ""

    async def _step_body(self, step: Step, nodes: list[Node]) -> tuple[str, str]:
        if step.kind is StepKind.INPUT:
            return await self._input(step)
        if step.kind is StepKind.MANUAL:
            if self.dry_run:
                self.emit(ev.ConfirmationRequested(step_id=step.id, what="manual", prompt="done?",
                                                   expected="yes"))
                return "planned", "would ask the operator to confirm the manual action"
            instructions = self._instructions(step)
            self.emit(ev.ConfirmationRequested(step_id=step.id, what="manual",
                                               prompt=instructions, expected="yes"))
            await self.durable()
            done = await self.decider.manual_done(step, instructions)
            self.emit(ev.ConfirmationGiven(step_id=step.id, what="manual", accepted=done,
                                           operator=self.operator))
            await self.durable()
            return ("ok", "") if done else ("declined", "the operator did not confirm "
                                                        "the manual step")

        # Guards: right before the step, on the nodes it targets.
        if step.guards:
            if self.dry_run:
                for g in step.guards:
                    self.emit(ev.GuardResult(step_id=step.id, check=g.check.value, ok=True,
                                             warn_only=g.warn,
                                             message="dry-run: would be checked now"))
            elif self.guards is None:
                return "blocked", "this step declares guards but no guard checker is configured"
            else:
                try:
                    results = await self.guards.check(self, step, nodes)
                except Exception as exc:  # noqa: BLE001 - a guard that cannot be checked blocks
                    return "blocked", (f"the guards could not be checked ({type(exc).__name__}: "
                                       f"{exc}); check the nodes by hand before going on")
                for r in results:
                    self.emit(r)
                failed = [r for r in results if not r.ok and not r.warn_only]
                if failed:
                    return "blocked", "; ".join(r.message for r in failed)

        if step.destructive:
            outcome = await self._checkpoint(step, nodes)
            if outcome is None:
                return "blocked", "checkpoint failed and the operator aborted"
            expected = confirm_expected(step, self.cluster, nodes) or self.cluster.name
            what = ", ".join(n.name for n in nodes)
            if len(nodes) == 1 and len(self.cluster.nodes) > 1 and expected == nodes[0].name:
                what = f"{what} only ({len(self.cluster.nodes) - 1} other node(s) untouched)"
            elif step.confirm == "cluster" and len(nodes) < len(self.cluster.nodes):
                what = f"cluster '{self.cluster.name}' (runs on {what})"
            refused = await self._confirm(
                step, nodes, "destructive", expected, checkpoint_id=outcome,
                prompt=f"'{step.title}' changes {what}. Type {expected!r} to go ahead.")
            if refused:
                return "declined", refused
        elif step.confirm is not None:
            expected = confirm_expected(step, self.cluster, nodes) or "yes"
            refused = await self._confirm(step, nodes, "confirm", expected,
                                          prompt=f"Type {expected!r} to run '{step.title}'.")
            if refused:
                return "declined", refused

        outcomes = await self._fan_out(step, nodes)
        if self.dry_run:
            return "planned", "dry-run: nothing was executed"
        status = _worst(o.status for o in outcomes)
        bad = [f"{o.node}: {o.status}" for o in outcomes if o.status != "ok"]
        # Verdicts explain failures too: a failed expectation is when the operator needs them most.
        self._verdicts(step, outcomes)
        self._facts(step, outcomes)
        return status, "; ".join(bad)

    async def _confirm(self, step: Step, nodes: list[Node], what: str, expected: str, *,
                       prompt: str, checkpoint_id: str = "") -> str:
        """Ask for the typed text; returns why it was refused, or "" when accepted.

        In a dry-run the request is shown (it is part of the plan) but nothing is asked."""
        request = ConfirmRequest(
            step=step, what=what, prompt=prompt, expected=expected,
            nodes=tuple(n.name for n in nodes), checkpoint_id=checkpoint_id,
            changes=self.redactor.text("\n".join(f"{n.name}: {c}" for n in nodes
                                                  for c in self._planned(step, n))))
        self.emit(ev.ConfirmationRequested(step_id=step.id, what=what, prompt=prompt,
                                           expected=expected, nodes=request.nodes,
                                           checkpoint_id=checkpoint_id))
        if self.dry_run:
            return ""
        await self.durable()
        typed = await self.decider.confirm(request)
        accepted = typed is not None and typed.strip() == expected
        self.emit(ev.ConfirmationGiven(step_id=step.id, what=what, accepted=accepted,
                                       typed=typed or "", operator=self.operator))
        await self.durable()
        if accepted:
            return ""
        got = "nothing" if typed is None else repr(typed)
        return f"confirmation refused: expected {expected!r}, got {got}"

    def _planned(self, step: Step, node: Node) -> list[str]:
        """What will run on ``node``: rendered commands, or the action with its arguments."""
        if step.kind is StepKind.ACTION:
            from pverunbook.engine.actions import ACTIONS, render_args

            return [ACTIONS[step.action or ""].describe(render_args(step.args,
                                                                   self.values_for(node)))]
        return render_commands(step, node, self.cluster, self.params, self.run_id)

    async def _input(self, step: Step) -> tuple[str, str]:
        params = [self.runbook.param(n) for n in step.params]
        if self.dry_run:
            self.emit(ev.ParamsSet(step_id=step.id, values={p.name: self.params.get(p.name)
                                                            for p in params if not p.secret}))
            return "planned", "would ask for " + ", ".join(p.name for p in params)
        current = dict(self.params)
        current.update(self._proposals(step))
        last_bad: dict[str, Any] | None = None
        repeats = 0
        while True:
            answer = await self.decider.ask_params(step, params, current)
            if answer is None:
                return "aborted", "the operator cancelled the input"
            problems: list[str] = []
            values: dict[str, Any] = {}
            for p in params:
                raw = answer.get(p.name)
                try:
                    if raw is None:
                        raise ParamValueError("a value is required")
                    value = parse_value(p, raw, self.cluster.names) \
                        if isinstance(raw, str) else raw
                    check_value(p, value, self.cluster.names)
                    values[p.name] = value
                except ParamValueError as exc:
                    problems.append(f"{p.name}: {exc}")
            if problems and answer == last_bad:
                repeats += 1
                if repeats >= 3:
                    return "aborted", "; ".join(problems)
            last_bad = answer if problems else None
            if not problems:
                for p in params:
                    if p.secret and p.name in values:
                        self.redactor.add(str(values[p.name]))
                self.params.update(values)
                self.emit(ev.ParamsSet(step_id=step.id, values={
                    k: ("[REDACTED]" if self.runbook.param(k).secret else v)
                    for k, v in values.items()}))
                await self.durable()
                return "ok", ""
            self.emit(ev.Note(step_id=step.id, level="error", text="; ".join(problems)))

    def _proposals(self, step: Step) -> dict[str, Any]:
        """Values an input step proposes from facts (``propose``); events say why or why not."""
        values, events = propose_values(step, self.facts, self.params)
        for e in events:
            self.emit(e)
        return values

    def _facts(self, step: Step, outcomes: list[NodeOutcome]) -> None:
        """Facts of each node's output for the step's verdict, into the store and the journal."""
        if not step.verdict:
            return
        runs = [(o.node, o.stdout, o.results[-1]) for o in outcomes if o.results]
        found, notes = observe_facts(step, runs, self.cluster)
        for note in notes:
            self.emit(note)
        for f in found:
            self.facts.add(f)
        if found:
            self.emit(ev.FactsObserved(step_id=step.id, facts=tuple(f.to_json() for f in found)))

    def _instructions(self, step: Step) -> str:
        from pverunbook.runbook.template import render_plain

        values = dict(self.params)
        values.update({"cluster": self.cluster.name, "run_id": self.run_id})
        return render_plain(step.instructions, values)

    async def _checkpoint(self, step: Step, nodes: list[Node]) -> str | None:
        """Take and verify the step's checkpoint; None when the operator aborts after a failure."""
        self.emit(ev.CheckpointRequested(step_id=step.id, nodes=tuple(n.name for n in nodes),
                                         files=step.backup.files, sqlite=step.backup.sqlite,
                                         outputs=step.backup.outputs))
        if self.dry_run or step.backup.empty:
            if step.backup.empty and not self.dry_run:
                self.emit(ev.Note(step_id=step.id, level="warning",
                                  text=f"no checkpoint: {step.no_backup_reason}"))
            return ""
        while True:
            if self.checkpointer is None:
                outcome = CheckpointOutcome(False, "", problems=[
                    "no checkpoint store is configured for this run"])
            else:
                try:
                    outcome = await self.checkpointer.take(self, step, nodes)
                except (TransportError, OSError) as exc:
                    outcome = CheckpointOutcome(False, "", problems=[str(exc)])
            self.emit(ev.CheckpointTaken(step_id=step.id, checkpoint_id=outcome.checkpoint_id,
                                         ok=outcome.ok, path=outcome.path,
                                         items=tuple(outcome.items),
                                         problems=tuple(outcome.problems)))
            await self.durable()
            if outcome.ok:
                return outcome.checkpoint_id
            answer = await self.decider.checkpoint_failed(CheckpointFailure(
                step=step, problems=tuple(outcome.problems),
                checkpoint_id=outcome.checkpoint_id))
            if answer.choice is CheckpointChoice.RETRY:
                continue
            if answer.choice is CheckpointChoice.OVERRIDE:
                accepted = answer.text.strip() == OVERRIDE_PHRASE
                self.emit(ev.ConfirmationGiven(
                    step_id=step.id, what="checkpoint override", accepted=accepted,
                    typed=answer.text, operator=self.operator, reason=answer.reason))
                await self.durable()
                if accepted:
                    return outcome.checkpoint_id
                self.emit(ev.Note(step_id=step.id, level="error",
                                  text=f"override refused: type exactly '{OVERRIDE_PHRASE}'"))
                continue
            self.emit(ev.ConfirmationGiven(step_id=step.id, what="checkpoint override",
                                           accepted=False, operator=self.operator,
                                           reason="aborted after failed checkpoint"))
            await self.durable()
            return None

    async def _fan_out(self, step: Step, nodes: list[Node]) -> list[NodeOutcome]:
        self._cancelling = False
        self._node_tasks = [asyncio.create_task(self._on_node(step, n), name=f"{step.id}@{n.name}")
                            for n in nodes]
        results = await asyncio.gather(*self._node_tasks, return_exceptions=True)
        self._node_tasks = []
        outcomes: list[NodeOutcome] = []
        for node, res in zip(nodes, results, strict=True):
            if isinstance(res, NodeOutcome):
                outcomes.append(res)
            elif isinstance(res, asyncio.CancelledError):
                if not self._cancelling:
                    raise res
                outcomes.append(NodeOutcome(node.name, "cancelled"))
            elif isinstance(res, TransportError):
                self.emit(ev.Note(step_id=step.id, level="error", text=str(res)))
                outcomes.append(NodeOutcome(node.name, "failed"))
            elif isinstance(res, BaseException):
                raise res
        lost = [o for o in outcomes if o.status == "connection_lost"]
        for o in lost:
            await self._handle_lost(o.node, step)
        return outcomes

    async def _handle_lost(self, node_name: str, step: Step) -> None:
        self.emit(ev.RunPaused(step_id=step.id, reason=f"connection to {node_name} lost"))
        await self.durable()
        if not await self.decider.connection_lost(node_name, step):
            return
        node = self.cluster.node(node_name)
        for delay in RECONNECT_BACKOFF:
            self.emit(ev.NodeConnection(node=node_name, state="reconnecting",
                                        message=f"retrying in {delay:g}s"))
            await asyncio.sleep(delay)
            try:
                await self.transport_for(node).reconnect(node)
            except TransportError as exc:
                self.emit(ev.NodeConnection(node=node_name, state="down", message=str(exc)))
                continue
            self.emit(ev.NodeConnection(node=node_name, state="connected"))
            return
        self.emit(ev.NodeConnection(node=node_name, state="down",
                                    message="gave up reconnecting; check the node's network "
                                            "and SSH, then resume the run"))

    async def _on_node(self, step: Step, node: Node) -> NodeOutcome:
        transport = self.transport_for(node)
        buf = OutputBuffer(self.emit, step.id, node.name, self.redactor)
        outcome = NodeOutcome(node.name, "ok")
        if step.kind is StepKind.ACTION:
            return await self._action_on_node(step, node, transport, buf, outcome)
        commands = render_commands(step, node, self.cluster, self.params, self.run_id)
        for idx, command in enumerate(commands):
            self.emit(ev.CommandStarted(step_id=step.id, node=node.name, command=command,
                                        index=idx, timeout=step.timeout))
            if step.destructive:
                # Resume must know a destructive command may have run; a read-only one is
                # simply run again, so it need not wait for the disk (one group commit later).
                await self.durable()
            started = time.monotonic()
            try:
                result = await transport.run(node, command, timeout=step.timeout,
                                             on_output=buf.feed)
            except asyncio.CancelledError:
                buf.flush()
                self.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=command,
                                             index=idx, exit_status=None, cancelled=True,
                                             duration=time.monotonic() - started))
                raise
            except TransportError as exc:
                result = CommandResult(None, time.monotonic() - started, error=str(exc),
                                       connection_lost=_is_lost(exc))
            buf.flush()
            outcome.results.append(result)
            self.emit(ev.CommandFinished(
                step_id=step.id, node=node.name, command=command, index=idx,
                exit_status=result.exit_status, duration=result.duration,
                timed_out=result.timed_out, cancelled=result.cancelled,
                connection_lost=result.connection_lost, error=result.error,
                dry_run=result.dry_run))
            if result.connection_lost:
                self.emit(ev.NodeConnection(node=node.name, state="lost", message=result.error))
                outcome.status = "connection_lost"
                break
            if result.dry_run:
                outcome.status = "planned"
                continue
            if result.timed_out:
                outcome.status = "timed_out"
                break
            if result.cancelled:
                outcome.status = "cancelled"
                break
            if result.error or result.exit_status not in step.ok_exit:
                outcome.status = "failed"
                break
        outcome.stdout, outcome.stderr = buf.text("stdout"), buf.text("stderr")
        if outcome.status == "ok":
            for exp in step.expect:
                if exp.nodes and node.name not in exp.nodes:
                    continue
                text = {Stream.STDOUT: outcome.stdout, Stream.STDERR: outcome.stderr}.get(
                    exp.stream, outcome.stdout + outcome.stderr)
                if exp.match is not None:
                    ok = re.search(exp.match, text, re.M) is not None
                else:
                    ok = re.search(exp.absent or "", self._normal_lines_out(step, text), re.M) \
                        is None
                self.emit(ev.ExpectationResult(step_id=step.id, node=node.name,
                                               description=exp.describe(), ok=ok,
                                               message="" if ok else exp.message))
                if not ok:
                    outcome.status = "failed"
        return outcome

    async def _action_on_node(self, step: Step, node: Node, transport: Transport,
                              buf: OutputBuffer, outcome: NodeOutcome) -> NodeOutcome:
        from pverunbook.engine.actions import ACTIONS, ActionContext, render_args

        spec = ACTIONS[step.action or ""]
        args = render_args(step.args, self.values_for(node))
        label = spec.describe(args)
        self.emit(ev.CommandStarted(step_id=step.id, node=node.name, command=label, index=0,
                                    timeout=step.timeout))
        await self.durable()
        started = time.monotonic()
        if not transport.executes:
            buf.feed("stdout", f"[dry-run] would run on {node.name}: {label}\n")
            buf.flush()
            self.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label,
                                         index=0, exit_status=None, duration=0.0, dry_run=True))
            outcome.status = "planned"
            return outcome
        ctx = ActionContext(node=node, transport=transport, args=args, timeout=step.timeout,
                            out=buf.feed, cluster_nodes=self.cluster.names,
                            link1_addrs={n.name: n.addr1 for n in self.cluster.nodes})
        error = ""
        lost = False
        try:
            ok = await spec.fn(ctx)
        except asyncio.CancelledError:
            buf.flush()
            self.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label,
                                         index=0, exit_status=None, cancelled=True,
                                         duration=time.monotonic() - started))
            raise
        except TransportError as exc:
            ok, error, lost = False, str(exc), _is_lost(exc)
            buf.feed("stderr", f"{exc}\n")
        buf.flush()
        self.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label, index=0,
                                     exit_status=0 if ok else 1,
                                     duration=time.monotonic() - started,
                                     connection_lost=lost, error=error))
        outcome.status = "connection_lost" if lost else ("ok" if ok else "failed")
        outcome.stdout, outcome.stderr = buf.text("stdout"), buf.text("stderr")
        return outcome

    def _normal_lines_out(self, step: Step, text: str) -> str:
        """The output an ``absent`` expectation checks: the verdict's normal lines taken out
        (a healthy start-up's 'has no active links'), so only a line that means a fault fails."""
        if not step.verdict:
            return text
        from pverunbook.pve import verdicts

        kept, dropped = verdicts.without_normal_lines(step.verdict, text)
        if dropped:
            self.emit(ev.Note(step_id=step.id, level="info", text=(
                f"{dropped} line(s) the '{step.verdict}' verdict reads as normal start-up were "
                "not checked against 'absent' expectations")))
        return kept

    def _verdicts(self, step: Step, outcomes: list[NodeOutcome]) -> None:
        """Findings for the step's verdict; a failed read is reported, never judged."""
        from pverunbook.pve import verdicts

        if not step.verdict or step.verdict not in verdicts.SPECS:
            return
        if getattr(self, "_peer_names", None) is None:  # node ids → names, learned per run
            self._peer_names = verdicts.PeerNames.of(
                (n.name, (n.ring_addr, n.addr1, n.host), n.nodeid)
                for n in self.cluster.nodes)
        inputs = {o.node: verdicts.VerdictInput(
            o.stdout, o.stderr, o.results[-1].exit_status, o.results[-1].timed_out, step.timeout)
            for o in outcomes if o.results and not (o.results[-1].connection_lost
                                                    or o.results[-1].cancelled)}
        try:
            findings = verdicts.judge(step.verdict, inputs, names=self._peer_names,
                                      ok_exit=step.ok_exit)
        except Exception:  # noqa: BLE001 - a parser bug must not kill a recovery run
            # Judge node by node, so one node's odd output costs only that node's findings.
            findings = []
            for node, one in inputs.items():
                try:
                    findings += verdicts.judge(step.verdict, {node: one},
                                               names=self._peer_names, ok_exit=step.ok_exit)
                except Exception as exc:  # noqa: BLE001
                    self.emit(ev.Note(step_id=step.id, level="warning",
                                      text=f"{node}: verdict '{step.verdict}' could not read "
                                           f"the output ({type(exc).__name__}: {exc}); check "
                                           "it by hand"))
        for f in findings:
            self.emit(ev.Finding(step_id=step.id, node=f.node, severity=f.severity,
                                 title=self._name_addresses(f.title), detail=f.detail,
                                 evidence=f.evidence or ""))

    def _name_addresses(self, text: str) -> str:
        """'loss to 192.168.4.201' → 'loss to pve001 (192.168.4.201)': say which link it is."""
        for n in self.cluster.nodes:
            addr = n.ring_addr
            if addr and n.name not in text:
                text = re.sub(rf"(?<![\w.:]){re.escape(addr)}(?![\w.:])",
                              f"{n.name} ({addr})", text)
        return text


def _is_lost(exc: TransportError) -> bool:
    from pverunbook.transport.base import ConnectionLost

    return isinstance(exc, ConnectionLost)


def _worst(statuses: Any) -> str:
    worst = "ok"
    for s in statuses:
        if STATUS_ORDER.index(s) < STATUS_ORDER.index(worst):
            worst = s
    return worst


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
