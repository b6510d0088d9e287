"""The SSH side: one asyncssh listener per simulated node (own port, own host key).

Exec requests run in the node's emulated shell with output streamed as produced; a shell
request gets a prompt loop for people (:mod:`pverunbook.sim.terminal`); SFTP is chrooted to
the node directory, with writes under /etc/pve routed through pmxcfs semantics (they block
without quorum, like a cp would). Closing the channel or a signal request cancels the running
command. The SSH transport's guardian (transport/wrapper.py) is honoured too: ``stop TOKEN``
on its channel cancels the command marked TOKEN, and its end (the connection's) cancels every
command of that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncssh

from pverunbook.sim.shell.executor import Shell
from pverunbook.sim.shell.streams import CallbackOutput, Pipe
from pverunbook.sim.terminal import interactive
from pverunbook.transport.wrapper import parse_guard_command, unwrap_command

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode


SIGNALS = {"INT": 2, "TERM": 15, "KILL": 9, "HUP": 1, "QUIT": 3}


def unwrap(command: str) -> tuple[str, str | None]:
    """(inner command, token or None): the SSH transport's marking undone, as it defines."""
    marked = unwrap_command(command)
    return marked if marked is not None else (command, None)


class _Server(asyncssh.SSHServer):
    def __init__(self, password: str, client_keys: list[asyncssh.SSHKey],
                 conns: set[asyncssh.SSHServerConnection] | None = None) -> None:
        self.password = password
        self.client_keys = client_keys
        self.conns = conns if conns is not None else set()
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.conns.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.conns.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "root" and password == self.password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == "root" and any(
            key.public_data == k.public_data for k in self.client_keys)


