"""Modal questions the engine (through the TUI decider) and the run screen ask the operator.

Every modal has a safe way out (Escape), and none confirms anything on Enter alone: typed
confirmations need the exact text, and choices are explicit buttons or keys. Every modal shows
its keys in its own footer and answers F1 with what it asks; its buttons never fall below the
fold, at 80×24 too (see :class:`Dialog`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    CheckpointFailure,
    ConfirmRequest,
)
from pverunbook.ui.widgets.footer import KeyFooter

R = TypeVar("R")


class Dialog(ModalScreen[R]):
    """A modal with its own footer (its keys stay visible on any console, 80×24 included) and
    F1 help that says what it asks and what each answer does.

    Layout contract (``app.tcss``): the title is docked at the top of ``.dialog`` and the
    ``.dialog-buttons`` row at its bottom, and the rest scrolls between them, so no button is
    ever below the fold whatever the text."""

    #: A modal screen stops the app's keys: F1 is bound here again, so it works on top.
    BINDINGS = [Binding("f1", "app.help", "Help", id="dialog.help",
                        tooltip="What this asks, and what each answer does"),
                Binding("ctrl+c", "ctrl_c", "Quit?", show=False, id="dialog.ctrl_c")]
    #: F1: what this dialog asks and what each answer does (``help_text`` may say more).
    HELP = ""

    def help_text(self) -> str:
        return self.HELP

    def action_ctrl_c(self) -> None:
        """ctrl+c copies selected text (Textual's own use of it); with nothing selected it
        does what it does on any screen: the quit question while a run is going, else
        Textual's "ctrl+q to quit". A modal stops the app's keys, so at a question (a manual
        step's Done / Not done, a confirmation) it did nothing at all."""
        if self.get_selected_text():
            self.action_copy_text()
            return
        self.app.action_help_quit()

    def on_screen_resume(self) -> None:
        # The footer fills itself on a bindings update; a dialog pushed while nothing in it
        # takes the focus would otherwise show an empty footer until the first key.
        self.call_after_refresh(self.refresh_bindings)

    def on_resize(self) -> None:
        # A dialog's text scrolls: after a shrink the focused field (a confirmation's input,
        # a skip reason) was left scrolled out of view, the operator typing into it blind.
        self.call_after_refresh(self._focused_into_view)

    def _focused_into_view(self) -> None:
        if self.focused is not None and self.is_attached:
            self.focused.scroll_visible(animate=False, immediate=True)


class TypedInput(Input):
    """A typed confirmation's field: it takes the keys (and pastes) pressed once it is shown,
    never one pressed before. The key that ran the step (n, Enter), a second n, or a key typed
    while the question was being drawn reached the new field as its first letters: the
    operator found the cluster's name to type already begun with a stray letter."""

    #: When the question was first drawn (``textual._time`` clock, as events' ``time``);
    #: None until then: no key counts.
    shown_at: float | None = None

    def counts(self, event: events.Event) -> bool:
        return self.shown_at is not None and event.time >= self.shown_at

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not self.counts(event):
            # not passed on either: an early Escape or Enter does not answer the question
            event.stop()
            event.prevent_default()
            return
        await super().on_event(event)


#: What :class:`ConfirmModal` answers when the operator folds it away (Escape) to look at the
#: output first: nothing typed can be it (an input field takes no NUL).
FOLD = "\0fold"


class ConfirmModal(Dialog[str | None]):
    """Type the cluster (or node) name to run a destructive step.

    Escape folds the question away (:data:`FOLD`): nothing runs and the run waits, as at a
    failed step, and **n** brings it back — a stray Escape never ends a run. Declining is its
    own button, "Stop the run", which says what it does."""

    BINDINGS = [Binding("escape", "look", "Look first", id="modal.cancel",
                        tooltip="Fold this question away to read the output; nothing runs, "
                                "the run waits, n brings it back")]

    def __init__(self, request: ConfirmRequest, no_backup_reason: str = "") -> None:
        super().__init__(classes="modal confirm-modal")
        self.request = request
        self.no_backup_reason = no_backup_reason

    def help_text(self) -> str:
        r = self.request
        return (f"**What this asks:** “{r.step.title}” changes **{', '.join(r.nodes) or 'no node'}"
                "**; the commands it will run are listed. Nothing has run yet.\n\n"
                f"**What to do now:** read the commands; to run them type **{r.expected}** "
                "exactly and press Enter (Enter alone never confirms). **Escape** (Look "
                "first) folds this question away so you can read the output: nothing runs, "
                "the run waits, and **n** brings the question back. **Stop the run** does "
                "not run the step and ends the run here (the journal keeps what was done).")

    def compose(self) -> ComposeResult:
        r = self.request
        step = r.step
        kind = "the cluster name" if r.expected not in r.nodes else "the node name"
        with VerticalScroll(classes="dialog -danger", id="confirm-dialog"):
            # The head (docked: it never scrolls) says what is changed where: the dialog opens
            # scrolled to its field, and with three nodes' commands at 80×24 the line naming
            # the nodes was above the fold, the operator typing the name without seeing them.
            with Vertical(id="confirm-head"):
                yield Label(f"⚠ {'Destructive step' if r.what == 'destructive' else 'Confirm'}"
                            f": {step.title}", classes="dialog-title")
                if r.warning:
                    yield Static(r.warning, id="confirm-guard-warning",
                                 classes="dialog-text -warn", markup=False)
                yield Static(self._changes_line(), id="confirm-nodes", classes="dialog-text")
                if r.summary:  # the step's own words for what it does, node by node: above
                    # the fold too (rollback-settle's keep showed only the tail of its shell)
                    yield Static(r.summary, id="confirm-summary", classes="dialog-text",
                                 markup=False)
            # The foot (docked too) holds the field and the buttons: what is typed is always
            # in view, and the commands between head and foot open at their first line. The
            # dialog opened scrolled to its field, which sat below the commands: at 80×24 the
            # command block showed from the middle of a command, its start above the fold.
            with Vertical(id="confirm-foot"):
                yield Label(f"Type {kind} [b]{r.expected}[/b] to go ahead (Escape: look first, "
                            "nothing runs):", classes="dialog-text -bold -wrap")
                yield TypedInput(id="confirm-input")
                yield Static("", id="confirm-error", classes="dialog-error")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Run it", variant="error", id="confirm-ok")
                    yield Button("Look first (esc)", id="confirm-look")
                    yield Button("Stop the run", id="confirm-cancel")
            yield Static("These commands will run:", classes="dialog-text -bold")
            changes = r.changes or "\n".join(step.commands) or "(no commands)"
            yield Static(changes, id="confirm-commands", classes="dialog-commands",
                         markup=False)
            if r.checkpoint_id:
                yield Static(f"Checkpoint taken before this step: [b]{r.checkpoint_id}[/b] "
                             "(restore from it if this goes wrong).", classes="dialog-text")
            elif r.checkpoint is not None:
                yield Static(r.checkpoint.line(), id="confirm-checkpoint",
                             classes="dialog-text", markup=False)
            elif r.what == "destructive":
                why = self.no_backup_reason or "none was possible"
                yield Static(f"[b]No checkpoint[/b] for this step: {why}",
                             classes="dialog-text -warn")
        yield KeyFooter()

    def _changes_line(self) -> str:
        """Where the step changes things, as the engine's own prompt says it: a step typed
        with the cluster's name that runs on some of its nodes changes the cluster (pvecm
        qdevice setup on one node rewrites the corosync.conf of all); one typed with its only
        node's name leaves the others untouched."""
        r = self.request
        ran = ", ".join(r.nodes) or "no nodes"
        cluster = getattr(getattr(self.app, "session", None), "cluster", None)
        total = len(cluster.nodes) if cluster is not None else 0
        if cluster is not None and r.expected == cluster.name and 0 < len(r.nodes) < total:
            return f"Changes cluster [b]{cluster.name}[/b] (runs on [b]{ran}[/b])."
        if len(r.nodes) == 1 and total > 1 and r.expected == r.nodes[0]:
            return f"Changes [b]{ran}[/b] only ({total - 1} other node(s) untouched)."
        return f"Changes [b]{ran}[/b]."

    def on_mount(self) -> None:
        self.query_one("#confirm-error").display = False
        self.query_one("#confirm-input", Input).focus()
        self.call_after_refresh(self._shown)
        if self.request.checkpoint is not None:
            # The checkpoint is taken while this is open: show how far it got.
            self._checkpoint_timer = self.set_interval(0.25, self._checkpoint_progress)

    def _shown(self) -> None:
        from textual._time import get_time

        self.query_one("#confirm-input", TypedInput).shown_at = get_time()

    @property
    def taking_keys(self) -> bool:
        """The question is drawn: the keys pressed from now on are typed into its field."""
        return self.is_attached and self.query_one("#confirm-input", TypedInput).shown_at \
            is not None

    def _checkpoint_progress(self) -> None:
        progress = self.request.checkpoint
        if progress is None:
            return
        self.query_one("#confirm-checkpoint", Static).update(progress.line())
        if progress.state != "taking":
            self._checkpoint_timer.stop()

    def on_screen_resume(self) -> None:
        # back from F1's help (or any screen on top): the field takes the typing again
        self.query_one("#confirm-input", Input).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing always goes to the confirmation field, wherever the focus went (Tab to a
        button, a click, a resize): a field that silently stops taking letters makes the
        operator type the cluster's name into nothing."""
        field = self.query_one("#confirm-input", TypedInput)
        if self.focused is field:
            return
        if not field.counts(event):  # pressed before the question was shown
            event.stop()
            event.prevent_default()
            return
        if event.is_printable and event.character:
            field.focus()
            field.insert_text_at_cursor(event.character)
        elif event.key == "backspace":
            field.focus()
            field.action_delete_left()
        else:
            return
        event.stop()
        event.prevent_default()

    def _refuse(self, message: str) -> None:
        err = self.query_one("#confirm-error", Static)
        err.update(message)
        err.display = True
        # the next try starts from an empty field: a wrong text left in it would make every
        # correct retyping wrong too
        field = self.query_one("#confirm-input", Input)
        field.value = ""
        field.focus()

    def refusal(self, typed: str) -> str:
        """Why ``typed`` (stripped; "" for Enter alone) does not answer, and what to do."""
        expected = self.request.expected
        if not typed:
            return (f"Enter alone never confirms: type {expected!r}, or press Escape to look "
                    "first.")
        return (f"{typed!r} is not {expected!r}: nothing was run. Type {expected!r} exactly, "
                "or press Escape to look first.")

    def _try(self) -> None:
        typed = self.query_one("#confirm-input", Input).value.strip()
        if typed != self.request.expected:
            # quoted back short: a long paste quoted whole pushed the question off the screen
            self._refuse(self.refusal(typed if len(typed) <= 40 else typed[:37] + "..."))
        else:
            self.dismiss(typed)

    @on(Input.Submitted, "#confirm-input")
    def _submitted(self) -> None:
        self._try()

    @on(Button.Pressed, "#confirm-ok")
    def _ok(self) -> None:
        self._try()

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()  # through the name: a subclass's answer (CommitModal) counts

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#confirm-look")
    def action_look(self) -> None:
        self.dismiss(FOLD)


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
