"""The command palette: one Quit (ours, which asks first with a cluster; Textual's own quits at
once) and entries that write the incident report of the session's latest run and of the
incident it ends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pverunbook import report
from pverunbook.engine import events as ev
from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import start_ready, until

Build = Callable[..., RunbookApp]


async def test_one_quit_and_a_report_entry(build_app: Build, tmp_path: Path) -> None:
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        system = [c.title for c in app.get_system_commands(app.screen)]
        ours = [n for n, _, _ in app.palette_commands()]
        assert "Quit" not in system and ours.count("Quit") == 1
        assert "Report of the last run" in ours
        assert ours.index("Report of this incident") == ours.index("Report of the last run") + 1
        assert app.write_report() is None  # no run yet: says so instead
        journal = tmp_path / "20260101-000000-abcdef.jsonl"
        t = 1_800_000_000.0
        journal.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in (
            ev.RunStarted(ts=t, run_id="r1", runbook_id="network-triage",
                          runbook_title="Network triage", runbook_path="", mode="rehearsal",
                          cluster="nyc", nodes=("ryanrishi", "pve001"), params={}),
            ev.RunFinished(ts=t + 5, status="ok"))), encoding="utf-8")
        app.run_finished("Network triage", "ok", journal)
        written = app.write_report()
        assert written == tmp_path / "20260101-000000-abcdef.report.md"
        await app.workers.wait_for_complete()  # written off the event loop
        assert "Network triage" in written.read_text(encoding="utf-8")
        dict(zip(ours, (a for _, _, a in app.palette_commands()), strict=True))[
            "Report of this incident"]()
        await app.workers.wait_for_complete()
        incident = tmp_path / "20260101-000000-abcdef.incident.md"
        text = incident.read_text(encoding="utf-8")
        assert text.startswith("# Incident report: cluster nyc, 1 run(s)")
        assert "### Run 1: Network triage on cluster nyc" in text


async def test_a_report_that_cannot_be_written_says_so_and_leaves_nothing(
        build_app: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's path is taken (here by a directory): nothing is written, half or whole
    (no temporary file is left), the operator is told which file, and the app keeps
    running. The report is rendered and written off the event loop."""
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        journal = tmp_path / "20260101-000000-abcdef.jsonl"
        t = 1_800_000_000.0
        journal.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in (
            ev.RunStarted(ts=t, run_id="r1", runbook_id="network-triage",
                          runbook_title="Network triage", runbook_path="", mode="rehearsal",
                          cluster="nyc", nodes=("ryanrishi", "pve001"), params={}),
            ev.RunFinished(ts=t + 5, status="ok"))), encoding="utf-8")
        taken = tmp_path / "20260101-000000-abcdef.report.md"
        taken.mkdir()
        threads: list[str] = []
        render = report.render_report

        def spy(events: Any, *args: Any, **kwargs: Any) -> str:
            threads.append(threading.current_thread().name)
            return render(events, *args, **kwargs)

        monkeypatch.setattr(report, "render_report", spy)
        app.run_finished("Network triage", "ok", journal)
        out = app.write_report()
        await app.workers.wait_for_complete()
        assert out == taken
        assert threads and threading.main_thread().name not in threads  # off the event loop
        left = [p.name for p in tmp_path.iterdir()  # noqa: ASYNC240 - a test's look
                if p.name.startswith(("20260101", ".20260101"))]
        assert sorted(left) == [journal.name, taken.name], left
        said = [n.message for n in app._notifications]
        assert any(m.startswith(f"Cannot write {out}") for m in said), said
        assert app.is_running
