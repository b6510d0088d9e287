"""Services and processes: systemctl, journalctl, pmxcfs, kill/pkill/killall, umount, mount.

Unit behaviour follows the Debian units (pve-cluster.service: pmxcfs only, no updatecerts
since pve-cluster commit 84c3ab0; pveproxy.service: ExecStartPre updatecerts); every state
change goes through the World.
"""

from __future__ import annotations

import re
import time

from pverunbook.sim.commands.core import _parse_when, gopt, lines_of
from pverunbook.sim.commands.pve import updatecerts
from pverunbook.sim.corosync_daemon import qdevice_register_refused
from pverunbook.sim.node import UNIT_INFO, JournalEntry, SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command

PVE_VERSION = "pve-manager/8.2.7/3e0176e6bb2ade3b (running kernel: 6.8.12-4-pve)"


def _unit_name(s: str) -> str:
    return s[:-8] if s.endswith(".service") else s


def _ago(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d} day{'s' if d > 1 else ''} {h}h ago"
    if h:
        return f"{h}h {m}min ago"
    if m:
        return f"{m}min {s}s ago"
    return f"{s}s ago"


def _sync_units(node: SimNode) -> None:
    """corosync/pve-cluster unit state follows the daemons (kills and failures included)."""
    if node.role != "pve":
        return
    cs, pc = node.units["corosync"], node.units["pve-cluster"]
    if node.corosync.running:
        cs.state, cs.pid = "active", node.corosync.pid
    elif cs.state == "active":
        cs.state = "inactive"
    p = node.pmxcfs
    if p.state == "running" and p.managed:
        pc.state, pc.pid = "active", p.pid
    elif pc.state == "active":
        pc.state = "inactive"


async def _start(ctx: Ctx, unit: str, t: float) -> str | None:
    node, w = ctx.node, ctx.world
    u = node.units[unit]
    if unit == "pve-cluster" and u.state != "active":
        err = w.pmxcfs_start(node, t, local=False, managed=True)
        if err:
            node.cfs_log(f"[main] crit: {err}", t)
            node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Control process exited, "
                     "code=exited, status=255/EXCEPTION", t)
            node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Failed with result "
                     "'exit-code'.", t)
            node.log("pve-cluster", "systemd", 1, "Failed to start pve-cluster.service - The "
                     "Proxmox VE cluster filesystem.", t)
            u.state, u.result = "failed", "exit-code"
            return "pve-cluster.service"
        node.log("pve-cluster", "systemd", 1, "Started pve-cluster.service - The Proxmox VE "
                 "cluster filesystem.", t + 1)
        u.state, u.since, u.pid = "active", t, node.pmxcfs.pid
        # debian/pve-cluster.service runs no updatecerts: its ExecStartPost moved to
        # pveproxy.service's ExecStartPre in 2019 (pve-cluster commit 84c3ab0)
        return None
    if unit == "corosync" and not node.corosync.running:
        node.log("corosync", "systemd", 1, "Starting corosync.service - Corosync Cluster "
                 "Engine...", t)
        err = w.corosync_start(node, t)
        if err:
            node.log("corosync", "systemd", 1, "corosync.service: Main process exited, "
                     "code=exited, status=8/n/a", t)
            node.log("corosync", "systemd", 1, "corosync.service: Failed with result "
                     "'exit-code'.", t)
            node.log("corosync", "systemd", 1, "Failed to start corosync.service - Corosync "
                     "Cluster Engine.", t)
            u.state, u.result = "failed", "exit-code"
            return "corosync.service"
        node.log("corosync", "systemd", 1, "Started corosync.service - Corosync Cluster Engine.",
                 t + 1)
        u.state, u.since, u.pid = "active", t, node.corosync.pid
        if not node.corosync.running:
            # it exited at its first sync (cmap.c: a member runs a higher config_version)
            node.log("corosync", "systemd", 1, "corosync.service: Deactivated successfully.",
                     t + 1)
            u.state, u.since = "inactive", t + 1
        return None
    if unit in ("corosync", "pve-cluster"):
        return None
    if unit == "corosync-qdevice" and u.state != "active" and qdevice_register_refused(node, t):
        return "corosync-qdevice.service"
    if u.state != "active":
        desc = UNIT_INFO[unit][0]
        u.state, u.since, u.pid = "active", t, node.alloc_pid()
        node.log(unit, "systemd", 1, f"Started {unit}.service - {desc}.", t)
        if unit in ("pveproxy", "spiceproxy"):
            # pveproxy.service: ExecStartPre=-/usr/bin/pvecm updatecerts --silent
            if node.pve_writable():
                await updatecerts(Ctx(ctx.sh, ["pvecm", "updatecerts", "--silent"], ctx.stdin,
                                       ctx.stdout, ctx.stderr), False, True)
            w._pveproxy_check(node, t)
    return None


