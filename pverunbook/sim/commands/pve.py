"""Proxmox VE and corosync tools: pvecm, qm, corosync-*, systemctl, journalctl, pmxcfs.

Output formats follow the real programs (corosync 3.1.7 captures byte for byte; pvecm/qm from
pve-cluster/qemu-server sources) because runbook expectations and the project's parsers match
on them. Every state change goes through :class:`pverunbook.sim.world.World`.
"""

from __future__ import annotations

import re
import time

from pverunbook.sim import certs, kvm
from pverunbook.sim.commands.core import _parse_when, gopt, lines_of
from pverunbook.sim.shell.executor import Ctx, UsageError, command
from pverunbook.sim.world import UNIT_INFO, JournalEntry, SimNode

PVE_VERSION = "pve-manager/8.2.7/3e0176e6bb2ade3b (running kernel: 6.8.12-4-pve)"


def _fmt_votequorum(node: SimNode, hex_ids: bool, ips: bool) -> tuple[str, int]:
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
             f"Highest expected: {max(node.expected_votes(), len(cs.nodes))}",
             f"Total votes:      {node.total_votes()}",
             f"Quorum:           {node.quorum()} {' ' if q else 'Activity blocked'}",
             "Flags:            " + ("Quorate " if q else "")
             + ("2Node WaitForAll " if cs.two_node else "")
             + ("Qdevice " if cs.qdevice_votes else ""), "",
             "Membership information", "----------------------",
             "    Nodeid      Votes    Qdevice Name" if cs.qdevice_votes
             else "    Nodeid      Votes Name"]
    alive, vote = node.qdevice_state()
    # corosync-quorumtool.c: A/NA alive, V/NV vote, MW/NMW master wins (never with ffsplit)
    qflags = f"{'A' if alive else 'NA'},{'V' if vote else 'NV'},NMW"
    for name, nodeid, addr in sorted(cs.nodes, key=lambda x: x[1]):
        if nodeid not in cs.members:
            continue
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
    if not ctx.node.corosync.running:
        raise UsageError("Cannot initialize QUORUM service", 1)
    _need_corosync(ctx)
    if "-e" in opts:
        try:
            n = int(opts["-e"][-1])
        except ValueError:
            raise UsageError("New expected votes value was garbage", 1) from None
        total = len(ctx.node.corosync.members)
        newq = n // 2 + 1
        if n < 1 or newq > max(total, n):
            raise UsageError("Unable to set expected votes: CS_ERR_INVALID_PARAM", 1)
        ctx.node.corosync.expected_override = n
        ctx.world.update_membership(ctx.world.clock.now())
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
    text, status = _fmt_votequorum(ctx.node, "-H" in opts, "-i" in opts)
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
        err = ctx.world.corosync_reload(node, ctx.world.clock.now())
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
            up = link_up(nid)
            out.append(f"nodeid: {nid} {'reachable' if up else 'unreachable'}")
            if up:
                out.append(f"   LINK: 0 udp ({node.addr}->{addr}) enabled connected mtu: 1397")
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
            continue
        down = f"host: {nid} link: 0 is down"
        flaps = sum(1 for e in node.journal if down in e.msg)
        pre = f"stats.knet.node{nid}.link0"
        up = bool(w.knet.get((node.name, name)))
        peer = w.nodes.get(name)
        lossy = peer is not None and w.net.pair_loss(node, peer) > 0
        lat = 1800 if lossy else 420
        rows += [(f"{pre}.connected", "u8", "1" if up else "0"),
                 (f"{pre}.down_count", "u32", str(flaps)),
                 (f"{pre}.enabled", "u8", "1"),
                 (f"{pre}.latency_ave", "u32", str(lat)),
                 (f"{pre}.latency_max", "u32", str(lat * 40 if lossy else lat * 3)),
                 (f"{pre}.latency_min", "u32", "180"),
                 (f"{pre}.latency_samples", "u32", "2048"),
                 (f"{pre}.mtu", "u32", "1397"),
                 (f"{pre}.rx_data_packets", "u64", str(48211 + flaps * 7)),
                 (f"{pre}.rx_ping_packets", "u64", "96012"),
                 (f"{pre}.rx_pong_packets", "u64", str(96012 - flaps * 31)),
                 (f"{pre}.tx_data_packets", "u64", "51377"),
                 (f"{pre}.tx_ping_packets", "u64", "96020"),
                 (f"{pre}.tx_pong_packets", "u64", "95988"),
                 (f"{pre}.up_count", "u32", str(flaps + 1))]
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
        err = ctx.world.corosync_check(text, key)
        if err:
            raise UsageError(err, 8)
        await ctx.out("Config file is valid\n")
        return 0
    raise UsageError("corosync: run it with systemctl start corosync", 8)


