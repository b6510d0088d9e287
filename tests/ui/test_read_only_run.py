"""One key runs the read-only steps: the health check took 16 presses of n. ``a`` runs the next
steps while the engine calls them read-only (``engine.decisions.not_read_only``), pauses before
one that changes something or asks (the operator answers it; the read-only steps after it then
go on without another a), and stops after one that fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pverunbook.runbook.loader import load_file
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import SCRIPTS, ScriptTransport, to_run_screen, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
CHECK = Path(__file__).resolve().parents[2] / "runbooks" / "cluster-health-check.toml"


async def test_a_runs_the_checks_and_stops_before_the_change(build_app: Build,
                                                             runbook_dir: Path) -> None:
    transport = ScriptTransport()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        # the status line offers it (the footer is full at 80 columns; F1 and the palette
        # list it too)
        status = " ".join(" ".join(screen_lines(app)).split())
        assert "a all read-only" in status, status
        await pilot.press("a")
        await until(pilot, lambda: run.decider.is_waiting
                    and run.decider.waiting_step is not None
                    and run.decider.waiting_step.id == "tune", "the stop before tune")
        await pilot.pause()
        assert [run.state.step(s).state for s in ("ping", "config", "tune")] == \
            ["ok", "ok", "pending"]
        assert not any("echo token" in c for _, c in transport.ran)  # the change waits
        assert run.decider.reading  # paused, not over: it goes on once tune is answered
        status = " ".join(" ".join(screen_lines(app)).split())
        assert "a all read-only" not in status
        assert "runs it, then the read-only steps" in status, status
        # on the destructive step itself, a runs nothing: it ends the read-only run
        await pilot.press("a")
        await pilot.pause()
        assert run.decider.is_waiting and run.decider.waiting_step.id == "tune"
        assert not run.decider.reading
        assert not any("echo token" in c for _, c in transport.ran)


async def test_a_stops_after_a_step_that_fails(build_app: Build, runbook_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SCRIPTS, "ping", {"ryanrishi": (["connect: Network is unreachable"], 2),
                                          "pve001": (["connect: Network is unreachable"], 2)})
    transport = ScriptTransport()
    app = build_app(transport, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("a")
        await until(pilot, lambda: run.state.step("ping").state not in ("pending", "running"),
                    "ping to end")
        await pilot.pause()
        assert run.state.step("ping").state == "failed"
        assert not run.decider.reading
        assert not any("cmapctl" in c for _, c in transport.ran), transport.ran


async def test_one_press_runs_the_health_check_in_the_rehearsal(tmp_path: Path) -> None:
    """The shipped health check only reads: one press of a runs every one of its steps (it
    took a press of n per step), on the story's outage over SSH."""
    from pverunbook.session import Mode, SessionConfig
    from pverunbook.ui.app import make_app

    app = make_app(SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=tmp_path / "rehearsal"),
                   runbook=CHECK)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the health check", 6000)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("a")
        await until(pilot, lambda: run.state.finished is not None, "the end of the run", 6000)
        assert len(run.state.steps) == len(load_file(CHECK).steps)
        assert all(s.state == "ok" for s in run.state.steps), \
            [(s.step.id, s.state) for s in run.state.steps]
