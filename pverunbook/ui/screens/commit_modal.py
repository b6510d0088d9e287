"""Type COMMIT before the rollback timers fire: the question after a ``commit_within`` step.

The change ran and its checks passed; every node holds a timer that restores the checkpoint at
the deadline. The modal counts down to it (one label, refreshed each second) and closes by
itself with no answer when the time is up: from then on the nodes roll back on their own.
It is a :class:`ConfirmModal` (same input), so everything that answers a confirmation answers
this one too; its refusals say that the change has run and what happens to it.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from pverunbook.engine.decisions import ROLLED_BACK, Refusal
from pverunbook.ui.screens.modals import ConfirmModal, TypedInput
from pverunbook.ui.widgets.footer import KeyFooter


class CommitModal(ConfirmModal):
    """COMMIT keeps the change; "Roll back now" fires the timers at once; at the deadline
    they restore the checkpoint by themselves.

    Escape is not "look first" here (the countdown runs on the nodes whatever the app shows,
    so the question stays up until it is answered or the time is over), and it is not a
    silent "roll back" either: everywhere else Escape means "nothing happens", so here it
    asks whether to roll the change back now."""

    BINDINGS = [Binding("escape", "ask_rollback", "Roll back?", id="modal.cancel",
                        tooltip="Asks whether to roll the change back now")]

    def help_text(self) -> str:
        r = self.request
        return (f"**What this asks:** “{r.step.title}” changed **{', '.join(r.nodes)}** and "
                "the checks that prove it worked passed. Before it ran, each of these nodes "
                "armed a timer that puts the checkpointed files back.\n\n"
                f"**What to do now:** if the cluster looks right, type **{r.expected}** and "
                "press Enter: the timers are stopped and verified gone. **Roll back now** "
                "(Escape asks first) makes every node restore the checkpoint at once; no "
                "answer before the countdown ends lets every node restore it by itself (its "
                "log: /var/log/pverunbook-rollback.log on each node).")

    def compose(self) -> ComposeResult:
        r = self.request
        with VerticalScroll(classes="dialog -danger", id="confirm-dialog"):
            yield Label(f"⏱ Keep the change? {r.step.title}", classes="dialog-title")
            # Not the engine's prompt: it says "within N s" as of when it was asked, and it
            # stood still beside the countdown. The time left has one source, the deadline.
            yield Static(f"“{r.step.title}” has run on {', '.join(r.nodes)} and the checks "
                         "after it passed.", classes="dialog-text", markup=False)
            if r.warning:  # a node whose timer is gone: never left out without a word
                yield Static(r.warning, id="commit-no-timer", classes="dialog-text -warn",
                             markup=False)
            # The foot (docked, as the destructive steps' confirmations have it): the
            # countdown, the field and the buttons stay in view while a long warning scrolls
            # above them; the field scrolled away with the text.
            with Vertical(id="confirm-foot"):
                # A Label is as wide as its text and the dialog cuts it at 80 columns; this
                # sentence's end (what the nodes restore) is the point, so it wraps instead.
                yield Label(self._left_text(), id="commit-countdown",
                            classes="dialog-text -bold -wrap")
                yield Label(f"Type [b]{r.expected}[/b] to keep it, or choose Roll back now:",
                            classes="dialog-text -bold")
                yield TypedInput(id="confirm-input")
                yield Static("", id="confirm-error", classes="dialog-error")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Commit", variant="error", id="confirm-ok")
                    yield Button("Roll back now", id="confirm-cancel")
        yield KeyFooter()

    def refusal(self, typed: str) -> str:
        """The change has run: a wrong answer keeps the countdown going, it undoes nothing."""
        expected = self.request.expected
        if not typed:
            return (f"Enter alone never confirms: type {expected!r} to keep the change, or "
                    "choose Roll back now not to keep it.")
        return (f"{typed!r} is not {expected!r}: the change has run and stays until the "
                f"countdown ends, then every node rolls it back. Type {expected!r} exactly "
                "to keep it, or choose Roll back now not to keep it.")

    def action_cancel(self) -> None:
        """Roll back now: refused on purpose (journaled as the operator's, not as "no answer
        in time"), and the nodes' timers fire at once (engine/rollback.py ``_fire_now``)."""
        self.dismiss(Refusal(ROLLED_BACK, now=True))

    def action_ask_rollback(self) -> None:
        """Escape: roll the change back now? Asked, never assumed (newcomer: one Escape rolled
        the change back while the run went on as if all was well)."""
        from pverunbook.ui.screens.modals import Choice, ChoiceModal

        def answered(choice: str | None) -> None:
            if choice == "rollback":
                self.action_cancel()

        self.app.push_screen(ChoiceModal(
            "Roll the change back now?",
            f"“{self.request.step.title}” has run on {', '.join(self.request.nodes)}. Rolling "
            "back makes every node's timer restore the checkpoint now; keeping the question "
            f"open lets you still type {self.request.expected}."
            + (f" {self.request.warning}" if self.request.warning else ""),
            [Choice("rollback", "Roll back now", "y", "error"),
             Choice("keep", "Keep the question", "n", "primary")], cancel="keep",
            danger=True), answered)

    def _left(self) -> float:
        return self.request.deadline - time.time()

    def _left_text(self) -> str:
        r = self.request
        left = max(self._left(), 0.0)
        cp = f" checkpoint {r.checkpoint_id}" if r.checkpoint_id else " the checkpoint"
        return (f"Type {r.expected} within {int(left) // 60}:{int(left) % 60:02d} to keep it; "
                f"otherwise every node ({', '.join(r.nodes)}) restores{cp} by itself.")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self._left() <= 0:
            self.dismiss(None)
            return
        self.query_one("#commit-countdown", Label).update(self._left_text())
