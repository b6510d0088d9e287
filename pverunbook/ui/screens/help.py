"""F1: the keys of the screen below, and the current step's hint and why."""

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
        rows = ["| Key | Action | What it does |", "|---|---|---|"]
        rows += [f"| `{k}` | {d} | {t} |" for k, d, t in self.keys]
        body = "\n".join(rows)
        body += "\n\n`ctrl+p` opens the command palette with the same actions."
        if self.context:
            body += "\n\n" + self.context
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("Help", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Markdown(body)

    def action_close(self) -> None:
        self.dismiss(None)
