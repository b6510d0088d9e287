"""The typed confirmation before a destructive (or ``confirm``) step runs, and its field.

Split from ``modals`` (module size); ``modals`` re-exports what is here."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.screens.dialog import Dialog
from pverunbook.ui.widgets.footer import KeyFooter


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
