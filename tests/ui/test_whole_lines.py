"""``w`` shows the selected node's output of the step with every line whole: at 80×24 a pane
cut the end of each long line (the part of a failure that said what to do) and could not be
scrolled sideways from the keyboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import TextArea

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.output_view import OutputView
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import SCRIPTS, ScriptTransport, to_run_screen, until

LONG = ("VM 999 runs on no node (running on ryanrishi: 101, 108; 1 other node(s) asked): "
        "check the VMID (`ps -eo pid,args | grep [k]vm` on each node lists what runs)")


async def test_w_shows_the_nodes_lines_whole_and_wrapped(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (lines, code) in list(SCRIPTS["ping"].items()):
        monkeypatch.setitem(SCRIPTS["ping"], name, ([*lines, LONG], code))
    app = build_app(ScriptTransport(), runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")  # the ping step
        await until(pilot, lambda: run.decider.is_waiting and run.state.step("ping").state
                    not in ("pending", "running"), "the ping step to end")
        node = run.selected_node or next(iter(run.panes))
        lines = list(run.panes[node].log_widget.lines)
        assert LONG in lines and len(LONG) > run.panes[node].log_widget.size.width  # cut
        longest = LONG
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, OutputView), "the whole lines")
        area = app.screen.query_one("#output-text", TextArea)
        assert area.soft_wrap and area.read_only
        assert longest in area.text.splitlines() and node in str(app.screen.node)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "back to the run")
