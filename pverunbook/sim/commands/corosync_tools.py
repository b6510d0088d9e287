"""corosync's own tools: corosync-quorumtool, corosync-cfgtool, corosync-cmapctl, corosync -t/-v,
corosync-qdevice-tool and (on the QNetd host) corosync-qnetd-tool.

Output formats follow corosync 3.1.7 and corosync-qdevice 3.0.3 byte for byte where captures
exist (domain.md §6), because runbook expectations and the project's parsers match on them.
"""

from __future__ import annotations

import time

from pverunbook.sim.commands.core import gopt
from pverunbook.sim.fault_scenarios import knet_mtu
from pverunbook.sim.node import SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command

PVE_VERSION = "pve-manager/8.2.7/3e0176e6bb2ade3b (running kernel: 6.8.12-4-pve)"


def fmt_votequorum(node: SimNode, hex_ids: bool, ips: bool) -> tuple[str, int]:
    """``corosync-quorumtool -s[iH]`` text and its exit status (2 when not quorate)."""
    w = node.world
    cs = node.corosync
    q = cs.quorate
    date = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(w.clock.now()))
    nid = f"0x{node.nodeid:08x}" if hex_ids else str(node.nodeid)
    lines = ["Quorum information", "------------------",
             f"Date:             {date}",
             "Quorum provider:  corosync_votequorum",
             f"Nodes:            {len(cs.members)}",
             f"Node ID:          {nid}",
             f"Ring ID:          {cs.ring}",
             f"Quorate:          {'Yes' if q else 'No'}", "",
             "Votequorum information", "----------------------",
             f"Expected votes:   {node.expected_votes()}",
             f"Highest expected: {node.expected_votes()}",
             f"Total votes:      {node.total_votes()}",
             f"Quorum:           {node.quorum()} {' ' if q else 'Activity blocked'}",
             "Flags:            " + ("Quorate " if q else "")
             + ("2Node WaitForAll " if cs.two_node else "")
             # the flag is votequorum's QDEVICE_REGISTERED: refused while the quorum section
             # conflicts with the device (votequorum.c qdevice_register: CS_ERR_ACCESS)
             + ("Qdevice " if cs.qdevice_votes and not cs.qdevice_blocked else ""), "",
             "Membership information", "----------------------",
             "    Nodeid      Votes    Qdevice Name" if cs.qdevice_votes
             else "    Nodeid      Votes Name"]
    alive, vote = node.qdevice_state()
    for name, nodeid, addr in sorted(cs.nodes, key=lambda x: x[1]):
        if nodeid not in cs.members:
            continue
        # corosync-quorumtool.c: each member's own flags (votequorum node info), A/NA alive,
        # V/NV vote, MW/NMW master wins (never with ffsplit)
        m_alive, m_vote = node.world.nodes.get(name, node).qdevice_state()
        qflags = f"{'A' if m_alive else 'NA'},{'V' if m_vote else 'NV'},NMW"
        ident = f"0x{nodeid:08x}" if hex_ids else f"{nodeid:>10}"
        label = addr if ips else name
        local = " (local)" if nodeid == node.nodeid else ""
        if cs.qdevice_votes:
            lines.append(f"{ident}          1 {qflags:>10} {label}{local}")
        else:
            lines.append(f"{ident}          1 {label}{local}")
    if cs.qdevice_votes:
        ident = "0x00000000" if hex_ids else f"{0:>10}"
        lines.append(f"{ident}          {cs.qdevice_votes if vote else 0}            Qdevice")
    return "\n".join(lines) + "\n", 0 if q else 2


def _need_corosync(ctx: Ctx) -> None:
    ctx.world.tick()
    if not ctx.node.corosync.running:
        raise UsageError("Cannot initialize CMAP service", 1)


@command("corosync-quorumtool")
async def c_quorumtool(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "siHlpe:avVmofh")
    if "-v" in opts or "-V" in opts:
        await ctx.out("Corosync Cluster Engine, version '3.1.7'\nCopyright (c) 2006-2021 Red Hat, "
                      "Inc.\n")
        return 0
    # tools/corosync-quorumtool.c init_all: CMAP is initialised first, so a stopped corosync
    # answers "Cannot initialize CMAP service" (not the QUORUM line that follows it)
    _need_corosync(ctx)
    if "-e" in opts:
        try:
            n = int(opts["-e"][-1])
        except ValueError:
            raise UsageError("New expected votes value was garbage", 1) from None
        err = ctx.world.set_expected(ctx.node, n)
        if err:
            raise UsageError(f"Unable to set expected votes: {err}", 1)
        return 0
    if "-l" in opts:
        cs = ctx.node.corosync
        out = ["", "Membership information", "----------------------",
               "    Nodeid      Votes Name"]
        for name, nodeid, addr in sorted(cs.nodes, key=lambda x: x[1]):
            if nodeid in cs.members:
                ident = f"0x{nodeid:08x}" if "-H" in opts else f"{nodeid:>10}"
                label = addr if "-i" in opts else name
                out.append(f"{ident}          1 {label}"
                           + (" (local)" if nodeid == ctx.node.nodeid else ""))
        await ctx.out("\n".join(out) + "\n")
        return 0
    text, status = fmt_votequorum(ctx.node, "-H" in opts, "-i" in opts)
    await ctx.out(text)
    return status


