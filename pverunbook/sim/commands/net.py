"""Network evidence: ip, bridge, ping, mtr, ethtool, nft — shaped like the story's network.

ryanrishi carries a stale host route that sends ring traffic to pve001 through the home
gateway (the story's mtr shows the router as hop 1). Loss on that path is the scenario's; the
router rate-limits ICMP time-exceeded replies (84% at hop 1 that is not real loss, domain §10).
Deleting the route (``ip route del 192.168.4.201``) puts the nodes on one L2 hop again.
"""

from __future__ import annotations

import json
import random
import time

from pverunbook.sim.commands.core import gopt
from pverunbook.sim.shell.executor import Ctx, UsageError, command
from pverunbook.sim.world import SimNode

GATEWAY = "192.168.4.1"


def _peer_by_addr(node: SimNode, addr: str) -> SimNode | None:
    for n in node.world.nodes.values():
        if addr in (n.addr, n.name, f"{n.name}.lan"):
            return n
    return None


def _route(node: SimNode, dst: str) -> tuple[str | None, str]:
    """(gateway or None, device) for a destination, as the kernel would choose."""
    peer = _peer_by_addr(node, dst)
    if peer is not None and node.static_route_via_gw and peer is not node:
        return GATEWAY, "vmbr0"
    if dst.startswith("192.168.4.") or peer is not None:
        return None, "vmbr0"
    if dst.startswith("127."):
        return None, "lo"
    return GATEWAY, "vmbr0"


