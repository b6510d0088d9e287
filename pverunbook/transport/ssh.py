"""Run commands on Proxmox nodes over SSH, the way the operator's own ``ssh`` would.

One asyncssh connection per node, opened once and reused for every command of a run, because a
recovery run issues hundreds of short commands and a handshake (plus root's ``.bashrc``) per
command would dominate. The user's OpenSSH setup is honoured (``~/.ssh/config``, agent, default
keys, ``known_hosts``) so that whatever works with ``ssh node`` works here, and host keys are
always checked: a recovery tool that silently trusts a changed key would hand root on a broken
cluster to whoever answers.

Killing a command on the node is the hard part: OpenSSH without a pty does not kill the command
when the channel closes, nor when the connection dies. Every command is therefore sent marked
(:func:`wrap_command`), and each connection keeps one guardian shell on a channel of its own
(:func:`guard_command`): told ``stop``, it kills that command's process group; at end-of-file
— the connection closed or died, however pverunbook ended — it kills every command of this
connection still running (transport/wrapper.py has the protocol).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import os
import posixpath
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh

from pverunbook.inventory import Node
from pverunbook.transport.base import (
    ByteSink,
    CommandResult,
    ConnectionLost,
    OutputCallback,
    Transport,
    TransportError,
    push_out,
)
from pverunbook.transport.channel import Session as _Session
from pverunbook.transport.hostkeys import (
    HostKeyChanged,
    HostKeyUnknown,
    _Client,
    _config_says_hash,
    _fingerprint,
    _hashed,
    _host_pattern,
    _HostKeyCheck,
    _read_known_hosts,
)
from pverunbook.transport.link import Conn

AcceptHostKey = Callable[[str, str], Awaitable[bool]]
"""Asked with (node name, SHA256 fingerprint) whether to trust a host key never seen before."""

READ_CHUNK = 256 * 1024
READ_CAP = 64 * 1024 * 1024
#: Ciphers in order of preference, AES-GCM first: on CPUs with AES instructions (every x86_64
#: Proxmox VE node) it costs both ends a fraction of chacha20-poly1305, which asyncssh and
#: OpenSSH (myproposal.h, KEX_CLIENT_ENCRYPT) put first. Measured on loopback: a 100 MB
#: stream took 0.55-0.65 s with AES-GCM and 1.0-1.1 s with chacha20-poly1305. All of
#: asyncssh's defaults stay offered; a ``Ciphers`` line in ssh_config still decides.
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
           "chacha20-poly1305@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr")
#: Channel window and largest packet for raw streams (checkpoint archives): fewer window
#: adjustments and packets to decrypt per MiB than asyncssh's 2 MiB / 32 KiB; OpenSSH
#: accepts packets up to 256 KiB (packet.c, PACKET_MAX_SIZE).
STREAM_WINDOW = 8 * 1024 * 1024
STREAM_PACKET = 256 * 1024


async def _read_to_eof(fh: asyncssh.SFTPClientFile, node: str, path: str) -> bytes:
    """Read an open SFTP file until the server says EOF, in chunks, at most READ_CAP bytes.

    asyncssh's ``read()`` without a size reads as many bytes as ``fstat`` reports
    (``SFTPClientFile.read``: ``size = (await self.stat()).size - offset``), and Linux reports
    size 0 for ``/proc/<pid>/cmdline``, ``/proc/<pid>/environ`` and other generated files: the
    whole command line of a running kvm read back as empty. Reading to EOF gets what the
    kernel generates; the cap keeps a runaway file (a growing log, ``/dev/zero``) from filling
    memory.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        chunk: bytes = await fh.read(READ_CHUNK, total)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > READ_CAP:
            raise TransportError(node, f"{path} is larger than {READ_CAP // (1024 * 1024)} MiB",
                                 "read it in parts with a command (head -c, tail -c) instead")


_LOST_HINT = "check the node's network and sshd; the engine can reconnect"


