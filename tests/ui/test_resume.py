"""Resuming an interrupted run from the TUI: listed on the start screen, done steps stay done,
the step that was running when the run died is the operator's call (re-run or skip)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import GUARD_OVERRIDE_PHRASE, StepAction, StepDecision
from pverunbook.engine.journal import read_journal, runs_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import Step
from pverunbook.session import Mode
from pverunbook.stopped_runs import interrupted_runs
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.guard_modal import GuardOverrideModal
from pverunbook.ui.screens.modals import ChoiceModal, ErrorModal
from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import CLUSTER, ScriptTransport, form_ready, make_session, start_ready, until

Build = Callable[..., RunbookApp]
SIZE = (140, 40)
RUN_ID = "20250301-031500-abc123"
SECRET = "typed-again-secret"


class _TwoSteps:
    """Runs the first two steps, then stops before the destructive one."""

    async def before_step(self, step: Step, index: int) -> StepDecision:
        if index >= 2:
            return StepDecision(StepAction.ABORT, reason="test stops here")
        return StepDecision()


async def _interrupted_journal(runbook_dir: Path, *, mode: Mode = Mode.REHEARSAL,
                               pin_times: bool = False, cut: str = "command_started") -> Path:
    """A real engine run of ui-test, cut as if the process died while step 2 ("config") was
    running: its commands had started, nothing after them reached the journal (``cut``:
    nothing after its last record of that kind)."""
    rb = load_file(runbook_dir / "ui-test.toml")
    session = make_session(ScriptTransport(), mode)
    path = runs_dir() / f"{RUN_ID}.jsonl"
    engine = session.engine(rb, _TwoSteps(), {"token": 5000, "api_secret": "s3cr3t-value"},  # type: ignore[arg-type]
                            run_id=RUN_ID, journal_path=path, operator="operator")
    await engine.run()
    await session.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    steps = [json.loads(line).get("step_id") for line in lines]
    last_cmd = max(i for i, (k, s) in enumerate(zip(kinds, steps, strict=True))
                   if k == cut and s == "config")
    kept = lines[: last_cmd + 1]
    if pin_times:  # for the snapshot: a fixed "when"
        base = 1740798900.0  # 2025-03-01 03:15 UTC
        kept = [json.dumps({**json.loads(line), "ts": base + i}) for i, line in enumerate(kept)]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC, so the "when" column of the snapshot is the same everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def run_screen(app: RunbookApp) -> RunScreen:
    for s in app.screen_stack:
        if isinstance(s, RunScreen):
            return s
    raise AssertionError("no run screen")


async def _resume_to_unknown_modal(pilot: Pilot, app: RunbookApp) -> RunScreen:
    """From the start screen: see the run listed, resume it, give the secret again."""
    # The interrupted runs are read with the runbooks, right after the first frame.
    await until(pilot, lambda: isinstance(app.screen, StartScreen)
                and not app.screen.finding, "start screen with its runs")
    start = app.screen
    assert isinstance(start, StartScreen)
    assert [r.run_id for r in start.runs] == [RUN_ID]
    assert start.query_one("#resume-box").display
    # the box is mounted with the runbooks and fills its list once mounted: wait for it
    await until(pilot, lambda: start.query_one("#resume-list", OptionList).option_count == 1,
                "the interrupted run listed")
    assert [name for name, _, _ in app.palette_commands()
            if name.startswith("Resume run")] == [
        f"Resume run {RUN_ID}: UI test: triage the corosync link, then tune"]
    await pilot.press("r")
    await until(pilot, lambda: form_ready(app), "secret form")
    params = app.screen
    assert isinstance(params, ParamsScreen)
    # Only the secret is asked; it is required even though the runbook has a default.
    inputs = list(params.query(Input))
    assert [i.id for i in inputs] == ["param-api_secret"]
    assert inputs[0].value == ""
    await pilot.press("ctrl+s")
    assert isinstance(app.screen, ParamsScreen)
    inputs[0].value = SECRET
    await pilot.pause()
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "unknown-outcome modal")
    screen = run_screen(app)
    assert "Outcome unknown" in app.screen.title_text  # type: ignore[attr-defined]
    # The step list shows the earlier run: ping done, config unknown, tune not reached.
    assert [sv.state for sv in screen.state.steps] == ["ok", "unknown", "pending"]
    assert screen.engine is not None and screen.engine.run_id == RUN_ID
    assert screen.engine.params["api_secret"] == SECRET
    assert screen.engine.params["token"] == 5000
    return screen


async def test_resume_skip_unknown_step(build_app: Build, runbook_dir: Path) -> None:
    path = await _interrupted_journal(runbook_dir)
    before = len(read_journal(path))
    transport = ScriptTransport()
    app = build_app(transport)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _resume_to_unknown_modal(pilot, app)
        await pilot.press("s")
        # config guards the destructive tune: its override (phrase + reason), not one key
        await until(pilot, lambda: isinstance(app.screen, GuardOverrideModal), "override")
        app.screen.query_one("#guard-phrase", Input).value = GUARD_OVERRIDE_PHRASE
        app.screen.query_one("#guard-reason", Input).focus()
        await pilot.press(*"checked on both nodes", "enter")
        await until(pilot, lambda: screen.decider.is_waiting
                    and screen.state.waiting_index == 2, "the engine to wait before tune")
        assert [sv.state for sv in screen.state.steps] == ["ok", "skipped", "pending"]
        assert "checked on both nodes" in screen.state.step("config").skip_reason
        # Nothing ran: not the done step, not the skipped one.
        assert transport.ran == []
        await pilot.press("q", "y")
    events = read_journal(path)
    new = events[before:]
    started = [e for e in new if isinstance(e, ev.RunStarted)]
    assert [(s.run_id, s.resumed) for s in started] == [(RUN_ID, True)]
    given = [e for e in new if isinstance(e, ev.ConfirmationGiven)]
    assert [(g.step_id, g.what, g.typed, g.accepted) for g in given] == [
        ("config", "unknown outcome", "skip", False),
        ("config", "guard override", GUARD_OVERRIDE_PHRASE, True)]
    skipped = [e for e in new if isinstance(e, ev.StepSkipped)]
    assert [(s.step_id, s.by_operator) for s in skipped] == [("config", True)]
    notes = [e for e in new if isinstance(e, ev.Note) and e.step_id == "config"]
    assert any("checked on both nodes" in n.text for n in notes)
    assert not [e for e in new if isinstance(e, ev.StepStarted | ev.CommandStarted)]
    assert SECRET not in path.read_text(encoding="utf-8")


async def test_an_unknown_check_step_is_said_to_have_changed_nothing(
        build_app: Build, runbook_dir: Path) -> None:
    """The question after a crash said of a read-only check (network-triage's knet counters)
    "what they changed is not known. Check the nodes": a check only reads, nothing to look
    for on the nodes; re-running it is safe."""
    await _interrupted_journal(runbook_dir)  # "config" is a kind = "check" step
    app = build_app(ScriptTransport())
    async with app.run_test(size=SIZE) as pilot:
        await _resume_to_unknown_modal(pilot, app)
        body = app.screen.body  # type: ignore[attr-defined]
        assert "only reads" in body and "re-running it is safe" in body
        assert "what they changed" not in body and "Check the nodes" not in body
        await pilot.press("a")


async def test_resume_rerun_unknown_step(build_app: Build, runbook_dir: Path) -> None:
    path = await _interrupted_journal(runbook_dir)
    before = len(read_journal(path))
    transport = ScriptTransport()
    app = build_app(transport)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _resume_to_unknown_modal(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: screen.decider.is_waiting
                    and screen.state.waiting_index == 2, "the engine to wait before tune")
        assert [sv.state for sv in screen.state.steps] == ["ok", "ok", "pending"]
        # Only the unknown step ran again, on both nodes; the done ping step did not.
        assert sorted(n for n, c in transport.ran if "config_version" in c) == [
            "pve001", "ryanrishi"]
        assert not any("ping" in c for _, c in transport.ran)
        await pilot.press("q", "y")
    new = read_journal(path)[before:]
    assert [e.step_id for e in new if isinstance(e, ev.StepStarted)] == ["config"]
    assert not [e for e in new if isinstance(e, ev.StepSkipped)]


async def test_make_app_resume_jumps_straight_in(build_app: Build, runbook_dir: Path) -> None:
    await _interrupted_journal(runbook_dir)
    app = build_app()
    app.resume_target = RUN_ID[:12]  # what make_app(resume=...) sets; a prefix is enough
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "secret form")
        assert app.screen.resume is not None  # type: ignore[attr-defined]
        assert app.screen.resume.run_id == RUN_ID  # type: ignore[attr-defined]


async def test_runs_box_is_built_for_runs_and_hidden_when_none_are_left(
        build_app: Build, runbook_dir: Path) -> None:
    # No interrupted run: no box at all (hidden widgets cost the first frame as shown ones do).
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen")
        start = app.screen
        assert isinstance(start, StartScreen)
        assert not start.query("#resume-box") and start.runs == []
        # A run interrupted meanwhile (another terminal): listed when the list is read again.
        path = await _interrupted_journal(runbook_dir)
        start.refresh_runs()
        await until(pilot, lambda: any(ol.option_count == 1 for ol in
                                       start.query("#resume-list").results(OptionList)),
                    "the box with the run")
        assert start.query_one("#resume-box").display
        assert "r resumes the highlighted run" in str(
            start.query_one("#resume-note").render())
        path.unlink()  # finished elsewhere: nothing left to resume
        start.refresh_runs()
        await pilot.pause()
        assert not start.query_one("#resume-box").display and start.runs == []
        assert start._highlighted_run() is None


async def test_other_mode_run_is_listed_but_not_resumed(build_app: Build,
                                                        runbook_dir: Path) -> None:
    await _interrupted_journal(runbook_dir)  # a rehearsal run
    app = build_app(mode=Mode.DRY_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen with its runs")
        start = app.screen
        assert isinstance(start, StartScreen)
        assert [r.mode for r in start.runs] == ["rehearsal"]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ErrorModal), "explanation")
        assert f"pverunbook tui --resume {RUN_ID}" in app.screen.hint  # type: ignore[attr-defined]
        assert not any(isinstance(s, RunScreen) for s in app.screen_stack)


async def test_finished_runs_are_not_listed(runbook_dir: Path) -> None:
    path = await _interrupted_journal(runbook_dir)
    assert [r.last_step for r in interrupted_runs()] == ["Compare config_version on every node"]
    text = path.read_text(encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(ev.RunFinished(status="ok").to_dict()) + "\n")
    assert interrupted_runs() == []
    path.write_text(text, encoding="utf-8")


async def test_a_stopped_run_is_offered_until_a_later_run_of_its_runbook(
        runbook_dir: Path) -> None:
    """A run the operator stopped (a declined confirmation, Abort) is what ``run --resume``
    continues; the start screen offers it too, until the same runbook runs again."""
    path = await _interrupted_journal(runbook_dir)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(ev.RunFinished(status="aborted").to_dict()) + "\n")
    assert [(r.run_id, r.status) for r in interrupted_runs()] == [(RUN_ID, "aborted")]
    later = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    later = {**later, "run_id": "later", "ts": later["ts"] + 60}
    (path.parent / "later.jsonl").write_text(
        json.dumps(later) + "\n" + json.dumps(ev.RunFinished(status="ok").to_dict()) + "\n",
        encoding="utf-8")
    assert interrupted_runs() == []


def test_start_screen_with_interrupted_run(snap_compare: Callable[..., bool], build_app: Build,
                                           runbook_dir: Path, utc: None) -> None:
    import asyncio

    asyncio.run(_interrupted_journal(runbook_dir, pin_times=True))
    app = build_app()

    async def run_before(pilot: Pilot) -> None:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start with its runs")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_changed_runbook_is_shown_and_not_resumed_silently(runbook_dir: Path) -> None:
    """The done steps were the old text's: the TUI shows the diff and says how to accept it."""
    from pverunbook.ui.runs import ResumeProblem, plan_resume

    path = await _interrupted_journal(runbook_dir)
    assert plan_resume(path, "rehearsal").run_id == RUN_ID  # unchanged: resumable
    book = runbook_dir / "ui-test.toml"
    book.write_text(book.read_text(encoding="utf-8").replace("timeout", "timeout", 1)
                    + "\n# edited after the run started\n", encoding="utf-8")
    with pytest.raises(ResumeProblem) as exc:
        plan_resume(path, "rehearsal")
    assert "+# edited after the run started" in str(exc.value)
    assert f"pverunbook run --resume {RUN_ID}" in exc.value.hint
    with pytest.raises(ResumeProblem) as other:
        plan_resume(path, "live")
    assert f"pverunbook tui --resume {RUN_ID}" in other.value.hint and "--mode" not in \
        other.value.hint


async def test_a_run_killed_at_its_confirmation_is_not_called_unknown(runbook_dir: Path) -> None:
    """kill -9 while "Type the node name" was open: the journal's last record is the
    confirmation, nothing ran. The start screen said "(outcome unknown)" and the resumed run
    "? unknown"; it is "awaiting confirmation, nothing ran", and the step is pending again."""
    from pverunbook.engine.resume import load_resume
    from pverunbook.ui.model import RunState

    path = await _interrupted_journal(runbook_dir)
    lines = path.read_text(encoding="utf-8").splitlines()
    first_cmd = next(i for i, line in enumerate(lines)
                     if json.loads(line)["kind"] == "command_started"
                     and json.loads(line).get("step_id") == "config")
    confirm = ev.ConfirmationRequested(step_id="config", what="destructive",
                                       prompt="Type 'pve001'", expected="pve001")
    kept = [*lines[:first_cmd], json.dumps(confirm.to_dict())]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    (run,) = interrupted_runs()
    assert run.last_state == "awaiting confirmation, nothing ran", run
    _, info = load_resume(path)
    assert info.asked_again == "config" and not info.unknown_step
    state = RunState(load_file(runbook_dir / "ui-test.toml"))
    state.restore(read_journal(path), info.statuses, info.asked_again)
    assert state.step("config").state == "pending"


async def test_a_run_killed_at_its_commit_question_is_called_out_first(
        build_app: Build, runbook_dir: Path) -> None:
    """kill -9 while COMMIT was asked: the nodes' timers put the change back at their deadline
    unless the run is resumed and COMMIT typed. The start screen lists that run first, with the
    time left, in its own line — not as one more "last: …" among older runs."""
    path = await _interrupted_journal(runbook_dir)
    older = runs_dir() / "older-run.jsonl"
    older.write_text(path.read_text(encoding="utf-8").replace(RUN_ID, "older-run"),
                     encoding="utf-8")
    due = time.time() + 300
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = [ev.RollbackTimer(step_id="config", node=n, state="armed", checkpoint_id="cp-1",
                              deadline=due + i, seconds=300) for i, n in
             enumerate(("ryanrishi", "pve001"))]
    extra.append(ev.ConfirmationRequested(step_id="config", what="commit", prompt="Type COMMIT",
                                          expected="COMMIT", checkpoint_id="cp-1"))
    # the commit run is the OLDER of the two: it still comes first
    stamped = [json.dumps({**json.loads(line), "ts": 1000.0 + i}) for i, line in
               enumerate([*lines, *(json.dumps(e.to_dict()) for e in extra)])]
    path.write_text("\n".join(stamped) + "\n", encoding="utf-8")
    runs = interrupted_runs()
    assert [r.run_id for r in runs] == [RUN_ID, "older-run"], runs
    line = runs[0].commit_line(now=due - 125)
    assert line.startswith("COMMIT pending: the nodes roll back") and "(in 2 min 05 s)" in line
    assert runs[1].commit_line() == ""
    assert "were due at" in runs[0].commit_line(now=due + 5)
    # a committed change is no longer pending
    done = ev.RollbackTimer(step_id="config", node="ryanrishi", state="committed")
    again = ev.RollbackTimer(step_id="config", node="pve001", state="fired")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(done.to_dict()) + "\n" + json.dumps(again.to_dict()) + "\n")
    (settled,) = [r for r in interrupted_runs() if r.run_id == RUN_ID]
    assert settled.commit_due == 0.0 and settled.commit_line() == ""

    app = build_app()
    path.write_text("\n".join(stamped) + "\n", encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.pause()
        ol = app.screen.query_one("#resume-list", OptionList)
        shown = str(ol.get_option_at_index(0).prompt)
        assert "⚠ COMMIT pending: the nodes roll back" in shown, shown


def _check_journal(run: Path, name: str, sim: Path, *, after_s: float, status: str = "ok",
                   quorate: bool = True) -> Path:
    """A health check journal on ``run``'s rehearsal cluster (kept in ``sim``), ``after_s``
    after the run's last record: a whole check ("ok") that found the cluster healthy unless
    ``quorate`` is False."""
    from pverunbook.check_history import note_rehearsal_run
    from pverunbook.pve.diagnosis.check import CHECK_ID
    from pverunbook.pve.facts import Fact

    records = [json.loads(line) for line in run.read_text(encoding="utf-8").splitlines()]
    first = records[0]
    ts = max(r["ts"] for r in records) + after_s
    started = ev.RunStarted(run_id=name, runbook_id=CHECK_ID, runbook_title="Cluster health check",
                            runbook_path="", params={}, mode=first["mode"],
                            cluster=first["cluster"], nodes=tuple(first["nodes"]), ts=ts)
    facts = ev.FactsObserved(step_id="quorum", ts=ts + 1, facts=tuple(
        Fact("quorum.quorate", quorate, node=n).to_json() for n in first["nodes"]))
    done = ev.RunFinished(status=status, ts=ts + 2)
    path = run.parent / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in (started, facts, done)),
                    encoding="utf-8")
    note_rehearsal_run(name, path, sim)
    return path


