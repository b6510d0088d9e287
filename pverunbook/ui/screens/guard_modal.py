"""Going past a failed guard: the phrase and a reason, never one key (engine/guard_skip.py).

Built like the checkpoint override (:class:`CheckpointFailedModal`): the exact phrase typed,
plus a reason that goes into the journal and the report. Escape goes back to the failure
question; nothing runs meanwhile.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from pverunbook.engine.decisions import (
    GUARD_OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    GuardFailure,
)
from pverunbook.ui.screens.modals import Dialog
from pverunbook.ui.widgets.footer import KeyFooter


class GuardOverrideModal(Dialog[Answer | None]):
    """A step that guards destructive steps failed and the operator chose Skip."""

    BINDINGS = [Binding("escape", "back", "Back", id="modal.cancel",
                        tooltip="Back to the failure question; nothing is skipped")]
    HELP = ("**What this asks:** the step you want to skip is a *guard*: it checks what must "
            "hold before the destructive steps after it. Skipping it lets them run although "
            "that was not confirmed.\n\n**What to do now:** usually **Back** (Escape), fix "
            "what it found and re-run it, or abort. To skip it anyway, type the exact phrase "
            "and why it is safe; both go into the journal and the report, and every later "
            "confirmation says the guard was skipped.")

    def __init__(self, failure: GuardFailure) -> None:
        super().__init__(classes="modal checkpoint-modal")
        self.failure = failure

    def compose(self) -> ComposeResult:
        f = self.failure
        with VerticalScroll(classes="dialog -danger", id="guard-dialog"):
            yield Label(f"⚠ Skip a guard: {f.step.title}", classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Back (esc)", variant="primary", id="guard-back")
                yield Button("Skip the guard", variant="error", id="guard-override")
            yield Static(f"“{f.step.title}” ({f.step.id}) {f.status.replace('_', ' ')}"
                         + (f": {f.message}" if f.message else "") + ". It guards the "
                         f"destructive step(s) {', '.join(f.guarded)}: they would run without "
                         "what it checks.", classes="dialog-text", markup=False)
            yield Static(f"To skip it anyway, type exactly: [b]{GUARD_OVERRIDE_PHRASE}[/b]",
                         classes="dialog-text")
            yield Input(placeholder="type the phrase", id="guard-phrase")
            yield Static("Why is it safe to go on without it? (journaled, in the report)",
                         classes="dialog-text")
            yield Input(placeholder="e.g. checked quorum by hand on every peer", id="guard-reason")
            yield Static("", id="guard-error", classes="dialog-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#guard-error").display = False
        self.query_one("#guard-phrase", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#guard-back")
    def _back(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#guard-phrase")
    def _to_reason(self) -> None:
        self.query_one("#guard-reason", Input).focus()

    @on(Button.Pressed, "#guard-override")
    @on(Input.Submitted, "#guard-reason")
    def _override(self) -> None:
        typed = self.query_one("#guard-phrase", Input).value.strip()
        reason = " ".join(self.query_one("#guard-reason", Input).value.split())
        err = self.query_one("#guard-error", Static)
        if typed != GUARD_OVERRIDE_PHRASE:
            err.update(f"Not the phrase. Type exactly: {GUARD_OVERRIDE_PHRASE}")
            err.display = True
            return
        if not reason:
            err.update("A reason is required: it goes into the journal and the report.")
            err.display = True
            return
        self.dismiss(Answer(CheckpointChoice.OVERRIDE, text=typed, reason=reason))