@command("corosync-cfgtool")
async def c_cfgtool(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "snRbilk:a:hH", [])
    node = ctx.node
    if not node.corosync.running:
        raise UsageError("Could not initialize corosync configuration API error 2", 1)
    ctx.world.tick()
    cs = node.corosync
    if "-R" in opts:
        err = ctx.world.cluster_reload(node, ctx.world.clock.now())
        if err:
            raise UsageError(err, 1)
        await ctx.out("Reloading corosync.conf...\nDone\n")
        return 0
    peers = [(nid, addr) for _n, nid, addr in sorted(cs.nodes, key=lambda x: x[1])]
    # knet's view per link (the two ends of a bad link see it down; totem membership may
    # exclude a node whose other links are fine)
    names = {nid: name for name, nid, _a in cs.nodes}

    def link_up(nid: int) -> bool:
        return bool(ctx.world.knet.get((node.name, names.get(nid, ""))))

    if "-n" in opts:
        out = [f"Local node ID {node.nodeid}, transport {cs.transport}"]
        for nid, addr in peers:
            if nid == node.nodeid:
                continue
            # corosync tools/corosync-cfgtool.c (ACTION_NODESTATUS_GET): "Only display node
            # info if it is reachable (and not us)": an unreachable peer is simply not listed
            if not link_up(nid):
                continue
            out.append(f"nodeid: {nid} reachable")
            mtu = knet_mtu(node, ctx.world.nodes.get(names.get(nid, "")))
            out.append(f"   LINK: 0 udp ({node.addr}->{addr}) enabled connected mtu: {mtu}")
            out.append("")
        await ctx.out("\n".join(out) + "\n")
        return 0
    if "-b" in opts:
        states = "".join("n" if nid == node.nodeid else ("3" if link_up(nid) else "1")
                         for nid, _ in peers)
        await ctx.out(f"Local node ID {node.nodeid}, transport {cs.transport}\n"
                      f"LINK ID 0 udp\n\tstatus = {states}\n")
        return 0
    out = [f"Local node ID {node.nodeid}, transport {cs.transport}", "LINK ID 0 udp",
           f"\taddr\t= {node.addr}", "\tstatus:"]
    for nid, _addr in peers:
        state = "localhost" if nid == node.nodeid else (
            "connected" if link_up(nid) else "disconnected")
        out.append(f"\t\tnodeid: {nid:>10}:\t{state}")
    await ctx.out("\n".join(out) + "\n")
    return 0


def _totem_keys(text: str) -> dict[str, str]:
    """Top-level ``key: value`` lines of the totem section (corosync loads them into cmap)."""
    keys: dict[str, str] = {}
    stack: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        if line.endswith("{"):
            stack.append(line[:-1].strip())
        elif line == "}":
            if stack:
                stack.pop()
        elif ":" in line and stack == ["totem"]:
            k, v = line.split(":", 1)
            keys[k.strip()] = v.strip()
    return keys


