"""coreutils/grep/sed/awk-alikes: the text and file tools runbooks pipe node output through.

Each keeps the real tool's message and exit-status conventions for the options it supports;
an unsupported option fails loudly (``invalid option``) instead of doing something else.
"""

from __future__ import annotations

import asyncio
import contextlib
import getopt
import gzip
import hashlib
import os
import re
import stat as st
import time
import zlib
from collections.abc import Callable, Iterable

from pverunbook.sim.shell.executor import Ctx, UsageError, command
from pverunbook.sim.shell.streams import BufferOutput, BytesInput


def gopt(ctx: Ctx, short: str, long: Iterable[str] = (), args: list[str] | None = None) \
        -> tuple[dict[str, list[str]], list[str]]:
    try:
        opts, rest = getopt.gnu_getopt(ctx.argv[1:] if args is None else args, short, list(long))
    except getopt.GetoptError as exc:
        opt = exc.opt
        if len(opt) > 1:
            raise UsageError(f"{ctx.name}: unrecognized option '--{opt}'\n"
                             f"Try '{ctx.name} --help' for more information.", 2) from None
        raise UsageError(f"{ctx.name}: invalid option -- '{opt}'\n"
                         f"Try '{ctx.name} --help' for more information.", 2) from None
    out: dict[str, list[str]] = {}
    for k, v in opts:
        out.setdefault(k, []).append(v)
    return out, rest


def lines_of(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@command("true")
async def c_true(ctx: Ctx) -> int:
    return 0


@command("false")
async def c_false(ctx: Ctx) -> int:
    return 1


@command("echo")
async def c_echo(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    newline = True
    escapes = True  # dash's echo always interprets escapes
    while args and re.fullmatch(r"-[neE]+", args[0]):
        if "n" in args[0]:
            newline = False
        args = args[1:]
    text = " ".join(args)
    if escapes and "\\" in text:
        stop = text.find("\\c")
        if stop >= 0:
            text, newline = text[:stop], False
        text = _escapes(text)
    await ctx.out(text + ("\n" if newline else ""))
    return 0


def _escapes(text: str) -> str:
    table = {"n": "\n", "t": "\t", "\\": "\\", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
             "v": "\v", "e": "\x1b"}

    def sub(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] in table:
            return table[s[0]]
        if s[0] == "0" or s[0].isdigit():
            return chr(int(s.lstrip("0") or "0", 8) & 255)
        return "\\" + s

    return re.sub(r"\\(0[0-7]{0,3}|[0-7]{1,3}|.)", sub, text)


@command("printf")
async def c_printf(ctx: Ctx) -> int:
    if len(ctx.argv) < 2:
        raise UsageError("printf: usage: printf format [arguments]", 2)
    fmt, args = ctx.argv[1], ctx.argv[2:]
    out: list[str] = []
    spec = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d+))?([sdiouxXfgecb%])")
    first = True
    while first or args:
        first = False
        consumed = False
        pos = 0
        for m in spec.finditer(fmt):
            out.append(_escapes(fmt[pos:m.start()]))
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            arg = args.pop(0) if args else ""
            consumed = True
            if width == "*":
                width, arg = arg, (args.pop(0) if args else "")
            pyspec = f"%{flags}{width or ''}{'.' + prec if prec else ''}"
            if conv in "diouxXc":
                try:
                    num = int(arg, 0) if arg else 0
                except ValueError:
                    await ctx.err(f"printf: {arg}: expected numeric value\n")
                    num = 0
                out.append((pyspec + ("d" if conv in "iu" else conv)) % num)
            elif conv in "feg":
                out.append((pyspec + conv) % float(arg or 0))
            elif conv == "b":
                out.append((pyspec + "s") % _escapes(arg))
            else:
                out.append((pyspec + "s") % arg)
        out.append(_escapes(fmt[pos:]))
        if not consumed:
            break
    await ctx.out("".join(out))
    return 0


@command("cat")
async def c_cat(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "nAvetsE")
    status = 0
    for _name, data in await ctx.read_input(files) if files else [("-", None)]:
        if data is None and _name != "-":
            status = 1
            continue
        if data is None:
            while True:
                chunk = await ctx.stdin.read(65536)
                if not chunk:
                    break
                await ctx.out(chunk)
            continue
        if "-n" in opts:
            data = "".join(f"{k:6d}\t{ln}\n" for k, ln in enumerate(lines_of(data), 1)).encode()
        await ctx.out(data)
    return status


@command("tac")
async def c_tac(ctx: Ctx) -> int:
    _, files = gopt(ctx, "")
    for _n, data in await ctx.read_input(files):
        if data is not None:
            await ctx.out("".join(ln + "\n" for ln in reversed(lines_of(data))))
    return 0


@command("head", "tail")
async def c_head(ctx: Ctx) -> int:
    argv = [("-n" + a[1:]) if re.fullmatch(r"-\d+", a) else a for a in ctx.argv[1:]]
    opts, files = gopt(ctx, "n:c:fqF", ["lines=", "bytes=", "follow"], argv)
    nspec = (opts.get("-n") or opts.get("--lines") or ["10"])[-1]
    head = ctx.name == "head"
    status = 0
    for name, data in await ctx.read_input(files):
        if data is None:
            status = 1
            continue
        if len(files) > 1:
            await ctx.out(f"==> {name} <==\n")
        if "-c" in opts:
            n = int(opts["-c"][-1])
            await ctx.out(data[:n] if head else data[-n:])
            continue
        lines = data.split(b"\n")
        trailing = lines and lines[-1] == b""
        if trailing:
            lines.pop()
        if head:
            if nspec.startswith("-"):
                sel = lines[:len(lines) - int(nspec[1:])]
            else:
                sel = lines[:int(nspec)]
        else:
            if nspec.startswith("+"):
                sel = lines[int(nspec[1:]) - 1:]
            else:
                k = int(nspec.lstrip("-"))
                sel = lines[-k:] if k else []
        await ctx.out(b"".join(ln + b"\n" for ln in sel))
    if not head and ("-f" in opts or "-F" in opts or "--follow" in opts):
        while True:
            await ctx.sleep(1)
    return status


@command("wc")
async def c_wc(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "lwcm")
    status = 0
    rows = []
    for name, data in await ctx.read_input(files):
        if data is None:
            status = 1
            continue
        vals = {"-l": data.count(b"\n"), "-w": len(data.split()), "-c": len(data),
                "-m": len(data.decode("utf-8", "replace"))}
        keys = [k for k in ("-l", "-w", "-m", "-c") if k in opts] or ["-l", "-w", "-c"]
        rows.append(([vals[k] for k in keys], name if files else ""))
    if not rows:
        return status
    width = 1 if len(rows) == 1 and len(rows[0][0]) == 1 else max(
        len(str(v)) for r in rows for v in r[0])
    width = max(width, 7) if not files and len(rows[0][0]) > 1 else width
    for vals_, name in rows:
        await ctx.out(" ".join(str(v).rjust(width) for v in vals_) + (f" {name}" if name else "")
                      + "\n")
    return status


def _sort_key(opts: dict[str, list[str]]) -> Callable[[str], tuple[object, str]]:
    field: int | None = None
    if "-k" in opts:
        field = int(opts["-k"][-1].split(",")[0].split(".")[0]) - 1
    sep = opts.get("-t", [None])[-1]

    def key(line: str) -> tuple[object, str]:
        v = line
        if field is not None:
            parts = line.split(sep) if sep else line.split()
            v = parts[field] if field < len(parts) else ""
        if "-n" in opts or "-g" in opts:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", v)
            return (float(m.group(1)) if m else 0.0, line)
        if "-h" in opts:
            m = re.match(r"\s*(\d+(?:\.\d+)?)([KMGTP]?)", v)
            mult = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
            return (float(m.group(1)) * mult[m.group(2)] if m else 0.0, line)
        return (v, line)

    return key


