"""The pattern tools of the rehearsal nodes: grep (BRE/ERE) and a small awk (fields, patterns,
variables, print/printf, NR/NF) — what runbooks and people pipe output through. (sed: sed.py.)
"""

from __future__ import annotations

import gzip
import re

from pverunbook.sim.commands.core import gopt, lines_of, walk
from pverunbook.sim.commands.text import expand_escapes
from pverunbook.sim.shell.executor import Ctx, UsageError, command


def _bre_to_py(pat: str, extended: bool) -> str:
    """Translate a POSIX BRE/ERE to Python regex (the subset runbooks use)."""
    out = []
    i = 0
    classes = {"[:digit:]": r"\d", "[:space:]": r"\s", "[:alpha:]": "a-zA-Z",
               "[:alnum:]": "a-zA-Z0-9", "[:upper:]": "A-Z", "[:lower:]": "a-z",
               "[:xdigit:]": "0-9A-Fa-f", "[:blank:]": r" \t", "[:punct:]": r"!-/:-@\[-`{-~"}
    while i < len(pat):
        c = pat[i]
        if c == "[":
            j = i + 1
            if j < len(pat) and pat[j] == "^":
                j += 1
            if j < len(pat) and pat[j] == "]":
                j += 1
            while j < len(pat) and pat[j] != "]":
                if pat.startswith("[:", j):
                    j = pat.find(":]", j) + 2
                else:
                    j += 1
            # a backslash inside a bracket expression is literal in POSIX: escaped for Python
            # first, then the classes put in (their \d, \s must stay Python escapes: doing it
            # the other way round made [[:space:]] match a backslash or an 's')
            body = pat[i + 1:j].replace("\\", "\\\\")
            for k, v in classes.items():
                body = body.replace(k, v)
            out.append("[" + body + "]")
            i = j + 1
            continue
        if extended:
            out.append(c if c != "\\" or i + 1 >= len(pat) else pat[i:i + 2])
            i += 2 if c == "\\" and i + 1 < len(pat) else 1
            continue
        if c == "\\" and i + 1 < len(pat):
            n = pat[i + 1]
            out.append(n if n in "(){}|+?" else "\\" + n)
            i += 2
            continue
        if c in "(){}|+?":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


@command("grep", "egrep", "fgrep", "zgrep")
async def c_grep(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "aEFivcqnoslhHwxre:A:B:C:mP", ["color=", "colour=", "line-buffered"])
    patterns = opts.get("-e", [])
    if not patterns:
        if not rest:
            raise UsageError("Usage: grep [OPTION]... PATTERNS [FILE]...\n"
                             "Try 'grep --help' for more information.", 2)
        patterns = rest[0].split("\n")
        rest = rest[1:]
    extended = "-E" in opts or "-P" in opts or ctx.name == "egrep"
    fixed = "-F" in opts or ctx.name == "fgrep"
    flags = re.IGNORECASE if "-i" in opts else 0
    try:
        rx = [re.compile(re.escape(p) if fixed else _bre_to_py(p, extended), flags)
              for p in patterns]
    except re.error:
        raise UsageError("grep: Unmatched ( or \\(", 2) from None
    if "-w" in opts:
        rx = [re.compile(r"\b(?:" + r.pattern + r")\b", flags) for r in rx]
    if "-x" in opts:
        rx = [re.compile(r"^(?:" + r.pattern + r")$", flags) for r in rx]
    invert = "-v" in opts
    files = rest
    if "-r" in opts and files:
        expanded = []
        for f in files:
            if ctx.fs.is_dir(f, ctx.cwd):
                expanded += walk(ctx, ctx.abspath(f))
            else:
                expanded.append(f)
        files = expanded
    show_name = ("-H" in opts or len(files) > 1) and "-h" not in opts
    after = int((opts.get("-A") or opts.get("-C") or ["0"])[-1])
    before = int((opts.get("-B") or opts.get("-C") or ["0"])[-1])
    maxcount = int(opts["-m"][-1]) if "-m" in opts else None
    matched_any = False
    error = False
    for name, data in await ctx.read_input(files):
        if data is None:
            if "-s" in opts:
                pass
            error = True
            continue
        if ctx.name == "zgrep" and data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        count = 0
        out: list[str] = []
        lines = lines_of(data)
        last_printed = -1
        pending_after = 0
        prefix = f"{name}:" if show_name else ""
        for k, ln in enumerate(lines):
            hits = [m for r in rx for m in r.finditer(ln)]
            ok = bool(hits) != invert
            if ok:
                count += 1
                matched_any = True
                if "-q" in opts:
                    return 0
                if "-c" in opts or "-l" in opts:
                    if maxcount and count >= maxcount:
                        break
                    continue
                for b in range(max(last_printed + 1, k - before), k):
                    out.append(f"{prefix}{b + 1}-{lines[b]}\n" if "-n" in opts
                               else f"{prefix}{lines[b]}\n")
                if "-o" in opts and not invert:
                    for m in sorted(hits, key=lambda m: m.start()):
                        if m.group(0):
                            out.append(f"{prefix}{k + 1}:{m.group(0)}\n" if "-n" in opts
                                       else f"{prefix}{m.group(0)}\n")
                else:
                    out.append(f"{prefix}{k + 1}:{ln}\n" if "-n" in opts else f"{prefix}{ln}\n")
                last_printed = k
                pending_after = after
                if maxcount and count >= maxcount:
                    break
            elif pending_after:
                out.append(f"{prefix}{k + 1}-{ln}\n" if "-n" in opts else f"{prefix}{ln}\n")
                last_printed = k
                pending_after -= 1
        if "-l" in opts:
            if count:
                await ctx.out(f"{name if name != '-' else '(standard input)'}\n")
        elif "-c" in opts:
            await ctx.out(f"{prefix}{count}\n")
        else:
            await ctx.out("".join(out))
    if error and not matched_any:
        return 2
    return 0 if matched_any else 1


