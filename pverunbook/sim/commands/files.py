"""File tools of the rehearsal nodes: basename, dirname, readlink, cp, mv, rm, mkdir, touch,
ln, mktemp, tar (ls, stat, du, df and find are in :mod:`.listing`).

Everything goes through the node's :class:`~pverunbook.sim.fs.NodeFS`, so under /etc/pve
writes block without quorum and replicate through pmxcfs like on a node.
"""

from __future__ import annotations

import errno
import os
import re

from pverunbook.sim.commands.core import gopt, walk
from pverunbook.sim.shell.executor import Ctx, UsageError, command


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
    """coreutils touch [-c] [-d @SECONDS]: only the ``@N`` date form (what a runbook uses to
    send pmxcfs its unlock request, ``touch -c -d @0 LOCKDIR``)."""
    opts, files = gopt(ctx, "camd:", ["no-create", "date="])
    dates = opts.get("-d", []) + opts.get("--date", [])
    mtime: int | None = None
    if dates:
        d = dates[-1]
        if not (d.startswith("@") and d[1:].isdigit()):
            raise UsageError(f"touch: invalid date format '{d}'", 1)
        mtime = int(d[1:])
    create = "-c" not in opts and "--no-create" not in opts
    status = 0
    for f in files:
        existed = ctx.fs.exists(f, ctx.cwd)
        try:
            await ctx.fs.touch(f, ctx.cwd, mtime=mtime, create=create)
        except OSError as exc:
            if not create and exc.errno == errno.ENOENT:
                continue  # touch.c: with -c a file that is gone is no error
            verb = "setting times of" if existed else "cannot touch"
            await ctx.err(f"touch: {verb} '{f}': {exc.strerror}\n")
            status = 1
    return status


@command("truncate")
async def c_truncate(ctx: Ctx) -> int:
    """coreutils truncate -s SIZE [-c]. Under /etc/pve a size change is a replicated write:
    it waits like every write there, and pmxcfs refuses sizes above its 1 MiB file limit with
    EFBIG before anything changes (pve-cluster memdb.c memdb_pwrite)."""
    import errno

    from pverunbook.sim.fs import MAX_PVE_FILE

    opts, files = gopt(ctx, "cs:", ["no-create", "size="])
    size_s = (opts.get("-s") or opts.get("--size") or [""])[-1]
    if not size_s.isdigit():
        raise UsageError("truncate: you must specify either '--size' or '--reference'", 1)
    size = int(size_s)
    status = 0
    for f in files:
        try:
            if not ctx.fs.exists(f, ctx.cwd):
                if "-c" in opts or "--no-create" in opts:
                    continue
                await ctx.fs.write_bytes(f, b"", ctx.cwd)
            r = await ctx.fs.prepare_write(f, ctx.cwd)
            if ctx.fs.pve_rel(r) is not None:
                if size > MAX_PVE_FILE:
                    raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), r)
                data = ctx.fs.read_bytes(r)
                await ctx.fs.write_bytes(r, data[:size].ljust(size, b"\0"), ctx.cwd)
            else:
                os.truncate(ctx.fs.host(r, ctx.cwd), size)
        except OSError as exc:
            await ctx.err(f"truncate: failed to truncate '{f}' at {size} bytes: "
                          f"{exc.strerror}\n")
            status = 1
    return status


@command("clear")
async def c_clear(ctx: Ctx) -> int:
    """ncurses ``clear`` (clear.c): home, erase the screen and, where the terminal has E3
    (xterm and its kin do), the scrollback; without $TERM it cannot know how."""
    term = ctx.env.get("TERM") or ctx.sh.vars.get("TERM", "")
    if not term:
        await ctx.err("TERM environment variable not set.\n")
        return 1
    await ctx.out("\x1b[H\x1b[2J" + ("\x1b[3J" if term.startswith(("xterm", "screen", "tmux"))
                                     else ""))
    return 0


@command("chmod", "chown", "chgrp", "sync", "logger")
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
                items = [base] + (walk(ctx, base) if ctx.fs.is_dir(base) else [])
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
