"""c on a running step says "Cancelling…" once. Stopping a command on a node takes a moment
(over ssh the command is killed remotely); an operator who saw nothing change yet and pressed
c again got a second, identical "Cancel" toast stacked on the first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, OutputCallback
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, to_run_screen, until


class SlowKill(ScriptTransport):
    """A held command stops only once ``killed`` is set, as a remote kill answers later."""

    def __init__(self) -> None:
        super().__init__(hold=("ping",))
        self.killed = asyncio.Event()

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        try:
            return await super().run(node, command, timeout=timeout, on_output=on_output)
        except asyncio.CancelledError:
            await self.killed.wait()
            raise


async def test_cancel_pressed_twice_says_it_once(build_app: Callable[..., RunbookApp],
                                                 runbook_dir: Path) -> None:
    transport = SlowKill()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: transport.streaming.is_set() and run.state.command_running,
                    "the command to stream")
        await pilot.press("c")
        await until(pilot, lambda: len(transport.cancelled) == 2, "both nodes to be told")
        await pilot.press("c")  # the nodes have not stopped yet
        await pilot.pause()
        transport.killed.set()
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the failure question")
        said = [n.message for n in app._notifications if n.title == "Cancel"]
        assert said == ["Cancelling the running command on every node…"]
        assert run.state.step("ping").state == "cancelled"
