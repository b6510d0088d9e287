"""The engine over the real local transport: order, fan-out, routing, timeouts, journal."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import FailureChoice, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal, read_journal
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.dryrun import DryRunTransport
from pverunbook.transport.local import LocalTransport

TWO = Cluster("nyc", (Node("ryanrishi", "localhost", addr="10.0.0.1"),
                      Node("pve001", "localhost", addr="10.0.0.2")))


def rb(body: str):
    return load_text('id = "t"\ntitle = "T"\n' + textwrap.dedent(body), "t.toml")


async def run(runbook, cluster=TWO, decider=None, transport=None, journal: Path | None = None,
              params=None):
    engine = Engine(runbook, cluster, transport or LocalTransport(),
                    decider or ScriptedDecider(), params=params or {}, run_id="r1",
                    local_transport=LocalTransport())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    j = None
    if journal:
        j = Journal(journal)
        engine.subscribe(j)
        engine.flushers.append(j.flush)
    status = await engine.run()
    if j:
        j.close()
    return status, seen, engine


async def test_steps_run_in_order_and_output_is_per_node(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "one"
        title = "One"
        commands = ["echo one-{{{{node}}}} >> {tmp_path}/order"]
        [[steps]]
        id = "two"
        title = "Two"
        targets = "pve001"
        commands = ["echo two-{{{{node}}}} >> {tmp_path}/order", "echo hi {{{{peer}}}}"]
    ''')
    status, seen, _ = await run(book)
    assert status == "ok"
    lines = (tmp_path / "order").read_text().split()
    assert sorted(lines[:2]) == ["one-pve001", "one-ryanrishi"] and lines[2:] == ["two-pve001"]
    out = [e for e in seen if isinstance(e, ev.OutputChunk)]
    assert any(e.node == "pve001" and "hi ryanrishi" in e.text for e in out)
    started = [e.step_id for e in seen if isinstance(e, ev.StepStarted)]
    assert started == ["one", "two"]


async def test_fan_out_is_concurrent(tmp_path: Path) -> None:
    # Each node waits for the other's marker: only a concurrent fan-out can finish.
    book = rb(f'''
        [[steps]]
        id = "meet"
        title = "Meet"
        timeout = 10
        commands = ["touch {tmp_path}/{{{{node}}}}",
                    "until [ -e {tmp_path}/{{{{peer}}}} ]; do sleep 0.05; done; echo met"]
    ''')
    status, seen, _ = await run(book)
    assert status == "ok"
    assert {e.node for e in seen if isinstance(e, ev.OutputChunk) and "met" in e.text} == \
        {"ryanrishi", "pve001"}


async def test_timeout_stops_the_command_and_is_reported(tmp_path: Path) -> None:
    book = rb('''
        [[steps]]
        id = "hang"
        title = "Hang"
        targets = "first"
        timeout = 1
        commands = ["sleep 60"]
    ''')
    t0 = time.monotonic()
    status, seen, _ = await run(book)
    elapsed = time.monotonic() - t0
    assert status == "failed"
    fin = [e for e in seen if isinstance(e, ev.CommandFinished)][0]
    assert fin.timed_out and fin.exit_status is None
    assert fin.outcome.startswith("timed out")
    assert [e.status for e in seen if isinstance(e, ev.StepFinished)] == ["timed_out"]
    assert elapsed < 10, "a 1 s timeout must not wait for sleep 60"


async def test_failure_routing_continue_goto_stop(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "a"
        title = "A"
        targets = "first"
        commands = ["false"]
        on_failure = "continue"
        [[steps]]
        id = "b"
        title = "B"
        targets = "first"
        commands = ["exit 3"]
        on_failure = "goto:d"
        [[steps]]
        id = "c"
        title = "C (jumped over)"
        targets = "first"
        commands = ["touch {tmp_path}/c"]
        [[steps]]
        id = "d"
        title = "D"
        targets = "first"
        commands = ["exit 1"]
        [[steps]]
        id = "e"
        title = "E (never reached: d stops)"
        targets = "first"
        commands = ["touch {tmp_path}/e"]
    ''')
    status, seen, engine = await run(book)
    assert status == "failed"
    assert [e.step_id for e in seen if isinstance(e, ev.StepStarted)] == ["a", "b", "d"]
    assert not (tmp_path / "c").exists() and not (tmp_path / "e").exists()
    assert engine.statuses == {"a": "failed", "b": "failed", "d": "failed"}


async def test_ok_exit_and_expectations_per_node() -> None:
    book = rb('''
        [[steps]]
        id = "grep"
        title = "Grep"
        kind = "check"
        commands = ["echo version-{{node}}; exit 1"]
        ok_exit = [0, 1]
        on_failure = "continue"
        [[steps.expect]]
        match = "version-pve001"
        nodes = ["pve001"]
        [[steps.expect]]
        absent = "version-ryanrishi"
        message = "ryanrishi still runs the old version"
    ''')
    status, seen, engine = await run(book)
    results = {(e.node, e.ok) for e in seen if isinstance(e, ev.ExpectationResult)}
    assert ("pve001", True) in results and ("ryanrishi", False) in results
    msgs = [e.message for e in seen if isinstance(e, ev.ExpectationResult) and not e.ok]
    assert msgs == ["ryanrishi still runs the old version"]
    assert engine.statuses["grep"] == "failed"


async def test_destructive_step_needs_typed_confirmation(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "wipe"
        title = "Wipe"
        targets = "first"
        destructive = true
        no_backup_reason = "test scratch file"
        commands = ["touch {tmp_path}/ran"]
    ''')
    # One node of two: the operator types THAT node's name; the cluster name is refused.
    for wrong in ("RYANRISHI", None, "nyc"):
        status, seen, _ = await run(book, decider=ScriptedDecider(confirm_text=wrong))
        assert status == "aborted" and not (tmp_path / "ran").exists()
    status, seen, _ = await run(book, decider=ScriptedDecider(confirm_text="ryanrishi"))
    assert status == "ok" and (tmp_path / "ran").exists()
    asked = [e for e in seen if isinstance(e, ev.ConfirmationRequested)]
    assert asked[-1].expected == "ryanrishi" and "ryanrishi only" in asked[-1].prompt
    given = [e for e in seen if isinstance(e, ev.ConfirmationGiven)]
    assert given[-1].accepted and given[-1].typed == "ryanrishi"


async def test_destructive_step_blocked_without_checkpoint_store(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "wipe"
        title = "Wipe"
        targets = "first"
        destructive = true
        commands = ["touch {tmp_path}/ran"]
        [steps.backup]
        files = ["{tmp_path}/keep"]
    ''')
    # Confirmed (the checkpoint runs beside the question): still blocked, it never verified.
    status, seen, _ = await run(book, decider=ScriptedDecider(confirm_text="ryanrishi"))
    assert status == "aborted" and not (tmp_path / "ran").exists()
    taken = [e for e in seen if isinstance(e, ev.CheckpointTaken)]
    assert taken and not taken[0].ok


async def test_operator_rerun_after_failure(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "flaky"
        title = "Flaky"
        targets = "first"
        commands = ["echo x >> {tmp_path}/n; [ $(wc -l < {tmp_path}/n) -ge 2 ]"]
    ''')

    class RerunOnce(ScriptedDecider):
        async def after_failure(self, step, status):
            return FailureChoice.RERUN

    status, seen, _ = await run(book, decider=RerunOnce())
    assert status == "ok"
    assert [e.attempt for e in seen if isinstance(e, ev.StepStarted)] == [1, 2]


async def test_condition_skips_step(tmp_path: Path) -> None:
    book = rb(f'''
        [[params]]
        name = "force"
        type = "bool"
        default = false
        [[steps]]
        id = "forced"
        title = "Forced"
        targets = "first"
        when = "force"
        commands = ["touch {tmp_path}/forced"]
        [[steps]]
        id = "plain"
        title = "Plain"
        targets = "first"
        when = "!force"
        commands = ["touch {tmp_path}/plain"]
    ''')
    status, seen, _ = await run(book, params={"force": False})
    assert status == "ok"
    assert (tmp_path / "plain").exists() and not (tmp_path / "forced").exists()


async def test_dry_run_executes_nothing_and_asks_nothing(tmp_path: Path) -> None:
    book = rb(f'''
        [[steps]]
        id = "wipe"
        title = "Wipe"
        destructive = true
        commands = ["touch {tmp_path}/ran"]
        [steps.backup]
        files = ["/etc/pve/corosync.conf"]
    ''')
    transport = DryRunTransport()
    decider = ScriptedDecider()
    status, seen, _ = await run(book, transport=transport, decider=decider)
    assert status == "planned"
    assert not (tmp_path / "ran").exists()
    assert decider.asked == []
    assert sorted(n for n, _, _ in transport.recorded) == ["pve001", "ryanrishi"]
    assert any(isinstance(e, ev.CheckpointRequested) for e in seen)
    assert any(isinstance(e, ev.ConfirmationRequested) and e.expected == "nyc" for e in seen)


async def test_journal_holds_every_command_status_and_output(tmp_path: Path) -> None:
    book = rb('''
        [[steps]]
        id = "hello"
        title = "Hello"
        commands = ["echo hello-{{node}}", "echo oops >&2; exit 0"]
    ''')
    path = tmp_path / "j.jsonl"
    status, seen, _ = await run(book, journal=path)
    assert status == "ok"
    lines = path.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    events = read_journal(path)
    assert [type(e).__name__ for e in events][0] == "RunStarted"
    assert type(events[-1]).__name__ == "RunFinished"
    cmds = [e for e in events if isinstance(e, ev.CommandFinished)]
    assert {(e.node, e.command, e.exit_status) for e in cmds} == {
        ("ryanrishi", "echo hello-ryanrishi", 0), ("pve001", "echo hello-pve001", 0),
        ("ryanrishi", "echo oops >&2; exit 0", 0), ("pve001", "echo oops >&2; exit 0", 0)}
    outs = [(e.node, e.stream, e.text) for e in events if isinstance(e, ev.OutputChunk)]
    assert ("pve001", "stdout", "hello-pve001\n") in outs
    assert ("ryanrishi", "stderr", "oops\n") in outs
    # The journal is the same stream the subscribers saw (modulo redaction).
    assert len(events) == len(seen)


async def test_secret_params_are_redacted_in_journal(tmp_path: Path) -> None:
    book = rb('''
        [[params]]
        name = "token"
        type = "str"
        secret = true
        [[steps]]
        id = "use"
        title = "Use"
        targets = "first"
        commands = ["echo using {{token}}"]
    ''')
    from pverunbook.engine.journal import Redactor

    path = tmp_path / "j.jsonl"
    engine = Engine(book, TWO, LocalTransport(), ScriptedDecider(),
                    params={"token": "s3cr3t-value"}, run_id="r")
    j = Journal(path, Redactor(["s3cr3t-value"]))
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    assert await engine.run() == "ok"
    j.close()
    assert "s3cr3t-value" not in path.read_text()
    assert "[REDACTED]" in path.read_text()


async def test_a_journal_sharing_the_engines_redactor_is_not_redacting_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session gives the journal the engine's redactor: events reach it redacted once (by
    the engine) and are written as they are; no secret reaches the file either way."""
    book = rb('''
        [[params]]
        name = "token"
        type = "str"
        secret = true
        [[steps]]
        id = "use"
        title = "Use"
        targets = "first"
        commands = ["echo using {{token}}"]
    ''')
    path = tmp_path / "j.jsonl"
    engine = Engine(book, TWO, LocalTransport(), ScriptedDecider(),
                    params={"token": "s3cr3t-value"}, run_id="r")
    j = Journal(path, engine.redactor)
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    twice: list[object] = []  # events that took the redacting path after all
    monkeypatch.setattr(Journal, "__call__", lambda self, e: twice.append(e))
    assert await engine.run() == "ok"
    j.close()
    assert twice == []  # every event went to write_redacted
    text = path.read_text()
    assert "s3cr3t-value" not in text and "[REDACTED]" in text
    assert "using [REDACTED]" in text  # the command's output, redacted on its way


