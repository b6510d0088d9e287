"""Network evidence: ip, bridge, ping, mtr, traceroute, ethtool, nft — per pair of nodes.

The model is :class:`pverunbook.sim.network.Network`: one L2 segment, and a host route
through the home router on one node of a pair makes that pair lossy both ways (the story:
ryanrishi sent ring traffic to pve001 via 192.168.4.1; domain.md §10). ``ip route`` lists
such a route and ``ip route get`` shows ``via``; ``ip route del`` heals the pair and the
world reacts (the knet link calms). The router rate-limits its ICMP time-exceeded replies, so
mtr shows ~84% at the router hop that is not real loss.

Output shapes follow iproute2 6.1 / iputils 20221126 / mtr 0.95 (Debian 12).
"""

from __future__ import annotations

import json
import random
import re
import time
import zlib

from pverunbook.sim.commands.core import gopt
from pverunbook.sim.fault_scenarios import iface_mtu, nft_ruleset
from pverunbook.sim.network import ROUTER_ICMP_LIMIT_PCT
from pverunbook.sim.nft import NftError
from pverunbook.sim.node import SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command

GATEWAY_MAC = "74:ac:b9:12:34:56"


def _gw(node: SimNode) -> str:
    return node.world.net.gateway


def _peer(node: SimNode, addr: str) -> SimNode | None:
    return node.world.net.peer_by_addr(addr)


