"""What the engine asks of the operator before a step acts, and how it records the answers.

Typed confirmations (destructive and ``confirm`` steps), ``input`` steps, manual instructions and
the checkpoint taken before a destructive step (with retry / override / abort when it fails).
Every question and answer is an event, made durable before the answer is acted on, so the
journal shows who agreed to what even if the process dies right after.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    CONTRADICT_PHRASE,
    OVERRIDE_PHRASE,
    CheckpointChoice,
    CheckpointFailure,
    ConfirmRequest,
    Refusal,
)
from pverunbook.engine.observations import contradictions, propose_values
from pverunbook.engine.outcomes import CheckpointOutcome, CheckpointProgress
from pverunbook.engine.targets import render_commands
from pverunbook.inventory import Node
from pverunbook.runbook import confirm_summary
from pverunbook.runbook.model import Step, StepKind
from pverunbook.runbook.params import ParamValueError, check_value, parse_value
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


async def confirm(engine: Engine, step: Step, nodes: list[Node], what: str, expected: str,
                  *, prompt: str, checkpoint_id: str = "",
                  checkpoint: CheckpointProgress | None = None) -> str:
    """Ask for the typed text; returns why it was refused, or "" when accepted.

    In a dry-run the request is shown (it is part of the plan) but nothing is asked. After a
    guard was skipped by override, the prompt says so (guard_skip.py)."""
    from pverunbook.engine.guard_skip import warning as guard_warning

    warning = " ".join(w for w in (guard_warning(engine), despite_facts(engine)) if w) \
        if what in ("destructive", "confirm") else ""
    if warning:
        prompt = f"{warning} {prompt}"
    summary = confirm_summary.lines(step, [(n.name, engine.values_for(n)) for n in nodes])
    if what == "destructive" and not engine.dry_run:
        summary = "\n".join(s for s in (summary, await planned_writes(engine, step, nodes)) if s)
    request = ConfirmRequest(
        step=step, what=what, prompt=prompt, expected=expected, warning=warning,
        nodes=tuple(n.name for n in nodes), checkpoint_id=checkpoint_id, checkpoint=checkpoint,
        changes=engine.redactor.text("\n".join(f"{n.name}: {c}" for n in nodes
                                                for c in planned_commands(engine, step, n))),
        summary=engine.redactor.text(summary))
    engine.emit(ev.ConfirmationRequested(step_id=step.id, what=what, prompt=prompt,
                                         expected=expected, nodes=request.nodes,
                                         checkpoint_id=checkpoint_id))
    if engine.dry_run:
        return ""
    await engine.durable()
    typed = await engine.decider.confirm(request)
    accepted = typed is not None and typed.strip() == expected
    refusal = typed if isinstance(typed, Refusal) else None
    engine.emit(ev.ConfirmationGiven(step_id=step.id, what=what, accepted=accepted,
                                     typed=typed or "", operator=engine.operator,
                                     reason=refusal.reason if refusal is not None else ""))
    await engine.durable()
    if accepted:
        return ""
    if refusal is not None:  # refused on purpose, nothing typed (headless without its flag)
        return f"confirmation refused: expected {expected!r}, {refusal.reason}"
    got = "nothing" if typed is None else repr(typed)
    return f"confirmation refused: expected {expected!r}, got {got}"


def planned_commands(engine: Engine, step: Step, node: Node) -> list[str]:
    """What will run on ``node``: rendered commands, or the action with its arguments."""
    if step.kind is StepKind.ACTION:
        from pverunbook.engine.actions import ACTIONS, render_args

        return [ACTIONS[step.action or ""].describe(render_args(step.args,
                                                                 engine.values_for(node)))]
    return render_commands(step, node, engine.cluster, engine.params, engine.run_id,
                           list(engine.unreachable))


async def planned_writes(engine: Engine, step: Step, nodes: list[Node]) -> str:
    """``node: what is written`` lines of an action that can tell beforehand (the VM configs
    vm-config-rebuild writes: VMID, name and file, node by node), read on the nodes while the
    confirmation is built; "" for any other step. A node that cannot be asked says so."""
    if step.kind is not StepKind.ACTION:
        return ""
    from pverunbook.engine.actions import ACTIONS, ActionContext, render_args

    writes = ACTIONS[step.action or ""].writes
    if writes is None:
        return ""

    async def one(node: Node) -> list[str]:
        if node.name in engine.unreachable:
            return [f"{node.name}: not asked (unreachable): the step decides there"]
        ctx = ActionContext(node=node, transport=engine.transport,
                            args=render_args(step.args, engine.values_for(node)),
                            timeout=min(step.timeout, 30.0), out=lambda _s, _t: None,
                            cluster_nodes=engine.cluster.names,
                            peers=[n for n in engine.cluster.nodes if n.name != node.name],
                            unreachable=dict(engine.unreachable))
        try:
            return [f"{node.name}: {line}" for line in await writes(ctx)]
        except TransportError as exc:
            return [f"{node.name}: could not be asked ({exc.message}): the step decides there"]

    found = await asyncio.gather(*(one(n) for n in nodes))
    return "\n".join(line for lines in found for line in lines)


async def ask_input(engine: Engine, step: Step) -> tuple[str, str]:
    """An ``input`` step: ask for its parameters (proposed from facts where the runbook says so),
    check them like ``--set`` values and store them in ``engine.params``.

    Returns ("ok", "") or ("aborted", why): cancelled, or the same bad answer three times."""
    params = [engine.runbook.param(n) for n in step.params]
    if engine.dry_run:
        engine.emit(ev.ParamsSet(step_id=step.id, values={p.name: engine.params.get(p.name)
                                                          for p in params if not p.secret}))
        return "planned", "would ask for " + ", ".join(p.name for p in params)
    from pverunbook.engine.rollback_settle import timer_states

    if said := timer_states(engine.facts):  # rollback-settle's keep-or-undo: each node's timer
        engine.emit(ev.Note(step_id=step.id, level="warning", text=said))
    current = dict(engine.params)
    current.update(_proposals(engine, step))
    last_bad: dict[str, Any] | None = None
    repeats = 0
    refused = 0
    last_refused: dict[str, Any] | None = None
    while True:
        answer = await engine.decider.ask_params(step, params, current)
        if answer is None:
            return "aborted", "the operator cancelled the input"
        problems: list[str] = []
        values: dict[str, Any] = {}
        for p in params:
            raw = answer.get(p.name)
            try:
                if raw is None:
                    raise ParamValueError("a value is required")
                value = parse_value(p, raw, engine.cluster.names) \
                    if isinstance(raw, str) else raw
                check_value(p, value, engine.cluster.names)
                values[p.name] = value
            except ParamValueError as exc:
                problems.append(f"{p.name}: {exc}")
        if problems and answer == last_bad:
            repeats += 1
            if repeats >= 3:
                return "aborted", "; ".join(problems)
        last_bad = answer if problems else None
        if not problems and not await _accept_contradictions(engine, step, values):
            # the same values refused twice (a headless run answers the same every time)
            refused = refused + 1 if values == last_refused else 1
            last_refused = values
            if refused >= 2:
                return "aborted", ("the value given contradicts the facts of this run and was "
                                   "not confirmed; give a value the facts support, or type "
                                   f"'{CONTRADICT_PHRASE}' when asked")
            continue
        if not problems:
            for p in params:
                if p.secret and p.name in values:
                    engine.redactor.add(str(values[p.name]))
            engine.params.update(values)
            engine.emit(ev.ParamsSet(step_id=step.id, values={
                k: ("[REDACTED]" if engine.runbook.param(k).secret else v)
                for k, v in values.items()}))
            await engine.durable()
            return "ok", ""
        engine.emit(ev.Note(step_id=step.id, level="error", text="; ".join(problems)))


def despite_facts(engine: Engine) -> str:
    """What every typed confirmation says while an input value the run's facts contradict is
    in use ("" when none): cluster-db-reset's ``damaged_node`` typed as a node whose database
    the run found sound, accepted with ``CONTRADICT_PHRASE``. The confirmations of the
    destructive steps on that node said nothing of it. Read from the facts and values each
    time, so a resumed run says it too."""
    found = [c for s in engine.runbook.steps if s.kind is StepKind.INPUT and s.propose
             for c in contradictions(s, engine.facts, {n: engine.params[n] for n in s.propose
                                                       if n in engine.params})]
    return f"⚠ USED DESPITE THE FACTS: {'; '.join(found)}." if found else ""


async def _accept_contradictions(engine: Engine, step: Step, values: dict[str, Any]) -> bool:
    """A value that the facts contradict (the node typed as damaged was checked and found
    sound) goes on only when the operator types ``CONTRADICT_PHRASE``: an input that quietly
    accepted it let a destructive sequence run on a healthy node. Journaled either way."""
    found = contradictions(step, engine.facts, values)
    if not found:
        return True
    text = "; ".join(found)
    refused = await confirm(
        engine, step, [], "contradicts facts", CONTRADICT_PHRASE,
        prompt=f"⚠ {text}. Check it (the findings and the output above); type "
               f"{CONTRADICT_PHRASE!r} to use it anyway, anything else to give another value.")
    if refused:
        engine.emit(ev.Note(step_id=step.id, level="error",
                            text=f"not used: {text}; give another value or type "
                                 f"'{CONTRADICT_PHRASE}' to use it anyway"))
        return False
    engine.emit(ev.Note(step_id=step.id, level="warning",
                        text=f"used despite the facts (typed by {engine.operator}): {text}"))
    return True


def _proposals(engine: Engine, step: Step) -> dict[str, Any]:
    """Values an input step proposes from facts (``propose``); events say why or why not."""
    values, events = propose_values(step, engine.facts, engine.params)
    for e in events:
        engine.emit(e)
    return values


#: The result of an advisory manual step the operator answered "not done".
NOT_DONE = "not done by the operator (nothing destructive in this runbook depends on it)"


def advisory(engine: Engine, step: Step) -> bool:
    """A manual step nothing destructive after it depends on, and that needs no person at
    the nodes: "not done" leaves it to the operator instead of stopping the run (a
    read-only triage's "check the cables" step)."""
    if step.needs_person or step.kind is not StepKind.MANUAL:
        return False
    try:
        at = engine.runbook.index(step.id)
    except KeyError:  # not a step of this runbook: unknown, so not advisory
        return False
    return not any(s.destructive for s in engine.runbook.steps[at + 1:])


async def ask_manual(engine: Engine, step: Step) -> tuple[str, str]:
    """A manual step: the operator says Done or Not done (journaled either way). Not done
    stops the run unless the step is :func:`advisory`: then the step ends "skipped", not
    done by the operator, and the run goes on, as headless leaves such a step "for the
    operator" (headless.py ``before_step``)."""
    if engine.dry_run:
        engine.emit(ev.ConfirmationRequested(step_id=step.id, what="manual", prompt="done?",
                                             expected="yes"))
        return "planned", "would ask the operator to confirm the manual action"
    text = instructions(engine, step)
    engine.emit(ev.ConfirmationRequested(step_id=step.id, what="manual", prompt=text,
                                         expected="yes"))
    await engine.durable()
    done = await engine.decider.manual_done(step, text)
    engine.emit(ev.ConfirmationGiven(step_id=step.id, what="manual", accepted=done,
                                     operator=engine.operator))
    await engine.durable()
    if done:
        return "ok", ""
    if advisory(engine, step):
        return "skipped", NOT_DONE
    return "declined", "the operator did not confirm the manual step"


def instructions(engine: Engine, step: Step) -> str:
    """A manual step's instructions with parameters, cluster and run id filled in."""
    from pverunbook.runbook.template import render_plain

    values = dict(engine.params)
    values.update({"cluster": engine.cluster.name, "run_id": engine.run_id,
                   "unreachable": ", ".join(n for n in engine.cluster.names
                                            if n in engine.unreachable)})
    return render_plain(step.instructions, values)


class PendingCheckpoint:
    """A destructive step's checkpoint, started before its confirmation is asked.

    The copy runs while the operator reads the question; :func:`finish_checkpoint` waits for
    it (and handles a failure) before the step may run, :meth:`cancel` stops it when the
    operator refuses or the run is stopped (the transport kills what it started on the node,
    the store removes the unfinished folder)."""

    def __init__(self, progress: CheckpointProgress | None,
                 task: asyncio.Task[CheckpointOutcome] | None) -> None:
        self.progress = progress
        self.task = task

    async def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    def finished_ok(self) -> CheckpointOutcome | None:
        """The outcome when the copy had already finished and been verified (it stays in the
        checkpoint store whatever the answer), else None."""
        task = self.task
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        outcome = task.result()
        return outcome if outcome.ok else None


async def journal_declined_checkpoint(engine: Engine, step: Step,
                                      pending: PendingCheckpoint) -> None:
    """The operator declined a destructive step after its checkpoint was taken and verified
    (the question says so while it is open): the checkpoint exists, so the journal says so —
    the summary, the report and ``checkpoints list`` then agree. An unfinished copy was
    cancelled and removed by :meth:`PendingCheckpoint.cancel`: nothing to journal."""
    outcome = pending.finished_ok()
    if outcome is None:
        return
    engine.emit(ev.CheckpointTaken(step_id=step.id, checkpoint_id=outcome.checkpoint_id,
                                   ok=True, path=outcome.path, items=tuple(outcome.items)))
    engine.emit(ev.Note(step_id=step.id, text=f"checkpoint {outcome.checkpoint_id} was taken "
                                              "and verified before the step was declined; "
                                              "the step did not run"))
    await engine.durable()


def start_checkpoint(engine: Engine, step: Step, nodes: list[Node]) -> PendingCheckpoint:
    """Announce the step's checkpoint and start taking it in the background."""
    engine.emit(ev.CheckpointRequested(
        step_id=step.id, nodes=tuple(n.name for n in nodes),
        files=_filled(engine, nodes, step.backup.files),
        sqlite=_filled(engine, nodes, step.backup.sqlite),
        outputs=_filled(engine, nodes, step.backup.outputs)))
    if engine.dry_run or step.backup.empty:
        if step.backup.empty and not engine.dry_run:
            engine.emit(ev.Note(step_id=step.id, level="warning",
                                text=f"no checkpoint: {step.no_backup_reason}"))
        return PendingCheckpoint(None, None)
    progress = CheckpointProgress(nodes=tuple(n.name for n in nodes))
    return PendingCheckpoint(progress, asyncio.create_task(
        _take_once(engine, step, nodes, progress), name=f"checkpoint {step.id}"))


def _filled(engine: Engine, nodes: list[Node], texts: tuple[str, ...]) -> tuple[str, ...]:
    """Checkpoint parts as they are taken, placeholders filled (``ip route get
    192.168.4.201``, not ``{{destination}}``): each distinct rendering over the nodes."""
    from pverunbook.runbook.template import render_plain

    out: list[str] = []
    for text in texts:
        for values in [engine.values_for(n) for n in nodes] or [dict(engine.params)]:
            shown = render_plain(text, values)
            if shown not in out:
                out.append(shown)
    return tuple(out)


async def _take_once(engine: Engine, step: Step, nodes: list[Node],
                     progress: CheckpointProgress) -> CheckpointOutcome:
    progress.state, progress.parts_done, progress.parts_total = "taking", 0, 0
    if engine.checkpointer is None:
        outcome = CheckpointOutcome(False, "", problems=[
            "no checkpoint store is configured for this run"])
    else:
        engine.checkpoint_progress = progress
        try:
            outcome = await engine.checkpointer.take(engine, step, nodes)
        except (TransportError, OSError) as exc:
            outcome = CheckpointOutcome(False, "", problems=[str(exc)])
        finally:
            engine.checkpoint_progress = None
    progress.checkpoint_id = outcome.checkpoint_id
    progress.problems = tuple(outcome.problems)
    progress.state = "verified" if outcome.ok else "failed"
    return outcome


async def finish_checkpoint(engine: Engine, step: Step, nodes: list[Node],
                            pending: PendingCheckpoint) -> str | None:
    """Wait for the checkpoint started by :func:`start_checkpoint` and journal it; on failure
    ask retry / override / abort. Returns its id ("" when the step has none), or None when the
    operator aborts. The step runs only after this returned: never on an unverified copy."""
    if pending.task is None or pending.progress is None:
        return ""
    outcome = await pending.task
    while True:
        engine.emit(ev.CheckpointTaken(step_id=step.id, checkpoint_id=outcome.checkpoint_id,
                                       ok=outcome.ok, path=outcome.path,
                                       items=tuple(outcome.items),
                                       problems=tuple(outcome.problems)))
        await engine.durable()
        if outcome.ok:
            return outcome.checkpoint_id
        answer = await engine.decider.checkpoint_failed(CheckpointFailure(
            step=step, problems=tuple(outcome.problems),
            checkpoint_id=outcome.checkpoint_id))
        if answer.choice is CheckpointChoice.RETRY:
            outcome = await _take_once(engine, step, nodes, pending.progress)
            continue
        if answer.choice is CheckpointChoice.OVERRIDE:
            accepted = answer.text.strip() == OVERRIDE_PHRASE
            engine.emit(ev.ConfirmationGiven(
                step_id=step.id, what="checkpoint override", accepted=accepted,
                typed=answer.text, operator=engine.operator, reason=answer.reason))
            await engine.durable()
            if accepted:
                return outcome.checkpoint_id
            engine.emit(ev.Note(step_id=step.id, level="error",
                                text=f"override refused: type exactly '{OVERRIDE_PHRASE}'"))
            outcome = await _take_once(engine, step, nodes, pending.progress)
            continue
        engine.emit(ev.ConfirmationGiven(step_id=step.id, what="checkpoint override",
                                         accepted=False, operator=engine.operator,
                                         reason="aborted after failed checkpoint"))
        await engine.durable()
        return None
