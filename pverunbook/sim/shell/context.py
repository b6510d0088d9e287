"""What an emulated program gets and how it is registered: :class:`Ctx`, :func:`command`.

A program is ``async def fn(ctx: Ctx) -> int`` registered under its names with
``@command("name", ...)``; it reads ``ctx.argv``/``ctx.stdin``, writes ``ctx.stdout``/
``ctx.stderr`` and returns its exit status, or raises :class:`UsageError` for a message and a
status. :class:`ExitShell` ends the shell (``exit``, ``set -e``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pverunbook.sim.shell.streams import Input, Output

if TYPE_CHECKING:
    from pverunbook.sim.fs import NodeFS
    from pverunbook.sim.node import SimNode
    from pverunbook.sim.shell.executor import Shell
    from pverunbook.sim.world import World


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopControl(ExitShell):
    """``break`` / ``continue``: unwinds to the loop ``levels`` loops out. Where no loop of
    this shell catches it (a subshell, a command substitution) it ends that subshell, as an
    ``exit 0`` would."""

    def __init__(self, kind: str, levels: int) -> None:
        super().__init__(0)
        self.kind = kind
        self.levels = levels


class UsageError(Exception):
    """Raised by commands to print ``msg`` on stderr and exit with ``status``."""

    def __init__(self, msg: str, status: int = 1) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status


@dataclass
class Ctx:
    sh: Shell
    argv: list[str]
    stdin: Input
    stdout: Output
    stderr: Output
    env: dict[str, str] = field(default_factory=dict)

    @property
    def node(self) -> SimNode:
        return self.sh.node

    @property
    def world(self) -> World:
        return self.sh.node.world

    @property
    def fs(self) -> NodeFS:
        return self.sh.node.fs

    @property
    def cwd(self) -> str:
        return self.sh.cwd

    @property
    def name(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1]

    def abspath(self, path: str) -> str:
        return self.fs.abspath(path, self.sh.cwd)

    async def out(self, text: str | bytes) -> None:
        await self.stdout.write(text.encode() if isinstance(text, str) else text)

    async def err(self, text: str) -> None:
        await self.stderr.write(text.encode())

    async def sleep(self, sim_seconds: float) -> None:
        await self.world.clock.sleep(sim_seconds)

    async def read_input(self, files: list[str]) -> list[tuple[str, bytes | None]]:
        """Contents of ``files`` (or stdin for none / ``-``); None plus an error message printed
        for files that cannot be read, like coreutils."""
        if not files:
            return [("-", await self.stdin.read_all())]
        out: list[tuple[str, bytes | None]] = []
        for f in files:
            if f == "-":
                out.append((f, await self.stdin.read_all()))
                continue
            try:
                out.append((f, self.fs.read_bytes(f, self.cwd)))
            except OSError as exc:
                await self.err(f"{self.name}: {f}: {exc.strerror}\n")
                out.append((f, None))
        return out


CommandFn = Callable[[Ctx], Awaitable[int]]
REGISTRY: dict[str, CommandFn] = {}


def command(*names: str) -> Callable[[CommandFn], CommandFn]:
    def deco(fn: CommandFn) -> CommandFn:
        for n in names:
            REGISTRY[n] = fn
        return fn

    return deco


BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class FileOutput(Output):
    """A redirection target: regular files are written as output arrives; /etc/pve files are
    committed on close (pmxcfs would block each write; the effect is the same)."""

    def __init__(self, fs: NodeFS, resolved: str, append: bool, pve: bool) -> None:
        self.fs = fs
        self.path = resolved
        self.append = append
        self.pve = pve
        self.buf = bytearray()

    async def write(self, data: bytes) -> None:
        if self.pve:
            self.buf += data
        elif self.path != "/dev/null":
            with open(self.fs.node.root / self.path.lstrip("/"), "ab") as fh:  # noqa: ASYNC230
                fh.write(data)

    async def close(self) -> None:
        if self.pve:
            await self.fs.write_bytes(self.path, bytes(self.buf), append=self.append)
