"""The interactive login on a simulated node (``ssh node`` with no command): a prompt, a line,
the line run in the node's shell, and again.

Input is read the way a real node's pty and bash read it: nothing typed is lost. While a
command runs, what is typed is kept (and echoed at once, as the tty echoes it in canonical
mode) and read at the prompts that follow, in order, echoed again as readline does: a pasted
two-line fix runs both lines, and a line typed during a slow command (or during ``clear``) runs
after it. Ctrl+C stops the command and discards what was typed ahead of it, as a tty does
(termios(3): ISIG without NOFLSH flushes the input queue). Split from :mod:`server`, which
serves the channels.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import asyncssh

from pverunbook.sim.line_edit import ENTER, EOF_OR_DELETE, INTERRUPT, LineEditor, split_keys
from pverunbook.sim.shell.executor import Shell
from pverunbook.sim.shell.parser import needs_more
from pverunbook.sim.shell.streams import BytesInput, CallbackOutput

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode

#: What the channel hands over at a time (asyncssh's default window is far larger).
_CHUNK = 4096
#: Events on the channel that are no input: a resized window, a break.
_NOT_INPUT = (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged)


class PlainLines:
    """Lines from a channel without a pty (``ssh -T node``, a script on stdin): a line ends at
    LF; nothing is echoed or edited. What arrives while a command runs waits in ``pending``."""

    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.process = process
        self.pending = b""
        #: The client sent EOF: no more input will come (what is pending is still read).
        self.eof = False

    async def _more(self) -> bytes:
        """The next bytes from the channel (b"" at EOF), past resizes and breaks. Safe to
        cancel: asyncssh takes bytes off its buffer only when it returns them."""
        while True:
            try:
                data = await self.process.stdin.read(_CHUNK)
            except _NOT_INPUT:
                continue
            if not data:
                self.eof = True
            return data

    async def readline(self) -> bytes:
        """The next line with its LF; the last one without it at EOF; b"" after that."""
        while b"\n" not in self.pending and not self.eof:
            self.pending += await self._more()
        line, lf, self.pending = self.pending.partition(b"\n")
        return line + lf

    async def buffer(self) -> None:
        """Wait for input while a command runs and keep it for the prompts after it."""
        self.pending += self._typed(await self._more())

    def _typed(self, data: bytes) -> bytes:
        return data


class TtyLines(PlainLines):
    """Lines typed on a terminal (``ssh`` with a pty). The channel is binary, so asyncssh's
    line editor is off; this is the pty's line discipline and bash's readline in one, as far
    as a person at the prompt needs it (termios(3): ICANON, ECHO, ICRNL, ISIG):

    - at the prompt (:meth:`readline`): each character is echoed as it is read, a line ends
      on Enter (CR), Ctrl+C is SIGINT and Ctrl+D on an empty line ends the input; what
      follows Enter waits, unread and unechoed, for the next prompt; the line is edited and
      the history recalled as readline does (:mod:`pverunbook.sim.line_edit`);
    - while a command runs (:meth:`buffer`): what is typed is echoed as the tty echoes it and
      kept for the prompts that follow; Ctrl+C discards it (the tty flushes its input queue)
      and is SIGINT.
    """

    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        super().__init__(process)
        #: Characters echoed on the current line while a command runs (what Backspace erases).
        self.column = 0
        #: The prompt's line editor; its history lasts as long as the login.
        self.editor = LineEditor()

    async def readline(self) -> bytes:
        keys: list[tuple[str, bytes]] = []
        while True:
            if not keys:
                keys, tail = split_keys(self.pending)
                if not keys:  # nothing, or half a key (an escape sequence split over reads)
                    if self.eof:
                        self.pending = b""
                        return self.editor.enter()
                    self.pending += await self._more()
                    continue
                self.pending = tail
            kind, raw = keys.pop(0)
            if kind in (ENTER, INTERRUPT) or (kind == EOF_OR_DELETE and not self.editor.line):
                if kind == ENTER and raw == b"\r" and keys and keys[0] == (ENTER, b"\n"):
                    keys.pop(0)
                # what follows waits, unread and unechoed, for the next prompt
                self.pending = b"".join(r for _, r in keys) + self.pending
                if kind == INTERRUPT:
                    self.editor.reset()
                    raise asyncssh.SignalReceived("INT")
                if kind == EOF_OR_DELETE:
                    return b""
                self.process.stdout.write(b"\r\n")
                return self.editor.enter() + b"\n"
            echo = self.editor.key(kind, raw)
            if echo:
                self.process.stdout.write(echo)

    def _typed(self, data: bytes) -> bytes:
        """Echo ``data`` typed while a command runs, as the tty does; what to keep of it."""
        echo = bytearray()
        for i, c in enumerate(data):
            if c == 0x03:  # SIGINT: the tty flushes what it holds; what follows is new
                self.process.stdout.write(bytes(echo))
                self.pending, self.column = b"", 0
                raise _Interrupted(data[i + 1:])
            if c in (0x0D, 0x0A):
                echo += b"\r\n"
                self.column = 0
            elif c in (0x7F, 0x08):
                if self.column:
                    echo += b"\b \b"
                    self.column -= 1
            elif c >= 0x20 and c != 0x7F:
                echo.append(c)
                self.column += 1
        self.process.stdout.write(bytes(echo))
        return data

    async def buffer(self) -> None:
        try:
            await super().buffer()
        except _Interrupted as exc:
            self.pending = exc.rest
            raise asyncssh.SignalReceived("INT") from None


class _Interrupted(Exception):
    """Ctrl+C typed while a command ran; ``rest`` was typed after it."""

    def __init__(self, rest: bytes) -> None:
        super().__init__("interrupted")
        self.rest = rest


async def _wait(run: asyncio.Future[int], lines: PlainLines) -> str:
    """Wait for the command ``run`` while keeping what is typed meanwhile (``lines.buffer``).
    "done", "interrupted" (SIGINT: the command is cancelled) or "gone" (the channel closed:
    the command is cancelled)."""
    watcher: asyncio.Future[None] | None = None
    try:
        while True:
            if watcher is not None and watcher.done():
                done, watcher = watcher, None
                try:
                    done.result()
                except asyncssh.SignalReceived:  # also just as the command ended, as in bash
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                    return "interrupted"
                except Exception:  # noqa: BLE001 - connection closed
                    run.cancel()
                    return "gone"
            if run.done():
                return "done"
            if watcher is None and not lines.eof:
                watcher = asyncio.ensure_future(lines.buffer())
            waits: set[asyncio.Future[Any]] = {run} if watcher is None else {run, watcher}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher


async def interactive(process: asyncssh.SSHServerProcess[bytes], node: SimNode) -> None:
    """Serve an interactive login on ``node`` until ``exit``, EOF or the channel's end."""
    shell = Shell(node)
    shell.tty = "pts/0"
    crlf = process.get_terminal_type() is not None
    if crlf:  # sshd passes the client's terminal type on (`clear` needs it)
        shell.vars["TERM"] = str(process.get_terminal_type())
        shell.exported.add("TERM")

    def conv(data: bytes) -> bytes:
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if crlf else data

    async def out(data: bytes) -> None:
        process.stdout.write(conv(data))

    async def err(data: bytes) -> None:
        process.stderr.write(conv(data))

    motd = (f"\nLinux {node.name} 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 x86_64\n\n"
            "This is a REHEARSAL node simulated by pverunbook: nothing you do here touches a "
            "real cluster.\n\n")
    process.stdout.write(conv(motd.encode()))
    lines = TtyLines(process) if crlf else PlainLines(process)
    interrupt = b"^C\r\n" if crlf else b"\n"

    while True:
        cwd = "~" if shell.cwd == "/root" else shell.cwd
        process.stdout.write(f"root@{node.name}:{cwd}# ".encode())
        try:
            line = await lines.readline()
        except asyncssh.SignalReceived:
            process.stdout.write(interrupt)
            continue
        except Exception:  # noqa: BLE001 - connection closed
            return
        if not line:
            process.exit(shell.status)
            return
        text = line.decode("utf-8", "replace").strip("\r\n")
        if not text.strip():
            continue
        while needs_more(text):  # PS2: an open here-document, quote, `if`, trailing `&&`
            process.stdout.write(b"> ")
            try:
                more = await lines.readline()
            except asyncssh.SignalReceived:
                process.stdout.write(interrupt)
                text = ""
                break
            except Exception:  # noqa: BLE001 - connection closed
                return
            if not more:
                break  # EOF: run what there is, and sh says what is missing
            text += "\n" + more.decode("utf-8", "replace").strip("\r\n")
        if not text.strip():
            continue
        run = asyncio.ensure_future(shell.run_script(text, BytesInput(), CallbackOutput(out),
                                                     CallbackOutput(err)))
        how = await _wait(run, lines)
        if how == "gone":
            return
        if how == "interrupted":
            shell.status = 130
            process.stdout.write(interrupt)
        elif not run.cancelled():
            with contextlib.suppress(BaseException):
                run.result()
        if shell.exited:  # `exit` anywhere on the line (`cd; exit`), as sh ends there
            process.exit(shell.status)
            return