def _stop(ctx: Ctx, unit: str, t: float, kill: bool = False) -> None:
    node, w = ctx.node, ctx.world
    u = node.units[unit]
    desc = UNIT_INFO[unit][0]
    if unit == "pve-cluster":
        if node.pmxcfs.state == "running" and node.pmxcfs.managed:
            node.log("pve-cluster", "systemd", 1, f"Stopping pve-cluster.service - {desc}...", t)
            if w.pmxcfs_stop(node, t, 15):
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Main process "
                         "exited, code=exited, status=255/EXCEPTION", t + 0.5)
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Failed with "
                         "result 'exit-code'.", t + 0.5)
                u.state, u.result = "failed", "exit-code"
            else:
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Deactivated "
                         "successfully.", t + 0.5)
                u.state = "inactive"
            node.log("pve-cluster", "systemd", 1, f"Stopped pve-cluster.service - {desc}.",
                     t + 0.5)
            return
        u.state = "inactive"
        return
    if unit == "corosync":
        if node.corosync.running:
            node.log("corosync", "systemd", 1, f"Stopping corosync.service - {desc}...", t)
            w.corosync_stop(node, t, by_sysadmin=True)  # ExecStop: corosync-cfgtool -H
            node.log("corosync", "systemd", 1, "corosync.service: Deactivated successfully.",
                     t + 0.5)
            node.log("corosync", "systemd", 1, f"Stopped corosync.service - {desc}.", t + 0.5)
        u.state = "inactive" if u.state != "failed" else "failed"
        if u.state == "failed":
            u.state = "inactive"
        return
    if u.state == "active":
        node.log(unit, "systemd", 1, f"Stopping {unit}.service - {desc}...", t)
        node.log(unit, "systemd", 1, f"Stopped {unit}.service - {desc}.", t + 0.2)
    u.state = "inactive"