class NodeServer:
    """Serves one node; :meth:`start` binds 127.0.0.1 on a given or free port."""

    def __init__(self, node: SimNode, host_key: asyncssh.SSHKey, password: str,
                 client_keys: list[asyncssh.SSHKey]) -> None:
        self.node = node
        self.host_key = host_key
        self.password = password
        self.client_keys = client_keys
        self.acceptor: asyncssh.SSHAcceptor | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        #: running marked commands by token (link.n), for the guardians' ``stop``
        self.marked: dict[str, Callable[[], None]] = {}
        #: open client connections: closed on stop, so nobody keeps talking to an old world
        self.conns: set[asyncssh.SSHServerConnection] = set()

    async def start(self, port: int = 0) -> int:
        self.acceptor = await asyncssh.create_server(
            lambda: _Server(self.password, self.client_keys, self.conns), "127.0.0.1", port,
            server_host_keys=[self.host_key], process_factory=self._process,
            sftp_factory=self._sftp_factory, encoding=None, allow_scp=True,
            line_editor=True, keepalive_interval=0)
        self.port = self.acceptor.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        for conn in list(self.conns):
            conn.close()
        self.conns.clear()
        if self.acceptor is not None:
            self.acceptor.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.acceptor.wait_closed(), 2)
            self.acceptor = None

    def _sftp_factory(self, chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return NodeSFTP(chan, self.node)

    async def _process(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            link = parse_guard_command(process.command or "")
            if process.command is None:
                await self._interactive(process)
            elif link is not None:
                await self._guard(process, link)
            else:
                await self._exec(process)
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def _guard(self, process: asyncssh.SSHServerProcess[bytes], link: str) -> None:
        """The guardian: ``stop TOKEN`` cancels that command; EOF cancels all of this link's.

        It first says, as the real one does, which programs the login shell and /bin/sh are:
        root's login shell on a Proxmox VE node is bash, so commands come exec'ing /bin/sh.
        """
        process.stdout.write(b"/usr/bin/bash\n/usr/bin/dash\n")
        try:
            while True:
                line = await process.stdin.readline()
                if not line:
                    break
                word, _, token = line.decode(errors="replace").strip().partition(" ")
                stop = self.marked.get(token) if word == "stop" and \
                    token.startswith(link + ".") else None
                if stop is not None:
                    stop()
        except Exception:  # noqa: BLE001 - the channel or connection is gone: the same EOF
            pass
        for token, stop in list(self.marked.items()):
            if token.startswith(link + "."):
                stop()
        with contextlib.suppress(Exception):
            process.exit(0)

    async def _exec(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        cmd, token = unwrap(process.command or "")
        stdin = Pipe()
        shell = Shell(self.node)
        if process.get_terminal_type():
            shell.tty = "pts/0"

        async def out(data: bytes) -> None:
            process.stdout.write(data)
            with contextlib.suppress(Exception):
                await process.stdout.drain()

        async def err(data: bytes) -> None:
            process.stderr.write(data)
            with contextlib.suppress(Exception):
                await process.stderr.drain()

        run = asyncio.ensure_future(shell.run_script(cmd, stdin, CallbackOutput(out),
                                                     CallbackOutput(err)))
        reason: list[int] = []

        def kill(status: int) -> None:
            if not run.done():
                reason.append(status)
                run.cancel()

        if token is not None:
            self.marked[token] = lambda: kill(143)

        async def pump() -> None:
            if token is not None:  # a marked command's stdin is /dev/null (wrap_command)
                await stdin.close()
            try:
                while True:
                    data = await process.stdin.read(65536)
                    if not data:
                        await stdin.close()
                        return
                    if token is None:
                        await stdin.write(data)
            except asyncssh.SignalReceived as exc:
                kill(128 + SIGNALS.get(exc.signal.upper(), 15))
            except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                return
            except Exception:  # noqa: BLE001 - channel gone: stop the command
                kill(129)

        async def hangup() -> None:
            # The client closed the channel (or the connection dropped) while the command
            # runs: sshd ends the session and the command gets SIGHUP (exit 129). Without
            # this a `journalctl -f` with nothing new to print would follow forever.
            await process.channel.wait_closed()
            kill(129)

        pumper = asyncio.ensure_future(pump())
        watcher = asyncio.ensure_future(hangup())
        status = 255
        try:
            status = await run
        except asyncio.CancelledError:
            if not reason:
                pumper.cancel()
                watcher.cancel()
                raise
            status = reason[0]
        finally:
            if token is not None:
                self.marked.pop(token, None)
            for helper in (pumper, watcher):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await helper
        with contextlib.suppress(Exception):
            process.exit(status & 255)

    async def _interactive(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        await interactive(process, self.node)


class _PveFile:
    """An SFTP handle for a file under a live /etc/pve: committed through pmxcfs on close."""

    def __init__(self, vpath: str, data: bytes, writing: bool) -> None:
        self.vpath = vpath
        self.buf = io.BytesIO(data)
        self.writing = writing


class NodeSFTP(asyncssh.SFTPServer):
    """SFTP chrooted to the node directory; /etc/pve goes through the node's NodeFS."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], node: SimNode) -> None:
        self.node = node
        super().__init__(chan, chroot=str(node.root).encode())

    def _vpath(self, path: bytes) -> str:
        p = path.decode("utf-8", "replace")
        return self.node.fs.abspath(p if p.startswith("/") else "/root/" + p, "/root")

    def _pve(self, path: bytes) -> str | None:
        try:
            r = self.node.fs.resolve(self._vpath(path))
            return r if self.node.fs.pve_rel(r) is not None else None
        except OSError as exc:
            raise asyncssh.SFTPFailure(exc.strerror or "failure") from None

    def map_path(self, path: bytes) -> bytes:
        try:
            r = self.node.fs.resolve(self._vpath(path))
        except OSError:
            r = self._vpath(path)
        return super().map_path(r.encode())

    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        vp = self._pve(path)
        if vp is None:
            return super().open(path, pflags, attrs)
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT))
        data = b""
        if not (pflags & asyncssh.FXF_TRUNC) or not writing:
            try:
                data = self.node.fs.read_bytes(vp)
            except OSError as exc:
                if not writing or exc.errno != errno.ENOENT:
                    raise asyncssh.SFTPNoSuchFile(exc.strerror or "No such file") from None
        if writing:
            try:
                await self.node.fs.pve_change(vp)
            except OSError as exc:  # no quorum: EACCES at once, as pmxcfs answers
                raise asyncssh.SFTPPermissionDenied(exc.strerror or "Permission denied") \
                    from None
        return _PveFile(vp, data, writing)

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if isinstance(file_obj, _PveFile):
            file_obj.buf.seek(offset)
            return file_obj.buf.read(size)
        return super().read(file_obj, offset, size)  # type: ignore[return-value]

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if isinstance(file_obj, _PveFile):
            file_obj.buf.seek(offset)
            file_obj.buf.write(data)
            return len(data)
        return super().write(file_obj, offset, data)  # type: ignore[return-value]

    async def close(self, file_obj: object) -> None:
        if isinstance(file_obj, _PveFile):
            if file_obj.writing:
                try:
                    await self.node.fs.write_bytes(file_obj.vpath, file_obj.buf.getvalue())
                except OSError as exc:
                    raise asyncssh.SFTPFailure(exc.strerror or "failure") from None
            return
        super().close(file_obj)

    async def fstat(self, file_obj: object) -> Any:
        if isinstance(file_obj, _PveFile):
            return asyncssh.SFTPAttrs(size=len(file_obj.buf.getvalue()), permissions=0o100640,
                                      uid=0, gid=33)
        return super().fstat(file_obj)

    async def remove(self, path: bytes) -> None:
        vp = self._pve(path)
        if vp is None:
            super().remove(path)
            return
        try:
            await self.node.fs.unlink(vp)
        except OSError as exc:
            raise asyncssh.SFTPFailure(exc.strerror or "failure") from None

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self._pve(oldpath) is None and self._pve(newpath) is None:
            super().rename(oldpath, newpath)
            return
        try:
            await self.node.fs.rename(self._vpath(oldpath), self._vpath(newpath))
        except OSError as exc:
            raise asyncssh.SFTPFailure(exc.strerror or "failure") from None

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self._pve(oldpath) is None and self._pve(newpath) is None:
            target = self.map_path(newpath)
            os.replace(self.map_path(oldpath), target)
            return
        await self.rename(oldpath, newpath)

    async def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        vp = self._pve(path)
        if vp is None:
            super().mkdir(path, attrs)
            return
        try:
            await self.node.fs.mkdir(vp)
        except OSError as exc:
            raise asyncssh.SFTPFailure(exc.strerror or "failure") from None

    async def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        if self._pve(path) is None:
            super().setstat(path, attrs)

    async def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        if isinstance(file_obj, _PveFile):
            return
        super().fsetstat(file_obj, attrs)

    def realpath(self, path: bytes) -> bytes:
        return posixpath.normpath(self._vpath(path)).encode()
