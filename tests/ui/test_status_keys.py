"""The run screen's status line names keys from the same bindings, and by the same test
(``check_action``), as F1's key list: whatever the run is doing, a key the status line offers
is one F1 lists, and a key that does nothing now is in neither."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.ui import messages as m
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.help import HelpScreen
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, to_run_screen, until


async def f1_keys(pilot: object, app: RunbookApp) -> set[str]:
    run = app.screen
    await pilot.press("f1")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
    help_screen = app.screen
    assert isinstance(help_screen, HelpScreen)
    keys = {k for k, _, _ in help_screen.keys}
    await pilot.press("escape")  # type: ignore[attr-defined]
    await until(pilot, lambda: app.screen is run, "back to the run")
    return keys


def status(run: RunScreen) -> str:
    return str(run.query_one("#run-status").render())


def line_keys(run: RunScreen) -> set[str]:
    """The keys the status line offers: each " · "-separated part after the first starts
    with one ("c cancels", "n (or Enter) runs it")."""
    parts = status(run).split(" · ")[1:]
    return {p.split()[0] for p in parts if p.split() and len(p.split()[0]) <= 2}


async def agree(pilot: object, app: RunbookApp, run: RunScreen) -> set[str]:
    """The status line's keys, each of them in F1's list."""
    await pilot.pause()  # type: ignore[attr-defined]
    shown = line_keys(run)
    listed = await f1_keys(pilot, app)
    assert shown <= listed, (shown - listed, status(run))
    return shown


async def test_status_line_and_f1_offer_the_same_keys(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        # waiting for "next"
        assert {"s", "j"} <= await agree(pilot, app, run)
        # a command runs: c cancels it, in both
        await pilot.press("n")
        await until(pilot, lambda: run.state.command_running, "running")
        assert "c" in await agree(pilot, app, run)
        assert "c cancels" in status(run)
        transport.gate.set()
        await until(pilot, lambda: run.decider.is_waiting, "the next step")
        shown = await agree(pilot, app, run)
        assert "c" not in shown and "c cancels" not in status(run)
        # a step started and no command runs yet (its guards, its checkpoint, between two
        # commands): c would do nothing, so neither the line nor F1 offers it
        sv = run.state.step("config")
        run.post_message(m.StepStarted(ev.StepStarted(
            step_id="config", title=sv.step.title, index=1, nodes=("ryanrishi", "pve001"))))
        await until(pilot, lambda: run.state.current == "config", "the step started")
        shown = await agree(pilot, app, run)
        assert "Running step 2" in status(run)
        assert "c" not in shown and "c cancels" not in status(run)



async def test_v_leaves_the_footer_when_the_step_runs_on_one_node(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    """route-fix's first step runs on the one node its parameter names: the footer still
    offered ``v Node`` there, and v did nothing (one pane to show)."""
    from tests.ui.screen_text import screen_lines

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        nodes = list(run.panes)
        assert len(nodes) >= 2
        for step_nodes, offered in ((nodes, True), (nodes[:1], False), (nodes, True)):
            run.step_nodes = step_nodes
            run.layout_panes()
            await pilot.pause()
            await pilot.pause()
            assert run.check_action("next_node", ()) is offered
            footer = screen_lines(app)[-1]
            assert ("v Node" in footer) is offered, footer
