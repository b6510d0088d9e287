"""Resume info from hand-built journals (including a torn last line), and the engine honouring
it: a step whose outcome is unknown is only re-run on the operator's word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import FailureChoice, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.resume import ResumeError, load_resume, missing_secrets
from pverunbook.inventory import local_cluster
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

RUNBOOK = """
id = "three"
title = "Three steps"

[[params]]
name = "password"
secret = true

[[params]]
name = "vmid"
type = "int"

[[steps]]
id = "a"
title = "A"
commands = ["echo a >> {{marker}}"]

[[steps]]
id = "b"
title = "B"
commands = ["echo b >> {{marker}}"]

[[steps]]
id = "c"
title = "C"
commands = ["echo c >> {{marker}}"]

[[params]]
name = "marker"
"""


def started(**kw: object) -> ev.RunStarted:
    base: dict[str, object] = dict(run_id="r1", runbook_id="three", runbook_title="Three steps",
                                   runbook_path="/rb/three.toml", mode="local", cluster="local",
                                   nodes=("n1",), params={"password": "[REDACTED]", "vmid": 108})
    base.update(kw)
    return ev.RunStarted(**base)  # type: ignore[arg-type]


def step(sid: str, index: int, status: str | None = "ok", command: bool = True) -> list[ev.Event]:
    out: list[ev.Event] = [ev.StepStarted(step_id=sid, title=sid.upper(), index=index,
                                          nodes=("n1",))]
    if command:
        out.append(ev.CommandStarted(step_id=sid, node="n1", command=f"echo {sid}", index=0,
                                     timeout=30))
        out.append(ev.CommandFinished(step_id=sid, node="n1", command=f"echo {sid}", index=0,
                                      exit_status=0 if status == "ok" else 1, duration=0.1))
    if status is not None:
        out.append(ev.StepFinished(step_id=sid, status=status))
    return out


def write(path: Path, events: list[ev.Event], torn: str = "") -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e.to_dict()) + "\n")
        fh.write(torn)
    return path


def test_after_clean_steps_resume_at_the_next(tmp_path: Path) -> None:
    j = write(tmp_path / "j.jsonl", [started(), *step("a", 0), *step("b", 1)])
    rs, info = load_resume(j)
    assert rs.run_id == "r1" and rs.runbook_path == "/rb/three.toml"
    assert (info.start_index, info.unknown_step) == (2, False)
    assert info.statuses == {"a": "ok", "b": "ok"}


def test_running_step_is_unknown(tmp_path: Path) -> None:
    events = [started(), *step("a", 0), *step("b", 1, status=None)][:-1]  # no CommandFinished
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step) == (1, True)
    assert info.statuses == {"a": "ok", "b": "unknown"}


def test_started_without_commands_is_still_unknown(tmp_path: Path) -> None:
    # A manual step has no commands; its work may have been done by hand.
    events = [started(), *step("a", 0), *step("b", 1, status=None, command=False)]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step) == (1, True)


def test_torn_last_line_is_tolerated(tmp_path: Path) -> None:
    finish_b = json.dumps(ev.StepFinished(step_id="b", status="ok").to_dict())
    events = [started(), *step("a", 0), *step("b", 1, status=None)]
    j = write(tmp_path / "j.jsonl", events, torn=finish_b[: len(finish_b) // 2])
    _, info = load_resume(j)
    # The finish of b never fully reached the disk: b's outcome is unknown.
    assert (info.start_index, info.unknown_step) == (1, True)


def test_failed_step_resumes_at_it(tmp_path: Path) -> None:
    _, info = load_resume(write(tmp_path / "j.jsonl",
                                [started(), *step("a", 0), *step("b", 1, status="failed")]))
    assert (info.start_index, info.unknown_step) == (1, False)
    assert info.statuses["b"] == "failed"


def test_command_after_finish_is_unknown(tmp_path: Path) -> None:
    events = [started(), *step("a", 0),
              ev.CommandStarted(step_id="a", node="n1", command="again", index=0, timeout=5)]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step) == (0, True)


def test_skipped_steps(tmp_path: Path) -> None:
    rb = load_text(RUNBOOK)
    events = [started(), *step("a", 0), ev.StepSkipped(step_id="b", reason="condition false")]
    j = write(tmp_path / "j.jsonl", events)
    assert load_resume(j)[1].start_index == 2
    assert load_resume(j, rb)[1].start_index == 2
    assert load_resume(j)[1].statuses["b"] == "skipped"


def test_resumed_journal_continues_from_the_latest_state(tmp_path: Path) -> None:
    events = [started(), *step("a", 0), *step("b", 1, status=None)][:-1]
    events += [started(resumed=True),
               ev.ConfirmationGiven(step_id="b", what="unknown outcome", accepted=False,
                                    typed="skip"),
               ev.StepSkipped(step_id="b", reason="outcome unknown", by_operator=True),
               *step("c", 2)]
    rs, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert not rs.resumed  # the original start: its params and path are the run's
    assert (info.start_index, info.unknown_step) == (3, False)
    assert info.statuses == {"a": "ok", "b": "skipped", "c": "ok"}


def test_params_merge_and_missing_secrets(tmp_path: Path) -> None:
    events = [started(), ev.ParamsSet(step_id="ask", values={"vmid": 109, "note": "x"})]
    rs, _ = load_resume(write(tmp_path / "j.jsonl", events))
    assert rs.params == {"password": "[REDACTED]", "vmid": 109, "note": "x"}
    assert missing_secrets(load_text(RUNBOOK), rs) == ["password"]


def test_not_a_journal(tmp_path: Path) -> None:
    j = write(tmp_path / "j.jsonl", [], torn='{"kind": "run_sta')
    with pytest.raises(ResumeError, match="no run_started"):
        load_resume(j)


async def test_engine_never_reruns_an_unknown_step_silently(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.write_text("a\nb\n")  # a ran; b ran (or half ran) before the crash
    events = [started(), *step("a", 0), *step("b", 1, status=None)][:-1]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    rb = load_text(RUNBOOK)
    params = {"password": "pw", "vmid": 1, "marker": str(marker)}

    for choice, expect in ((FailureChoice.ABORT, "a\nb\n"), (FailureChoice.SKIP, "a\nb\nc\n"),
                           (FailureChoice.RERUN, "a\nb\nc\nb\nc\n")):
        decider = ScriptedDecider(unknown=choice)
        engine = Engine(rb, local_cluster(), LocalTransport(), decider, params=params,
                        run_id="r1", resume=info)
        seen: list[ev.Event] = []
        engine.subscribe(seen.append)
        await engine.run()
        assert decider.asked[0] == "unknown:b"
        assert marker.read_text() == expect  # noqa: ASYNC240 - tiny temp file
        assert not any(isinstance(e, ev.StepStarted) and e.step_id == "a" for e in seen)
        (answer,) = [e for e in seen if isinstance(e, ev.ConfirmationGiven)]
        assert answer.what == "unknown outcome" and answer.accepted is (
            choice is FailureChoice.RERUN)


def _asked(sid: str, index: int, what: str = "destructive") -> list[ev.Event]:
    return [ev.StepStarted(step_id=sid, title=sid.upper(), index=index, nodes=("n1",)),
            ev.ConfirmationRequested(step_id=sid, what=what, prompt="go?", expected="local",
                                     nodes=("n1",))]


def test_killed_at_its_confirmation_ran_nothing_and_asks_again(tmp_path: Path) -> None:
    """kill -9 while the typed confirmation was open: no command was journaled (commands are
    journaled durably before they start), so the outcome is known — nothing ran."""
    events = [started(), *step("a", 0), *_asked("b", 1)]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step, info.asked_again) == (1, False, "b")
    assert "b" not in info.statuses


@pytest.mark.parametrize("after", ["command", "rollback"])
def test_confirmed_and_started_is_still_unknown(tmp_path: Path, after: str) -> None:
    touched: ev.Event = (
        ev.CommandStarted(step_id="b", node="n1", command="echo b", index=0, timeout=30)
        if after == "command" else
        ev.RollbackTimer(step_id="b", node="n1", state="armed"))
    events = [started(), *step("a", 0), *_asked("b", 1),
              ev.ConfirmationGiven(step_id="b", what="destructive", accepted=True), touched]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step, info.asked_again) == (1, True, "")


def test_manual_step_waiting_for_done_is_still_unknown(tmp_path: Path) -> None:
    events = [started(), *step("a", 0), *_asked("b", 1, what="manual")]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    assert (info.start_index, info.unknown_step) == (1, True)


async def test_engine_resumed_at_a_confirmation_asks_again_and_runs_once(tmp_path: Path) -> None:
    rb = load_text(RUNBOOK.replace('id = "b"\ntitle = "B"\n',
                                   'id = "b"\ntitle = "B"\nconfirm = "yes"\n'))
    marker = tmp_path / "marker"
    marker.write_text("a\n")  # a ran; the run died while b's question was open
    params = {"password": "pw", "vmid": 1, "marker": str(marker)}
    j = write(tmp_path / "j.jsonl", [started(), *step("a", 0), *_asked("b", 1, what="confirm")])
    _, info = load_resume(j)
    assert info.asked_again == "b"
    decider = ScriptedDecider(confirm_text="yes")
    engine = Engine(rb, local_cluster(), LocalTransport(), decider, params=params, run_id="r1",
                    resume=info)
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    await engine.run()
    # Asked again (never the "outcome unknown" question), and b and c ran once each.
    assert decider.asked[0] == "confirm:b" and not any(a.startswith("unknown") for a in
                                                        decider.asked)
    assert marker.read_text() == "a\nb\nc\n"  # noqa: ASYNC240 - tiny temp file
    assert any(isinstance(e, ev.Note) and "waiting for its confirmation" in e.text for e in seen)


@pytest.mark.parametrize("status", ["ok", "completed_with_failures", "interrupted"])
def test_resume_of_a_run_that_finished_names_its_report(
        status: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``run --resume ID`` of a rehearsal that ran to its end said "the rehearsal cluster … was
    not kept"; it says the run already finished and how to read its report. A run that was
    interrupted (also after an earlier end: resumed, then stopped) is still resumed."""
    from pverunbook.cli import main

    state = tmp_path / "st"
    (state / "runs").mkdir(parents=True)
    events: list[ev.Event] = [
        started(run_id="r-done", mode="rehearsal"), *step("a", 0),
        ev.RunFinished(status="ok"),
        started(run_id="r-done", mode="rehearsal", resumed=True), ev.RunFinished(status=status)]
    write(state / "runs" / "r-done.jsonl", events)
    code = main(["run", "--resume", "r-done", "--headless", "--state-dir", str(state)])
    e = capsys.readouterr().err
    if status == "interrupted":
        assert "already finished" not in e
        return
    assert code == 2
    assert (f"pverunbook: run --resume: run r-done already finished (status {status}); its "
            f"report: pverunbook report r-done --state-dir {state}") in e
    assert "was not kept" not in e
    path = state / "runs" / "r-done.jsonl"  # named by its path: the report is found by it
    assert main(["run", "--resume", str(path), "--headless"]) == 2
    assert f"its report: pverunbook report {path}" in capsys.readouterr().err


