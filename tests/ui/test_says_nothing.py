"""Words only where they say something: a step without an explanation shows none (it read
"No explanation."), and a parameter form without a secret field says nothing of secrets
("Secret values are masked" on cluster-db-reset's one yes/no field)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Markdown, Static

from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import RUNBOOK, form_ready, to_run_screen, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"


async def test_a_step_without_an_explanation_says_nothing(build_app: Build,
                                                          runbook_dir: Path) -> None:
    bare = runbook_dir / "bare.toml"
    text = RUNBOOK.replace('id = "ui-test"', 'id = "bare"')
    for line in text.splitlines():
        if line.startswith(("explain = ", "hint = ")) and "Loss on the ring" in line \
                or line.startswith('hint = "Compare both'):
            text = text.replace(line + "\n", "")
    assert "Loss on the ring" not in text and "Compare both" not in text
    bare.write_text(text, encoding="utf-8")
    app = build_app(runbook=bare)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        await pilot.pause()
        assert not app.screen.query_one("#step-explain", Markdown).display
        assert "No explanation" not in "\n".join(screen_lines(app))


async def test_the_secret_note_only_on_a_form_with_a_secret(build_app: Build,
                                                           runbook_dir: Path) -> None:
    app = build_app(runbook=SHIPPED / "cluster-db-reset.toml")  # one yes/no field
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        intro = str(app.screen.query_one("#params-intro", Static).render())
        assert intro.startswith("Check the values below") and "ecret" not in intro, intro
    app = build_app(runbook=runbook_dir / "ui-test.toml")  # api_secret
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        intro = str(app.screen.query_one("#params-intro", Static).render())
        assert "Secret values are masked" in intro, intro