@command("systemctl")
async def c_systemctl(ctx: Ctx) -> int:
    opts, args = gopt(ctx, "qlnav", ["no-pager", "quiet", "full", "lines=", "no-block", "now",
                                     "failed", "type=", "state=", "plain", "no-legend"])
    node, w = ctx.node, ctx.world
    w.tick()
    _sync_units(node)
    if not args:
        args = ["list-units"]
    verb, names = args[0], [_unit_name(a) for a in args[1:]]
    quiet = "-q" in opts or "--quiet" in opts
    unknown = [n for n in names if n not in node.units]
    t = w.clock.now()
    if verb in ("start", "stop", "restart", "reload", "try-restart", "reload-or-restart",
                "enable", "disable", "kill"):
        if not names:
            raise UsageError("Too few arguments.", 1)
        if unknown:
            raise UsageError(f"Failed to {verb} {unknown[0]}.service: Unit {unknown[0]}.service "
                             "not found.", 5)
        seen: list[str] = []
        for n in names:
            if n not in seen:
                seen.append(n)
        if verb in ("enable", "disable"):
            for n in seen:
                node.units[n].enabled = verb == "enable"
            return 0
        failed: list[str] = []
        order = ["pve-cluster", "corosync"]
        if verb == "start":
            # pve-cluster.service: Wants=corosync.service, ordered before it
            if "pve-cluster" in seen and "corosync" not in seen:
                seen.append("corosync")
            seen.sort(key=lambda x: order.index(x) if x in order else 9)
            for n in seen:
                err = await _start(ctx, n, t)
                if err:
                    failed.append(err)
        elif verb in ("stop", "kill"):
            for n in sorted(seen, key=lambda x: -(order.index(x) if x in order else 9)):
                _stop(ctx, n, t)
        else:
            for n in seen:
                if verb == "reload" and n in ("corosync",):
                    raise UsageError("Failed to reload corosync.service: Job type reload is not "
                                     "applicable for unit corosync.service.", 1)
                if verb == "reload":
                    if node.units[n].state != "active":
                        raise UsageError(f"{n}.service is not active, cannot reload.", 1)
                    if n in ("pveproxy", "spiceproxy"):
                        w._pveproxy_check(node, t)
                    node.log(n, "systemd", 1, f"Reloaded {n}.service - {UNIT_INFO[n][0]}.", t)
                    continue
                if verb == "try-restart" and node.units[n].state != "active":
                    continue
                _stop(ctx, n, t)
                err = await _start(ctx, n, t + 0.6)
                if err:
                    failed.append(err)
        _sync_units(node)
        if failed:
            what = "control process" if failed[0].startswith("pve-cluster") else "control process"
            raise UsageError(f"Job for {failed[0]} failed because the {what} exited with error "
                             f"code.\nSee \"systemctl status {failed[0]}\" and \"journalctl -xeu "
                             f"{failed[0]}\" for details.", 1)
        return 0
    if verb in ("is-active", "is-failed", "is-enabled"):
        status = 0
        for n in names:
            u = node.units.get(n)
            if verb == "is-enabled":
                state = "enabled" if u and u.enabled else ("disabled" if u else "not-found")
                ok = bool(u and u.enabled)
            elif verb == "is-failed":
                state = u.state if u else "inactive"
                ok = state == "failed"
            else:
                state = u.state if u else "inactive"
                ok = state == "active"
            if not quiet:
                await ctx.out(state + "\n")
            if not ok:
                status = 3 if verb == "is-active" else 1
        return status
    if verb == "status":
        return await _status(ctx, names or ["corosync"], opts)
    if verb in ("list-units", "list-unit-files"):
        out = ["  UNIT" + " " * 28 + "LOAD   ACTIVE SUB     DESCRIPTION"]
        for n, u in sorted(node.units.items()):
            if "--failed" in opts and u.state != "failed":
                continue
            sub = {"active": "running", "failed": "failed", "inactive": "dead"}[u.state]
            mark = "●" if u.state == "failed" else " "
            out.append(f"{mark} {n + '.service':<32} loaded {u.state:<6} {sub:<7} "
                       f"{u.description}")
        await ctx.out("\n".join(out) + "\n")
        return 0
    if verb == "daemon-reload":
        return 0
    raise UsageError(f"Unknown command verb {verb}.", 1)


async def _status(ctx: Ctx, names: list[str], opts: dict[str, list[str]]) -> int:
    node, w = ctx.node, ctx.world
    now = w.clock.now()
    status = 0
    nlines = int((opts.get("-n") or opts.get("--lines") or ["10"])[-1])
    blocks = []
    for n in names:
        u = node.units.get(n)
        if u is None:
            await ctx.err(f"Unit {n}.service could not be found.\n")
            status = 4
            continue
        desc, cmd = UNIT_INFO[n]
        dot = "●" if u.state != "failed" else "×"
        if u.state == "active":
            active = (f"active (running) since "
                      f"{time.strftime('%a %Y-%m-%d %H:%M:%S %Z', time.localtime(u.since))}; "
                      f"{_ago(now - u.since)}")
        elif u.state == "failed":
            active = (f"failed (Result: {u.result}) since "
                      f"{time.strftime('%a %Y-%m-%d %H:%M:%S %Z', time.localtime(u.since))}; "
                      f"{_ago(now - u.since)}")
            status = 3
        else:
            active = "inactive (dead)"
            status = 3
        lines = [f"{dot} {n}.service - {desc}",
                 f"     Loaded: loaded (/lib/systemd/system/{n}.service; "
                 f"{'enabled' if u.enabled else 'disabled'}; preset: enabled)",
                 f"     Active: {active}"]
        if n == "corosync":
            lines += ["       Docs: man:corosync", "             man:corosync.conf",
                      "             man:corosync_overview"]
        if u.state == "active":
            pid = node.corosync.pid if n == "corosync" else (
                node.pmxcfs.pid if n == "pve-cluster" else u.pid)
            lines += [f"   Main PID: {pid} ({cmd.split()[0].rsplit('/', 1)[-1]})",
                      "      Tasks: 9 (limit: 38253)",
                      f"     Memory: {'135.2M' if n == 'corosync' else '58.4M'}",
                      "        CPU: 4min 12.345s",
                      f"     CGroup: /system.slice/{n}.service",
                      f"             └─{pid} {cmd}"]
            if n == "pveproxy" and not node.pveproxy_cert_ok:
                lines[-1:] = [f"             ├─{pid} pveproxy",
                              f"             └─{pid + 3} \"pveproxy worker\""]
        entries = [e for e in node.journal if e.unit == n and e.t <= now][-nlines:]
        blocks.append("\n".join(lines) + "\n\n" + "".join(
            _jline(node, e, "short") + "\n" for e in entries))
    await ctx.out("\n".join(blocks))
    return status


