"""The run journal, one line per event, read from the file the engine writes."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Log, Static

from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.footer import KeyFooter

_SKIP = {"kind", "ts", "step_id"}


def format_record(data: dict[str, object]) -> str:
    ts = data.get("ts")
    when = time.strftime("%H:%M:%S", time.localtime(float(ts))) if isinstance(
        ts, int | float) else "--:--:--"
    kind = str(data.get("kind", "?"))
    step = str(data.get("step_id") or "")
    rest = " ".join(f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
                    for k, v in data.items() if k not in _SKIP and v not in ("", None, [], {}))
    return f"{when} {kind:<22} {step:<16} {rest}"


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Each record folded at ``width`` columns, its continuation rows indented: the log does
    not wrap, and at 80 columns a record's reason or command was cut off at the edge."""
    if width < 20:
        return lines
    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False,
                             drop_whitespace=True) or [""]
    return out


def journal_lines(path: Path) -> list[str]:
    out: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            try:
                data = json.loads(raw)
            except ValueError:
                out.append(f"(unreadable line) {raw.rstrip()}")
                continue
            out.append(format_record(data) if isinstance(data, dict) else raw.rstrip())
    return out


class JournalScreen(Screen[None]):
    CSS_PATH = "journal.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="journal.back", tooltip="Back to the run"),
        Binding("o", "back", "Back", show=False, id="journal.back_o"),
        Binding("r", "reload", "Reload", id="journal.reload", tooltip="Read the file again"),
    ]

    def __init__(self, path: Path | None) -> None:
        super().__init__(id="journal")
        self.path = path

    def compose(self) -> ComposeResult:
        app = self.app
        yield AppHeader(app.mode, app.session.cluster, "Run journal")  # type: ignore[attr-defined]
        yield Static(f"Journal: {self.path or '(none yet)'}  — append-only, one JSON line per "
                     "event; secrets are redacted.", id="journal-path")
        yield Log(id="journal-log", max_lines=20000)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        log = self.query_one("#journal-log", Log)
        log.clear()
        if self.path is None or not self.path.exists():
            log.write_line("No journal has been written yet.")
            return
        try:
            log.write_lines(wrap_lines(journal_lines(self.path), self.size.width - 2))
        except OSError as exc:
            log.write_line(f"Cannot read {self.path}: {exc.strerror}")

    def on_resize(self) -> None:
        self.action_reload()  # fold the records at the new width

    def help_text(self) -> str:
        """For F1: what the journal is and how to use it."""
        return (f"**What this shows:** the run's journal, {self.path or 'not written yet'}: "
                "every event in order — steps, each node's commands and exit status, "
                "findings and facts, confirmations (what was typed), skips with their reason, "
                "shells opened. Secrets are never in it.\n\n**What to do now:** read it; "
                "**r** reads the file again (the run goes on meanwhile); **Esc** goes back. "
                "`pverunbook report` turns it into an incident report.")

    def action_back(self) -> None:
        self.dismiss(None)
