"""The headless face: confirmations only from what the operator gave, a readable summary."""

from __future__ import annotations

import io

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, Refusal
from pverunbook.headless import EventPrinter, TerminalDecider
from pverunbook.runbook.loader import load_text

STEP = load_text('id = "x"\ntitle = "X"\n[[steps]]\nid = "a"\ntitle = "A"\ncommands = ["true"]\n'
                 ).steps[0]


def request(expected: str) -> ConfirmRequest:
    return ConfirmRequest(step=STEP, what="destructive", prompt="p", expected=expected,
                          nodes=("pve001",))


async def test_confirm_answers_only_with_given_texts() -> None:
    d = TerminalDecider(confirm_text=["nyc", "pve001"], interactive=False, out=io.StringIO())
    assert await d.confirm(request("pve001")) == "pve001"
    assert await d.confirm(request("nyc")) == "nyc"
    # Asked for something not given: refused with nothing typed (never another's answer).
    refused = await d.confirm(request("ryanrishi"))
    assert isinstance(refused, Refusal) and refused == ""


async def test_without_terminal_or_flag_nothing_is_confirmed() -> None:
    d = TerminalDecider(confirm_text=None, interactive=False, out=io.StringIO())
    assert await d.confirm(request("nyc")) is None
    assert await d.manual_done(STEP, "reseat the cable") is False


def test_printer_prefixes_node_output_and_summarises_problems() -> None:
    out = io.StringIO()
    p = EventPrinter(out)
    p(ev.RunStarted(run_id="r", runbook_id="x", runbook_title="X", runbook_path="", mode="local",
                    cluster="nyc", nodes=("ryanrishi", "pve001"), params={}))
    p(ev.StepStarted(step_id="a", title="A", index=0, nodes=("pve001",)))
    p(ev.OutputChunk(step_id="a", node="pve001", stream="stdout", text="one\ntw"))
    p(ev.OutputChunk(step_id="a", node="pve001", stream="stdout", text="o\n"))
    p(ev.Finding(step_id="a", node="pve001", severity="critical", title="15% loss"))
    p(ev.StepFinished(step_id="a", status="failed"))
    p(ev.RunFinished(status="completed_with_failures"))
    text = out.getvalue()
    assert "   pve001 | one\n" in text and "   pve001 | two\n" in text
    summary = text.split("== summary")[1]
    assert "CRIT pve001: 15% loss" in summary and "step a (A): failed" in summary


async def test_override_of_a_failed_checkpoint_is_givable_without_a_terminal() -> None:
    # A destructive step whose checkpoint failed (a damaged config.db, a CA that is gone) must
    # be able to go on in a headless run, and only with the exact phrase given on purpose.
    from pverunbook.engine.decisions import (
        OVERRIDE_PHRASE,
        CheckpointChoice,
        CheckpointFailure,
    )

    failure = CheckpointFailure(step=STEP, problems=("pve001: /etc/pve/pve-root-ca.pem: "
                                                     "missing",))
    plain = TerminalDecider(confirm_text="nyc", interactive=False, out=io.StringIO())
    assert (await plain.checkpoint_failed(failure)).choice is CheckpointChoice.ABORT
    given = TerminalDecider(confirm_text="nyc", interactive=False, out=io.StringIO(),
                            override=OVERRIDE_PHRASE)
    answer = await given.checkpoint_failed(failure)
    assert answer.choice is CheckpointChoice.OVERRIDE and answer.text == OVERRIDE_PHRASE


MANUAL = 'id = "x"\ntitle = "X"\n[[steps]]\nid = "m"\ntitle = "M"\nkind = "manual"\n' \
         'instructions = "Copy the file to the node whose corosync is down."\n'


async def test_confirm_never_answers_a_step_that_needs_a_person() -> None:
    advisory = load_text(MANUAL).steps[0]
    person = load_text(MANUAL + "needs_person = true\n").steps[0]
    out = io.StringIO()
    d = TerminalDecider(confirm_text=["COMMIT", "m"], interactive=False, out=out)
    assert await d.manual_done(advisory, advisory.instructions) is True
    assert await d.manual_done(person, person.instructions) is False
    assert "'m' needs a person: --confirm does not answer it" in out.getvalue()


GATED = ('id = "x"\ntitle = "X"\n'
         '[[steps]]\nid = "look"\ntitle = "Look"\ncommands = ["true"]\n'
         '[[steps]]\nid = "cables"\ntitle = "Check the cables"\nkind = "manual"\n'
         'instructions = "Check the cables of {{cluster}}."\n'
         '[[steps]]\nid = "cut"\ntitle = "Cut"\ncommands = ["true"]\ndestructive = true\n'
         'confirm = "cluster"\nno_backup_reason = "a test"\n')
