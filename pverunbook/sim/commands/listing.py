"""Looking at files on the rehearsal nodes: ls, stat, du, df, find (GNU coreutils/findutils
output and messages, as on Debian 12).

/etc/pve shows pmxcfs's modes and owner (``root:www-data``, 0640, ``priv`` 0700) whatever the
mirror directory holds.
"""

from __future__ import annotations

import posixpath
import re
import stat as st
import time

from pverunbook.sim.commands.core import gopt, walk
from pverunbook.sim.commands.text import expand_escapes
from pverunbook.sim.shell.executor import Ctx, command
from pverunbook.sim.shell.streams import BytesInput

#: pmxcfs.c create_dot_files: the status plugins' modes (.debug is writable by root)
DOT_MODES = {".version": 0o440, ".members": 0o440, ".vmlist": 0o440, ".rrd": 0o440,
             ".clusterlog": 0o440, ".debug": 0o640}


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
    opts, paths = gopt(ctx, "lahAdrt1SRFiH", ["color=", "full-time", "time-style=", "all",
                                              "almost-all"])
    long_ = "-l" in opts
    #: -a lists dot files and the directory's own ``.`` and ``..``; -A only the dot files
    all_ = "-a" in opts or "--all" in opts
    almost = all_ or "-A" in opts or "--almost-all" in opts
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
            elif posixpath.basename(full) in DOT_MODES and posixpath.dirname(full) == "/etc/pve":
                mode = (mode & ~0o7777) | DOT_MODES[posixpath.basename(full)]
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
        if not almost:
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
            out += ([".", ".."] if all_ else []) + names
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
        await ctx.out(expand_escapes(text) + ("" if "--printf" in opts else "\n"))
    return status


@command("du")
async def c_du(ctx: Ctx) -> int:
    opts, paths = gopt(ctx, "shcad:", ["max-depth="])
    paths = paths or ["."]
    rows = []
    for p in paths:
        try:
            files = walk(ctx, ctx.abspath(p)) if ctx.fs.is_dir(p, ctx.cwd) else [p]
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