def test_a_step_cancelled_while_it_ran_says_so() -> None:
    """Ctrl+C (or SIGTERM) while a step ran: the journal ends the run ("run cancelled") with
    the step open. Its outcome is still unknown (its commands were stopped part-way), but the
    question says the run was stopped, not that nobody knows how it ended."""
    import tempfile

    from pverunbook.engine.outcomes import unknown_why

    with tempfile.TemporaryDirectory() as tmp:
        events = [started(), *step("a", 0), *step("b", 1, status=None)][:-1]
        cancelled = [*events, ev.RunFinished(status="interrupted", message="run cancelled")]
        _, info = load_resume(write(Path(tmp) / "c.jsonl", cancelled))
        assert (info.start_index, info.unknown_step, info.stopped) == (1, True, "run cancelled")
        assert "stopped while it ran (run cancelled" in unknown_why(info.stopped)
        _, killed = load_resume(write(Path(tmp) / "k.jsonl", events))
        assert (killed.unknown_step, killed.stopped) == (True, "")
        assert "pverunbook stopped while it ran" in unknown_why(killed.stopped)
        # a run that ended between steps has nothing open: its end says nothing of a step
        between = [started(), *step("a", 0),
                   ev.RunFinished(status="interrupted", message="run cancelled")]
        _, info = load_resume(write(Path(tmp) / "b.jsonl", between))
        assert (info.unknown_step, info.stopped) == (False, "")


