"""One command's SSH channel on the client side: output streamed as it arrives, how it ended.

Split from ``ssh.py`` (which opens connections and runs commands through this session).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import Callable

import asyncssh

from pverunbook.transport.base import ByteSink, OutputCallback

_UTF8 = codecs.getincrementaldecoder("utf-8")


class Session(asyncssh.SSHClientSession[bytes]):
    """Streams output as it arrives and records how the channel ended."""

    def __init__(self, on_output: OutputCallback, raw: ByteSink | None = None,
                 progress: Callable[[], None] | None = None) -> None:
        self._on_output = on_output
        self._raw = raw  # stdout bytes as they arrive (archives), not decoded
        self._progress = progress
        #: One per stream, made at its first bytes: most short commands print on one stream
        #: or none, and a fan-out opens a session per node per command.
        self._decoders: dict[str, codecs.IncrementalDecoder] = {}
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.lost: Exception | None = None
        self.callback_error: Exception | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self._chan = chan

    def _resume(self, _: object) -> None:
        if self._chan is not None:
            with contextlib.suppress(Exception):  # the channel may have closed meanwhile
                self._chan.resume_reading()

    def _emit(self, name: str, text: str) -> None:
        if not text or self.callback_error is not None:
            return
        try:
            self._on_output(name, text)
        except Exception as exc:  # raising into asyncssh would tear down the whole connection
            self.callback_error = exc

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        name = "stderr" if datatype == asyncssh.EXTENDED_DATA_STDERR else "stdout"
        if self._progress is not None:
            self._progress()
        if name == "stdout" and self._raw is not None:
            if self.callback_error is None:
                try:
                    wait = self._raw(data)
                except Exception as exc:  # e.g. the local disk is full: stop, say why
                    self.callback_error = exc
                else:
                    if wait is not None and self._chan is not None:
                        # The sink is behind: read no more until it catches up (the window
                        # closes and the node's side waits), so memory stays bounded.
                        self._chan.pause_reading()
                        asyncio.ensure_future(wait).add_done_callback(self._resume)
            return
        dec = self._decoders.get(name)
        if dec is None:
            dec = self._decoders[name] = _UTF8(errors="replace")
        self._emit(name, dec.decode(data))

    def eof_received(self) -> bool:
        """Keep our half open: the client's EOF means "kill" to the wrapper, and is not needed.

        By default asyncssh answers the node's EOF with one of its own (``_flush_recv_buf``):
        two more packets per command (asyncssh puts an SSH_MSG_IGNORE before each), which
        sshd then handles too — a quarter of a short command's packets. sshd closes the
        command's stdin itself when it exits (session.c, session_exit_message:
        chan_write_failed) and closes the channel after the exit status, as asyncssh's own
        ``SSHClientProcess`` relies on; so does the rehearsal cluster's server.
        """
        return True

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        for name, dec in self._decoders.items():
            self._emit(name, dec.decode(b"", final=True))
        self.lost = exc
        if not self.done.done():
            self.done.set_result(None)