@command("sort")
async def c_sort(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "nrk:t:uhVgfo:")
    lines: list[str] = []
    for _n, data in await ctx.read_input(files):
        if data is not None:
            lines += lines_of(data)
    lines.sort(key=_sort_key(opts), reverse="-r" in opts)
    if "-u" in opts:
        seen: set[str] = set()
        lines = [x for x in lines if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]
    await ctx.out("".join(ln + "\n" for ln in lines))
    return 0


@command("uniq")
async def c_uniq(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "cdu")
    lines: list[str] = []
    for _n, data in await ctx.read_input(files[:1]):
        if data is not None:
            lines = lines_of(data)
    groups: list[list[str]] = []
    for ln in lines:
        if groups and groups[-1][0] == ln:
            groups[-1].append(ln)
        else:
            groups.append([ln])
    out = []
    for g in groups:
        if "-d" in opts and len(g) < 2 or "-u" in opts and len(g) > 1:
            continue
        out.append(f"{len(g):7d} {g[0]}\n" if "-c" in opts else g[0] + "\n")
    await ctx.out("".join(out))
    return 0


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        a, sep, b = part.partition("-")
        lo = int(a) if a else 1
        hi = (int(b) if b else 1 << 30) if sep else lo
        out.append((lo, hi))
    return out


@command("cut")
async def c_cut(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "d:f:c:s")
    out = []
    for _n, data in await ctx.read_input(files):
        if data is None:
            continue
        for ln in lines_of(data):
            if "-c" in opts:
                r = _ranges(opts["-c"][-1])
                out.append("".join(c for k, c in enumerate(ln, 1)
                                   if any(lo <= k <= hi for lo, hi in r)) + "\n")
                continue
            d = opts.get("-d", ["\t"])[-1] or "\t"
            if d not in ln:
                if "-s" not in opts:
                    out.append(ln + "\n")
                continue
            parts = ln.split(d)
            r = _ranges(opts.get("-f", ["1"])[-1])
            out.append(d.join(p for k, p in enumerate(parts, 1)
                              if any(lo <= k <= hi for lo, hi in r)) + "\n")
    await ctx.out("".join(out))
    return 0


def _tr_set(s: str) -> str:
    s = _escapes(s)
    classes = {"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
               "[:digit:]": "0123456789", "[:space:]": " \t\n\r\v\f", "[:blank:]": " \t"}
    for k, v in classes.items():
        s = s.replace(k, v)
    out: list[str] = []
    i = 0
    while i < len(s):
        if i + 2 < len(s) and s[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(s[i]), ord(s[i + 2]) + 1))
            i += 3
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@command("tr")
async def c_tr(ctx: Ctx) -> int:
    opts, sets = gopt(ctx, "dsc")
    data = (await ctx.stdin.read_all()).decode("utf-8", "replace")
    s1 = _tr_set(sets[0]) if sets else ""
    if "-d" in opts:
        data = "".join(c for c in data if c not in s1)
    elif len(sets) > 1:
        s2 = _tr_set(sets[1])
        s2 = s2 + s2[-1:] * (len(s1) - len(s2))
        data = data.translate(str.maketrans(s1, s2[:len(s1)]))
    if "-s" in opts:
        squeeze = _tr_set(sets[-1]) if sets else ""
        data = re.sub("([" + re.escape(squeeze) + "])\\1+", r"\1", data) if squeeze else data
    await ctx.out(data)
    return 0


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
            body = pat[i + 1:j]
            for k, v in classes.items():
                body = body.replace(k, v)
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
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
    opts, rest = gopt(ctx, "EFivcqnoslhHwxre:A:B:C:mP", ["color=", "colour=", "line-buffered"])
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
                expanded += _walk(ctx, ctx.abspath(f))
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


def _walk(ctx: Ctx, top: str) -> list[str]:
    out: list[str] = []
    try:
        names = ctx.fs.listdir(top)
    except OSError:
        return out
    for n in names:
        p = top.rstrip("/") + "/" + n
        if ctx.fs.is_dir(p) and not ctx.fs.is_link(p):
            out += _walk(ctx, p)
        else:
            out.append(p)
    return out


@command("sed")
async def c_sed(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "ne:iEr", ["in-place"])
    scripts = opts.get("-e", [])
    if not scripts:
        if not rest:
            raise UsageError("Usage: sed [OPTION]... {script-only-if-no-other-script} "
                             "[input-file]...", 1)
        scripts, rest = [rest[0]], rest[1:]
    cmds = [c.strip() for s in scripts for c in re.split(r"[;\n]", s) if c.strip()]
    extended = "-E" in opts or "-r" in opts
    inplace = "-i" in opts or "--in-place" in opts
    quiet = "-n" in opts

    def run(lines: list[str]) -> list[str]:
        out: list[str] = []
        total = len(lines)
        for k, line in enumerate(lines, 1):
            deleted = False
            for c in cmds:
                m = re.fullmatch(r"(\$|\d+)?(?:,(\$|\d+))?(/[^/]*/)?\s*(.*)", c, re.S)
                assert m is not None
                a, b, addr_re, op = m.groups()

                def num(x: str) -> int:
                    return total if x == "$" else int(x)

                if a and not (num(a) <= k <= num(b) if b else k == num(a)):
                    continue
                if addr_re and not re.search(_bre_to_py(addr_re[1:-1], extended), line):
                    continue
                if op == "p":
                    out.append(line)
                elif op == "d":
                    deleted = True
                    break
                elif op == "q":
                    out.append(line) if not quiet else None
                    return out
                elif op.startswith("s") and len(op) > 1:
                    d = op[1]
                    parts = re.split(r"(?<!\\)" + re.escape(d), op[2:])
                    if len(parts) < 2:
                        raise UsageError(f"sed: -e expression #1, char {len(c)}: unterminated "
                                         "`s' command", 1)
                    pat, rep, fl = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
                    rep_py = re.sub(r"\\(\d)", r"\\\1", rep).replace("&", r"\g<0>")
                    rep_py = rep_py.replace("\\" + d, d)
                    line = re.sub(_bre_to_py(pat.replace("\\" + d, d), extended), rep_py, line,
                                  count=0 if "g" in fl else 1,
                                  flags=re.I if "I" in fl or "i" in fl else 0)
                    if "p" in fl:
                        out.append(line)
            if not deleted and not quiet:
                out.append(line)
        return out

    if inplace:
        for f in rest:
            data = ctx.fs.read_bytes(f, ctx.cwd)
            result = run(lines_of(data))
            await ctx.fs.write_bytes(f, "".join(x + "\n" for x in result).encode(), ctx.cwd)
        return 0
    for _n, got in await ctx.read_input(rest):
        if got is not None:
            await ctx.out("".join(x + "\n" for x in run(lines_of(got))))
    return 0


@command("awk", "mawk", "gawk")
async def c_awk(ctx: Ctx) -> int:
    """A tiny awk: ``[/re/ | $N ~ /re/ | NR==N] { print ... }``, -F, END{print NR}."""
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
    sums: dict[str, float] = {}

    def fields_of(line: str) -> list[str]:
        if fs_ is None or fs_ == " ":
            return line.split()
        return re.split(fs_ if len(fs_) > 1 else re.escape(fs_), line)

    def value(expr: str, f: list[str], line: str) -> str:
        expr = expr.strip()
        if expr.startswith('"') and expr.endswith('"'):
            return _escapes(expr[1:-1])
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
        if expr in sums:
            v = sums[expr]
            return str(int(v)) if v == int(v) else str(v)
        return expr

    def run_action(action: str, f: list[str], line: str) -> None:
        for stmt in [s.strip() for s in action.split(";") if s.strip()]:
            m = re.fullmatch(r"(\w+)\s*\+=\s*(.+)", stmt)
            if m:
                with contextlib.suppress(ValueError):
                    sums[m.group(1)] = sums.get(m.group(1), 0.0) + float(value(m.group(2), f,
                                                                                line) or 0)
                continue
            m = re.fullmatch(r"printf\s*\(?\s*\"([^\"]*)\"\s*,?(.*?)\)?", stmt)
            if m:
                args = [value(a, f, line) for a in re.split(r",\s*", m.group(2)) if a.strip()]
                fmt = _escapes(m.group(1))
                try:
                    out.append(fmt % tuple(args) if args else fmt)
                except (TypeError, ValueError):
                    out.append(fmt)
                continue
            if stmt.startswith("print"):
                pargs = stmt[5:].strip()
                if not pargs:
                    out.append(line + "\n")
                    continue
                items = re.findall(r'"[^"]*"|[^,\s]+(?:\s*[^,\s"]+)*', pargs)
                sep = " " if "," in pargs else ""
                out.append(sep.join(value(x, f, line) for x in items) + "\n")

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


