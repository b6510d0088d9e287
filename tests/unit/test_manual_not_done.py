"""A manual step answered "Not done" stops the run only when something destructive after it
depends on it. In a read-only runbook (network-triage's "Physical checks") the run goes on and
ends finished, with that step "not done by the operator" — as headless leaves such a step for
the operator — not "aborted" after every check ran."""

from __future__ import annotations

import textwrap

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport
from pverunbook.ui.model import RunState

ONE = Cluster("nyc", (Node("ryanrishi", "localhost", addr="10.0.0.1"),))

READ_ONLY = textwrap.dedent('''
    id = "t"
    title = "T"

    [[steps]]
    id = "ping"
    title = "Ping"
    kind = "check"
    commands = ["true"]

    [[steps]]
    id = "physical"
    title = "Physical checks"
    kind = "manual"
    instructions = "Swap the cable."

    [[steps]]
    id = "after"
    title = "After"
    kind = "check"
    commands = ["echo after"]
''')

GATED = READ_ONLY.replace('kind = "check"\ncommands = ["echo after"]',
                          'destructive = true\nno_backup_reason = "a test"\n'
                          'commands = ["echo after"]')
assert GATED != READ_ONLY


async def _run(text: str) -> tuple[str, list[ev.Event], RunState]:
    runbook = load_text(text, "t.toml")
    engine = Engine(runbook, ONE, LocalTransport(), ScriptedDecider(manual=False),
                    run_id="r1", local_transport=LocalTransport())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    state = RunState(runbook)
    engine.subscribe(state.apply)
    return await engine.run(), seen, state


async def test_not_done_in_a_read_only_runbook_goes_on_and_finishes() -> None:
    status, seen, state = await _run(READ_ONLY)
    assert status == "ok"
    done = {e.step_id: e for e in seen if isinstance(e, ev.StepFinished)}
    assert done["physical"].status == "skipped"
    assert done["physical"].message.startswith("not done by the operator")
    assert done["after"].status == "ok"  # the steps after it ran
    s = state.summary()
    assert s.stopped_by == "" and s.status == "ok"
    assert [(t, why.split(" (")[0]) for t, why in s.skipped] == [
        ("Physical checks", "not done by the operator")]


async def test_not_done_before_a_destructive_step_still_stops() -> None:
    status, seen, state = await _run(GATED)
    assert status == "aborted"
    assert not any(isinstance(e, ev.StepStarted) and e.step_id == "after" for e in seen)
    assert state.summary().stopped_by == "operator"


async def test_the_summary_says_the_manual_step_is_left_to_the_operator() -> None:
    from pverunbook.ui.screens.summary import render_summary

    _, _, state = await _run(READ_ONLY)
    text = render_summary(state.summary(), None).plain
    assert "Finished: every check ran; a manual step is left to you (not done)" in text
    assert "Stopped by the operator" not in text
    assert "Physical checks — not done by the operator" in text


async def test_the_headless_summary_says_not_done_too() -> None:
    """The headless summary listed the step as "skipped", as if passed over."""
    import io

    from pverunbook.headless import EventPrinter

    _, seen, _ = await _run(READ_ONLY)
    out = io.StringIO()
    printer = EventPrinter(out)  # type: ignore[arg-type]
    for e in seen:
        printer(e)
    text = out.getvalue()
    assert "step physical (Physical checks): not done (left to you)" in text, text
    assert "physical (Physical checks): skipped" not in text
