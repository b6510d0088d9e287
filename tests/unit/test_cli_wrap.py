"""Headless output and ``journal show`` on an 80-column terminal: long commands and node output
wrap at the terminal's width with continuation lines under the text, so the ``node | ``
column stays readable; a pipe or a file gets every line whole (greppable, byte-exact), and
``--json`` is never wrapped. Text to type (quoted) is never broken."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter
from pverunbook.termwrap import cells, wrap

COMMAND = ("corosync-cmapctl -m stats | grep -E 'latency|down_count|up_count' && pvecm status "
           "&& journalctl -u corosync --since '-10 min' --no-pager -o short-iso")
OUTPUT = ("Dec 07 12:00:01 ryanrishi corosync[1234]: [KNET  ] link: host: 2 link: 0 is down; "
          "[TOTEM ] Token has not been received in 3225 ms (retransmits 10)")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events() -> list[ev.Event]:
    return [ev.RunStarted(run_id="r1", runbook_id="t", runbook_title="T", runbook_path="",
                          mode="rehearsal", cluster="nyc", nodes=("ryanrishi", "pve001"),
                          params={}),
            ev.StepStarted(step_id="s", title="Logs", index=0, nodes=("ryanrishi",)),
            ev.CommandStarted(step_id="s", node="ryanrishi", command=COMMAND, index=0,
                              timeout=60.0),
            ev.OutputChunk(step_id="s", node="ryanrishi", stream="stdout", text=OUTPUT + "\n"),
            ev.OutputChunk(step_id="s", node="pve001", stream="stderr", text=OUTPUT),
            ev.CommandFinished(step_id="s", node="pve001", command=COMMAND, index=0,
                               exit_status=0, duration=0.1),
            ev.StepFinished(step_id="s", status="ok")]


def _print(out: io.StringIO) -> list[str]:
    p = EventPrinter(out)
    for e in _events():
        p(e)
    return out.getvalue().splitlines()


def _block(lines: list[str], first: str) -> list[str]:
    """The line starting with ``first`` and its continuation lines."""
    i = next(i for i, line in enumerate(lines) if line.startswith(first))
    j = i + 1
    while j < len(lines) and lines[j].startswith(" " * len(first)):
        j += 1
    return lines[i:j]


def test_commands_and_output_wrap_under_their_prefix_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    lines = _print(Terminal())
    assert all(cells(line) <= 80 for line in lines), "\n".join(lines)
    for prefix, text in (("ryanrishi $ ", COMMAND), ("ryanrishi | ", OUTPUT),
                         ("   pve001 ! ", OUTPUT)):
        block = _block(lines, prefix)
        assert len(block) > 1, lines
        # continuation lines: blank under the node and its mark, the text under the text
        assert all(line[len(prefix)] != " " for line in block[1:]), block
        assert " ".join(line[len(prefix):] for line in block).split() == text.split()


def test_a_pipe_or_file_gets_whole_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    lines = _print(io.StringIO())
    assert f"ryanrishi $ {COMMAND}" in lines
    assert f"ryanrishi | {OUTPUT}" in lines and f"   pve001 ! {OUTPUT}" in lines


def test_typed_text_is_never_broken() -> None:
    typed = "'I understand this deletes config.db on pve001'"
    for columns in (30, 40, 60, 80):
        folded = wrap("   ", f"guard g: BLOCKED — type {typed} to go on anyway", columns,
                      keep_quoted=True)
        assert any(typed in line for line in folded.splitlines()), folded
    # a quoted span wider than the line stays whole (the terminal folds it, unchanged)
    assert typed in wrap("   ", f"type {typed}", 30, keep_quoted=True).splitlines()[-1]
    command = "`pverunbook rehearse --resume 20261207-125022-0836ad --confirm gate`"
    assert f"   {command}," in wrap("   ", f"then run {command}, here", 40,
                                    keep_quoted=True).splitlines()
    # an option and its value are typed together
    said = "(no terminal to type it and no --confirm pve001 was given, so this is refused)"
    for columns in range(24, 90):
        assert any("--confirm pve001" in line for line in wrap(
            "   ", said, columns, keep_quoted=True).splitlines()), columns
    # apostrophes are not quotes: prose around them wraps as any other
    prose = ("the node's database isn't readable by pmxcfs and the peers' copies are the only "
             "ones left on this cluster")
    assert all(cells(line) <= 40 for line in wrap("   ", prose, 40, keep_quoted=True)
               .splitlines())


def test_diagnosis_commands_to_type_stay_whole_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from pverunbook.headless import format_diagnosis

    nr = SimpleNamespace(runbook="route-fix", params={"route_node": "ryanrishi",
                                                      "destination": "192.168.4.201",
                                                      "via": "192.168.4.1"},
                         label=lambda: "route-fix (route_node = ryanrishi, destination = "
                                       "192.168.4.201, via = 192.168.4.1)")
    fault = SimpleNamespace(severity="critical", rule="r", statement="x " * 60,
                            confidence="high", action="do this " * 20,
                            manual=[SimpleNamespace(node="pve001", kind="fix",
                                                    command="ip route del "
                                                    "192.168.4.201 via 192.168.4.1 dev vmbr0 "
                                                    "proto static metric 100 onlink")],
                            next_runbook=nr, evidence=[])
    diag = SimpleNamespace(faults=[fault], matrix=[], healthy=[])
    whole = [line for line in format_diagnosis(diag, "rehearsal")
             if line.lstrip().startswith(("fix:", "next:"))]
    assert len(whole) == 2
    monkeypatch.setenv("COLUMNS", "80")
    out = Terminal()
    p = EventPrinter(out)
    p._cols, p.mode = 80, "rehearsal"
    monkeypatch.setattr("pverunbook.run_diagnosis.diagnose_run", lambda *a: (None, diag))
    monkeypatch.setattr("pverunbook.run_diagnosis.no_fault_text", lambda *a: "")
    p._diagnosis()
    lines = out.getvalue().splitlines()
    assert all(line in lines for line in whole), lines
    assert all(cells(line) <= 80 for line in lines if line not in whole), lines


def _journal(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    events = [*_events(),
              ev.ExpectationResult(step_id="s", node="ryanrishi", description="d", ok=True),
              ev.RunFinished(status="ok", duration=1.0)]
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    return path


def test_journal_show_wraps_on_a_terminal_after_the_time_stamp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["journal", "show", str(_journal(tmp_path))]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == f"journal {tmp_path / 'run.jsonl'}"  # a path: whole
    assert all(cells(line) <= 70 for line in lines[1:]), "\n".join(lines)
    stamped = next(line for line in lines if "ryanrishi $ " in line)
    prefix = stamped[:stamped.index("$ ") + 2]
    block = _block(lines, prefix)
    assert " ".join(line[len(prefix):] for line in block).split() == COMMAND.split()
    # each stamp starts a line of its event: none on an empty line, none alone (an event
    # that prints nothing, a passed check, printed a stamp that the next one followed)
    stamps = [line for line in lines if re.match(r"\[\d\d:\d\d:\d\d\] ", line)]
    assert len(stamps) >= 5 and not [line for line in stamps
                                     if re.match(r".{11}\[\d\d:\d\d:\d\d\]", line)
                                     or not line[11:].strip()], lines


def test_journal_show_to_a_pipe_and_json_are_never_wrapped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    journal = _journal(tmp_path)
    assert main(["journal", "show", str(journal)]) == 0
    assert f"ryanrishi $ {COMMAND}" in capsys.readouterr().out
    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["journal", "show", str(journal), "--json"]) == 0
    assert out.getvalue() == journal.read_text()


INSTRUCTIONS = """Using the findings above, check the physical path of the link that loses packets:
1. **Switch port**: in the switch UI, look at the port's error counters, speed and
   duplex (both ends must agree); remove the route: `ip route del 192.168.4.201 via 192.168.4.1`
