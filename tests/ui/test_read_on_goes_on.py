"""``a`` runs the read-only steps and pauses at each step that needs the operator (a manual
step, a destructive step with its typed confirmation); once that step is answered, the
read-only steps after it go on by themselves. It stopped there, and a had to be pressed again
after every manual or destructive step. Nothing destructive runs without its confirmation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ChoiceModal, ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, confirm_ready, summary_ready, until

Build = Callable[..., RunbookApp]

RUNBOOK = """
id = "read-on"
title = "Read-only steps around a manual and a destructive step"

[[steps]]
id = "r1"
title = "Read one"
kind = "check"
commands = ["cat /etc/hostname"]

[[steps]]
id = "hand"
title = "Plug the cable back in"
kind = "manual"
instructions = "Plug it in."

[[steps]]
id = "r2"
title = "Read two"
kind = "check"
commands = ["cat /etc/hosts"]

[[steps]]
id = "wipe"
title = "Write the change"
kind = "run"
destructive = true
no_backup_reason = "test transport: nothing to back up"
commands = ["echo changed"]

[[steps]]
id = "r3"
title = "Read three"
kind = "check"
commands = ["cat /etc/motd"]

[[steps]]
id = "r4"
title = "Read four"
kind = "check"
commands = ["cat /etc/issue"]
"""


def _ran(transport: ScriptTransport, what: str) -> bool:
    return any(what in c for _, c in transport.ran)


async def test_a_goes_on_after_each_step_the_operator_answers(build_app: Build,
                                                              runbook_dir: Path) -> None:
    (runbook_dir / "read-on.toml").write_text(RUNBOOK, encoding="utf-8")
    transport = ScriptTransport()
    app = build_app(transport, runbook=runbook_dir / "read-on.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        # no parameters: the run screen opens without a form
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the run screen")
        run = app.screen
        assert isinstance(run, RunScreen)

        def waits_before(step_id: str) -> Callable[[], bool]:
            return lambda: (run.decider.is_waiting and run.decider.waiting_step is not None
                            and run.decider.waiting_step.id == step_id)

        await pilot.press("a")  # the only a of this test
        await until(pilot, waits_before("hand"), "the pause before the manual step")
        assert run.state.step("r1").state == "ok"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "Done / Not done")
        await pilot.press("d")
        # r2 runs by itself; the run pauses again before the destructive step
        await until(pilot, lambda: run.decider.is_waiting
                    and run.decider.waiting_step is not None
                    and run.decider.waiting_step.id != "hand", "the next pause")
        assert run.decider.waiting_step is not None
        assert run.decider.waiting_step.id == "wipe", run.decider.waiting_step.id
        assert run.state.step("r2").state == "ok"
        assert not _ran(transport, "echo changed")  # a destructive step waits for n
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        assert not _ran(transport, "echo changed")  # and for its typed confirmation
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await pilot.press(*modal.request.expected, "enter")
        # the read-only steps after it run by themselves, to the end of the run
        await until(pilot, lambda: run.state.finished is not None, "the end of the run")
        assert [s.state for s in run.state.steps] == ["ok"] * 6
        await until(pilot, lambda: summary_ready(app), "the summary")
        await app.workers.wait_for_complete()
    given = [e for e in read_journal(Path("journal.jsonl"))
             if isinstance(e, ev.ConfirmationGiven) and e.step_id == "wipe"]
    assert [g.accepted for g in given] == [True]
