"""Trial 14: Reset rehearsal cluster (palette, y) left the start screen saying "✔ The cluster
is healthy: the last health check found no fault on any node." over the cluster broken again.
The last check's result is of the cluster thrown away: a reset forgets it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.widgets.banner import ModeBanner
from tests.ui.conftest import until
from tests.ui.test_start_memory import guide, launch


async def test_a_reset_forgets_the_last_checks_healthy_and_keeps_the_header(
        tmp_path: Path) -> None:
    app = launch(tmp_path / "rehearsal")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None and app.nodes_tried
                    and isinstance(app.screen, StartScreen) and app.screen.entries,
                    "the start screen", 3000)
        app.health = SimpleNamespace(faults=[], matrix=[])  # a check found nothing wrong
        app.suggest_next(None)
        await until(pilot, lambda: "The cluster is healthy" in guide(app), "healthy")
        header = str(app.screen.query_one(ModeBanner).content)
        app.reset_rehearsal()
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not any(w.name == "reset" for w in app.workers)
                    and app.session.cluster is not None, "the reset", 3000)
        await pilot.pause()
        assert app.health is None
        assert "healthy" not in guide(app), guide(app)
        assert str(app.screen.query_one(ModeBanner).content) == header
        assert "ryanrishi" in header, header
