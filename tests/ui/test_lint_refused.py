"""The app's start screen lists a runbook with lint errors as refused, and never opens it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ErrorModal
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import until
from tests.unit.test_lint_gate import STORY

Build = Callable[..., RunbookApp]


async def test_a_runbook_lint_rejects_is_listed_refused(build_app: Build,
                                                        runbook_dir: Path) -> None:
    (runbook_dir / "wipe.toml").write_text(STORY, encoding="utf-8")
    app = build_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and any(e.path.name == "wipe.toml" for e in app.screen.shown), "start")
        screen = app.screen
        assert isinstance(screen, StartScreen)
        entry = next(e for e in screen.shown if e.path.name == "wipe.toml")
        assert entry.runbook is None
        label = screen._label(entry).plain
        assert "invalid runbook" in label and "PVR0" in label
        screen.open_entry(entry)
        await until(pilot, lambda: isinstance(app.screen, ErrorModal)
                    and bool(app.screen.query("#error-ok")), "error")
        text = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "refused" in text and "PVR001" in text and "lint_ok" in text
        assert not any(type(s).__name__ == "RunScreen" for s in app.screen_stack)
