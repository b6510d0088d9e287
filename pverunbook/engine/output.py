"""One node's command output on its way from the transport to events: coalesced, redacted and
bounded.

- Coalesced: a fast stream becomes one ``OutputChunk`` per ``OUTPUT_FLUSH`` seconds (or per 64 KiB)
  instead of one per read, without delaying a slow trickle.
- Redacted: each stream passes a ``StreamRedactor``, so a secret split across two reads or two
  coalesced chunks is still replaced (see ``engine/redaction.py``).
- Bounded: a node that floods output (``yes``, a runaway ``journalctl -f``) cannot exhaust memory
  or the disk. Per command and stream, the first ``OUTPUT_HEAD`` characters are shown and
  journaled as they come, then only the last ``OUTPUT_TAIL`` are kept and emitted when the
  command ends, after a marker line saying how many bytes were dropped. Expectations and verdicts
  see at most ``OUTPUT_KEEP`` characters per stream (the most recent).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from pverunbook.engine import events as ev
from pverunbook.engine.redaction import Redactor, StreamRedactor

#: Per node and step, how much output is kept in memory for expectations and verdicts.
OUTPUT_KEEP = 4 * 1024 * 1024
#: Output is coalesced into one event per node at most this often (seconds).
OUTPUT_FLUSH = 0.05
#: Per command and stream: shown/journaled from the start, and kept from the end.
OUTPUT_HEAD = 1024 * 1024
OUTPUT_TAIL = 256 * 1024
STREAMS = ("stdout", "stderr")


class _Stream:
    def __init__(self, redactor: Redactor) -> None:
        self.pending: list[str] = []
        self.redactor = StreamRedactor(redactor)
        self.head_used = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.dropped_bytes = 0
        self.kept: deque[str] = deque()
        self.kept_size = 0


class OutputBuffer:
    """Coalesces, redacts and bounds one node's output for one step (see the module doc).

    ``feed(stream, text)`` is the transport's ``on_output``; ``flush()`` ends a command (emits
    what is pending, the held-back tail and the dropped-bytes marker) and resets the per-command
    bounds; ``text(stream)`` is what expectations and verdicts read.
    """

    def __init__(self, emit: Callable[[ev.Event], None], step_id: str, node: str,
                 redactor: Redactor | None = None) -> None:
        self.emit = emit
        self.step_id = step_id
        self.node = node
        self.redactor = redactor or Redactor()
        self.streams = {s: _Stream(self.redactor) for s in STREAMS}
        self.size = 0
        self.handle: asyncio.TimerHandle | None = None

    def feed(self, stream: str, text: str) -> None:
        st = self.streams.get(stream) or self.streams["stderr"]
        st.kept.append(text)
        st.kept_size += len(text)
        while st.kept_size > OUTPUT_KEEP and len(st.kept) > 1:
            st.kept_size -= len(st.kept.popleft())
        room = OUTPUT_HEAD - st.head_used
        if room > 0:
            part = text[:room]
            st.pending.append(part)
            st.head_used += len(part)
            self.size += len(part)
            text = text[room:]
        if text:
            st.tail.append(text)
            st.tail_size += len(text)
            if st.tail_size > OUTPUT_TAIL:
                joined = "".join(st.tail)
                cut = len(joined) - OUTPUT_TAIL
                st.dropped_bytes += len(joined[:cut].encode("utf-8", errors="surrogatepass"))
                st.tail = deque([joined[cut:]])
                st.tail_size = OUTPUT_TAIL
        if self.size >= 65536:
            self._tick()
        elif self.handle is None and self.size:
            self.handle = asyncio.get_running_loop().call_later(OUTPUT_FLUSH, self._tick)

    def _tick(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        for name, st in self.streams.items():
            if st.pending:
                self._chunk(name, st.redactor.feed("".join(st.pending)))
                st.pending.clear()
        self.size = 0

    def flush(self) -> None:
        """The command ended: emit everything still held and reset the per-command bounds."""
        self._tick()
        for name, st in self.streams.items():
            if st.dropped_bytes:
                # The held-back end of the head and the start of the tail border the gap:
                # either could be half a secret, so they are dropped with it.
                hold = max(self.redactor.longest - 1, 0)
                st.dropped_bytes += len(st.redactor.carry.encode("utf-8", "surrogatepass"))
                st.redactor = StreamRedactor(self.redactor)
                tail = "".join(st.tail)
                cut = _gap_cut(tail, hold, self.redactor.secrets)
                st.dropped_bytes += len(tail[:cut].encode("utf-8", "surrogatepass"))
                self._chunk(name, f"\n[pverunbook: {st.dropped_bytes} bytes of {name} dropped "
                                  f"here; each command keeps its first {OUTPUT_HEAD >> 10} KiB "
                                  f"and last {OUTPUT_TAIL >> 10} KiB]\n")
                self._chunk(name, st.redactor.feed(tail[cut:]))
            elif st.tail:
                self._chunk(name, st.redactor.feed("".join(st.tail)))
            self._chunk(name, st.redactor.end())
            st.head_used = 0
            st.tail.clear()
            st.tail_size = 0
            st.dropped_bytes = 0

    def _chunk(self, stream: str, text: str) -> None:
        if text:
            self.emit(ev.OutputChunk(step_id=self.step_id, node=self.node, stream=stream,
                                     text=text))

    def text(self, stream: str) -> str:
        return "".join(self.streams[stream].kept)

    def dropped(self) -> int:
        return sum(st.dropped_bytes for st in self.streams.values())


def _gap_cut(tail: str, hold: int, secrets: list[str]) -> int:
    """Where the kept tail starts showing: past any piece of a secret the gap cut in two.

    The first ``hold`` characters may be the end of a secret that began in the dropped part; a
    whole secret that starts before ``hold`` and ends after it is kept whole (to be redacted), and
    of several such the latest one, so no character of any secret shows on its own.
    """
    cut = min(hold, len(tail))
    best = -1
    for s in secrets:
        start = tail.find(s, max(0, cut - len(s) + 1))
        while start != -1 and start < cut:
            if start + len(s) > cut:
                best = max(best, start)
            start = tail.find(s, start + 1)
    return best if best >= 0 else cut