ADVISORY = GATED.split('[[steps]]\nid = "cut"')[0]


async def test_an_advisory_manual_step_is_left_for_the_operator_headless() -> None:
    """A read-only triage without a terminal ended "aborted — the operator did not confirm the
    manual step" at its advisory "check the cables" step, and ``--confirm nyc`` (a cluster
    name) "accepted" it. Now: nothing destructive after it, so it is reported as left for the
    operator and the run goes on; only ``--confirm STEP_ID`` records it as done."""
    from pverunbook.engine.decisions import StepAction

    rb = load_text(ADVISORY)
    for confirm in (None, ["nyc"]):
        out = io.StringIO()
        d = TerminalDecider(confirm_text=confirm, interactive=False, out=out)
        d.runbook, d.context = rb, {"cluster": "nyc"}
        decision = await d.before_step(rb.steps[1], 1)
        assert decision.action is StepAction.SKIP
        assert decision.reason == "left for the operator: Check the cables of nyc."
        assert "add --confirm cables to record it as done" in out.getvalue()
        assert (await d.before_step(rb.steps[0], 0)).action is StepAction.RUN
    # a decider that was not told the runbook cannot know the step is advisory: it asks
    unknown = TerminalDecider(confirm_text=None, interactive=False, out=io.StringIO())
    assert (await unknown.before_step(rb.steps[1], 1)).action is StepAction.RUN
    assert await unknown.manual_done(rb.steps[1], "Check the cables.") is False
    d = TerminalDecider(confirm_text=["cables"], interactive=False, out=io.StringIO())
    d.runbook = rb
    assert (await d.before_step(rb.steps[1], 1)).action is StepAction.RUN
    assert await d.manual_done(rb.steps[1], "Check the cables of nyc.") is True
    # with a terminal it is asked as before; in a dry run the engine plans it
    for d in (TerminalDecider(interactive=True, out=io.StringIO()),
              TerminalDecider(interactive=False, out=io.StringIO())):
        d.runbook, d.dry_run = rb, not d.interactive
        assert (await d.before_step(rb.steps[1], 1)).action is StepAction.RUN


async def test_a_manual_step_before_a_destructive_one_stops_unless_answered_by_its_id() -> None:
    from pverunbook.engine.decisions import StepAction

    rb = load_text(GATED)
    out = io.StringIO()
    d = TerminalDecider(confirm_text=["nyc", "COMMIT"], interactive=False, out=out)
    d.runbook = rb
    assert (await d.before_step(rb.steps[1], 1)).action is StepAction.RUN
    assert await d.manual_done(rb.steps[1], "Check the cables.") is False  # not by "nyc"
    said = out.getvalue()
    assert "before the destructive step(s) cut" in said and "--confirm cables" in said
    d = TerminalDecider(confirm_text=["nyc", "cables"], interactive=False, out=io.StringIO())
    d.runbook = rb
    assert await d.manual_done(rb.steps[1], "Check the cables.") is True


def test_the_summary_lists_what_was_left_for_the_operator() -> None:
    out = io.StringIO()
    p = EventPrinter(out, runbook=load_text(ADVISORY))
    p(ev.RunStarted(run_id="r", runbook_id="x", runbook_title="X", runbook_path="", mode="local",
                    cluster="nyc", nodes=("pve001",), params={}))
    p(ev.StepSkipped(step_id="cables", reason="left for the operator: Check the cables.",
                     by_operator=True))
    p(ev.RunFinished(status="ok"))
    summary = out.getvalue().split("== summary")[1]
    assert ("left for the operator: step cables (Check the cables) (manual; not confirmed as "
            "done)") in summary


def test_needs_person_is_only_for_manual_steps_and_marks_the_shipped_attestations() -> None:
    import pytest

    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import RunbookError, load_file

    with pytest.raises(RunbookError) as err:
        load_text('id = "x"\ntitle = "X"\n[[steps]]\nid = "a"\ntitle = "A"\n'
                  'commands = ["true"]\nneeds_person = true\n')
    assert "'needs_person' is for manual steps" in str(err.value)
    tuning = load_file(builtin_dir() / "corosync-tuning.toml")
    assert {s.id for s in tuning.steps if s.needs_person} == {"others-down", "catch-up-stopped"}