@command("tee")
async def c_tee(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "a")
    data = await ctx.stdin.read_all()
    await ctx.out(data)
    status = 0
    for f in files:
        try:
            await ctx.fs.write_bytes(f, data, ctx.cwd, append="-a" in opts)
        except OSError as exc:
            await ctx.err(f"tee: {f}: {exc.strerror}\n")
            status = 1
    return status


@command("xargs")
async def c_xargs(ctx: Ctx) -> int:
    opts, cmd = gopt(ctx, "n:I:r0")
    data = (await ctx.stdin.read_all()).decode("utf-8", "replace")
    items = data.split("\0") if "-0" in opts else data.split()
    items = [x for x in items if x]
    cmd = cmd or ["echo"]
    if not items and "-r" in opts:
        return 0
    status = 0
    if "-I" in opts:
        rep = opts["-I"][-1]
        for it in data.splitlines():
            argv = [a.replace(rep, it) for a in cmd]
            status = max(status, await ctx.sh.subshell().run_argv(argv, BytesInput(),
                                                                   ctx.stdout, ctx.stderr))
        return 123 if status else 0
    n = int(opts["-n"][-1]) if "-n" in opts else max(len(items), 1)
    for k in range(0, max(len(items), 1), n):
        st_ = await ctx.sh.subshell().run_argv(cmd + items[k:k + n], BytesInput(), ctx.stdout,
                                               ctx.stderr)
        status = max(status, st_)
    return 123 if status else 0


@command("basename")
async def c_basename(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if not args:
        raise UsageError("basename: missing operand", 1)
    name = args[0].rstrip("/").rsplit("/", 1)[-1] or "/"
    if len(args) > 1 and name.endswith(args[1]) and name != args[1]:
        name = name[: -len(args[1])]
    await ctx.out(name + "\n")
    return 0


@command("dirname")
async def c_dirname(ctx: Ctx) -> int:
    for a in ctx.argv[1:]:
        d = a.rstrip("/").rpartition("/")[0] if "/" in a.rstrip("/") else "."
        await ctx.out((d or "/") + "\n")
    return 0


@command("readlink", "realpath")
async def c_readlink(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "fefmnqs")
    status = 0
    for f in files:
        if ctx.name == "realpath" or "-f" in opts or "-e" in opts or "-m" in opts:
            await ctx.out(ctx.fs.resolve(f, ctx.cwd) + "\n")
        elif ctx.fs.is_link(f, ctx.cwd):
            await ctx.out(ctx.fs.readlink(f, ctx.cwd) + "\n")
        else:
            status = 1
    return status


@command("seq")
async def c_seq(ctx: Ctx) -> int:
    nums = [int(x) for x in ctx.argv[1:]]
    a, step, b = (1, 1, nums[0]) if len(nums) == 1 else (
        (nums[0], 1, nums[1]) if len(nums) == 2 else (nums[0], nums[1], nums[2]))
    await ctx.out("".join(f"{k}\n" for k in range(a, b + (1 if step > 0 else -1), step)))
    return 0


@command("sleep")
async def c_sleep(ctx: Ctx) -> int:
    total = 0.0
    for a in ctx.argv[1:]:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", a)
        if not m:
            raise UsageError(f"sleep: invalid time interval '{a}'\n"
                             "Try 'sleep --help' for more information.", 1)
        total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if not ctx.argv[1:]:
        raise UsageError("sleep: missing operand\nTry 'sleep --help' for more information.", 1)
    await ctx.sleep(total)
    return 0


def _duration(s: str) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", s)
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@command("timeout")
async def c_timeout(ctx: Ctx) -> int:
    """GNU timeout: 124 when the limit is hit, the command's status otherwise."""
    args = ctx.argv[1:]
    signal_name = "TERM"
    kill_after = None
    preserve = False
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a in ("-s", "--signal"):
            signal_name = args.pop(0)
        elif a.startswith("--signal="):
            signal_name = a.split("=", 1)[1]
        elif a in ("-k", "--kill-after"):
            kill_after = args.pop(0)
        elif a.startswith("--kill-after="):
            kill_after = a.split("=", 1)[1]
        elif a in ("--preserve-status", "-v", "--verbose", "--foreground"):
            preserve = preserve or a == "--preserve-status"
        elif a == "--":
            break
        else:
            raise UsageError(f"timeout: invalid option -- '{a.lstrip('-')}'\n"
                             "Try 'timeout --help' for more information.", 125)
    del kill_after
    if len(args) < 2:
        raise UsageError("timeout: missing operand\nTry 'timeout --help' for more information.",
                         125)
    limit = _duration(args[0])
    if limit is None:
        raise UsageError(f"timeout: invalid time interval '{args[0]}'\n"
                         "Try 'timeout --help' for more information.", 125)
    argv = args[1:]
    sub = ctx.sh.subshell()
    if not sub.knows(argv[0]):
        await ctx.err(f"timeout: failed to run command '{argv[0]}': No such file or "
                      "directory\n")
        return 127
    task = asyncio.ensure_future(sub.run_argv(argv, ctx.stdin, ctx.stdout, ctx.stderr))
    try:
        done, _ = await asyncio.wait({task}, timeout=ctx.world.clock.real(limit) if limit
                                     else None)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sig = {"KILL": 9, "9": 9, "INT": 2, "2": 2, "HUP": 1}.get(signal_name.upper().replace(
        "SIG", ""), 15)
    if preserve:
        return 128 + sig
    return 137 if sig == 9 else 124


@command("date")
async def c_date(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "uRIs:d:+", ["utc", "iso-8601=", "date=", "rfc-3339="])
    now = ctx.world.clock.now()
    d = (opts.get("-d") or opts.get("--date") or [""])[-1]
    if d:
        try:
            now = _parse_when(d, now)
        except ValueError:
            raise UsageError(f"date: invalid date '{d}'", 1) from None
    utc = "-u" in opts or "--utc" in opts
    tm = time.gmtime(now) if utc else time.localtime(now)
    fmt = next((a[1:] for a in rest if a.startswith("+")), None)
    if fmt is not None:
        fmt = fmt.replace("%s", str(int(now))).replace("%N", f"{int((now % 1) * 1e9):09d}")
        await ctx.out(time.strftime(fmt, tm) + "\n")
    elif "-R" in opts:
        await ctx.out(time.strftime("%a, %d %b %Y %H:%M:%S %z", tm) + "\n")
    elif "-I" in opts or "--iso-8601" in opts:
        await ctx.out(time.strftime("%Y-%m-%d", tm) + "\n")
    else:
        await ctx.out(time.strftime("%a %b %e %I:%M:%S %p %Z %Y", tm) + "\n")
    return 0


def _parse_when(s: str, now: float) -> float:
    s = s.strip()
    if s.startswith("@"):
        return float(s[1:])
    m = re.fullmatch(r"-?(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)(\s+ago)?", s)
    if m:
        mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)[0]]
        return now - int(m.group(1)) * mult
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%H:%M:%S", "%H:%M"):
        try:
            t = time.strptime(s, fmt)
            if fmt.startswith("%H"):
                lt = time.localtime(now)
                return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, t.tm_hour, t.tm_min,
                                    t.tm_sec, 0, 0, -1))
            return time.mktime(t)
        except ValueError:
            continue
    if s in ("today", "yesterday"):
        lt = time.localtime(now)
        mid = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
        return mid - (86400 if s == "yesterday" else 0)
    if s == "now":
        return now
    raise ValueError(s)