def _jline(node: SimNode, e: JournalEntry, fmt: str) -> str:
    if fmt == "cat":
        return e.msg
    if fmt == "short-iso":
        ts = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(e.t))
        ts = ts[:-2] + ":" + ts[-2:]
    elif fmt == "short-precise":
        ts = time.strftime("%b %d %H:%M:%S", time.localtime(e.t)) + f".{int(e.t % 1 * 1e6):06d}"
    else:
        ts = time.strftime("%b %d %H:%M:%S", time.localtime(e.t))
    sep = "   " if e.ident == "corosync" else " "
    return f"{ts} {node.name} {e.ident}[{e.pid}]:{sep}{e.msg}"


@command("journalctl")
async def c_journalctl(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "u:n:bfxeqro:S:U:p:g:k", [
        "unit=", "lines=", "since=", "until=", "no-pager", "boot", "follow", "output=", "grep=",
        "reverse", "no-hostname", "quiet", "utc"])
    node, w = ctx.node, ctx.world
    w.tick()
    units = [_unit_name(u) for u in (opts.get("-u", []) + opts.get("--unit", []))]
    now = w.clock.now()
    since = (opts.get("-S") or opts.get("--since") or [""])[-1] or None
    until = (opts.get("-U") or opts.get("--until") or [""])[-1] or None
    try:
        t0 = _parse_when(since, now) if since else None
        t1 = _parse_when(until, now) if until else None
    except ValueError:
        raise UsageError(f"Failed to parse timestamp: {since or until}", 1) from None
    grep = (opts.get("-g") or opts.get("--grep") or [""])[-1] or None
    fmt = (opts.get("-o") or opts.get("--output") or ["short"])[-1]
    if "-k" in opts:
        units = ["kernel"]

    def select(after_seq: int = -1) -> list[JournalEntry]:
        out = []
        for e in node.journal:
            if e.t > w.clock.now() or e.seq <= after_seq:
                continue
            if units and e.unit not in units:
                continue
            if t0 is not None and e.t < t0:
                continue
            if t1 is not None and e.t > t1:
                continue
            if grep and not re.search(grep, e.msg):
                continue
            out.append(e)
        return out

    entries = select()
    n = (opts.get("-n") or opts.get("--lines") or [""])[-1] or None
    if n is not None and n != "all":
        entries = entries[-int(n):] if int(n) else []
    elif "-f" in opts or "--follow" in opts:
        entries = entries[-10:]
    if "-r" in opts or "--reverse" in opts:
        entries.reverse()
    if not entries and "-f" not in opts and "--follow" not in opts:
        await ctx.out("-- No entries --\n")
        return 0
    await ctx.out("".join(_jline(node, e, fmt) + "\n" for e in entries))
    if "-f" in opts or "--follow" in opts:
        shown = {e.seq for e in entries}
        while True:
            await ctx.sleep(1)
            w.tick()
            new = [e for e in select() if e.seq not in shown]
            for e in new:
                shown.add(e.seq)
            if new:
                await ctx.out("".join(_jline(node, e, fmt) + "\n" for e in new))
    return 0


