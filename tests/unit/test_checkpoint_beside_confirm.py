"""A destructive step's checkpoint is taken while the operator reads the confirmation.

The question no longer waits for the copy; the step still never runs before the copy verified.
These tests hold the checkpoint's node commands behind a gate that opens only after the
operator answered, so the answer always comes first: the step must wait for the verified
checkpoint, a checkpoint that fails after the answer must still stop it, and a refusal must
stop the copy and leave no unfinished checkpoint folder behind.
"""
# ruff: noqa: ASYNC240 - small temp files are inspected after the engine is done

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.checkpoints import CheckpointStore, list_checkpoints
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal, read_journal
from pverunbook.inventory import Node, local_cluster
from pverunbook.runbook.loader import load_text
from pverunbook.transport.base import CommandResult
from pverunbook.transport.local import LocalTransport

CLUSTER = local_cluster()


def book(keep: Path, marker: Path) -> str:
    return f"""
id = "ckpt"
title = "Checkpoint beside the question"

[[steps]]
id = "wipe"
title = "Destroy something"
destructive = true
commands = [{json.dumps(f"touch {marker}")}]

[steps.backup]
files = [{json.dumps(str(keep))}]
"""


class GatedTransport(LocalTransport):
    """Every command but the step's own waits for ``gate`` (the checkpoint's reads)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)
        self.gate = asyncio.Event()
        self.held = asyncio.Event()

    async def _wait(self, command: str) -> None:
        if self.marker not in command:
            self.held.set()
            await self.gate.wait()

    async def run(self, node: Node, command: str, **kw: Any) -> CommandResult:
        await self._wait(command)
        return await super().run(node, command, **kw)

    async def stream(self, node: Node, command: str,
                     **kw: Any) -> tuple[CommandResult, str]:
        await self._wait(command)
        return await super().stream(node, command, **kw)


class AnswersFirst(ScriptedDecider):
    """Confirms at once, records what the checkpoint looked like then, and only afterwards
    lets the checkpoint go on (``before_open`` runs just before the gate opens)."""

    def __init__(self, transport: GatedTransport, before_open: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.transport = transport
        self.before_open = before_open
        self.seen_state = ""
        self.ran_at_answer = True

    async def confirm(self, request: ConfirmRequest) -> str | None:
        assert request.checkpoint is not None
        await self.transport.held.wait()  # the copy has started and is held at the gate
        self.seen_state = request.checkpoint.state
        self.ran_at_answer = Path(self.transport.marker).exists()

        def open_gate() -> None:
            if self.before_open is not None:
                self.before_open()
            self.transport.gate.set()

        asyncio.get_running_loop().call_later(0.3, open_gate)
        return await super().confirm(request)


async def run(text: str, transport: GatedTransport, decider: ScriptedDecider,
              tmp: Path) -> tuple[str, list[ev.Event], CheckpointStore]:
    store = CheckpointStore(root=tmp / "checkpoints", part_timeout=10.0)
    engine = Engine(load_text(text), CLUSTER, transport, decider, run_id="r1",
                    checkpointer=store)
    journal = Journal(tmp / "run.jsonl")
    engine.subscribe(journal)
    engine.flushers.append(journal.flush)
    try:
        status = await engine.run()
    finally:
        journal.close()
    return status, read_journal(tmp / "run.jsonl"), store


def index(events: list[ev.Event], kind: type[ev.Event], **match: Any) -> int:
    for i, e in enumerate(events):
        if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no {kind.__name__} {match} in the journal")


async def test_confirmed_before_the_checkpoint_finished_the_step_waits_for_it(
        tmp_path: Path) -> None:
    keep, marker = tmp_path / "keep.cfg", tmp_path / "ran"
    keep.write_text("precious\n")
    transport = GatedTransport(marker)
    decider = AnswersFirst(transport, confirm_text=CLUSTER.name)
    status, events, store = await run(book(keep, marker), transport, decider, tmp_path)
    assert status == "ok" and marker.exists()
    # The answer came while the copy was still being taken, and nothing had run.
    assert decider.seen_state == "taking" and not decider.ran_at_answer
    given = index(events, ev.ConfirmationGiven, accepted=True)
    verified = index(events, ev.CheckpointTaken, ok=True)
    started = index(events, ev.CommandStarted)
    assert given < verified < started
    (info,) = list_checkpoints(store.root)
    assert info.complete and info.ok


async def test_a_checkpoint_failing_after_the_answer_still_stops_the_step(
        tmp_path: Path) -> None:
    keep, marker = tmp_path / "keep.cfg", tmp_path / "ran"
    keep.write_text("precious\n")
    transport = GatedTransport(marker)

    def unreadable() -> None:
        # After the operator said yes and before the copy reads it, the file becomes a
        # directory holding a name with a newline in it, which no stat line can carry: that
        # part of the checkpoint fails. (A path that is simply gone is recorded as absent.)
        keep.unlink()
        keep.mkdir()
        (keep / "odd\nname").write_text("x\n")

    decider = AnswersFirst(transport, before_open=unreadable, confirm_text=CLUSTER.name)
    status, events, _ = await run(book(keep, marker), transport, decider, tmp_path)
    assert decider.seen_state == "taking"
    assert status == "aborted" and not marker.exists()
    assert decider.asked == ["confirm:wipe", "checkpoint:wipe"]
    index(events, ev.ConfirmationGiven, what="destructive", accepted=True)
    failed = index(events, ev.CheckpointTaken, ok=False)
    assert failed > index(events, ev.ConfirmationGiven, what="destructive")
    assert not any(isinstance(e, ev.CommandStarted) for e in events)
    assert [e.status for e in events if isinstance(e, ev.StepFinished)] == ["blocked"]


async def test_refused_while_the_checkpoint_runs_stops_it_and_leaves_no_folder(
        tmp_path: Path) -> None:
    keep, marker = tmp_path / "keep.cfg", tmp_path / "ran"
    keep.write_text("precious\n")
    transport = GatedTransport(marker)
    decider = AnswersFirst(transport, confirm_text="not the node")
    status, events, store = await run(book(keep, marker), transport, decider, tmp_path)
    assert not marker.exists() and status != "ok"
    assert not any(isinstance(e, ev.CheckpointTaken) for e in events)
    # The copy was cancelled while held: its reserved folder (no manifest) is gone.
    assert list_checkpoints(store.root) == []
