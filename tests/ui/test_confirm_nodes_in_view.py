"""A typed confirmation keeps which nodes it changes (and an override's warning) in view on a
small console: the dialog opens scrolled to its field, and with three nodes' commands the line
"Changes ryanrishi, pve001, pve002" was above the fold at 80×24, the first command in view being
pve001's; the operator typed the cluster's name without seeing the nodes it changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, to_run_screen, until

NODES = ("ryanrishi", "pve001", "pve002")
WARNING = ("⚠ USED DESPITE THE FACTS: damaged_node = 'pve002', but this run observed "
           "db.integrity[pve002] = ok.")


def _drawn(modal: ConfirmModal, widget: Widget) -> bool:
    """``widget``'s first and last rows are on screen and drawn there (not scrolled away
    under the dialog's title or below its buttons)."""
    r = widget.region
    if r.height <= 0 or not modal.region.contains_region(r):
        return False
    return all(modal.get_widget_at(r.x, y)[0] is widget for y in (r.y, r.bottom - 1))


def _static_saying(modal: ConfirmModal, text: str) -> Static:
    found = [s for s in modal.query(Static) if text in str(s.render())]
    assert found, f"no text {text!r} in the dialog"
    return found[0]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_nodes_and_the_warning_stay_in_view_with_many_commands(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        size: tuple[int, int]) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=size) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        # certificate-regeneration's "updatecerts --force on every node": three commands a
        # node, each wrapping over several lines at 80 columns
        changes = "\n".join(
            f"{n}: timeout 450 sh -c 'until timeout 5 mkdir /etc/pve/priv/lock/x 2>/dev/null; "
            f"do sleep 2; done' || {{ echo 'another node held the lock'; exit 1; }}\n"
            f"{n}: timeout 90 pvecm updatecerts --force; rc=$?; rmdir /etc/pve/priv/lock/x"
            for n in NODES)
        got: list[Any] = []

        async def ask() -> None:
            got.append(await run.decider.confirm(ConfirmRequest(
                step, "destructive", "Type 'nyc'", "nyc", NODES, warning=WARNING,
                changes=changes, checkpoint_id="20261207-130818-004a12-updatecerts-force-1")))

        app.run_worker(ask(), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "confirm")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await _settle(pilot)
        field = modal.query_one("#confirm-input", Input)
        assert modal.focused is field and _drawn(modal, field), "the field is out of view"
        nodes = _static_saying(modal, ", ".join(NODES))
        assert _drawn(modal, nodes), f"the nodes it changes are out of view at {size}"
        warning = _static_saying(modal, "USED DESPITE THE FACTS")
        assert _drawn(modal, warning), f"the override's warning is out of view at {size}"
        await pilot.press(*"nyc", "enter")
        await until(pilot, lambda: got != [], "the answer")
        assert got == ["nyc"]


async def _settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.pause()


@pytest.mark.parametrize(("expected", "nodes", "said"), [
    # pvecm qdevice setup runs on one node and rewrites every node's corosync.conf
    ("nyc", ("ryanrishi",), "Changes cluster nyc (runs on ryanrishi)."),
    ("pve001", ("pve001",), "Changes pve001 only (1 other node(s) untouched)."),
    ("nyc", ("ryanrishi", "pve001"), "Changes ryanrishi, pve001."),
])
async def test_the_head_says_what_the_engine_says_it_changes(
        build_app: Callable[..., RunbookApp], runbook_dir: Path, expected: str,
        nodes: tuple[str, ...], said: str) -> None:
    """The dialog said "Changes ryanrishi." for qdevice-setup's step typed with the cluster's
    name, where the status line (the engine's prompt) said "changes cluster 'nyc' (runs on
    ryanrishi)": setting up a QDevice changes the corosync.conf of every node."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "destructive", f"Type {expected!r}", expected, nodes)), exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "confirm")
        await _settle(pilot)
        line = app.screen.query_one("#confirm-nodes", Static)
        assert str(line.render()) == said
        assert _drawn(app.screen, line)  # type: ignore[arg-type]
        await pilot.press("escape")


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_steps_own_words_stay_in_view_above_its_commands(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        size: tuple[int, int]) -> None:
    """rollback-settle's keep on three nodes: its summary says, node by node, what it does in
    plain words; the dialog opened on the tail of its shell script, the summary above the
    fold with the node list."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=size) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = run.runbook.step("tune")
        summary = "\n".join(
            f"{n}: if its timer of 20261207-133241-2324af-apply-1 is still armed, marks it "
            "committed (what COMMIT writes) and logs that; no file changes." for n in NODES)
        script = "; ".join(f'test "$st" = armed && echo committed >"$D/state" # {i}'
                           for i in range(12))
        changes = "\n".join(f"{n}: {script}" for n in NODES)
        app.run_worker(run.decider.confirm(ConfirmRequest(
            step, "confirm", "Type 'nyc'", "nyc", NODES, summary=summary, changes=changes)),
            exit_on_error=False)
        await until(pilot, lambda: confirm_ready(app), "confirm")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await _settle(pilot)
        assert _drawn(modal, modal.query_one("#confirm-input", Input)), "the field"
        assert _drawn(modal, modal.query_one("#confirm-nodes", Static)), "the nodes"
        words = modal.query_one("#confirm-summary", Static)
        r = words.region
        assert r.height > 0 and modal.get_widget_at(r.x, r.y)[0] is words, \
            f"the step's own words are out of view at {size}"
        await pilot.press("escape")
