"""Steps passed over with j read "not reached" in the step list (the word the summary and the
incident report use for them), not "pending" as if still ahead; jumping back makes them
pending again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pverunbook.engine.decisions import StepAction, StepDecision
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import JumpModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]

#: Read-only checks, no destructive step: none of them guards anything, so a jump over them
#: asks for no override.
RUNBOOK = "\n".join(['id = "jumps"', 'title = "Four checks"'] + [
    f'[[steps]]\nid = "c{i}"\ntitle = "Check {i}"\nkind = "check"\n'
    f'commands = ["cat /etc/c{i}"]' for i in range(1, 5)]) + "\n"


def _rows(app: RunbookApp) -> dict[str, str]:
    """Each step's state as the step list on screen shows it, by title."""
    text = "\n".join(screen_lines(app))
    rows = {}
    for i in range(1, 5):
        found = re.search(rf"\b{i} ?Check {i}\s+(not reached|pending|next|ok)\b", text)
        rows[f"Check {i}"] = found.group(1) if found else f"(not found in:\n{text})"
    return rows


async def _jump_to(pilot: object, app: RunbookApp, run: RunScreen, index: int) -> None:
    await pilot.press("j")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, JumpModal), "the jump list")
    modal = app.screen
    assert isinstance(modal, JumpModal)
    modal.dismiss(modal.steps[index][0])
    await until(pilot, lambda: run.decider.is_waiting and run.state.waiting_index == index,
                f"the run to wait before step {index + 1}")
    await pilot.pause()  # type: ignore[attr-defined]


async def test_jumped_steps_read_not_reached(build_app: Build, runbook_dir: Path) -> None:
    (runbook_dir / "jumps.toml").write_text(RUNBOOK, encoding="utf-8")
    app = build_app(ScriptTransport(), runbook=runbook_dir / "jumps.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the run screen")
        run = app.screen
        assert isinstance(run, RunScreen)
        await _jump_to(pilot, app, run, 2)  # from step 1 over steps 1 and 2
        rows = _rows(app)
        assert rows["Check 1"] == "not reached", rows
        assert rows["Check 2"] == "not reached", rows
        assert rows["Check 3"] == "next", rows
        assert rows["Check 4"] == "pending", rows
        summary = run.state.summary()
        assert summary.not_reached[:2] == ["Check 1", "Check 2"]  # the summary's word too
        await _jump_to(pilot, app, run, 1)  # back: step 2 is ahead again
        rows = _rows(app)
        assert rows["Check 1"] == "not reached", rows
        assert rows["Check 2"] == "next", rows
        assert rows["Check 3"] == "pending", rows
        run.decider.decide(StepDecision(StepAction.ABORT))
        await until(pilot, lambda: run.state.finished is not None, "the run to stop")
        await app.workers.wait_for_complete()