async def test_a_confirmation_not_given_says_which_confirm_would_answer_it() -> None:
    out = io.StringIO()
    d = TerminalDecider(confirm_text="ryanrishi", interactive=False, out=out)
    commit = ConfirmRequest(step=STEP, what="commit", prompt="Type COMMIT", expected="COMMIT",
                            nodes=("ryanrishi",))
    answer = await d.confirm(commit)
    # refused, typing nothing: 'ryanrishi' answered another question, not this one
    assert isinstance(answer, Refusal) and answer == "" and not answer.now
    assert answer.reason == "no --confirm COMMIT was given"
    said = out.getvalue()
    assert "answered by --confirm" not in said
    assert "no --confirm COMMIT was given" in said and "add --confirm COMMIT" in said
    assert "rolled back when its timer fires" in said
    nothing = TerminalDecider(confirm_text=None, interactive=False, out=io.StringIO())
    assert isinstance(await nothing.confirm(commit), Refusal)


async def test_an_unanswered_confirmation_without_a_terminal_names_the_flag() -> None:
    out = io.StringIO()
    d = TerminalDecider(confirm_text=None, interactive=False, out=out)
    assert await d.confirm(request("ryanrishi")) is None
    assert "add --confirm ryanrishi" in out.getvalue()


def test_a_headless_run_lists_every_confirm_it_may_ask_for_up_front() -> None:
    from pverunbook.inventory import Cluster, Node
    from pverunbook.runbook.catalog import builtin_dir
    from pverunbook.runbook.loader import load_file

    cluster = Cluster("nyc", (Node("ryanrishi", "localhost"), Node("pve001", "localhost"),
                              Node("pve002", "localhost")))
    out = io.StringIO()
    d = TerminalDecider(confirm_text=None, interactive=False, out=out)
    d.runbook = load_file(builtin_dir() / "route-fix.toml")
    d.announce(cluster, {"route_node": "ryanrishi"})
    said = out.getvalue()
    assert "--confirm ryanrishi (step delete)" in said
    assert "--confirm COMMIT (step delete)" in said
    out = io.StringIO()
    d = TerminalDecider(confirm_text=["nyc"], interactive=False, out=out)
    d.runbook = load_file(builtin_dir() / "vm-config-recovery.toml")
    d.announce(cluster, {})
    said = out.getvalue()
    assert "--confirm checkpoints (step checkpoints)" in said
    assert "--confirm review (step review)" in said
    assert "--confirm nyc" not in said  # given already
    out = io.StringIO()
    d = TerminalDecider(confirm_text=None, interactive=True, out=out)
    d.runbook = load_file(builtin_dir() / "route-fix.toml")
    d.announce(cluster, {"route_node": "ryanrishi"})
    assert out.getvalue() == ""  # a terminal asks as the run goes


async def test_another_confirmations_answer_is_never_typed_for_this_one() -> None:
    """``--confirm pve001`` answers the question that expects pve001, and nothing else: a
    question expecting ryanrishi is refused with nothing typed (the journal said
    "typed 'pve001'" for an answer the operator never gave to it)."""
    out = io.StringIO()
    d = TerminalDecider(confirm_text="pve001", interactive=False, out=out)
    answer = await d.confirm(request("ryanrishi"))
    assert isinstance(answer, Refusal) and answer == ""
    assert answer.reason == "no --confirm ryanrishi was given"
    said = out.getvalue()
    assert "answered by --confirm" not in said and "add --confirm ryanrishi" in said
    assert await d.confirm(request("pve001")) == "pve001"


async def test_at_a_terminal_a_question_no_confirm_answers_is_asked_there() -> None:
    """``--confirm nyc`` at a terminal answers the node-name question; COMMIT, which no flag
    answers, is asked on the terminal — not refused unasked (a run driven on a terminal with
    ``--confirm nyc`` had its COMMIT refused and waited for the rollback timers)."""
    asked: list[str] = []

    class Typist(TerminalDecider):
        async def _ask(self, prompt: str) -> str | None:
            asked.append(prompt)
            return "COMMIT"

    d = Typist(confirm_text="nyc", interactive=True, out=io.StringIO())
    commit = ConfirmRequest(step=STEP, what="commit", prompt="Type COMMIT", expected="COMMIT",
                            nodes=("ryanrishi",))
    assert await d.confirm(commit) == "COMMIT"
    assert asked == ["   type 'COMMIT' to go ahead: "]
    assert await d.confirm(request("nyc")) == "nyc" and len(asked) == 1