@pytest.mark.parametrize("torn", [b'{"kind": "note", "te', b""])
def test_journal_reader_tolerates_torn_last_line(tmp_path: Path, torn: bytes) -> None:
    path = tmp_path / "j.jsonl"
    good = ev.Note(text="hello").to_dict()
    path.write_bytes(json.dumps(good).encode() + b"\n" + torn)
    assert [e.to_dict()["text"] for e in read_journal(path)] == ["hello"]


def test_appending_after_a_torn_line_keeps_the_new_event(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(json.dumps(ev.Note(text="first").to_dict()).encode() + b'\n{"kind": "no')
    j = Journal(path)
    j(ev.Note(text="after resume"))
    j.close()
    assert [e.to_dict()["text"] for e in read_journal(path)] == ["first", "after resume"]


async def test_skipping_a_failed_step_does_not_report_a_clean_run() -> None:
    book = rb('''
        [[steps]]
        id = "bad"
        title = "Bad"
        targets = "first"
        commands = ["false"]
        [[steps]]
        id = "after"
        title = "After"
        targets = "first"
        commands = ["true"]
    ''')
    status, seen, _ = await run(book, decider=ScriptedDecider(failure=FailureChoice.SKIP))
    assert status == "completed_with_failures"
    assert [e.reason for e in seen if isinstance(e, ev.StepSkipped)] == [
        "operator skipped after failed"]
    assert [e.step_id for e in seen if isinstance(e, ev.StepStarted)] == ["bad", "after"]


def test_journal_keeps_writing_after_a_waiters_loop_closed(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "j.jsonl"
    j = Journal(path)
    # A flush whose event loop is gone before the writer answers it (the TUI quitting mid-run):
    # answering raises in the writer thread, which must survive it.
    loop = asyncio.new_event_loop()
    loop.close()
    j._queue.put((None, lambda: loop.call_soon_threadsafe(lambda: None)))
    j(ev.Note(text="still written"))
    j.close()
    assert [e.to_dict()["text"] for e in read_journal(path)] == ["still written"]