async def test_a_stopped_run_the_cluster_was_checked_healthy_after_is_listed_as_older(
        build_app: Build, runbook_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An aborted run was offered first for ever, even after a health check found the cluster
    healthy: the operator had moved on. It is hidden behind o (dimmed, last, saying which check
    settled it), its journal kept and still resumable. A check that is not whole, found a fault,
    came before the run stopped or ran on another (simulated) cluster settles nothing, nor does
    any check a run that died on its own (nobody decided it was over)."""
    from pverunbook import check_history

    monkeypatch.setattr(check_history, "_REHEARSAL_RUNS", {})  # this process's own runs
    sim = tmp_path / "sim-state"
    sim.mkdir()
    path = await _interrupted_journal(runbook_dir)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(ev.RunFinished(status="aborted").to_dict()) + "\n")
    _check_journal(path, "check-healthy", sim, after_s=60)
    # the run's simulated cluster is not known: that check may have been on another one
    assert [(r.run_id, r.settled) for r in interrupted_runs()] == [(RUN_ID, False)]
    check_history.note_rehearsal_run(RUN_ID, path, sim)
    runs = interrupted_runs()
    assert [(r.run_id, r.status, r.settled) for r in runs] == [(RUN_ID, "aborted", True)]
    check_ts = json.loads((path.parent / "check-healthy.jsonl").read_text(
        encoding="utf-8").splitlines()[0])["ts"]
    assert runs[0].healthy_since == check_ts
    # a later check that found a fault (the cluster is broken again): offered again
    _check_journal(path, "check-sick", sim, after_s=120, quorate=False)
    assert [r.settled for r in interrupted_runs()] == [False]
    # a check stopped half-way proves no health: the last whole check still counts
    (path.parent / "check-sick.jsonl").unlink()
    partial = _check_journal(path, "check-partial", sim, after_s=120, status="aborted")
    assert [(r.run_id, r.settled) for r in interrupted_runs()] == [("check-partial", False),
                                                                   (RUN_ID, True)]
    partial.unlink()
    # the check came before the run stopped: settles nothing
    _check_journal(path, "check-healthy", sim, after_s=-3600)
    assert [r.settled for r in interrupted_runs()] == [False]
    _check_journal(path, "check-healthy", sim, after_s=60)
    # a run that died on its own (no RunFinished) is offered whatever the check found
    aborted = path.read_text(encoding="utf-8")
    path.write_text(aborted.rsplit("\n", 2)[0] + "\n", encoding="utf-8")
    assert [(r.status, r.settled) for r in interrupted_runs()] == [("unfinished", False)]
    path.write_text(aborted, encoding="utf-8")

    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen")
        start = app.screen
        assert isinstance(start, StartScreen)
        assert start.runs == [] and [r.run_id for r in start.older] == [RUN_ID]
        assert not start.query("#resume-box")  # nothing offered first
        assert start.check_action("toggle_older", ()) and not start.check_action("resume", ())
        await pilot.press("o")
        await until(pilot, lambda: any(ol.option_count == 1 for ol in
                                       start.query("#resume-list").results(OptionList)),
                    "the older run listed")
        assert [r.run_id for r in start.runs] == [RUN_ID]
        label = str(start.query_one("#resume-list", OptionList).get_option_at_index(0).prompt)
        assert "stopped: aborted" in label and "found the cluster healthy since" in label
        assert "o hides them" in str(start.query_one("#resume-note").render())
        assert start._highlighted_run() is not None  # still resumable
        await pilot.press("o")
        await pilot.pause()
        assert start.runs == [] and not start.query_one("#resume-box").display
    assert path.is_file()  # never deleted


async def test_a_resumed_run_opens_on_the_output_where_it_left_off(
        build_app: Build, runbook_dir: Path) -> None:
    """The resumed run screen opened on empty panes: the operator could not see what the step
    that was running when it died had printed. Its output comes back from the journal (a line
    the process died in the middle of too), in the panes of its nodes, and the earlier steps'
    output is kept for them as a live run keeps it."""
    path = await _interrupted_journal(runbook_dir, cut="output")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[-1]["text"] = records[-1]["text"].rstrip("\n")  # it died half-way through a line
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    def journaled(step: str, node: str) -> list[str]:
        text = "".join(r["text"] for r in records if r["kind"] == "output"
                       and r["step_id"] == step and r["node"] == node)
        return text.rstrip("\n").split("\n")

    nodes = [n.name for n in CLUSTER.nodes]
    assert all(journaled("config", n) != [""] for n in nodes)  # the test has output to show
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _resume_to_unknown_modal(pilot, app)
        assert screen.pane_step == "config" and screen.state.left_off == "config"
        # one node had finished the step, the other was still printing
        assert sorted(r.status for r in screen.state.step("config").results.values()) == \
            ["ok", "unknown"]
        for node in nodes:
            pane = screen.panes[node]
            assert [str(line) for line in pane.log_widget.lines] == journaled("config", node)
            ended = screen.state.step("config").results[node].status
            assert ("✔ exit 0" if ended == "ok" else "earlier run: Compare config_version") \
                in str(pane.query_one(".pane-status").render()), ended
            assert screen.state.step("ping").lines(node) == journaled("ping", node)
        # the comparison follows the step in view: the nodes' config_version differ
        compare = str(screen.query_one("#compare-text").render())
        assert "config_version: 6" in compare and "config_version: 5" in compare, compare


async def test_a_run_of_other_nodes_is_not_resumed_on_this_cluster(build_app: Build,
                                                                   runbook_dir: Path) -> None:
    """A run stopped on the three-node rehearsal (ryanrishi, pve001, pve002) was resumed, with
    one key, on the four-node one opened next: same cluster name, so it went on there, its
    next destructive step on pve003 too, which none of its earlier steps had touched. A run
    whose nodes are not this session's is refused, with what it ran on and how to open it."""
    await _interrupted_journal(runbook_dir)  # on ryanrishi and pve001
    bigger = replace(CLUSTER, nodes=(*CLUSTER.nodes, replace(
        CLUSTER.nodes[1], name="pve002", host="192.168.4.202", addr="192.168.4.202")))
    app = build_app(cluster=bigger)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen with its runs")
        await until(pilot, lambda: app.screen.query_one(
            "#resume-list", OptionList).option_count == 1, "the interrupted run listed")
        await pilot.press("r")
        await until(pilot, lambda: not isinstance(app.screen, StartScreen), "an answer")
        assert isinstance(app.screen, ErrorModal), app.screen
        assert "ryanrishi, pve001" in app.screen.message  # type: ignore[attr-defined]
        assert "pve002" in app.screen.message  # type: ignore[attr-defined]
        assert not any(isinstance(s, RunScreen) for s in app.screen_stack)
