"""The emulated sh's builtins: cd, pwd, exit, export, unset, set, shift, read, :, eval, exec,
., source, command, type, wait, umask, trap, local, return, break, continue — dash's behaviour
and messages.

:class:`Builtins` is one part of :class:`~pverunbook.sim.shell.executor.Shell`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pverunbook.sim.shell.context import CommandFn, ExitShell, LoopControl, UsageError
from pverunbook.sim.shell.streams import Input, Output

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode


BUILTINS = {"cd", "pwd", "exit", "export", "unset", "set", "shift", "read", ":", "eval", "exec",
            ".", "source", "command", "type", "wait", "umask", "trap", "local", "return",
            "break", "continue"}


#: Special builtins whose error ends a non-interactive shell, as in dash (eval.c
#: ``evalcommand``: an error of a special builtin is not caught; POSIX 2.8.1, "Special
#: built-in utility error": the shell shall exit). ``command NAME`` takes the specialness
#: away: the error then only sets $? (2). Only these are modelled so far.
EXITS_ON_ERROR = {"break", "continue"}
#: dash's ``number``: strtoimax in base 10 (C-locale blanks around it, one sign), then
#: rejected when negative or above INT_MAX.
_NUMBER = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*")
_INT_MAX = 2**31 - 1


def bin_path(name: str) -> str:
    from pverunbook.sim.commands import BIN_LOCATION

    return f"{BIN_LOCATION.get(name, '/usr/bin')}/{name}"


class Builtins:
    """The builtins, as ``b_<name>`` methods (``:`` is ``b_colon``, ``.`` is ``b_dot``)."""

    node: SimNode
    cwd: str
    vars: dict[str, str]
    exported: set[str]
    positional: list[str]
    status: int
    errexit: bool
    pipefail: bool
    exited: bool
    #: how many loops of this script run the command now (``break``/``continue`` outside
    #: any loop do nothing, as in dash)
    loop_depth: int

    async def run_script(self, src: str, stdin: Input, stdout: Output, stderr: Output) -> int:
        raise NotImplementedError

    async def _invoke(self, argv: list[str], assigns: dict[str, str], i: Input, o: Output,
                      e: Output, line: int = 1, special: bool = True) -> int:
        raise NotImplementedError

    def _lookup(self, name: str) -> CommandFn | None:
        raise NotImplementedError

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
        self.exited = True  # a subshell's copy sets its own flag, not this shell's
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
        status = await self._invoke(argv[1:], {}, i, o, e)
        self.exited = True  # the shell was replaced by the command: nothing runs after it
        raise ExitShell(status)

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
                    await o.write((bin_path(name) + "\n").encode())
                else:
                    status = 127
            return status
        if not args:
            return 0
        return await self._invoke(args, {}, i, o, e, special=False)

    async def b_type(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        status = 0
        for name in argv[1:]:
            if name in BUILTINS:
                await o.write(f"{name} is a shell builtin\n".encode())
            elif self._lookup(name):
                await o.write(f"{name} is {bin_path(name)}\n".encode())
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

    async def b_break(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return self._loop_control(argv)

    async def b_continue(self, argv: list[str], i: Input, o: Output, e: Output) -> int:
        return self._loop_control(argv)

    def _loop_control(self, argv: list[str]) -> int:
        """dash's breakcmd: ``n`` read as dash's ``number`` reads it (strtoimax in base 10:
        blanks around it and a sign allowed, nothing else, at most INT_MAX), and below 1 it is
        an error. ``break``/``continue`` are special builtins, so that error ends the shell
        (:data:`EXITS_ON_ERROR`): ``break 0; echo after`` prints only
        ``sh: 1: break: Illegal number: 0`` and exits 2."""
        n = argv[1] if len(argv) > 1 else "1"
        m = _NUMBER.fullmatch(n)
        levels = int(m.group(1)) if m else 0
        if not 1 <= levels <= _INT_MAX:
            raise UsageError(f"Illegal number: {n}", 2)
        if self.loop_depth == 0:
            return 0
        raise LoopControl(argv[0], min(levels, self.loop_depth))
