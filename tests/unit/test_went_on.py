"""A step that succeeded on some nodes, failed on others, and that the operator then skipped
to go on is never reported as plain "skipped": it changed the nodes where it succeeded (the
vm-config-recovery write that wrote 108.conf on ryanrishi and failed on pve001)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.decisions import FailureChoice, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import runs_dir
from pverunbook.inventory import Cluster, Node
from pverunbook.report import render_report
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport
from pverunbook.ui.model import RunState

TWO = Cluster("nyc", (Node("ryanrishi", "localhost", addr="10.0.0.1"),
                      Node("pve001", "localhost", addr="10.0.0.2")))

BOOK = textwrap.dedent('''
    id = "t"
    title = "T"

    [[steps]]
    id = "write"
    title = "Write the rebuilt configs"
    commands = ["test {{node}} = ryanrishi && echo wrote 108.conf"]

    [[steps]]
    id = "after"
    title = "After"
    commands = ["true"]
''')

LABEL = "ran on ryanrishi (ok) and failed on pve001, then the operator went on"


async def _events() -> tuple[str, list[ev.Event]]:
    runbook = load_text(BOOK, "t.toml")
    engine = Engine(runbook, TWO, LocalTransport(),
                    ScriptedDecider(failure=FailureChoice.SKIP), run_id="r1",
                    local_transport=LocalTransport())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    return await engine.run(), seen


async def test_engine_records_where_it_ran_and_what_it_failed_after() -> None:
    status, seen = await _events()
    assert status == "completed_with_failures"
    (fin,) = [e for e in seen if isinstance(e, ev.StepFinished) and e.step_id == "write"]
    assert fin.node_status == {"ryanrishi": "ok", "pve001": "failed"}
    (skip,) = [e for e in seen if isinstance(e, ev.StepSkipped)]
    assert skip.after == "failed" and skip.by_operator


async def test_report_heading_and_timeline_say_where_it_ran() -> None:
    _, seen = await _events()
    report = render_report(seen)
    assert f"(`write`) — {LABEL}" in report
    assert "(`write`) — skipped" not in report
    assert "; ok on ryanrishi" in report  # the timeline names the node where it succeeded
    assert "the operator went on after it failed" in report


async def test_summary_counts_it_as_failed_with_where_it_ran() -> None:
    _, seen = await _events()
    state = RunState(load_text(BOOK, "t.toml"))
    for e in seen:
        state.apply(e)
    s = state.summary()
    assert s.skipped == []
    assert s.failed == [f"Write the rebuilt configs ({LABEL})"]
    assert s.status == "completed_with_failures"
    from pverunbook.ui.screens.summary import render_summary

    text = render_summary(s, None).plain
    assert "Finished with failures" in text and "1 failed" in text and "0 skipped" in text


def test_risky_line_of_a_destructive_step_says_where_it_ran() -> None:
    book = BOOK.replace('title = "Write the rebuilt configs"',
                        'title = "Write the rebuilt configs"\ndestructive = true\n'
                        'no_backup_reason = "a test"')
    state = RunState(load_text(book, "t.toml"))
    for e in (ev.StepStarted(step_id="write", title="W", index=0, nodes=("ryanrishi", "pve001"),
                             destructive=True),
              ev.ConfirmationGiven(step_id="write", what="destructive", accepted=True,
                                   typed="nyc", operator="root"),
              ev.StepFinished(step_id="write", status="failed", message="pve001: failed",
                              node_status={"ryanrishi": "ok", "pve001": "failed"}),
              ev.StepSkipped(step_id="write", reason="operator skipped after failed",
                             by_operator=True),  # an older journal: no `after` field
              ev.RunFinished(status="completed_with_failures")):
        state.apply(e)
    (risky,) = state.summary().risky
    assert risky.startswith(f"Write the rebuilt configs — {LABEL}; destructive: accepted")


def test_a_step_skipped_before_it_ran_is_still_skipped() -> None:
    state = RunState(load_text(BOOK, "t.toml"))
    state.apply(ev.StepSkipped(step_id="write", reason="not needed", by_operator=True))
    assert state.summary().skipped == [("Write the rebuilt configs", "not needed")]


def test_journal_list_words_the_status(capsys: pytest.CaptureFixture[str]) -> None:
    t = 1_800_000_000.0
    events = [ev.RunStarted(ts=t, run_id="20270115-080000-cccccc", runbook_id="t",
                            runbook_title="T", runbook_path="", mode="rehearsal",
                            cluster="nyc", nodes=("a",), params={}),
              ev.RunFinished(ts=t + 1, status="completed_with_failures")]
    d: Path = runs_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / "20270115-080000-cccccc.jsonl").write_text(
        "".join(json.dumps(e.to_dict()) + "\n" for e in events), encoding="utf-8")
    assert main(["journal", "list"]) == 0
    out = capsys.readouterr().out
    assert "finished, with failures" in out and "completed_with_failures" not in out


async def test_headless_says_where_it_ran_and_words_the_run_status() -> None:
    import io

    from pverunbook.headless import EventPrinter

    _, seen = await _events()
    out = io.StringIO()
    printer = EventPrinter(out)
    for e in seen:
        printer(e)
    text = out.getvalue()
    assert f"-- write: {LABEL}" in text
    assert f"step write (Write the rebuilt configs): {LABEL}" in text.split("== summary")[1]
    assert "== run finished, with failures" in text


async def test_check_json_keeps_a_failed_then_skipped_step_failed() -> None:
    from pverunbook.check_json import check_document

    _, seen = await _events()
    assert check_document(seen)["steps"]["write"] == "failed"


async def test_the_summary_keeps_the_reason_the_operator_typed() -> None:
    _, seen = await _events()
    state = RunState(load_text(BOOK, "t.toml"))
    for e in seen:
        state.apply(e)
        if isinstance(e, ev.StepSkipped):  # as the run screen records the typed reason
            state.step(e.step_id).skip_reason = f"pve001 is being replaced ({e.reason})"
    (line,) = state.summary().failed
    assert line == f"Write the rebuilt configs ({LABEL}) — pve001 is being replaced"
