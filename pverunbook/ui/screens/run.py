"""The run screen: steps, the current step's explanation and commands, one live pane per node,
findings, a cross-node comparison and network plots. The engine runs in an async worker; its
events arrive as typed messages (``pverunbook.ui.messages``) and only handlers here touch
widgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Log, Markdown, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import StepAction, StepDecision
from pverunbook.engine.engine import Engine
from pverunbook.engine.targets import PlannedStep, plan
from pverunbook.runbook.model import Runbook, StepKind
from pverunbook.session import Mode
from pverunbook.ui import messages as m
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.decider import TuiDecider
from pverunbook.ui.model import STATE_LABELS, RunState, StepView, node_rows
from pverunbook.ui.widgets.analysis import CompareView, FindingsView, NetPlot
from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.output import NodePane, NodeStrip
from pverunbook.ui.widgets.steps import StepList

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.runs import ResumePlan


class RunScreen(Screen[None]):
    CSS_PATH = "run.tcss"
    BINDINGS = [
        Binding("n", "next", "Next", id="run.next", tooltip="Run the next step (also Enter)"),
        Binding("enter", "next", "Next", show=False, id="run.next_enter"),
        Binding("s", "skip", "Skip", id="run.skip",
                tooltip="Skip the next step (asks for a reason, journaled)"),
        Binding("c", "cancel_command", "Cancel", id="run.cancel",
                tooltip="Stop the running command on every node"),
        Binding("v", "next_node", "Node", id="run.node",
                tooltip="Show the next node's output (one pane at a time on a small console)"),
        Binding("i", "toggle_side", "Findings", id="run.side",
                tooltip="Show or hide the steps and findings (small console)"),
        Binding("dollar_sign", "shell", "Shell", id="run.shell",
                tooltip="Open a shell on a node (the app suspends; the journal notes it)"),
        Binding("r", "rerun", "Re-run", show=False, id="run.rerun",
                tooltip="Run the last finished step again"),
        Binding("j", "jump", "Jump", show=False, id="run.jump",
                tooltip="Continue from another step"),
        Binding("f", "toggle_follow", "Follow", show=False, id="run.follow",
                tooltip="Follow the output tail in every pane, or stop following"),
        Binding("o", "journal", "Journal", show=False, id="run.journal",
                tooltip="Show the run journal"),
        Binding("b", "runbooks", "Runbooks", show=False, id="run.runbooks",
                tooltip="Back to the runbook list (after the run; stops it first if not done)"),
        Binding("q", "quit_run", "Quit", id="run.quit",
                tooltip="Leave pverunbook (asks first)"),
    ]

    def __init__(self, runbook: Runbook, params: Mapping[str, Any], *,
                 resume: ResumePlan | None = None) -> None:
        super().__init__(id="run")
        self.runbook = runbook
        self.params = dict(params)
        self.state = RunState(runbook)
        #: Set when this screen continues an interrupted run (same run id and journal).
        self.resume = resume
        #: Operator's reasons for skipping a step whose outcome was unknown (by step id).
        self.skip_reasons: dict[str, str] = {}
        self.decider = TuiDecider(self)
        self.engine: Engine | None = None
        self.follow = True
        self.panes: dict[str, NodePane] = {}
        self.planned: dict[str, PlannedStep] = {}
        self.focus_step: str | None = None
        self._analysis_due = False
        self._network_shown_for: str | None = None
        #: The node whose pane is shown when only one fits (small console), and marked in
        #: the strip.
        self.selected_node: str | None = None
        #: Nodes the current step runs on (all nodes before the first step).
        self.step_nodes: list[str] = []

    @property
    def rb_app(self) -> RunbookApp:
        return self.app  # type: ignore[return-value]

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        app = self.rb_app
        cluster = app.session.cluster
        yield AppHeader(app.mode, cluster, f"{self.runbook.title}")
        with Horizontal(id="run-main"):
            with Vertical(id="run-left"):
                yield Label("Steps", classes="section-title")
                with VerticalScroll(id="steps-scroll"):
                    yield StepList(id="step-list")
                yield Label("Findings", classes="section-title")
                with VerticalScroll(id="findings-scroll"):
                    yield FindingsView(id="findings")
            with Vertical(id="run-right"):
                yield Static("", id="run-status")
                with VerticalScroll(id="step-detail"):
                    yield Static("", id="step-title")
                    yield Markdown("", id="step-explain")
                    yield Static("", id="step-commands")
                nodes = cluster.names if cluster else []
                self.step_nodes = list(nodes)
                self.selected_node = nodes[0] if nodes else None
                yield NodeStrip("", id="node-strip")
                with Container(id="panes"):
                    for name in nodes:
                        pane = NodePane(name)
                        self.panes[name] = pane
                        yield pane
                with TabbedContent(id="analysis"):
                    with TabPane("Compare nodes", id="tab-compare"):
                        yield CompareView(id="compare")
                    with TabPane("Network", id="tab-network"):
                        yield NetPlot(id="netplot")
                    with TabPane("Activity", id="tab-activity"):
                        yield Log(id="activity", max_lines=1000, auto_scroll=True)
        yield Footer()

    # -- any cluster size, any console -----------------------------------------------------
    @property
    def compact(self) -> bool:
        """A small console (80×24, IPMI, phone): one node pane at a time, side column on
        demand. The app sets the ``-compact`` class on itself from its size."""
        return self.app.has_class("-compact")

    def layout_panes(self) -> None:
        """Side by side for 1–2 nodes, a grid for 3–8, one at a time on a small console; the
        strip (node, state, exit, duration, last line) whenever not every node has a full
        pane, so every node's state stays visible."""
        shown = [n for n in self.panes if n in self.step_nodes] or list(self.panes)
        if self.selected_node not in shown:
            self.selected_node = shown[0] if shown else None
        single = self.compact and len(shown) > 1
        for name, pane in self.panes.items():
            pane.display = name in shown and (not single or name == self.selected_node)
        count = 1 if single else len(shown)
        panes = self.query_one("#panes")
        layout = "-cols" if count <= 2 else "-grid2" if count <= 4 else \
            "-grid3" if count <= 6 else "-grid4"
        panes.set_classes(layout)
        self.refresh_bindings()
        strip = self.query_one(NodeStrip)
        strip.display = single or len(self.panes) > 2
        self._refresh_strip()

    def _refresh_strip(self) -> None:
        strip = self.query_one(NodeStrip)
        if not strip.display:
            return
        sv = self.state.step(self.state.current) if self.state.current else None
        strip.show(node_rows(sv, list(self.panes)), self.selected_node)

    def on_resize(self) -> None:
        self.layout_panes()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do nothing now stay out of the footer, so the rest fits in 80 columns
        (they are all in F1 and the palette)."""
        if action == "cancel_command":
            return self.state.command_running
        if action == "skip":
            return self.decider.is_waiting
        if action == "toggle_side":
            return self.compact
        if action == "next_node":
            return len(self.panes) > 1 and (self.compact or len(self.panes) > 2)
        return True

    def action_next_node(self) -> None:
        shown = [n for n in self.panes if n in self.step_nodes] or list(self.panes)
        if not shown:
            return
        i = shown.index(self.selected_node) if self.selected_node in shown else -1
        self.selected_node = shown[(i + 1) % len(shown)]
        self.layout_panes()
        pane = self.panes[self.selected_node]
        pane.scroll_visible(animate=False)
        if not self.compact:
            pane.log_widget.focus()

    def action_toggle_side(self) -> None:
        """Steps and findings: always on the left of a large console; on a small one they
        replace the output until this is pressed again."""
        if not self.compact:
            self.query_one("#findings-scroll").focus()
            return
        self.toggle_class("-side")

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
        self._replan(self.params)
        plan = self.resume
        if plan is not None:
            from pverunbook.ui.runs import replay_events

            try:
                self.state.restore(replay_events(plan.journal_path), plan.info.statuses)
            except OSError as exc:
                self.rb_app.show_error(exc)
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
        self.engine.subscribe(m.EventPump(self.post_message))
        self.run_engine()

    @work(exclusive=True, group="run", exit_on_error=False, name="engine",
          description="runbook engine")
    async def run_engine(self) -> str:
        assert self.engine is not None
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

    def _status(self, text: str, *, bad: bool = False, waiting: bool = False) -> None:
        s = self.query_one("#run-status", Static)
        s.update(text)
        s.set_class(bad, "-bad")
        s.set_class(waiting, "-waiting")

    def _pane(self, node: str) -> NodePane:
        pane = self.panes.get(node)
        if pane is None:
            pane = NodePane(node)
            self.panes[node] = pane
            self.query_one("#panes").mount(pane)
        return pane

    def _titles(self) -> dict[str, str]:
        return {s.id: s.title for s in self.runbook.steps}

    def _show_detail(self, sv: StepView) -> None:
        if self.focus_step == sv.id and sv.attempt <= 1:
            self._show_commands(sv)
            return
        self.focus_step = sv.id
        step = sv.step
        title = Text()
        title.append(f"Step {sv.index + 1}/{len(self.state.steps)} · ", style="dim")
        title.append(step.title, style="bold")
        title.append(f"  [{step.kind.value}]", style="dim")
        if step.destructive:
            title.append("  ⚠ destructive: changes nodes", style="bold red")
        self.query_one("#step-title", Static).update(title)
        md: list[str] = []
        if step.explain:
            md.append(step.explain.strip())
        if step.kind is StepKind.MANUAL and step.instructions:
            md.append("**What to do:** " + step.instructions.strip())
        if step.hint and self.rb_app.mode in (Mode.REHEARSAL, Mode.DRY_RUN):
            md.append(f"> **Hint:** {step.hint.strip()}")
        self.query_one("#step-explain", Markdown).update("\n\n".join(md) or "*No explanation.*")
        self._show_commands(sv)

    def _show_commands(self, sv: StepView) -> None:
        text = Text()
        p = self.planned.get(sv.id)
        per_node: dict[str, list[str]] = {}
        if sv.results and any(r.commands for r in sv.results.values()):
            per_node = {n: r.commands for n, r in sv.results.items()}
        elif p is not None:
            per_node = p.commands
        if per_node:
            width = max(len(n) for n in per_node)
            for node, cmds in per_node.items():
                for c in cmds:
                    text.append(f"{node:<{width}} ", style="bold cyan")
                    text.append("$ ", style="dim")
                    text.append(c + "\n")
        elif sv.step.kind is StepKind.INPUT:
            text.append("Asks for: " + ", ".join(sv.step.params), style="dim")
        if p is not None and p.confirm:
            text.append(f"Asks you to type {p.confirm!r} before running.\n", style="yellow")
        self.query_one("#step-commands", Static).update(text)

    def _refresh_analysis(self, sv: StepView) -> None:
        outputs = {n: sv.lines(n) for n in sv.nodes if n in sv.output}
        self.query_one(CompareView).show(outputs)
        plot = self.query_one(NetPlot)
        plot.show(outputs)
        # Ping/mtr output is better read as plots: show them once per step when they appear.
        if plot.stats and self._network_shown_for != sv.id:
            self._network_shown_for = sv.id
            self.query_one("#analysis", TabbedContent).active = "tab-network"

    def _activity(self, line: str) -> None:
        self.query_one("#activity", Log).write_line(line)

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

    def _analysis_timer(self) -> None:
        self._analysis_due = False
        if self.state.current is not None:
            self._refresh_analysis(self.state.step(self.state.current))
            self._refresh_strip()

    @on(m.RunStarted)
    def _run_started(self, message: m.RunStarted) -> None:
        e = message.event
        self.state.apply(e)
        self._activity(f"run {e.run_id} started: {e.runbook_title} ({e.mode}, cluster "
                       f"{e.cluster}: {', '.join(e.nodes)})")

    @on(m.AwaitingOperator)
    def _awaiting(self, message: m.AwaitingOperator) -> None:
        self.state.waiting_index = message.index
        sv = self.state.steps[message.index]
        self.query_one(StepList).show(self.state)
        self._show_detail(sv)
        self.refresh_bindings()
        what = "⚠ destructive step — " if sv.step.destructive else ""
        self._status(f"{what}Next: step {sv.index + 1} “{sv.step.title}”. Press n (or Enter) "
                     "to run it · s skip · j jump · r re-run previous", waiting=True)

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
                     f"{', '.join(e.nodes) or 'this console'} · c cancels")
        self._activity(f"step {e.step_id} started (attempt {e.attempt})")

    @on(m.CommandStarted)
    def _command_started(self, message: m.CommandStarted) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        self._pane(e.node).show_result(sv.results[e.node])
        self._show_commands(sv)
        self.refresh_bindings()

    @on(m.CommandFinished)
    def _command_finished(self, message: m.CommandFinished) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        self._pane(e.node).show_result(sv.results[e.node])
        self._refresh_analysis(sv)
        self._refresh_strip()
        self.refresh_bindings()
        if e.error:
            self._activity(f"{e.node}: {e.error}")

    @on(m.StepFinished)
    def _step_finished(self, message: m.StepFinished) -> None:
        e = message.event
        self.state.apply(e)
        sv = self.state.step(e.step_id)
        for r in sv.results.values():
            self._pane(r.node).show_result(r)
        self.query_one(StepList).show(self.state)
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
            self._activity(f"{e.what} for {e.step_id}: "
                           f"{'accepted' if e.accepted else 'refused'}"
                           + (f" (typed {e.typed!r})" if e.typed else ""))
        elif isinstance(e, ev.ConfirmationRequested):
            self._status(f"Needs you: {e.prompt.splitlines()[0] if e.prompt else e.what}",
                         waiting=True)

    @on(m.JournalNote)
    def _note(self, message: m.JournalNote) -> None:
        e = message.event
        self.state.apply(e)
        if isinstance(e, ev.Note):
            self._activity(f"{e.level}: {e.text}")
            if e.level == "error":
                self.notify(e.text, severity="error", title="Error")
            elif e.level == "warning":
                self.notify(e.text, severity="warning")
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
        self.state.apply(e)
        self.query_one(StepList).show(self.state)
        self._status(f"Run finished: {e.status}" + (f" — {e.message}" if e.message else "")
                     + " · n summary · b runbooks · o journal",
                     bad=e.status not in ("ok", "planned"))
        self._activity(f"run finished: {e.status} {e.message}")
        self.rb_app.run_finished(self.runbook.title, e.status,
                                 self.engine.journal_path if self.engine else None)
        if e.status != "interrupted":
            self.show_summary()

    def show_summary(self) -> None:
        from pverunbook.ui.screens.summary import SummaryScreen

        if self.app.screen is self:
            self.app.push_screen(SummaryScreen(self.state, self.engine.journal_path
                                               if self.engine else None))

    # -- actions -----------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.decider.decide(StepDecision()):
            return
        if self.state.finished is not None:
            self.show_summary()
        elif self.state.running_step is not None:
            self.notify("A step is running; wait for it, or press c to cancel it.",
                        title="Busy")

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

        def done(reason: str | None) -> None:
            if reason:
                self.decider.decide(StepDecision(StepAction.SKIP, reason=reason))

        self.app.push_screen(TextPromptModal(
            f"Skip “{sv.step.title}”?", "Why are you skipping this step? The reason is written "
            "to the journal and the incident report.", placeholder="e.g. done by hand already"),
            done)

    def action_cancel_command(self) -> None:
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

    def action_journal(self) -> None:
        from pverunbook.ui.screens.journal import JournalScreen

        path = self.engine.journal_path if self.engine else None
        self.app.push_screen(JournalScreen(path))

    def action_quit_run(self) -> None:
        if not self.state.command_running:
            self.rb_app.request_quit()
            return
        from pverunbook.ui.screens.modals import Choice, ChoiceModal

        sv = self.state.running_step
        nodes = ", ".join(r.node for r in sv.results.values() if r.status == "running") \
            if sv else ""

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.app.exit()

        self.app.push_screen(ChoiceModal(
            "A command is running",
            f"**{sv.step.title if sv else ''}** is still running on **{nodes}**. Quitting "
            "cancels it there; the journal records the run as interrupted and "
            "`pverunbook run --resume` continues later.",
            [Choice("quit", "Quit and cancel it", "y", "error"),
             Choice("stay", "Stay", "n", "primary")], cancel="stay", danger=True), done)

    def help_text(self) -> str:
        """For F1: what the screen shows, what to do now, and the step in focus (hint, why)."""
        parts = ["**What this shows:** the runbook's steps (left) and findings, the current "
                 "step's explanation and commands, each node's live output"
                 + (" one node at a time (**v** switches; the strip lists every node)"
                    if self.compact else "") + ", and below it a comparison of the nodes."]
        if self.state.finished is not None:
            parts.append("**What to do now:** the run is over: **n** shows the summary, **b** "
                         "goes back to the runbook list (the cluster stays as it is now).")
        elif self.state.command_running:
            parts.append("**What to do now:** a command is running: watch the output; **c** "
                         "cancels it on every node.")
        else:
            parts.append("**What to do now:** read the step, then **n** (or Enter) runs it; "
                         "**s** skips it with a reason; **$** opens a shell on a node.")
        sid = self.focus_step
        if sid is None:
            return "\n\n".join(parts)
        step = self.runbook.step(sid)
        parts.append(f"### Current step: {step.title}")
        if step.hint:
            parts.append(f"**Hint:** {step.hint}")
        if step.explain:
            parts.append(f"**Why:** {step.explain.strip()}")
        if step.instructions:
            parts.append(f"**Instructions:** {step.instructions.strip()}")
        return "\n\n".join(parts)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            ("Next step", "Run the next step (n)", self.action_next),
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
            ("Back to runbooks", "The runbook list (b); stops an unfinished run first",
             self.action_runbooks),
        ]
