"""Benchmark (not part of the default test run): the TUI while two nodes flood output.

Run: ``python tests/bench/bench_ui_flood.py [LINES]``. Drives the real app (headless, Pilot) with
the real local transport running ``seq 1 LINES`` on two nodes at once, and reports how long the
step took, lines/s through engine + UI, and the event loop's worst stall (a ticker that should
wake every 10 ms) — the number that says whether keys still respond during a flood. The worst
stall is from the key press until the run's workers are done (so it includes the switch to the
summary screen at the end); ``while_running`` is the worst one that ended while the step ran.

``--floor SECONDS`` measures the reference the same way: a bare asyncio loop (no Textual, no
engine) that starts the same two ``seq`` processes, reads their pipes and throws the output away,
with the same ticker, for as long as the app's round took (SECONDS; reading alone is over much
sooner, and a shorter window would see fewer of the machine's hiccups). Its worst stall is what
the machine alone does to an event loop at that moment; the app's stall above it is the app's.
Measured 7 Dec at load 3 on 2 cores: the floor stays at a few ms while the app's worst stall
grows with the load, because the app needs the CPU (a frame is up to ~20 ms of it) and a busy
scheduler hands it out late, where the bare loop barely needs any.
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


async def floor(lines: int, seconds: float) -> None:
    """The reference: the same flood read by a bare asyncio loop, the same ticker (see above)."""
    stalls: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stalls.append(now - last - 0.01)
            last = now

    async def drain(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):
            pass

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # the ticker's first wake, as the app is up before the key press
    t0 = time.perf_counter()
    procs = [await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", f"seq 1 {lines}", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        for _ in range(2)]
    await asyncio.gather(*(drain(s) for p in procs for s in (p.stdout, p.stderr) if s))
    for p in procs:
        await p.wait()
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(max(0.0, seconds - elapsed))
    tick.cancel()
    worst = max(stalls, default=0.0)
    print(f"floor lines={lines * 2} time={elapsed:.2f}s worst_loop_stall={worst * 1000:.0f}ms")


if __name__ == "__main__":
    args = sys.argv[1:]
    count = int(args[0]) if args and args[0] != "--floor" else 200_000
    if "--floor" in args:
        asyncio.run(floor(count, float(args[args.index("--floor") + 1])))
    else:
        asyncio.run(main(count))
