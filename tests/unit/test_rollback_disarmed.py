"""A rollback timer stopped because its step changed nothing is ``disarmed``, not committed.

engine/rollback_unchanged.py stops the timers of a ``commit_within`` step that failed before it
changed anything (the nodes' files still hash as the checkpoint's), as COMMIT stops them. The
journal recorded that as ``committed``, so the incident report's rollback table said "COMMIT:
timer stopped" and ``journal show`` said "committed" for a change nobody committed (nothing was
changed). It has a state of its own now, also read back from journals written before it had.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pverunbook import report_rollback
from pverunbook.engine import events as ev
from pverunbook.engine.journal import Journal
from pverunbook.engine.rollback_resume import on_resume
from pverunbook.engine.rollback_unchanged import NOTHING_CHANGED
from pverunbook.headless import EventPrinter
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.base import CommandResult

MESSAGE = f"{NOTHING_CHANGED}: timer stopped and verified gone; nothing restored"
DIR = "/var/lib/pverunbook/rollback/r1-apply-1-pve001"


def _events(state: str) -> list[ev.Event]:
    return [ev.RollbackTimer(step_id="apply", node="pve001", state="armed", seconds=420,
                             checkpoint_id="r1-apply-1", dir=DIR,
                             files=("/etc/pve/corosync.conf",)),
            ev.RollbackTimer(step_id="apply", node="pve001", state=state, dir=DIR,
                             files=("/etc/pve/corosync.conf",), message=MESSAGE)]


def test_the_report_says_disarmed_not_commit() -> None:
    # "committed" with the reason: a journal written before the state had a name of its own
    for state in ("disarmed", "committed"):
        events = _events(state)
        out: list[str] = []
        report_rollback.section(events, out)
        (row,) = [line for line in out if line.startswith("| `apply`")]
        assert "disarmed: nothing changed" in row and "COMMIT" not in row, (state, row)
        line = report_rollback.timeline_line(events[1])  # type: ignore[arg-type]
        assert "disarmed: nothing changed" in line and "COMMIT" not in line, (state, line)
    # a COMMIT is still one
    out = []
    report_rollback.section([ev.RollbackTimer(step_id="apply", node="pve001",
                                              state="committed",
                                              message="COMMIT: timer stopped and verified gone")],
                            out)
    assert any("COMMIT: timer stopped" in line for line in out), out


def test_journal_show_says_disarmed() -> None:
    for state in ("disarmed", "committed"):
        out = io.StringIO()
        EventPrinter(out)(_events(state)[1])
        assert "rollback timer on pve001: disarmed — nothing was changed" in out.getvalue(), \
            out.getvalue()


class _Transport:
    """Answers every command with nothing and remembers it."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    async def run(self, node: Node, command: str, timeout: float, on_output: Any
                  ) -> CommandResult:
        self.commands.append(command)
        return CommandResult(exit_status=0, duration=0.0)


async def test_a_resumed_run_leaves_a_disarmed_timer_alone(tmp_path: Path) -> None:
    """The resume reads the journal's timers: a disarmed one is over (before, the resume took
    it for armed, asked the node, and journaled the node's ``committed`` as a COMMIT)."""
    rb = load_text('id = "x"\ntitle = "X"\n[[steps]]\nid = "apply"\ntitle = "A"\n'
                   'destructive = true\nconfirm = "nyc"\ncommands = ["true"]\n'
                   'commit_within = 420\ncommit_checks = ["check"]\n'
                   '[steps.backup]\nfiles = ["/etc/pve/corosync.conf"]\n'
                   '[[steps]]\nid = "check"\ntitle = "C"\nkind = "check"\ncommands = ["true"]\n')
    path = tmp_path / "r1.jsonl"
    journal = Journal(path)
    for e in [ev.RunStarted(run_id="r1", runbook_id="x", runbook_title="X", runbook_path="",
                            mode="ssh", cluster="nyc", nodes=("pve001",), params={}),
              ev.StepStarted(step_id="apply", title="A", index=0, nodes=("pve001",)),
              *_events("disarmed")]:
        journal(e)
    journal.close()
    transport = _Transport()
    seen: list[ev.Event] = []

    async def durable() -> None:
        return None

    engine = SimpleNamespace(
        resume=object(), journal_path=path, dry_run=False, runbook=rb, run_id="r1",
        cluster=Cluster("nyc", (Node("pve001", "192.0.2.1"),)), unreachable=set(),
        transport_for=lambda node: transport, emit=seen.append, durable=durable,
        statuses={})
    assert await on_resume(engine) == ""  # type: ignore[arg-type]
    assert not [e for e in seen if isinstance(e, ev.RollbackTimer)], seen
    assert not [c for c in transport.commands if "r1-apply-1-pve001" in c], transport.commands