def _cluster_block(ctx: Ctx) -> str:
    try:
        text = ctx.fs.read_bytes("/etc/pve/corosync.conf").decode()
    except OSError:
        raise UsageError("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is "
                         "this node part of a cluster?", 2) from None

    def get(key: str, default: str = "") -> str:
        m = re.search(rf"^\s*{key}\s*:\s*(\S+)", text, re.M)
        return m.group(1) if m else default

    return ("Cluster information\n-------------------\n"
            f"Name:             {get('cluster_name')}\n"
            f"Config Version:   {get('config_version')}\n"
            f"Transport:        {get('transport', 'knet')}\n"
            f"Secure auth:      {get('secauth', 'off')}\n\n")


@command("pvecm")
async def c_pvecm(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if not args:
        raise UsageError("ERROR: no command specified\nUSAGE: pvecm <COMMAND> [ARGS] [OPTIONS]\n"
                         "       pvecm help [<extra-args>] [OPTIONS]", 255)
    sub = args[0]
    node = ctx.node
    ctx.world.tick()
    if sub in ("status", "nodes"):
        if node.pmxcfs.mount == "stale":
            raise UsageError("ipcc_send_rec[1] failed: Transport endpoint is not connected\n"
                             "Unable to load access control list: Transport endpoint is not "
                             "connected", 111)
        block = _cluster_block(ctx) if sub == "status" else ""
        await ctx.out(block)
        if not node.corosync.running:
            raise UsageError("Cannot initialize CMAP service", 2)
        if sub == "nodes":
            return await ctx.sh.run_argv(["corosync-quorumtool", "-l"], ctx.stdin, ctx.stdout,
                                         ctx.stderr)
        text, status = _fmt_votequorum(node, True, True)
        await ctx.out(text)
        return status
    if sub == "expected":
        if len(args) < 2:
            raise UsageError("400 not enough arguments\npvecm expected <expected>", 255)
        return await ctx.sh.run_argv(["corosync-quorumtool", "-e", args[1]], ctx.stdin,
                                     ctx.stdout, ctx.stderr)
    if sub == "qdevice":
        if args[1:2] == ["setup"] and len(args) > 2:
            return await _qdevice_setup(ctx, args[2], "--force" in args)
        raise UsageError("400 not enough arguments\npvecm qdevice setup <address>", 255)
    if sub == "updatecerts":
        return await _updatecerts(ctx, "--force" in args, "--silent" in args)
    if sub in ("help",):
        await ctx.out("USAGE: pvecm <COMMAND> [ARGS] [OPTIONS]\n\n       pvecm add <hostname>\n"
                      "       pvecm addnode <node>\n       pvecm apiver\n       pvecm create "
                      "<clustername>\n       pvecm delnode <node>\n       pvecm expected "
                      "<expected>\n       pvecm keygen <filename>\n       pvecm mtunnel\n"
                      "       pvecm nodes\n       pvecm qdevice remove\n       pvecm qdevice "
                      "setup <address>\n       pvecm status\n       pvecm updatecerts\n")
        return 0
    raise UsageError(f"unknown command 'pvecm {sub}'\nUSAGE: pvecm <COMMAND> [ARGS] [OPTIONS]",
                     255)


async def _updatecerts(ctx: Ctx, force: bool, silent: bool) -> int:
    """pvecm updatecerts (PVE/Cluster/Setup.pm ``updatecerts_and_ssh``): needs a quorate
    pmxcfs — ``--silent`` returns at once without one, otherwise it waits a while — then
    creates what is missing: priv/ and nodes/<node>/ dirs, authkey, pve-www.key, the CA
    (a new CA forces a new node certificate), the node key and certificate, the merged
    authorized_keys/known_hosts and vzdump.cron (``gen_pve_node_files``, ``ssh_merge_keys``,
    ``ssh_merge_known_hosts``, ``gen_pve_vzdump_files``)."""
    node, w = ctx.node, ctx.world
    waited = 0.0
    if silent and not node.pve_writable():
        return 0  # "return undef if $silent" in updatecerts_and_ssh
    while not node.pve_writable():
        if waited >= 10:
            raise UsageError("no quorum - unable to update files", 255)
        await ctx.sleep(1)
        waited += 1
        w.tick()
    now = w.clock.now()
    fs = ctx.fs

    def has(rel: str) -> bool:
        return fs.exists(f"/etc/pve/{rel}")

    async def put(rel: str, data: bytes) -> None:
        await fs.write_bytes(f"/etc/pve/{rel}", data)

    if not silent:
        await ctx.out("(re)generate node files\n")
    for d in ("priv", f"nodes/{node.name}", f"nodes/{node.name}/qemu-server",
              f"nodes/{node.name}/lxc", f"nodes/{node.name}/openvz", f"nodes/{node.name}/priv"):
        if not has(d):
            await fs.mkdir(f"/etc/pve/{d}", parents=True)
    if not has("priv/authkey.key") or not has("authkey.pub"):
        key = certs.rsa_key_pem(None)
        await put("priv/authkey.key", key)
        await put("authkey.pub", certs.public_pem(key))
    if not has("pve-www.key"):
        await put("pve-www.key", certs.rsa_key_pem(None))
    new_ca = False
    if not has("priv/pve-root-ca.key") or not has("pve-root-ca.pem"):
        ca_key = certs.rsa_key_pem(None)
        await put("priv/pve-root-ca.key", ca_key)
        await put("pve-root-ca.pem", certs.make_ca(ca_key, now))
        new_ca = True
    if not has(f"nodes/{node.name}/pve-ssl.key"):
        await put(f"nodes/{node.name}/pve-ssl.key", certs.rsa_key_pem(None))
    if force or new_ca or not has(f"nodes/{node.name}/pve-ssl.pem"):
        if force and not silent:
            await ctx.out("generate new node certificate\n")
        try:
            serial = int(fs.read_bytes("/etc/pve/priv/pve-root-ca.srl").strip() or b"2", 16) + 1
        except (OSError, ValueError):
            serial = w.ca_serial + 1
        w.ca_serial = serial
        await put("priv/pve-root-ca.srl", f"{serial:02X}\n".encode())
        pem = certs.make_node_cert(fs.read_bytes("/etc/pve/priv/pve-root-ca.key"),
                                   fs.read_bytes("/etc/pve/pve-root-ca.pem"),
                                   fs.read_bytes(f"/etc/pve/nodes/{node.name}/pve-ssl.key"),
                                   node.name, node.addr, now, serial)
        await put(f"nodes/{node.name}/pve-ssl.pem", pem)
    if not silent:
        await ctx.out("merge authorized SSH keys and known hosts\n")
    sshkey = f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{node.nodeid}rehearsal root@{node.name}\n"
    try:
        keys = fs.read_bytes("/etc/pve/priv/authorized_keys").decode()
    except OSError:
        keys = ""
    if sshkey not in keys:
        await put("priv/authorized_keys", (keys + sshkey).encode())
    host_line = f"{node.name} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{node.name}Rehearsal\n"
    if not has(f"nodes/{node.name}/ssh_known_hosts"):
        await put(f"nodes/{node.name}/ssh_known_hosts", host_line.encode())
    try:
        known = fs.read_bytes("/etc/pve/priv/known_hosts").decode()
    except OSError:
        known = ""
    if host_line not in known:
        await put("priv/known_hosts", (known + host_line).encode())
    if not has("vzdump.cron"):
        await put("vzdump.cron", b"# cluster wide vzdump cron schedule\n"
                  b"# Automatically generated file - do not edit\n\n"
                  b'PATH="/usr/sbin:/usr/bin:/sbin:/bin"\n\n')
    return 0


QM_USAGE = ("USAGE: qm <COMMAND> [ARGS] [OPTIONS]\n       qm config <vmid>\n       qm list\n"
            "       qm showcmd <vmid>\n       qm status <vmid>\n       qm start <vmid>\n"
            "       qm stop <vmid>\n")


@command("qm")
async def c_qm(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    node, w = ctx.node, ctx.world
    if not args:
        raise UsageError("ERROR: no command specified\n" + QM_USAGE, 255)
    if node.pmxcfs.mount == "stale":
        raise UsageError("ipcc_send_rec[1] failed: Transport endpoint is not connected\n"
                         "Unable to load access control list: Transport endpoint is not "
                         "connected", 111)
    if node.pmxcfs.state != "running" or node.pmxcfs.mount != "mounted":
        raise UsageError("ipcc_send_rec[1] failed: Connection refused\nipcc_send_rec[2] failed: "
                         "Connection refused\nipcc_send_rec[3] failed: Connection refused\n"
                         "Unable to load access control list: Connection refused", 111)
    sub = args[0]
    if sub == "list":
        rows = []
        for vmid in sorted(_local_vmids(ctx)):
            conf = kvm.parse_conf(w.vm_config(node, vmid) or "")
            vm = node.vms.get(vmid)
            boot = kvm.boot_disk(conf)
            disk = kvm.disk_size_bytes(conf, boot) / (1 << 30) if boot else 0.0
            rows.append(f"{vmid:>10} {conf.get('name', f'VM {vmid}'):<20} "
                        f"{'running' if vm else 'stopped':<10} {conf.get('memory', '512'):<10} "
                        f"{disk:>12.2f} {vm.pid if vm else 0:<10}")
        if rows:
            await ctx.out(f"{'VMID':>10} {'NAME':<20} {'STATUS':<10} {'MEM(MB)':<10} "
                          f"{'BOOTDISK(GB)':>12} {'PID':<10}\n" + "\n".join(rows) + "\n")
        return 0
    if len(args) < 2 or not args[1].isdigit():
        raise UsageError(f"400 not enough arguments\nqm {sub} <vmid>", 255)
    vmid = int(args[1])
    text = w.vm_config(node, vmid)
    if text is None:
        raise UsageError(f"Configuration file 'nodes/{node.name}/qemu-server/{vmid}.conf' does "
                         "not exist", 2)
    conf = kvm.parse_conf(text)
    if sub == "config":
        for k in sorted(conf):
            if k == "description":
                continue
            await ctx.out(f"{k}: {conf[k]}\n")
        return 0
    if sub == "showcmd":
        argv = kvm.kvm_argv(vmid, conf)
        await ctx.out(kvm.pretty(argv) if "--pretty" in args else kvm.oneline(argv))
        return 0
    if sub == "status":
        await ctx.out(f"status: {'running' if vmid in node.vms else 'stopped'}\n")
        return 0
    if sub in ("start", "stop", "shutdown", "reboot", "unlock", "rescan"):
        if not node.pve_writable():
            await ctx.err("cluster not ready - no quorum?\n")
            return 255
        if sub == "start" and vmid in node.vms:
            raise UsageError(f"VM {vmid} already running", 255)
        if sub in ("stop", "shutdown") and vmid in node.vms:
            del node.vms[vmid]
        elif sub == "start":
            from pverunbook.sim.world import Vm

            argv = kvm.kvm_argv(vmid, conf)
            node.vms[vmid] = Vm(vmid, node.alloc_pid(), argv, conf, w.clock.now())
        return 0
    raise UsageError(f"unknown command 'qm {sub}'\n" + QM_USAGE, 255)


def _local_vmids(ctx: Ctx) -> list[int]:
    db = ctx.node.pmxcfs.memdb
    if db is None:
        return []
    pre = f"nodes/{ctx.node.name}/qemu-server/"
    return [int(k[len(pre):-5]) for k in db.entries
            if k.startswith(pre) and k.endswith(".conf") and k[len(pre):-5].isdigit()]


async def _qdevice_setup(ctx: Ctx, addr: str, force: bool) -> int:
    """``pvecm qdevice setup ADDR`` (pvecm.pm): certificates over SSH to the QNetd host, a
    ``quorum.device`` section in /etc/pve/corosync.conf, corosync-qdevice on every node."""
    node, w = ctx.node, ctx.world
    host = w.extra_host_by_addr(addr)
    await ctx.out("/bin/ssh-copy-id: INFO: Source of key(s) to be installed: "
                  "\"/root/.ssh/id_rsa.pub\"\n")
    if host is None or host.units["ssh"].state != "active":
        raise UsageError(f"ssh: connect to host {addr} port 22: No route to host\n"
                         "unable to copy ssh ID: exit code 1", 255)
    if host.units["corosync-qnetd"].state != "active":
        raise UsageError("Connection to the QNetd server failed: corosync-qnetd is not running "
                         f"on {addr}\n", 255)
    if len(w.nodes) % 2 and not force:
        raise UsageError("Clusters with an odd node count are not officially supported!", 255)
    text = ctx.fs.read_bytes("/etc/pve/corosync.conf").decode()
    if re.search(r"^\s*device\s*\{", text, re.M):
        raise UsageError("QDevice already configured!", 255)
    if re.search(r"^\s*two_node\s*:\s*1", text, re.M):
        raise UsageError("two_node and a QDevice cannot be configured at the same time", 255)
    if not node.pve_writable():
        raise UsageError("cluster not ready - no quorum?", 255)
    await ctx.out("\nINFO: initializing qnetd server\n"
                  "Certificate database (/etc/corosync/qnetd/nssdb) already exists. "
                  "Delete it to initialize new db\n\nINFO: copying CA cert and initializing "
                  "on all nodes\n\nINFO: generating cert request\n\nINFO: copy exported CRQ"
                  "\n\nINFO: sign and export cluster cert\n\nINFO: import certificate\n"
                  "\nINFO: copy and import pk12 cert to all nodes\n\nINFO: add QDevice to "
                  "cluster configuration\n")
    m = re.search(r"config_version\s*:\s*(\d+)", text)
    version = int(m.group(1)) + 1 if m else 1
    text = re.sub(r"config_version\s*:\s*\d+", f"config_version: {version}", text, count=1)
    algorithm = "ffsplit" if len(w.nodes) % 2 == 0 else "lms"
    device = ("  device {\n    model: net\n    net {\n      algorithm: " + algorithm
              + "\n      tls: on\n      host: " + addr + "\n    }\n    votes: "
              + ("1" if algorithm == "ffsplit" else str(len(w.nodes) - 1)) + "\n  }\n")
    text = re.sub(r"(quorum\s*\{\n)", lambda mm: mm.group(1) + device, text, count=1)
    await ctx.fs.write_bytes("/etc/pve/corosync.conf", text.encode())
    t = w.clock.now()
    for n in w.nodes.values():
        n.qdevice_configured = True
        u = n.units["corosync-qdevice"]
        u.state, u.since, u.pid, u.enabled = "active", t, n.alloc_pid(), True
        n.log("corosync-qdevice", "systemd", 1, "Started corosync-qdevice.service - Corosync "
              "Qdevice daemon.", t)
        await ctx.out(f"\nINFO: start and enable corosync qdevice daemon on node '{n.name}'..."
                      "\nSynchronizing state of corosync-qdevice.service with SysV service "
                      "script with /lib/systemd/systemd-sysv-install.\nCreated symlink "
                      "/etc/systemd/system/multi-user.target.wants/corosync-qdevice.service -> "
                      "/lib/systemd/system/corosync-qdevice.service.\n")
    # pmxcfs already copied the new config to every node and ran corosync-cfgtool -R
    await ctx.out("Reloading corosync.conf...\nDone\n")
    w.update_membership(t)
    return 0


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
    alive, _vote = node.qdevice_state()
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


@command("pct")
async def c_pct(ctx: Ctx) -> int:
    if ctx.argv[1:2] == ["list"]:
        return 0
    raise UsageError("ERROR: no command specified", 255)


@command("pveversion")
async def c_pveversion(ctx: Ctx) -> int:
    if "-v" in ctx.argv or "--verbose" in ctx.argv:
        await ctx.out(
            "proxmox-ve: 8.2.0 (running kernel: 6.8.12-4-pve)\n" + PVE_VERSION.split(" (")[0]
            + "\nproxmox-kernel-helper: 8.1.0\nproxmox-kernel-6.8: 6.8.12-4\n"
            "corosync: 3.1.7-pve3\ncriu: 3.17.1-2+deb12u1\nglusterfs-client: 10.3-5\n"
            "libknet1: 1.28-pve1\nlibproxmox-acme-perl: 1.5.1\nlibpve-access-control: 8.1.4\n"
            "libpve-cluster-api-perl: 8.0.10\nlibpve-cluster-perl: 8.0.10\n"
            "libpve-common-perl: 8.2.9\nlibpve-guest-common-perl: 5.1.4\n"
            "libpve-storage-perl: 8.2.9\nlxc-pve: 6.0.0-1\npve-cluster: 8.0.10\n"
            "pve-container: 5.2.2\npve-edk2-firmware: 4.2023.08-4\npve-firewall: 5.0.7\n"
            "pve-ha-manager: 4.0.5\npve-qemu-kvm: 9.0.2-4\nqemu-server: 8.2.7\n")
    else:
        await ctx.out(PVE_VERSION + "\n")
    return 0


@command("ha-manager")
async def c_ha_manager(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    node, w = ctx.node, ctx.world
    w.tick()
    if not args or args[0] not in ("status", "config"):
        raise UsageError("ERROR: unknown command 'ha-manager " + " ".join(args) + "'", 255)
    if args[0] == "config":
        return 0
    if node.pmxcfs.mount != "mounted":
        raise UsageError("ipcc_send_rec[1] failed: Connection refused", 111)
    stamp = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(w.clock.now() - 8))
    out = [f"quorum {'OK' if node.corosync.quorate else 'No'}"]
    names = sorted(w.nodes)
    out.append(f"master {names[0]} (idle, {stamp})")
    for n in names:
        out.append(f"lrm {n} (idle, {stamp})")
    await ctx.out("\n".join(out) + "\n")
    return 0


# -- systemd ------------------------------------------------------------------------------

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
        # debian/pve-cluster.service: ExecStartPost=-/usr/bin/pvecm updatecerts --silent
        await _updatecerts(Ctx(ctx.sh, ["pvecm", "updatecerts", "--silent"], ctx.stdin,
                               ctx.stdout, ctx.stderr), False, True)
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
        return None
    if unit in ("corosync", "pve-cluster"):
        return None
    if u.state != "active":
        desc = UNIT_INFO[unit][0]
        u.state, u.since, u.pid = "active", t, node.alloc_pid()
        node.log(unit, "systemd", 1, f"Started {unit}.service - {desc}.", t)
        if unit in ("pveproxy", "spiceproxy"):
            # pveproxy.service: ExecStartPre=-/usr/bin/pvecm updatecerts --silent
            if node.pve_writable():
                await _updatecerts(Ctx(ctx.sh, ["pvecm", "updatecerts", "--silent"], ctx.stdin,
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
            w.pmxcfs_stop(node, t, 15)
            node.log("pve-cluster", "systemd", 1, "pve-cluster.service: Deactivated "
                     "successfully.", t + 0.5)
            node.log("pve-cluster", "systemd", 1, f"Stopped pve-cluster.service - {desc}.",
                     t + 0.5)
        u.state = "inactive"
        return
    if unit == "corosync":
        if node.corosync.running:
            node.log("corosync", "systemd", 1, f"Stopping corosync.service - {desc}...", t)
            w.corosync_stop(node, t)
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
            w.corosync_stop(node, t)
            node.units["corosync"].state = "failed" if sig == 9 else "inactive"
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
    for a in args:
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


_ = (kvm, lines_of)
