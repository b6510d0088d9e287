"""Process, storage and service-check tools: ps, pgrep, sqlite3, curl, ss... (openssl: tls.py;
lvs, vgs: lvm.py)

``ps`` lists the simulated daemons, the running kvm processes (real PVE 8 command lines) and
the commands of the current session, so ``ps aux | grep qemu`` shows its own grep as on a node.
"""

from __future__ import annotations

import io
import re
import sqlite3
import time
from typing import Any

from pverunbook.sim.commands.core import gopt
from pverunbook.sim.commands.lvm import _volumes
from pverunbook.sim.commands.tls import web_ok
from pverunbook.sim.node import UNIT_INFO, SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command


def process_table(node: SimNode) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = [(1, ["/sbin/init"]), (2, ["[kthreadd]"])]
    for name, u in node.units.items():
        if u.state != "active":
            continue
        if name == "corosync":
            if node.corosync.running:
                rows.append((node.corosync.pid, ["/usr/sbin/corosync", "-f"]))
            continue
        if name == "pve-cluster":
            continue
        cmd = UNIT_INFO[name][1]
        if cmd:
            rows.append((u.pid, cmd.split()))
            if name in ("pveproxy", "pvedaemon", "spiceproxy"):
                for k in range(1, 4 if name != "spiceproxy" else 2):
                    rows.append((u.pid + k, [f"{name} worker"]))
    if node.pmxcfs.state == "running":
        rows.append((node.pmxcfs.pid, ["/usr/bin/pmxcfs"] + (["-l"] if node.pmxcfs.local_mode
                                                             else [])))
    for vm in node.vms.values():
        rows.append((vm.pid, vm.argv))
    for p in node.procs.values():
        rows.append((p.pid, p.argv))
    return sorted(rows)