class SSHTransport(Transport):
    """SSH to real nodes (``mode="live"``) or to the rehearsal cluster's SSH server."""

    def __init__(self, *, mode: str = "live",
                 known_hosts: str | Path | None = None,
                 accept_new_host_key: AcceptHostKey | bool = False,
                 client_keys: list[str] | None = None,
                 config_paths: list[str | Path] | None = None,
                 connect_timeout: float = 15,
                 username: str | None = None,
                 hash_known_hosts: bool | None = None) -> None:
        self.mode = mode
        self._known_hosts_default = known_hosts is None
        self.known_hosts = Path(known_hosts) if known_hosts is not None else \
            Path("~/.ssh/known_hosts").expanduser()
        self.accept_new_host_key = accept_new_host_key
        self.client_keys = client_keys
        if config_paths is None:
            default = Path("~/.ssh/config").expanduser()
            config_paths = [default] if default.is_file() else []
        self.config_paths: list[str | Path] = list(config_paths)
        self.connect_timeout = connect_timeout
        self.username = username
        self.hash_known_hosts = (_config_says_hash(self.config_paths)
                                 if hash_known_hosts is None else hash_known_hosts)
        self._conns: dict[str, Conn] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- connections -------------------------------------------------------------------------
    async def connect(self, nodes: list[Node]) -> None:
        """Open all connections concurrently; raise the first failure (in inventory order)."""
        results = await asyncio.gather(*(self._connection(n) for n in nodes),
                                       return_exceptions=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res

    async def reconnect(self, node: Node) -> None:
        async with self._lock(node):
            await self._drop(node.name)
            self._conns[node.name] = self._new_conn(await self._open(node))

    async def close(self) -> None:
        for name in list(self._conns):
            await self._drop(name)

    def _lock(self, node: Node) -> asyncio.Lock:
        return self._locks.setdefault(node.name, asyncio.Lock())

    async def _connection(self, node: Node) -> Conn:
        async with self._lock(node):
            c = self._conns.get(node.name)
            # A connection that died while idle is replaced silently: no command was in flight,
            # so nothing is ambiguous. Loss during a command is reported (ConnectionLost).
            was_up = c is not None
            if c is not None and c.conn.is_closed():
                await self._drop(node.name)
                c = None
            if c is None:
                try:
                    c = self._conns[node.name] = self._new_conn(await self._open(node))
                except (HostKeyUnknown, HostKeyChanged):
                    raise
                except TransportError as exc:
                    if not was_up:
                        raise
                    raise ConnectionLost(node.name, f"the connection dropped and could not be "
                                         f"reopened: {exc.message}", exc.hint) from exc
            return c

    @staticmethod
    def _new_conn(conn: asyncssh.SSHClientConnection) -> Conn:
        c = Conn(conn)
        c.start_guard()
        return c

    async def _drop(self, name: str) -> None:
        c = self._conns.pop(name, None)
        if c is None:
            return
        if c.sftp is not None:
            c.sftp.exit()
        if c.guard is not None and not c.guard.done():
            c.guard.cancel()
        c.conn.close()  # the guardian's channel too: it kills whatever is still running
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await c.conn.wait_closed()

    def _ssh_config(self, node: Node) -> Any:
        """The user's ssh_config as it applies to ``node`` (None if it cannot be read)."""
        try:
            from asyncssh.config import SSHClientConfig

            return SSHClientConfig.load(None, self.config_paths, False, False, False,
                                        getpass.getuser(), (), node.host,
                                        node.port if node.port else ())
        except Exception:  # asyncssh reports config errors properly at connect time
            return None

    def _trust(self, node: Node) -> _HostKeyCheck:
        if node.host_key:
            try:
                return _HostKeyCheck([asyncssh.import_public_key(node.host_key)], "pinned")
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise TransportError(node.name, f"host_key in the inventory is not a valid "
                                     f"OpenSSH public key line: {exc}",
                                     "fix host_key for this node in the cluster inventory") \
                    from exc
        return _HostKeyCheck([], "known_hosts")

    def _known_hosts_files(self) -> list[str]:
        files = [str(self.known_hosts)]
        if self._known_hosts_default:
            files.append("/etc/ssh/ssh_known_hosts")
        return [f for f in files if os.access(f, os.R_OK)]

    def _lookup(self, check: _HostKeyCheck) -> Callable[[str, str, int | None], Any]:
        """A known_hosts matcher for asyncssh that also records which host name it asked for."""

        def match(host: str, addr: str, port: int | None) -> Any:
            check.host, check.port = host, port
            if check.source == "pinned":
                return (check.trusted, [], [])
            files = self._known_hosts_files()
            if not files:
                return ([], [], [])
            result = _read_known_hosts(files).match(host, addr, port)
            check.trusted = list(result[0])
            return result

        return match

    async def _open(self, node: Node) -> asyncssh.SSHClientConnection:
        check = self._trust(node)
        try:
            return await self._attempt(node, check)
        except asyncssh.HostKeyNotVerifiable as exc:
            key = check.presented
            if key is None:  # revoked key, bad certificate, ...
                raise TransportError(node.name, f"host key not accepted: {exc.reason}",
                                     "check the node's host key and your known_hosts") from exc
            if check.trusted:
                raise HostKeyChanged(node.name, [_fingerprint(k) for k in check.trusted],
                                     _fingerprint(key), _host_pattern(check.host, check.port),
                                     check.source) from exc
            fp = _fingerprint(key)
            accept = self.accept_new_host_key
            if not (accept if isinstance(accept, bool) else await accept(node.name, fp)):
                raise HostKeyUnknown(node.name, fp, _host_pattern(check.host, check.port)) \
                    from exc
            self._remember(node, check, key)
            # Connect again trusting exactly the accepted key: a different one now is a change.
            retry = _HostKeyCheck([key], "known_hosts", extra=[key])
            try:
                return await self._attempt(node, retry)
            except asyncssh.HostKeyNotVerifiable as exc2:
                raise HostKeyChanged(node.name, [fp], _fingerprint(retry.presented)
                                     if retry.presented else "(none)",
                                     _host_pattern(check.host, check.port)) from exc2

    def _remember(self, node: Node, check: _HostKeyCheck, key: asyncssh.SSHKey) -> None:
        """Append an accepted key to known_hosts in OpenSSH format, like ``ssh`` would."""
        cfg = self._ssh_config(node)
        alias = cfg.get("HostKeyAlias") if cfg is not None else None
        # OpenSSH records a HostKeyAlias verbatim, without the port.
        pattern = alias if alias and alias == check.host else \
            _host_pattern(check.host or node.host, check.port)
        if self.hash_known_hosts:
            pattern = _hashed(pattern)
        line = f"{pattern} {key.get_algorithm()} {base64.b64encode(key.public_data).decode()}\n"
        path = self.known_hosts
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            prefix = ""
            if path.exists() and path.stat().st_size:
                with open(path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    prefix = "" if fh.read(1) == b"\n" else "\n"
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(prefix + line)
        except OSError as exc:
            raise TransportError(node.name, f"cannot record the accepted host key in {path}: "
                                 f"{exc.strerror}", "fix the file's permissions") from exc

    async def _attempt(self, node: Node, check: _HostKeyCheck) -> asyncssh.SSHClientConnection:
        cfg = self._ssh_config(node)
        kwargs: dict[str, Any] = {
            "config": self.config_paths,
            "known_hosts": self._lookup(check),
            "client_factory": lambda: _Client(check),
            "connect_timeout": self.connect_timeout,
        }
        if node.port:
            kwargs["port"] = node.port
        user = node.user or (cfg.get("User") if cfg is not None else None) or self.username
        if user:
            kwargs["username"] = user
        if self.client_keys is not None:
            kwargs["client_keys"] = self.client_keys
        if cfg is None or cfg.get("Ciphers") is None:
            kwargs["encryption_algs"] = list(CIPHERS)
        if cfg is None or cfg.get("ServerAliveInterval") is None:
            # Notice a dead node during a long command instead of waiting for its timeout.
            kwargs["keepalive_interval"] = 15
            kwargs["keepalive_count_max"] = 3
        where = (f"{user + '@' if user else ''}{node.host}"
                 f"{':' + str(node.port) if node.port else ''}")
        try:
            async with asyncio.timeout(self.connect_timeout + 5):
                return await asyncssh.connect(node.host, **kwargs)
        except asyncssh.HostKeyNotVerifiable:
            raise
        except asyncssh.PermissionDenied as exc:
            raise TransportError(node.name, f"SSH login to {where} was refused: {exc.reason}",
                                 "check the user, that your key is in the node's authorized_keys "
                                 "and loaded (ssh-add -l), or IdentityFile in ~/.ssh/config") \
                from exc
        except asyncssh.DisconnectError as exc:
            raise TransportError(node.name, f"SSH to {where} failed: {exc.reason}",
                                 "try `ssh " + node.host + "` by hand to see why") from exc
        except TimeoutError as exc:
            raise TransportError(node.name, f"connecting to {where} timed out after "
                                 f"{self.connect_timeout:g}s",
                                 "check that the node is up and reachable (ping, firewall)") \
                from exc
        except OSError as exc:
            # asyncio replaces strerror with "Connect call failed (addr)", which hides the
            # errno's meaning (refused: the host answered, nothing listens on the port)
            why = os.strerror(exc.errno).lower() if exc.errno else exc.strerror or str(exc)
            raise TransportError(node.name, f"cannot connect to {where}: {why}",
                                 "check the host name/address, that the node is up and that "
                                 "sshd listens on that port") from exc
        except (asyncssh.Error, ValueError) as exc:
            raise TransportError(node.name, f"SSH to {where} failed: {exc}",
                                 "check ~/.ssh/config and your keys") from exc

    # -- commands ----------------------------------------------------------------------------
    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        return await self._exec(node, command, timeout, on_output)

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink: ByteSink) -> tuple[CommandResult, str]:
        err: list[str] = []
        result = await self._exec(node, command, idle_timeout,
                                  lambda _name, text: err.append(text), raw=sink, idle=True)
        return result, "".join(err)

    async def _exec(self, node: Node, command: str, timeout: float, on_output: OutputCallback,
                    *, raw: ByteSink | None = None, idle: bool = False) -> CommandResult:
        """Run ``command`` marked; with ``idle``, ``timeout`` counts from the last output."""
        c = await self._connection(node)
        token, sent = c.wrap(command)
        start = time.monotonic()
        session: _Session | None = None
        chan: asyncssh.SSHClientChannel[bytes] | None = None
        deadline: asyncio.Timeout | None = None

        def progress() -> None:
            if deadline is not None:
                push_out(deadline, timeout)

        def factory() -> _Session:
            nonlocal session
            session = _Session(on_output, raw, progress if idle else None)
            return session

        # Shielded: if we are cancelled while the channel opens, the command may already run on
        # the node, so the opener must still be finished and told to stop (see _abandon).
        big = raw is not None  # a raw stream (an archive): a wider window, bigger packets
        opener = asyncio.ensure_future(c.conn.create_session(
            factory, sent, encoding=None,
            window=STREAM_WINDOW if big else 2 * 1024 * 1024,
            max_pktsize=STREAM_PACKET if big else 32768))
        try:
            async with asyncio.timeout(timeout) as deadline:
                try:
                    chan, _ = await asyncio.shield(opener)
                except (asyncssh.ChannelOpenError, asyncssh.DisconnectError, OSError) as exc:
                    if c.conn.is_closed() or isinstance(exc, asyncssh.DisconnectError):
                        raise ConnectionLost(node.name, f"connection lost before the command "
                                             f"started: {_reason(exc)}", _LOST_HINT) from exc
                    raise TransportError(node.name, f"the node refused a new SSH session: "
                                         f"{_reason(exc)}",
                                         "check MaxSessions in the node's sshd_config") from exc
                assert session is not None
                await asyncio.shield(session.done)
        except TimeoutError:
            if chan is not None and session is not None:
                await self._stop(c, token, chan, session)
            else:
                _abandon(c, token, opener)
            return CommandResult(None, time.monotonic() - start, timed_out=True)
        except asyncio.CancelledError:
            if chan is None or session is None:
                _abandon(c, token, opener)
            else:
                # Shielded so a second cancel cannot leave the command running on the node.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(self._stop(c, token, chan, session))
            raise
        duration = time.monotonic() - start
        if session.callback_error is not None:
            raise session.callback_error
        if session.exit_status is not None:
            return CommandResult(session.exit_status, duration)
        if session.exit_signal is not None:
            return CommandResult(None, duration, error=f"the remote shell was killed by signal "
                                 f"{session.exit_signal}")
        why = _reason(session.lost) if session.lost else "the channel closed without an exit status"
        raise ConnectionLost(node.name, f"connection lost while running a command ({why}); "
                             "it may or may not have completed on the node", _LOST_HINT)

    @staticmethod
    async def _stop(c: Conn, token: str, chan: asyncssh.SSHClientChannel[bytes],
                    session: _Session) -> None:
        """Stop the command: sshd TERMs its group now, the guardian makes sure (KILL after 3 s,
        programs that ignore TERM); then close the channel."""
        with contextlib.suppress(Exception):
            chan.send_signal("TERM")
        await c.stop(token)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await asyncio.shield(session.done)
        chan.close()

    # -- files -------------------------------------------------------------------------------
    async def _sftp(self, node: Node) -> asyncssh.SFTPClient:
        c = await self._connection(node)
        if c.sftp is None:
            c.sftp = await c.conn.start_sftp_client()
        return c.sftp

    def _forget_sftp(self, node: Node) -> None:
        """Drop an SFTP session that timed out: its server may be stuck on a hung file system."""
        c = self._conns.get(node.name)
        if c is not None and c.sftp is not None:
            c.sftp.exit()
            c.sftp = None

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                sftp = await self._sftp(node)
                async with sftp.open(path, "rb") as fh:
                    return await _read_to_eof(fh, node.name, path)
        except TimeoutError as exc:
            self._forget_sftp(node)
            raise TransportError(node.name, f"reading {path} timed out after {timeout:g}s",
                                 "the file system may hang (for /etc/pve: is pmxcfs/"
                                 "pve-cluster running and quorate?)") from exc
        except (asyncssh.Error, OSError) as exc:
            raise self._file_error(node, exc, "read", path,
                                   "check the path and permissions on the node") from exc

    async def write_file(self, node: Node, path: str, data: bytes, *, mode: int | None = None,
                         timeout: float) -> None:
        directory, name = posixpath.split(path)
        tmp = posixpath.join(directory, f".{name}.pverunbook-{secrets.token_hex(4)}.tmp")
        sftp: asyncssh.SFTPClient | None = None
        try:
            async with asyncio.timeout(timeout):
                sftp = await self._sftp(node)
                keep: asyncssh.SFTPAttrs | None = None
                if mode is None:
                    with contextlib.suppress(asyncssh.SFTPError):
                        keep = await sftp.stat(path)
                # Never wider than the result while the data is written: the exact mode is
                # applied below (the server's umask may narrow the create mode).
                attrs = asyncssh.SFTPAttrs(permissions=mode) if mode is not None else \
                    asyncssh.SFTPAttrs(permissions=0o600) if keep is not None else \
                    asyncssh.SFTPAttrs()
                async with sftp.open(tmp, "wb", attrs) as fh:
                    await fh.write(data)
                if mode is not None:
                    await sftp.chmod(tmp, mode)
                elif keep is not None and keep.permissions is not None:
                    # Replacing a file must not change its mode (or owner, where allowed).
                    with contextlib.suppress(asyncssh.SFTPError):
                        await sftp.chmod(tmp, keep.permissions & 0o7777)
                    if keep.uid is not None and keep.gid is not None:
                        with contextlib.suppress(asyncssh.SFTPError):
                            await sftp.chown(tmp, keep.uid, keep.gid)
                try:
                    await sftp.posix_rename(tmp, path)
                except asyncssh.SFTPOpUnsupported:
                    await sftp.rename(tmp, path)
        except TimeoutError as exc:
            self._forget_sftp(node)
            raise TransportError(node.name, f"writing {path} timed out after {timeout:g}s "
                                 f"(a temporary {tmp} may remain)",
                                 "the file system may hang (for /etc/pve: is pmxcfs/"
                                 "pve-cluster running and quorate?)") from exc
        except (asyncssh.Error, OSError) as exc:
            err = self._file_error(node, exc, "write", path, "check that the directory exists, "
                                   "permissions and free space on the node")
            if sftp is not None and not isinstance(err, ConnectionLost):
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(min(timeout, 5)):
                        await sftp.remove(tmp)
            raise err from exc

    def _file_error(self, node: Node, exc: BaseException, verb: str, path: str,
                    hint: str) -> TransportError:
        """Tell a dropped connection apart from a file problem or a missing SFTP server."""
        c = self._conns.get(node.name)
        if isinstance(exc, asyncssh.SFTPConnectionLost | asyncssh.DisconnectError) \
                or c is None or c.conn.is_closed():
            self._forget_sftp(node)
            return ConnectionLost(node.name, f"connection lost while trying to {verb} {path}: "
                                  f"{_reason(exc)}", _LOST_HINT)
        if isinstance(exc, asyncssh.SFTPError):
            return TransportError(node.name, f"cannot {verb} {path}: {exc.reason}", hint)
        self._forget_sftp(node)
        return TransportError(node.name, f"cannot {verb} {path}: SFTP is not available "
                              f"({_reason(exc)})",
                              "enable the sftp Subsystem in the node's sshd_config")


def _abandon(c: Conn, token: str, opener: asyncio.Future[Any]) -> None:
    """Stop a command whose channel was still opening when we gave up on it."""

    def done(f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return
        chan = f.result()[0]
        with contextlib.suppress(Exception):
            chan.send_signal("TERM")
        asyncio.ensure_future(c.stop(token))
        with contextlib.suppress(Exception):
            chan.close()

    if opener.done():
        done(opener)
    else:
        opener.add_done_callback(done)


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", "") or exc or type(exc).__name__)
