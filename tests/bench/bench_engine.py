"""Benchmarks (not part of the default test run): engine + journal under heavy node output.

Run: ``python tests/bench/bench_engine.py``. Prints lines/s through the engine with the journal
attached, the number of output events it coalesced them into, and peak Python memory.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import tracemalloc
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

LINES = 300_000


async def main() -> None:
    book = load_text(f'id = "b"\ntitle = "B"\n[[steps]]\nid = "flood"\ntitle = "Flood"\n'
                     f'timeout = 120\ncommands = ["seq 1 {LINES}"]\n')
    cluster = Cluster("bench", (Node("n1", "localhost"), Node("n2", "localhost")))
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(book, cluster, LocalTransport(), ScriptedDecider(), run_id="bench")
        journal = Journal(Path(tmp) / "j.jsonl")
        engine.subscribe(journal)
        engine.flushers.append(journal.flush)
        chunks = 0

        def count(e: ev.Event) -> None:
            nonlocal chunks
            chunks += isinstance(e, ev.OutputChunk)

        engine.subscribe(count)
        tracemalloc.start()
        t0 = time.perf_counter()
        status = await engine.run()
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        journal.close()
        size = (Path(tmp) / "j.jsonl").stat().st_size
    total = LINES * len(cluster.nodes)
    print(f"status={status} lines={total} time={elapsed:.2f}s rate={total / elapsed:,.0f} lines/s "
          f"output_events={chunks} journal={size / 1e6:.1f}MB peak_py_mem={peak / 1e6:.1f}MB")


if __name__ == "__main__":
    asyncio.run(main())
