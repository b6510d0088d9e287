"""The TUI's answer to the engine's questions: modals pushed from the engine's worker.

The engine runs inside an async worker, so ``push_screen_wait`` may be awaited directly here.
``before_step`` waits on a future that the run screen's actions (next / skip / jump / re-run)
resolve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    Answer,
    CheckpointFailure,
    ConfirmRequest,
    FailureChoice,
    GuardFailure,
    Refusal,
    StepAction,
    StepDecision,
    not_read_only,
    read_only,
)
from pverunbook.engine.outcomes import ended_words
from pverunbook.runbook.model import Param, Step
from pverunbook.ui.messages import AwaitingOperator, UnknownOutcome
from pverunbook.ui.screens.modals import (
    FOLD,
    CheckpointFailedModal,
    Choice,
    ChoiceModal,
    ConfirmModal,
)

if TYPE_CHECKING:
    from textual.screen import Screen

    from pverunbook.ui.screens.run import RunScreen

T = TypeVar("T")


#: How the app asks to confirm a manual step: the runbooks' instructions end with "Confirm
#: when …" (runbooks/README.md), which reads right here and on the headless CLI's
#: "confirm, done? [y/N]"; "answer yes" matched neither.
MANUAL_CONFIRM_TUI = ("To confirm, choose **Done** (d). **Escape** folds this away so you can "
                      "look first (**n** brings it back); **Not done** (x) stops the run here.")
#: The same for a manual step nothing destructive depends on (engine ``advisory``).
MANUAL_ADVISORY_TUI = ("To confirm, choose **Done** (d). **Escape** folds this away so you can "
                       "look first (**n** brings it back); **Not done** (x) leaves it to you: "
                       "nothing destructive depends on it, so the run goes on and its summary "
                       "lists it as not done.")


class TuiDecider:
    def __init__(self, screen: RunScreen) -> None:
        self.screen = screen
        self.waiting: asyncio.Future[StepDecision] | None = None
        #: A step to run without waiting for "next" (set by re-run).
        self.auto_run: str | None = None
        #: Set while a failure question is folded away (Escape): ``n`` on the run screen
        #: brings it back.
        self.folded: asyncio.Future[None] | None = None
        #: What the engine said about a step before asking for its input (proposals, notes),
        #: by step id; collected by :meth:`observe` as the events are emitted.
        self.said: dict[str, list[ev.Event]] = {}
        #: "Run the read-only steps" (a): steps the engine calls read-only run without waiting
        #: for "next". It pauses before a step that is not (it needs the operator: n runs it,
        #: with its own confirmation) and goes on after the operator's answer; it ends at a
        #: step that does not end ok, or with the run.
        self.reading = False
        #: The step the engine waits to run (set with ``waiting``).
        self.waiting_step: Step | None = None

    def observe(self, event: ev.Event) -> None:
        """An engine subscriber: keeps an input step's proposals (``ValueProposed``) and notes
        so the question shows why a value is proposed. Runs in the engine's emit, before the
        engine asks, so nothing here depends on the screen's message queue."""
        if isinstance(event, ev.ValueProposed | ev.Note) and event.step_id:
            self.said.setdefault(event.step_id, []).append(event)
        # "skipped": an advisory manual step answered Not done, after which the run goes on
        if isinstance(event, ev.StepFinished) and self.reading and \
                event.status not in ("ok", "planned", "skipped"):
            self.reading = False  # a failure stops the read-only run before its question
            self.screen.notify(f"Stopped: step “{event.step_id}” ended {event.status}.",
                               title="Read-only steps", timeout=8)

    async def before_step(self, step: Step, index: int) -> StepDecision:
        if self.auto_run == step.id:
            self.auto_run = None
            return StepDecision()
        if self.reading:
            why = not_read_only(step)
            if not why:
                return StepDecision()
            # paused, not over: the operator answers this step (n runs it, with its own
            # confirmation; s, j), and the read-only steps after it go on by themselves
            self.screen.notify(f"Paused before step {index + 1} “{step.title}”: {why}. "
                               "Press n to run it; the read-only steps after it then go on.",
                               title="Read-only steps", timeout=8)
        fut: asyncio.Future[StepDecision] = asyncio.get_running_loop().create_future()
        self.waiting = fut
        self.waiting_step = step
        self.screen.post_message(AwaitingOperator(index))
        try:
            return await fut
        finally:
            self.waiting = None

    def decide(self, decision: StepDecision) -> bool:
        """Resolve a pending ``before_step``; False when the engine is not waiting."""
        fut = self.waiting
        if fut is None or fut.done():
            return False
        fut.set_result(decision)
        return True

    def read_on(self) -> str:
        """Run the waiting step and the ones after it while the engine calls them read-only
        (``not_read_only``); pause before one that changes something or asks, until the
        operator answered it, then go on; stop after one that does not end ok. Returns ""
        when started, else why not (in words)."""
        step = self.waiting_step
        if not self.is_waiting or step is None:
            return "Between steps only: wait for the running step, or cancel it (c)."
        why = not_read_only(step)
        if why and self.reading:  # paused at a step that needs the operator: a again ends it
            self.reading = False
            self.screen.notify("Read-only steps off: n runs one step at a time.",
                               title="Read-only steps", timeout=6)
            return ""
        if why:
            return f"The next step, “{step.title}”, is not read-only: {why}. Press n to run it."
        self.reading = True
        self.decide(StepDecision())
        return ""

    async def ask(self, question: Screen[T]) -> T:
        """Push ``question`` and wait for its answer; a quit question open on top is asked
        again over it (:func:`pverunbook.ui.quitting.ask_over_quit`)."""
        from pverunbook.ui.quitting import ask_over_quit

        answer: T = await ask_over_quit(self.screen.app, question)
        return answer

    @property
    def is_waiting(self) -> bool:
        return self.waiting is not None and not self.waiting.done()

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.what == "commit":
            from pverunbook.ui.screens.commit_modal import CommitModal

            answer = await self.ask(CommitModal(request))
            if answer != request.expected:  # the question is gone: say what the nodes do
                from pverunbook.engine.rollback import MARGIN
                from pverunbook.ui.rollback_wait import RollbackWait

                self.screen.rollback_waiting(RollbackWait(
                    request.step.id, request.checkpoint_id, request.nodes,
                    request.deadline + MARGIN, isinstance(answer, Refusal) and answer.now))
            return answer
        if request.what == "contradicts facts":
            from pverunbook.ui.screens.modals import TextPromptModal

            return await self.ask(TextPromptModal(
                f"⚠ Contradicts the facts: {request.step.title}", request.prompt,
                placeholder=f"type: {request.expected}"))
        while True:
            answer = await self.ask(
                ConfirmModal(request, request.step.no_backup_reason))
            if answer != FOLD:
                return answer
            # Escape: look first. Nothing runs and the run waits; n brings the question back.
            await self.fold("Confirmation waiting",
                            f"Needs you: “{request.step.title}” waits for you to type "
                            f"{request.expected!r}")

    async def manual_done(self, step: Step, instructions: str) -> bool:
        """Done / Not done; Escape folds the question away (as at a failed step or a typed
        confirmation): a stray Escape never ends the run."""
        engine = getattr(self.screen, "engine", None)
        goes_on = engine is not None and engine.advisory(step)
        not_done = ("leaves it to you and the run goes on (nothing destructive depends on it)"
                    if goes_on else "stops the run here")
        while True:
            choice = await self.ask(ChoiceModal(
                f"Manual step: {step.title}",
                f"{instructions}\n\n{MANUAL_ADVISORY_TUI if goes_on else MANUAL_CONFIRM_TUI}",
                [Choice("done", "Done", "d", "success"), Choice("not", "Not done", "x"),
                 Choice("look", "Look first", "l")],
                cancel="look", shell=True,
                help="**What this asks:** this step is done by hand (at the rack, in a "
                     "switch's UI, on a console): pverunbook cannot do or check it. The "
                     "instructions say what to do.\n\nChoosing **Done** journals that you "
                     f"did it and the run goes on; **Not done** {not_done}; **Look "
                     "first** (Escape) folds this question away to read the output, and **n** "
                     "brings it back. **$** opens a shell on a node meanwhile."))
            if choice != "look":
                return choice == "done"
            await self.fold("Manual step waiting",
                            f"Needs you: manual step “{step.title}” waits for Done / Not done")

    async def ask_params(self, step: Step, params: list[Param],
                         current: dict[str, Any]) -> dict[str, Any] | None:
        from pverunbook.ui.screens.params import ParamsModal

        said = self.said.pop(step.id, [])
        proposals = {e.param: e.reason for e in said if isinstance(e, ev.ValueProposed)}
        notes = [e.text for e in said if isinstance(e, ev.Note)]
        shown: Mapping[str, Any] = current
        while True:
            modal = ParamsModal(step.title, params, shown, proposals=proposals, notes=notes,
                                recalled=shown is not current)
            answer = await self.ask(modal)
            if not isinstance(answer, str):
                return answer
            # Escape: look first; the question comes back (n) with what was typed so far —
            # the operator folded it to check a value, not to type the others again
            shown = {**current, **modal.typed}
            await self.fold("Input waiting",
                            f"Needs you: “{step.title}” waits for its values")

    async def after_failure(self, step: Step, status: str) -> FailureChoice:
        sv = self.screen.state.step(step.id)
        # The step's StepFinished (with the engine's message) is queued for the screen: let it
        # land first, so the question says what broke (bounded: half a second at most).
        for _ in range(50):
            if sv.state not in ("running", "pending", "next"):
                break
            await asyncio.sleep(0.01)
        body = (f"**{step.title}** ended **{ended_words(step, status)}**"
                + (f": {sv.message}" if sv.message else ".")
                + _why_nodes(sv.results)
                + "\n\nLook at each node's output and the findings before choosing: "
                  "**Escape** (or **l**) folds this question away to read them, **n** brings "
                  "it back."
                + (f"\n\n*Hint:* {step.hint}" if step.hint else ""))
        guarded = self.guarded(step)
        if guarded:
            body += (f"\n\n**⚠ This step guards the destructive step(s) {', '.join(guarded)}.** "
                     "Skipping it needs an override phrase and a reason.")
        choices = [Choice("rerun", "Re-run", "r", "primary"), Choice("skip", "Skip", "s")]
        follow = step.on_failure.action.value
        if follow == "continue":
            choices.append(Choice("follow", "Continue", "c"))
        elif follow == "goto":
            choices.append(Choice("follow", f"Go to {step.on_failure.goto}", "g"))
        # on_failure = "stop" follows the runbook by stopping: that is Abort, offered once
        choices += [Choice("look", "Look first", "l"),
                    Choice("abort", "Abort run", "a", "error")]
        while True:
            choice = await self.ask(ChoiceModal(
                f"Step {status.replace('_', ' ')}: {step.title}", body, choices,
                cancel="look", danger=True,
                help=f"**What this asks:** “{step.title}” did not succeed, and the run waits "
                     "for you before going on.\n\n**Re-run** runs it again (after you fixed "
                     "something, e.g. in a shell); **Skip** goes on without it; "
                     + ("**Continue** / **Go to** does what the runbook's author chose for "
                        "this failure (its `on_failure`); " if follow != "stop" else "")
                     + "**Look first** (Escape) folds this question away so you "
                     "can read every node's output and the findings, and **n** brings it "
                     "back; **Abort run** stops here (the journal keeps everything; the run "
                     "can be resumed)."))
            if choice != "look":
                return FailureChoice(choice)
            await self.fold()

    def guarded(self, step: Step) -> list[str]:
        """The destructive steps ``step`` guards (engine/guard_skip.py), by id."""
        from pverunbook.engine.guard_skip import guarded_by

        engine = self.screen.engine
        if engine is None:
            return []
        runbook = engine.runbook
        index = next((i for i, s in enumerate(runbook.steps) if s.id == step.id), None)
        return [] if index is None else [s.id for s in guarded_by(runbook, index)]

    async def fold(self, title: str = "Step failed", status: str = "") -> None:
        """A question (a failed step's, a typed confirmation) is folded away: wait until the
        operator asks for it again (``n`` / Enter on the run screen, see :meth:`unfold`);
        ``status`` replaces the run screen's status line meanwhile."""
        self.folded = asyncio.get_running_loop().create_future()
        if status:
            self.screen.set_status(status, waiting=True,
                                   keys=(("next", "brings the question back"),))
        self.screen.notify("The run waits for your answer: read the output, then press n to "
                           "answer.", title=title, timeout=6)
        app = self.screen.app

        def covered(top: object) -> None:
            # a dialog opened over the run (Quit, where n is Stay): "press n" is not for it
            if top is not self.screen:
                app.clear_notifications()

        app.screen_change_signal.subscribe(self.screen, covered)
        try:
            await self.folded
        finally:
            app.screen_change_signal.unsubscribe(self.screen)
            self.folded = None
            # "press n to answer" is stale once the question is back; it lay over the
            # question (half a destructive step's command list at 80x24) for six seconds
            self.screen.app.clear_notifications()

    def unfold(self) -> bool:
        """Bring a folded failure question back; False when none is folded."""
        fut = self.folded
        if fut is None or fut.done():
            return False
        fut.set_result(None)
        return True

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        """Retry / Abort / Override; Escape folds the question away (as everywhere else):
        nothing runs, n brings it back."""
        while True:
            answer = await self.ask(CheckpointFailedModal(failure))
            if answer != FOLD:
                return answer
            await self.fold("Checkpoint failed",
                            f"Needs you: the checkpoint before “{failure.step.title}” failed: "
                            "Retry, Abort or Override")

    async def guard_failed(self, failure: GuardFailure) -> Answer | None:
        """Skip on a guard: the phrase and a reason (guard_modal.py); Escape (None) goes back
        to the failure question and nothing is skipped."""
        from pverunbook.ui.screens.guard_modal import GuardOverrideModal

        # the engine's StepSkipped carries the reason ("guard override: ...")
        return await self.ask(GuardOverrideModal(failure))

    async def unknown_outcome(self, step: Step, why: str = "") -> FailureChoice:
        """A resumed run's step that was running when the last one died: re-run, skip (with a
        reason, journaled as a note next to the engine's StepSkipped) or abort."""
        from pverunbook.ui.screens.modals import TextPromptModal

        self.screen.post_message(UnknownOutcome(step.id))
        while True:
            choice = await self.ask(ChoiceModal(
                f"Outcome unknown: {step.title}",
                f"**{step.title}**: {why or 'it was running when the previous run stopped'}."
                + (" Re-run it to get its evidence, or skip it."
                   if read_only(step) else
                   " Check the nodes, then re-run it or skip it."),
                [Choice("rerun", "Re-run", "r", "primary"), Choice("skip", "Skip", "s"),
                 Choice("abort", "Abort", "a", "error")],
                cancel="abort", danger=True))
            if choice == "rerun":
                # The operator already said so: no second "next" before it runs.
                self.auto_run = step.id
            if choice != "skip":
                return FailureChoice(choice)
            if self.guarded(step):
                return FailureChoice.SKIP  # the engine asks for the override and its reason
            reason = await self.ask(TextPromptModal(
                f"Skip “{step.title}”?",
                "Why is it safe to go on without re-running this step? The reason is written "
                "to the journal and the incident report (Escape: back to the choice).",
                placeholder="e.g. checked on the nodes: it had finished"))
            if reason is None:
                continue
            engine = self.screen.engine
            if engine is not None:
                engine.emit(ev.Note(step_id=step.id,
                                    text=f"operator skips '{step.id}' (outcome unknown after "
                                         f"the previous run stopped): {reason}"))
            self.screen.skip_reasons[step.id] = reason
            return FailureChoice.SKIP

    async def connection_lost(self, node: str, step: Step) -> bool:
        choice = await self.ask(ChoiceModal(
            f"Connection to {node} lost",
            f"The connection to **{node}** dropped during **{step.title}**. The command may or "
            "may not have finished there. Reconnect (with backoff) or stop this run; the "
            "journal keeps everything so far.",
            [Choice("reconnect", "Reconnect", "r", "primary"), Choice("stop", "Stop", "x")],
            cancel="stop", danger=True))
        return choice == "reconnect"


__all__ = ["StepAction", "StepDecision", "TuiDecider"]


#: At most this many failed nodes are named in the failure question (the rest are counted).
WHY_NODES = 6


def _why_nodes(results: Mapping[str, Any]) -> str:
    """Each node the step did not succeed on, with what its pane says ("exit 0, check failed:
    This node has no host route …"): the engine's message names only the nodes ("pve001:
    failed"), and the reason was behind the question, in a pane."""
    bad = [(node, r.outcome) for node, r in results.items()
           if r.status not in ("ok", "findings", "waiting", "running", "skipped") and r.outcome]
    if not bad:
        return ""
    lines = [f"\n- **{node}**: {outcome}" for node, outcome in bad[:WHY_NODES]]
    more = len(bad) - WHY_NODES
    return "\n" + "".join(lines) + (f"\n- … and {more} more node(s)" if more > 0 else "")

