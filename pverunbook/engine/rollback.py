"""Rollback timers for steps that must be committed (``commit_within``): arm, commit, fire.

The changes an outage runbook makes can cut the operator off (a corosync.conf that splits the
membership, a route deleted on the wrong node). So before such a step runs, every rollback target
gets the checkpointed files and a script (:mod:`rollback_script`) started detached from the SSH
session, which restores them after ``commit_within`` seconds. Once the step's ``commit_checks``
all passed the operator is asked to type COMMIT (before the timers fire); COMMIT stops every
node's timer and verifies it is gone. No answer, a failed check, a lost connection or a dead
pverunbook: the timers fire without anyone. The same pattern as PVE backup tools' network
changes with an automatic rollback unless COMMIT is typed on the console.

Every change is a :class:`~pverunbook.engine.events.RollbackTimer` event (journal, report, UI).
A resumed run reads the armed timers from its journal and asks the nodes how long each has left
(:mod:`pverunbook.engine.rollback_resume`).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine import rollback_probe
from pverunbook.engine import rollback_script as rs
from pverunbook.engine.decisions import NO_ANSWER, ConfirmRequest, Refusal
from pverunbook.engine.remote_files import run_collect, sha256_hex
from pverunbook.engine.rollback_copies import _copies, _corosync_version
from pverunbook.engine.rollback_gone import gone_text, undo_words
from pverunbook.engine.targets import TargetError, resolve_targets
from pverunbook.inventory import Node
from pverunbook.runbook.model import Step
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine

COMMIT = "COMMIT"
#: The words of the note :func:`at_end` emits when the run waits for uncommitted timers (the
#: TUI's status line follows that wait, ui/rollback_wait.py).
AT_END_WAIT = "was not committed: waiting"
#: COMMIT is no longer asked this close to the timers firing (disarming takes a moment).
MARGIN = 5.0
#: After the timers fired, how long to wait for every node's script to finish (the /etc/pve
#: write may wait for quorum, see ``rollback_script.PVE_WAIT``).
SETTLE = float(rs.PVE_WAIT) + 30.0


@dataclass
class Armed:
    node: str
    tag: str
    #: When it fires: the node's clock (journal) and ours (countdown).
    deadline: float
    local_deadline: float
    method: str
    files: tuple[str, ...]
    #: The commands its script runs after the files (``record``'s lines in them).
    reload: tuple[str, ...] = ()


@dataclass
class Pending:
    """A step that changed the nodes and waits for its COMMIT."""

    step: Step
    checkpoint_id: str
    armed: list[Armed]
    remaining: list[str]
    passed: list[str] = field(default_factory=list)
    #: Nodes whose timer's process was found gone while waited for (``_await_fired``).
    gone: list[str] = field(default_factory=list)
    #: Nodes of the same step whose timer a resume found ``armed`` with its process gone: it
    #: never fires, their change stays whatever the answer (rollback_resume).
    no_timer: list[str] = field(default_factory=list)

    @property
    def local_deadline(self) -> float:
        return min(a.local_deadline for a in self.armed)


def _state(engine: Engine) -> dict[str, Pending]:
    st: dict[str, Pending] | None = getattr(engine, "_rollbacks", None)
    if st is None:
        st = {}
        engine._rollbacks = st  # type: ignore[attr-defined]
    return st


def seconds_for(engine: Engine, step: Step) -> int:
    """The step's timer, or the session's override (tests and rehearsals use short ones)."""
    override = engine.commit_within_override
    return int(override) if override else int(step.commit_within or 0)


def arm_nodes(engine: Engine, step: Step, nodes: list[Node]) -> list[Node]:
    """Where the timer is armed (and so the checkpoint taken): ``[steps.rollback] targets``,
    else the step's own targets."""
    if step.commit_within is None or not step.rollback.targets:
        return nodes
    from dataclasses import replace

    try:
        extra = resolve_targets(replace(step, targets=step.rollback.targets, max_targets=None),
                                engine.cluster, engine.params)
    except TargetError:
        return nodes
    names = {n.name for n in nodes}
    from pverunbook.engine.unreachable import without_unreachable

    return nodes + without_unreachable(engine, step, [n for n in extra if n.name not in names])


