"""Screenshots of the SHIPPED runbooks, rehearsed against the simulated cluster over SSH.

One launch, as an operator would do it (``pverunbook.ui.autopilot``): network-triage, a shell
on ryanrishi that removes the stale host route (the story's fix), corosync-tuning,
vm-config-recovery (rebuild from the running VMs), certificate-regeneration, each started from
the runbook list. Every picture is taken twice: at 80×24 (``NAME-80x24.svg``, a crash cart or an
IPMI console) and at 200×50 (``NAME.svg``).

What is pinned so that two runs draw the same screens: the journal and checkpoint directories
and the working directory (temporary), the run ids, the operator's name, the time zone (UTC)
and the durations shown. The simulated cluster's own clock runs, so a second-dependent value
in a tool's output (a ping time) can differ between two runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

#: (file suffix, terminal size) for every picture.
SIZES: tuple[tuple[str, tuple[int, int]], ...] = (("-80x24", (80, 24)), ("", (200, 50)))
#: The pictures, in the order they are taken.
SHOTS = ("start", "run-triage", "parameters", "confirmation", "run-certificates", "summary",
         "start-after")
#: The story's real fix, typed in the shell on ryanrishi.
ROUTE_FIX = "ip route del 192.168.4.201"


def _prepare(out: Path) -> Path:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def _pinned(tmp: Path) -> Iterator[None]:
    """Everything that would make two captures differ, fixed for the duration."""
    old_env = {k: os.environ.get(k) for k in ("PVERUNBOOK_STATE_DIR", "PVERUNBOOK_DATA_DIR",
                                                "TZ")}
    os.environ["PVERUNBOOK_STATE_DIR"] = str(tmp / "state")
    os.environ["PVERUNBOOK_DATA_DIR"] = str(tmp / "data")
    os.environ["TZ"] = "UTC"
    time.tzset()
    cwd = Path.cwd()
    os.chdir(tmp)
    counter = itertools.count(1)
    from textual.widgets import Input

    original_init = Input.__init__

    def steady_cursor(self: Input, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.cursor_blink = False

    patches: list[Any] = [
        mock.patch("pverunbook.session.new_run_id",
                   lambda: f"20241119-2140{next(counter):02d}-rehear"),
        mock.patch("pverunbook.engine.engine._whoami", lambda: "root"),
        mock.patch("pverunbook.ui.model.fmt_duration", lambda s: "4m 12s"),
        mock.patch("pverunbook.ui.widgets.output.fmt_duration", lambda s: "1.2s"),
        mock.patch.object(Input, "__init__", steady_cursor),
    ]
    try:
        for p in patches:
            p.start()
        yield
    finally:
        for p in reversed(patches):
            p.stop()
        os.chdir(cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        time.tzset()


async def take_rehearsal_screenshots(out: Path, time_scale: float = 0.01) -> list[Path]:
    """Rehearse the story with the shipped runbooks and write every ``SHOTS`` picture at
    every ``SIZES`` size into ``out`` (created). Returns the files, in order. Raises
    :class:`~pverunbook.ui.autopilot.AutopilotStuck` if the rehearsal does not go through."""
    from pverunbook.session import Mode, SessionConfig
    from pverunbook.ui.app import make_app
    from pverunbook.ui.autopilot import AutopilotStuck, drive_run, start_from_list, until
    from pverunbook.ui.screens.modals import ConfirmModal
    from pverunbook.ui.screens.params import ParamsScreen
    from pverunbook.ui.screens.run import RunScreen
    from pverunbook.ui.screens.start import StartScreen

    out = await asyncio.to_thread(_prepare, out)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="pverunbook-shots-") as tmp, _pinned(Path(tmp)):
        config = SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=Path(tmp) / "rehearsal",
                               time_scale=time_scale)
        app = make_app(config)
        app.animation_level = "none"
        big = SIZES[-1][1]
        async with app.run_test(size=big) as pilot:

            async def shot(name: str) -> None:
                app.clear_notifications()
                for suffix, (w, h) in SIZES:
                    await pilot.resize_terminal(w, h)
                    await pilot.pause(0.3)
                    await pilot.pause()
                    saved.append(Path(app.save_screenshot(f"{name}{suffix}.svg",
                                                          path=str(out))))
                await pilot.resize_terminal(*big)
                await pilot.pause()

            async def back_to_list() -> None:
                await pilot.press("b")
                await until(pilot, lambda: isinstance(app.screen, StartScreen), "the list")

            await until(pilot, lambda: app.session.cluster is not None
                        and isinstance(app.screen, StartScreen), "the rehearsal cluster")
            await pilot.pause()
            await shot("start")

            async def after_ping(run: RunScreen) -> None:
                last = run.state.last_finished
                if last is not None and last.id == "ping" and "run-triage" not in \
                        {p.stem for p in saved}:
                    await pilot.pause(0.6)
                    await shot("run-triage")

            await pilot.press("enter")
            await drive_run(pilot, app, after_ping)
            await back_to_list()

            app.open_shell("ryanrishi", command=ROUTE_FIX)
            await until(pilot, lambda: app.shells, "the shell")

            await start_from_list(pilot, app, "corosync-tuning")
            await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.pause()
            await shot("parameters")
            await pilot.press("ctrl+s")

            # The first typed confirmation of corosync-tuning (its destructive edit).
            await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run")
            for _ in range(100):
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal) or (
                    isinstance(app.screen, RunScreen) and app.screen.decider.is_waiting),
                    "the first confirmation")
                if isinstance(app.screen, ConfirmModal):
                    break
                await pilot.press("n")
            else:
                raise AutopilotStuck("corosync-tuning asked for no confirmation")
            await pilot.pause()
            await shot("confirmation")
            await drive_run(pilot, app)
            await back_to_list()

            app.start_runbook("vm-config-recovery", {"source": "processes"})
            await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.press("ctrl+s")
            await drive_run(pilot, app)
            await back_to_list()

            await start_from_list(pilot, app, "certificate-regeneration")
            await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.press("ctrl+s")

            async def fifth(run: RunScreen) -> None:
                done = sum(1 for s in run.state.steps if s.state == "ok")
                if done == 5 and "run-certificates" not in {p.stem for p in saved}:
                    await pilot.pause(0.6)
                    await shot("run-certificates")

            await drive_run(pilot, app, fifth)
            await shot("summary")
            await back_to_list()
            await shot("start-after")
            await app.session.close()
    return saved
