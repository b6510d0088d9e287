"""The one interface every transport implements: run a command on a node, move files.

Live, dry-run and rehearsal differ only in which transport the engine is handed. A transport never
decides anything; it streams output through ``on_output`` as it arrives, enforces the timeout it is
given (and leaves nothing running on the node when it fires or when the caller cancels), and
reports connection loss separately from a command failing.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pverunbook.inventory import Node

OutputCallback = Callable[[str, str], None]
"""Called with (stream, text) where stream is "stdout" or "stderr"."""

ByteSink = Callable[[bytes], "Awaitable[None] | None"]
"""Called with raw stdout bytes as they arrive (an archive streamed off a node). A sink that
cannot keep up returns an awaitable: the transport reads no more until it is done (the SSH
channel's window closes, so the node's side waits), which keeps memory flat."""


def push_out(timeout: asyncio.Timeout, seconds: float) -> None:
    """Move an idle timeout to ``seconds`` from now, lazily.

    Called for every chunk of a stream (~3000 per 100 MB): rescheduling each time cancelled
    and re-armed a timer handle per chunk, a measurable share of the event loop's time while
    an archive arrived. It is moved only once it has fallen behind by a tenth of ``seconds``
    (at most 0.1 s), so it still fires no sooner than 90 % of ``seconds`` after the last data.
    """
    when = asyncio.get_running_loop().time() + seconds
    current = timeout.when()
    if current is None or when - current >= min(0.1, seconds / 10):
        timeout.reschedule(when)


@dataclass(frozen=True)
class CommandResult:
    exit_status: int | None
    duration: float
    timed_out: bool = False
    cancelled: bool = False
    connection_lost: bool = False
    error: str = ""
    dry_run: bool = False

    @property
    def ok_to_judge(self) -> bool:
        """True when the command really ran to an exit status we may compare."""
        return self.exit_status is not None and not (self.timed_out or self.connection_lost
                                                     or self.cancelled or self.dry_run)


class TransportError(Exception):
    """A node cannot be used: says which node, what happened and what to do."""

    def __init__(self, node: str, message: str, hint: str = "") -> None:
        self.node = node
        self.message = message
        self.hint = hint
        super().__init__(f"{node}: {message}" + (f" — {hint}" if hint else ""))


class ConnectionLost(TransportError):
    pass


class Transport(ABC):
    #: "live", "local", "dry-run" or "rehearsal": shown to the operator, written to the journal.
    mode: str = "live"
    executes: bool = True

    async def connect(self, nodes: list[Node]) -> None:  # noqa: B027 - optional hook
        """Open connections up front so an unreachable node is found before step one."""

    @abstractmethod
    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        """Run ``command`` with ``sh`` semantics; on timeout or cancellation kill it on the node."""

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink: ByteSink) -> tuple[CommandResult, str]:
        """Run ``command``, handing its stdout to ``sink`` as raw bytes; returns (result, stderr).

        For archives (checkpoints): nothing is held in memory, and the timeout counts from the
        last byte received, so a large tree that keeps flowing is not mistaken for a hang.
        Transports that cannot do this raise TransportError; callers fall back to read_file.
        """
        raise TransportError(node.name, f"this transport ({self.mode}) cannot stream")

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        raise TransportError(node.name, f"this transport ({self.mode}) cannot read files")

    async def write_file(self, node: Node, path: str, data: bytes, *, mode: int | None = None,
                         timeout: float) -> None:
        raise TransportError(node.name, f"this transport ({self.mode}) cannot write files")

    async def reconnect(self, node: Node) -> None:  # noqa: B027 - optional hook
        """Re-establish a lost connection (the engine asks for this, with backoff)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass
