"""A change whose COMMIT was not typed is NOT kept: the TUI summary, the headless summary and
the report say so at the top (step, nodes, checkpoint), never "every step succeeded"."""

from __future__ import annotations

import io

from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter
from pverunbook.report import render_report
from pverunbook.run_diagnosis import no_fault_text
from pverunbook.runbook.loader import load_text
from pverunbook.ui.model import RunState
from pverunbook.ui.screens.summary import render_summary
from tests.ui.conftest import RUNBOOK

NODES = ("ryanrishi", "pve001")
SAID = ("The change of step “Raise the totem token timeout” (tune) was NOT kept (COMMIT "
        "was not typed): the rollback timers on ryanrishi, pve001 restore checkpoint cp-1 by "
        "themselves.")


def refused_run(*, fired: bool = False, accepted: bool = False, reason: str = "",
                status: str = "ok") -> list[ev.Event]:
    """The engine's events of a ``commit_within`` step whose checks passed (engine/rollback.py
    ``_ask_commit``) and whose COMMIT was refused (Escape) — or typed, with ``accepted``."""
    out: list[ev.Event] = [
        ev.RunStarted(run_id="r", runbook_id="ui-test", runbook_title="UI test",
                      runbook_path="", mode="rehearsal", cluster="nyc", nodes=NODES,
                      params={}),
        ev.StepStarted(step_id="tune", title="Raise the totem token timeout", index=2,
                       nodes=NODES, destructive=True),
        ev.CheckpointTaken(step_id="tune", checkpoint_id="cp-1", ok=True, path="/x"),
        ev.ConfirmationGiven(step_id="tune", what="destructive", accepted=True, typed="nyc",
                             operator="op"),
        *(ev.RollbackTimer(step_id="tune", node=n, state="armed", checkpoint_id="cp-1",
                           seconds=120) for n in NODES),
        ev.StepFinished(step_id="tune", status="ok"),
        ev.ConfirmationRequested(step_id="tune", what="commit", prompt="Type COMMIT",
                                 expected="COMMIT", nodes=NODES, checkpoint_id="cp-1"),
        ev.ConfirmationGiven(step_id="tune", what="commit", accepted=accepted,
                             typed="COMMIT" if accepted else "", operator="op",
                             reason=reason),
    ]
    if accepted:
        out += [ev.RollbackTimer(step_id="tune", node=n, state="committed") for n in NODES]
    if fired:
        out += [ev.RollbackTimer(step_id="tune", node=n, state="fired", checkpoint_id="cp-1")
                for n in NODES]
    return [*out, ev.RunFinished(status=status, duration=30)]


def tui_summary(events: list[ev.Event]) -> str:
    st = RunState(load_text(RUNBOOK))
    for e in events:
        st.apply(e)
    return render_summary(st.summary(), None).plain


def test_tui_summary_says_the_change_was_not_kept_first() -> None:
    text = tui_summary(refused_run())
    assert "every step succeeded" not in text
    head = text.splitlines()[:3]
    assert head[0] == "⚠ Finished, but a change was NOT kept", head
    assert head[1] == f"✘ {SAID}", head
    assert "  • Raise the totem token timeout — ran, NOT kept (the nodes roll it back)\n" in text
    restored = tui_summary(refused_run(fired=True))
    assert ("the rollback timers on ryanrishi, pve001 restored checkpoint cp-1."
            in restored.splitlines()[1])
    kept = tui_summary(refused_run(accepted=True))
    assert kept.startswith("✔ Finished: every step succeeded") and "NOT kept" not in kept


def test_headless_summary_and_report_say_it_too() -> None:
    events = refused_run()
    out = io.StringIO()
    p = EventPrinter(out, runbook=load_text(RUNBOOK))
    for e in events:
        p(e)
    text = out.getvalue()
    assert f"== summary\n   NOT KEPT: {SAID}\n" in text, text
    assert "== run ok — a change was NOT kept" in text
    assert "NOT kept" in no_fault_text(events, load_text(RUNBOOK))
    report = render_report(events)
    assert f"**{SAID}**" in report.split("## Diagnosis")[0], report
    kept = refused_run(accepted=True)
    assert "NOT kept" not in render_report(kept)
    assert no_fault_text(kept, load_text(RUNBOOK)) == "No fault found in the collected evidence."


def test_a_refusal_and_a_timeout_read_differently() -> None:
    """"Roll back now" (or headless without --confirm COMMIT) is a refusal, journaled with its
    reason; only the countdown running out is "not typed in time" (engine/rollback.py)."""
    from pverunbook.engine.decisions import NO_ANSWER, ROLLED_BACK
    from pverunbook.run_diagnosis import not_kept_by_step

    said = {r: not_kept_by_step(refused_run(reason=r))["tune"]
            for r in (ROLLED_BACK, NO_ANSWER, "no --confirm COMMIT was given")}
    assert "NOT kept (COMMIT was refused: rolled back by the operator)" in said[ROLLED_BACK]
    assert "NOT kept (COMMIT was not typed in time)" in said[NO_ANSWER]
    assert "(COMMIT was refused: no --confirm COMMIT was given)" in said[
        "no --confirm COMMIT was given"]
    assert "refused (rolled back by the operator)" in render_report(refused_run(
        reason=ROLLED_BACK))


def test_a_run_stopped_by_a_refused_commit_does_not_say_a_step_failed() -> None:
    """The engine ends such a run "failed" (after_step): the summary's head says why, not
    "a step failed" above "0 failed"."""
    from pverunbook.engine.decisions import ROLLED_BACK

    text = tui_summary(refused_run(reason=ROLLED_BACK, status="failed"))
    head = text.splitlines()[:2]
    assert head[0] == "✘ Stopped: a change was NOT kept (no step failed)", head
    assert "COMMIT was refused: rolled back by the operator" in head[1], head


def test_a_stale_timer_is_not_said_to_restore_by_itself_and_the_way_out_is_named() -> None:
    """Resumed after the app was killed: the timer on ryanrishi was found armed with its
    process gone (``unknown``). It restores nothing by itself; the health check names it and
    proposes rollback-settle."""
    from pverunbook.run_diagnosis import not_kept_by_step

    events = refused_run()
    events.insert(-1, ev.RollbackTimer(step_id="tune", node="ryanrishi", state="unknown",
                                       message="timer state 'armed', running=0"))
    said = not_kept_by_step(events)["tune"]
    assert "the rollback timers on pve001 restore checkpoint cp-1 by themselves" in said, said
    assert "ryanrishi, pve001 restore" not in said, said
    assert "the rollback on ryanrishi needs a hand: run the cluster health check" in said
    assert "rollback-settle" in said, said

    events.insert(-1, ev.RollbackTimer(step_id="tune", node="pve001", state="unknown"))
    said = not_kept_by_step(events)["tune"]
    assert "by themselves" not in said, said
    assert "checkpoint cp-1 is neither kept nor restored" in said, said
    assert "the rollback on ryanrishi, pve001 needs a hand" in said, said
