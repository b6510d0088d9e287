"""``w`` on the run screen: one node's output of the step, whole lines wrapped to the screen.

Why: a node pane is a log that cuts each line at its width (a pane is half the console or
less); at 80×24 the part of a message that says what to do — a failed command's hint, an
openssl error — fell past the edge, and a pane cannot be scrolled sideways from the keyboard.
Here the same lines (the pane keeps the last 2000; the journal has all) are shown in a
read-only text area that wraps them, can be scrolled and searched by eye, and text can be
selected from.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, TextArea

from pverunbook.ui.screens.modals import Dialog
from pverunbook.ui.widgets.footer import KeyFooter


class OutputView(Dialog[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="output.close", tooltip="Back to the run"),
        Binding("w", "close", "Close", show=False, id="output.close_w"),
    ]
    HELP = ("The node's output of this step, each line whole and wrapped. The pane keeps the "
            "last 2000 lines; the journal (o on the run screen) has all of them. **Escape** "
            "goes back.")

    def __init__(self, node: str, step_title: str, lines: list[str]) -> None:
        super().__init__(classes="modal output-modal")
        self.node = node
        self.step_title = step_title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="output-dialog"):
            yield Label(f"{self.node} · {self.step_title} — whole lines (Escape closes)",
                        classes="dialog-title")
            yield TextArea("\n".join(self.lines) or "(no output yet)", id="output-text",
                           read_only=True, soft_wrap=True, show_line_numbers=False)
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_mount(self) -> None:
        area = self.query_one("#output-text", TextArea)
        area.focus()
        area.scroll_end(animate=False)  # the newest lines first, as the pane shows them
