"""The node strip while a step's later command runs: no exit status until that command has
one (not the exit of the command before it), and the time ticks by itself while it runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.widgets.output import NodeStrip
from tests.ui.conftest import ScriptTransport, until

RUNBOOK = """
id = "ui-sample"
title = "UI test: read, then sample for a minute"

[[steps]]
id = "sample"
title = "Read the counters, then sample"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version", "ping -c 60 peer"]
timeout = 120
"""


async def test_strip_shows_a_ticking_time_and_no_stale_exit(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    offset = [0.0]
    monkeypatch.setattr("pverunbook.ui.model.time",
                        SimpleNamespace(time=lambda: time.time() + offset[0]), raising=False)
    (runbook_dir / "ui-sample.toml").write_text(RUNBOOK, encoding="utf-8")
    transport = ScriptTransport(hold=("ping",))
    app = build_app(transport, runbook=runbook_dir / "ui-sample.toml")
    async with app.run_test(size=(80, 24)) as pilot:  # one pane at a time: the strip shows
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the run")
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        # the first command ended (exit 0, 1.2 s on ryanrishi), the sample runs
        await until(pilot, lambda: run.state.command_running and transport.streaming.is_set()
                    and len(run.state.step("sample").results["ryanrishi"].commands) == 2,
                    "the sample to run")
        strip = run.query_one(NodeStrip)
        assert strip.display

        def row(node: str) -> str:
            lines = str(strip.render()).splitlines()
            return next(x for x in lines if node in x)

        await until(pilot, lambda: "running" in row("ryanrishi"), "the strip")
        assert "exit" not in row("ryanrishi"), row("ryanrishi")
        offset[0] = 60.0  # a minute later, with no event in between
        await until(pilot, lambda: "1m 0" in row("ryanrishi"), "the time to tick")
        assert "exit" not in row("ryanrishi")
        transport.gate.set()
        await until(pilot, lambda: run.state.step("sample").state == "ok", "the end")
        await until(pilot, lambda: "exit 0" in row("ryanrishi"), "the exit status")
