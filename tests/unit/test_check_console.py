"""``check --headless`` on a console: one line per step and the output of a step that did not
end ok (it printed every command's output, ~5,200 lines, before its diagnosis); ``--verbose``
prints everything. Its "next:" commands keep ``--headless`` (and ``--state-dir``), and a manual
step's Markdown reads as plain text."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter
from pverunbook.runbook.loader import load_text
from pverunbook.terminal_decider import TerminalDecider


def test_check_prints_a_line_per_step_and_next_commands_stay_headless(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "sd"
    assert main(["check", "--headless", "--state-dir", str(state)]) == 3
    out = capsys.readouterr().out
    assert "-- step 1 quorum (" in out and "-- step 17 clock (" in out, out[:3000]
    assert " $ timeout 10 corosync-quorumtool" not in out and "exit 0 (" not in out, out[:3000]
    assert len(out.splitlines()) < 300, len(out.splitlines())
    nexts = [line for line in out.splitlines() if line.strip().startswith("next: ")]
    assert nexts, out
    for line in nexts:
        assert line.endswith(f" --headless --state-dir {shlex.quote(str(state))}"), line
    # the output ends with the one command to type now: the first fault's runbook, the one
    # `check --json` names as next_runbook (the per-fault lines are in the middle)
    last = out.rstrip("\n").splitlines()[-1]
    assert last == nexts[0].strip() and last.startswith("next: network-triage  ->  "), last

    assert main(["check", "--headless", "--state-dir", str(state), "--verbose"]) == 3
    verbose = capsys.readouterr().out
    assert " $ timeout 10 corosync-quorumtool" in verbose and "-- quorum: ok" in verbose


def _step(printer: EventPrinter, index: int, sid: str, status: str, said: str) -> None:
    printer(ev.StepStarted(step_id=sid, title=f"Title {sid}", index=index, nodes=("pve001",)))
    printer(ev.CommandStarted(step_id=sid, node="pve001", command=f"cmd-{sid}", index=0,
                              timeout=30.0))
    printer(ev.OutputChunk(step_id=sid, node="pve001", stream="stdout", text=f"{said}\nhalf"))
    printer(ev.CommandFinished(step_id=sid, node="pve001", command=f"cmd-{sid}", index=0,
                               exit_status=0 if status == "ok" else 1, duration=0.1))
    printer(ev.StepFinished(step_id=sid, status=status))


def test_a_quiet_printer_shows_the_output_of_a_failed_step_only() -> None:
    out = io.StringIO()
    p = EventPrinter(out=out, width=6)
    p.quiet = True
    _step(p, 0, "fine", "ok", "all good")
    _step(p, 1, "bad", "failed", "it broke")
    text = out.getvalue()
    assert "-- step 1 fine (Title fine): ok" in text, text
    assert "cmd-fine" not in text and "all good" not in text, text
    assert "pve001 $ cmd-bad" in text and "pve001 | it broke" in text, text
    assert "pve001 | half" in text, text  # its last line without a newline too
    assert text.index("it broke") < text.index("-- step 2 bad (Title bad): failed"), text


async def test_manual_instructions_read_as_plain_text() -> None:
    rb = load_text('id = "m"\ntitle = "M"\n[[steps]]\nid = "physical"\ntitle = "Look"\n'
                   'kind = "manual"\ninstructions = "**Cable and connectors**: reseat `eth0`"\n')
    out = io.StringIO()
    d = TerminalDecider(interactive=False, out=out)
    d.runbook = rb
    await d.before_step(rb.steps[0], 0)
    said = out.getvalue()
    assert "MANUAL: Cable and connectors: reseat `eth0`" in said, said
    assert "**" not in said


def _finished(runbook: str, status: str) -> list[ev.Event]:
    return [ev.RunStarted(run_id="r", runbook_id=runbook, runbook_title=runbook,
                          runbook_path="", mode="rehearsal", cluster="nyc", nodes=("a",),
                          params={}),
            ev.RunFinished(status=status)]


def test_a_runbook_run_ends_with_the_check_again() -> None:
    from pverunbook.headless import final_next_line
    from pverunbook.pve.diagnosis.model import Diagnosis

    none = Diagnosis(faults=())
    assert final_next_line(_finished("route-fix", "ok"), none, "rehearsal",
                           " --headless --state-dir sd") == (
        "next: the health check, to see what is left  ->  pverunbook check --headless "
        "--state-dir sd")
    assert final_next_line(_finished("route-fix", "ok"), none, "live", " --headless") == (
        "next: the health check, to see what is left  ->  pverunbook check --cluster "
        "CLUSTER.toml --headless")
    # a stopped run is resumed first (its own last line says how); a dry run changes nothing
    assert final_next_line(_finished("route-fix", "aborted"), none, "rehearsal", "") == ""
    assert final_next_line(_finished("route-fix", "planned"), none, "dry-run", "") == ""
    from pverunbook.pve.diagnosis.check import CHECK_ID

    assert final_next_line(_finished(CHECK_ID, "ok"), none, "rehearsal", "") == (
        "next: nothing to fix: the cluster is healthy")
