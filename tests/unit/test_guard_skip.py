"""A failed step that guards later destructive steps is never skipped with one key
(engine/guard_skip.py), and an input value the facts contradict needs its phrase."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    CONTRADICT_PHRASE,
    GUARD_OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    FailureChoice,
    ScriptedDecider,
    StepAction,
    StepDecision,
)
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal
from pverunbook.engine.resume import load_resume
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

TWO = Cluster("nyc", (Node("ryanrishi", "localhost", addr="10.0.0.1"),
                      Node("pve001", "localhost", addr="10.0.0.2")))


def book(tmp: Path, on_failure: str = "stop") -> str:
    return textwrap.dedent(f'''
        id = "t"
        title = "T"
        [[steps]]
        id = "peers"
        title = "Peers quorate"
        kind = "check"
        commands = ["false"]
        on_failure = "{on_failure}"
        [[steps]]
        id = "wipe"
        title = "Move the database aside"
        targets = "first"
        destructive = true
        no_backup_reason = "test scratch file"
        commands = ["touch {tmp}/ran"]
    ''')


async def run(text: str, decider: ScriptedDecider, journal: Path | None = None,
              resume: object = None) -> tuple[str, list[ev.Event], Engine]:
    engine = Engine(load_text(text, "t.toml"), TWO, LocalTransport(), decider, run_id="r1",
                    resume=resume)  # type: ignore[arg-type]
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    j = None
    if journal is not None:
        j = Journal(journal)
        engine.subscribe(j)
        engine.flushers.append(j.flush)
    try:
        status = await engine.run()
    finally:
        if j is not None:
            j.close()
    return status, seen, engine


def overrides(seen: list[ev.Event]) -> list[ev.ConfirmationGiven]:
    return [e for e in seen if isinstance(e, ev.ConfirmationGiven) and e.what == "guard override"]


async def test_skip_of_a_failed_guard_without_override_runs_nothing_destructive(
        tmp_path: Path) -> None:
    bad = [None, Answer(CheckpointChoice.OVERRIDE, text="yes", reason="sure"),
           Answer(CheckpointChoice.OVERRIDE, text=GUARD_OVERRIDE_PHRASE, reason="  ")]
    for guard in bad:
        decider = ScriptedDecider(confirm_text="ryanrishi", failure=FailureChoice.SKIP,
                                  guard=guard)
        status, seen, _ = await run(book(tmp_path), decider)
        assert status == "aborted", guard
        assert not (tmp_path / "ran").exists()
        assert "confirm:wipe" not in decider.asked and "guard:peers" in decider.asked
        assert overrides(seen) and not any(c.accepted for c in overrides(seen))
        assert not [e for e in seen if isinstance(e, ev.StepSkipped)]


async def test_override_with_phrase_and_reason_is_journaled_and_said_at_each_confirm(
        tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    decider = ScriptedDecider(confirm_text="ryanrishi", failure=FailureChoice.SKIP,
                              guard=Answer(CheckpointChoice.OVERRIDE, text=GUARD_OVERRIDE_PHRASE,
                                           reason="checked quorum by hand"))
    status, seen, engine = await run(book(tmp_path), decider, journal)
    assert (tmp_path / "ran").exists() and status == "completed_with_failures"
    (given,) = overrides(seen)
    assert given.accepted and given.reason == "checked quorum by hand"
    (asked,) = [e for e in seen if isinstance(e, ev.ConfirmationRequested)
                and e.step_id == "wipe"]
    assert "GUARD SKIPPED" in asked.prompt and "'Peers quorate' (peers" in asked.prompt
    assert "checked quorum by hand" in asked.prompt
    # a resumed run still knows the guard was skipped
    _, info = load_resume(journal)
    assert info.overridden == {"peers": "checked quorum by hand"}


async def test_continue_steps_and_steps_with_nothing_destructive_after_skip_with_one_key(
        tmp_path: Path) -> None:
    decider = ScriptedDecider(confirm_text="ryanrishi", failure=FailureChoice.SKIP)
    status, _, _ = await run(book(tmp_path, "continue"), decider)
    assert (tmp_path / "ran").exists() and "guard:peers" not in decider.asked
    (tmp_path / "ran").unlink()
    tail = book(tmp_path).replace("destructive = true", "destructive = false")
    decider = ScriptedDecider(confirm_text="ryanrishi", failure=FailureChoice.SKIP)
    status, _, _ = await run(tail, decider)
    assert (tmp_path / "ran").exists() and "guard:peers" not in decider.asked


class SkipFirst(ScriptedDecider):
    """Skips (or jumps over) the guard before it runs, as the TUI's s / j keys do."""

    def __init__(self, decision: StepDecision, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.decision: StepDecision | None = decision

    async def before_step(self, step, index):  # type: ignore[no-untyped-def]
        if step.id == "peers" and self.decision is not None:
            d, self.decision = self.decision, None
            return d
        return StepDecision()


async def test_skip_or_jump_before_the_guard_ran_needs_the_override(tmp_path: Path) -> None:
    for decision in (StepDecision(StepAction.SKIP), StepDecision(StepAction.GOTO, goto="wipe")):
        decider = SkipFirst(decision, confirm_text="ryanrishi")
        status, seen, _ = await run(book(tmp_path), decider)
        # refused: asked again, the guard runs, fails, and the run stops there
        assert status == "failed" and not (tmp_path / "ran").exists(), decision
        assert "guard:peers" in decider.asked


PROPOSE = '''
id = "t"
title = "T"
[[params]]
name = "victim"
[[steps]]
id = "integrity"
title = "Integrity"
kind = "check"
commands = ["echo ok"]
verdict = "db-integrity"
[[steps]]
id = "ask"
title = "Which?"
kind = "input"
params = ["victim"]
[steps.propose]
victim = "db.integrity == damaged"
'''


async def test_input_value_the_facts_contradict_needs_its_phrase() -> None:
    decider = ScriptedDecider(params={"victim": "pve001"})
    status, seen, engine = await run(PROPOSE, decider)
    assert status == "aborted" and "victim" not in engine.params
    asked = [e for e in seen if isinstance(e, ev.ConfirmationRequested)]
    assert asked and asked[0].expected == CONTRADICT_PHRASE
    assert "the database passed its integrity check on pve001" in asked[0].prompt
    decider = ScriptedDecider(params={"victim": "pve001"}, confirm_text=CONTRADICT_PHRASE)
    status, seen, engine = await run(PROPOSE, decider)
    assert status == "ok" and engine.params["victim"] == "pve001"
    assert [e for e in seen if isinstance(e, ev.ConfirmationGiven) and e.accepted
            and e.what == "contradicts facts"]


def test_headless_stops_at_a_failed_guard_unless_override_guard_is_given(tmp_path: Path) -> None:
    from tests.unit.test_cli import cli

    runbook = tmp_path / "g.toml"
    runbook.write_text(book(tmp_path))
    env = {"PVERUNBOOK_STATE_DIR": str(tmp_path / "state")}
    base = ("run", str(runbook), "--local", "--headless", "--confirm", "local")
    r = cli(*base, env_extra=env)
    assert r.returncode == 1 and not (tmp_path / "ran").exists(), r.stdout + r.stderr
    assert "--override-guard peers=REASON" in r.stdout
    r = cli(*base, "--override-guard", "peers", env_extra=env)
    assert r.returncode == 2 and "has no reason" in r.stderr
    assert not (tmp_path / "ran").exists()
    r = cli(*base, "--override-guard", "peers=checked quorum by hand", env_extra=env)
    assert (tmp_path / "ran").exists(), r.stdout + r.stderr
    assert "GUARD SKIPPED by override: 'Peers quorate'" in r.stdout
    run_id = r.stdout.split("report:  pverunbook report ")[1].split()[0]
    report = cli("report", run_id, env_extra=env)
    assert "GUARD SKIPPED" in report.stdout and "checked quorum by hand" in report.stdout


async def test_confirmations_after_a_value_used_despite_the_facts_say_so(
        tmp_path: Path) -> None:
    """cluster-db-reset on a node whose database the run found sound: after 'use it despite
    the facts', the destructive steps on that node asked for its name and said nothing of
    it, as every confirmation after a guard override says GUARD SKIPPED."""
    text = PROPOSE + textwrap.dedent(f'''
        [[steps]]
        id = "wipe"
        title = "Move the database aside"
        targets = "first"
        destructive = true
        no_backup_reason = "test scratch file"
        commands = ["touch {tmp_path}/ran"]
    ''')
    decider = ScriptedDecider(params={"victim": "pve001"}, confirm_text=CONTRADICT_PHRASE)
    _, seen, _ = await run(text, decider)
    asked = [e for e in seen if isinstance(e, ev.ConfirmationRequested)]
    assert [a.what for a in asked] == ["contradicts facts", "destructive"]
    assert "⚠ USED DESPITE THE FACTS: victim = 'pve001'" in asked[1].prompt
    assert "the database passed its integrity check on pve001" in asked[1].prompt
    assert not (tmp_path / "ran").exists()  # the phrase is not the node's name
