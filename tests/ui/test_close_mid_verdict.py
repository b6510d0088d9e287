"""Closing the app while a verdict is being judged ends quietly.

A verdict runs in the off-loop helper process (engine/offloop.py). Closing the app cancels the
run, which kills the helper under the request; the thread waiting on its pipe then ends with
``OffLoopError("the helper process ended (EOFError)")``. That outcome used to be left unread,
so asyncio printed "Future exception was never retrieved" and a traceback when the app exited.
The loop's exception handler records here whatever asyncio would have printed.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import findings, offloop
from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import to_run_screen, until

Build = Callable[..., RunbookApp]


def judge_until_killed(verdict: object, inputs: object, names: object, ok_exit: object) -> None:
    """Runs in the helper process: says it started (its pid in $VERDICT_MARK), then never
    answers, so the app is closed while the verdict is in flight."""
    Path(os.environ["VERDICT_MARK"]).write_text(str(os.getpid()))
    time.sleep(3600)


async def test_closing_the_app_mid_verdict_kills_the_helper_and_prints_nothing(
        build_app: Build, runbook_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    mark = tmp_path / "verdict-started"
    monkeypatch.setenv("VERDICT_MARK", str(mark))
    offloop._WORKER.kill()  # the next helper starts with VERDICT_MARK in its environment
    monkeypatch.setattr(findings, "JUDGE", judge_until_killed)
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        await until(pilot, mark.exists, "the verdict to start in the helper")
        helper = offloop._WORKER.proc
        assert helper is not None and str(helper.pid) == mark.read_text()
    try:
        assert helper.poll() is not None, "the helper outlived the app"
    finally:
        offloop._WORKER.kill(helper)
    await loop.shutdown_default_executor()  # the thread that waited on the helper has ended
    for _ in range(3):
        await asyncio.sleep(0)  # its outcome is handed to the loop
    gc.collect()  # an unread future reports itself when collected
    assert not reported, [c.get("message") for c in reported]
