"""One node's SSH connection as the transport keeps it: its SFTP session, its guardian, and
the tokens that mark its commands (the kill protocol is transport/wrapper.py's).

Split from ``ssh.py``, which opens connections and runs commands through them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from dataclasses import dataclass, field

import asyncssh

from pverunbook.transport.wrapper import (
    LOGIN_POSIX,
    guard_command,
    login_shell,
    stop_line,
    wrap_command,
)


@dataclass
class Conn:
    """One node's connection: its SFTP session, its guardian and the tokens of its commands."""

    conn: asyncssh.SSHClientConnection
    sftp: asyncssh.SFTPClient | None = None
    #: 12 random hex digits: the guardian kills only commands marked with this connection's id
    link: str = field(default_factory=lambda: secrets.token_hex(6))
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    guard: asyncio.Task[asyncssh.SSHClientChannel[bytes] | None] | None = None
    #: how the login shell takes a command (wrapper.login_shell; the guardian says first)
    login: str = LOGIN_POSIX

    def start_guard(self) -> None:
        """Open the guardian's channel in the background: no command waits for it."""
        self.guard = asyncio.ensure_future(open_guard(self))

    def wrap(self, command: str) -> tuple[str, str]:
        """(token, what to send) for the next command on this connection."""
        token = f"{self.link}.{next(self.seq)}"
        return token, wrap_command(command, token, login=self.login)

    async def stop(self, token: str) -> None:
        """Tell the guardian to kill command ``token`` (TERM, KILL after 3 s): best effort."""
        if self.guard is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                chan = await asyncio.shield(self.guard)
                if chan is not None:
                    chan.write(stop_line(token))


class _GuardSession(asyncssh.SSHClientSession[bytes]):
    """Reads the guardian's two first lines (which shell is the login shell?), then nothing."""

    def __init__(self, c: Conn) -> None:
        self._c = c
        self._head = b""

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype is None and self._head.count(b"\n") < 2:
            self._head += data[:4096]
            if self._head.count(b"\n") >= 2:
                self._c.login = login_shell(self._head.decode(errors="replace"))

    def eof_received(self) -> bool:
        """Keep our half open: the guardian sends its stdout to /dev/null at once (sshd then
        says EOF), and asyncssh's default answer, an EOF of ours, would mean "kill them all"."""
        return True


async def open_guard(c: Conn) -> asyncssh.SSHClientChannel[bytes] | None:
    """The guardian's channel, or None where the node refused it (commands then stop only
    through sshd's ``signal`` request, and a dead connection leaves them running)."""
    try:
        chan, _ = await c.conn.create_session(lambda: _GuardSession(c), guard_command(c.link),
                                            encoding=None)
    except (asyncssh.Error, OSError):
        return None
    return chan
