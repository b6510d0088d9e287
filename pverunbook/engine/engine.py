"""The engine: the only place that decides what runs next.

It walks a runbook step by step, fans commands out to target nodes concurrently, enforces
timeouts, evaluates expectations and verdicts, takes checkpoints and asks for confirmation before
destructive steps, routes failures, and reports everything as events. It knows nothing of Textual:
the TUI and the headless CLI are two ``Decider`` implementations and two event subscribers.

This module holds the walk (which step next, ``when``, failure routing); nodes that do not
answer are in ``unreachable.py``, what it asks the operator in ``prompts.py``, one step on one
node in ``node_commands.py``, findings and facts of the outputs in ``findings.py``, and the
shapes handed back in ``outcomes.py``.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pverunbook.engine import events as ev
from pverunbook.engine import (
    guard_skip,
    offloop,
    prompts,
    rollback,
    rollback_resume,
    rollback_unchanged,
    unreachable,
)
from pverunbook.engine.decisions import (
    Decider,
    FailureChoice,
    StepAction,
    StepDecision,
    read_only,
)
from pverunbook.engine.findings import judge_outputs, record_facts
from pverunbook.engine.node_commands import run_on_node
from pverunbook.engine.outcomes import (
    STATUS_ORDER,
    Checkpointer,
    CheckpointOutcome,
    CheckpointProgress,
    GuardChecker,
    NodeOutcome,
    ResumeInfo,
    unknown_why,
    worst_status,
)
from pverunbook.engine.redaction import Redactor
from pverunbook.engine.targets import (
    LOCAL_NODE,
    TargetError,
    confirm_expected,
    decide_when,
    resolve_targets,
    step_values,
)
from pverunbook.inventory import Cluster, Node
from pverunbook.pve.facts import FactStore
from pverunbook.runbook import step_time
from pverunbook.runbook.model import FailureAction, Runbook, Step, StepKind
from pverunbook.runbook.params import ParamValueError, check_node, secret_values
from pverunbook.transport.base import Transport, TransportError

if TYPE_CHECKING:
    from pverunbook.pve.verdicts import PeerNames

# The shapes that moved to outcomes.py stay importable from here for the front ends.
__all__ = ["STATUS_ORDER", "CheckpointOutcome", "Checkpointer", "Engine", "GuardChecker",
           "NodeOutcome", "ResumeInfo", "worst_status"]

Subscriber = Callable[[ev.Event], None]

MAX_VISITS = 10
RECONNECT_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)


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
        #: Awaited before every command: the journal's write without its fsync (written()).
        self.writers: list[Callable[[], Awaitable[None]]] = []
        self.statuses: dict[str, str] = dict(resume.statuses) if resume else {}
        #: Guards the operator went past by typing the override phrase (id -> reason): every
        #: later typed confirmation says so (guard_skip.py).
        self.overridden_guards: dict[str, str] = dict(resume.overridden) if resume else {}
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
        #: Node ids → names for the verdicts, learned on the first verdict of the run.
        self.peer_names: PeerNames | None = None
        #: Seconds a verdict may take before the step goes on with "could not judge in time".
        self.verdict_time_limit = offloop.TIME_LIMIT_S
        #: ``commit_within`` for every step that has one (tests and rehearsals: short timers).
        self.commit_within_override: int | None = None
        #: Real seconds per second of the nodes' clocks (a rehearsal cluster runs faster; its
        #: rollback timers still last ``commit_within`` real seconds).
        self.node_time_scale = 1.0
        #: A rehearsal: the simulated cluster's state directory, recorded in ``run_started``.
        self.rehearsal_dir = ""
        self.scenario = ""  # its scenario
        #: The checkpoint being taken now, if any: the store counts verified parts in it.
        self.checkpoint_progress: CheckpointProgress | None = None
        #: How the current step ended on each node, for its StepFinished.
        self._node_status: dict[str, str] = {}

    # -- events -----------------------------------------------------------------------------
    @property
    def dry_run(self) -> bool:
        return not self.transport.executes

    @property
    def mode(self) -> str:
        return self.transport.mode

    def subscribe(self, fn: Subscriber) -> None:
        # A journal that redacts with this engine's own redactor (the session shares it) is
        # handed the events as they are: every one has just passed that redactor here, and a
        # second pass over each field of each event cost as much as the rest of the engine in
        # a fan-out of short commands (README, Performance).
        clean = getattr(fn, "write_redacted", None)
        if clean is not None and getattr(fn, "redactor", None) is self.redactor:
            fn = clean
        self.subscribers.append(fn)

    def emit(self, event: ev.Event) -> None:
        self.emit_redacted(ev.with_text(event, self.redactor.obj))

    def emit_redacted(self, event: ev.Event) -> None:
        """Deliver an event whose text already passed this engine's redactor: command output,
        which ``OutputBuffer`` runs through a ``StreamRedactor`` of ``self.redactor`` (a secret
        split across two reads is caught there, not here). Redacting it twice cost as much as
        the rest of the output path under a flood."""
        for fn in list(self.subscribers):
            fn(event)

    async def durable(self) -> None:
        """Every event so far is on disk (fsynced): before a destructive command or a decision."""
        for f in self.flushers:
            await f()

    async def written(self) -> None:
        """Every event so far is in the journal's file, not yet fsynced: before any command, so
        a killed pverunbook never leaves a command that ran without its record."""
        for f in self.writers:
            await f()

    def transport_for(self, node: Node) -> Transport:
        if node is LOCAL_NODE and self.transport.executes:
            if self.local_transport is None:
                raise TransportError("local", "this run has no local transport for "
                                     "'targets = \"local\"' steps")
            return self.local_transport
        return self.transport

    def values_for(self, node: Node) -> dict[str, object]:
        return step_values(node, self.cluster, self.params, self.run_id, list(self.unreachable))

    # -- control from the UI ----------------------------------------------------------------
    @property
    def cancelling(self) -> bool:
        """A cancel of the running step's commands is under way: some node has not stopped."""
        return self._cancelling and any(not t.done() for t in self._node_tasks)

    def cancel_current(self) -> bool:
        """Stop the commands of the running step on every node (they are killed remotely)."""
        running = [t for t in self._node_tasks if not t.done()]
        self._cancelling = bool(running)
        for t in running:
            t.cancel()
        return bool(running)

    # -- the run ----------------------------------------------------------------------------
    def check_params(self) -> None:
        """Refuse node-choosing parameters that are not exactly one inventory node, and
        values that make a step certain to outlast its timeout here (runbook/step_time.py).

        Raises ParamValueError ("name: why; one of ...") before anything runs or is journaled.
        """
        for p in self.runbook.params:
            if p.chooses_node and p.name in self.params:
                try:
                    check_node(p, self.params[p.name], self.cluster.names)
                except ParamValueError as exc:
                    raise ParamValueError(f"{p.name}: {exc}") from None
        too_long = step_time.check(self.runbook, self.params, self.cluster.names)
        if too_long is not None:  # headless `run` resolves values before the cluster is known
            raise ParamValueError(too_long)

    async def run(self) -> str:
        self.check_params()
        start = time.monotonic()
        if not self.dry_run and any(s.verdict for s in self.runbook.steps):
            offloop.warm("pverunbook.engine.findings")  # the verdicts' helper, started early
        from pverunbook.engine.resume import runbook_identity

        rb_path, rb_sha, rb_text = runbook_identity(self.runbook)
        self.emit(ev.RunStarted(
            run_id=self.run_id, runbook_id=self.runbook.id, runbook_title=self.runbook.title,
            runbook_path=rb_path, mode=self.mode, cluster=self.cluster.name,
            nodes=tuple(self.cluster.names), params=self._public_params(),
            resumed=self.resume is not None, operator=self.operator,
            runbook_sha256=rb_sha, runbook_text=rb_text, rehearsal_dir=self.rehearsal_dir,
            scenario=self.scenario))
        unreachable.journal_known(self)  # the diagnosis names the nodes it could not read
        await self.durable()
        try:
            stop = await rollback_resume.on_resume(self)
            status, message = ("failed", stop) if stop else await self._walk()
            undone = await rollback.at_end(self)
            if undone and status in ("ok", "completed_with_failures"):
                status, message = "failed", undone
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
        if self.resume and self.resume.asked_again:
            self.emit(ev.Note(step_id=self.resume.asked_again, text=(
                f"step '{self.resume.asked_again}' was waiting for its confirmation when the "
                "last run stopped: nothing of it ran on any node, so it starts again and asks "
                "again")))
        finished_ok = True
        while i < len(steps):
            step = steps[i]
            if unknown_pending:
                unknown_pending = False
                choice = await self.decider.unknown_outcome(
                    step, unknown_why(self.resume.stopped if self.resume else "",
                                      read_only(step), step.kind is StepKind.MANUAL))
                self.emit(ev.ConfirmationGiven(
                    step_id=step.id, what="unknown outcome", accepted=choice is FailureChoice.RERUN,
                    typed=choice.value, operator=self.operator,
                    reason="step was running when the previous run stopped"))
                await self.durable()
                if choice is FailureChoice.SKIP and not await guard_skip.allow_skip(
                        self, i, "outcome unknown"):
                    choice = FailureChoice.ABORT
                if choice is FailureChoice.ABORT:
                    return "aborted", f"stopped at '{step.id}' (outcome of the last run unknown)"
                if choice is not FailureChoice.RERUN:
                    override = self.overridden_guards.get(step.id)
                    self.emit(ev.StepSkipped(step_id=step.id, by_operator=True, reason=(
                        "outcome unknown after a crash; operator chose not to re-run"
                        + (f"; guard override: {override}" if override else ""))))
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
            decision = await self._before_step(step, i)
            if decision.action is StepAction.ABORT:
                return "aborted", decision.reason or "stopped by the operator"
            if decision.action is StepAction.SKIP:
                override = self.overridden_guards.get(step.id)
                self.emit(ev.StepSkipped(step_id=step.id, by_operator=True, reason=(
                    decision.reason or (f"guard override: {override}" if override
                                        else "skipped"))))
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
                          else await self._after_failure(step, i, status, message))
                if choice is FailureChoice.RERUN:
                    self.emit(ev.Note(step_id=step.id, text=f"operator re-runs '{step.id}'"))
                    continue
                break
            stop = await rollback.after_step(self, step, status)
            if stop:
                return "failed", stop
            if status in ("ok", "planned", "skipped"):
                i += 1
                continue
            if choice is FailureChoice.SKIP:
                skip_why = self.overridden_guards.get(step.id)
                self.emit(ev.StepSkipped(step_id=step.id, by_operator=True, after=status, reason=(
                    f"operator skipped after {status}" if skip_why is None else
                    f"operator skipped after {status}, guard override: {skip_why}")))
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

    async def _before_step(self, step: Step, index: int) -> StepDecision:
        """The decider's "next"; a skip of (or jump over) a guard that has not succeeded is
        asked again until the operator types its override or chooses otherwise."""
        while True:
            decision = await self.decider.before_step(step, index)
            if decision.action is StepAction.SKIP:
                if await guard_skip.allow_skip(self, index, "not run yet"):
                    return decision
            elif decision.action is StepAction.GOTO and decision.goto:
                target = self.runbook.index(decision.goto)
                if target <= index or await guard_skip.allow_jump(self, index, target):
                    return decision
            else:
                return decision

    async def _after_failure(self, step: Step, index: int, status: str,
                             message: str) -> FailureChoice:
        """The decider's choice after a failure; Skip past a guard needs its override, else
        the question is asked again (ten refusals in a row stop the run: a decider that keeps
        answering Skip without an override must not loop; an operator who backs out of the
        override dialog a few times is simply asked again)."""
        for _ in range(10):
            choice = await self.decider.after_failure(step, status)
            if choice is not FailureChoice.SKIP or await guard_skip.allow_skip(
                    self, index, status, message):
                return choice
        return FailureChoice.ABORT

    async def _step(self, step: Step, index: int, attempt: int) -> tuple[str, str]:
        started = time.monotonic()
        self._node_status = {}
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
        # A read-only step's start and end need not wait for the disk: the journal's thread
        # writes them within its next group commit anyway, and if a crash loses them the step
        # is simply run again (resume.py starts after the last step it sees finished). What
        # must be on disk before it happens — a destructive command, a confirmation, a
        # rollback timer — still waits, and every wait covers all that was emitted before.
        # Waiting here cost two fsyncs per step: on a loaded VM most of a fan-out of short
        # read-only steps (README, Performance).
        wait = step.destructive or step.kind not in (StepKind.RUN, StepKind.CHECK)
        if wait:
            await self.durable()
        if step.destructive and not self.dry_run and nodes:
            await unreachable.probe(self, nodes)
        missing = [n for n in nodes if n.name in self.unreachable]
        if missing:
            status, message = unreachable.step_without(self, step, nodes, missing)
            nodes = [n for n in nodes if n.name not in self.unreachable]
        if not missing or (status == "ok" and nodes):
            status, message = await self._step_body(step, nodes)
            if missing and status == "ok":
                message = f"not run on {', '.join(n.name for n in missing)} (unreachable)"
        self.emit(ev.StepFinished(step_id=step.id, status=status, message=message,
                                  duration=time.monotonic() - started,
                                  node_status=self._node_status))
        if wait:
            await self.durable()
        return status, message

    def advisory(self, step: Step) -> bool:
        """See :func:`prompts.advisory` (the TUI words its "Not done" button by it)."""
        return prompts.advisory(self, step)

    async def _step_body(self, step: Step, nodes: list[Node]) -> tuple[str, str]:
        if step.kind is StepKind.INPUT:
            return await prompts.ask_input(self, step)
        if step.kind is StepKind.MANUAL:
            return await prompts.ask_manual(self, step)

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
            armed_on = rollback.arm_nodes(self, step, nodes)
            # The checkpoint is taken while the operator reads the question (a copy can take
            # seconds; the question should not wait for it), and awaited — verified, or
            # explicitly overridden — after the answer and before anything runs.
            pending = prompts.start_checkpoint(self, step, armed_on)
            expected = confirm_expected(step, self.cluster, nodes) or self.cluster.name
            what = ", ".join(n.name for n in nodes)
            if len(nodes) == 1 and len(self.cluster.nodes) > 1 and expected == nodes[0].name:
                what = f"{what} only ({len(self.cluster.nodes) - 1} other node(s) untouched)"
            elif step.confirm == "cluster" and len(nodes) < len(self.cluster.nodes):
                what = f"cluster '{self.cluster.name}' (runs on {what})"
            try:
                refused = await prompts.confirm(
                    self, step, nodes, "destructive", expected, checkpoint=pending.progress,
                    prompt=f"'{step.title}' changes {what}. Type {expected!r} to go ahead.")
            except BaseException:
                await asyncio.shield(pending.cancel())
                raise
            if refused:
                await pending.cancel()
                await prompts.journal_declined_checkpoint(self, step, pending)
                return "declined", refused
            try:
                outcome = await prompts.finish_checkpoint(self, step, armed_on, pending)
            finally:
                await asyncio.shield(pending.cancel())
            if outcome is None:
                return "blocked", "checkpoint failed and the operator aborted"
            refused = await rollback.arm(self, step, outcome, armed_on)
            if refused:
                return "blocked", refused
        elif step.confirm is not None:
            expected = confirm_expected(step, self.cluster, nodes) or "yes"
            refused = await prompts.confirm(self, step, nodes, "confirm", expected,
                                            prompt=f"Type {expected!r} to run '{step.title}'.")
            if refused:
                return "declined", refused

        outcomes = await self._fan_out(step, nodes)
        if self.dry_run:
            return "planned", "dry-run: nothing was executed"
        status = worst_status(o.status for o in outcomes)
        self._node_status = {o.node: o.status for o in outcomes}
        bad = [f"{o.node}: {o.status}" for o in outcomes if o.status != "ok"]
        # Verdicts explain failures too: a failed expectation is when the operator needs them most.
        await judge_outputs(self, step, outcomes)
        await record_facts(self, step, outcomes)
        if step.destructive and status != "ok":  # its timers: stopped if nothing changed
            await rollback_unchanged.after_failed_step(self, step, status)
        return status, "; ".join(bad)

    async def _fan_out(self, step: Step, nodes: list[Node]) -> list[NodeOutcome]:
        self._cancelling = False
        self._node_tasks = [asyncio.create_task(run_on_node(self, step, n),
                                                name=f"{step.id}@{n.name}") for n in nodes]
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


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
