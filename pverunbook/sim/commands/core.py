"""The emulated programs' shared helpers (option parsing, tree walks) and the small system
tools: true/false, sleep, timeout, date, hostname, uptime, id, uname, getent, dpkg, ssh, test,
env, which, nproc, free, sh, watch. Text tools live in :mod:`.text`, file tools in :mod:`.files`.

Each keeps the real tool's message and exit-status conventions for the options it supports;
an unsupported option fails loudly (``invalid option``) instead of doing something else.
"""

from __future__ import annotations

import asyncio
import contextlib
import getopt
import re
import time
from collections.abc import Iterable

from pverunbook.sim import etc_hosts
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


def walk(ctx: Ctx, top: str) -> list[str]:
    out: list[str] = []
    try:
        names = ctx.fs.listdir(top)
    except OSError:
        return out
    for n in names:
        p = top.rstrip("/") + "/" + n
        if ctx.fs.is_dir(p) and not ctx.fs.is_link(p):
            out += walk(ctx, p)
        else:
            out.append(p)
    return out


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
    """GNU timeout: 124 when the limit is hit, the command's status otherwise; ``-v`` says on
    stderr which signal it sent (coreutils timeout.c ``cleanup``: "sending signal %s to
    command %s")."""
    args = ctx.argv[1:]
    signal_name = "TERM"
    kill_after = None
    preserve = False
    verbose = False
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
            verbose = verbose or a in ("-v", "--verbose")
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
    started = ctx.world.clock.now()
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
    ctx.world.clock.waited(started, limit)
    sig = {"KILL": 9, "9": 9, "INT": 2, "2": 2, "HUP": 1}.get(signal_name.upper().replace(
        "SIG", ""), 15)
    if verbose:
        name = {9: "KILL", 2: "INT", 1: "HUP"}.get(sig, "TERM")
        await ctx.err(f"timeout: sending signal {name} to command '{argv[0]}'\n")
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
        # The kernel's node name comes from /etc/hostname at boot and may be a FQDN
        # (`pve001.lan`); `-s` cuts it at the first dot, as pmxcfs.c does for its node name.
        try:
            words = ctx.node.host("/etc/hostname").read_text().split()
        except OSError:
            words = []
        name = words[0] if words else ctx.node.name
        await ctx.out((name.split(".", 1)[0] if "-s" in opts or "--short" in opts
                       else name) + "\n")
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
    hosts = ctx.fs.read_bytes("/etc/hosts").decode()
    if args[0] == "ahosts":
        # getent.c ahosts_keys: every getaddrinfo answer, once per socket type; the
        # canonical name only on the first line
        found = etc_hosts.addresses(hosts, key)
        for i, addr in enumerate(found):
            await ctx.out(f"{addr:<15} STREAM {key if i == 0 else ''}\n"
                          f"{addr:<15} DGRAM  \n{addr:<15} RAW    \n")
        return 0 if found else 2
    for line in hosts.splitlines():
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
