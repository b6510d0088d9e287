"""The headless printer writes a flood of output per chunk, not per line."""

from __future__ import annotations

import io

from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter


class CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)

    def flush(self) -> None:
        self.flushes += 1


def test_a_chunk_of_many_lines_is_one_write_and_one_flush() -> None:
    out = CountingOut()
    p = EventPrinter(out, width=5)
    text = "".join(f"{i}\n" for i in range(1000)) + "10"
    p(ev.OutputChunk(step_id="s", node="pve1", stream="stdout", text=text))
    assert (out.writes, out.flushes) == (1, 1)
    p(ev.OutputChunk(step_id="s", node="pve1", stream="stdout", text="00\nx"))
    lines = out.getvalue().splitlines()
    assert lines[0] == " pve1 | 0" and lines[999] == " pve1 | 999" and lines[1000] == " pve1 | 1000"
    p(ev.OutputChunk(step_id="s", node="pve2", stream="stderr", text="oops\n"))
    assert out.getvalue().endswith(" pve2 ! oops\n")
