"""A node flooding output cannot exhaust memory or the disk: per command the journal keeps the
first ``OUTPUT_HEAD`` and last ``OUTPUT_TAIL`` characters of each stream and records how many
bytes it dropped; expectations and verdicts see at most ``OUTPUT_KEEP``.

Kind: a runaway command (``journalctl -f`` without ``-n``, ``yes``, a ``dmesg -w`` left running)
on one node during triage; the test makes its own 24 MiB flood with ``head -c``. Real inputs of
the kind: a benchmark runner whose tool log grew without bound while the run went on
(https://github.com/sosy-lab/benchexec/issues/536), and a shell runner that kept a bounded tail
instead of holding whole outputs in memory (https://github.com/apache/maka/pull/108).
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal, read_journal
from pverunbook.engine.output import OUTPUT_HEAD, OUTPUT_KEEP, OUTPUT_TAIL
from pverunbook.inventory import local_cluster
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

FLOOD = 24 * 1024 * 1024  # bytes of output from one command


async def test_flooding_command_is_bounded_in_the_journal(tmp_path: Path) -> None:
    book = load_text(f'''id = "flood"
title = "Flood"
[[steps]]
id = "flood"
title = "Flood"
kind = "check"
timeout = 120
commands = ["echo START; head -c {FLOOD} /dev/zero | tr '\\\\0' a; echo; echo THE-END"]
[[steps.expect]]
match = "THE-END"
''')
    journal = tmp_path / "j.jsonl"
    engine = Engine(book, local_cluster(), LocalTransport(), ScriptedDecider(), run_id="f")
    j = Journal(journal)
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    biggest = 0

    def watch(e: ev.Event) -> None:
        nonlocal biggest
        if isinstance(e, ev.OutputChunk):
            biggest = max(biggest, len(e.text))

    engine.subscribe(watch)
    assert await engine.run() == "ok"  # the expectation saw the end of the output
    j.close()
    size = journal.stat().st_size
    assert size < OUTPUT_HEAD + OUTPUT_TAIL + 256 * 1024, size  # not the 24 MiB
    text = "".join(e.text for e in read_journal(journal) if isinstance(e, ev.OutputChunk))
    assert text.startswith("START\n") and text.rstrip().endswith("THE-END")
    dropped = FLOOD + len("START\n\nTHE-END\n") - (len(text) - len(_marker(text)))
    assert f"[pverunbook: {dropped} bytes of stdout dropped here" in text
    assert biggest <= max(65536 * 2, OUTPUT_TAIL + 4096)
    assert OUTPUT_KEEP < FLOOD  # what expectations read is bounded too (see OutputBuffer)


def _marker(text: str) -> str:
    start = text.index("\n[pverunbook: ")
    return text[start:text.index("]\n", start) + 2]
