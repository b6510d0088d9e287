"""F1: help for the screen or dialog below — what it shows, what to do now (its
``help_text``), and its keys (not those of the widget that happens to have the focus)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Markdown

from pverunbook.ui.screens.modals import Dialog
from pverunbook.ui.widgets.footer import KeyFooter


class HelpScreen(Dialog[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close", tooltip="Close help"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1"),
    ]
    HELP = "This is the help; **Escape** (or F1) closes it."

    def __init__(self, keys: list[tuple[str, str, str]], context: str = "") -> None:
        super().__init__(classes="modal help-modal")
        self.keys = keys
        self.context = context

    def compose(self) -> ComposeResult:
        rows = ["### Keys", ""]
        rows += [f"- `{k}` **{d}**" + (f" — {t}" if t else "") for k, d, t in self.keys]
        body = (self.context + "\n\n" if self.context else "") + "\n".join(rows)
        body += ("\n\n`ctrl+p` opens the command palette: these actions, every runbook, the "
                 "journal, checkpoints, resume, a shell on a node, and (in rehearsal) a reset "
                 "of the simulated cluster.")
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Label("Help  (Escape closes)", classes="dialog-title")
            yield Markdown(body, id="help-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#help-dialog").focus()

    def action_close(self) -> None:
        self.dismiss(None)
