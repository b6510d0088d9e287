"""At 80x24 a parameter field is drawn whole: its label, its help and its input together.
cluster-db-reset's one field (stop_ha, a yes/no with a four-line help) showed the end of its
help and the toggle, its label scrolled out of the box above: a toggle reading "yes" under
"Harmless otherwise." and no question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import form_ready, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"


async def test_a_bool_field_shows_its_label_with_its_toggle_at_80x24(build_app: Build) -> None:
    app = build_app(runbook=SHIPPED / "cluster-db-reset.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "(space toggles)" in text, text
        assert "Stop the HA services" in text and "(stop_ha: bool)" in text, text