# -- pmxcfs process control ---------------------------------------------------------------


@command("pmxcfs")
async def c_pmxcfs(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "lfdh", ["local", "foreground", "debug", "help"])
    node, w = ctx.node, ctx.world
    if "-h" in opts or "--help" in opts:
        await ctx.out("Usage:\n  pmxcfs [OPTION…]\n\nHelp Options:\n  -h, --help       Show "
                      "help options\n\nApplication Options:\n  -d, --debug      Turn on debug "
                      "messages\n  -f, --foreground Do not daemonize server\n  -l, --local      "
                      "Force local mode (ignore corosync.conf, force quorum)\n")
        return 0
    local = "-l" in opts or "--local" in opts
    t = w.clock.now()
    if node.pmxcfs.mount == "stale":
        node.pmxcfs.mount = "none"  # pmxcfs force-unmounts a dead mount at start
    err = w.pmxcfs_start(node, t, local=local, managed=False)
    if err:
        node.cfs_log(f"[main] crit: {err}", t)
        raise UsageError(f"[main] crit: {err}", 255)
    if local:
        await ctx.err("[main] notice: forcing local mode (although corosync.conf exists)\n")
    _sync_units(node)
    return 0


def _kill_targets(ctx: Ctx, pattern: str, full: bool, exact: bool) -> list[tuple[int, str]]:
    from pverunbook.sim.commands.system import process_table

    out = []
    for pid, argv in process_table(ctx.node):
        name = argv[0].rsplit("/", 1)[-1]
        hay = " ".join(argv) if full else name
        hit = (hay == pattern) if exact else re.search(pattern, hay) is not None
        if hit and pid != ctx.sh.pid and argv[0] not in ("pkill", "pgrep", "killall"):
            out.append((pid, name))
    return out


def signal_proc(ctx: Ctx, pid: int, sig: int) -> bool:
    """Deliver a signal to a simulated process; returns False if there is no such process."""
    node, w = ctx.node, ctx.world
    t = w.clock.now()
    if node.pmxcfs.state == "running" and pid == node.pmxcfs.pid:
        if sig in (0,):
            return True
        managed = node.pmxcfs.managed
        w.pmxcfs_stop(node, t, sig)
        if managed:
            u = node.units["pve-cluster"]
            if sig == 9:
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Main process exited, "
                         "code=killed, status=9/KILL", t)
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Failed with result "
                         "'signal'.", t)
                u.state, u.result = "failed", "signal"

                def respawn(tt: float) -> None:
                    if node.pmxcfs.state == "running" or u.state == "inactive":
                        return
                    node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Scheduled "
                             "restart job, restart counter is at 1.", tt)
                    node.pmxcfs.mount = "none"  # pmxcfs force-unmounts the dead mount at start
                    if w.pmxcfs_start(node, tt, local=False, managed=True) is None:
                        u.state, u.since, u.pid = "active", tt, node.pmxcfs.pid
                        node.log("pve-cluster", "systemd", 1, "Started pve-cluster.service - "
                                 "The Proxmox VE cluster filesystem.", tt)

                w.at(t + 2.0, respawn)
            else:
                node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Deactivated "
                         "successfully.", t)
                u.state = "inactive"
        return True
    if node.corosync.running and pid == node.corosync.pid:
        if sig:
            w.corosync_stop(node, t, sig=sig)
            u = node.units["corosync"]
            if sig == 9:  # corosync.service has no Restart=: it stays down
                node.log("corosync", "systemd", 1, "corosync.service: Main process exited, "
                         "code=killed, status=9/KILL", t)
                node.log("corosync", "systemd", 1, "corosync.service: Failed with result "
                         "'signal'.", t)
                u.state, u.result = "failed", "signal"
            else:
                node.log("corosync", "systemd", 1, "corosync.service: Deactivated "
                         "successfully.", t + 0.5)
                u.state = "inactive"
        return True
    for vmid, vm in list(node.vms.items()):
        if vm.pid == pid:
            if sig:
                del node.vms[vmid]
            return True
    for unit in node.units.values():
        if unit.pid == pid and unit.state == "active":
            if sig:
                unit.state = "inactive" if sig == 15 else "failed"
            return True
    return pid in node.procs or pid < 2000 and pid > 0


