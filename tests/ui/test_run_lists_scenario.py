"""The interrupted runs on the start screen and ``journal list`` say which rehearsal scenario a
run was on: every scenario's cluster is "nyc", and a three-node session listed an nyc-outage
run without saying so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import OptionList

from pverunbook.cli import main
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.journal import runs_dir
from pverunbook.runbook.loader import load_file
from pverunbook.stopped_runs import interrupted_runs
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import ScriptTransport, make_session, start_ready, until

RUN_ID = "20250301-031500-scenar"


async def _run_on(runbook_dir: Path, scenario: str) -> None:
    rb = load_file(runbook_dir / "ui-test.toml")
    session = make_session(ScriptTransport())
    session.sim = SimpleNamespace(scenario=SimpleNamespace(name=scenario))
    engine = session.engine(rb, ScriptedDecider(confirm_text=None),
                            {"token": 5000, "api_secret": "s3cr3t-value"},
                            run_id=RUN_ID, journal_path=runs_dir() / f"{RUN_ID}.jsonl")
    session.sim = None  # it only named the scenario: nothing to stop
    assert await engine.run() == "aborted"
    await session.close()


async def test_the_run_lists_name_the_cluster_and_scenario(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    await _run_on(runbook_dir, "nyc-outage")
    assert [r.where for r in interrupted_runs()] == ["nyc (nyc-outage)"]
    assert main(["journal", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(RUN_ID))
    assert "on nyc (nyc-outage)" in line, line
    app = build_app()
    async with app.run_test(size=(200, 24)) as pilot:
        await until(pilot, lambda: start_ready(app), "the start screen")
        start = app.screen
        assert isinstance(start, StartScreen)
        await until(pilot, lambda: any(ol.option_count == 1 for ol in
                                       start.query("#resume-list").results(OptionList)),
                    "the run listed")
        label = str(start.query_one("#resume-list", OptionList).get_option_at_index(0).prompt)
        assert f"{RUN_ID}  on nyc (nyc-outage)" in label, label