def _cmap(node: SimNode) -> list[tuple[str, str, str]]:
    cs = node.corosync
    w = node.world
    rows: list[tuple[str, str, str]] = []
    for k, (name, nid, addr) in enumerate(sorted(cs.nodes, key=lambda x: x[0])):
        rows += [("nodelist.local_node_pos", "u32", str(k))] if nid == node.nodeid else []
        rows += [(f"nodelist.node.{k}.name", "str", name),
                 (f"nodelist.node.{k}.nodeid", "u32", str(nid)),
                 (f"nodelist.node.{k}.quorum_votes", "u32", "1"),
                 (f"nodelist.node.{k}.ring0_addr", "str", addr)]
    rows += [("quorum.provider", "str", "corosync_votequorum"),
             ("runtime.config.totem.consensus", "u32", str(cs.consensus)),
             ("runtime.config.totem.token", "u32", str(cs.token)),
             ("runtime.config.totem.token_retransmit", "u32", str(int(cs.token / 4.2))),
             ("runtime.config.totem.token_retransmits_before_loss_const", "u32", "4"),
             ("runtime.votequorum.ev_barrier", "u32", str(node.expected_votes())),
             ("runtime.votequorum.highest_node_id", "u32", str(max(
                 (n for _a, n, _b in cs.nodes), default=1))),
             ("runtime.votequorum.this_node_id", "u32", str(node.nodeid)),
             ("totem.cluster_name", "str", cs.cluster_name),
             ("totem.config_version", "u64", str(cs.config_version)),
             ("totem.ip_version", "str", "ipv4-6"),
             ("totem.link_mode", "str", "passive"),
             ("totem.secauth", "str", "on" if cs.secauth else "off"),
             ("totem.version", "u32", "2")]
    # Keys set in the loaded corosync.conf's totem section appear in cmap as totem.<key>.
    have = {k for k, _t, _v in rows}
    for key, value in _totem_keys(cs.text).items():
        if f"totem.{key}" not in have:
            rows.append((f"totem.{key}", "u32" if value.isdigit() else "str", value))
    for name, nid, _addr in cs.nodes:
        if nid == node.nodeid:
            # knet's link to the node itself (loopback): connected at once, never pinged
            pre = f"stats.knet.node{nid}.link0"
            rows += [(f"{pre}.connected", "u8", "1"), (f"{pre}.down_count", "u32", "0"),
                     (f"{pre}.enabled", "u8", "1"), (f"{pre}.latency_ave", "u32", "0"),
                     (f"{pre}.latency_max", "u32", "0"),
                     (f"{pre}.latency_min", "u32", "4294967295"),
                     (f"{pre}.latency_samples", "u32", "0"), (f"{pre}.mtu", "u32", "65535"),
                     (f"{pre}.up_count", "u32", "1")]
            continue
        down = f"host: {nid} link: 0 is down"
        flaps = sum(1 for e in node.journal if down in e.msg)
        pre = f"stats.knet.node{nid}.link0"
        up = bool(w.knet.get((node.name, name)))
        peer = w.nodes.get(name)
        lossy = peer is not None and w.net.pair_loss(node, peer) > 0
        lat = 1800 if lossy else 420
        rows += [(f"{pre}.connected", "u8", "1" if up else "0"),
                 # enabling the link before the peer answered was a down too (libknet
                 # links.c knet_link_set_enable -> _link_updown): a healthy link reads 1
                 (f"{pre}.down_count", "u32", str(flaps + 1)),
                 (f"{pre}.enabled", "u8", "1"),
                 (f"{pre}.latency_ave", "u32", str(lat)),
                 (f"{pre}.latency_max", "u32", str(lat * 40 if lossy else lat * 3)),
                 (f"{pre}.latency_min", "u32", "180"),
                 (f"{pre}.latency_samples", "u32", "2048"),
                 (f"{pre}.mtu", "u32", str(knet_mtu(node, peer))),
                 (f"{pre}.rx_data_packets", "u64", str(48211 + flaps * 7)),
                 (f"{pre}.rx_ping_packets", "u64", "96012"),
                 (f"{pre}.rx_pong_packets", "u64", str(96012 - flaps * 31)),
                 (f"{pre}.tx_data_packets", "u64", "51377"),
                 (f"{pre}.tx_ping_packets", "u64", "96020"),
                 (f"{pre}.tx_pong_packets", "u64", "95988"),
                 (f"{pre}.up_count", "u32", str(flaps + 1 if up else flaps))]
    return sorted(rows)


@command("corosync-cmapctl")
async def c_cmapctl(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "g:m:bs:d:p:tTh")
    if not ctx.node.corosync.running:
        raise UsageError("Failed to initialize the cmap API. Error CS_ERR_LIBRARY", 1)
    ctx.world.tick()
    rows = _cmap(ctx.node)
    if "-g" in opts:
        key = opts["-g"][-1]
        for k, t, v in rows:
            if k == key:
                await ctx.out(f"{k} ({t}) = {v}\n")
                return 0
        raise UsageError(f"Can't get key {key}. Error CS_ERR_NOT_EXIST", 1)
    want = opts.get("-m", ["all"])[-1]
    prefix = rest[0] if rest else ""
    for k, t, v in rows:
        if want == "stats" and not k.startswith("stats."):
            continue
        if want != "stats" and k.startswith("stats."):
            continue
        if prefix and not k.startswith(prefix):
            continue
        await ctx.out(f"{k} = {v}\n" if "-b" in opts else f"{k} ({t}) = {v}\n")
    return 0


