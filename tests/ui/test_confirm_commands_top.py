"""A destructive step's confirmation shows every command it will run from its first character.

The dialog opened scrolled to its field, which sat below the commands: at 80×24
certificate-regeneration's updatecerts step (three long commands a node) showed its command
block from the middle of a command, the operator typing the cluster's name under a command
they could not read whole. The commands now open at their first line and scroll between the
docked head and the docked field, which stays in view wherever they are scrolled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Input, Static

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
NODES = ("ryanrishi", "pve001")


def _row_drawn(modal: ConfirmModal, widget: Widget, y: int) -> bool:
    r = widget.region
    if r.height <= 0 or not modal.region.contains(r.x, y):
        return False
    return modal.get_widget_at(r.x, y)[0] is widget


@pytest.mark.parametrize(("runbook", "step_id", "size"), [
    ("certificate-regeneration", "updatecerts", (80, 24)),
    ("certificate-regeneration", "updatecerts-force", (80, 24)),
    ("certificate-regeneration", "updatecerts", (60, 20)),
    ("cluster-db-reset", "move-db-aside", (80, 24)),
    ("vm-config-recovery", "dump-restore-all", (80, 24)),
    ("corosync-tuning", "apply", (80, 24)),
    ("route-fix", "delete", (80, 24)),
])
async def test_the_commands_open_at_their_first_line_and_the_field_stays_in_view(
        build_app: Callable[..., RunbookApp], runbook_dir: Path, runbook: str, step_id: str,
        size: tuple[int, int]) -> None:
    step = load_file(SHIPPED / f"{runbook}.toml").step(step_id)
    assert step.destructive and step.commands
    changes = "\n".join(f"{n}: {c}" for n in NODES for c in step.commands)
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=size) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "destructive", "Type 'nyc'", "nyc", NODES, changes=changes,
            checkpoint_id="20261207-130818-004a12-updatecerts-1")), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        for _ in range(3):
            await pilot.pause()
        commands = modal.query_one(".dialog-commands", Static)
        field = modal.query_one("#confirm-input", Input)
        assert str(commands.render()).startswith(f"{NODES[0]}: {step.commands[0][:20]}")
        assert _row_drawn(modal, commands, commands.region.y), \
            f"{runbook} {step_id}: the first command's first line is out of view at {size}"
        assert _row_drawn(modal, field, field.region.y), "the field is out of view"
        dialog = modal.query_one("#confirm-dialog")
        dialog.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        last = commands.region.bottom - 1
        assert _row_drawn(modal, commands, last), "the last command cannot be scrolled to"
        assert _row_drawn(modal, field, field.region.y), "the field scrolled out of view"
        await pilot.press(*"nyc")
        assert field.value == "nyc"
