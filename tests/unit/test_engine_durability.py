"""A destructive command never starts before its CommandStarted record is on disk.

Read-only commands skip that wait (group commit covers them later): re-running a read-only
command after a crash is harmless, not knowing whether a destructive one ran is not.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.base import CommandResult
from pverunbook.transport.local import LocalTransport

ONE = Cluster("c", (Node("n1", "localhost", addr="10.0.0.1"),))


class TypesWhatIsAsked(ScriptedDecider):
    async def confirm(self, request: ConfirmRequest) -> str | None:
        return request.expected


class Recording(LocalTransport):
    """The real local transport, noting how many events were durable when each command ran."""

    def __init__(self, durable_count: list[int], emitted: list[ev.Event]) -> None:
        super().__init__()
        self.durable_count, self.emitted = durable_count, emitted
        self.at_start: list[tuple[str, bool]] = []

    async def run(self, node, command, **kw) -> CommandResult:  # type: ignore[override]
        last_started = max(i for i, e in enumerate(self.emitted)
                           if isinstance(e, ev.CommandStarted))
        self.at_start.append((command, self.durable_count[0] > last_started))
        return await super().run(node, command, **kw)


async def test_destructive_commands_wait_for_the_disk_read_only_ones_do_not(
        tmp_path: Path) -> None:
    book = load_text(textwrap.dedent(f'''\
        id = "t"
        title = "T"
        [[steps]]
        id = "look"
        title = "Look"
        commands = ["true", "true"]
        [[steps]]
        id = "change"
        title = "Change"
        destructive = true
        no_backup_reason = "test"
        commands = ["touch {tmp_path}/x", "touch {tmp_path}/y"]
        '''), "t.toml")
    emitted: list[ev.Event] = []
    durable = [0]

    async def flusher() -> None:
        durable[0] = len(emitted)

    transport = Recording(durable, emitted)
    engine = Engine(book, ONE, transport, TypesWhatIsAsked(), run_id="r")
    engine.subscribe(emitted.append)
    engine.flushers.append(flusher)
    await engine.run()
    flags = dict(transport.at_start)
    assert flags[f"touch {tmp_path}/x"] and flags[f"touch {tmp_path}/y"]
    assert not flags["true"]


async def test_read_only_steps_do_not_wait_for_the_disk_at_their_start_and_end(
        tmp_path: Path) -> None:
    """Two fsyncs per read-only step were most of a fan-out's overhead; resume reruns such a
    step when its records were lost, so only the run's start and end wait here."""
    book = load_text(textwrap.dedent('''\
        id = "t"
        title = "T"
        [[steps]]
        id = "a"
        title = "A"
        commands = ["true"]
        [[steps]]
        id = "b"
        title = "B"
        kind = "check"
        commands = ["true"]
        '''), "t.toml")
    waits: list[int] = []
    emitted: list[ev.Event] = []

    async def flusher() -> None:
        waits.append(len(emitted))

    engine = Engine(book, ONE, LocalTransport(), TypesWhatIsAsked(), run_id="r")
    engine.subscribe(emitted.append)
    engine.flushers.append(flusher)
    assert await engine.run() == "ok"
    kinds = [type(emitted[n - 1]).__name__ for n in waits]
    assert kinds == ["RunStarted", "RunFinished"], kinds


class ReadsTheJournal(LocalTransport):
    """The real local transport, noting whether the journal's file already held the command's
    CommandStarted line when the command was handed over to run."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.in_file: list[tuple[str, bool]] = []

    async def run(self, node, command, **kw) -> CommandResult:  # type: ignore[override]
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        self.in_file.append((command, any('"command_started"' in line and command in line
                                          for line in lines)))
        return await super().run(node, command, **kw)


async def test_every_command_starts_only_after_its_record_is_written(tmp_path: Path) -> None:
    """A SIGKILL loses nothing already written (the page cache outlives the process), so a
    read-only command whose record is written first can never have run unrecorded. Without the
    wait, the journal's thread may not have written the line when the command runs."""
    from pverunbook.engine.journal import Journal

    book = load_text(textwrap.dedent(f'''\
        id = "t"
        title = "T"
        [[steps]]
        id = "look"
        title = "Look"
        commands = ["echo a >> {tmp_path}/m", "echo b >> {tmp_path}/m"]
        [[steps]]
        id = "change"
        title = "Change"
        destructive = true
        no_backup_reason = "test"
        commands = ["echo c >> {tmp_path}/m"]
        '''), "t.toml")
    path = tmp_path / "run.jsonl"
    journal = Journal(path)
    # The thread writes late: without written(), a command would run before its line is in.
    slow = journal._write

    def late(lines: list[bytes]) -> None:
        import time as _time

        _time.sleep(0.05)
        slow(lines)

    journal._write = late  # type: ignore[method-assign]
    transport = ReadsTheJournal(path)
    engine = Engine(book, ONE, transport, TypesWhatIsAsked(), run_id="r")
    engine.subscribe(journal)
    engine.flushers.append(journal.flush)
    engine.writers.append(journal.written)
    try:
        assert await engine.run() == "ok"
    finally:
        journal.close()
    assert len(transport.in_file) == 3 and all(ok for _, ok in transport.in_file), \
        transport.in_file
