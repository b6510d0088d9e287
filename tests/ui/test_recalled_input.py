"""An input step's question folded away (Escape) and brought back (n) kept its values, but the
text was selected on focus and the first key press replaced it ("pve0", then "01", gave "01").
In a long form, Tab into a field under the dialog's button bar did not scroll it into view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.params import ParamsModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import form_ready, until

Build = Callable[..., RunbookApp]
SIZE = (80, 24)
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"

RUNBOOK = """
id = "ui-node"
title = "UI test: name the damaged node after looking"

[[params]]
name = "damaged"
type = "str"
prompt = "Which node is damaged?"

[[steps]]
id = "look"
title = "Look at the nodes"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version"]

[[steps]]
id = "name"
title = "Name the damaged node"
kind = "input"
params = ["damaged"]
"""


async def test_a_recalled_value_is_continued_not_replaced(build_app: Build,
                                                          runbook_dir: Path) -> None:
    (runbook_dir / "ui-node.toml").write_text(RUNBOOK, encoding="utf-8")
    app = build_app(runbook=runbook_dir / "ui-node.toml")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "the form")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the run")
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: run.decider.is_waiting
                    and run.state.step("look").state == "ok", "the first step")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the question")
        await pilot.pause()
        await pilot.press(*"pve0")
        assert app.screen.query_one("#param-damaged", Input).value == "pve0"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "folded away")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the question again")
        await pilot.pause()
        field = app.screen.query_one("#param-damaged", Input)
        assert app.focused is field and field.value == "pve0"
        assert field.selection.is_empty and field.cursor_position == len("pve0")
        await pilot.press(*"01")
        assert field.value == "pve001"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: run.state.finished is not None, "the end")
        assert run.engine is not None and run.engine.params["damaged"] == "pve001"


async def test_tab_into_a_field_under_the_button_bar_scrolls_it_into_view(
        build_app: Build) -> None:
    rb = load_file(SHIPPED / "vm-config-recovery.toml")
    for notes in ([], ["The engine's note before asking: no value proposed for the VMID."]):
        app = build_app()
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda app=app: isinstance(app.screen, StartScreen), "start")
            app.push_screen(ParamsModal("Choose the source and the VM", list(rb.params), {},
                                        notes=notes))
            await until(pilot, lambda app=app: isinstance(app.screen, ParamsModal), "form")
            await pilot.pause()
            bar = app.screen.query_one(".dialog-buttons").region
            box = app.screen.query_one("#params-dialog").region
            for _ in rb.params:
                field = app.focused
                assert field is not None and field.id and field.id.startswith("param-")
                # the whole field, between the dialog's top and its button bar
                assert box.y < field.region.y and field.region.bottom <= bar.y, \
                    (notes, field.id, field.region, bar)
                await pilot.press("tab")
                await pilot.pause()
