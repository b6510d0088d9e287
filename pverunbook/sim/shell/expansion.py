"""The emulated sh's word expansion: parameters (``${VAR:-x}``, ``${#VAR}``, ``${VAR%pat}``),
command substitution, arithmetic (``$((...))``), field splitting on IFS, globbing and ``~``.

Follows dash (POSIX 2.6); :class:`Expansion` is one part of
:class:`~pverunbook.sim.shell.executor.Shell`.
"""

from __future__ import annotations

import ast
import fnmatch
import glob as globmod
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pverunbook.sim.shell import parser as P
from pverunbook.sim.shell.context import ExitShell, UsageError
from pverunbook.sim.shell.streams import BufferOutput, BytesInput, Input, NullOutput, Output

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode
    from pverunbook.sim.shell.executor import Shell


_ARITH_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Mod: operator.mod, ast.USub: operator.neg, ast.UAdd: operator.pos,
    ast.Lt: operator.lt, ast.Gt: operator.gt, ast.LtE: operator.le, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


def arith(expr: str, lookup: Callable[[str], str]) -> int:
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


def split_ifs(value: str, ifs: str) -> list[str]:
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


class Expansion:
    """Expansion of words against a shell's variables, positional parameters and status."""

    node: SimNode
    cwd: str
    vars: dict[str, str]
    positional: list[str]
    status: int
    pid: int
    _subst_status: int | None

    def subshell(self) -> Shell:
        raise NotImplementedError

    async def exec_command(self, node: P.Node, i: Input, o: Output, e: Output) -> int:
        raise NotImplementedError

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
                return str(arith(part.text, self.lookup))
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
                p for p in split_ifs(value, ifs)]
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