@command("corosync")
async def c_corosync(ctx: Ctx) -> int:
    opts, _ = gopt(ctx, "vftc:p")
    if "-v" in opts:
        await ctx.out("Corosync Cluster Engine, version '3.1.7'\nCopyright (c) 2006-2021 Red Hat, "
                      "Inc.\n\nBuilt-in features: dbus monitoring watchdog systemd xmlconf vqsim "
                      "nozzle snmp pie relro bindnow\nAvailable crypto models: nss openssl\n"
                      "Available compression models: zlib lz4 lz4hc lzo2 lzma bzip2 zstd\n")
        return 0
    if "-t" in opts:
        path = opts.get("-c", ["/etc/corosync/corosync.conf"])[-1]
        try:
            text = ctx.fs.read_bytes(path, ctx.cwd).decode()
        except OSError as exc:
            raise UsageError(f"Can't read file {path}: {exc.strerror}", 8) from None
        try:
            key: bytes | None = ctx.fs.read_bytes("/etc/corosync/authkey")
        except OSError:
            key = None
        err = ctx.world.corosync_check(text, key, test_only=True)
        if err:
            raise UsageError(err, 8)
        await ctx.out("Config file is valid\n")
        return 0
    raise UsageError("corosync: run it with systemctl start corosync", 8)


@command("corosync-qdevice-tool")
async def c_qdevice_tool(ctx: Ctx) -> int:
    """``corosync-qdevice-tool -s``: this node's qdevice and its connection to qnetd."""
    node = ctx.node
    cs = node.corosync
    u = node.units.get("corosync-qdevice")
    if u is None or u.state != "active" or not cs.qdevice_votes:
        raise UsageError("Can't connect to QDevice socket (is QDevice running?): No such file "
                         "or directory", 1)
    ctx.world.tick()
    host = ctx.world.qnetd_host()
    alive = host is not None and host.units["corosync-qnetd"].state == "active"
    ids = sorted(nid for _a, nid, _b in cs.nodes)
    out = ["Qdevice information", "-------------------", "Model:                  Net",
           f"Node ID:                {node.nodeid}", "Configured node list:"]
    out += [f"    {k}   Node ID = {nid}" for k, nid in enumerate(ids)]
    out += [f"Membership node list:   {', '.join(map(str, sorted(cs.members)))}", "",
            "Qdevice-net information", "----------------------",
            f"Cluster name:           {cs.cluster_name}",
            f"QNetd host:             {cs.qdevice_host}:5403",
            "Algorithm:              Fifty-Fifty split",
            "Tie-breaker:            Node with lowest node ID",
            f"State:                  {'Connected' if alive else 'Connect failed'}"]
    await ctx.out("\n".join(out) + "\n")
    return 0


@command("corosync-qnetd-tool")
async def c_qnetd_tool(ctx: Ctx) -> int:
    """``corosync-qnetd-tool -s|-l`` on the QNetd host: its clients and their votes."""
    host = ctx.node
    u = host.units.get("corosync-qnetd")
    if host.role != "qnetd" or u is None:
        raise UsageError("sh: 1: corosync-qnetd-tool: not found", 127)
    if u.state != "active":
        raise UsageError("Can't connect to QNetd socket (is QNetd running?): No such file or "
                         "directory", 1)
    ctx.world.tick()
    clients = [n for n in ctx.world.nodes.values() if n.qdevice_state()[0]]
    if "-l" in ctx.argv[1:]:
        if not clients:
            return 0
        name = clients[0].corosync.cluster_name
        out = [f'Cluster "{name}":', "    Algorithm:          Fifty-Fifty split (KAP "
               "Tie-breaker)", "    Tie-breaker:        Node with lowest node ID"]
        for n in sorted(clients, key=lambda x: x.nodeid):
            vote = "ACK (ACK)" if n.qdevice_state()[1] else "NACK (NACK)"
            out += [f"    Node ID {n.nodeid}:",
                    f"        Client address:         ::ffff:{n.addr}:{40000 + n.nodeid}",
                    "        Configured node list:   "
                    + ", ".join(str(nid) for _a, nid, _b in sorted(n.corosync.nodes,
                                                                   key=lambda x: x[1])),
                    "        Membership node list:   "
                    + ", ".join(map(str, sorted(n.corosync.members))),
                    f"        Vote:                   {vote}"]
        await ctx.out("\n".join(out) + "\n")
        return 0
    await ctx.out("QNetd address:                  *:5403\n"
                  "TLS:                            Supported (client certificate required)\n"
                  f"Connected clients:              {len(clients)}\n"
                  f"Connected clusters:             {1 if clients else 0}\n")
    return 0
