"""The "Step failed" question: Escape (F1 calls it the safe answer) folds it away so the
operator can read the output it asks about — it does not abort the run — and ``n`` brings it
back; each key means one thing (``c`` continue, ``a`` abort; no ``f`` that means "stop" on one
step and "continue" on another)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from pverunbook.engine.decisions import FailureChoice
from pverunbook.runbook.model import FailureAction, OnFailure
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import to_run_screen, until

Build = Callable[..., RunbookApp]


async def _ask(pilot: Pilot[Any], app: RunbookApp, on_failure: OnFailure) -> list[Any]:
    run = app.screen
    assert isinstance(run, RunScreen)
    step = replace(run.runbook.step("config"), on_failure=on_failure)
    got: list[Any] = []

    async def ask() -> None:
        got.append(await run.decider.after_failure(step, "failed"))

    app.run_worker(ask(), exit_on_error=False)
    await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the failure question")
    return got


async def test_escape_folds_the_question_and_n_brings_it_back(build_app: Build,
                                                             runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        got = await _ask(pilot, app, OnFailure(FailureAction.STOP))
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        keys = {c.key: c.value for c in modal.choices}
        # on_failure = stop: following the runbook IS Abort, offered once, under one key
        assert keys == {"r": "rerun", "s": "skip", "l": "look", "a": "abort"}
        assert modal.cancel_value == "look"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "the question folded away")
        await pilot.pause()
        assert got == [] and run.decider.folded is not None  # nothing decided, still waiting
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the question again")
        await pilot.press("r")
        await until(pilot, lambda: got != [], "the answer")
        assert got == [FailureChoice.RERUN]


async def test_the_runbooks_choice_has_a_key_of_its_own(build_app: Build,
                                                        runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        got = await _ask(pilot, app, OnFailure(FailureAction.CONTINUE))
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        by_value = {c.value: (c.key, c.label) for c in modal.choices}
        assert by_value["follow"] == ("c", "Continue")
        assert "f" not in {c.key for c in modal.choices}
        await pilot.press("c")
        await until(pilot, lambda: got != [], "the answer")
        assert got == [FailureChoice.FOLLOW_RUNBOOK]


def test_failure_question_folded_away_80x24(snap_compare: Callable[..., bool],
                                            build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")

    async def run_before(pilot: Pilot[Any]) -> None:
        await to_run_screen(pilot, app)
        run = app.screen
        await _ask(pilot, app, OnFailure(FailureAction.STOP))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run, "folded")
        app.clear_notifications()
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_the_question_says_why_each_node_failed(build_app: Build,
                                                      runbook_dir: Path) -> None:
    """route-fix with the wrong node asked "… ended failed: pve001: failed" and nothing more:
    why ("This node has no host route … Check the node name") was only in the pane behind it.
    The question names each failed node with what its pane says; a node that was fine is not
    listed."""
    from pverunbook.ui.model import NodeResult

    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        sv = run.state.step("config")
        why = "exit 0, check failed: This node has no host route 'DEST via GATEWAY'"
        sv.state, sv.message = "failed", "pve001: failed"
        sv.results = {"pve001": NodeResult("pve001", status="failed", outcome=why),
                      "ryanrishi": NodeResult("ryanrishi", status="ok", outcome="exit 0")}
        await _ask(pilot, app, OnFailure(FailureAction.STOP))
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        assert f"pve001**: {why}" in modal.body, modal.body
        assert "ryanrishi" not in modal.body, modal.body


async def test_a_timed_out_step_says_after_how_long(build_app: Build,
                                                    runbook_dir: Path) -> None:
    """Trial: "Step timed out" with a Re-run and no word of the limit it ran into."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        step = replace(run.runbook.step("config"), timeout=600)
        app.run_worker(run.decider.after_failure(step, "timed_out"), exit_on_error=False)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the failure question")
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        assert "timed out after 600 s" in modal.body
        await pilot.press("a")
