"""Skip on a failed guard (a check before a destructive step) opens the override dialog:
nothing destructive runs until the exact phrase and a reason are typed, Escape goes back to
the failure question, and the destructive step's confirmation then says the guard was
SKIPPED (engine/guard_skip.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, Static

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import GUARD_OVERRIDE_PHRASE
from pverunbook.engine.journal import read_journal
from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, OutputCallback
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.guard_modal import GuardOverrideModal
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, confirm_ready, to_run_screen, until

Build = Callable[..., RunbookApp]


class FailingConfig(ScriptTransport):
    """The "config" check (a guard of the destructive "tune") fails on pve001."""

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        result = await super().run(node, command, timeout=timeout, on_output=on_output)
        if "config_version" in command and node.name == "pve001":
            return CommandResult(1, 0.5)
        return result


def destructive_ran(transport: ScriptTransport) -> bool:
    return any("echo token" in c for _, c in transport.ran)


async def test_skip_on_a_failed_guard_needs_the_phrase_and_a_reason(build_app: Build,
                                                                     runbook_dir: Path) -> None:
    transport = FailingConfig()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        for _ in range(2):  # ping, then config
            await until(pilot, lambda: run.decider.is_waiting
                        or isinstance(app.screen, ChoiceModal), "next")
            if isinstance(app.screen, ChoiceModal):
                break
            await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "failure question")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, GuardOverrideModal), "override dialog")
        # Escape: back to the failure question, nothing skipped
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question again")
        assert run.state.step("config").state != "skipped" and not destructive_ran(transport)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, GuardOverrideModal), "override again")
        modal = app.screen
        await pilot.press(*"skip it", "enter", *"because", "enter")
        assert app.screen is modal and not destructive_ran(transport)
        assert "Not the phrase" in str(modal.query_one("#guard-error", Static).render())
        modal.query_one("#guard-phrase", Input).value = GUARD_OVERRIDE_PHRASE
        modal.query_one("#guard-reason", Input).value = ""
        modal.query_one("#guard-reason", Input).focus()
        await pilot.press("enter")
        assert app.screen is modal and not destructive_ran(transport)
        assert "reason is required" in str(modal.query_one("#guard-error", Static).render())
        await pilot.press(*"checked by hand", "enter")
        await until(pilot, lambda: app.screen is run and run.decider.is_waiting, "next step")
        assert not destructive_ran(transport)
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "confirmation")
        warning = str(app.screen.query_one("#confirm-guard-warning", Static).render())
        assert "GUARD SKIPPED" in warning and "checked by hand" in warning
        assert not destructive_ran(transport)
        app.exit()
    given = [e for e in read_journal(Path("journal.jsonl"))
             if isinstance(e, ev.ConfirmationGiven) and e.what == "guard override"]
    # Escape is journaled as "not overridden", then the override with its reason
    assert [(g.accepted, g.reason) for g in given] == [
        (False, "not overridden: 'config' failed and guards tune"), (True, "checked by hand")]


async def test_skip_before_a_guard_ran_asks_for_the_override_too(build_app: Build,
                                                                 runbook_dir: Path) -> None:
    transport = FailingConfig()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("s")  # on "ping", which guards "tune"
        await until(pilot, lambda: isinstance(app.screen, GuardOverrideModal), "override dialog")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run and run.decider.is_waiting, "asked again")
        assert run.state.step("ping").state != "skipped" and not transport.ran
        app.exit()
