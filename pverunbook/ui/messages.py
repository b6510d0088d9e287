"""Typed messages: the only way engine events reach widgets.

The engine calls :class:`EventPump` (its subscriber) for every event. The pump never touches a
widget: it turns output chunks into whole lines, coalesces them into one :class:`OutputBatch` per
frame, and posts one typed message per other event, in order. Handlers on the run screen own all
state.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from textual.message import Message

from pverunbook.engine import events as ev
from pverunbook.ui.model import LineSplitter

#: Output is written to the panes at most this often (seconds): about one frame.
FRAME = 1 / 30


class EngineMessage(Message):
    """Wraps one engine event; subclasses say which kind, so handlers are typed."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event


class RunStarted(EngineMessage):
    event: ev.RunStarted


class StepStarted(EngineMessage):
    event: ev.StepStarted


class CommandStarted(EngineMessage):
    event: ev.CommandStarted


class CommandFinished(EngineMessage):
    event: ev.CommandFinished


class StepFinished(EngineMessage):
    event: ev.StepFinished


class StepSkipped(EngineMessage):
    event: ev.StepSkipped


class FindingReported(EngineMessage):
    """Findings, failed expectations and guards."""


class CheckpointTaken(EngineMessage):
    event: ev.CheckpointTaken


class ConfirmationEvent(EngineMessage):
    """ConfirmationRequested / ConfirmationGiven."""


class RunFinished(EngineMessage):
    event: ev.RunFinished


class JournalNote(EngineMessage):
    """Everything else worth a line in the activity log (notes, connection changes, params)."""


_MESSAGE_FOR: dict[type[ev.Event], type[EngineMessage]] = {
    ev.RunStarted: RunStarted,
    ev.StepStarted: StepStarted,
    ev.CommandStarted: CommandStarted,
    ev.CommandFinished: CommandFinished,
    ev.StepFinished: StepFinished,
    ev.StepSkipped: StepSkipped,
    ev.Finding: FindingReported,
    ev.ExpectationResult: FindingReported,
    ev.GuardResult: FindingReported,
    ev.CheckpointTaken: CheckpointTaken,
    ev.ConfirmationRequested: ConfirmationEvent,
    ev.ConfirmationGiven: ConfirmationEvent,
    ev.RunFinished: RunFinished,
}


class OutputBatch(Message):
    """Whole lines of output gathered over about one frame, per (step, node)."""

    def __init__(self, lines: dict[tuple[str, str], list[str]]) -> None:
        super().__init__()
        self.lines = lines


class AwaitingOperator(Message):
    """The engine waits for "next" (or skip / jump / abort) before step ``index``."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class UnknownOutcome(Message):
    """A resumed run asks what to do with the step whose outcome is unknown."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class EventPump:
    """Engine subscriber → typed messages posted to ``post`` (a widget's ``post_message``)."""

    def __init__(self, post: Callable[[Message], Any]) -> None:
        self._post = post
        self._split = LineSplitter()
        self._pending: dict[tuple[str, str], list[str]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.get_ident()

    def __call__(self, event: ev.Event) -> None:
        if threading.get_ident() != self._thread and self._loop is not None:
            # Never expected (the engine runs in an async worker), but stay thread-safe.
            self._loop.call_soon_threadsafe(self, event)
            return
        if isinstance(event, ev.OutputChunk):
            lines = self._split.feed(event.node, event.stream, event.text)
            if lines:
                self._pending.setdefault((event.step_id, event.node), []).extend(lines)
                self._schedule()
            return
        if isinstance(event, ev.CommandFinished):
            rest = self._split.flush(event.node)
            if rest:
                self._pending.setdefault((event.step_id, event.node), []).extend(rest)
        # Output that precedes an event is delivered before it.
        self.flush()
        self._post(_MESSAGE_FOR.get(type(event), JournalNote)(event))

    def _schedule(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._loop = loop
            self._timer = loop.call_later(FRAME, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            batch, self._pending = self._pending, {}
            self._post(OutputBatch(batch))