async def test_the_question_names_how_the_run_stopped(tmp_path: Path) -> None:
    """The terminal's question carries the reason the engine hands it."""
    import io

    from pverunbook.terminal_decider import TerminalDecider

    rb = load_text(RUNBOOK)
    out = io.StringIO()
    decider = TerminalDecider(interactive=False, out=out)
    assert await decider.unknown_outcome(rb.steps[1], "the run was stopped while it ran") is \
        FailureChoice.ABORT
    assert "'b' has no known outcome: the run was stopped while it ran." in out.getvalue()


async def test_headless_resume_reruns_a_read_only_check_and_says_how_to_answer_the_rest(
        tmp_path: Path) -> None:
    """Ctrl+C during a read-only check, then `run --resume RUN` without a terminal: the check
    changed nothing, so it runs again (it used to stop with "no terminal to ask" and no way on
    headless); a step that may have changed something still stops, and says where to answer."""
    import io

    from pverunbook.terminal_decider import TerminalDecider

    rb = load_text(RUNBOOK.replace('id = "b"\n', 'id = "b"\nkind = "check"\n'))
    out = io.StringIO()
    decider = TerminalDecider(interactive=False, out=out)
    assert await decider.unknown_outcome(rb.steps[1], "only reads") is FailureChoice.RERUN
    assert "it only reads, so it runs again" in out.getvalue()
    assert await decider.unknown_outcome(rb.steps[0], "changed?") is FailureChoice.ABORT
    assert "resume it at a terminal" in out.getvalue()


