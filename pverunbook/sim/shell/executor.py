"""Walks the parsed AST: control flow, pipelines, simple commands and redirections.

Behaves like dash where runbooks can tell the difference (``sh: 1: NAME: not found`` and exit
127, ``cannot create``/``cannot open`` and exit 2, ``$?``, ``&&``/``||``, subshell copies for
pipeline members and ``$(...)``). Word expansion is :mod:`.expansion`, the builtins
:mod:`.builtins`, what a program gets :mod:`.context`; emulated programs live in
:mod:`pverunbook.sim.commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import posixpath
from typing import TYPE_CHECKING, Any

from pverunbook.sim.shell import parser as P
from pverunbook.sim.shell.streams import (
    BytesInput,
    Input,
    NullOutput,
    Output,
    Pipe,
)

if TYPE_CHECKING:
    from pverunbook.sim.world import SimNode


from pverunbook.sim.shell.builtins import BUILTINS, EXITS_ON_ERROR, Builtins
from pverunbook.sim.shell.context import (
    BIN_DIRS,
    REGISTRY,
    CommandFn,
    Ctx,
    ExitShell,
    FileOutput,
    LoopControl,
    UsageError,
    command,
)
from pverunbook.sim.shell.expansion import Expansion

#: What emulated programs import from here (``from ...executor import Ctx, UsageError,
#: command``) keeps working.
__all__ = ["BIN_DIRS", "BUILTINS", "REGISTRY", "CommandFn", "Ctx", "ExitShell", "FileOutput",
           "Shell", "UsageError", "command"]


class Shell(Expansion, Builtins):
    """One shell process on a node (an SSH exec request or an interactive session)."""

    def __init__(self, node: SimNode, cwd: str = "/root") -> None:
        self.node = node
        self.cwd = cwd
        self.vars: dict[str, str] = {
            "HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "PWD": cwd, "IFS": " \t\n",
        }
        self.exported = {"HOME", "USER", "LOGNAME", "SHELL", "PATH", "LANG", "PWD"}
        self.positional: list[str] = []
        self.status = 0
        self.pid = node.alloc_pid()
        self.errexit = False
        self.pipefail = False
        self.tty = "?"
        #: ``exit`` (or ``exec``) ran in this shell itself, not in a subshell: an interactive
        #: session ends after the line (``cd; exit`` as well as a bare ``exit``)
        self.exited = False
        self.loop_depth = 0

    def subshell(self) -> Shell:
        sub = Shell.__new__(Shell)
        sub.__dict__.update(self.__dict__)
        sub.vars = dict(self.vars)
        sub.exported = set(self.exported)
        sub.positional = list(self.positional)
        return sub

    # -- entry points ----------------------------------------------------------------------
    async def run_script(self, src: str, stdin: Input, stdout: Output, stderr: Output) -> int:
        """Run ``src`` as ``sh -c`` would; returns the exit status. One call is one command
        session of the world's clock (see :mod:`pverunbook.sim.clock`): when it ends, the
        world has caught up with the time the script waited."""
        world = self.node.world
        with world.clock.session():
            try:
                return await self._run_script(src, stdin, stdout, stderr)
            finally:
                world.tick()

    async def _run_script(self, src: str, stdin: Input, stdout: Output, stderr: Output) -> int:
        try:
            tree = P.parse(src)
        except P.ShellSyntaxError as exc:
            await stderr.write(f"sh: {exc}\n".encode())
            self.status = 2
            return 2
        depth, self.loop_depth = self.loop_depth, 0  # a script of its own: no loop around it
        try:
            return await self.exec_seq(tree, stdin, stdout, stderr)
        except ExitShell as e:
            self.status = e.status
            return e.status
        finally:
            self.loop_depth = depth

    async def run_argv(self, argv: list[str], stdin: Input, stdout: Output,
                       stderr: Output) -> int:
        """Run one command by argv (for ``timeout``, ``xargs``, ``sh -c`` helpers)."""
        return await self._invoke(argv, {}, stdin, stdout, stderr)

    # -- control flow ----------------------------------------------------------------------
    async def exec_seq(self, seq: P.Seq, i: Input, o: Output, e: Output) -> int:
        status = 0
        for item in seq.items:
            status = await self.exec_andor(item, i, o, e)
            if self.errexit and status != 0:
                raise ExitShell(status)
        return status

    async def exec_andor(self, node: P.AndOr, i: Input, o: Output, e: Output) -> int:
        status = await self.exec_pipeline(node.first, i, o, e)
        for op, pipe in node.rest:
            if (op == "&&" and status == 0) or (op == "||" and status != 0):
                status = await self.exec_pipeline(pipe, i, o, e)
        self.status = status
        return status

    async def exec_pipeline(self, pipe: P.Pipeline, i: Input, o: Output, e: Output) -> int:
        if len(pipe.cmds) == 1:
            status = await self.exec_command(pipe.cmds[0], i, o, e)
        else:
            pipes = [Pipe() for _ in pipe.cmds[:-1]]
            tasks: list[asyncio.Task[int]] = []
            for k, cmd in enumerate(pipe.cmds):
                cin: Input = i if k == 0 else pipes[k - 1]
                cout: Output = o if k == len(pipe.cmds) - 1 else pipes[k]
                sub = self.subshell()
                tasks.append(asyncio.ensure_future(self._member(sub, cmd, cin, cout, e, pipes,
                                                                k)))
            try:
                statuses = [0] * len(tasks)
                statuses[-1] = await tasks[-1]
                for p in pipes:
                    p.close_reader()
                await asyncio.sleep(0)
                for k, t in enumerate(tasks[:-1]):
                    if not t.done():
                        t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        statuses[k] = await t
                    if t.cancelled():
                        statuses[k] = 141
            except asyncio.CancelledError:
                for t in tasks:
                    t.cancel()
                raise
            status = statuses[-1]
            if self.pipefail:
                status = next((s for s in reversed(statuses) if s), 0)
        if pipe.negate:
            status = 0 if status else 1
        self.status = status
        return status

    async def _member(self, sub: Shell, cmd: P.Node, i: Input, o: Output, e: Output,
                      pipes: list[Pipe], k: int) -> int:
        try:
            return await sub.exec_command(cmd, i, o, e)
        except ExitShell as x:
            return x.status
        except BrokenPipeError:
            return 141
        finally:
            if k < len(pipes):
                await pipes[k].close()
            if k > 0:
                pipes[k - 1].close_reader()

    async def exec_command(self, node: P.Node, i: Input, o: Output, e: Output) -> int:
        self._stderr = e
        if isinstance(node, P.Simple):
            return await self.exec_simple(node, i, o, e)
        redirs: list[P.Redir] = getattr(node, "redirs", [])
        opened = await self._redirect(redirs, i, o, e)
        if opened is None:
            return 2
        i2, o2, e2, closers = opened
        try:
            return await self._exec_compound(node, i2, o2, e2)
        finally:
            await self._close(closers, e)

    async def _exec_compound(self, node: P.Node, i: Input, o: Output, e: Output) -> int:
        if isinstance(node, P.If):
            for cond, body in node.branches:
                if await self._cond(cond, i, o, e) == 0:
                    return await self.exec_seq(body, i, o, e)
            if node.orelse is not None:
                return await self.exec_seq(node.orelse, i, o, e)
            return 0
        if isinstance(node, P.For):
            words = self.positional if node.words is None else await self.expand_words(
                node.words)
            status = 0
            self.loop_depth += 1
            try:
                for w in words:
                    self.vars[node.var] = w
                    status, more = await self._loop_body(node.body, i, o, e)
                    if not more:
                        break
            finally:
                self.loop_depth -= 1
            return status
        if isinstance(node, P.While):
            status = 0
            self.loop_depth += 1
            try:
                for _ in range(100000):
                    c = await self._cond(node.cond, i, o, e)
                    if (c == 0) == node.until:
                        break
                    status, more = await self._loop_body(node.body, i, o, e)
                    if not more:
                        break
                    await asyncio.sleep(0)
            finally:
                self.loop_depth -= 1
            return status
        if isinstance(node, P.Case):
            word = await self.expand_single(node.word)
            for pats, body in node.items:
                for pw in pats:
                    pat = await self.expand_single(pw, pattern=True)
                    if fnmatch.fnmatchcase(word, pat):
                        return await self.exec_seq(body, i, o, e)
            return 0
        if isinstance(node, P.Group):
            if node.subshell:
                sub = self.subshell()
                try:
                    return await sub.exec_seq(node.body, i, o, e)
                except ExitShell as x:
                    return x.status
            return await self.exec_seq(node.body, i, o, e)
        if isinstance(node, P.Seq):
            return await self.exec_seq(node, i, o, e)
        if isinstance(node, P.AndOr):
            return await self.exec_andor(node, i, o, e)
        if isinstance(node, P.Pipeline):
            return await self.exec_pipeline(node, i, o, e)
        raise TypeError(node)

    async def _loop_body(self, body: P.Seq, i: Input, o: Output, e: Output
                         ) -> tuple[int, bool]:
        """One pass of a loop's body: its status, and whether the loop goes on (False after
        ``break``; ``break N``/``continue N`` for an outer loop pass on to it)."""
        try:
            return await self.exec_seq(body, i, o, e), True
        except LoopControl as lc:
            if lc.levels > 1:
                lc.levels -= 1
                raise
            return 0, lc.kind == "continue"

    async def _cond(self, seq: P.Seq, i: Input, o: Output, e: Output) -> int:
        saved = self.errexit
        self.errexit = False
        try:
            return await self.exec_seq(seq, i, o, e)
        finally:
            self.errexit = saved

    # -- simple commands -------------------------------------------------------------------
    async def exec_simple(self, node: P.Simple, i: Input, o: Output, e: Output) -> int:
        self._subst_status = None
        try:
            argv = await self.expand_words(node.words)
            assigns = [(k, await self.expand_single(v)) for k, v in node.assigns]
        except UsageError as exc:
            await e.write(f"sh: {node.line}: {exc.msg}\n".encode())
            return 2
        opened = await self._redirect(node.redirs, i, o, e, line=node.line)
        if opened is None:
            return 2
        i2, o2, e2, closers = opened
        status = 0
        try:
            if not argv:
                for k, v in assigns:
                    self.vars[k] = v
                status = self._subst_status or 0
            else:
                status = await self._invoke(argv, dict(assigns), i2, o2, e2, line=node.line)
        finally:
            if await self._close(closers, e) and status == 0:
                status = 1
        self.status = status
        return status

    async def _invoke(self, argv: list[str], assigns: dict[str, str], i: Input, o: Output,
                      e: Output, line: int = 1, special: bool = True) -> int:
        """Run one command. ``special``: False under ``command``, where a special builtin's
        error does not end the shell (:data:`EXITS_ON_ERROR`)."""
        name = argv[0]
        builtin = getattr(self, "b_" + name.replace("-", "_").replace(".", "dot").replace(
            ":", "colon").replace("[", "bracket"), None) if name in BUILTINS else None
        if builtin is not None:
            for k, v in assigns.items():
                self.vars[k] = v
            try:
                return int(await builtin(argv, i, o, e))
            except UsageError as exc:
                await e.write(f"sh: {line}: {name}: {exc.msg}\n".encode())
                if special and name in EXITS_ON_ERROR:
                    raise ExitShell(exc.status) from None
                return exc.status
        fn = self._lookup(name)
        if fn is None:
            await e.write(f"sh: {line}: {name}: not found\n".encode())
            return 127
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        env.update(assigns)
        ctx = Ctx(self, argv, i, o, e, env)
        proc_pid = self.node.alloc_pid()
        from pverunbook.sim.node import Proc

        self.node.procs[proc_pid] = Proc(proc_pid, list(argv), self.tty, "S+",
                                         self.node.world.clock.now())
        try:
            self.node.world.tick()
            return int(await fn(ctx))
        except UsageError as exc:
            if exc.msg:
                await e.write((exc.msg.rstrip("\n") + "\n").encode())
            return exc.status
        except BrokenPipeError:
            return 141
        except OSError as exc:
            target = f": {exc.filename}" if exc.filename else ""
            await e.write(f"{ctx.name}{target}: {exc.strerror}\n".encode())
            return 1
        except (ExitShell, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - an emulation bug must not kill the session
            await e.write(f"{ctx.name}: rehearsal simulator error: {exc!r}\n".encode())
            return 70
        finally:
            self.node.procs.pop(proc_pid, None)
            # before the exit status reaches the client: an `ip route del` that said 0 is on
            # disk, whatever happens to this process next
            self.node.world.command_done()

    def _lookup(self, name: str) -> CommandFn | None:
        base = name.rsplit("/", 1)[1] if "/" in name else name
        if "/" in name and posixpath.dirname(name) not in BIN_DIRS:
            return None
        if self.node.role != "pve":
            from pverunbook.sim.commands import PVE_ONLY

            if base in PVE_ONLY:
                return None  # not installed on a plain Debian host (the QNetd host)
        return REGISTRY.get(base)

    def knows(self, name: str) -> bool:
        return name in BUILTINS or self._lookup(name) is not None

    # -- redirections ----------------------------------------------------------------------
    async def _redirect(self, redirs: list[P.Redir], i: Input, o: Output, e: Output,
                        line: int = 1) -> tuple[Input, Output, Output, list[Output]] | None:
        fds: dict[int, Any] = {0: i, 1: o, 2: e}
        closers: list[Output] = []
        fs = self.node.fs
        for r in redirs:
            try:
                if r.op == "<<":
                    body = await self.expand_single(r.heredoc or P.Word(), heredoc=True)
                    fds[r.fd] = BytesInput(body.encode())
                    continue
                target = await self.expand_single(r.target or P.Word())
                if r.op in (">&", "<&"):
                    if target == "-":
                        fds[r.fd] = NullOutput() if r.op == ">&" else BytesInput()
                    elif target.isdigit() and int(target) in fds:
                        fds[r.fd] = fds[int(target)]
                    else:
                        await e.write(f"sh: {line}: Syntax error: Bad fd number\n".encode())
                        return None
                    continue
                if r.op == "<":
                    fds[r.fd] = BytesInput(fs.read_bytes(target, self.cwd))
                    continue
                if r.op in (">", ">>", ">|", "<>"):
                    resolved = await fs.prepare_write(target, self.cwd)
                    pve = fs.pve_rel(resolved) is not None
                    append = r.op == ">>"
                    if not pve and resolved != "/dev/null":
                        host = fs.node.root / resolved.lstrip("/")
                        if not append or not host.exists():
                            host.write_bytes(b"")
                    out = FileOutput(fs, resolved, append, pve)
                    closers.append(out)
                    fds[r.fd] = out
            except OSError as exc:
                what = "open" if r.op == "<" else "create"
                name = exc.filename or ""
                msg = exc.strerror or str(exc)
                if r.op == "<" and exc.errno == 2:
                    msg = "No such file"
                await e.write(f"sh: {line}: cannot {what} {name}: {msg}\n".encode())
                await self._close(closers, e)
                return None
        return fds[0], fds[1], fds[2], closers

    async def _close(self, closers: list[Output], e: Output) -> bool:
        failed = False
        for c in closers:
            try:
                await c.close()
            except OSError as exc:
                await e.write(f"sh: 1: cannot create {exc.filename}: {exc.strerror}\n".encode())
                failed = True
        return failed
