"""The TUI's parameter form refuses a node-choosing value that is not ONE node's name.

The form validates with the same code as `--set` (runbook/params.py, given the connected
cluster's node names): `all`, `first`, `local`, lists and unknown names are shown as errors with
the valid names, and the run cannot start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, Static

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import form_ready, until

Build = Callable[..., RunbookApp]
SIZE = (140, 40)

NODE_BOOK = '''
id = "node-param"
title = "Node parameter"

[[params]]
name = "damaged_node"
prompt = "The ONE damaged node"
regex = '.*'

[[steps]]
id = "reset"
title = "Reset one node"
targets = "{{damaged_node}}"
max_targets = 1
destructive = true
no_backup_reason = "test"
commands = ["echo reset"]
'''


async def test_form_refuses_all_and_names_the_nodes(build_app: Build, runbook_dir: Path) -> None:
    (runbook_dir / "node-param.toml").write_text(NODE_BOOK, encoding="utf-8")
    app = build_app(runbook=runbook_dir / "node-param.toml", params={"damaged_node": "all"})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "params")
        screen = app.screen
        await pilot.pause()
        err = screen.query_one("#err-damaged_node", Static)
        assert "'all' names every node" in str(err.render())
        assert "ryanrishi, pve001" in str(err.render())
        assert screen.query_one("#params-start").disabled
        for bad in ("first", "local", "ryanrishi,pve001", "pve*", "nope"):
            screen.query_one("#param-damaged_node", Input).value = bad
            await pilot.pause()
            assert "ryanrishi, pve001" in str(err.render()), bad
            assert screen.query_one("#params-start").disabled
        screen.query_one("#param-damaged_node", Input).value = "pve001"
        await pilot.pause()
        assert not err.display
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), "run")