@command("awk", "mawk", "gawk")
async def c_awk(ctx: Ctx) -> int:
    """A tiny awk: ``[/re/ | $N ~ /re/ | NR==N] { stmt; ... }``, -F, -v, BEGIN/END.

    Statements: ``print``/``printf``, assignments (``x = $3``, ``x = "a" $1``), ``x += N``,
    ``x++``/``x--``. Variables hold strings as in awk; an unset one is ``""`` (mawk(1)).
    """
    opts, rest = gopt(ctx, "F:v:")
    if not rest:
        raise UsageError("usage: awk [-F value] [-v var=value] [--] 'program text' [file ...]",
                         2)
    prog, files = rest[0], rest[1:]
    fs_ = opts.get("-F", [None])[-1]
    if fs_ == "\\t":
        fs_ = "\t"
    rules = re.findall(r"\s*(BEGIN|END|[^{]*?)\s*\{([^}]*)\}", prog)
    if not rules:
        rules = [(prog.strip(), "print")]
    nr = 0
    out: list[str] = []
    variables: dict[str, str] = {}
    for assignment in opts.get("-v", []):
        name, eq, val = assignment.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise UsageError(f"awk: improper assignment: -v {assignment}", 2)
        variables[name] = expand_escapes(val)

    def fields_of(line: str) -> list[str]:
        if fs_ is None or fs_ == " ":
            return line.split()
        return re.split(fs_ if len(fs_) > 1 else re.escape(fs_), line)

    def number(v: str) -> float:
        m = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v)
        return float(m.group(0)) if m else 0.0

    def num_str(v: float) -> str:
        return str(int(v)) if v == int(v) else f"{v:.6g}"

    def value(expr: str, f: list[str], line: str) -> str:
        expr = expr.strip()
        if expr.startswith('"') and expr.endswith('"') and len(expr) >= 2:
            return expand_escapes(expr[1:-1])
        if expr == "$0":
            return line
        if expr == "NR":
            return str(nr)
        if expr == "NF":
            return str(len(f))
        m = re.fullmatch(r"\$(\d+|NF)", expr)
        if m:
            idx = len(f) if m.group(1) == "NF" else int(m.group(1))
            return f[idx - 1] if 0 < idx <= len(f) else ""
        if re.fullmatch(r"[A-Za-z_]\w*", expr):
            return variables.get(expr, "")
        return expr

    def concat(expr: str, f: list[str], line: str) -> str:
        """``"a" $1 x``: awk's concatenation of adjacent values."""
        items = re.findall(r'"[^"]*"|[^\s"]+', expr)
        return "".join(value(x, f, line) for x in items)

    def printf(fmt: str, args: list[str]) -> str:
        """C printf with awk's conversions: a string given to ``%d``/``%f`` is a number."""
        specs = list(re.finditer(r"%[-+ #0]*\d*(?:\.\d+)?([a-zA-Z%])", fmt))
        conv: list[object] = []
        for spec, arg in zip((s for s in specs if s.group(1) != "%"), args, strict=False):
            kind = spec.group(1)
            conv.append(int(number(arg)) if kind in "dioxXc" else
                        number(arg) if kind in "eEfgG" else arg)
        try:
            return fmt % tuple(conv)
        except (TypeError, ValueError):
            return fmt

    def run_action(action: str, f: list[str], line: str) -> None:
        for stmt in [s.strip() for s in action.split(";") if s.strip()]:
            m = re.fullmatch(r"([A-Za-z_]\w*)\s*(\+\+|--)", stmt)
            if m:
                step = 1 if m.group(2) == "++" else -1
                variables[m.group(1)] = num_str(number(variables.get(m.group(1), "")) + step)
                continue
            m = re.fullmatch(r"([A-Za-z_]\w*)\s*([-+])=\s*(.+)", stmt)
            if m:
                delta = number(value(m.group(3), f, line))
                old = number(variables.get(m.group(1), ""))
                variables[m.group(1)] = num_str(old + delta if m.group(2) == "+"
                                                else old - delta)
                continue
            m = re.fullmatch(r"([A-Za-z_]\w*)\s*=(?!=)\s*(.*)", stmt)
            if m and m.group(1) not in ("print", "printf"):
                variables[m.group(1)] = concat(m.group(2), f, line)
                continue
            m = re.fullmatch(r"printf\s*\(?\s*\"([^\"]*)\"\s*,?(.*?)\)?", stmt)
            if m:
                args = [concat(a, f, line) for a in re.split(r",\s*", m.group(2)) if a.strip()]
                out.append(printf(expand_escapes(m.group(1)), args))
                continue
            if stmt.startswith("print"):
                pargs = stmt[5:].strip()
                if not pargs:
                    out.append(line + "\n")
                    continue
                if "," in pargs:
                    parts = re.findall(r'(?:"[^"]*"|[^,"])+', pargs)
                    out.append(" ".join(concat(x, f, line) for x in parts) + "\n")
                else:
                    out.append(concat(pargs, f, line) + "\n")

    def matches(pattern: str, f: list[str], line: str) -> bool:
        pattern = pattern.strip()
        if not pattern:
            return True
        m = re.fullmatch(r"(!?)/(.*)/", pattern)
        if m:
            return bool(re.search(_bre_to_py(m.group(2), True), line)) != bool(m.group(1))
        m = re.fullmatch(r"\$(\d+)\s*(!?~)\s*/(.*)/", pattern)
        if m:
            hit = bool(re.search(_bre_to_py(m.group(3), True), value("$" + m.group(1), f, line)))
            return hit == (m.group(2) == "~")
        m = re.fullmatch(r"(NR|NF|\$\d+)\s*(==|!=|>=|<=|>|<)\s*(\"?[^\"]*\"?)", pattern)
        if m:
            a, op, b = value(m.group(1), f, line), m.group(2), value(m.group(3), f, line)
            try:
                x, y = float(a), float(b)
                return bool({"==": x == y, "!=": x != y, ">=": x >= y, "<=": x <= y,
                             ">": x > y, "<": x < y}[op])
            except ValueError:
                return bool({"==": a == b, "!=": a != b}.get(op, False))
        return True

    for pat, action in rules:
        if pat == "BEGIN":
            run_action(action, [], "")
    for _n, data in await ctx.read_input(files):
        if data is None:
            continue
        for line in lines_of(data):
            nr += 1
            f = fields_of(line)
            for pat, action in rules:
                if pat in ("BEGIN", "END"):
                    continue
                if matches(pat, f, line):
                    run_action(action, f, line)
    for pat, action in rules:
        if pat == "END":
            run_action(action, [], "")
    await ctx.out("".join(out))
    return 0
