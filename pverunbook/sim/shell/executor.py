"""Walks the parsed AST: expansion, redirections, pipelines, control flow, builtins.

Behaves like dash where runbooks can tell the difference (``sh: 1: NAME: not found`` and exit
127, ``cannot create``/``cannot open`` and exit 2, ``$?``, ``&&``/``||``, subshell copies for
pipeline members and ``$(...)``). Emulated programs live in :mod:`pverunbook.sim.commands`.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import fnmatch
import glob as globmod
import operator
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pverunbook.sim.shell import parser as P
from pverunbook.sim.shell.streams import (
    BufferOutput,
    BytesInput,
    Input,
    NullOutput,
    Output,
    Pipe,
)

if TYPE_CHECKING:
    from pverunbook.sim.fs import NodeFS
    from pverunbook.sim.world import SimNode, World


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


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


_ARITH_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Mod: operator.mod, ast.USub: operator.neg, ast.UAdd: operator.pos,
    ast.Lt: operator.lt, ast.Gt: operator.gt, ast.LtE: operator.le, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


def _arith(expr: str, lookup: Callable[[str], str]) -> int:
    import re

    def var(m: re.Match[str]) -> str:
        v = lookup(m.group(1) or m.group(2))
        return v if v.strip().lstrip("-").isdigit() else "0"

    text = re.sub(r"\$\{?([A-Za-z_]\w*)\}?|\b([A-Za-z_]\w*)\b", var, expr)
    text = text.replace("&&", " and ").replace("||", " or ")

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Div | ast.FloorDiv):
                if b == 0:
                    raise ZeroDivisionError
                q = abs(a) // abs(b)
                return q if (a >= 0) == (b >= 0) else -q
            return int(_ARITH_OPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return int(not ev(node.operand))
            return int(_ARITH_OPS[type(node.op)](ev(node.operand)))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return int(_ARITH_OPS[type(node.ops[0])](ev(node.left), ev(node.comparators[0])))
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return int(all(vals) if isinstance(node.op, ast.And) else any(vals))
        raise ValueError("bad arithmetic")

    return ev(ast.parse(text.strip() or "0", mode="eval"))


class Shell:
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
        try:
            return await self.exec_seq(tree, stdin, stdout, stderr)
        except ExitShell as e:
            self.status = e.status
            return e.status

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
            for w in words:
                self.vars[node.var] = w
                status = await self.exec_seq(node.body, i, o, e)
            return status
        if isinstance(node, P.While):
            status = 0
            for _ in range(100000):
                c = await self._cond(node.cond, i, o, e)
                if (c == 0) == node.until:
                    break
                status = await self.exec_seq(node.body, i, o, e)
                await asyncio.sleep(0)
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

    async def _cond(self, seq: P.Seq, i: Input, o: Output, e: Output) -> int:
        saved = self.errexit
        self.errexit = False
        try:
            return await self.exec_seq(seq, i, o, e)
        finally:
            self.errexit = saved

    # -- simple commands -------------------------------------------------------------------
    async def exec_simple(self, node: P.Simple, i: Input, o: Output, e: Output) -> int:
        self._subst_status: int | None = None
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
                      e: Output, line: int = 1) -> int:
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

    # -- expansion -------------------------------------------------------------------------
    def lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            return " ".join(self.positional)
        if name == "0":
            return "sh"
        if name.isdigit():
            k = int(name)
            return self.positional[k - 1] if k <= len(self.positional) else ""
        if name == "PWD":
            return self.cwd
        return self.vars.get(name, "")

    async def _param(self, part: P.Part) -> str:
        name = part.text
        val = self.lookup(name)
        is_set = name in self.vars or name in "?$#@*0" or (
            name.isdigit() and int(name) <= len(self.positional))
        op = part.op
        if op == "len":
            return str(len(val))
        if not op:
            return val
        arg = await self.expand_single(part.arg or P.Word()) if part.arg else ""
        if op in (":-", "-"):
            return val if (val if op == ":-" else is_set) else arg
        if op in (":=", "="):
            if not (val if op == ":=" else is_set):
                self.vars[name] = arg
                return arg
            return val
        if op in (":+", "+"):
            return arg if (val if op == ":+" else is_set) else ""
        if op in (":?", "?"):
            if not (val if op == ":?" else is_set):
                raise UsageError(f"{name}: {arg or 'parameter not set'}", 2)
            return val
        if op in ("#", "##"):
            rng = range(len(val) + 1) if op == "#" else range(len(val), -1, -1)
            for k in rng:
                if fnmatch.fnmatchcase(val[:k], arg):
                    return val[k:]
            return val
        if op in ("%", "%%"):
            rng = range(len(val), -1, -1) if op == "%" else range(len(val) + 1)
            for k in rng:
                if fnmatch.fnmatchcase(val[k:], arg):
                    return val[:k]
            return val
        return val

    async def _part_value(self, part: P.Part) -> str:
        if part.kind == "var":
            return await self._param(part)
        if part.kind == "cmd":
            buf = BufferOutput()
            sub = self.subshell()
            try:
                assert part.node is not None
                status = await sub.exec_command(part.node, BytesInput(), buf, self._stderr)
            except ExitShell as x:
                status = x.status
            self._subst_status = status
            self.status = status
            return buf.buf.decode("utf-8", "replace").rstrip("\n")
        if part.kind == "arith":
            try:
                return str(_arith(part.text, self.lookup))
            except ZeroDivisionError:
                raise UsageError("arithmetic expression: division by zero", 2) from None
            except (ValueError, SyntaxError, KeyError):
                raise UsageError(f'arithmetic expression: expecting primary: "{part.text}"',
                                 2) from None
        return part.text

    _stderr: Output = NullOutput()

    async def expand_words(self, words: list[P.Word]) -> list[str]:
        out: list[str] = []
        for w in words:
            out.extend(await self.expand_word(w))
        return out

    async def expand_word(self, word: P.Word, split: bool = True, globbing: bool = True) \
            -> list[str]:
        fields: list[list[tuple[str, bool]]] = [[]]
        keep = [False]
        ifs = self.vars.get("IFS", " \t\n")
        for idx, part in enumerate(word.parts):
            if part.kind == "lit":
                text = part.text
                if idx == 0 and not part.quoted and text.startswith("~") and (
                        len(text) == 1 or text[1] == "/"):
                    text = self.vars.get("HOME", "/root") + text[1:]
                fields[-1].append((text, part.quoted))
                keep[-1] = keep[-1] or part.quoted or bool(text)
                continue
            value = await self._part_value(part)
            if part.quoted or not split:
                fields[-1].append((value, True))
                keep[-1] = True
                continue
            pieces = value.split() if ifs == " \t\n" else [
                p for p in _split_ifs(value, ifs)]
            if not pieces:
                continue
            if value[:1] in ifs and fields[-1]:
                fields.append([])
                keep.append(False)
            for k, piece in enumerate(pieces):
                if k > 0:
                    fields.append([])
                    keep.append(False)
                fields[-1].append((piece, not globbing))
                keep[-1] = True
            if value[-1:] in ifs:
                fields.append([])
                keep.append(False)
        result: list[str] = []
        for segs, kept in zip(fields, keep, strict=True):
            if not kept:
                continue
            literal = "".join(t for t, _ in segs)
            magic = globbing and any(not q and any(c in t for c in "*?[") for t, q in segs)
            if magic:
                pattern = "".join(t if not q else globmod.escape(t) for t, q in segs)
                matches = self.node.fs.glob(pattern, self.cwd)
                if matches:
                    result.extend(matches)
                    continue
            result.append(literal)
        return result

    async def expand_single(self, word: P.Word, heredoc: bool = False,
                            pattern: bool = False) -> str:
        parts: list[str] = []
        for idx, part in enumerate(word.parts):
            if part.kind == "lit":
                text = part.text
                if idx == 0 and not part.quoted and not heredoc and text.startswith("~") and (
                        len(text) == 1 or text[1] == "/"):
                    text = self.vars.get("HOME", "/root") + text[1:]
                parts.append(globmod.escape(text) if pattern and part.quoted else text)
            else:
                parts.append(await self._part_value(part))
        return "".join(parts)

    # -- builtins --------------------------------------------------------------------------
    async def b_cd(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        target = argv[1] if len(argv) > 1 else self.vars.get("HOME", "/root")
        if target == "-":
            target = self.vars.get("OLDPWD", self.cwd)
        path = self.node.fs.abspath(target, self.cwd)
        try:
            if not self.node.fs.is_dir(path):
                self.node.fs.stat(path)
                raise UsageError(f"can't cd to {target}", 2)
        except OSError as exc:
            raise UsageError(f"can't cd to {target}", 2) from exc
        self.vars["OLDPWD"] = self.cwd
        self.cwd = path
        return 0

    async def b_pwd(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        await o.write((self.cwd + "\n").encode())
        return 0

    async def b_exit(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        raise ExitShell(int(argv[1]) & 255 if len(argv) > 1 and argv[1].isdigit()
                        else self.status)

    async def b_export(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        for a in argv[1:]:
            if a.startswith("-"):
                continue
            k, sep, v = a.partition("=")
            if sep:
                self.vars[k] = v
            self.exported.add(k)
        return 0

    async def b_unset(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        for a in argv[1:]:
            if not a.startswith("-"):
                self.vars.pop(a, None)
        return 0

    async def b_set(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        args = argv[1:]
        k = 0
        while k < len(args):
            a = args[k]
            if a == "--":
                self.positional = args[k + 1:]
                return 0
            if a in ("-o", "+o") and k + 1 < len(args):
                if args[k + 1] == "pipefail":
                    self.pipefail = a == "-o"
                elif args[k + 1] == "errexit":
                    self.errexit = a == "-o"
                k += 2
                continue
            if a[:1] in "-+" and len(a) > 1:
                if "e" in a:
                    self.errexit = a[0] == "-"
                k += 1
                continue
            self.positional = args[k:]
            return 0
        if not args:
            for key in sorted(self.vars):
                await o.write(f"{key}='{self.vars[key]}'\n".encode())
        return 0

    async def b_shift(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
        self.positional = self.positional[n:]
        return 0

    async def b_read(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
        line = await i.readline()
        if not line:
            return 1
        text = line.decode("utf-8", "replace").rstrip("\n")
        vals = text.split(None, len(names) - 1)
        for k, n in enumerate(names):
            self.vars[n] = vals[k] if k < len(vals) else ""
        return 0

    async def b_colon(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return 0

    async def b_eval(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return await self.run_script(" ".join(argv[1:]), i, o, e)

    async def b_exec(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        if len(argv) == 1:
            return 0
        raise ExitShell(await self._invoke(argv[1:], {}, i, o, e))

    async def b_dot(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        if len(argv) < 2:
            return 0
        try:
            src = self.node.fs.read_bytes(argv[1], self.cwd).decode("utf-8", "replace")
        except OSError as exc:
            raise UsageError(f"{argv[1]}: {exc.strerror}", 2) from exc
        return await self.run_script(src, i, o, e)

    b_source = b_dot

    async def b_command(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        args = argv[1:]
        if args and args[0] in ("-v", "-V"):
            status = 0
            for name in args[1:]:
                if name in BUILTINS:
                    await o.write((name + "\n").encode())
                elif self._lookup(name):
                    await o.write((_bin_path(name) + "\n").encode())
                else:
                    status = 127
            return status
        if not args:
            return 0
        return await self._invoke(args, {}, i, o, e)

    async def b_type(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        status = 0
        for name in argv[1:]:
            if name in BUILTINS:
                await o.write(f"{name} is a shell builtin\n".encode())
            elif self._lookup(name):
                await o.write(f"{name} is {_bin_path(name)}\n".encode())
            else:
                await o.write(f"{name}: not found\n".encode())
                status = 127
        return status

    async def b_wait(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return 0

    async def b_umask(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        if len(argv) == 1:
            await o.write(b"0022\n")
        return 0

    async def b_trap(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return 0

    async def b_local(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return await self.b_export(["local"] + argv[1:], i, o, e)

    async def b_return(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        raise ExitShell(int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else self.status)


BUILTINS = {"cd", "pwd", "exit", "export", "unset", "set", "shift", "read", ":", "eval", "exec",
            ".", "source", "command", "type", "wait", "umask", "trap", "local", "return"}


def _bin_path(name: str) -> str:
    from pverunbook.sim.commands import BIN_LOCATION

    return f"{BIN_LOCATION.get(name, '/usr/bin')}/{name}"


def _split_ifs(value: str, ifs: str) -> list[str]:
    out: list[str] = []
    cur = ""
    for c in value:
        if c in ifs:
            if cur or c not in " \t\n":
                out.append(cur)
            cur = ""
        else:
            cur += c
    if cur:
        out.append(cur)
    return out
