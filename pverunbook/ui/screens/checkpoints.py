"""Checkpoints: the backups taken before destructive steps, newest last, and how to restore."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.footer import KeyFooter


def render_checkpoints() -> Text:
    """One block per checkpoint (id, run, step, nodes, state); the CLI restores them."""
    from pverunbook.engine.checkpoints import checkpoints_dir, list_checkpoints

    t = Text()
    try:
        infos = list_checkpoints()
    except OSError as exc:
        t.append(f"Cannot read {checkpoints_dir()}: {exc.strerror}\n", style="red")
        return t
    if not infos:
        t.append("No checkpoint has been taken yet. A destructive step takes one before it "
                 "changes a node.\n", style="dim")
    for c in infos:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.created))
        style = "green" if c.ok and c.complete else "red"
        t.append(f"{c.id}", style=f"bold {style}")
        t.append(f"  {when}  run {c.run_id} · step {c.step_id} · {', '.join(c.nodes)} · "
                 f"{c.items} item(s)\n")
        for p in c.problems:
            t.append(f"    ✘ {p}\n", style="red")
    t.append(f"\nStored in {checkpoints_dir()}.\n", style="dim")
    t.append("Inspect one: pverunbook checkpoints show ID · put files back: pverunbook restore "
             "ID (shows the diff and asks first).\n", style="dim")
    return t


class CheckpointsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="checkpoints.back", tooltip="Back"),
        Binding("r", "reload", "Reload", id="checkpoints.reload", tooltip="Read them again"),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        yield AppHeader(app.mode, app.session.cluster,  # type: ignore[attr-defined]
                        "Checkpoints")
        with VerticalScroll():
            yield Static(render_checkpoints(), id="checkpoints-text")
        yield KeyFooter()

    def action_reload(self) -> None:
        self.query_one("#checkpoints-text", Static).update(render_checkpoints())

    def action_back(self) -> None:
        self.dismiss(None)

    def help_text(self) -> str:
        return ("**What this shows:** every backup pverunbook took before a destructive step "
                "(id, run, step, nodes). **What to do:** note the id of the one you need; "
                "`pverunbook restore ID` shows the diff and asks before writing.")
