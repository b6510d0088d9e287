"""The run screen's status while the nodes restore an uncommitted change (ui/rollback_wait):
what it says before and after the deadline, after "Roll back now", and when the run waits for
the timers with no question asked (a commit check failed: engine/rollback.py ``at_end``)."""

from __future__ import annotations

from pverunbook.engine import events as ev
from pverunbook.engine.rollback import AT_END_WAIT
from pverunbook.ui.rollback_wait import ArmedTimers, RollbackWait

NODES = ("ryanrishi", "pve001")


def test_the_wait_counts_down_then_says_the_timers_fired() -> None:
    w = RollbackWait("tune", "cp-1", NODES, deadline=1000.0, now=False)
    assert w.text(at=900.0) == ("Not committed: ryanrishi, pve001 restore checkpoint cp-1 in "
                                "1:40 (their timers; nothing to type)")
    assert "the timers fired; ryanrishi, pve001 restore checkpoint cp-1" in w.text(at=1001.0)
    assert not w.saw(ev.RollbackTimer(step_id="tune", node="pve001", state="fired"))
    assert "fired; ryanrishi restore" in w.text(at=1001.0)
    assert w.saw(ev.RollbackTimer(step_id="tune", node="ryanrishi", state="unknown"))
    now = RollbackWait("tune", "cp-1", NODES, deadline=1000.0, now=True)
    assert now.text(at=900.0).startswith("Rolling back (your choice): ryanrishi, pve001 "
                                         "restore checkpoint cp-1 now")


def test_a_wait_without_a_question_is_shown_too() -> None:
    timers = ArmedTimers()
    for n in NODES:
        assert timers.saw(ev.RollbackTimer(step_id="tune", node=n, state="armed",
                                           checkpoint_id="cp-1", seconds=120), at=100.0) is None
    # another step's note, or one that is not the wait, starts nothing
    assert timers.saw(ev.Note(step_id="check", text=f"'check' {AT_END_WAIT} 9 s")) is None
    assert timers.saw(ev.Note(step_id="tune", text="something else")) is None
    wait = timers.saw(ev.Note(step_id="tune", level="warning", text=(
        f"'tune' {AT_END_WAIT} 80 s for the rollback timers on ryanrishi, pve001")))
    assert wait is not None and wait.nodes == NODES and wait.deadline == 220.0
    assert wait.checkpoint_id == "cp-1" and not wait.now
    # a committed change is not waited for
    timers.saw(ev.RollbackTimer(step_id="tune", node="ryanrishi", state="committed"))
    assert timers.saw(ev.Note(step_id="tune", text=f"'tune' {AT_END_WAIT} 1 s")) is None


def test_a_long_restore_says_what_it_waits_for() -> None:
    """"Roll back now" on corosync-tuning restored the local corosync.conf at once, then waited
    5 min for /etc/pve while the status line said only "waiting for them to report". The
    node's restore log is relayed as it goes, and the line says the last thing each said."""
    from pverunbook.engine.rollback import progress_note

    line = ("2026-12-07T03:10:29Z pve001 pverunbook-rollback[42363] 2026-apply-2-pve001: "
            "/etc/pve/corosync.conf is not writable yet (pmxcfs accepts writes only with "
            "quorum): retrying every 5 s for up to 300 s")
    note = progress_note("pve001", line)
    assert note == ("pve001: rollback: /etc/pve/corosync.conf is not writable yet (pmxcfs "
                    "accepts writes only with quorum): retrying every 5 s for up to 300 s")
    w = RollbackWait("tune", "cp-1", NODES, deadline=1000.0, now=True)
    assert not w.saw(ev.Note(step_id="tune", text=note))
    assert not w.saw(ev.Note(step_id="other", text="ryanrishi: rollback: elsewhere"))
    text = w.text(at=900.0)
    assert "waiting for them to report (pve001: /etc/pve/corosync.conf is not writable yet" \
        in text and "elsewhere" not in text
    w.saw(ev.RollbackTimer(step_id="tune", node="pve001", state="fired"))
    assert "not writable" not in w.text(at=900.0)  # pve001 reported: only who still waits


def test_a_disarmed_timer_is_not_waited_for() -> None:
    """A failed step whose change reached no file on ryanrishi: its timer there is stopped
    ('disarmed') while pve001's, where the change landed, still runs. The end-of-run wait
    names pve001 alone and ends when pve001 reports; it waited for ryanrishi forever."""
    timers = ArmedTimers()
    for n in NODES:
        timers.saw(ev.RollbackTimer(step_id="tune", node=n, state="armed",
                                    checkpoint_id="cp-1", seconds=120), at=100.0)
    timers.saw(ev.RollbackTimer(step_id="tune", node="ryanrishi", state="disarmed"))
    wait = timers.saw(ev.Note(step_id="tune", text=f"'tune' {AT_END_WAIT} 80 s"))
    assert wait is not None and wait.nodes == ("pve001",)
    assert wait.saw(ev.RollbackTimer(step_id="tune", node="pve001", state="fired"))
    # every node disarmed: nothing to wait for
    timers.saw(ev.RollbackTimer(step_id="tune", node="pve001", state="disarmed"))
    assert timers.saw(ev.Note(step_id="tune", text=f"'tune' {AT_END_WAIT} 1 s")) is None
    # a wait already shown counts a disarmed node as reported
    w = RollbackWait("tune", "cp-1", NODES, deadline=1000.0, now=False)
    assert not w.saw(ev.RollbackTimer(step_id="tune", node="ryanrishi", state="disarmed"))
    assert w.saw(ev.RollbackTimer(step_id="tune", node="pve001", state="failed"))
