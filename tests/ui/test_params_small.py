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


async def test_a_bool_set_to_no_reads_neutral_not_as_a_failure(build_app: Build) -> None:
    """"no" is a choice, not an error: ✘ is the mark of failed steps and invalid values."""
    app = build_app(runbook=SHIPPED / "cluster-db-reset.toml", params={"stop_ha": "false"})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "no (space toggles)" in text, text
        assert "✘" not in text, text
        await pilot.press("space")
        await pilot.pause()
        assert "✔ yes (space toggles)" in "\n".join(screen_lines(app))
        await pilot.press("space")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "no (space toggles)" in text and "✘" not in text, text


async def test_a_title_cut_to_fit_ends_with_an_ellipsis_at_60x20(build_app: Build) -> None:
    """network-triage's title at 60 columns ended "…and on which l": cut mid-word, with
    nothing to say more of it was cut off."""
    app = build_app(runbook=SHIPPED / "network-triage.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        await pilot.pause()
        lines = screen_lines(app)
        title = next(line for line in lines if line.startswith("Network triage:"))
        assert title.endswith("…"), lines
        assert len(title) <= 60, title
