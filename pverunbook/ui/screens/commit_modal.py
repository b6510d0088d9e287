"""Type COMMIT before the rollback timers fire: the question after a ``commit_within`` step.

The change ran and its checks passed; every node holds a timer that restores the checkpoint at
the deadline. The modal counts down to it (one label, refreshed each second) and closes by
itself with no answer when the time is up: from then on the nodes roll back on their own.
It is a :class:`ConfirmModal` (same input, same refusal messages), so everything that answers
a confirmation answers this one too.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from pverunbook.ui.screens.modals import ConfirmModal


class CommitModal(ConfirmModal):
    """COMMIT keeps the change; Escape or the deadline lets the timers restore the checkpoint.

    Escape is not "look first" here: the countdown runs on the nodes whatever the app shows,
    so the question stays up until it is answered or the time is over."""

    BINDINGS = [Binding("escape", "cancel", "Roll back", id="modal.cancel",
                        tooltip="Let every node restore the checkpoint now")]

    def help_text(self) -> str:
        r = self.request
        return (f"**What this asks:** “{r.step.title}” changed **{', '.join(r.nodes)}** and "
                "the checks that prove it worked passed. Before it ran, each of these nodes "
                "armed a timer that puts the checkpointed files back.\n\n"
                f"**What to do now:** if the cluster looks right, type **{r.expected}** and "
                "press Enter: the timers are stopped and verified gone. **Escape**, or no "
                "answer before the countdown ends, lets every node restore the checkpoint by "
                "itself (its log: /var/log/pverunbook-rollback.log on each node).")

    def compose(self) -> ComposeResult:
        r = self.request
        with VerticalScroll(classes="dialog -danger", id="confirm-dialog"):
            yield Label(f"⏱ Keep the change? {r.step.title}", classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Commit", variant="error", id="confirm-ok")
                yield Button("Roll back (esc)", id="confirm-cancel")
            yield Static(r.prompt, classes="dialog-text", markup=False)
            yield Label(self._left_text(), id="commit-countdown", classes="dialog-text -bold")
            yield Label(f"Type [b]{r.expected}[/b] to keep it (Escape rolls back):",
                        classes="dialog-text -bold")
            yield Input(id="confirm-input")
            yield Static("", id="confirm-error", classes="dialog-error")
        yield Footer()

    def _left(self) -> float:
        return self.request.deadline - time.time()

    def _left_text(self) -> str:
        left = max(self._left(), 0.0)
        return (f"Rollback in {int(left) // 60}:{int(left) % 60:02d} on "
                f"{', '.join(self.request.nodes)}")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self._left() <= 0:
            self.dismiss(None)
            return
        self.query_one("#commit-countdown", Label).update(self._left_text())
