"""Modal questions the engine (through the TUI decider) and the run screen ask the operator.

Every modal has a safe way out (Escape), and none confirms anything on Enter alone: typed
confirmations need the exact text, and choices are explicit buttons or keys. Every modal shows
its keys in its own footer and answers F1 with what it asks; its buttons never fall below the
fold, at 80×24 too (see :class:`Dialog`, in ``dialog``; the typed confirmation is in
``confirm_modal``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    CheckpointFailure,
)

# the typed confirmation and the base dialog live in their own modules; importers of this
# one find them here too
from pverunbook.ui.screens.confirm_modal import FOLD as FOLD
from pverunbook.ui.screens.confirm_modal import ConfirmModal as ConfirmModal
from pverunbook.ui.screens.confirm_modal import TypedInput as TypedInput
from pverunbook.ui.screens.dialog import Dialog as Dialog
from pverunbook.ui.screens.dialog import R as R
from pverunbook.ui.widgets.footer import KeyFooter


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    key: str
    variant: str = "default"


#: Columns for a dialog's buttons at 80 columns (the dialog's border and padding left out).
BUTTON_ROW = 76


def button_rows(labels: list[str]) -> list[list[int]]:
    """The buttons (by index) on one row, or on two when one row would be cut at 80 columns
    ("Go to ha-start (g)  Look first (l)  Abo▎"): Textual's rows do not wrap. A button is
    its label, its padding and margin (Textual's ``Button``: ``min-width: 16``, one cell of
    ``line-pad`` each side; the dialogs' ``padding: 0 1``, ``margin-left`` 1 or 2)."""
    width = sum(max(len(t) + 4, 16) + 2 for t in labels)
    if width <= BUTTON_ROW or len(labels) < 2:
        return [list(range(len(labels)))]
    half = (len(labels) + 1) // 2
    return [list(range(half)), list(range(half, len(labels)))]


class ChoiceModal(Dialog[str]):
    """A question with explicit choices: buttons, and one key each (bound, so the footer shows
    them); Escape picks ``cancel``. ``help`` is the F1 text (what is asked, what each answer
    does); without it F1 repeats the question."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Safe choice")]

    def __init__(self, title: str, body: str, choices: list[Choice], cancel: str,
                 *, danger: bool = False, markdown: bool = True, help: str = "",  # noqa: A002
                 shell: bool = False) -> None:
        super().__init__(classes="modal choice-modal")
        self.title_text = title
        self.body = body
        self.choices = choices
        self.cancel_value = cancel
        self.danger = danger
        self.markdown = markdown
        self.help = help
        for c in choices:
            self._bindings.bind(c.key, f"choose('{c.value}')", c.label, show=True)
        if any(c.value == cancel for c in choices):
            # Escape picks a choice the footer shows with its own key: "esc Cancel" beside
            # "l Look first" cost the room of "a Abort run" at 60 columns
            keys = self._bindings.key_to_bindings
            keys["escape"] = [replace(b, show=False) for b in keys.get("escape", [])]
        if shell:  # a manual step is often done in a shell on a node: $ works here too
            self._bindings.bind("dollar_sign", "shell", "Shell", show=True)

    def action_shell(self) -> None:
        open_shell = getattr(self.app, "open_shell", None)
        if open_shell is not None:
            open_shell()

    def help_text(self) -> str:
        keys = ", ".join(f"**{c.key}** {c.label}" for c in self.choices)
        cancel = next((c.label for c in self.choices if c.value == self.cancel_value),
                      self.cancel_value)
        what = self.help or f"**What this asks:** {self.title_text}.\n\n{self.body}"
        return (f"{what}\n\n**What to do now:** choose with a key or a button: {keys}. "
                f"**Escape** is the safe answer: {cancel}.")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog" + (" -danger" if self.danger else ""),
                            id="choice-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            rows = button_rows([f"{c.label} ({c.key})" for c in self.choices])
            if len(rows) == 1:
                with Horizontal(classes="dialog-buttons"):
                    yield from self._buttons(rows[0])
            else:
                with Vertical(classes="dialog-buttons -rows"):
                    for row in rows:
                        with Horizontal(classes="dialog-button-row"):
                            yield from self._buttons(row)
            with Vertical(classes="dialog-body"):
                if self.markdown:
                    yield Markdown(self.body)
                else:
                    yield Static(self.body, markup=False)
        yield KeyFooter()

    def _buttons(self, indexes: list[int]) -> ComposeResult:
        for i in indexes:
            c = self.choices[i]
            yield Button(f"{c.label} ({c.key})", variant=c.variant,  # type: ignore[arg-type]
                         id=f"choice-{c.value}")

    def action_choose(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid.startswith("choice-"):
            self.dismiss(bid.removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(self.cancel_value)


class TextPromptModal(Dialog[str | None]):
    """Ask for a line of text (a skip reason): empty is refused, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Go back")]

    def __init__(self, title: str, prompt: str, *, placeholder: str = "") -> None:
        super().__init__(classes="modal prompt-modal")
        self.title_text = title
        self.prompt = prompt
        self.placeholder = placeholder

    def help_text(self) -> str:
        return (f"**What this asks:** {self.title_text} {self.prompt}\n\n"
                "**What to do now:** type the reason and press **Enter** (an empty one is "
                "refused); **Escape** goes back without doing anything.")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="prompt-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.prompt, classes="dialog-text")
            yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#prompt-error").display = False
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            err = self.query_one("#prompt-error", Static)
            err.update("A reason is required (it goes into the journal).")
            err.display = True
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class JumpModal(Dialog[str | None]):
    """Pick the step to continue from."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Go back")]
    HELP = ("**What this asks:** which step the run continues from (steps before it are not "
            "run again; steps after it run in order).\n\n**What to do now:** ↑/↓ to a step, "
            "**Enter** continues from it; **Escape** stays where the run is.")

    def __init__(self, steps: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__(classes="modal jump-modal")
        self.steps = steps
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="jump-dialog"):
            yield Label("Jump to step", classes="dialog-title")
            yield Static("The engine continues from the step you pick (Escape: stay).",
                         classes="dialog-text")
            yield OptionList(*[Option(f"{i + 1:>2}. {title}", id=sid)
                               for i, (sid, title) in enumerate(self.steps)], id="jump-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.focus()
        if self.current is not None:
            ids = [sid for sid, _ in self.steps]
            if self.current in ids:
                ol.highlighted = ids.index(self.current)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickModal(Dialog[str | None]):
    """Pick one of a few named things (a node for a shell); Escape picks nothing."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Go back")]

    def __init__(self, title: str, items: list[tuple[str, str]]) -> None:
        super().__init__(classes="modal pick-modal")
        self.title_text = title
        self.items = items

    def help_text(self) -> str:
        return (f"**What this asks:** {self.title_text}\n\n**What to do now:** ↑/↓ to one, "
                "**Enter** picks it; **Escape** picks nothing.")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="pick-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(label, id=value) for value, label in self.items],
                             id="pick-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CheckpointFailedModal(Dialog[Answer]):
    """The backup before a destructive step failed: retry, abort, or override with the phrase."""

    BINDINGS = [Binding("escape", "look", "Look first", id="modal.cancel",
                        tooltip="Fold this question away; n brings it back"),
                Binding("a", "abort", "Abort run", tooltip="Stop before the destructive step")]
    HELP = ("**What this asks:** the backup (checkpoint) a destructive step takes first could "
            "not be taken or verified, so the step has not run.\n\n**What to do now:** fix "
            "the cause listed (disk space, a node that did not answer) and **Retry**; or "
            "**Abort** the run before the step. Running it without a verified backup needs the "
            "exact override phrase typed, then **Override**. **Escape** folds this question "
            "away to read the output (nothing runs); **n** brings it back.")

    def __init__(self, failure: CheckpointFailure) -> None:
        super().__init__(classes="modal checkpoint-modal")
        self.failure = failure

    def compose(self) -> ComposeResult:
        f = self.failure
        with VerticalScroll(classes="dialog -danger", id="checkpoint-dialog"):
            yield Label(f"✘ Checkpoint failed before: {f.step.title}", classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Retry", variant="primary", id="cp-retry")
                yield Button("Abort run (a)", id="cp-abort")
                yield Button("Override", variant="error", id="cp-override")
            yield Static("The backup this destructive step needs could not be taken or "
                         "verified:", classes="dialog-text")
            yield Static("\n".join(f"• {p}" for p in f.problems) or "• (no details)",
                         classes="dialog-commands", markup=False)
            yield Static("Fix the cause and retry, or abort. Running without a verified "
                         f"backup needs the exact phrase: [b]{OVERRIDE_PHRASE}[/b]",
                         classes="dialog-text")
            yield Input(placeholder="type the phrase to override", id="override-input")
            yield Static("", id="override-error", classes="dialog-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#override-error").display = False
        self.query_one("#cp-retry", Button).focus()

    @on(Button.Pressed, "#cp-retry")
    def _retry(self) -> None:
        self.dismiss(Answer(CheckpointChoice.RETRY))

    @on(Button.Pressed, "#cp-abort")
    def action_abort(self) -> None:
        self.dismiss(Answer(CheckpointChoice.ABORT))

    def action_look(self) -> None:
        """Escape: fold the question away; a stray Escape never ends the run."""
        self.dismiss(FOLD)  # type: ignore[arg-type]

    @on(Button.Pressed, "#cp-override")
    @on(Input.Submitted, "#override-input")
    def _override(self) -> None:
        typed = self.query_one("#override-input", Input).value
        if typed.strip() != OVERRIDE_PHRASE:
            err = self.query_one("#override-error", Static)
            err.update(f"Not the phrase. Type exactly: {OVERRIDE_PHRASE}")
            err.display = True
            return
        self.dismiss(Answer(CheckpointChoice.OVERRIDE, text=typed.strip(),
                            reason="operator override in the TUI"))


class ErrorModal(Dialog[None]):
    """A clear error with what to do next; never a traceback. A long message (a runbook's
    diff) scrolls between the title and the OK button."""

    BINDINGS = [Binding("escape", "close", "Close", id="modal.cancel", tooltip="Close")]

    def __init__(self, title: str, message: str, hint: str = "") -> None:
        super().__init__(classes="modal error-modal")
        self.title_text = title
        self.message = message
        self.hint = hint

    def help_text(self) -> str:
        return (f"**What this shows:** {self.title_text}: what went wrong, where, and what to "
                "do next. Nothing else happened after it.\n\n**What to do now:** read it "
                "(↑/↓ scroll a long one), then **OK** or **Escape** closes it.")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -danger", id="error-dialog"):
            yield Label(f"✘ {self.title_text}", classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="error-ok")
            yield Static(self.message, classes="dialog-text", markup=False)
            if self.hint:
                yield Static("What to do next:", classes="dialog-text -bold")
                yield Static(self.hint, classes="dialog-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#error-ok", Button).focus()

    @on(Button.Pressed, "#error-ok")
    def action_close(self) -> None:
        self.dismiss(None)
