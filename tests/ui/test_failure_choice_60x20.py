"""At 60×20 the question after a failed step keeps "a Abort run" in its footer: the footer
left it out, its keys did not all fit beside "esc Cancel", which picks "l Look first" shown
next to it (trial 13). Escape still answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import Choice, ChoiceModal
from tests.ui.conftest import start_ready, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
SIZE = (60, 20)

#: The failed step's question (ui/decider.py) for a step whose on_failure is "continue".
CHOICES = [Choice("rerun", "Re-run", "r", "primary"), Choice("skip", "Skip", "s"),
           Choice("follow", "Continue", "c"), Choice("look", "Look first", "l"),
           Choice("abort", "Abort run", "a", "error")]


async def test_the_failed_steps_footer_keeps_abort_at_60x20(build_app: Build,
                                                            runbook_dir: Path) -> None:
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        answers: list[str | None] = []
        app.push_screen(ChoiceModal("Step failed: Does /etc/pve answer reads?", "exit 2",
                                    CHOICES, cancel="look", danger=True), answers.append)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
        await until(pilot, lambda: "a Abort run" in screen_lines(app)[-1], "a Abort run")
        assert "f1 Help" in screen_lines(app)[-1]
        await pilot.press("escape")  # still the safe answer, shown or not
        await until(pilot, lambda: answers == ["look"], "Escape's answer")

