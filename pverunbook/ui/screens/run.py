"""The run screen: the engine runs in an async worker; its events arrive as typed messages
(``pverunbook.ui.messages``) and only the handlers here touch widgets; the operator's keys
decide what the engine does next. What is on screen, and where, for any cluster size and
console, is :mod:`pverunbook.ui.screens.run_layout`."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import TabbedContent
from textual.worker import Worker, WorkerState

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import StepAction, StepDecision, not_read_only
from pverunbook.engine.targets import PlannedStep, plan
from pverunbook.runbook.model import Runbook
from pverunbook.session import Mode
from pverunbook.ui import messages as m
from pverunbook.ui.collector import hold_old_objects, release_old_objects
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.decider import TuiDecider
from pverunbook.ui.model import STATE_LABELS, StepView
from pverunbook.ui.rollback_wait import ArmedTimers
from pverunbook.ui.screens.run_analysis import RunAnalysis
from pverunbook.ui.widgets.analysis import FindingsView
from pverunbook.ui.widgets.output import QuietLog
from pverunbook.ui.widgets.step_detail import StepDetail
from pverunbook.ui.widgets.steps import StepList

if TYPE_CHECKING:
    from pverunbook.ui.rollback_wait import RollbackWait
    from pverunbook.ui.runs import ResumePlan

class RunScreen(RunAnalysis):
    BINDINGS = [
        Binding("n", "next", "Next", id="run.next", tooltip="Run the next step (also Enter)"),
        Binding("enter", "next", "Next", show=False, id="run.next_enter"),
        Binding("a", "read_on", "Read-only on", show=False, id="run.read_on",
                tooltip="Run the next steps while they only read; pause at one that changes "
                        "something or asks, and go on once you answered it; stop at one "
                        "that fails"),
        Binding("s", "skip", "Skip", id="run.skip",
                tooltip="Skip the next step (asks for a reason, journaled)"),
        Binding("c", "cancel_command", "Cancel", id="run.cancel",
                tooltip="Stop the running command on every node"),
        Binding("v", "next_node", "Node", id="run.node",
                tooltip="Show the next node's output (one pane at a time on a small console)"),
        Binding("i", "toggle_side", "Findings", id="run.side",
                tooltip="Show or hide the steps and findings (small console)"),
        Binding("m", "toggle_matrix", "Matrix", id="run.matrix",
                tooltip="Node × node view: link loss between nodes, and which nodes printed "
                        "the same output; again for the output panes"),
        Binding("dollar_sign", "shell", "Shell", id="run.shell",
                tooltip="Open a shell on a node (the app suspends; the journal notes it)"),
        Binding("r", "rerun", "Re-run", show=False, id="run.rerun",
                tooltip="Run the last finished step again"),
        Binding("j", "jump", "Jump", show=False, id="run.jump",
                tooltip="Continue from another step"),
        Binding("f", "toggle_follow", "Follow", show=False, id="run.follow",
                tooltip="Follow the output tail in every pane, or stop following"),
        Binding("w", "whole_lines", "Whole lines", show=False, id="run.whole",
                tooltip="The selected node's output of the step, each line whole and wrapped"),
        Binding("o", "journal", "Journal", show=False, id="run.journal",
                tooltip="Show the run journal"),
        Binding("b", "runbooks", "Runbooks", show=False, id="run.runbooks",
                tooltip="Back to the runbook list (after the run; stops it first if not done)"),
        Binding("q", "quit_run", "Quit", id="run.quit",
                tooltip="Leave pverunbook (asks first)"),
    ]

    def __init__(self, runbook: Runbook, params: Mapping[str, Any], *,
                 resume: ResumePlan | None = None) -> None:
        super().__init__(runbook)
        self.params = dict(params)
        #: Set when this screen continues an interrupted run (same run id and journal).
        self.resume = resume
        #: Operator's reasons for skipping a step whose outcome was unknown (by step id).
        self.skip_reasons: dict[str, str] = {}
        self.decider = TuiDecider(self)
        self.follow = True
        self.planned: dict[str, PlannedStep] = {}
        #: The step whose output the node panes show (None before the first step starts).
        self.pane_step: str | None = None
        #: Set while the nodes restore an uncommitted change (the status line counts down).
        self._rollback_wait: RollbackWait | None = None
        self._armed = ArmedTimers()

    @property
    def focus_step(self) -> str | None:
        """The step shown above the output: the one whose output the panes show (running,
        or the last that ran), or the first before any step ran."""
        return self.query_one(StepDetail).step_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing now stay out of the footer, so the rest fits in 80 columns
        (they are all in F1 and the palette)."""
        if action == "cancel_command":
            return self.state.command_running
        if action == "next":  # a running command: c is the key then (n would only say so)
            return not self.state.command_running
        if action in ("skip", "read_on"):
            return self.decider.is_waiting
        return super().check_action(action, parameters)

    def _keys_state(self) -> tuple[object, ...]:
        return (*super()._keys_state(), self.state.command_running, self.decider.is_waiting)

    def action_shell(self) -> None:
        self.rb_app.open_shell(self.selected_node if self.compact else None)

    def action_runbooks(self) -> None:
        if self.state.finished is not None:
            self.rb_app.back_to_runbooks()
        elif self.decider.is_waiting:
            self.decider.decide(StepDecision(StepAction.ABORT,
                                             reason="stopped by the operator (back to the "
                                                    "runbook list)"))
        else:
            self.notify("A step is running: wait for it or cancel it (c) first.",
                        title="Busy")

    def on_mount(self) -> None:
        self.layout_panes()
        # a running command's time ticks in the strip (no event comes while it only runs)
        self.set_interval(1.0, self._tick_running)
        self._replan(self.params)
        plan = self.resume
        if plan is not None:
            from pverunbook.ui.runs import replay_events

            try:
                self.state.restore(replay_events(plan.journal_path), plan.info.statuses,
                                   getattr(plan.info, "asked_again", None))
            except OSError as exc:
                self.rb_app.show_error(exc)
            if self.state.left_off is not None:  # where it stopped, its output in the panes
                self.pane_step = self.state.left_off
                self.fill_panes(self.state.step(self.pane_step))
                self._refresh_analysis(self.state.step(self.pane_step))  # and how they differ
        self.query_one(StepList).show(self.state)
        self.query_one(FindingsView).show(self.state.findings, self._titles())
        self._status("Resuming…" if plan is not None else "Starting…")
        try:
            if plan is not None:
                self.engine = self.rb_app.session.engine(
                    self.runbook, self.decider, self.params, run_id=plan.run_id,
                    resume=plan.info, journal_path=plan.journal_path)
                done = sum(1 for sv in self.state.steps if sv.state in ("ok", "planned",
                                                                         "skipped"))
                self._activity(f"resuming run {plan.run_id} from {plan.journal_path}: "
                               f"{done} step(s) already done")
            else:
                self.engine = self.rb_app.session.engine(self.runbook, self.decider,
                                                         self.params)
        except Exception as exc:  # journal unwritable, no session…
            self.rb_app.show_error(exc)
            self._status("Could not start the run (see the message).", bad=True)
            return
        self.rb_app.run_started(self.engine.run_id, self.runbook, self.engine.journal_path)
        self.engine.subscribe(self.decider.observe)
        self.engine.subscribe(m.EventPump(self.post_message))
        self.run_engine()

    @work(exclusive=True, group="run", exit_on_error=False, name="engine",
          description="runbook engine")
    async def run_engine(self) -> str:
        assert self.engine is not None
        # What exists now (the app, its screens, the runbooks, the engine's imports) lives as
        # long as the program: collected once here and frozen, so the collector's full passes
        # during the run no longer walk it — one took ~150 ms, the worst stall under a flood.
        gc.collect()
        gc.freeze()
        return await self.engine.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "run":
            return
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self._status("The run stopped with an error (see the message).", bad=True)
            self.rb_app.show_error(event.worker.error)

    # -- helpers -----------------------------------------------------------------------------
    def _replan(self, params: Mapping[str, Any]) -> None:
        cluster = self.rb_app.session.cluster
        if cluster is None:
            return
        try:
            self.planned = {p.step.id: p for p in plan(self.runbook, cluster, params)}
        except Exception:  # a missing parameter or bad target: shown when the step runs
            self.planned = {}

    def _tick_running(self) -> None:
        if self.state.command_running:
            self._refresh_strip()
        wait = self._rollback_wait
        if wait is not None:
            self._status(wait.text(), waiting=True)

    def _show_detail(self, sv: StepView) -> None:
        self.query_one(StepDetail).show(sv, len(self.state.steps), self.planned.get(sv.id),
                                        hints=self.rb_app.mode in (Mode.REHEARSAL,
                                                                   Mode.DRY_RUN),
                                        worst=self.state.worst_finding(sv.id))

    def _show_commands(self, sv: StepView) -> None:
        self.query_one(StepDetail).show_commands(sv, self.planned.get(sv.id))

    def _activity(self, line: str) -> None:
        self.query_one("#activity", QuietLog).append_lines([line])

    # -- engine messages ---------------------------------------------------------------------
    @on(m.OutputBatch)
    def _output(self, message: m.OutputBatch) -> None:
        for (step_id, node), lines in message.lines.items():
            self.state.add_lines(step_id, node, lines)
            self._pane(node).add_lines(lines)
        # The comparison and plots follow live output, but at most twice a second.
        if not self._analysis_due and self.state.current is not None:
            self._analysis_due = True
            self.set_timer(0.5, self._analysis_timer)

    def on_unmount(self) -> None:
        release_old_objects()  # a run that never said it finished holds nothing for good

    @on(m.RunStarted)
    def _run_started(self, message: m.RunStarted) -> None:
        e = message.event
        hold_old_objects()  # no full collection walks the app while output floods in
        self.state.apply(e)
        self._activity(f"run {e.run_id} started: {e.runbook_title} ({e.mode}, cluster "
                       f"{e.cluster}: {', '.join(e.nodes)})")

    @on(m.AwaitingOperator)
    def _awaiting(self, message: m.AwaitingOperator) -> None:
        self.state.awaiting(message.index)
        sv = self.state.steps[message.index]
        self.query_one(StepList).show(self.state)
        # The panes still show the output of the step that ran last: the header above them
        # stays on that step (with how it ended) until the next one starts; the status line
        # names the step n runs.
        shown = self.state.step(self.pane_step) if self.pane_step else sv
        self._show_detail(shown)
        self._refresh_keys()
        what = "⚠ destructive step — " if sv.step.destructive else ""
        reads = () if not_read_only(sv.step) else (("read_on", "all read-only"),)
        # paused by a: the read-only steps after this one go on once it is answered
        runs = "(or Enter) runs it, then the read-only steps" if self.decider.reading \
            else "(or Enter) runs it"
        self._status(f"{what}Next: step {sv.index + 1} “{sv.step.title}”", waiting=True,
                     keys=(("next", runs), *reads, ("skip", "skip"),
                           ("jump", "jump"), ("rerun", "re-run previous")))

    @on(m.UnknownOutcome)
    def _unknown_outcome(self, message: m.UnknownOutcome) -> None:
        sv = self.state.step(message.step_id)
        sv.state = "unknown"
        self.query_one(StepList).show(self.state)
        self._show_detail(sv)
        self._status(f"Outcome unknown: step {sv.index + 1} “{sv.step.title}” was running when "
                     "the previous run stopped. Re-run it or skip it.", waiting=True)

    @on(m.StepStarted)
    def _step_started(self, message: m.StepStarted) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        if e.attempt > 1 or self.engine is not None:
            self._replan(self.engine.params if self.engine else self.params)
        self.step_nodes = list(e.nodes)
        self.pane_step = e.step_id
        for node in e.nodes:
            self._pane(node)
        self.layout_panes()
        for node in e.nodes:
            self._pane(node).start_step(f"attempt {e.attempt}" if e.attempt > 1 else "starting")
        self.query_one(StepList).show(self.state)
        self._show_detail(sv)
        self.query_one("#analysis", TabbedContent).active = "tab-compare"
        self._refresh_analysis(sv)
        self._status(f"Running step {sv.index + 1} “{sv.step.title}” on "
                     f"{', '.join(e.nodes) or 'this console'}",
                     keys=(("cancel_command", "cancels"),))
        self._activity(f"step {e.step_id} started (attempt {e.attempt})")

    @on(m.CommandStarted)
    def _command_started(self, message: m.CommandStarted) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        self._pane(e.node).show_result(sv.results[e.node])
        self._show_commands(sv)
        self._refresh_keys()

    @on(m.CommandFinished)
    def _command_finished(self, message: m.CommandFinished) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        self._pane(e.node).show_result(sv.results[e.node])
        self._refresh_analysis(sv)
        self._refresh_strip()
        self._refresh_keys()
        if e.error:
            self._activity(f"{e.node}: {e.error}")

    @on(m.StepFinished)
    def _step_finished(self, message: m.StepFinished) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        for r in sv.results.values():
            self._pane(r.node).show_result(r)
        self._refresh_keys()  # no command runs now: c leaves the footer, n comes back
        self.query_one(StepList).show(self.state)
        if sv.id == self.pane_step:
            self._show_detail(sv)  # the header says how the step whose output shows ended
        self._refresh_analysis(sv)
        self._refresh_strip()
        label = STATE_LABELS.get(sv.state, sv.state)
        bad = sv.state not in ("ok", "planned")
        self._status(f"Step {sv.index + 1} “{sv.step.title}”: {label}"
                     + (f" — {e.message}" if e.message else ""), bad=bad)
        self._activity(f"step {e.step_id}: {e.status}" + (f" ({e.message})" if e.message else ""))

    @on(m.StepSkipped)
    def _step_skipped(self, message: m.StepSkipped) -> None:
        e = message.event
        self.state.apply(e)
        why = self.skip_reasons.pop(e.step_id, "")
        if why:
            self.state.step(e.step_id).skip_reason = f"{why} ({e.reason})"
        self.query_one(StepList).show(self.state)
        self._activity(f"step {e.step_id} skipped: {e.reason}" + (f": {why}" if why else ""))

    @on(m.FindingReported)
    def _finding(self, message: m.FindingReported) -> None:
        self.state.apply(message.event)
        self.query_one(FindingsView).show(self.state.findings, self._titles())
        scroll = self.query_one("#findings-scroll", VerticalScroll)
        self.call_after_refresh(scroll.scroll_end, animate=False)

    @on(m.CheckpointTaken)
    def _checkpoint(self, message: m.CheckpointTaken) -> None:
        e = message.event
        self.state.apply(e)
        if e.ok:
            self._activity(f"checkpoint {e.checkpoint_id} taken for {e.step_id}: {e.path}")
        else:
            self._activity(f"checkpoint for {e.step_id} FAILED: {'; '.join(e.problems)}")

    @on(m.ConfirmationEvent)
    def _confirmation(self, message: m.ConfirmationEvent) -> None:
        e = message.event
        self.state.apply(e)
        self.query_one(StepList).show(self.state)
        if isinstance(e, ev.ConfirmationGiven):
            if e.what == "commit" and e.accepted:
                self._status("COMMIT typed: stopping the rollback timers on the nodes…")
            self._activity(f"{e.what} for {e.step_id}: "
                           f"{'accepted' if e.accepted else 'refused'}"
                           + (f" (typed {e.typed!r})" if e.typed else ""))
        elif isinstance(e, ev.ConfirmationRequested):
            if e.what == "commit":  # its prompt's "within N s" would stand still here
                self._status(f"Needs you: type {e.expected} to keep the change, before the "
                             "countdown in the question ends", waiting=True)
            else:
                self._status(f"Needs you: {e.prompt.splitlines()[0] if e.prompt else e.what}",
                             waiting=True)

    @on(m.JournalNote)
    def _note(self, message: m.JournalNote) -> None:
        e = message.event
        self.state.apply(e)
        at_end = self._armed.saw(e)
        if at_end is not None and self._rollback_wait is None:
            self.rollback_waiting(at_end)
        if isinstance(e, ev.Note):
            self._activity(f"{e.level}: {e.text}")
            if self._rollback_wait is not None:
                self._rollback_wait.saw(e)  # a node's restore saying how it goes
            if e.level == "error":
                self.notify(e.text, severity="error", title="Error")
            elif e.level == "warning":
                self.notify(e.text, severity="warning")
        elif isinstance(e, ev.RollbackTimer):
            wait = self._rollback_wait
            if wait is not None and wait.saw(e):
                self.rollback_waiting(None)
                said = ", ".join(f"{n} {st}" for n, st in wait.reported.items())
                self._status(f"Rollback of {e.step_id}: the nodes reported: {said}",
                             bad=any(st != "fired" for st in wait.reported.values()))
            self._activity(f"rollback timer of {e.step_id} on {e.node}: {e.state}")
        elif isinstance(e, ev.NodeConnection):
            self._activity(f"{e.node}: connection {e.state} {e.message}")
            if e.state in ("lost", "down"):
                self.notify(f"{e.node}: {e.state}. {e.message}", severity="error",
                            title="Connection")
        elif isinstance(e, ev.RunPaused):
            self._activity(f"paused at {e.step_id}: {e.reason}")
        elif isinstance(e, ev.ParamsSet):
            self._activity(f"parameters set: {e.values}")
            if self.engine is not None:
                self._replan(self.engine.params)

    @on(m.RunFinished)
    def _run_finished(self, message: m.RunFinished) -> None:
        e = message.event
        release_old_objects()
        self._rollback_wait = None
        self.state.apply(e)
        self.query_one(StepList).show(self.state)
        from pverunbook.run_diagnosis import run_status_words

        self._status(f"Run finished: {run_status_words(e.status)}"
                     + (f" — {e.message}" if e.message else ""),
                     bad=e.status not in ("ok", "planned"),
                     keys=(("next", "summary"), ("runbooks", "runbooks"), ("journal", "journal")))
        self._activity(f"run finished: {e.status} {e.message}")
        self.rb_app.run_finished(self.runbook.title, e.status,
                                 self.engine.journal_path if self.engine else None,
                                 self.engine.run_id if self.engine else None)
        if e.status != "interrupted":
            # after the run screen's last frame (the step's end, the status line) is painted:
            # building and painting the summary in the same turn of the event loop held it
            # for 50 ms and more at the end of a flood
            self.call_after_refresh(self.show_summary)

    def show_summary(self) -> None:
        from pverunbook.ui.screens.summary import SummaryScreen

        if self.app.screen is self:
            self.app.push_screen(SummaryScreen(self.state, self.engine.journal_path
                                               if self.engine else None))

    # -- actions -----------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.decider.unfold() or self.decider.decide(StepDecision()):
            return
        if self.state.finished is not None:
            self.show_summary()
        elif self.state.running_step is not None:
            self.notify("A step is running; wait for it, or press c to cancel it.",
                        title="Busy")

    def action_read_on(self) -> None:
        if why := self.decider.read_on():
            self.notify(why, title="Not now")

    def action_rerun(self) -> None:
        last = self.state.last_finished
        if not self.decider.is_waiting:
            self.notify("Re-run works between steps: wait for the step, or cancel it (c).",
                        title="Busy" if self.state.running_step else "Not now")
            return
        if last is None:
            self.notify("No step has run yet: press n to run the first one.")
            return
        self.decider.auto_run = last.id
        self.decider.decide(StepDecision(StepAction.GOTO, goto=last.id))

    def action_skip(self) -> None:
        if not self.decider.is_waiting or self.state.waiting_index is None:
            self.notify("Skip works before a step starts; a running step can be cancelled (c).",
                        title="Not now")
            return
        from pverunbook.ui.screens.modals import TextPromptModal

        sv = self.state.steps[self.state.waiting_index]
        if self.decider.guarded(sv.step):
            # A guard of destructive steps: the engine asks for the override phrase and the
            # reason itself (engine/guard_skip.py), so no second reason prompt here.
            self.decider.decide(StepDecision(StepAction.SKIP))
            return

        def done(reason: str | None) -> None:
            if reason:
                self.decider.decide(StepDecision(StepAction.SKIP, reason=reason))

        self.app.push_screen(TextPromptModal(
            f"Skip “{sv.step.title}”?", "Why are you skipping this step? The reason is written "
            "to the journal and the incident report.", placeholder="e.g. done by hand already"),
            done)

    def action_cancel_command(self) -> None:
        if self.engine is not None and self.engine.cancelling:
            # c again while the nodes stop the command (a remote kill takes a moment): the
            # first press said so already; a second identical toast only stacked on it
            return
        if self.engine is not None and self.state.command_running and \
                self.engine.cancel_current():
            self.notify("Cancelling the running command on every node…", title="Cancel")
            self._activity("operator cancelled the running command")
        else:
            self.notify("No command is running.")

    def action_jump(self) -> None:
        if not self.decider.is_waiting:
            self.notify("Jump works between steps.", title="Not now")
            return
        from pverunbook.ui.screens.modals import JumpModal

        current = (self.state.steps[self.state.waiting_index].id
                   if self.state.waiting_index is not None else None)

        def done(step_id: str | None) -> None:
            if step_id:
                self.decider.decide(StepDecision(StepAction.GOTO, goto=step_id))

        self.app.push_screen(JumpModal([(s.id, s.title) for s in self.runbook.steps], current),
                             done)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        for pane in self.panes.values():
            pane.set_follow(self.follow)
        self.notify("Following the output tail." if self.follow else
                    "Not following: new lines are counted at the bottom of each pane.",
                    title="Follow")

    def action_whole_lines(self) -> None:
        """The selected node's pane (``v`` picks another), every line whole and wrapped: a
        pane cuts lines at its width (ui/screens/output_view.py)."""
        from pverunbook.ui.screens.output_view import OutputView

        node = self.selected_node or next(iter(self.panes), None)
        if node is None or node not in self.panes:
            self.notify("No node output to show yet.", title="Whole lines")
            return
        sv = self.state.step(self.pane_step) if self.pane_step else None
        title = sv.step.title if sv is not None else "output"
        self.app.push_screen(OutputView(node, title, list(self.panes[node].log_widget.lines)))

    def action_journal(self) -> None:
        from pverunbook.ui.screens.journal import JournalScreen

        path = self.engine.journal_path if self.engine else None
        self.app.push_screen(JournalScreen(path))

    def action_quit_run(self) -> None:
        """q: while a command runs, say it is cancelled and the run left interrupted (and how
        to resume it); otherwise the app's own question."""
        if not self.state.command_running:
            self.rb_app.request_quit()
            return
        from pverunbook.ui.quitting import quit_while_running

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.app.exit()

        self.app.push_screen(quit_while_running(self), done)

    def left_interrupted(self) -> str:
        """What quitting now leaves behind (:func:`pverunbook.ui.quitting.left_interrupted`)."""
        from pverunbook.ui.quitting import left_interrupted

        return left_interrupted(self)

    def help_text(self) -> str:
        """For F1 (:func:`pverunbook.ui.screens.run_help.run_help_text`)."""
        from pverunbook.ui.screens.run_help import run_help_text

        return run_help_text(self)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            ("Next step", "Run the next step (n)", self.action_next),
            ("Run read-only steps", "Run the next steps while they only read; pause at one "
             "that changes something or asks, go on after it; stop at one that fails (a)",
             self.action_read_on),
            ("Re-run step", "Run the last finished step again (r)", self.action_rerun),
            ("Skip step", "Skip the next step, with a reason (s)", self.action_skip),
            ("Cancel running command", "Stop the command on every node (c)",
             self.action_cancel_command),
            ("Jump to step", "Continue from another step (j)", self.action_jump),
            ("Toggle follow", "Follow the output tail or not (f)", self.action_toggle_follow),
            ("Open journal", "Show the run journal (o)", self.action_journal),
            ("Show summary", "What was done so far", self.show_summary),
            ("Next node", "Show the next node's output (v)", self.action_next_node),
            ("Steps and findings", "Show or hide them on a small console (i)",
             self.action_toggle_side),
            ("Node matrix", "Node × node: link loss, identical outputs (m)",
             self.action_toggle_matrix),
            ("Back to runbooks", "The runbook list (b); stops an unfinished run first",
             self.action_runbooks),
        ]