@command("ip")
async def c_ip(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    flags = set()
    while args and args[0].startswith("-"):
        flags.add(args.pop(0))
    obj = args[0] if args else "help"
    rest = args[1:]
    node = ctx.node
    brief = "-br" in flags or "-brief" in flags
    if obj in ("a", "addr", "address"):
        return await _ip_addr(ctx, node, brief, rest)
    if obj in ("r", "ro", "route"):
        return await _ip_route(ctx, node, rest)
    if obj in ("l", "link"):
        return await _ip_link(ctx, node, "-s" in flags, rest, brief)
    if obj in ("n", "neigh"):
        await ctx.out(f"{GATEWAY} dev vmbr0 lladdr 74:ac:b9:12:34:56 REACHABLE\n" + "".join(
            f"{p.addr} dev vmbr0 lladdr {p.mac} {'REACHABLE' if not node.static_route_via_gw else 'STALE'}\n"  # noqa: E501
            for p in node.peers()))
        return 0
    raise UsageError(f'Object "{obj}" is unknown, try "ip help".', 255)


async def _ip_addr(ctx: Ctx, node: SimNode, brief: bool, rest: list[str]) -> int:
    vm_taps = [f"tap{vmid}i0" for vmid in sorted(node.vms)]
    if brief:
        rows = [("lo", "UNKNOWN", "127.0.0.1/8 ::1/128"),
                (node.nic, "UP", ""),
                ("vmbr0", "UP", f"{node.addr}/24 fe80::1e69:7aff:fe0d:{node.nodeid:x}e51/64")]
        rows += [(t, "UNKNOWN", "") for t in vm_taps]
        await ctx.out("".join(f"{n:<16} {s:<14} {a} \n" for n, s, a in rows))
        return 0
    out = ["1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default "
           "qlen 1000",
           "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
           "    inet 127.0.0.1/8 scope host lo", "       valid_lft forever preferred_lft forever",
           f"2: {node.nic}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast master "
           "vmbr0 state UP group default qlen 1000",
           f"    link/ether {node.mac} brd ff:ff:ff:ff:ff:ff",
           "3: vmbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group "
           "default qlen 1000",
           f"    link/ether {node.mac} brd ff:ff:ff:ff:ff:ff",
           f"    inet {node.addr}/24 scope global vmbr0",
           "       valid_lft forever preferred_lft forever"]
    for k, t in enumerate(vm_taps, 4):
        out += [f"{k}: {t}: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast "
                "master vmbr0 state UNKNOWN group default qlen 1000",
                "    link/ether 5e:1a:2b:3c:4d:5e brd ff:ff:ff:ff:ff:ff"]
    await ctx.out("\n".join(out) + "\n")
    return 0


async def _ip_route(ctx: Ctx, node: SimNode, rest: list[str]) -> int:
    if rest and rest[0] == "get":
        if len(rest) < 2:
            raise UsageError('Error: an inet prefix is expected rather than "".', 1)
        dst = rest[1]
        gw, dev = _route(node, dst)
        via = f"via {gw} " if gw else ""
        await ctx.out(f"{dst} {via}dev {dev} src {node.addr} uid 0 \n    cache \n")
        return 0
    if rest and rest[0] in ("del", "delete"):
        target = rest[1] if len(rest) > 1 else ""
        peer = _peer_by_addr(node, target.split("/")[0])
        if peer is not None and node.static_route_via_gw:
            node.static_route_via_gw = False
            (node.root / ".sim-route-fixed").write_text("1\n")
            node.world.tick()
            return 0
        raise UsageError("RTNETLINK answers: No such process", 2)
    if rest and rest[0] in ("add", "replace"):
        return 0
    out = [f"default via {GATEWAY} dev vmbr0 proto kernel onlink ",
           f"192.168.4.0/24 dev vmbr0 proto kernel scope link src {node.addr} "]
    if node.static_route_via_gw:
        for p in node.peers():
            out.append(f"{p.addr} via {GATEWAY} dev vmbr0 ")
    await ctx.out("\n".join(out) + "\n")
    return 0


async def _ip_link(ctx: Ctx, node: SimNode, stats: bool, rest: list[str], brief: bool) -> int:
    master = rest[rest.index("master") + 1] if "master" in rest else None
    links = [("lo", "<LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN",
              "loopback 00:00:00:00:00:00", None),
             (node.nic, "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast master "
              "vmbr0 state UP", f"ether {node.mac}", "vmbr0"),
             ("vmbr0", "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP",
              f"ether {node.mac}", None)]
    links += [(f"tap{vmid}i0", "<BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1500 qdisc "
               "pfifo_fast master vmbr0 state UNKNOWN", "ether 5e:1a:2b:3c:4d:5e", "vmbr0")
              for vmid in sorted(node.vms)]
    out = []
    loss = node.world.peer_loss_pct(node)
    for k, (name, desc, ether, m) in enumerate(links, 1):
        if master and m != master:
            continue
        if brief:
            out.append(f"{name:<16} {'UP' if 'state UP' in desc else 'UNKNOWN':<14} "
                       f"{ether.split()[1]} <{desc.split('<')[1].split('>')[0]}> ")
            continue
        out.append(f"{k}: {name}: {desc} mode DEFAULT group default qlen 1000")
        out.append(f"    link/{ether} brd ff:ff:ff:ff:ff:ff")
        if stats:
            errs = 17 if name == node.nic and loss else 0
            drops = 2291 if name == node.nic and loss else 0
            out += ["    RX:  bytes packets errors dropped  missed   mcast           ",
                    f"    {8123456789 + k:>10} {91234567:>7} {errs:>6} {drops:>7} {0:>7} "
                    f"{12345:>7} ",
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


def _loss_for(node: SimNode, dst: str) -> tuple[float, float, bool]:
    """(loss %, base rtt ms, reachable) for a destination from this node."""
    peer = _peer_by_addr(node, dst)
    if dst == GATEWAY:
        return 0.0, 0.35, True
    if peer is node or dst.startswith("127.") or dst == "localhost":
        return 0.0, 0.03, True
    if peer is not None:
        loss = node.world.peer_loss_pct(node)
        return loss, (1.5 if node.static_route_via_gw else 0.35), True
    if dst.startswith("192.168.4."):
        return 100.0, 0.0, False
    return 0.5, 12.0, True


@command("ping")
async def c_ping(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "c:i:W:w:qnI:s:4")
    if not rest:
        raise UsageError("ping: usage error: Destination address required", 1)
    dst = rest[-1]
    count = int(opts.get("-c", ["0"])[-1])
    interval = float(opts.get("-i", ["1"])[-1])
    deadline = float(opts["-w"][-1]) if "-w" in opts else None
    quiet = "-q" in opts
    node = ctx.node
    peer = _peer_by_addr(node, dst)
    ip = peer.addr if peer else (dst if dst[0].isdigit() else None)
    if ip is None:
        raise UsageError(f"ping: {dst}: Name or service not known", 2)
    loss, base, reachable = _loss_for(node, ip)
    rng = random.Random(hash((ctx.world.seed, ip, int(ctx.world.clock.now()))) & 0xFFFF)
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
                    await ctx.out(f"64 bytes from {ip}: icmp_seq={sent} ttl="
                                  f"{63 if peer and node.static_route_via_gw else 64} "
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


@command("mtr")
async def c_mtr(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "rc:nwbjzi:", ["report", "report-cycles=", "json", "no-dns",
                                         "report-wide", "interval=", "show-ips"])
    if not rest:
        raise UsageError("mtr: No destination host specified", 1)
    dst = rest[-1]
    node = ctx.node
    cycles = int((opts.get("-c") or opts.get("--report-cycles") or ["10"])[-1])
    peer = _peer_by_addr(node, dst)
    ip = peer.addr if peer else dst
    gw, _ = _route(node, ip)
    rng = random.Random(ctx.world.seed + cycles)
    hops: list[tuple[str, float, float]] = []  # (host, loss%, base rtt)
    nodns = "-n" in opts or "--no-dns" in opts
    if gw and peer is not None:
        hops.append((gw if nodns else "_gateway" if False else gw, 84.0, 0.2))
        hops.append((ip if nodns else peer.name, 2.0, 1.5))
    elif peer is not None:
        hops.append((ip if nodns else peer.name, 0.0, 0.4))
    elif ip == GATEWAY:
        hops.append((ip, 0.0, 0.3))
    else:
        hops += [(GATEWAY, 0.0, 0.4), (ip, 0.0, 12.0)]
    await ctx.sleep(min(cycles, 10) * 0.2)
    rows = []
    for host, loss, base in hops:
        ok = round(cycles * (1 - loss / 100))
        samples = [base * rng.uniform(0.5, 1.4) for _ in range(max(ok, 1))]
        avg = sum(samples) / len(samples)
        sd = (sum((s - avg) ** 2 for s in samples) / len(samples)) ** 0.5
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
    peer = _peer_by_addr(node, rest[-1])
    ip = peer.addr if peer else rest[-1]
    gw, _ = _route(node, ip)
    out = [f"traceroute to {rest[-1]} ({ip}), 30 hops max, 60 byte packets"]
    k = 1
    if gw:
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
    loss = node.world.peer_loss_pct(node) > 0
    if "-S" in args:
        await ctx.out("NIC statistics:\n     rx_packets: 91234567\n     tx_packets: 71234567\n"
                      f"     rx_errors: {17 if loss else 0}\n     rx_crc_errors: "
                      f"{17 if loss else 0}\n     rx_missed_errors: 0\n     tx_errors: 0\n"
                      f"     rx_no_buffer_count: {2291 if loss else 0}\n")
        return 0
    await ctx.out(f"Settings for {dev}:\n\tSupported ports: [ TP ]\n\tSpeed: 1000Mb/s\n"
                  "\tDuplex: Full\n\tAuto-negotiation: on\n\tPort: Twisted Pair\n"
                  "\tLink detected: yes\n")
    return 0


@command("nft")
async def c_nft(ctx: Ctx) -> int:
    await ctx.out("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority "
                  "filter; policy accept;\n\t}\n}\n")
    return 0


@command("iptables", "iptables-save")
async def c_iptables(ctx: Ctx) -> int:
    await ctx.out("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               "
                  "destination         \n")
    return 0
