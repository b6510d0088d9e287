"""A parameter an input step asks for (vm-config-recovery's source, asked once the evidence is
on screen) is asked once: the form before the run names the step that will ask and the value
it starts from, instead of a field that asks it a first time; the question's button and its
footer key have one name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, Select
from textual.widgets._footer import FooterKey

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.params import ParamsModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import form_ready, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"

RUNBOOK = """
id = "ui-source"
title = "UI test: choose a source after looking"

[[params]]
name = "source"
type = "choice"
prompt = "Where from?"
choices = ["dump", "processes"]
default = "dump"

[[params]]
name = "token"
type = "int"
prompt = "Token"
default = 5000

[[steps]]
id = "look"
title = "Look at the sources"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version"]

[[steps]]
id = "choose"
title = "Choose the source"
kind = "input"
params = ["source"]
"""

Build = Callable[..., RunbookApp]


async def test_the_shipped_vm_config_recovery_asks_its_source_once(build_app: Build) -> None:
    app = build_app(runbook=SHIPPED / "vm-config-recovery.toml",
                    params={"source": "processes"})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the form")
        form = app.screen
        assert not form.query("#param-source"), "the form asks the source a first time"
        later = str(form.query_one("#params-later").render())
        assert "“Choose the source and the VM”" in later and "source = processes" in later
    manual = (SHIPPED / "vm-config-recovery.toml").read_text(encoding="utf-8")
    assert "Confirm when you have decided which source to use" not in manual


async def test_an_input_steps_value_is_asked_once_and_starts_from_the_given(
        build_app: Build, runbook_dir: Path) -> None:
    (runbook_dir / "ui-source.toml").write_text(RUNBOOK, encoding="utf-8")
    app = build_app(runbook=runbook_dir / "ui-source.toml", params={"source": "processes"})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the form")
        form = app.screen
        assert form.query("#param-token") and not form.query("#param-source")
        assert "step 2 “Choose the source”: source = processes" in str(
            form.query_one("#params-later").render())
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
        modal = app.screen
        await pilot.pause()
        assert modal.query_one("#param-source", Select).value == "processes"
        ok = str(modal.query_one("#pm-ok", Button).label)
        footer = {k.key: k.description for k in modal.query(FooterKey)}
        assert ok == f"{footer['ctrl+s']} (ctrl+s)", (ok, footer)
        # Escape folds the question away (read the evidence first); n brings it back
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "folded away")
        assert run.decider.folded is not None and run.state.finished is None
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the question again")
        await pilot.pause()
        assert app.screen.query_one("#param-source", Select).value == "processes"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: run.state.finished is not None, "the end")
        assert run.engine is not None and run.engine.params["source"] == "processes"