SIGNALS = {"HUP": 1, "INT": 2, "KILL": 9, "TERM": 15, "USR1": 10, "0": 0}


def _parse_sig(a: str) -> int | None:
    a = a.lstrip("-").upper().removeprefix("SIG")
    if a.isdigit():
        return int(a)
    return SIGNALS.get(a)


@command("kill")
async def c_kill(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    sig = 15
    if args and args[0] == "-s":
        sig = _parse_sig(args[1]) or 15
        args = args[2:]
    elif args and args[0].startswith("-") and _parse_sig(args[0]) is not None:
        sig = _parse_sig(args[0]) or 0
        args = args[1:]
    status = 0
    from pverunbook.sim.commands import detach

    for a in args:
        if a == "--":
            continue
        if a.lstrip("-").isdigit() and detach.signal(ctx.node, int(a), sig):
            continue  # a detached program (setsid), or its process group -PID
        if not a.isdigit() or not signal_proc(ctx, int(a), sig):
            await ctx.err("sh: 1: kill: No such process\n")
            status = 1
    return status


@command("pkill", "killall")
async def c_pkill(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    sig = 15
    full = exact = False
    pats = []
    k = 0
    while k < len(args):
        a = args[k]
        if a in ("-s", "--signal"):
            sig = _parse_sig(args[k + 1]) or 15
            k += 2
            continue
        if a == "-f":
            full = True
        elif a in ("-x", "-e") and ctx.name == "pkill":
            exact = a == "-x"
        elif a.startswith("-") and _parse_sig(a) is not None:
            sig = _parse_sig(a) or 0
        elif not a.startswith("-"):
            pats.append(a)
        k += 1
    if not pats:
        raise UsageError("pkill: no matching criteria specified\nTry `pkill --help' for more "
                         "information.", 2)
    hits = _kill_targets(ctx, pats[0], full, exact or ctx.name == "killall")
    if not hits:
        if ctx.name == "killall":
            await ctx.err(f"{pats[0]}: no process found\n")
        return 1
    for pid, _ in hits:
        signal_proc(ctx, pid, sig)
    _sync_units(ctx.node)
    return 0


@command("umount")
async def c_umount(ctx: Ctx) -> int:
    opts, paths = gopt(ctx, "lfR")
    node, w = ctx.node, ctx.world
    status = 0
    for p in paths:
        target = ctx.fs.abspath(p, ctx.cwd).rstrip("/")
        if target != "/etc/pve":
            await ctx.err(f"umount: {p}: not mounted.\n")
            status = 32
            continue
        mount = node.pmxcfs.mount
        if mount == "none":
            await ctx.err(f"umount: {target}: not mounted.\n")
            status = 32
            continue
        if mount == "mounted" and "-l" not in opts and "-f" not in opts:
            await ctx.err(f"umount: {target}: target is busy.\n")
            status = 32
            continue
        node.pmxcfs.mount = "none"
        w.materialize(node)
    return status


@command("mount", "findmnt")
async def c_mount(ctx: Ctx) -> int:
    data = ctx.fs.read_bytes("/proc/mounts").decode()
    rows = [ln.split() for ln in lines_of(data.encode())]
    args = [a for a in ctx.argv[1:] if not a.startswith("-")]
    if ctx.name == "findmnt":
        if args:
            rows = [r for r in rows if r[1] == ctx.fs.abspath(args[0], ctx.cwd).rstrip("/")]
            if not rows:
                return 1
        await ctx.out("TARGET   SOURCE    FSTYPE OPTIONS\n" + "".join(
            f"{r[1]:<8} {r[0]:<9} {r[2]:<6} {r[3]}\n" for r in rows))
        return 0
    await ctx.out("".join(f"{r[0]} on {r[1]} type {r[2]} ({r[3]})\n" for r in rows))
    return 0
