"""Back on the runbook list after a runbook the filter found, the list is whole again with the
"Run next" first: the filter stayed ("vm-config"), the guide said "▶ Run next: Cluster health
check … (Enter)", and Enter opened the one runbook the filter still showed (VM config
recovery, destructive), not the check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, OptionList

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import form_ready, until

Build = Callable[..., RunbookApp]
SIZE = (80, 24)

OTHER = """
id = "other-fix"
title = "Other fix: something the filter finds"

[[params]]
name = "count"
type = "int"
prompt = "How many"
default = 1

[[steps]]
id = "look"
title = "Look"
kind = "check"
commands = ["true"]
"""


async def test_the_filter_is_cleared_once_it_opened_a_runbook(build_app: Build,
                                                              runbook_dir: Path) -> None:
    (runbook_dir / "other-fix.toml").write_text(OTHER, encoding="utf-8")
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen with its runbooks")
        start = app.screen
        assert isinstance(start, StartScreen)
        app.suggest_next("ui-test", {}, "check again")
        await pilot.pause()
        await pilot.press("slash", *"other", "enter")
        await until(pilot, lambda: form_ready(app), "parameters of other-fix")
        assert isinstance(app.screen, ParamsScreen) and app.screen.runbook.id == "other-fix"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is start, "back on the list")
        await pilot.pause()
        assert start.query_one("#filter", Input).value == ""
        listed = start.query_one("#runbook-list", OptionList)
        assert listed.highlighted is not None
        top = start.shown[int(listed.get_option_at_index(listed.highlighted).id or "")]
        assert top.runbook is not None and top.runbook.id == "ui-test"
        # what the guide says Enter does is what it does
        listed.focus()
        await pilot.press("enter")
        await until(pilot, lambda: form_ready(app), "parameters of the run next")
        assert isinstance(app.screen, ParamsScreen) and app.screen.runbook.id == "ui-test"
