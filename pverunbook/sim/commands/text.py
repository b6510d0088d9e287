"""Text tools of the rehearsal nodes: echo, printf, cat, head, wc, sort, uniq, cut, tr, grep,
sed, awk, tee, xargs, seq, sums, base64, gzip, diff, cmp.

Behaviour and messages follow GNU coreutils/grep/sed and mawk on Debian 12 where runbooks or
people can tell the difference; options nobody uses in a recovery are not emulated.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Callable

from pverunbook.sim.commands.core import gopt, lines_of
from pverunbook.sim.shell.executor import Ctx, UsageError, command
from pverunbook.sim.shell.streams import BytesInput


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
        text = expand_escapes(text)
    await ctx.out(text + ("\n" if newline else ""))
    return 0


def expand_escapes(text: str) -> str:
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
            out.append(expand_escapes(fmt[pos:m.start()]))
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
                out.append((pyspec + "s") % expand_escapes(arg))
            else:
                out.append((pyspec + "s") % arg)
        out.append(expand_escapes(fmt[pos:]))
        if not consumed:
            break
    await ctx.out("".join(out))
    return 0


#: GNU cat's long options, as the short ones they stand for (coreutils src/cat.c)
CAT_LONG = {"--show-all": "-A", "--number-nonblank": "-b", "--show-ends": "-E",
            "--number": "-n", "--squeeze-blank": "-s", "--show-tabs": "-T",
            "--show-nonprinting": "-v"}


@command("cat")
async def c_cat(ctx: Ctx) -> int:
    """GNU cat with its options (coreutils src/cat.c): -A = -vET, -e = -vE, -t = -vT, -b
    numbers non-blank lines (over -n), -s squeezes blank lines, -u is ignored; an unknown
    option is refused as cat refuses it. (``cat -A`` printed the file unchanged.)"""
    opts, files = gopt(ctx, "AbeEnstTuv", [k[2:] for k in CAT_LONG])
    flags: set[str] = set()
    for k in opts:
        k = CAT_LONG.get(k, k)
        flags |= {"-A": {"-v", "-E", "-T"}, "-e": {"-v", "-E"},
                  "-t": {"-v", "-T"}}.get(k, {k})
    status = 0
    number = 0
    blank_before = False
    for _name, data in await ctx.read_input(files) if files else [("-", None)]:
        if data is None and _name != "-":
            status = 1
            continue
        if data is None:
            chunks = []
            while chunk := await ctx.stdin.read(65536):
                if not flags - {"-u"}:
                    await ctx.out(chunk)
                else:
                    chunks.append(chunk)
            if not chunks:
                continue
            data = b"".join(chunks)
        if not flags - {"-u"}:
            await ctx.out(data)
            continue
        out = []
        for line in data.splitlines(keepends=True):
            body, end = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
            blank = body == b""
            if "-s" in flags and blank and blank_before:
                continue
            blank_before = blank
            if "-b" in flags and not blank or "-n" in flags and "-b" not in flags:
                number += 1
                out.append(f"{number:6d}\t".encode())
            out.append(_shown(body, flags) + (b"$" if end and "-E" in flags else b"") + end)
        await ctx.out(b"".join(out))
    return status


def _shown(body: bytes, flags: set[str]) -> bytes:
    """A line as cat -v / -T shows it: ^X for control bytes, M- for bytes >= 128, ^? for
    DEL, ^I for a tab (only under -T)."""
    if "-v" not in flags and "-T" not in flags:
        return body
    out = bytearray()
    for c in body:
        if c == 9:
            out += b"^I" if "-T" in flags else b"\t"
        elif "-v" not in flags:
            out.append(c)
        else:
            meta = c >= 128
            c &= 0x7F if meta else 0xFF
            out += b"M-" if meta else b""
            out += b"^?" if c == 127 else (b"^" + bytes([c + 64])) if c < 32 else bytes([c])
    return bytes(out)


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
    s = expand_escapes(s)
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


@command("seq")
async def c_seq(ctx: Ctx) -> int:
    nums = [int(x) for x in ctx.argv[1:]]
    a, step, b = (1, 1, nums[0]) if len(nums) == 1 else (
        (nums[0], 1, nums[1]) if len(nums) == 2 else (nums[0], nums[1], nums[2]))
    await ctx.out("".join(f"{k}\n" for k in range(a, b + (1 if step > 0 else -1), step)))
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
