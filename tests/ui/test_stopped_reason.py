"""The start screen's "Interrupted runs" also offers runs that ended without their change
(a declined confirmation, a change not kept): resume goes on from there. Each says why it
is listed, in the run's own words; a newcomer saw "stopped: aborted" and no reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import OptionList

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.journal import read_journal, runs_dir
from pverunbook.runbook.loader import load_file
from pverunbook.stopped_runs import interrupted_runs
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import ScriptTransport, make_session, start_ready, until

RUN_ID = "20250301-031500-declin"


async def _declined_run(runbook_dir: Path) -> str:
    """A real run of ui-test whose operator declined the destructive step's confirmation."""
    rb = load_file(runbook_dir / "ui-test.toml")
    session = make_session(ScriptTransport())
    path = runs_dir() / f"{RUN_ID}.jsonl"
    engine = session.engine(rb, ScriptedDecider(confirm_text=None),
                            {"token": 5000, "api_secret": "s3cr3t-value"},
                            run_id=RUN_ID, journal_path=path, operator="operator")
    assert await engine.run() == "aborted"
    await session.close()
    end = [e for e in read_journal(path) if isinstance(e, ev.RunFinished)]
    assert len(end) == 1 and end[0].message
    return end[0].message


async def test_a_declined_run_says_why_it_is_listed(build_app: Callable[..., RunbookApp],
                                                    runbook_dir: Path) -> None:
    why = await _declined_run(runbook_dir)
    assert [(r.run_id, r.status, r.reason) for r in interrupted_runs()] == [
        (RUN_ID, "aborted", why)]
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: start_ready(app), "the start screen")
        start = app.screen
        assert isinstance(start, StartScreen)
        await until(pilot, lambda: any(ol.option_count == 1 for ol in
                                       start.query("#resume-list").results(OptionList)),
                    "the stopped run listed")
        label = str(start.query_one("#resume-list", OptionList).get_option_at_index(0).prompt)
        assert f"stopped: aborted — {why}" in label, label
