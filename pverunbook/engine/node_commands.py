"""Running one step on one node: its commands (or its built-in action), then its expectations.

The engine fans a step out with one task per node; each task runs the functions here, which
turn the transport's results into events and a ``NodeOutcome``. A lost connection, a timeout or a
cancel stops that node's commands and nothing else.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine.outcomes import NodeOutcome
from pverunbook.engine.output import OutputBuffer
from pverunbook.engine.targets import render_commands
from pverunbook.inventory import Node
from pverunbook.runbook.model import Expectation, Step, StepKind, Stream
from pverunbook.runbook.template import render_regex
from pverunbook.transport.base import CommandResult, ConnectionLost, Transport, TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def is_lost(exc: TransportError) -> bool:
    """The transport error means the node's connection dropped (reconnect may help)."""
    return isinstance(exc, ConnectionLost)


async def run_on_node(engine: Engine, step: Step, node: Node) -> NodeOutcome:
    """Run ``step`` on ``node``: its commands in order (or its built-in action), stopping at
    the first that fails, times out, is cancelled or loses the connection; then its
    expectations. Emits CommandStarted/Finished, output and ExpectationResult events.

    Raises CancelledError when the step is cancelled (the fan-out turns it into "cancelled");
    a TransportError from the transport is a failed command, not an exception."""
    transport = engine.transport_for(node)
    # The buffer redacts as it goes (secrets split across reads included): no second pass.
    buf = OutputBuffer(engine.emit_redacted, step.id, node.name, engine.redactor)
    outcome = NodeOutcome(node.name, "ok")
    if step.kind is StepKind.ACTION:
        return await _action_on_node(engine, step, node, transport, buf, outcome)
    commands = render_commands(step, node, engine.cluster, engine.params, engine.run_id,
                               list(engine.unreachable))
    for idx, command in enumerate(commands):
        engine.emit(ev.CommandStarted(step_id=step.id, node=node.name, command=command,
                                      index=idx, timeout=step.timeout))
        if step.destructive:
            # Resume must know a destructive command may have run, even after a power loss.
            await engine.durable()
        else:
            # A read-only one is simply run again after a power loss, so it waits for the
            # write alone (no fsync): a SIGKILL still never hides that it ran.
            await engine.written()
        started = time.monotonic()
        try:
            result = await transport.run(node, command, timeout=step.timeout,
                                         on_output=buf.feed)
        except asyncio.CancelledError:
            buf.flush()
            engine.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=command,
                                           index=idx, exit_status=None, cancelled=True,
                                           duration=time.monotonic() - started))
            raise
        except TransportError as exc:
            result = CommandResult(None, time.monotonic() - started, error=str(exc),
                                   connection_lost=is_lost(exc))
        buf.flush()
        outcome.results.append(result)
        engine.emit(ev.CommandFinished(
            step_id=step.id, node=node.name, command=command, index=idx,
            exit_status=result.exit_status, duration=result.duration,
            timed_out=result.timed_out, cancelled=result.cancelled,
            connection_lost=result.connection_lost, error=result.error,
            dry_run=result.dry_run))
        if result.connection_lost:
            engine.emit(ev.NodeConnection(node=node.name, state="lost", message=result.error))
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
            rx = exp.match if exp.match is not None else exp.absent or ""
            if "{{" in rx:  # placeholders ({{node}}) match their values literally
                rx = render_regex(rx, engine.values_for(node))
            if exp.match is not None:
                found = re.search(rx, text, re.M)
                ok = found is not None
            else:
                found = re.search(rx, _normal_lines_out(engine, step, text), re.M)
                ok = found is None
            if not ok and exp.severity:
                engine.emit(_expectation_finding(step, node.name, exp, found))
                continue
            engine.emit(ev.ExpectationResult(step_id=step.id, node=node.name,
                                             description=exp.describe(), ok=ok,
                                             message="" if ok else exp.message))
            if not ok:
                outcome.status = "failed"
    return outcome


def _expectation_finding(step: Step, node: str, exp: Expectation,
                         found: re.Match[str] | None) -> ev.Finding:
    """A failed expectation with a ``severity``: a finding on the node, not a failed step.

    Its evidence is the output line the ``absent`` regex found (the fault itself, as the
    operator sees it in the node's pane), or what the ``match`` regex looked for."""
    if found is not None:
        start = found.string.rfind("\n", 0, found.start()) + 1
        end = found.string.find("\n", found.start())
        line = found.string[start:end if end >= 0 else None].strip()
        if len(line) > 200:  # a kvm command line runs to thousands of characters
            line = line[:199] + "…"
        evidence, detail = line, f"the output says: {line}"
    else:
        evidence, detail = "", f"no line of the output matches /{exp.match}/"
    return ev.Finding(step_id=step.id, node=node, severity=exp.severity, title=exp.message,
                      detail=detail, evidence=evidence)


async def _action_on_node(engine: Engine, step: Step, node: Node, transport: Transport,
                          buf: OutputBuffer, outcome: NodeOutcome) -> NodeOutcome:
    from pverunbook.engine.actions import ACTIONS, ActionContext, render_args

    spec = ACTIONS[step.action or ""]
    args = render_args(step.args, engine.values_for(node))
    label = spec.describe(args)
    engine.emit(ev.CommandStarted(step_id=step.id, node=node.name, command=label, index=0,
                                  timeout=step.timeout))
    await engine.durable()
    started = time.monotonic()
    if not transport.executes:
        buf.feed("stdout", f"[dry-run] would run on {node.name}: {label}\n")
        buf.flush()
        engine.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label,
                                       index=0, exit_status=None, duration=0.0, dry_run=True))
        outcome.status = "planned"
        return outcome
    ctx = ActionContext(node=node, transport=transport, args=args, timeout=step.timeout,
                        out=buf.feed, cluster_nodes=engine.cluster.names,
                        link1_addrs={n.name: n.addr1 for n in engine.cluster.nodes},
                        peers=[n for n in engine.cluster.nodes if n.name != node.name],
                        unreachable=dict(engine.unreachable))
    error = ""
    lost = False
    try:
        ok = await spec.fn(ctx)
    except asyncio.CancelledError:
        buf.flush()
        engine.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label,
                                       index=0, exit_status=None, cancelled=True,
                                       duration=time.monotonic() - started))
        raise
    except TransportError as exc:
        ok, error, lost = False, str(exc), is_lost(exc)
        buf.feed("stderr", f"{exc}\n")
    buf.flush()
    engine.emit(ev.CommandFinished(step_id=step.id, node=node.name, command=label, index=0,
                                   exit_status=0 if ok else 1,
                                   duration=time.monotonic() - started,
                                   connection_lost=lost, error=error))
    outcome.status = "connection_lost" if lost else ("ok" if ok else "failed")
    outcome.stdout, outcome.stderr = buf.text("stdout"), buf.text("stderr")
    return outcome


def _normal_lines_out(engine: Engine, step: Step, text: str) -> str:
    """The output an ``absent`` expectation checks: the verdict's normal lines taken out
    (a healthy start-up's 'has no active links'), so only a line that means a fault fails."""
    if not step.verdict:
        return text
    from pverunbook.pve import verdicts

    kept, dropped = verdicts.without_normal_lines(step.verdict, text)
    if dropped:
        engine.emit(ev.Note(step_id=step.id, level="info", text=(
            f"{dropped} line(s) the '{step.verdict}' verdict reads as normal start-up were "
            "not checked against 'absent' expectations")))
    return kept