@command("ip")
async def c_ip(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    flags = set()
    while args and args[0].startswith("-"):
        flags.add(args.pop(0))
    obj = args[0] if args else "help"
    rest = args[1:]
    node = ctx.node
    brief = bool(flags & {"-br", "-brief", "--brief"})
    family = "4" if "-4" in flags else "6" if "-6" in flags else ""
    if obj in ("a", "ad", "addr", "address"):
        return await _ip_addr(ctx, node, brief, family, rest)
    if obj in ("r", "ro", "route"):
        return await _ip_route(ctx, node, rest)
    if obj in ("l", "li", "link"):
        return await _ip_link(ctx, node, "-s" in flags, rest, brief)
    if obj in ("n", "neigh", "neighbor", "neighbour"):
        rows = [f"{_gw(node)} dev vmbr0 lladdr {GATEWAY_MAC} REACHABLE"]
        for p in sorted(node.peers(), key=lambda x: x.nodeid):
            # a peer reached through the router is never talked to directly: its entry ages
            state = "STALE" if node.world.net.routed(node, p) else "REACHABLE"
            rows.append(f"{p.addr} dev vmbr0 lladdr {p.mac} {state}")
        await ctx.out("\n".join(rows) + "\n")
        return 0
    if obj == "help":
        await ctx.out("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n"
                      "where  OBJECT := { address | link | neigh | route | ... }\n")
        return 0
    raise UsageError(f'Object "{obj}" is unknown, try "ip help".', 255)


def _interfaces(node: SimNode) -> list[tuple[str, str, str, str | None, list[str]]]:
    """(name, flags+state, link line, master, [addresses]) in ifindex order."""
    taps = [f"tap{vmid}i0" for vmid in sorted(node.vms)]
    out: list[tuple[str, str, str, str | None, list[str]]] = [
        ("lo", "<LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN",
         "loopback 00:00:00:00:00:00", None,
         ["inet 127.0.0.1/8 scope host lo", "inet6 ::1/128 scope host noprefixroute "]),
        (node.nic, f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {iface_mtu(node)} qdisc pfifo_fast "
         "master vmbr0 state UP", f"ether {node.mac}", "vmbr0", []),
        ("vmbr0", f"<BROADCAST,MULTICAST,UP,LOWER_UP> mtu {iface_mtu(node)} qdisc noqueue "
         "state UP",
         f"ether {node.mac}", None,
         [f"inet {node.addr}/24 scope global vmbr0", f"inet6 {node.link_local}/64 scope link "]),
    ]
    for k, t in enumerate(taps):
        vmid = int(t[3:-2])
        mac = f"fe:{vmid >> 8 & 0xff:02x}:{vmid & 0xff:02x}:{node.nodeid:02x}:{k:02x}:01"
        out.append((t, "<BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast "
                    "master vmbr0 state UNKNOWN", f"ether {mac}", "vmbr0", []))
    return out


def _dev_filter(rest: list[str]) -> str | None:
    words = [w for w in rest if w not in ("show", "list", "dev")]
    return words[0] if words else None


async def _ip_addr(ctx: Ctx, node: SimNode, brief: bool, family: str, rest: list[str]) -> int:
    dev = _dev_filter(rest)
    ifs = _interfaces(node)
    if dev is not None and dev not in {i[0] for i in ifs}:
        raise UsageError(f'Device "{dev}" does not exist.', 1)

    def fam_ok(addr: str) -> bool:
        return not family or (addr.startswith("inet6") == (family == "6"))

    out = []
    for k, (name, desc, link, _m, addrs) in enumerate(ifs, 1):
        if dev is not None and name != dev:
            continue
        addrs = [a for a in addrs if fam_ok(a)]
        if brief:
            state = "UP" if "state UP" in desc else "UNKNOWN"
            out.append(f"{name:<16} {state:<14} " + "".join(a.split()[1] + " " for a in addrs))
            continue
        if family and not addrs:
            continue
        out.append(f"{k}: {name}: {desc} group default qlen 1000")
        if not family:
            brd = "00:00:00:00:00:00" if name == "lo" else "ff:ff:ff:ff:ff:ff"
            out.append(f"    link/{link} brd {brd}")
        for a in addrs:
            out.append(f"    {a}")
            out.append("       valid_lft forever preferred_lft forever")
    await ctx.out("\n".join(out) + "\n" if out else "")
    return 0


def _route_table(node: SimNode) -> list[str]:
    """``ip route`` on a PVE node (ifupdown2): default, the connected /24, host routes."""
    gw = _gw(node)
    rows = [f"default via {gw} dev vmbr0 proto kernel onlink ",
            f"192.168.4.0/24 dev vmbr0 proto kernel scope link src {node.addr} "]

    def key(addr: str) -> tuple[int, ...]:
        return tuple(int(x) for x in addr.split(".")) if addr.count(".") == 3 else (999,)

    for dst in sorted(node.host_routes, key=key):
        attrs = node.route_attrs.get(dst, "")
        rows.append(f"{dst} via {gw} dev vmbr0 " + (attrs + " " if attrs else ""))
    return rows


#: The attributes of a route as ``ip route`` prints them, in its order (iproute2 ip/iproute.c
#: print_route), and the value it leaves out (the default ``ip route add`` gives).
_ROUTE_ATTRS = (("proto", "boot"), ("scope", "global"), ("src", ""), ("metric", "0"),
                ("mtu", ""), ("onlink", ""))
_ALIASES = {"protocol": "proto", "priority": "metric", "preference": "metric"}


def _route_target(words: list[str], attrs: dict[str, str] | None = None
                  ) -> tuple[str, str | None]:
    """(destination without /32, ``via`` gateway or None) from ``ip route add|del`` words;
    the route's other attributes go into ``attrs`` (name → value, ``onlink`` → "")."""
    dst = ""
    via = None
    i = 0
    while i < len(words):
        w = _ALIASES.get(words[i], words[i])
        if w in ("via", "dev", "proto", "metric", "src", "table", "scope", "onlink", "mtu"):
            arg = words[i + 1] if i + 1 < len(words) and w != "onlink" else ""
            if w == "via":
                via = arg or None
            elif attrs is not None and w not in ("dev", "table"):
                attrs[w] = arg
            i += 1 if w == "onlink" else 2
            continue
        if w in ("to", "unicast"):
            i += 1
            continue
        if not dst:
            dst = w
        i += 1
    if dst.endswith("/32"):
        dst = dst[:-3]
    return dst, via


async def _ip_route(ctx: Ctx, node: SimNode, rest: list[str]) -> int:
    world = node.world
    verb = rest[0] if rest else "show"
    if verb == "get":
        if len(rest) < 2:
            raise UsageError('Error: an inet prefix is expected rather than "".', 1)
        dst = rest[1]
        peer = _peer(node, dst)
        if peer is node or dst.startswith("127."):
            await ctx.out(f"local {dst} dev lo src {node.addr if peer is node else '127.0.0.1'} "
                          "uid 0 \n    cache <local> \n")
            return 0
        if not dst[0].isdigit() and ":" not in dst:
            raise UsageError(f'Error: any valid prefix is expected rather than "{dst}".', 1)
        gw, dev = world.net.route(node, dst)
        hop = f"via {gw} " if gw else ""
        await ctx.out(f"{dst} {hop}dev {dev} src {node.addr} uid 0 \n    cache \n")
        return 0
    if verb in ("del", "delete"):
        dst, _via = _route_target(rest[1:])
        if dst in ("", "default"):
            raise UsageError("RTNETLINK answers: Operation not permitted "
                             "(rehearsal: the default route stays)", 2)
        peer = _peer(node, dst)
        addr = peer.addr if peer is not None else dst
        if addr not in node.host_routes:
            raise UsageError("RTNETLINK answers: No such process", 2)
        node.host_routes.discard(addr)
        node.route_attrs.pop(addr, None)
        world.network_changed(node, f"route to {addr} via {_gw(node)} deleted")
        return 0
    if verb in ("add", "replace", "append", "change"):
        given: dict[str, str] = {}
        new_dst, via = _route_target(rest[1:], given)
        if not new_dst:
            raise UsageError('Error: an inet prefix is expected rather than "".', 1)
        target = _peer(node, new_dst)
        new_addr = target.addr if target is not None else new_dst
        if verb in ("add", "append") and new_addr in node.host_routes:
            raise UsageError("RTNETLINK answers: File exists", 2)
        if via is None or via != _gw(node):
            node.host_routes.discard(new_addr)  # a direct route: the same as the connected /24
            node.route_attrs.pop(new_addr, None)
        else:
            node.host_routes.add(new_addr)
            node.route_attrs[new_addr] = " ".join(
                k if k == "onlink" else f"{k} {given[k]}" for k, default in _ROUTE_ATTRS
                if k in given and given[k] != default)
        world.network_changed(node, f"route to {new_addr} via {via}")
        return 0
    if verb in ("flush",):
        raise UsageError("rehearsal: 'ip route flush' would cut this node off; delete single "
                         "routes with 'ip route del ADDR'", 2)
    rows = _route_table(node)
    if verb in ("show", "list", "ls", "lst", "sh", "l") and len(rest) > 1:
        rows = _route_select(rows, rest[1:])
    await ctx.out("".join(r + "\n" for r in rows))
    return 0


def _route_select(rows: list[str], words: list[str]) -> list[str]:
    """``ip route show [exact|to] PREFIX [via GW] [dev DEV]``: the rows of the table that the
    selector keeps. iproute2 ip/iproute.c ``iproute_list_flush_or_save``: a bare prefix (or
    ``to``/``exact``) selects routes to exactly that prefix, ``via`` those through that
    gateway, ``dev`` those on that device, ``proto`` those of that protocol; nothing matched
    prints nothing, exit 0. What a selector pins down is left out of the lines it prints
    (print_route: no ``via`` when filtered by a gateway address, no ``dev`` by a device, no
    ``proto`` by a protocol): ``ip route show exact D via GW`` prints ``D dev vmbr0 …``."""
    dst = via = dev = proto = None
    i = 0
    while i < len(words):
        w = _ALIASES.get(words[i], words[i])
        arg = words[i + 1] if i + 1 < len(words) else ""
        if w in ("exact", "to", "root", "match"):
            dst, i = arg, i + 2
        elif w == "via":
            via, i = arg, i + 2
        elif w == "dev":
            dev, i = arg, i + 2
        elif w == "proto":
            proto, i = arg, i + 2
        elif w in ("scope", "table", "type", "tos", "vrf"):
            i += 2
        else:
            dst, i = w, i + 1
    if dst is not None and dst.endswith("/32"):
        dst = dst[:-3]
    out = []
    for r in rows:
        f = r.split()
        if dst is not None and f[0] != dst and not (dst in ("0/0", "0.0.0.0/0")
                                                    and f[0] == "default"):
            continue
        if via is not None and not (len(f) > 2 and f[1] == "via" and f[2] == via):
            continue
        if dev is not None and not ("dev" in f and f[f.index("dev") + 1] == dev):
            continue
        if proto is not None and proto != (f[f.index("proto") + 1] if "proto" in f else "boot"):
            continue
        for key, given in (("via", via), ("dev", dev), ("proto", proto)):
            if given is not None and key in f:
                k = f.index(key)
                del f[k:k + 2]
        out.append(" ".join(f) + " ")
    return out


async def _ip_link(ctx: Ctx, node: SimNode, stats: bool, rest: list[str], brief: bool) -> int:
    master = rest[rest.index("master") + 1] if "master" in rest else None
    dev = None if master else _dev_filter(rest)
    out = []
    for k, (name, desc, link, m, _a) in enumerate(_interfaces(node), 1):
        if (master and m != master) or (dev is not None and name != dev):
            continue
        if brief:
            out.append(f"{name:<16} {'UP' if 'state UP' in desc else 'UNKNOWN':<14} "
                       f"{link.split()[1]} <{desc.split('<')[1].split('>')[0]}> ")
            continue
        out.append(f"{k}: {name}: {desc} mode DEFAULT group default qlen 1000")
        out.append(f"    link/{link} brd "
                   f"{'00:00:00:00:00:00' if name == 'lo' else 'ff:ff:ff:ff:ff:ff'}")
        if stats:
            out += ["    RX:  bytes packets errors dropped  missed   mcast           ",
                    f"    {8123456789 + k:>10} {91234567:>7} {0:>6} {0:>7} {0:>7} {12345:>7} ",
                    "    TX:  bytes packets errors dropped carrier collsns           ",
                    f"    {5123456789 + k:>10} {71234567:>7} {0:>6} {0:>7} {0:>7} {0:>7} "]
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("bridge")
async def c_bridge(ctx: Ctx) -> int:
    node = ctx.node
    ports = [node.nic] + [f"tap{vmid}i0" for vmid in sorted(node.vms)]
    await ctx.out("".join(f"{k}: {p}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master vmbr0 "
                          f"state forwarding priority 32 cost {2 if k == 2 else 100} \n"
                          for k, p in enumerate(ports, 2)))
    return 0


def _path(node: SimNode, ip: str) -> tuple[float, float, bool, int]:
    """(loss %, base rtt ms, reachable, reply ttl) for ICMP from ``node`` to ``ip``."""
    world = node.world
    peer = _peer(node, ip)
    if ip == _gw(node):
        return 0.0, 0.35, True, 64
    if peer is node or ip.startswith("127.") or ip in ("localhost", "::1"):
        return 0.0, 0.03, True, 64
    qnetd = world.extra_host_by_addr(ip)
    if qnetd is not None:
        return 0.0, 0.5, True, 64
    if peer is not None:
        loss = world.net.pair_loss(node, peer)
        routed = world.net.routed(node, peer) or world.net.routed(peer, node)
        ttl = 63 if world.net.routed(peer, node) else 64
        return loss, (1.5 if routed else 0.35), True, ttl
    if ip.startswith("192.168.4."):
        return 100.0, 0.0, False, 64
    return 0.5, 12.0, True, 56


def _rng(ctx: Ctx, *parts: object) -> random.Random:
    """Seeded per node, destination and simulated second: reproducible, not constant."""
    key = "|".join(str(p) for p in (ctx.world.seed, ctx.node.name, *parts))
    return random.Random(zlib.crc32(key.encode()))


def _resolve(node: SimNode, dst: str) -> str | None:
    peer = _peer(node, dst)
    if peer is not None:
        return dst if dst == peer.link_local else peer.addr
    host = node.world.extra_host_by_addr(dst)
    if host is not None:
        return host.addr
    if dst == "localhost":
        return "127.0.0.1"
    return dst if (dst[:1].isdigit() or ":" in dst) else None


@command("ping")
async def c_ping(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "c:i:W:w:qnI:s:46")
    if not rest:
        raise UsageError("ping: usage error: Destination address required", 1)
    dst = rest[-1]
    count = int(opts.get("-c", ["0"])[-1])
    interval = float(opts.get("-i", ["1"])[-1])
    deadline = float(opts["-w"][-1]) if "-w" in opts else None
    quiet = "-q" in opts
    node = ctx.node
    ip = _resolve(node, dst)
    if ip is None:
        raise UsageError(f"ping: {dst}: Name or service not known", 2)
    loss, base, reachable, ttl = _path(node, ip)
    rng = _rng(ctx, ip, int(ctx.world.clock.now()))
    await ctx.out(f"PING {dst} ({ip}) 56(84) bytes of data.\n")
    sent = recv = 0
    rtts: list[float] = []
    start = ctx.world.clock.now()
    try:
        while count == 0 or sent < count:
            if deadline is not None and ctx.world.clock.now() - start >= deadline:
                break
            sent += 1
            if reachable and rng.random() * 100 >= loss:
                recv += 1
                rtt = base * rng.uniform(0.6, 1.8) + (rng.expovariate(2.0) if loss else 0)
                rtts.append(rtt)
                if not quiet:
                    await ctx.out(f"64 bytes from {ip}: icmp_seq={sent} ttl={ttl} "
                                  f"time={rtt:.3g} ms\n")
            await ctx.sleep(min(interval, 0.2) if count else interval)
    finally:
        elapsed = int((ctx.world.clock.now() - start) * 1000)
        pct = 0 if not sent else (sent - recv) * 100 / sent
        pct_s = f"{pct:.0f}" if pct == int(pct) else f"{pct:.3g}"
        summary = [f"\n--- {dst} ping statistics ---",
                   f"{sent} packets transmitted, {recv} received, {pct_s}% packet loss, "
                   f"time {elapsed}ms"]
        if rtts:
            avg = sum(rtts) / len(rtts)
            mdev = (sum((r - avg) ** 2 for r in rtts) / len(rtts)) ** 0.5
            summary.append(f"rtt min/avg/max/mdev = {min(rtts):.3f}/{avg:.3f}/{max(rtts):.3f}/"
                           f"{mdev:.3f} ms")
        import contextlib

        with contextlib.suppress(BrokenPipeError):
            await ctx.out("\n".join(summary) + "\n")
    return 0 if recv else 1


def _hops(node: SimNode, ip: str, nodns: bool) -> list[tuple[str, float, float]]:
    """mtr hops (host, loss %, base rtt ms) from ``node`` to ``ip``."""
    world = node.world
    peer = _peer(node, ip)
    gw = _gw(node)
    if peer is not None and peer is not node:
        name = ip if nodns else peer.name
        loss = world.net.pair_loss(node, peer)
        if world.net.routed(node, peer):
            return [(gw, ROUTER_ICMP_LIMIT_PCT, 0.2), (name, loss, 1.5)]
        return [(name, loss, 1.5 if world.net.routed(peer, node) else 0.4)]
    if peer is node:
        return [(ip if nodns else node.name, 0.0, 0.03)]
    host = world.extra_host_by_addr(ip)
    if host is not None:
        return [(ip if nodns else host.name, 0.0, 0.5)]
    if ip == gw:
        return [(ip, 0.0, 0.3)]
    if ip.startswith("192.168.4."):
        return [("???", 100.0, 0.0)]
    return [(gw, 0.0, 0.4), (ip, 0.0, 12.0)]


@command("mtr")
async def c_mtr(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "rc:nwbjzi:", ["report", "report-cycles=", "json", "no-dns",
                                         "report-wide", "interval=", "show-ips"])
    if not rest:
        raise UsageError("mtr: No destination host specified", 1)
    dst = rest[-1]
    node = ctx.node
    cycles = max(int((opts.get("-c") or opts.get("--report-cycles") or ["10"])[-1]), 1)
    ip = _resolve(node, dst)
    if ip is None:
        raise UsageError(f"mtr: Failed to resolve host: {dst}: Name or service not known", 1)
    rng = _rng(ctx, ip, cycles, int(ctx.world.clock.now()))
    nodns = "-n" in opts or "--no-dns" in opts
    hops = _hops(node, ip, nodns)
    await ctx.sleep(min(cycles, 10) * 0.2)
    rows = []
    for host, loss, base in hops:
        ok = sum(1 for _ in range(cycles) if rng.random() * 100 >= loss)
        samples = [base * rng.uniform(0.5, 1.4) for _ in range(max(ok, 1))]
        avg = sum(samples) / len(samples)
        sd = (sum((s - avg) ** 2 for s in samples) / len(samples)) ** 0.5
        if not ok:
            samples = [0.0]
            avg = sd = 0.0
        rows.append((host, (cycles - ok) * 100 / cycles, cycles, samples[-1], avg, min(samples),
                     max(samples), sd))
    if "-j" in opts or "--json" in opts:
        body = {"report": {"mtr": {"src": node.name, "dst": dst, "tos": 0, "tests": cycles,
                                   "psize": "64", "bitpattern": "0x00"},
                           "hubs": [{"count": k, "host": r[0], "Loss%": round(r[1], 1),
                                     "Snt": r[2], "Last": round(r[3], 3), "Avg": round(r[4], 3),
                                     "Best": round(r[5], 3), "Wrst": round(r[6], 3),
                                     "StDev": round(r[7], 3)} for k, r in enumerate(rows, 1)]}}
        await ctx.out(json.dumps(body, indent=4) + "\n")
        return 0
    out = [f"Start: {time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(ctx.world.clock.now()))}",
           f"HOST: {node.name:<27}Loss%   Snt   Last   Avg  Best  Wrst StDev"]
    for k, r in enumerate(rows, 1):
        out.append(f"{k:>3}.|-- {r[0]:<27}{r[1]:>5.1f}%{r[2]:>6}{r[3]:>7.1f}{r[4]:>6.1f}"
                   f"{r[5]:>6.1f}{r[6]:>6.1f}{r[7]:>6.1f}")
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("traceroute", "tracepath")
async def c_traceroute(ctx: Ctx) -> int:
    _, rest = gopt(ctx, "nm:q:w:")
    if not rest:
        raise UsageError("Usage: traceroute host", 2)
    node = ctx.node
    ip = _resolve(node, rest[-1]) or rest[-1]
    gw, _ = node.world.net.route(node, ip)
    out = [f"traceroute to {rest[-1]} ({ip}), 30 hops max, 60 byte packets"]
    k = 1
    if gw and ip != gw:
        out.append(f" {k}  {gw} ({gw})  0.412 ms * *")
        k += 1
    out.append(f" {k}  {ip} ({ip})  1.513 ms  1.498 ms  1.622 ms")
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("ethtool")
async def c_ethtool(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    node = ctx.node
    if not args:
        raise UsageError("ethtool: bad command line argument(s)\nFor more information run "
                         "ethtool -h", 1)
    dev = args[-1]
    if dev not in (node.nic, "vmbr0"):
        raise UsageError("netlink error: no device matches name (offset 24)\nnetlink error: "
                         "No such device", 1)
    if "-S" in args:
        # The loss is the router's, not this NIC's: its counters stay clean (domain.md §10).
        await ctx.out("NIC statistics:\n     rx_packets: 91234567\n     tx_packets: 71234567\n"
                      "     rx_errors: 0\n     rx_crc_errors: 0\n     rx_missed_errors: 0\n"
                      "     tx_errors: 0\n     rx_no_buffer_count: 0\n")
        return 0
    await ctx.out(f"Settings for {dev}:\n\tSupported ports: [ TP ]\n\tSpeed: 1000Mb/s\n"
                  "\tDuplex: Full\n\tAuto-negotiation: on\n\tPort: Twisted Pair\n"
                  "\tLink detected: yes\n")
    return 0


@command("nft")
async def c_nft(ctx: Ctx) -> int:
    words = " ".join(a for a in ctx.argv[1:] if not re.fullmatch(r"-[a-zA-Z]+", a)).split()
    if not words or words == ["list", "ruleset"]:
        await ctx.out(nft_ruleset(ctx.node) + ctx.node.nft.listing())
        return 0
    if words[:2] == ["add", "rule"]:
        # nft resolves a host name in a rule when the rule is added and keeps the address
        for i, w in enumerate(words[:-1]):
            if w in ("daddr", "saddr") and words[i - 1] == "ip":
                peer = ctx.world.net.peer_by_addr(words[i + 1])
                if peer is not None:
                    words[i + 1] = peer.addr
    try:
        out = ctx.node.nft.run(words)
    except NftError as exc:
        await ctx.err(f"{exc}\n")
        return 1
    ctx.world.tick()  # the membership follows the new rules at once
    await ctx.out(out)
    return 0


@command("iptables", "iptables-save")
async def c_iptables(ctx: Ctx) -> int:
    await ctx.out("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               "
                  "destination         \n")
    return 0
