"""Terminal output that never blocks the event loop: a writer thread per stream.

Headless runs print every node's output as it arrives. ``write()`` on a terminal blocks once
the tty's buffer is full — a serial console at 115200 baud, an SSH session over a lossy link,
a ``tmux`` pane nobody reads, a pipe into a slow ``less``. Called from the event loop that
blocks the engine too: commands that finished are not noticed, heartbeats stop, and a step's
``timeout`` (loop time) fires for a command that was long done. So the loop only queues the
text; a daemon thread writes and flushes it, coalescing what piled up into one write.

Order is kept per stream. :meth:`BackgroundWriter.drain` waits until everything queued is
written (before the process exits, and before reading an answer from the terminal, so the
question is on screen). A closed pipe (``| head``) ends the writing quietly, like a program
killed by SIGPIPE would have. Nothing is dropped: a slow terminal shows the run late, the
journal has it on time.
"""

from __future__ import annotations

import contextlib
import io
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

_FLUSH = object()


class BackgroundWriter(io.TextIOBase):
    """A text stream whose ``write``/``flush`` only queue; a thread does the real I/O.

    ``stream`` is the real stream (``sys.stdout``). Thread-safe; ``write`` returns at once.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pending = 0
        self._done = threading.Condition()
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="terminal-writer", daemon=True)
        self._thread.start()

    # -- the loop's side --------------------------------------------------------------------
    def write(self, text: str) -> int:
        if text and not self._broken:
            with self._done:
                self._pending += 1
            self._queue.put(text)
        return len(text)

    def flush(self) -> None:
        with self._done:
            self._pending += 1
        self._queue.put(_FLUSH)

    def drain(self, timeout: float | None = None) -> bool:
        """Block until every queued write reached the stream; False when ``timeout`` (s)
        passed first."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0 or self._broken, timeout)

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8") or "utf-8"

    def writable(self) -> bool:
        return True

    # -- the thread's side ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(items) < 4096:
                    items.append(self._queue.get_nowait())
            text = "".join(i for i in items if isinstance(i, str))
            try:
                if text and not self._broken:
                    self.stream.write(text)
                if not self._broken:
                    self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._broken = True  # the reader went away: stop writing, keep running
            with self._done:
                self._pending -= len(items)
                self._done.notify_all()


@contextlib.contextmanager
def background_stdio() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` become :class:`BackgroundWriter`\\ s for the block;
    on leaving it, everything queued is written and the real streams are back."""
    real = sys.stdout, sys.stderr
    out, err = BackgroundWriter(real[0]), BackgroundWriter(real[1])
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = real
        out.drain()
        err.drain()
