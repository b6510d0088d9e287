"""sed on the rehearsal nodes: ``s``, ``y``, ``p``, ``d``, ``q`` with line, ``$`` and ``/re/``
addresses (and ranges, ``!``), ``-n``, ``-e``, ``-E``/``-r``, ``-i``.

The script is read as GNU sed reads it (sed/compile.c): a ``;`` or a newline ends a command
only outside the delimiters of ``s`` and ``y`` and of a ``/re/`` address, a backslash before the
delimiter makes it literal, and a bracket expression of a regular expression may hold the
delimiter. (Splitting the script on every ``;`` first broke ``s/a;b/c/`` in two.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.sim.commands.core import gopt, lines_of
from pverunbook.sim.commands.patterns import _bre_to_py
from pverunbook.sim.shell.executor import Ctx, UsageError, command

#: One address: a line number, ``$`` (the last line) or a compiled regular expression.
Address = int | str | re.Pattern[str]


@dataclass
class SedCommand:
    op: str
    first: Address | None = None
    last: Address | None = None
    negate: bool = False
    rx: re.Pattern[str] | None = None
    #: ``s``: literal text and group numbers (0 is the whole match, ``&``)
    rep: list[str | int] = field(default_factory=list)
    glob: bool = False
    nth: int = 1
    print_: bool = False
    #: ``y``: source → destination characters
    table: dict[int, str] = field(default_factory=dict)
    #: range state while the script runs
    active: bool = False
    #: a range from a line number that ended: a line number comes once, so it never restarts
    closed: bool = False


def _fail(expr: int, pos: int, what: str) -> UsageError:
    return UsageError(f"sed: -e expression #{expr}, char {pos}: {what}", 1)


class _Reader:
    """The scanner of one script (the -e pieces joined by newlines, as sed joins them)."""

    def __init__(self, text: str, extended: bool) -> None:
        self.s, self.i, self.extended = text, 0, extended

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def delimited(self, delim: str, regex: bool, what: str) -> str:
        """The text up to the next unescaped ``delim`` (consumed). ``\\delim`` is the delimiter
        itself; in a regular expression a bracket expression runs to its own ``]``."""
        out: list[str] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s):
                n = s[self.i + 1]
                # sed/compile.c match_slash: the backslash goes before the delimiter (but
                # stays before a '&' delimiter of a replacement, where '\&' means '&')
                literal = n == delim and n != "\n" and (regex or n != "&")
                out.append(n if literal else "\\" + n)
                self.i += 2
                continue
            if c == delim:
                self.i += 1
                return "".join(out)
            if c == "\n" and regex:
                break
            if c == "[" and regex:
                j = self.i + 1
                if j < len(s) and s[j] == "^":
                    j += 1
                if j < len(s) and s[j] == "]":
                    j += 1
                while j < len(s) and s[j] != "]":
                    if s.startswith("[:", j) and ":]" in s[j + 2:]:
                        j = s.index(":]", j + 2) + 2
                    else:
                        j += 1
                if j < len(s):
                    out.append(s[self.i:j + 1])
                    self.i = j + 1
                    continue
            out.append(c)
            self.i += 1
        raise _fail(1, len(s), f"unterminated {what}")

    def regex(self, pat: str, flags: int = 0) -> re.Pattern[str]:
        """A sed regular expression over the pattern space: ``.`` matches a newline there (an
        ``s`` may have put one in), and a final ``$`` only its very end (Python's ``$`` also
        matches before a last newline)."""
        py = _bre_to_py(pat, self.extended)
        tail = len(py) - 1 - len(py[:-1].rstrip("\\")) if py.endswith("$") else -1
        if tail >= 0 and tail % 2 == 0:  # an anchor, not an escaped dollar
            py = py[:-1] + r"\Z"
        try:
            return re.compile(py, flags | re.DOTALL)
        except re.error:
            raise _fail(1, self.i, "Invalid preceding regular expression") from None

    def address(self) -> Address | None:
        c = self.peek()
        if c == "$":
            self.i += 1
            return "$"
        if c.isdigit():
            m = re.match(r"\d+", self.s[self.i:])
            assert m is not None
            self.i += m.end()
            return int(m.group(0))
        if c == "/" or (c == "\\" and self.i + 1 < len(self.s)):
            delim = "/" if c == "/" else self.s[self.i + 1]
            self.i += 1 if c == "/" else 2
            pat = self.delimited(delim, True, "address regex")
            return self.regex(pat)
        return None


def _replacement(rep: str, groups: int) -> list[str | int]:
    """``s`` replacement text → literal pieces and group numbers (``&`` and ``\\0`` are 0)."""
    out: list[str | int] = []
    i = 0
    escapes = {"n": "\n", "t": "\t", "\n": "\n"}
    while i < len(rep):
        c = rep[i]
        if c == "&":
            out.append(0)
        elif c == "\\" and i + 1 < len(rep):
            n = rep[i + 1]
            i += 1
            if n.isdigit():
                if int(n) > groups:
                    raise _fail(1, len(rep), f"invalid reference \\{n} on `s' command's RHS")
                out.append(int(n))
            else:
                out.append(escapes.get(n, n))
        else:
            out.append(c)
        i += 1
    return out


def parse_script(text: str, extended: bool) -> list[SedCommand]:
    r = _Reader(text, extended)
    cmds: list[SedCommand] = []
    while True:
        while r.peek() and r.peek() in " \t\n;":
            r.i += 1
        if not r.peek():
            return cmds
        if r.peek() == "#":
            while r.peek() and r.peek() != "\n":
                r.i += 1
            continue
        first = r.address()
        last = None
        if first is not None and r.peek() == ",":
            r.i += 1
            r.skip_blanks()
            last = r.address()
            if last is None:
                raise _fail(1, r.i, "unexpected `,'")
        r.skip_blanks()
        negate = r.peek() == "!"
        if negate:
            r.i += 1
            r.skip_blanks()
        op = r.peek()
        r.i += 1
        cmd = SedCommand(op, first, last, negate)
        if op in ("s", "y"):
            delim = r.peek()
            if not delim or delim in "\n\\":
                raise _fail(1, r.i, f"unterminated `{op}' command")
            r.i += 1
            left = r.delimited(delim, op == "s", f"`{op}' command")
            right = r.delimited(delim, False, f"`{op}' command")
            if op == "y":
                src, dst = (re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n"
                                   else m.group(1), x, flags=re.S) for x in (left, right))
                if len(src) != len(dst):
                    raise _fail(1, r.i, "strings for `y' command are different lengths")
                cmd.table = {ord(a): b for a, b in zip(src, dst, strict=True)}
            else:
                flags = 0
                while r.peek() and r.peek() in "gpiImM0123456789":
                    f = r.peek()
                    if f.isdigit():
                        m = re.match(r"\d+", r.s[r.i:])
                        assert m is not None
                        cmd.nth = int(m.group(0))
                        r.i += m.end()
                        continue
                    cmd.glob |= f == "g"
                    cmd.print_ |= f == "p"
                    flags |= re.I if f in "iI" else 0
                    r.i += 1
                cmd.rx = r.regex(left, flags)
                cmd.rep = _replacement(right, cmd.rx.groups)
        elif not op or op == "\n":
            raise _fail(1, r.i, "missing command")
        elif op not in ("p", "d", "q"):
            raise _fail(1, r.i, f"unknown command: `{op}'")
        elif op == "q" and last is not None:
            raise _fail(1, r.i, "command only uses one address")
        r.skip_blanks()
        if r.peek() and r.peek() not in ";\n#":
            raise _fail(1, r.i + 1, "unknown option to `s'" if op == "s"
                        else "extra characters after command")
        cmds.append(cmd)


def _matches(a: Address, line: str, k: int, total: int) -> bool:
    if isinstance(a, int):
        return k == a
    if a == "$":
        return k == total
    assert isinstance(a, re.Pattern)
    return a.search(line) is not None


def _selected(c: SedCommand, line: str, k: int, total: int) -> bool:
    """Whether the command's address selects line ``k``; a range (sed(1) ``addr1,addr2``)
    runs from a line matching ``addr1`` to line ``addr2`` or the next line matching it. As in
    GNU sed (execute.c match_address_p), a range from line N that the script never reached
    on line N (an earlier ``d``) starts on the first line after it that it reaches, unless
    that is past a numeric ``addr2``."""
    if c.first is None:
        hit = True
    elif c.last is None:
        hit = _matches(c.first, line, k, total)
    elif c.active:
        hit = True
        c.active = not _matches(c.last, line, k, total) if isinstance(c.last, re.Pattern) \
            else k < (total if c.last == "$" else int(c.last))
        c.closed = not c.active and isinstance(c.first, int)
    else:
        if isinstance(c.first, int):
            hit = not c.closed and (k == c.first or k > c.first and not (
                isinstance(c.last, int) and k > c.last))
        else:
            hit = _matches(c.first, line, k, total)
        if hit:
            c.active = True if isinstance(c.last, re.Pattern) \
                else k < (total if c.last == "$" else int(c.last))
            c.closed = not c.active and isinstance(c.first, int)
    return hit != c.negate


def _substitute(c: SedCommand, line: str) -> tuple[str, bool]:
    assert c.rx is not None
    out: list[str] = []
    pos = 0
    count = 0
    prev_end = -1
    for m in c.rx.finditer(line):
        if m.start() == m.end() == prev_end:
            continue  # sed: no empty match right after the previous match
        prev_end = m.end()
        count += 1
        if count < c.nth:
            continue
        out.append(line[pos:m.start()])
        out.extend(m.group(p) or "" if isinstance(p, int) else p for p in c.rep)
        pos = m.end()
        if not c.glob:
            break
    if pos == 0 and not out:
        return line, False
    return "".join(out) + line[pos:], True


def run_script(cmds: list[SedCommand], lines: list[str], quiet: bool) -> list[str]:
    """The output lines of ``cmds`` run over ``lines``."""
    out: list[str] = []
    total = len(lines)
    for c in cmds:
        c.active = c.closed = False
    for k, line in enumerate(lines, 1):
        deleted = False
        for c in cmds:
            if not _selected(c, line, k, total):
                continue
            if c.op == "p":
                out.append(line)
            elif c.op == "d":
                deleted = True
                break
            elif c.op == "q":
                if not quiet:
                    out.append(line)
                return out
            elif c.op == "y":
                line = line.translate(c.table)
            else:
                line, made = _substitute(c, line)
                if c.print_ and made:  # sed(1): p prints only when a replacement was made
                    out.append(line)
        if not deleted and not quiet:
            out.append(line)
    return out


def sed_text(scripts: list[str], lines: list[str], extended: bool = False,
             quiet: bool = False) -> list[str]:
    """What ``sed [-n] [-E] -e S1 -e S2 …`` prints for ``lines`` (UsageError as sed fails)."""
    return run_script(parse_script("\n".join(scripts), extended), lines, quiet)


@command("sed")
async def c_sed(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "ne:iEr", ["in-place"])
    scripts = opts.get("-e", [])
    if not scripts:
        if not rest:
            raise UsageError("Usage: sed [OPTION]... {script-only-if-no-other-script} "
                             "[input-file]...", 1)
        scripts, rest = [rest[0]], rest[1:]
    cmds = parse_script("\n".join(scripts), "-E" in opts or "-r" in opts)
    quiet = "-n" in opts
    if "-i" in opts or "--in-place" in opts:
        for f in rest:
            data = ctx.fs.read_bytes(f, ctx.cwd)
            result = run_script(cmds, lines_of(data), quiet)
            await ctx.fs.write_bytes(f, "".join(x + "\n" for x in result).encode(), ctx.cwd)
        return 0
    for _n, got in await ctx.read_input(rest):
        if got is not None:
            await ctx.out("".join(x + "\n" for x in run_script(cmds, lines_of(got), quiet)))
    return 0
