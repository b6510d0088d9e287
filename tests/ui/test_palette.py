"""The command palette: one Quit (ours, which asks first with a cluster; Textual's own quits at
once) and entries that write the incident report of the session's latest run and of the
incident it ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
        assert "Network triage" in written.read_text(encoding="utf-8")
        dict(zip(ours, (a for _, _, a in app.palette_commands()), strict=True))[
            "Report of this incident"]()
        incident = tmp_path / "20260101-000000-abcdef.incident.md"
        text = incident.read_text(encoding="utf-8")
        assert text.startswith("# Incident report: cluster nyc, 1 run(s)")
        assert "### Run 1: Network triage on cluster nyc" in text