@command("ps")
async def c_ps(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    node = ctx.node
    now = ctx.world.clock.now()
    table = process_table(node)
    fmt_i = next((k for k, a in enumerate(args) if a.startswith("-") and a.endswith("o")), None)
    if fmt_i is not None and fmt_i + 1 < len(args):
        args = args[:fmt_i] + ["-o"] + args[fmt_i + 1:]
    if any(a.startswith("-") and ("o" in a or "p" in a or "C" in a) for a in args):
        fields = ["pid", "args"]
        if "-o" in args:
            fields = [f.split("=")[0] for f in args[args.index("-o") + 1].split(",")]
        if "-p" in args:
            want = {int(x) for x in args[args.index("-p") + 1].split(",") if x.isdigit()}
            table = [r for r in table if r[0] in want]
        if "-C" in args:
            name = args[args.index("-C") + 1]
            table = [r for r in table if r[1][0].rsplit("/", 1)[-1] == name]
        out = []
        noheader = any(f.endswith("=") for f in args[args.index("-o") + 1].split(",")) \
            if "-o" in args else False
        if not noheader:
            out.append(" ".join({"pid": "    PID", "args": "COMMAND", "cmd": "CMD",
                                 "comm": "COMMAND", "etimes": "ELAPSED", "rss": "  RSS"}
                                .get(f, f.upper()) for f in fields))
        for pid, argv in table:
            vals = {"pid": f"{pid:7d}", "args": " ".join(argv), "cmd": " ".join(argv),
                    "comm": argv[0].rsplit("/", 1)[-1][:15], "etimes": "  259200",
                    "rss": "  4096", "user": "root"}
            out.append(" ".join(vals.get(f, "-") for f in fields))
        if not table:
            await ctx.out("\n".join(out) + "\n")
            return 1
        await ctx.out("\n".join(out) + "\n")
        return 0
    out = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"]
    for pid, argv in table:
        vm = next((v for v in node.vms.values() if v.pid == pid), None)
        transient = node.procs.get(pid)
        start = time.strftime("%b%d", time.localtime(node.boot_time))
        if transient:
            start = time.strftime("%H:%M", time.localtime(transient.started))
        if vm:
            mem = int(vm.conf.get("memory", "1024"))
            line = (f"root     {pid:>7} {11.3 if vm.vmid == 108 else 2.1:>4} "
                    f"{mem / 320:>4.1f} {mem * 1024 + 812344:>7} {mem * 1000:>5} ?        Sl   "
                    f"{start} {int((now - vm.started) / 3600):>3}:{vm.vmid % 60:02d} ")
        elif transient:
            line = (f"root     {pid:>7}  0.0  0.0   6332  2048 {transient.tty:<8} "
                    f"{transient.stat:<4} {start}   0:00 ")
        else:
            line = (f"root     {pid:>7}  0.0  0.2 {91000 + pid % 9000:>6} {12000 + pid % 3000:>5}"
                    f" ?        Ss   {start}   0:{pid % 60:02d} ")
        out.append(line + " ".join(argv))
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("pgrep", "pidof")
async def c_pgrep(ctx: Ctx) -> int:
    if ctx.name == "pidof":
        names = [a for a in ctx.argv[1:] if not a.startswith("-")]
        pids = [str(pid) for pid, argv in reversed(process_table(ctx.node))
                if argv[0].rsplit("/", 1)[-1] in names]
        if not pids:
            return 1
        await ctx.out(" ".join(pids) + "\n")
        return 0
    opts, pats = gopt(ctx, "flaxc")
    if not pats:
        raise UsageError("pgrep: no matching criteria specified\nTry `pgrep --help' for more "
                         "information.", 2)
    hits = []
    for pid, argv in process_table(ctx.node):
        if argv[0] in ("pgrep",):
            continue
        name = argv[0].rsplit("/", 1)[-1]
        hay = " ".join(argv) if "-f" in opts else name
        ok = hay == pats[0] if "-x" in opts else re.search(pats[0], hay) is not None
        if ok:
            hits.append((pid, name, " ".join(argv)))
    if "-c" in opts:
        await ctx.out(f"{len(hits)}\n")
    else:
        await ctx.out("".join(f"{p} {full}\n" if "-a" in opts else (
            f"{p} {n}\n" if "-l" in opts else f"{p}\n") for p, n, full in hits))
    return 0 if hits else 1


# -- sqlite3 ------------------------------------------------------------------------------

@command("sqlite3")
async def c_sqlite3(ctx: Ctx) -> int:
    """sqlite3 on the node's real files (config.db, backups), via Python's sqlite3."""
    args = [a for a in ctx.argv[1:] if a not in ("-batch", "-bail", "-readonly")]
    opts = {a for a in ctx.argv[1:] if a.startswith("-")}
    args = [a for a in args if not a.startswith("-") or a in ("-header", "-line")]
    if not args:
        raise UsageError("sqlite3: interactive mode is not available in the rehearsal; pass SQL "
                         "or a dot-command as an argument", 1)
    dbfile, sqls = args[0], args[1:]
    if not sqls:
        sqls = [(await ctx.stdin.read_all()).decode("utf-8", "replace")]
    resolved = ctx.fs.resolve(dbfile, ctx.cwd)
    host = ctx.node.root / resolved.lstrip("/")
    if ctx.fs.pve_rel(resolved) is not None:
        raise UsageError(f"Error: unable to open database \"{dbfile}\": unable to open "
                         "database file", 1)
    if not host.parent.exists():
        raise UsageError(f"Error: unable to open database \"{dbfile}\": unable to open "
                         "database file", 1)
    uri = host.as_uri() + ("?mode=ro" if "-readonly" in opts else "")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"Error: unable to open database \"{dbfile}\": {exc}", 1) from None
    try:
        for sql in sqls:
            for stmt in _split_sql(sql):
                status = await _sqlite_stmt(ctx, conn, stmt, host)
                if status:
                    return status
        conn.commit()
    finally:
        conn.close()
    return 0


def _split_sql(sql: str) -> list[str]:
    out = []
    buf = ""
    for line in sql.splitlines():
        if line.strip().startswith(".") and not buf.strip():
            out.append(line.strip())
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


