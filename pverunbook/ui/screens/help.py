"""F1: help for the screen below — what it shows, what to do now (its ``help_text``), and
its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close", tooltip="Close help"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]], context: str = "") -> None:
        super().__init__(classes="modal help-modal")
        self.keys = keys
        self.context = context

    def compose(self) -> ComposeResult:
        rows = ["### Keys", "", "| Key | Action | What it does |", "|---|---|---|"]
        rows += [f"| `{k}` | {d} | {t} |" for k, d, t in self.keys]
        body = (self.context + "\n\n" if self.context else "") + "\n".join(rows)
        body += ("\n\n`ctrl+p` opens the command palette: these actions, every runbook, the "
                 "journal, checkpoints, resume, a shell on a node, and (in rehearsal) a reset "
                 "of the simulated cluster.")
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("Help", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Markdown(body)

    def action_close(self) -> None:
        self.dismiss(None)