@command("hostname")
async def c_hostname(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "fisIAd", ["fqdn", "short"])
    if "-I" in opts or "-i" in opts:
        await ctx.out(f"{ctx.node.addr} \n" if "-I" in opts else f"{ctx.node.addr}\n")
    elif "-f" in opts or "--fqdn" in opts:
        await ctx.out(f"{ctx.node.name}.lan\n")
    elif "-d" in opts:
        await ctx.out("lan\n")
    else:
        await ctx.out(ctx.node.name + "\n")
    return 0


@command("uptime")
async def c_uptime(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "ps", ["pretty", "since"])
    now = ctx.world.clock.now()
    up = now - ctx.node.boot_time
    days, rem = divmod(int(up), 86400)
    hours, mins = rem // 3600, (rem % 3600) // 60
    if "-p" in opts or "--pretty" in opts:
        await ctx.out(f"up {days} days, {hours} hours, {mins} minutes\n")
    elif "-s" in opts:
        await ctx.out(time.strftime("%Y-%m-%d %H:%M:%S\n", time.localtime(ctx.node.boot_time)))
    else:
        await ctx.out(time.strftime(" %H:%M:%S", time.localtime(now))
                      + f" up {days} days, {hours:2d}:{mins:02d},  1 user,  load average: "
                      "0.42, 0.38, 0.35\n")
    return 0


@command("id")
async def c_id(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "ugnr")
    if "-u" in opts or "-g" in opts:
        await ctx.out("root\n" if "-n" in opts else "0\n")
    else:
        await ctx.out("uid=0(root) gid=0(root) groups=0(root)\n")
    return 0


@command("whoami")
async def c_whoami(ctx: Ctx) -> int:
    await ctx.out("root\n")
    return 0


@command("uname")
async def c_uname(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "asnrvmo")
    kernel = "6.8.12-4-pve"
    if "-a" in opts:
        await ctx.out(f"Linux {ctx.node.name} {kernel} #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 "
                      "(2024-11-06T15:04Z) x86_64 GNU/Linux\n")
    elif "-r" in opts:
        await ctx.out(kernel + "\n")
    elif "-n" in opts:
        await ctx.out(ctx.node.name + "\n")
    elif "-m" in opts:
        await ctx.out("x86_64\n")
    else:
        await ctx.out("Linux\n")
    return 0


@command("sha256sum", "md5sum", "sha1sum")
async def c_sum(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "cb", ["check", "quiet", "status"])
    algo = {"sha256sum": hashlib.sha256, "md5sum": hashlib.md5, "sha1sum": hashlib.sha1}[
        ctx.name]
    status = 0
    if "-c" in opts or "--check" in opts:
        for _n, data in await ctx.read_input(files):
            if data is None:
                return 1
            for ln in lines_of(data):
                digest, _, name = ln.partition("  ")
                try:
                    ok = algo(ctx.fs.read_bytes(name, ctx.cwd)).hexdigest() == digest
                except OSError as exc:
                    await ctx.err(f"{ctx.name}: {name}: {exc.strerror}\n")
                    ok = False
                if "--status" not in opts:
                    await ctx.out(f"{name}: {'OK' if ok else 'FAILED'}\n")
                status = status or (0 if ok else 1)
        return status
    for name, data in await ctx.read_input(files):
        if data is None:
            status = 1
            continue
        await ctx.out(f"{algo(data).hexdigest()}  {name}\n")
    return status


@command("base64")
async def c_base64(ctx: Ctx) -> int:
    import base64

    opts, files = gopt(ctx, "dw:", ["decode", "wrap="])
    data = b"".join(d for _n, d in await ctx.read_input(files) if d is not None)
    if "-d" in opts or "--decode" in opts:
        await ctx.out(base64.b64decode(b"".join(data.split())))
    else:
        enc = base64.b64encode(data).decode()
        w = int((opts.get("-w") or opts.get("--wrap") or ["76"])[-1])
        await ctx.out("\n".join(enc[i:i + w] for i in range(0, len(enc), w)) + "\n"
                      if w else enc + "\n")
    return 0


@command("gzip", "gunzip", "zcat")
async def c_gzip(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "cdkfnt9123456789")
    decompress = ctx.name in ("gunzip", "zcat") or "-d" in opts
    to_stdout = ctx.name == "zcat" or "-c" in opts or not files
    status = 0
    for name, data in await ctx.read_input(files):
        if data is None:
            status = 1
            continue
        try:
            result = gzip.decompress(data) if decompress else gzip.compress(data, mtime=0)
        except (OSError, EOFError, zlib.error):
            await ctx.err(f"gzip: {name}: not in gzip format\n")
            status = 1
            continue
        if to_stdout:
            await ctx.out(result)
            continue
        target = name[:-3] if decompress and name.endswith(".gz") else name + ".gz"
        if decompress and not name.endswith(".gz"):
            await ctx.err(f"gzip: {name}: unknown suffix -- ignored\n")
            status = 2
            continue
        if ctx.fs.exists(target, ctx.cwd) and "-f" not in opts:
            await ctx.err(f"gzip: {target} already exists; not overwritten\n")
            status = 2
            continue
        await ctx.fs.write_bytes(target, result, ctx.cwd)
        if "-k" not in opts:
            await ctx.fs.unlink(name, ctx.cwd)
    return status


def _mode_str(mode: int) -> str:
    kind = "d" if st.S_ISDIR(mode) else "l" if st.S_ISLNK(mode) else "-"
    perms = "".join(c if mode & (1 << (8 - k)) else "-" for k, c in enumerate("rwxrwxrwx"))
    if mode & st.S_ISVTX:
        perms = perms[:8] + ("t" if perms[8] == "x" else "T")
    return kind + perms


def _group_of(ctx: Ctx, path: str) -> str:
    return "www-data" if path == "/etc/pve" or path.startswith("/etc/pve/") else "root"


