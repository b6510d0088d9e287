"""The end of a run: what was done, failed, skipped; backups; risky actions; time spent."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from pverunbook.ui import model
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.widgets.banner import AppHeader

STATUS_WORDS = {
    "ok": ("✔ Finished: every step succeeded", "bold green"),
    "planned": ("○ Dry-run finished: nothing was executed", "bold blue"),
    "completed_with_failures": ("⚠ Finished with failures", "bold yellow"),
    "failed": ("✘ Stopped: a step failed", "bold red"),
    "aborted": ("■ Stopped by the operator", "bold yellow"),
    "interrupted": ("■ Interrupted", "bold red"),
}


def render_summary(s: model.Summary, journal: Path | None) -> Text:
    t = Text()
    word, style = STATUS_WORDS.get(s.status, (s.status, "bold"))
    t.append(word + "\n", style=style)
    if s.message:
        t.append(s.message + "\n")
    t.append(f"\nTime spent: {model.fmt_duration(s.duration)}\n", style="bold")
    t.append(f"Steps: {len(s.done)} done · {len(s.failed)} failed · {len(s.skipped)} skipped"
             f" · {len(s.not_reached)} not reached\n\n", style="bold")

    def section(title: str, items: list[str], style: str = "", empty: str = "none") -> None:
        t.append(title + "\n", style="bold underline")
        if not items:
            t.append(f"  {empty}\n", style="dim")
        for it in items:
            t.append(f"  • {it}\n", style=style)
        t.append("\n")

    section("Done", s.done, "green")
    section("Failed / stopped", s.failed, "red")
    section("Skipped (with reason)", [f"{title} — {why}" for title, why in s.skipped], "yellow")
    section("Backups taken (checkpoint ids)",
            [f"{cid}  ({sid})" + (f"  {path}" if path else "") for sid, cid, path in
             s.checkpoints], "cyan", empty="none taken")
    section("Risky actions", s.risky, "bold red", empty="no destructive step ran")
    if s.not_reached:
        section("Not reached", s.not_reached, "dim")
    if journal is not None:
        t.append(f"Journal: {journal}\n", style="dim")
        t.append("Every event, confirmation and skip reason is in it (o shows it).\n", style="dim")
    return t


class SummaryScreen(Screen[None]):
    CSS_PATH = "summary.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back to run", id="summary.back",
                tooltip="Look at the steps and output again"),
        Binding("o", "journal", "Journal", id="summary.journal", tooltip="Show the journal"),
        Binding("q", "app.quit", "Quit", id="summary.quit", tooltip="Leave pverunbook"),
    ]

    def __init__(self, state: model.RunState, journal: Path | None) -> None:
        super().__init__(id="summary")
        self.state = state
        self.journal = journal

    def compose(self) -> ComposeResult:
        app = self.app
        yield AppHeader(app.mode, app.session.cluster,  # type: ignore[attr-defined]
                        f"{self.state.runbook.title} · summary")
        with VerticalScroll(id="summary-scroll"):
            yield Static(render_summary(self.state.summary(), self.journal), id="summary-text")
        yield Footer()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_journal(self) -> None:
        from pverunbook.ui.screens.journal import JournalScreen

        self.app.push_screen(JournalScreen(self.journal))

    def palette_commands(self) -> list[PaletteCommand]:
        return [("Back to run", "Steps and output", self.action_back),
                ("Open journal", "Show the journal", self.action_journal),
                ("Quit", "Leave pverunbook", self.app.exit)]
