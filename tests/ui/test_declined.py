"""A destructive step declined at its typed confirmation, after its checkpoint was taken and
verified: the summary lists that checkpoint and counts the step as declined (it did not run),
not as failed; the journal and the incident report say the same."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.inventory import Cluster, Node
from pverunbook.report import render_report
from pverunbook.runbook.loader import load_text
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.local import LocalTransport
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import confirm_ready, summary_ready, until

RUNBOOK = '''
id = "declinable"
title = "Change a file after backing it up"

[[steps]]
id = "look"
title = "Look at the file"
kind = "check"
targets = "all"
commands = ["cat @FILE@"]

[[steps]]
id = "change"
title = "Overwrite the file"
kind = "run"
targets = "all"
destructive = true
commands = ["echo changed > @FILE@"]

[steps.backup]
files = ["@FILE@"]
'''


def local_app(tmp_path: Path) -> tuple[RunbookApp, Path]:
    target = tmp_path / "precious.conf"
    target.write_text("original\n", encoding="utf-8")
    session = Session(SessionConfig(mode=Mode.LOCAL, journal_path=Path("journal.jsonl")))
    session.cluster = Cluster("nyc", (Node(name="here", host="localhost", addr="127.0.0.1"),))
    session.transport = LocalTransport()
    app = make_app(session.config, session=session)
    app.animation_level = "none"
    return app, target


async def reach_confirmation(pilot: object, app: RunbookApp, target: Path) -> ConfirmModal:
    app.start_run(load_text(RUNBOOK.replace("@FILE@", str(target))), {})
    await until(pilot, lambda: isinstance(app.screen, RunScreen)
                and app.screen.decider.is_waiting, "next")
    await pilot.press("n")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, RunScreen)
                and app.screen.decider.is_waiting
                and app.screen.state.step("look").state == "ok", "the first step")
    await pilot.press("n")  # type: ignore[attr-defined]
    await until(pilot, lambda: confirm_ready(app), "the confirmation")
    modal = app.screen
    assert isinstance(modal, ConfirmModal)
    progress = modal.request.checkpoint
    assert progress is not None
    await until(pilot, lambda: progress.state == "verified", "the checkpoint verified")
    return modal


async def test_declined_after_checkpoint_lists_it_and_counts_declined(tmp_path: Path) -> None:
    app, target = local_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await reach_confirmation(pilot, app, target)
        cid = modal.request.checkpoint.checkpoint_id  # type: ignore[union-attr]
        assert cid
        modal.query_one("#confirm-cancel", Button).press()
        await until(pilot, lambda: summary_ready(app), "the summary")
        text = str(app.screen.query_one("#summary-text").render())
        await app.workers.wait_for_complete()
    assert target.read_text(encoding="utf-8") == "original\n"  # the step did not run
    assert "Steps: 1 done · 0 failed · 1 declined (not run)" in text, text
    backups = text.split("Backups taken (checkpoint ids)")[1]
    assert cid in backups.split("\n\n")[0], text
    assert "none taken" not in backups.split("\n\n")[0], text
    events = read_journal(Path("journal.jsonl"))
    taken = [e for e in events if isinstance(e, ev.CheckpointTaken)]
    assert [(e.checkpoint_id, e.ok) for e in taken] == [(cid, True)]
    finished = [e for e in events if isinstance(e, ev.StepFinished) and e.step_id == "change"]
    assert [e.status for e in finished] == ["declined"]
    report = render_report(events)
    assert f"`{cid}`" in report and "all verified" in report
    assert "1 declined" in report and "failed" not in report.split("## Timeline")[0]
