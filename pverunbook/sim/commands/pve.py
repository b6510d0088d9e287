"""Proxmox VE's own tools: pvecm (status, expected, updatecerts, qdevice setup), qm, pct,
pveversion, ha-manager. corosync's tools are in :mod:`.corosync_tools`, systemctl/journalctl
and process control in :mod:`.services`.

Output formats follow the real programs (corosync 3.1.7 captures byte for byte; pvecm/qm from
pve-cluster/qemu-server sources) because runbook expectations and the project's parsers match
on them. Every state change goes through :class:`pverunbook.sim.world.World`.
"""

from __future__ import annotations

import re
import shutil
import time

from pverunbook.sim import certs, kvm
from pverunbook.sim.commands.core import lines_of
from pverunbook.sim.commands.corosync_tools import fmt_votequorum
from pverunbook.sim.corosync_daemon import qdevice_register_refused
from pverunbook.sim.shell.executor import Ctx, UsageError, command

#: pvecm.pm setup_qdevice's $db_dir_node: each node's corosync-qdevice certificate store
QDEVICE_NSSDB = "/etc/corosync/qdevice/net/nssdb"
PVE_VERSION = "pve-manager/8.2.7/3e0176e6bb2ade3b (running kernel: 6.8.12-4-pve)"


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
        text, status = fmt_votequorum(node, True, True)
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
        return await updatecerts(ctx, "--force" in args, "--silent" in args)
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


async def updatecerts(ctx: Ctx, force: bool, silent: bool) -> int:
    """pvecm updatecerts (PVE/Cluster/Setup.pm ``updatecerts_and_ssh``): needs a quorate
    pmxcfs — ``--silent`` returns at once without one, otherwise it waits a while — then
    creates what is missing: priv/ and nodes/<node>/ dirs, authkey, pve-www.key, the CA
    (a new CA forces a new node certificate), the node key and certificate, the merged
    authorized_keys, the node's ssh_known_hosts and vzdump.cron (``gen_pve_node_files``,
    ``ssh_merge_keys``, ``ssh_create_node_known_hosts``, ``gen_pve_vzdump_files``)."""
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
        await ctx.out("merge authorized SSH keys\n")  # Setup.pm updatecerts_and_ssh
    try:  # "always add ourself" (ssh_merge_keys): root's own public key
        sshkey = node.host("/root/.ssh/id_rsa.pub").read_text()
    except OSError:
        sshkey = f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{node.nodeid}rehearsal root@{node.name}\n"
    try:
        keys = fs.read_bytes("/etc/pve/priv/authorized_keys").decode()
    except OSError:
        keys = ""
    if sshkey not in keys:
        await put("priv/authorized_keys", (keys + sshkey).encode())
    host_line = f"{node.name} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{node.name}Rehearsal\n"
    # ssh_create_node_known_hosts: the node's own host key for the others to pin; since
    # pve-cluster 8.0.6 ("stop merging SSH known hosts by default") nothing is merged into a
    # cluster-wide priv/known_hosts any more (ssh_merge_known_hosts has no caller)
    if not has(f"nodes/{node.name}/ssh_known_hosts"):
        await put(f"nodes/{node.name}/ssh_known_hosts", host_line.encode())
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
            from pverunbook.sim.node import Vm

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
    """``pvecm qdevice setup ADDR`` (pve-cluster src/PVE/CLI/pvecm.pm ``setup_qdevice``): the
    address must be an IP (``format => 'ip'``, pve-common ``pve_verify_ip``), every member
    online ("All nodes must be online! Node %s is offline, aborting."), then certificates over
    SSH to the QNetd host, a ``quorum.device`` section in /etc/pve/corosync.conf (written under
    the corosync.conf cfs lock with a bumped config_version), corosync-qdevice on every node
    and a cluster-wide ``corosync-cfgtool -R``."""
    import ipaddress

    node, w = ctx.node, ctx.world
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        raise UsageError("400 Parameter verification failed.\naddress: value does not look like "
                         "a valid IP address\npvecm qdevice setup <address> [OPTIONS]", 255) \
            from None
    w.tick()
    for name in sorted(w.nodes):
        member = w.nodes[name]
        online = (member.nodeid in node.corosync.members and member.pmxcfs.state == "running"
                  and node.corosync.running)
        if not online:
            raise UsageError(f"All nodes must be online! Node {name} is offline, aborting.", 255)
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
    # pvecm.pm: `if (-d $db_dir_node)` after ssh-copy-id: this node's certificate store, left
    # by an earlier attempt, is refused unless forced (then deleted)
    if node.host(QDEVICE_NSSDB).is_dir():
        if not force:
            raise UsageError("QDevice certificate store already initialised, set force to "
                             "delete!", 255)
        shutil.rmtree(node.host(QDEVICE_NSSDB))
    # no check of the quorum section: setup_qdevice adds the device beside two_node (or
    # last_man_standing ...) and the reload disables it (corosync_daemon.cluster_reload)
    if not node.pve_writable():
        raise UsageError("cluster not ready - no quorum?", 255)
    for n in w.nodes.values():  # corosync-qdevice-net-certutil -i on every member
        n.host(QDEVICE_NSSDB).mkdir(parents=True, exist_ok=True)
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
    for n in sorted(w.nodes.values(), key=lambda x: x.name):  # $foreach_member: sorted names
        n.qdevice_configured = True
        if qdevice_register_refused(n, t):
            # corosync-qdevice exits before it is ready (Type=notify): systemctl start fails,
            # run_command dies, and pvecm runs no reload of its own
            await ctx.out(f"\nINFO: start and enable corosync qdevice daemon on node "
                          f"'{n.name}'...\n")
            raise UsageError(
                f"Job for corosync-qdevice.service failed because the control process exited "
                f"with error code.\nSee \"systemctl status corosync-qdevice.service\" and "
                f"\"journalctl -xeu corosync-qdevice.service\" for details.\ncommand "
                f"'/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias={n.name} -o "
                f"UserKnownHostsFile=/etc/pve/nodes/{n.name}/ssh_known_hosts -o "
                f"GlobalKnownHostsFile=none root@{n.addr} -- systemctl start corosync-qdevice' "
                f"failed: exit code 1", 255)
        u = n.units["corosync-qdevice"]
        u.state, u.since, u.pid, u.enabled = "active", t, n.alloc_pid(), True
        n.log("corosync-qdevice", "systemd", 1, "Started corosync-qdevice.service - Corosync "
              "Qdevice daemon.", t)
        await ctx.out(f"\nINFO: start and enable corosync qdevice daemon on node '{n.name}'..."
                      "\nSynchronizing state of corosync-qdevice.service with SysV service "
                      "script with /lib/systemd/systemd-sysv-install.\nCreated symlink "
                      "/etc/systemd/system/multi-user.target.wants/corosync-qdevice.service -> "
                      "/lib/systemd/system/corosync-qdevice.service.\n")
    # pmxcfs copied the new config to every member and the writer ran corosync-cfgtool -R;
    # pvecm runs it once more: "do cluster wide config reload"
    w.cluster_reload(node, w.clock.now())
    await ctx.out("Reloading corosync.conf...\nDone\n")
    w.update_membership(w.clock.now())
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


_ = (kvm, lines_of)