2. **Dedicated corosync network**: see runbook `corosync-tuning` with `add_second_link = true`.
   Then, on each node, run:
   corosync-cfgtool -s"""


async def test_manual_instructions_and_the_decider_wrap_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pverunbook.runbook.loader import load_text
    from pverunbook.terminal_decider import TerminalDecider, plain_text

    rb = load_text('id = "g"\ntitle = "G"\n[[steps]]\nid = "review"\ntitle = "Review"\n'
                   'kind = "manual"\ninstructions = "x"\n[[steps]]\nid = "cut"\ntitle = "C"\n'
                   'destructive = true\nconfirm = "cluster"\ncommands = ["true"]\n'
                   'no_backup_reason = "test"\n')
    monkeypatch.setenv("COLUMNS", "80")
    for out in (Terminal(), io.StringIO()):
        d = TerminalDecider(interactive=False, out=out)
        d.runbook, d.resume_with = rb, "pverunbook rehearse --resume 20261207-125022-0836ad"
        assert await d.manual_done(rb.steps[0], INSTRUCTIONS) is False
        said = out.getvalue()
        for typed in ("`ip route del 192.168.4.201 via 192.168.4.1`", "--confirm review`",
                      "`pverunbook rehearse --resume 20261207-125022-0836ad --confirm review`",
                      "`corosync-tuning`", "`add_second_link = true`"):
            assert typed in said, said  # typed text: never broken
        lines = said.splitlines()
        if isinstance(out, Terminal):
            assert all(cells(line) <= 80 or "`" in line for line in lines), said
            item = next(i for i, line in enumerate(lines) if line.startswith("1. Switch"))
            assert lines[item + 1].startswith("   ") and lines[item + 1][3] != " ", said
            # the runbook's hard-wrapped prose reflows; a command on its own line stays one
            assert "   duplex (both ends must agree); remove the route:" in lines, said
            assert "   corosync-cfgtool -s" in lines
        else:  # a pipe: the instructions as written, bold as plain text
            assert plain_text(INSTRUCTIONS) in said