async def _sqlite_stmt(ctx: Ctx, conn: sqlite3.Connection, stmt: str, host: object) -> int:
    if stmt.startswith("."):
        parts = stmt.split()
        cmd = parts[0]
        if cmd == ".backup" or cmd == ".save":
            target = parts[-1].strip("'\"")
            if ctx.fs.pve_rel(ctx.fs.resolve(target, ctx.cwd)) is not None:
                raise UsageError(f"Error: cannot open \"{target}\"", 1)
            dest = sqlite3.connect(ctx.fs.host(target, ctx.cwd))
            try:
                conn.backup(dest)
            finally:
                dest.close()
            return 0
        if cmd == ".dump":
            try:
                text = "\n".join(conn.iterdump())
            except sqlite3.DatabaseError as exc:
                raise UsageError(f"Error: {exc}", 1) from None
            text = text.replace("BEGIN TRANSACTION;", "PRAGMA foreign_keys=OFF;\n"
                                "BEGIN TRANSACTION;", 1)
            await ctx.out(text + "\n")
            return 0
        if cmd == ".tables":
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            await ctx.out("  ".join(names) + ("\n" if names else ""))
            return 0
        if cmd == ".schema":
            for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE sql NOT NULL"):
                await ctx.out(sql + ";\n")
            return 0
        if cmd in (".quit", ".exit", ".headers", ".mode", ".timeout"):
            return 0
        raise UsageError(f"Error: unknown command or invalid arguments:  \"{cmd[1:]}\". Enter "
                         "\".help\" for help", 1)
    try:
        cur = conn.execute(stmt)
        for row in cur.fetchall():
            await ctx.out("|".join("" if v is None else (
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in row)
                + "\n")
    except sqlite3.Error as exc:
        raise UsageError(f"Parse error near line 1: {exc}" if "syntax" in str(exc)
                         else f"Runtime error near line 1: {exc}", 1) from None
    return 0


# -- certificates and the web UI --------------------------------------------------------

INDEX_HTML = """<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">
    <title>{node} - Proxmox Virtual Environment</title>
    <link rel="icon" sizes="128x128" href="/pve2/images/logo-128.png" />
    <link rel="apple-touch-icon" sizes="128x128" href="/pve2/images/logo-128.png" />
    <link rel="stylesheet" type="text/css" href="/pve2/ext6/theme-crisp/resources/theme-crisp-all.css?ver=7.0.0" />
  </head>
  <body>
  </body>
</html>
"""  # noqa: E501


@command("curl")
async def c_curl(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    url = next((a for a in args if "://" in a or a.startswith("localhost")), None)
    fmt = None
    outfile = None
    head = False
    silent = False
    k = 0
    while k < len(args):
        a = args[k]
        if a in ("-w", "--write-out"):
            fmt = args[k + 1]
            k += 1
        elif a in ("-o", "--output"):
            outfile = args[k + 1]
            k += 1
        elif a in ("-m", "--max-time", "--connect-timeout", "-H", "-d", "-X", "-u"):
            k += 1
        elif a in ("-I", "--head"):
            head = True
        elif a.startswith("-") and not a.startswith("--") and "s" in a:
            silent = True
            head = head or "I" in a
            if "o" in a[1:] and k + 1 < len(args):
                outfile = args[k + 1]
                k += 1
        k += 1
    if url is None:
        raise UsageError("curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' "
                         "for more information", 2)
    m = re.match(r"(https?)://([^/:]+)(?::(\d+))?", url)
    host, port = (m.group(2), int(m.group(3) or (443 if m.group(1) == "https" else 80))) \
        if m else ("localhost", 80)
    node = ctx.node
    local = host in ("localhost", "127.0.0.1", node.name, node.addr, "::1")
    if port != 8006 or not local:
        if not silent or "-S" in " ".join(args):
            await ctx.err(f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                          "Couldn't connect to server\n")
        if fmt:
            await ctx.out(fmt.replace("%{http_code}", "000").replace("\\n", "\n"))
        return 7
    if not web_ok(node):
        if not silent or "-S" in " ".join(args):
            await ctx.err(f"curl: (35) OpenSSL SSL_connect: Connection reset by peer in "
                          f"connection to {host}:{port} \n")
        if fmt:
            await ctx.out(fmt.replace("%{http_code}", "000").replace("\\n", "\n"))
        return 35
    if m and m.group(1) == "https" and "-k" not in args and "--insecure" not in args and not any(
            a.startswith("-") and not a.startswith("--") and "k" in a for a in args):
        await ctx.err("curl: (60) SSL certificate problem: unable to get local issuer "
                      "certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\n"
                      "curl failed to verify the legitimacy of the server and therefore could not"
                      "\nestablish a secure connection to it. To learn more about this situation "
                      "and\nhow to fix it, please visit the web page mentioned above.\n")
        return 60
    body = INDEX_HTML.replace("{node}", node.name)
    if head:
        body = ("HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\nConnection: close\r\n"
                "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(
                    ctx.world.clock.now())) + "\r\nPragma: no-cache\r\nServer: pve-api-daemon/3.0"
                "\r\nContent-Type: text/html; charset=utf-8\r\n\r\n")
    if outfile and outfile != "/dev/null":
        await ctx.fs.write_bytes(outfile, body.encode(), ctx.cwd)
    elif not outfile:
        await ctx.out(body)
    if fmt:
        await ctx.out(fmt.replace("%{http_code}", "200").replace("\\n", "\n"))
    return 0


# -- storage --------------------------------------------------------------------------------

