"""Benchmark (not part of the default test run): the TUI while two nodes flood output.

Run: ``python tests/bench/bench_ui_flood.py [LINES]``. Drives the real app (headless, Pilot) with
the real local transport running ``seq 1 LINES`` on two nodes at once, and reports how long the
step took, lines/s through engine + UI, and the event loop's worst stall (a ticker that should
wake every 10 ms) — the number that says whether keys still respond during a flood. The worst
stall is from the key press until the run's workers are done (so it includes the switch to the
summary screen at the end); ``while_running`` is the worst one that ended while the step ran.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from pverunbook.inventory import Cluster, Node
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.local import LocalTransport
from pverunbook.ui.app import make_app

RUNBOOK = '''id = "flood"
title = "Flood"

[[steps]]
id = "flood"
title = "Two nodes printing as fast as they can"
timeout = 300
commands = ["seq 1 {lines}"]
'''


async def main(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PVERUNBOOK_STATE_DIR"] = str(Path(tmp) / "state")
        book = Path(tmp) / "flood.toml"
        book.write_text(RUNBOOK.format(lines=lines))
        session = Session(SessionConfig(mode=Mode.LOCAL, journal_path=Path(tmp) / "j.jsonl"))
        session.cluster = Cluster("bench", (Node("n1", "localhost"), Node("n2", "localhost")))
        session.transport = LocalTransport()
        app = make_app(session.config, runbook=book, session=session)
        stalls: list[float] = []
        running: list[float] = []

        async def ticker() -> None:
            from pverunbook.ui.screens.run import RunScreen

            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                stalls.append(now - last - 0.01)
                screen = app.screen
                if isinstance(screen, RunScreen) and screen.state.step("flood").state == \
                        "running":
                    running.append(now - last - 0.01)
                last = now

        async with app.run_test(size=(160, 45)) as pilot:
            from pverunbook.ui.screens.run import RunScreen

            for _ in range(500):
                if isinstance(app.screen, RunScreen) and app.screen.decider.is_waiting:
                    break
                await pilot.pause(0.01)
            tick = asyncio.create_task(ticker())
            t0 = time.perf_counter()
            await pilot.press("n")
            await app.workers.wait_for_complete()  # the run's worker ends with the run
            elapsed = time.perf_counter() - t0
            tick.cancel()
        total = lines * 2
        worst = max(stalls) if stalls else 0.0
        print(f"lines={total} time={elapsed:.2f}s rate={total / elapsed:,.0f} lines/s "
              f"worst_loop_stall={worst * 1000:.0f}ms p99_stall="
              f"{sorted(stalls)[int(len(stalls) * 0.99)] * 1000 if stalls else 0:.0f}ms "
              f"while_running={max(running, default=0.0) * 1000:.0f}ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