def _root(engine: Engine) -> str:
    return str(getattr(engine, "rollback_root", rs.ROOT))


def _log(engine: Engine) -> str:
    return str(getattr(engine, "rollback_log", rs.LOG))


def _tag(checkpoint_id: str, node: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{checkpoint_id}-{node}")


def _undoes(engine: Engine, step: Step, node: str, files: Sequence[str],
            reload: Sequence[str] = ()) -> str:
    """What the timer does when it fires, for the operator: the files it restores, or the
    runbook's reload commands for a rollback that restores no file (route-fix's route),
    with the run's values in them, as the node's script runs them (:func:`_arm_one`)."""
    if files:
        return f"restores {', '.join(files)}"
    if reload:
        return f"undoes the change ({'; '.join(reload)})"
    if step.rollback.reload:
        from pverunbook.runbook.template import render, render_plain

        try:
            values = engine.values_for(engine.cluster.node(node))
        except (KeyError, ValueError):
            values = {}
        cmds = []
        for c in step.rollback.reload:
            try:
                cmds.append(render(c, values))
            except KeyError:
                cmds.append(render_plain(c, values).replace(
                    "{{recorded}}", rollback_probe.RECORDED_PROSE))
        return f"undoes the change ({'; '.join(cmds)})"
    return "undoes the change"


def _emit(engine: Engine, step: Step, node: str, state: str, **kw: object) -> None:
    engine.emit(ev.RollbackTimer(step_id=step.id, node=node, state=state, **kw))  # type: ignore[arg-type]


# -- arming ----------------------------------------------------------------------------------
async def arm(engine: Engine, step: Step, checkpoint_id: str, nodes: list[Node]) -> str:
    """Arm the timer on ``nodes`` before ``step`` runs; "" or why the step must not run."""
    if step.commit_within is None:
        return ""
    seconds = seconds_for(engine, step)
    if engine.dry_run:
        engine.emit(ev.Note(step_id=step.id, text=(
            f"would arm a rollback timer of {seconds} s on {', '.join(n.name for n in nodes)} "
            f"restoring {', '.join(step.backup.files)} unless COMMIT is typed after "
            f"{', '.join(step.commit_checks)} passed")))
        return ""
    before = _state(engine).get(step.id)
    if before is not None:  # a re-run: the earlier attempt's timers would undo this one too
        return (f"its previous attempt's rollback timers are still armed on "
                f"{', '.join(a.node for a in before.armed)} and restore checkpoint "
                f"{before.checkpoint_id} in {max(before.local_deadline - time.time(), 0):.0f} s,"
                " which would undo this attempt too: it did not run again; the run waits for "
                "them and says what they restored; then run the runbook again")
    copies, problem = _copies(engine, checkpoint_id, nodes,
                              need_files=not step.rollback.reload)
    if problem:
        for n in nodes:
            _emit(engine, step, n.name, "arm_failed", checkpoint_id=checkpoint_id,
                  message=problem)
        await engine.durable()
        return f"rollback timer not armed: {problem}"
    version = _corosync_version(copies)
    results = await asyncio.gather(*(
        _arm_one(engine, step, checkpoint_id, n, copies[n.name], version, seconds)
        for n in nodes), return_exceptions=True)
    armed: list[Armed] = []
    failed: list[str] = []
    for n, r in zip(nodes, results, strict=True):
        if isinstance(r, Armed):
            armed.append(r)
            _emit(engine, step, n.name, "armed", checkpoint_id=checkpoint_id,
                  deadline=r.deadline, seconds=seconds, files=r.files,
                  dir=rs.node_dir(r.tag, _root(engine)), method=r.method,
                  message=f"{_undoes(engine, step, n.name, r.files, r.reload)} in {seconds} s "
                          "unless "
                          "COMMIT")
        else:
            why = r.message if isinstance(r, TransportError) else str(r)
            failed.append(f"{n.name}: {why}")
            _emit(engine, step, n.name, "arm_failed", checkpoint_id=checkpoint_id, message=why)
    await engine.durable()
    if failed:
        # All or none: a change that only some nodes can take back is not made.
        await _disarm_all(engine, step, armed, reason="the timer could not be armed everywhere")
        return "rollback timer not armed on every node, so the step did not run: " + \
            "; ".join(failed)
    _state(engine)[step.id] = Pending(step, checkpoint_id, armed, list(step.commit_checks))
    return ""


async def _arm_one(engine: Engine, step: Step, checkpoint_id: str, node: Node,
                   files: dict[str, tuple[bytes, int]], version: int | None,
                   seconds: int) -> Armed:
    transport = engine.transport_for(node)
    tag = _tag(checkpoint_id, node.name)
    d = rs.node_dir(tag, _root(engine))
    # The operator's seconds are real ones: on a rehearsal cluster whose clock runs faster,
    # the node sleeps correspondingly more of its own seconds.
    node_seconds = max(1, round(seconds / engine.node_time_scale))
    plan = rs.Plan(node=node.name, tag=tag, seconds=node_seconds, step_id=step.id,
                   run_id=engine.run_id, checkpoint_id=checkpoint_id, files=sorted(files),
                   corosync_version=version, pve_wait=int(getattr(engine, "rollback_pve_wait",
                                                                  rs.PVE_WAIT)),
                   root=_root(engine), log=_log(engine))
    values = engine.values_for(node)
    from pverunbook.runbook.template import render

    if step.rollback.requires:
        await rollback_probe.require(transport, node, render(step.rollback.requires, values))
    recorded = await rollback_probe.record(transport, node, render(step.rollback.record, values)
                                           ) if step.rollback.record else []
    plan.reload = rollback_probe.reload_commands(step.rollback.reload, values, recorded)
    dirs = sorted({d} | {f"{d}/restore{p.rsplit('/', 1)[0]}" for p in files})
    want: dict[str, str] = {}
    await _check(transport, node, "umask 077 && mkdir -p -- "
                 + " ".join(shlex.quote(x) for x in dirs), "creating " + d)
    for path, (data, mode) in files.items():
        if version is not None and path in (rs.PVE_COROSYNC, rs.LOCAL_COROSYNC):
            data = rs.with_version(data.decode("utf-8", "replace"), version).encode()
        dest = f"{d}/restore{path}"
        await transport.write_file(node, dest, data, mode=mode, timeout=30.0)
        want[dest] = sha256_hex(data)
    await transport.write_file(node, f"{d}/rollback.sh", rs.script(plan).encode(), mode=0o700,
                               timeout=30.0)
    out = await _check(transport, node, "sha256sum -- " + " ".join(
        shlex.quote(p) for p in want), "verifying the restore copies") if want else ""
    got = {line.split(None, 1)[1].strip(): line.split(None, 1)[0]
           for line in out.splitlines() if len(line.split(None, 1)) == 2}
    bad = [p for p, h in want.items() if got.get(p) != h]
    if bad:
        raise TransportError(node.name, "the restore copies on the node do not match the "
                             f"checkpoint: {', '.join(bad)}")
    before = time.time()
    out = await _check(transport, node, rs.arm_command(plan), "starting the timer")
    words = (out.strip().splitlines() or [""])[-1].split()
    if len(words) != 3 or words[0] != "armed":
        raise TransportError(node.name, f"the timer did not start (said {out.strip()!r})",
                             "check that setsid or systemd-run exist on the node")
    deadline = float(words[2])
    return Armed(node.name, tag, deadline, before + seconds, words[1],
                 tuple(sorted(files)), tuple(plan.reload))


async def _check(transport: object, node: Node, cmd: str, doing: str) -> str:
    from pverunbook.transport.base import Transport

    assert isinstance(transport, Transport)
    result, out, err = await run_collect(transport, node, cmd, 30.0)
    if result.exit_status != 0:
        why = err.strip() or out.strip() or result.error or f"exit {result.exit_status}"
        raise TransportError(node.name, f"{doing}: {why[:300]}")
    return out


# -- after each step: count the checks, ask for COMMIT ---------------------------------------
async def after_step(engine: Engine, step: Step, status: str) -> str:
    """Called with a step's final status; "" to go on, or why the run stops (not committed)."""
    for pending in list(_state(engine).values()):
        if step.id not in pending.remaining:
            continue
        if engine.dry_run:
            pending.remaining.remove(step.id)
            if not pending.remaining:
                engine.emit(ev.ConfirmationRequested(
                    step_id=pending.step.id, what="commit", expected=COMMIT,
                    prompt=f"Type {COMMIT} to keep the change (the timers would restore "
                           "the checkpoint otherwise)."))
                del _state(engine)[pending.step.id]
            continue
        if status != "ok":
            left = pending.local_deadline - time.time()
            engine.emit(ev.Note(step_id=step.id, level="error", text=(
                f"'{step.id}' {status}: the change of '{pending.step.id}' did not prove "
                f"itself, so {COMMIT} is not asked; the rollback timers restore the "
                f"checkpoint in {max(left, 0):.0f} s")))
            await engine.durable()
            return (f"'{step.id}' {status} after '{pending.step.id}': not committed, the "
                    "rollback restores the checkpoint")
        pending.remaining.remove(step.id)
        pending.passed.append(step.id)
        if pending.remaining:
            continue
        if await _ask_commit(engine, pending):
            del _state(engine)[pending.step.id]
            continue
        if pending.step.id not in _state(engine):  # "Roll back now": already waited for
            return (f"'{pending.step.id}' was rolled back by the operator: the rollback "
                    "timers restored the checkpoint")
        return f"'{pending.step.id}' was not committed: the rollback restores the checkpoint"
    return ""


def no_timer_warning(pending: Pending, nodes: Sequence[str]) -> str:
    """What the COMMIT question must say when some of the step's nodes have no live timer
    (``pending.no_timer``): "" when all have one. Their change stays whatever the answer, so
    only COMMIT leaves every node alike; rolling back (or no answer) restores ``nodes`` only."""
    if not pending.no_timer:
        return ""
    gone = ", ".join(pending.no_timer)
    return (f"On {gone} the rollback timer is gone (its process ended: it will never fire), "
            f"so the change stays on {gone} whatever you answer. {COMMIT} keeps it on every "
            f"node, alike; Roll back now (or no answer) restores {', '.join(nodes)} only and "
            f"leaves {gone} changed: then run the runbook rollback-settle with checkpoint="
            f"{pending.checkpoint_id} to undo it there too.")


async def _ask_commit(engine: Engine, pending: Pending) -> bool:
    step = pending.step
    left = pending.local_deadline - time.time() - MARGIN
    nodes = tuple(a.node for a in pending.armed)
    if left <= 0:
        engine.emit(ev.Note(step_id=step.id, level="error", text=(
            f"the checks took too long: the rollback timers of '{step.id}' fire now; "
            f"raise commit_within ({step.commit_within} s)")))
        await engine.durable()
        return False
    warning = no_timer_warning(pending, nodes)
    undo = undo_words(pending.armed, pending.checkpoint_id)
    prompt = (f"'{step.title}' passed {', '.join(pending.passed)}. Type {COMMIT} within "
              f"{left:.0f} s to keep it; otherwise every node ({', '.join(nodes)}) {undo} "
              "by itself." + (f" {warning}" if warning else ""))
    request = ConfirmRequest(step=step, what="commit", prompt=prompt, expected=COMMIT,
                             nodes=nodes, checkpoint_id=pending.checkpoint_id,
                             deadline=pending.local_deadline - MARGIN, warning=warning)
    engine.emit(ev.ConfirmationRequested(step_id=step.id, what="commit", prompt=prompt,
                                         expected=COMMIT, nodes=nodes,
                                         checkpoint_id=pending.checkpoint_id))
    await engine.durable()
    typed: str | None
    try:
        typed = await asyncio.wait_for(engine.decider.confirm(request), timeout=left + 1.0)
    except TimeoutError:
        typed = None
    refusal = typed if isinstance(typed, Refusal) else None
    accepted = refusal is None and typed is not None and typed.strip() == COMMIT \
        and time.time() < pending.local_deadline - 1.0
    # A refusal on purpose ("Roll back now", no --confirm COMMIT) is not a timeout: the record
    # says which, and nothing is "typed" that nobody typed.
    reason = refusal.reason if refusal is not None else ("" if typed is not None else NO_ANSWER)
    engine.emit(ev.ConfirmationGiven(step_id=step.id, what="commit", accepted=accepted,
                                     typed="" if refusal is not None else (typed or ""),
                                     operator=engine.operator, reason=reason))
    await engine.durable()
    if refusal is not None and refusal.now:
        await _fire_now(engine, pending)
        return False
    if not accepted:
        engine.emit(ev.Note(step_id=step.id, level="warning", text=(
            f"not committed: the rollback timers "
            f"{undo_words(pending.armed, pending.checkpoint_id, plural=True)} "
            f"on {', '.join(nodes)} in {max(pending.local_deadline - time.time(), 0):.0f} s")))
        return False
    return await _disarm_all(engine, step, pending.armed, reason=COMMIT)


async def _disarm_all(engine: Engine, step: Step, armed: list[Armed], reason: str,
                      state: str = "committed") -> bool:
    """Stop ``armed``'s timers; each stopped one is journaled as ``state``: ``committed`` (COMMIT
    kept the change) or ``disarmed`` (the step failed before changing anything,
    rollback_unchanged.py: there was nothing to keep). True when every one stopped."""
    async def one(a: Armed) -> tuple[Armed, str]:
        node = engine.cluster.node(a.node)
        try:
            result, out, err = await run_collect(
                engine.transport_for(node), node,
                rs.disarm_command(a.tag, _root(engine), _log(engine)), 30.0)
        except TransportError as exc:
            return a, exc.message
        if result.exit_status == 0 and out.strip().endswith("disarmed"):
            return a, ""
        return a, (out.strip() or err.strip() or result.error
                   or f"exit {result.exit_status}")[:300]

    results = await asyncio.gather(*(one(a) for a in armed))
    ok = True
    for a, problem in results:
        if problem:
            ok = False
            _emit(engine, step, a.node, "disarm_failed", deadline=a.deadline,
                  dir=rs.node_dir(a.tag, _root(engine)), method=a.method, files=a.files,
                  message=f"{reason}, but the timer could not be stopped: {problem}; it "
                          "restores the checkpoint when it fires")
        else:
            _emit(engine, step, a.node, state, dir=rs.node_dir(a.tag, _root(engine)),
                  method=a.method,
                  message=f"{reason}: timer stopped and verified gone; nothing restored")
    await engine.durable()
    return ok


async def _fire_now(engine: Engine, pending: Pending) -> None:
    """"Roll back now": every node's timer fires at once (``rollback_script.fire_now_command``,
    once only even if the timer fires at that moment); then wait for each to report ``fired``
    and journal it, as :func:`at_end` does. A node that cannot be told keeps its timer, which
    restores at its deadline; the wait covers it too."""
    step = pending.step

    async def one(a: Armed) -> str:
        node = engine.cluster.node(a.node)
        try:
            result, out, err = await run_collect(
                engine.transport_for(node), node, rs.fire_now_command(a.tag, _root(engine)),
                30.0)
        except TransportError as exc:
            return exc.message
        said = (out.strip().splitlines() or [""])[-1]
        if result.exit_status == 0 and (said == "firing" or said.startswith("state ")):
            a.local_deadline = min(a.local_deadline, time.time())
            return ""
        return (said or err.strip() or result.error or f"exit {result.exit_status}")[:300]

    problems = await asyncio.gather(*(one(a) for a in pending.armed))
    for a, problem in zip(pending.armed, problems, strict=True):
        if problem:
            engine.emit(ev.Note(step_id=step.id, level="warning", text=(
                f"{a.node}: the rollback timer could not be made to fire now ({problem}); it "
                f"{undo_words([a], pending.checkpoint_id)} by itself in "
                f"{max(a.local_deadline - time.time(), 0):.0f} s")))
    fired = [a.node for a, problem in zip(pending.armed, problems, strict=True) if not problem]
    if fired:
        engine.emit(ev.Note(step_id=step.id, level="warning", text=(
            f"rolled back by the operator: the nodes ({', '.join(fired)}) "
            f"{undo_words(pending.armed, pending.checkpoint_id, plural=True)} now; waiting "
            "for them to report")))
    await engine.durable()
    await _await_fired(engine, pending)
    _state(engine).pop(step.id, None)


# -- end of the run: the timers that were not committed --------------------------------------
async def at_end(engine: Engine) -> str:
    """Timers still armed when the run ends fire: wait for them and journal what they did.

    Returns "" when no change was left waiting, else the sentence that the run's end carries:
    its checks never all ran (a ``when`` skipped one, a ``goto`` jumped past it), so COMMIT was
    never asked and the nodes put the change back. The run did not do what it was for, and its
    status must not say ok."""
    pending = list(_state(engine).values())
    _state(engine).clear()
    if engine.dry_run or not pending:
        return ""
    for p in pending:
        left = max(p.local_deadline - time.time(), 0.0)
        engine.emit(ev.Note(step_id=p.step.id, level="warning", text=(
            f"'{p.step.id}' {AT_END_WAIT} {left:.0f} s for the rollback timers "
            f"on {', '.join(a.node for a in p.armed)}")))
    await engine.durable()
    await asyncio.gather(*(_await_fired(engine, p) for p in pending))
    return "; ".join(f"'{p.step.id}' was not committed (its checks did not all run): the "
                     "rollback timers restored the checkpoint" for p in pending)


async def _await_fired(engine: Engine, p: Pending) -> list[str]:
    """Wait for every node's timer of ``p`` to end (``done`` / ``failed``) and journal it;
    returns the nodes whose timer had not ended when the wait gave up (journaled ``unknown``).

    Until each node's deadline, nothing to ask; when the first passes, a note says the timers
    fire now (never a silent wait past the deadline). The script's states (rollback_script
    ``script``) are ``armed`` → ``firing`` → ``done`` | ``failed``: ``firing`` (the
    /etc/pve write may wait up to ``PVE_WAIT`` s for quorum) and ``armed`` just after the
    deadline (the node's timer is a second late) are kept polling, bounded by
    ``rollback_settle`` after the last deadline, and a note says what is awaited."""
    deadline = p.local_deadline
    if deadline > time.time():
        await asyncio.sleep(deadline - time.time())
        engine.emit(ev.Note(step_id=p.step.id, level="warning", text=(
            f"the rollback timers of '{p.step.id}' fire now: the nodes "
            f"({', '.join(a.node for a in p.armed)}) "
            f"{undo_words(p.armed, p.checkpoint_id, plural=True)}; "
            "waiting for them to report")))
        await engine.durable()
    await asyncio.sleep(1.0)
    todo = {a.node: a for a in p.armed}
    settle = float(getattr(engine, "rollback_settle", SETTLE))
    give_up = time.time() + max(max(a.local_deadline for a in p.armed) - time.time(), 0.0) \
        + settle
    seen: dict[str, str] = {}
    relayed: dict[str, int] = {}  # node → lines of its timer's log already relayed
    gone: dict[str, int] = {}  # node → polls in a row its timer's process was gone
    while todo:  # polled once more after give_up: a stalled loop still reads the outcome
        for name, a in list(todo.items()):
            state, log, alive = await _read_state(engine, a)
            if state is None:
                continue
            # process gone (the health check's rule) twice, 2 s apart: nothing will restore
            gone[name] = gone.get(name, 0) + 1 if state in ("armed", "firing") and not alive else 0
            if gone[name] >= 2:
                del todo[name]
                p.gone.append(name)
                text = gone_text(state, name, p.checkpoint_id, a.files, _log(engine))
                _emit(engine, p.step, name, "unknown", files=a.files, message=text,
                      dir=rs.node_dir(a.tag, _root(engine)))
                engine.emit(ev.Note(step_id=p.step.id, level="error", text=text))
                continue
            if state in ("done", "failed"):
                del todo[name]
                _emit(engine, p.step, name, "fired" if state == "done" else "failed",
                      dir=rs.node_dir(a.tag, _root(engine)), method=a.method, files=a.files,
                      message=log.strip()[-4000:])
                if state == "failed":
                    engine.emit(ev.Note(step_id=p.step.id, level="error", text=(
                        f"ROLLBACK FAILED on {name}: {_last(log)}; see {_log(engine)} and "
                        f"{rs.node_dir(a.tag, _root(engine))}/log on {name}")))
            if state == "firing":  # what it has done since, as it goes (a wait can be long)
                lines = log.splitlines()
                # first sight: from its last line, which the status line shows while it waits
                relay = lines[relayed.get(name, max(len(lines) - 1, 0)):][:20]
                if seen.get(name) != state:
                    engine.emit(ev.Note(step_id=p.step.id, text=_firing_note(
                        name, p.checkpoint_id, give_up, log, relay[:1])))
                for line in relay:
                    engine.emit(ev.Note(step_id=p.step.id, text=progress_note(name, line)))
                relayed[name] = len(lines)
            seen[name] = state
        if not todo or time.time() >= give_up:
            break
        await asyncio.sleep(2.0)
    for name, a in todo.items():
        was = seen.get(name)
        _emit(engine, p.step, name, "unknown", dir=rs.node_dir(a.tag, _root(engine)), files=a.files,
              message=(f"the rollback had not finished after {settle:.0f} s (state {was!r})"
                       if was else "could not read the rollback's outcome")
              + f"; see {_log(engine)} on {name}")
    await engine.durable()
    return list(todo)


async def _read_state(engine: Engine, a: Armed) -> tuple[str | None, str, bool]:
    """Timer ``a``'s ``state`` (None: the node cannot be asked), ``log``, process alive."""
    node = engine.cluster.node(a.node)
    d = shlex.quote(rs.node_dir(a.tag, _root(engine)))
    try:
        _, out, _ = await run_collect(engine.transport_for(node), node, rs.status_command(
            [a.tag], _root(engine)) + f"; echo ---; cat {d}/log", 20.0)
    except TransportError:
        return None, "", True
    status, sep, log = out.partition("---\n")
    words = (status.strip().splitlines() or [""])[-1].split()
    if not sep or len(words) != 5 or words[0] != a.tag:
        return None, "", True
    return words[1], log, words[4] != "0"


#: How a line of a node's restore log is relayed while it restores (ui/rollback_wait.py reads it).
PROGRESS = ": rollback: "


def progress_note(node: str, line: str) -> str:
    """``<node>: rollback: <what the script said>``, without the log line's time, host and tag
    (rollback_script ``_say``: ``<time> <node> pverunbook-rollback[pid] <tag>: <message>``)."""
    said = line.split("]", 1)[-1].split(": ", 1)[-1] if "pverunbook-rollback" in line else line
    return f"{node}{PROGRESS}{said.strip()}"


def _firing_note(node: str, checkpoint_id: str, give_up: float, log: str,
                 relayed: list[str]) -> str:
    """The note that a node's timer fired and is restoring, and how long it is waited for.

    It quotes the restore log's telling line (:func:`_last`) unless that is the line relayed
    right after it as the first progress note: said once, in the form the status line reads
    (ui/rollback_wait.py), not twice."""
    text = (f"{node}: the rollback is restoring checkpoint {checkpoint_id} (state 'firing'); "
            f"waiting up to {max(give_up - time.time(), 0):.0f} s for it to finish")
    last = _last(log)
    if relayed and last == relayed[0][-300:]:
        return text
    return f"{text}: {last}"


def _last(log: str) -> str:
    lines = [ln for ln in log.splitlines() if "FAILED" in ln]
    return (lines[-1] if lines else (log.strip().splitlines() or ["no log"])[-1])[-300:]