@command("blockdev")
async def c_blockdev(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if not args or args[0] not in ("--getsize64", "--getsz", "--getss"):
        raise UsageError("blockdev: Unknown command or missing argument", 1)
    status = 0
    for dev in args[1:]:
        try:
            size = int(ctx.fs.read_bytes(dev, ctx.cwd).split()[0])
        except (OSError, ValueError, IndexError):
            await ctx.err(f"blockdev: cannot open {dev}: No such file or directory\n")
            status = 1
            continue
        val = size if args[0] == "--getsize64" else (size // 512 if args[0] == "--getsz"
                                                      else 512)
        await ctx.out(f"{val}\n")
    return status


@command("lsblk")
async def c_lsblk(ctx: Ctx) -> int:
    rows = ["NAME                         MAJ:MIN RM   SIZE RO TYPE MOUNTPOINTS",
            "nvme0n1                      259:0    0 465.8G  0 disk",
            "├─nvme0n1p1                  259:1    0  1007K  0 part",
            "├─nvme0n1p2                  259:2    0     1G  0 part /boot/efi",
            "└─nvme0n1p3                  259:3    0 464.8G  0 part",
            "  ├─pve-swap                 252:0    0     8G  0 lvm  [SWAP]",
            "  ├─pve-root                 252:1    0    96G  0 lvm  /"]
    for name, size in _volumes(ctx.node):
        rows.append(f"  ├─pve-{name.replace('-', '--'):<20} 252:{10 + len(rows)}    0 "
                    f"{size / (1 << 30):>5.0f}G  0 lvm")
    await ctx.out("\n".join(rows) + "\n")
    return 0


@command("dmesg")
async def c_dmesg(ctx: Ctx) -> int:
    up = ctx.world.clock.now() - ctx.node.boot_time
    lines = [f"[{up - 5000 + k * 611.3:12.6f}] {msg}" for k, msg in enumerate([
        "nvme 0000:02:00.0: PCIe Bus Error: severity=Correctable, type=Physical Layer, "
        "(Receiver ID)",
        "nvme 0000:02:00.0:   device [15b7:5006] error status/mask=00000001/0000e000",
        "nvme 0000:02:00.0:    [ 0] RxErr                  (First)",
        "vmbr0: port 2(tap108i0) entered forwarding state",
    ])]
    await ctx.out("\n".join(lines) + "\n")
    return 0


@command("ss")
async def c_ss(ctx: Ctx) -> int:
    args = "".join(a.lstrip("-") for a in ctx.argv[1:] if a.startswith("-"))
    node = ctx.node
    rows: list[tuple[Any, ...]] = []
    if "t" in args:
        rows += [("tcp", "LISTEN", "0.0.0.0:22", "sshd", 812)]
        for unit, local, proc in (("pveproxy", "*:8006", "pveproxy worker"),
                                  ("pvedaemon", "127.0.0.1:85", "pvedaemon worke"),
                                  ("spiceproxy", "*:3128", "spiceproxy work"),
                                  ("corosync-qnetd", "*:5403", "corosync-qnetd")):
            u = node.units.get(unit)
            if u is not None and u.state == "active":
                rows.append(("tcp", "LISTEN", local, proc, u.pid + (unit != "corosync-qnetd")))
        rows += qdevice_sockets(node)
    if "u" in args and node.corosync.running:
        rows.append(("udp", "UNCONN", f"{node.addr}:5405", "corosync", node.corosync.pid))
    if "l" not in args and "a" not in args:
        rows = [r for r in rows if r[1] == "ESTAB"]
    elif "l" in args:
        rows = [r for r in rows if r[1] != "ESTAB"]
    out = ["Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess"]
    for row in rows:
        proto, state, local, name, pid = row[:5]
        peer = row[5] if len(row) > 5 else ("0.0.0.0:*" if proto == "tcp" else "*:*")
        proc = f' users:(("{name}",pid={pid},fd=6))' if "p" in args else ""
        out.append(f"{proto:<5} {state:<6} 0      {'4096' if proto == 'tcp' else '0':<6} "
                   f"{local:>18}  {peer:>17}{proc}")
    await ctx.out("\n".join(out) + "\n")
    return 0


_ = io


def qdevice_sockets(node: SimNode) -> list[tuple[Any, ...]]:
    """Established TCP 5403 connections: corosync-qdevice on a node, qnetd's peers on the host.

    Rows are (proto, state, local, process, pid, peer) as :func:`c_ss` prints them.
    """
    world = node.world
    rows: list[tuple[Any, ...]] = []
    if node.role == "qnetd":
        if node.units["corosync-qnetd"].state != "active":
            return rows
        for n in world.nodes.values():
            u = n.units.get("corosync-qdevice")
            if n.qdevice_configured and u is not None and u.state == "active":
                rows.append(("tcp", "ESTAB", f"{node.addr}:5403", "corosync-qnetd",
                             node.units["corosync-qnetd"].pid, f"{n.addr}:{40000 + n.nodeid}"))
        return rows
    host = world.qnetd_host()
    u = node.units.get("corosync-qdevice")
    if host is not None and node.qdevice_configured and u is not None and u.state == "active" \
            and host.units["corosync-qnetd"].state == "active":
        rows.append(("tcp", "ESTAB", f"{node.addr}:{40000 + node.nodeid}", "corosync-qdevice",
                     u.pid, f"{host.addr}:5403"))
    return rows