def test_a_resume_that_stopped_at_the_question_keeps_what_stopped_the_step(
        tmp_path: Path) -> None:
    """A headless resume that stops at the unknown-outcome question ends the run again
    ("stopped at 'b' ..."); the next resume said the step was stopped by that, as if by Ctrl+C
    ("the run was stopped while it ran (stopped at 'b' (outcome of the last run unknown): Ctrl+C,
    SIGTERM or cancel)"). What stopped the step is the first session's end, or none (killed)."""
    from pverunbook.engine.outcomes import unknown_why

    events = [started(), *step("a", 0), *step("b", 1, status=None)][:-1]
    again = [ev.ConfirmationGiven(step_id="b", what="unknown outcome", accepted=False,
                                  typed="abort", operator="op", reason="r"),
             ev.RunFinished(status="aborted",
                            message="stopped at 'b' (outcome of the last run unknown)")]
    cancelled = [*events, ev.RunFinished(status="interrupted", message="run cancelled"), *again]
    _, info = load_resume(write(tmp_path / "c.jsonl", cancelled))
    assert (info.unknown_step, info.stopped) == (True, "run cancelled")
    _, killed = load_resume(write(tmp_path / "k.jsonl", [*events, *again]))
    assert (killed.unknown_step, killed.stopped) == (True, "")
    assert "pverunbook stopped while it ran" in unknown_why(killed.stopped)