@command("ls")
async def c_ls(ctx: Ctx) -> int:
    opts, paths = gopt(ctx, "lahdrt1SRFiH", ["color=", "full-time", "time-style="])
    long_ = "-l" in opts
    all_ = "-a" in opts
    paths = paths or ["."]
    status = 0
    now = ctx.world.clock.now()
    out: list[str] = []

    def fmt_time(t: float) -> str:
        if "--full-time" in opts:
            return time.strftime("%Y-%m-%d %H:%M:%S.000000000 %z", time.localtime(t))
        if abs(now - t) > 180 * 86400:
            return time.strftime("%b %e  %Y", time.localtime(t))
        return time.strftime("%b %e %H:%M", time.localtime(t))

    def size_str(n: int) -> str:
        if "-h" not in opts:
            return str(n)
        for unit in ("", "K", "M", "G", "T"):
            if n < 1024 or unit == "T":
                return f"{n:.1f}{unit}" if unit and n < 10 else f"{int(round(n))}{unit}"
            n = n / 1024  # type: ignore[assignment]
        return str(n)

    def entry(vpath: str, shown: str) -> list[str]:
        s = ctx.fs.stat(vpath, ctx.cwd, follow=shown in (".", ".."))
        mode = s.st_mode
        if vpath.startswith("/etc/pve") or ctx.abspath(vpath).startswith("/etc/pve"):
            full = ctx.abspath(vpath)
            if st.S_ISDIR(mode):
                mode = (mode & ~0o7777) | (0o700 if full.endswith("/priv") else 0o755)
            elif not st.S_ISLNK(mode):
                mode = (mode & ~0o7777) | (0o600 if "/priv/" in full else 0o640)
        link = ""
        if st.S_ISLNK(mode) and shown not in (".", ".."):
            link = " -> " + ctx.fs.readlink(vpath, ctx.cwd)
        return [_mode_str(mode), str(s.st_nlink), "root", _group_of(ctx, ctx.abspath(vpath)),
                size_str(s.st_size if not st.S_ISDIR(mode) or not ctx.abspath(vpath)
                         .startswith("/etc/pve") else 0),
                fmt_time(s.st_mtime), shown + link]

    def render(rows: list[list[str]]) -> list[str]:
        if not rows:
            return []
        w = [max(len(r[k]) for r in rows) for k in range(5)]
        return [f"{r[0]} {r[1].rjust(w[1])} {r[2].ljust(w[2])} {r[3].ljust(w[3])} "
                f"{r[4].rjust(w[4])} {r[5]} {r[6]}" for r in rows]

    files = []
    dirs = []
    for p in paths:
        try:
            ctx.fs.stat(p, ctx.cwd, follow=not ("-l" in opts and "-H" not in opts
                                                  and ctx.fs.is_link(p, ctx.cwd)
                                                  and not p.endswith("/")))
        except OSError as exc:
            await ctx.err(f"ls: cannot access '{p}': {exc.strerror}\n")
            status = 2
            continue
        if ctx.fs.is_dir(p, ctx.cwd) and "-d" not in opts and not (
                long_ and ctx.fs.is_link(p, ctx.cwd) and not p.endswith("/")):
            dirs.append(p)
        else:
            files.append(p)
    if files:
        if long_:
            out += render([entry(f, f) for f in files])
        else:
            out += files
    for k, d in enumerate(dirs):
        try:
            names = ctx.fs.listdir(d, ctx.cwd)
        except OSError as exc:
            await ctx.err(f"ls: cannot open directory '{d}': {exc.strerror}\n")
            status = 2
            continue
        if not all_:
            names = [n for n in names if not n.startswith(".")]
        if "-t" in opts:
            names.sort(key=lambda n: -ctx.fs.stat(f"{d}/{n}", ctx.cwd, follow=False).st_mtime)
        if "-r" in opts:
            names.reverse()
        if len(paths) > 1 or files:
            if out or k:
                out.append("")
            out.append(f"{d}:")
        if long_:
            rows = []
            if all_:
                rows += [entry(d, "."), entry(f"{d}/..", "..")]
            rows += [entry(f"{d.rstrip('/')}/{n}", n) for n in names]
            total = sum(max(1, (ctx.fs.stat(f"{d.rstrip('/')}/{n}", ctx.cwd, follow=False)
                                .st_size + 4095) // 4096) * 4 for n in names)
            out.append(f"total {total}")
            out += render(rows)
        else:
            out += names
    await ctx.out("".join(x + "\n" for x in out))
    return status


@command("stat")
async def c_stat(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "c:Lf", ["format=", "printf="])
    fmt = (opts.get("-c") or opts.get("--format") or opts.get("--printf") or [""])[-1] or None
    status = 0
    for f in files:
        try:
            s = ctx.fs.stat(f, ctx.cwd, follow="-L" in opts)
        except OSError as exc:
            await ctx.err(f"stat: cannot statx '{f}': {exc.strerror}\n")
            status = 1
            continue
        kind = "directory" if st.S_ISDIR(s.st_mode) else "symbolic link" if st.S_ISLNK(
            s.st_mode) else ("regular empty file" if s.st_size == 0 else "regular file")
        grp = _group_of(ctx, ctx.abspath(f))
        if fmt is None:
            tfmt = "%Y-%m-%d %H:%M:%S.000000000 %z"
            await ctx.out(
                f"  File: {f}\n  Size: {s.st_size:<15} Blocks: {(s.st_size + 511) // 512:<10} "
                f"IO Block: 4096   {kind}\nDevice: 0,45\tInode: {s.st_ino:<11} Links: "
                f"{s.st_nlink}\nAccess: ({s.st_mode & 0o7777:04o}/{_mode_str(s.st_mode)})  "
                f"Uid: (    0/    root)   Gid: (   {0 if grp == 'root' else 33}/"
                f"{grp:>8})\nAccess: {time.strftime(tfmt, time.localtime(s.st_atime))}\n"
                f"Modify: {time.strftime(tfmt, time.localtime(s.st_mtime))}\n"
                f"Change: {time.strftime(tfmt, time.localtime(s.st_ctime))}\n Birth: -\n")
            continue
        rep = {"%s": str(s.st_size), "%a": f"{s.st_mode & 0o7777:o}", "%A": _mode_str(s.st_mode),
               "%U": "root", "%G": grp, "%u": "0", "%g": "0" if grp == "root" else "33",
               "%n": f, "%N": f"'{f}'", "%Y": str(int(s.st_mtime)), "%X": str(int(s.st_atime)),
               "%F": kind, "%i": str(s.st_ino), "%h": str(s.st_nlink),
               "%y": time.strftime("%Y-%m-%d %H:%M:%S.000000000 %z", time.localtime(s.st_mtime)),
               "%%": "%"}
        text = "".join(rep.get(tok, tok) for tok in re.split(r"(%[a-zA-Z%])", fmt))
        await ctx.out(_escapes(text) + ("" if "--printf" in opts else "\n"))
    return status


@command("cp")
async def c_cp(ctx: Ctx) -> int:
    opts, args = gopt(ctx, "apfrRvnuiLdP", ["preserve=", "archive", "no-preserve="])
    if len(args) < 2:
        raise UsageError("cp: missing destination file operand after "
                         f"'{args[0] if args else ''}'\nTry 'cp --help' for more information.", 1)
    *srcs, dst = args
    recursive = any(k in opts for k in ("-a", "-r", "-R", "--archive"))
    preserve = any(k in opts for k in ("-a", "-p", "--archive", "--preserve"))
    dst_dir = ctx.fs.is_dir(dst, ctx.cwd)
    if len(srcs) > 1 and not dst_dir:
        raise UsageError(f"cp: target '{dst}' is not a directory", 1)
    status = 0
    for s in srcs:
        target = f"{dst.rstrip('/')}/{s.rstrip('/').rsplit('/', 1)[-1]}" if dst_dir else dst
        try:
            await _copy(ctx, s, target, recursive, preserve, "-v" in opts)
        except OSError as exc:
            await ctx.err(f"cp: cannot {'stat' if exc.errno == 2 else 'create regular file'} "
                          f"'{s if exc.errno == 2 else target}': {exc.strerror}\n")
            status = 1
    return status


async def _copy(ctx: Ctx, src: str, dst: str, recursive: bool, preserve: bool,
                verbose: bool) -> None:
    fs = ctx.fs
    if fs.is_dir(src, ctx.cwd):
        if not recursive:
            await ctx.err(f"cp: -r not specified; omitting directory '{src}'\n")
            raise OSError(21, "Is a directory", src)
        if not fs.exists(dst, ctx.cwd):
            await fs.mkdir(dst, ctx.cwd)
        for n in fs.listdir(src, ctx.cwd):
            await _copy(ctx, f"{src.rstrip('/')}/{n}", f"{dst.rstrip('/')}/{n}", recursive,
                        preserve, verbose)
        return
    data = fs.read_bytes(src, ctx.cwd)
    if fs.resolve(src, ctx.cwd) == fs.resolve(dst, ctx.cwd):
        raise UsageError(f"cp: '{src}' and '{dst}' are the same file", 1)
    await fs.write_bytes(dst, data, ctx.cwd)
    if verbose:
        await ctx.out(f"'{src}' -> '{dst}'\n")
    if preserve:
        s = fs.stat(src, ctx.cwd)
        h = fs.host(dst, ctx.cwd)
        resolved = fs.resolve(dst, ctx.cwd)
        if fs.pve_rel(resolved) is None:
            os.utime(h, (s.st_atime, s.st_mtime))
            os.chmod(h, s.st_mode & 0o7777)


@command("mv")
async def c_mv(ctx: Ctx) -> int:
    opts, args = gopt(ctx, "fivnuT")
    if len(args) < 2:
        raise UsageError(f"mv: missing destination file operand after '{args[0] if args else ''}'"
                         "\nTry 'mv --help' for more information.", 1)
    *srcs, dst = args
    status = 0
    for s in srcs:
        try:
            await ctx.fs.rename(s, dst, ctx.cwd)
            if "-v" in opts:
                await ctx.out(f"renamed '{s}' -> '{dst}'\n")
        except OSError as exc:
            await ctx.err(f"mv: cannot {'stat' if exc.errno == 2 else 'move'} '{s}'"
                          f"{'' if exc.errno == 2 else f' to {dst!r}'}: {exc.strerror}\n")
            status = 1
    return status


@command("rm")
async def c_rm(ctx: Ctx) -> int:
    opts, files = gopt(ctx, "rfRvid", ["recursive", "force", "no-preserve-root"])
    force = "-f" in opts or "--force" in opts
    recursive = any(k in opts for k in ("-r", "-R", "--recursive"))
    status = 0
    if not files and not force:
        raise UsageError("rm: missing operand\nTry 'rm --help' for more information.", 1)
    for f in files:
        try:
            if not ctx.fs.exists(f, ctx.cwd) and not ctx.fs.is_link(f, ctx.cwd):
                if force:
                    continue
                raise OSError(2, "No such file or directory", f)
            if ctx.fs.is_dir(f, ctx.cwd) and not ctx.fs.is_link(f, ctx.cwd) and not recursive:
                await ctx.err(f"rm: cannot remove '{f}': Is a directory\n")
                status = 1
                continue
            await ctx.fs.unlink(f, ctx.cwd, recursive=recursive)
            if "-v" in opts:
                await ctx.out(f"removed '{f}'\n")
        except OSError as exc:
            await ctx.err(f"rm: cannot remove '{f}': {exc.strerror}\n")
            status = 1
    return status


@command("rmdir")
async def c_rmdir(ctx: Ctx) -> int:
    _, dirs = gopt(ctx, "p")
    status = 0
    for d in dirs:
        try:
            await ctx.fs.rmdir(d, ctx.cwd)
        except OSError as exc:
            await ctx.err(f"rmdir: failed to remove '{d}': {exc.strerror}\n")
            status = 1
    return status


@command("mkdir")
async def c_mkdir(ctx: Ctx) -> int:
    opts, dirs = gopt(ctx, "pvm:")
    status = 0
    mode = int(opts["-m"][-1], 8) if "-m" in opts else 0o755
    for d in dirs:
        try:
            await ctx.fs.mkdir(d, ctx.cwd, parents="-p" in opts, mode=mode)
        except OSError as exc:
            await ctx.err(f"mkdir: cannot create directory '{d}': {exc.strerror}\n")
            status = 1
    return status


@command("touch")
async def c_touch(ctx: Ctx) -> int:
    _, files = gopt(ctx, "cam")
    status = 0
    for f in files:
        try:
            await ctx.fs.touch(f, ctx.cwd)
        except OSError as exc:
            await ctx.err(f"touch: cannot touch '{f}': {exc.strerror}\n")
            status = 1
    return status


@command("chmod", "chown", "chgrp", "sync", "clear", "logger")
async def c_noop(ctx: Ctx) -> int:
    args = [a for a in ctx.argv[1:] if not a.startswith("-")]
    if ctx.name == "chmod" and len(args) >= 2:
        for f in args[1:]:
            try:
                r = ctx.fs.resolve(f, ctx.cwd)
                if ctx.fs.pve_rel(r) is not None:
                    raise OSError(1, "Operation not permitted", f)
                if re.fullmatch(r"[0-7]{3,4}", args[0]):
                    os.chmod(ctx.fs.host(f, ctx.cwd), int(args[0], 8))
            except OSError as exc:
                await ctx.err(f"chmod: changing permissions of '{f}': {exc.strerror}\n")
                return 1
    if ctx.name == "logger":
        ctx.node.log("user", "root", ctx.sh.pid, " ".join(args))
    return 0


@command("ln")
async def c_ln(ctx: Ctx) -> int:
    opts, args = gopt(ctx, "sfnv")
    if len(args) != 2:
        raise UsageError("ln: missing file operand", 1)
    target, link = args
    r = ctx.fs.resolve(link, ctx.cwd, follow_last=False)
    if ctx.fs.pve_rel(r) is not None:
        await ctx.err(f"ln: failed to create symbolic link '{link}': Operation not permitted\n")
        return 1
    h = ctx.node.root / r.lstrip("/")
    if h.exists() or h.is_symlink():
        if "-f" not in opts:
            await ctx.err(f"ln: failed to create symbolic link '{link}': File exists\n")
            return 1
        h.unlink()
    if "-s" in opts:
        h.symlink_to(target)
    else:
        h.write_bytes(ctx.fs.read_bytes(target, ctx.cwd))
    return 0


@command("du")
async def c_du(ctx: Ctx) -> int:
    opts, paths = gopt(ctx, "shcad:", ["max-depth="])
    paths = paths or ["."]
    rows = []
    for p in paths:
        try:
            files = _walk(ctx, ctx.abspath(p)) if ctx.fs.is_dir(p, ctx.cwd) else [p]
            total = sum(ctx.fs.stat(f, ctx.cwd, follow=False).st_size for f in files) + 4096
        except OSError as exc:
            await ctx.err(f"du: cannot access '{p}': {exc.strerror}\n")
            continue
        kb = (total + 1023) // 1024
        size = (f"{kb / 1024:.1f}M" if kb >= 1024 else f"{kb}K") if "-h" in opts else str(kb)
        rows.append(f"{size}\t{p}\n")
    await ctx.out("".join(rows))
    return 0


@command("df")
async def c_df(ctx: Ctx) -> int:
    opts, paths = gopt(ctx, "hTPk", ["output="])
    h = "-h" in opts
    rows = [("udev", "devtmpfs", 8011072, 0, "/dev"),
            ("tmpfs", "tmpfs", 1607584, 2104, "/run"),
            ("/dev/mapper/pve-root", "ext4", 98497780, 14873344, "/"),
            ("/dev/nvme0n1p2", "vfat", 1046512, 12400, "/boot/efi")]
    if ctx.node.pmxcfs.mount == "mounted":
        rows.append(("/dev/fuse", "fuse", 131072, 40, "/etc/pve"))
    if paths:
        if any(ctx.abspath(p).startswith("/etc/pve") for p in paths):
            if ctx.node.pmxcfs.mount == "stale":
                await ctx.err("df: /etc/pve: Transport endpoint is not connected\n")
                return 1
            rows = [r for r in rows if r[4] == "/etc/pve"] or [rows[2]]
        else:
            rows = [rows[2]]

    def fmt(kb: int) -> str:
        if not h:
            return str(kb)
        v = kb * 1024.0
        for unit in ("B", "K", "M", "G", "T"):
            if v < 1024:
                return f"{v:.1f}{unit}" if v < 10 and unit != "B" else f"{int(v)}{unit}"
            v /= 1024
        return f"{v:.1f}P"

    hdr = "Size  Used Avail" if h else "1K-blocks     Used Available"
    out = [f"Filesystem{' ' * 11}{'Type     ' if '-T' in opts else ''}{hdr} Use% Mounted on"]
    for fsname, typ, size, used, mnt in rows:
        pct = f"{(used * 100 + size - 1) // size}%" if size else "-"
        out.append(f"{fsname:<20} {typ + '  ' if '-T' in opts else ''}{fmt(size):>9} "
                   f"{fmt(used):>8} {fmt(size - used):>9} {pct:>4} {mnt}")
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("find")
async def c_find(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    while args and args[0] in ("-H", "-L", "-P"):
        args.pop(0)
    roots = []
    while args and not args[0].startswith("-"):
        roots.append(args.pop(0))
    roots = roots or ["."]
    name = typ = None
    maxdepth = None
    newer_mmin = None
    exec_cmd: list[str] | None = None
    exec_batch = False
    while args:
        a = args.pop(0)
        if a == "-exec":
            exec_cmd = []
            while args and args[0] not in (";", "+"):
                exec_cmd.append(args.pop(0))
            exec_batch = bool(args) and args.pop(0) == "+"
        elif a in ("-name", "-iname"):
            name = args.pop(0)
        elif a == "-type":
            typ = args.pop(0)
        elif a == "-maxdepth":
            maxdepth = int(args.pop(0))
        elif a == "-mmin":
            newer_mmin = args.pop(0)
        elif a in ("-print", "-ls"):
            pass
    out = []
    status = 0
    import fnmatch as fm

    now = ctx.world.clock.now()
    for root in roots:
        if not ctx.fs.exists(root, ctx.cwd):
            await ctx.err(f"find: '{root}': No such file or directory\n")
            status = 1
            continue
        stack = [(root, 0)]
        while stack:
            p, depth = stack.pop(0)
            islink = ctx.fs.is_link(p, ctx.cwd)
            isdir = ctx.fs.is_dir(p, ctx.cwd) and not islink
            kind = "l" if islink else "d" if isdir else "f"
            ok = (name is None or fm.fnmatch(p.rsplit("/", 1)[-1], name)) and (
                typ is None or typ == kind)
            if ok and newer_mmin is not None:
                age = (now - ctx.fs.stat(p, ctx.cwd, follow=False).st_mtime) / 60
                lim = float(newer_mmin.lstrip("+-"))
                ok = age < lim if newer_mmin.startswith("-") else age > lim
            if ok:
                out.append(p)
            if isdir and (maxdepth is None or depth < maxdepth):
                try:
                    for n in ctx.fs.listdir(p, ctx.cwd):
                        stack.append((f"{p.rstrip('/')}/{n}", depth + 1))
                except OSError:
                    pass
    if exec_cmd is None:
        await ctx.out("".join(p + "\n" for p in out))
        return status
    batches = [out] if exec_batch else [[p] for p in out]
    for batch in batches:
        argv: list[str] = []
        for a in exec_cmd:
            argv += batch if a == "{}" else [a]
        rc = await ctx.sh.subshell().run_argv(argv, BytesInput(), ctx.stdout, ctx.stderr)
        status = status or (1 if rc else 0)
    return status


@command("getent")
async def c_getent(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if len(args) < 2 or args[0] not in ("hosts", "ahosts", "passwd"):
        return 2 if len(args) < 1 else 1
    if args[0] == "passwd":
        if args[1] == "root":
            await ctx.out("root:x:0:0:root:/root:/bin/bash\n")
            return 0
        return 2
    key = args[1]
    for line in ctx.fs.read_bytes("/etc/hosts").decode().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and (key in fields[1:] or key == fields[0]):
            await ctx.out(f"{fields[0]:<15} {' '.join(fields[1:])}\n")
            return 0
    return 2


@command("dpkg", "dpkg-query")
async def c_dpkg(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    installed = {"corosync": "3.1.7-pve3", "pve-manager": "8.2.7", "pve-cluster": "8.0.10",
                 "qemu-server": "8.2.7", "sqlite3": "3.40.1-2+deb12u1",
                 "libknet1": "1.28-pve1", "corosync-qdevice": "3.0.3-1"}
    if ctx.node.role == "qnetd":
        installed = {"corosync-qnetd": "3.0.3-1", "openssh-server": "1:9.2p1-2+deb12u3"}
    pkgs = [a for a in args if not a.startswith("-")]
    status = 0
    for p in pkgs:
        if p in installed:
            await ctx.out(f"Package: {p}\nStatus: install ok installed\nVersion: "
                          f"{installed[p]}\n")
        else:
            await ctx.err(f"dpkg-query: package '{p}' is not installed and no information is "
                          "available\nUse dpkg --info (= dpkg-deb --info) to examine archive "
                          "files.\n")
            status = 1
    return status


@command("ssh", "scp", "ssh-copy-id")
async def c_ssh(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    host = next((a.split("@")[-1] for a in args if not a.startswith("-") and (
        "@" in a or "." in a)), "host")
    node = ctx.node
    peer = next((n for n in ctx.world.nodes.values() if host in (n.name, n.addr)), None) \
        or ctx.world.extra_host_by_addr(host)
    if peer is not None and peer is not node:
        rest = args[args.index(next(a for a in args if host in a)) + 1:]
        if not rest:
            raise UsageError("Pseudo-terminal will not be allocated because stdin is not a "
                             "terminal.", 255)
        from pverunbook.sim.shell.executor import Shell

        return await Shell(peer).run_script(" ".join(rest), ctx.stdin, ctx.stdout, ctx.stderr)
    raise UsageError(f"ssh: connect to host {host} port 22: No route to host", 255)


@command("test", "[")
async def c_test(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if ctx.argv[0] == "[":
        if not args or args[-1] != "]":
            raise UsageError("[: missing ]", 2)
        args = args[:-1]
    try:
        return 0 if _test(ctx, args) else 1
    except ValueError as exc:
        await ctx.err(f"sh: 1: {ctx.argv[0]}: {exc}\n")
        return 2


def _test(ctx: Ctx, a: list[str]) -> bool:
    if not a:
        return False
    if "-o" in a:
        k = a.index("-o")
        return _test(ctx, a[:k]) or _test(ctx, a[k + 1:])
    if "-a" in a[1:]:
        k = a.index("-a", 1)
        return _test(ctx, a[:k]) and _test(ctx, a[k + 1:])
    if a[0] == "!":
        return not _test(ctx, a[1:])
    if a[0] == "(" and a[-1] == ")":
        return _test(ctx, a[1:-1])
    if len(a) == 1:
        return a[0] != ""
    if len(a) == 2:
        op, x = a
        fs = ctx.fs
        if op == "-n":
            return x != ""
        if op == "-z":
            return x == ""
        try:
            if op == "-e":
                return fs.exists(x, ctx.cwd)
            if op == "-f":
                return fs.exists(x, ctx.cwd) and not fs.is_dir(x, ctx.cwd)
            if op == "-d":
                return fs.is_dir(x, ctx.cwd)
            if op in ("-L", "-h"):
                return fs.is_link(x, ctx.cwd)
            if op == "-s":
                return fs.exists(x, ctx.cwd) and fs.stat(x, ctx.cwd).st_size > 0
            if op in ("-r", "-w", "-x"):
                return fs.exists(x, ctx.cwd)
        except OSError:
            return False
        raise ValueError(f"{op}: unexpected operator")
    if len(a) == 3:
        x, op, y = a
        if op in ("=", "=="):
            return x == y
        if op == "!=":
            return x != y
        ints = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                "-gt": int.__gt__, "-ge": int.__ge__}
        if op in ints:
            try:
                return bool(ints[op](int(x), int(y)))
            except ValueError:
                raise ValueError(f"Illegal number: {x if not x.lstrip('-').isdigit() else y}") \
                    from None
        if op == "-nt":
            return ctx.fs.stat(x, ctx.cwd).st_mtime > ctx.fs.stat(y, ctx.cwd).st_mtime
    raise ValueError("unexpected operator")


@command("env", "printenv")
async def c_env(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if ctx.name == "env" and args and "=" not in args[0]:
        return await ctx.sh.subshell().run_argv(args, ctx.stdin, ctx.stdout, ctx.stderr)
    env = dict(ctx.env)
    if ctx.name == "printenv" and args:
        if args[0] in env:
            await ctx.out(env[args[0]] + "\n")
            return 0
        return 1
    await ctx.out("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    return 0


@command("which")
async def c_which(ctx: Ctx) -> int:
    from pverunbook.sim.commands import BIN_LOCATION

    status = 0
    for n in ctx.argv[1:]:
        if ctx.sh._lookup(n):
            await ctx.out(f"{BIN_LOCATION.get(n, '/usr/bin')}/{n}\n")
        else:
            status = 1
    return status


@command("nproc")
async def c_nproc(ctx: Ctx) -> int:
    await ctx.out("8\n" if ctx.node.nodeid == 1 else "6\n")
    return 0


@command("free")
async def c_free(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "hmgbkw")
    if "-h" in opts:
        await ctx.out("               total        used        free      shared  buff/cache   "
                      "available\nMem:            31Gi        14Gi       9.8Gi        62Mi       "
                      "7.4Gi        16Gi\nSwap:          8.0Gi          0B       8.0Gi\n")
    else:
        await ctx.out("               total        used        free      shared  buff/cache   "
                      "available\nMem:        32559532    14878120    10273344       63828     "
                      "7751004    17681412\nSwap:        8388604           0     8388604\n")
    return 0


@command("diff")
async def c_diff(ctx: Ctx) -> int:
    import difflib

    opts, files = gopt(ctx, "uqNrw")
    if len(files) != 2:
        raise UsageError("diff: missing operand", 2)
    datas = []
    for f in files:
        try:
            datas.append(lines_of(await ctx.stdin.read_all() if f == "-" else
                                  ctx.fs.read_bytes(f, ctx.cwd)))
        except OSError as exc:
            await ctx.err(f"diff: {f}: {exc.strerror}\n")
            return 2
    if datas[0] == datas[1]:
        return 0
    if "-q" in opts:
        await ctx.out(f"Files {files[0]} and {files[1]} differ\n")
        return 1
    if "-u" in opts:
        diff = difflib.unified_diff(datas[0], datas[1], files[0], files[1], lineterm="")
    else:
        diff = (ln for ln in difflib.ndiff(datas[0], datas[1]) if ln[:1] in "+-")
        diff = (("< " + ln[2:]) if ln.startswith("-") else ("> " + ln[2:]) for ln in diff)
    await ctx.out("".join(ln + "\n" for ln in diff))
    return 1


@command("cmp")
async def c_cmp(ctx: Ctx) -> int:
    _, files = gopt(ctx, "s")
    a, b = (ctx.fs.read_bytes(f, ctx.cwd) for f in files[:2])
    if a == b:
        return 0
    if "-s" not in ctx.argv:
        await ctx.out(f"{files[0]} {files[1]} differ: byte 1, line 1\n")
    return 1


@command("mktemp")
async def c_mktemp(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "dp:t")
    import secrets

    name = f"/tmp/tmp.{secrets.token_hex(5)}"
    if rest:
        name = rest[0].replace("XXXXXXXXXX", secrets.token_hex(5)).replace("XXXXXX",
                                                                              secrets.token_hex(3))
        if not name.startswith("/"):
            name = "/tmp/" + name
    if "-d" in opts:
        await ctx.fs.mkdir(name)
    else:
        await ctx.fs.write_bytes(name, b"")
    await ctx.out(name + "\n")
    return 0


@command("tar")
async def c_tar(ctx: Ctx) -> int:
    """tar c/x/t with z, f and C: enough for backing /etc/pve up to a tarball and back."""
    import io
    import tarfile

    args = ctx.argv[1:]
    if args and not args[0].startswith("-"):
        args[0] = "-" + args[0]
    opts, rest = gopt(ctx, "cxtzvf:C:pP", ["exclude="], args)
    mode = "c" if "-c" in opts else "x" if "-x" in opts else "t" if "-t" in opts else None
    if mode is None:
        raise UsageError("tar: You must specify one of the '-Acdtrux', '--delete' or "
                         "'--test-label' options\nTry 'tar --help' or 'tar --usage' for more "
                         "information.", 2)
    archive = opts.get("-f", ["-"])[-1]
    cdir = opts.get("-C", [ctx.cwd])[-1]
    comp = "gz" if "-z" in opts else ""
    if mode == "c":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if comp else "w") as tf:
            for p in rest:
                base = ctx.fs.abspath(p, cdir)
                items = [base] + (_walk(ctx, base) if ctx.fs.is_dir(base) else [])
                for item in items:
                    arcname = item.lstrip("/") if p.startswith("/") else \
                        ctx.fs.abspath(item).removeprefix(ctx.fs.abspath(cdir).rstrip("/") + "/")
                    info = tarfile.TarInfo(arcname)
                    s = ctx.fs.stat(item, follow=False)
                    info.mtime = int(s.st_mtime)
                    info.mode = s.st_mode & 0o7777
                    if ctx.fs.is_dir(item) and not ctx.fs.is_link(item):
                        info.type = tarfile.DIRTYPE
                        tf.addfile(info)
                    elif ctx.fs.is_link(item):
                        info.type = tarfile.SYMTYPE
                        info.linkname = ctx.fs.readlink(item)
                        tf.addfile(info)
                    else:
                        data = ctx.fs.read_bytes(item)
                        info.size = len(data)
                        tf.addfile(info, io.BytesIO(data))
                    if "-v" in opts:
                        await ctx.err(arcname + "\n")
        if any(p.startswith("/") for p in rest):
            await ctx.err("tar: Removing leading `/' from member names\n")
        if archive == "-":
            await ctx.out(buf.getvalue())
        else:
            await ctx.fs.write_bytes(archive, buf.getvalue(), ctx.cwd)
        return 0
    data = await ctx.stdin.read_all() if archive == "-" else ctx.fs.read_bytes(archive, ctx.cwd)
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 - closed below
    except tarfile.TarError:
        await ctx.err("tar: This does not look like a tar archive\n")
        return 2
    with tf:
        for m in tf.getmembers():
            if mode == "t":
                await ctx.out(m.name + ("/" if m.isdir() else "") + "\n")
                continue
            target = ctx.fs.abspath(m.name, cdir)
            if m.isdir():
                await ctx.fs.mkdir(target, parents=True)
            elif m.isfile():
                f = tf.extractfile(m)
                assert f is not None
                parent = target.rpartition("/")[0] or "/"
                if not ctx.fs.exists(parent):
                    await ctx.fs.mkdir(parent, parents=True)
                await ctx.fs.write_bytes(target, f.read())
            if "-v" in opts:
                await ctx.out(m.name + "\n")
    return 0


@command("sh", "bash", "dash")
async def c_sh(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    while args and args[0].startswith("-") and args[0] not in ("-c", "-s"):
        if "c" in args[0][1:]:
            args[0] = "-c"
            break
        args = args[1:]
    sub = ctx.sh.subshell()
    if args and args[0] == "-c":
        if len(args) < 2:
            raise UsageError(f"{ctx.name}: -c: option requires an argument", 2)
        sub.positional = args[3:]
        return await sub.run_script(args[1], ctx.stdin, ctx.stdout, ctx.stderr)
    if args and args[0] != "-s":
        try:
            src = ctx.fs.read_bytes(args[0], ctx.cwd).decode("utf-8", "replace")
        except OSError:
            await ctx.err(f"{ctx.name}: 0: cannot open {args[0]}: No such file\n")
            return 2
        sub.positional = args[1:]
        return await sub.run_script(src, BytesInput(), ctx.stdout, ctx.stderr)
    src = (await ctx.stdin.read_all()).decode("utf-8", "replace")
    return await sub.run_script(src, BytesInput(), ctx.stdout, ctx.stderr)


@command("watch")
async def c_watch(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "n:tdx")
    interval = float(opts.get("-n", ["2"])[-1])
    while True:
        buf = BufferOutput()
        await ctx.sh.subshell().run_script(" ".join(rest), BytesInput(), buf, buf)
        await ctx.out(bytes(buf.buf))
        await ctx.sleep(interval)
