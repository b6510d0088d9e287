"""Building a scenario's nodes: their files on the first start, their daemons at every start.

A state directory holds one directory per node (``<state>/nodes/<name>/``: a real ``/etc``,
``/var/lib/pve-cluster/config.db``…) plus ``world.json`` (what :mod:`.state` saves: routes,
unit states, running VMs, QDevice). The first start of an empty directory builds the
scenario's broken state; later starts boot the nodes from what the directory holds, so a
rehearsal continues where it was left.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import secrets
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pverunbook.sim import certs, kvm
from pverunbook.sim.memdb import MemDB
from pverunbook.sim.nft import Ruleset
from pverunbook.sim.node import QNETD_UNITS, UNIT_INFO, SimNode, Unit, Vm
from pverunbook.sim.scenarios import STORAGE_CFG, NodeDef

if TYPE_CHECKING:
    from pverunbook.sim.world import World

MARKER = ".sim-state"  # names the scenario a node directory was built from


def build(world: World, saved: dict[str, Any] | None) -> None:
    """Create the nodes, their files on a first start, and boot them (``saved``: world.json)."""
    sc = world.scenario
    now = world.clock.now()
    for nd in sc.nodes:
        node = SimNode(world, nd.name, nd.nodeid, nd.addr, nd.nic, nd.mac, nd.hardware,
                       world.state_dir / nd.name)
        node.boot_time = now - 3 * 86400 - 3600 * nd.nodeid - 1234
        world.nodes[nd.name] = node
    if not (world.state_dir / MARKER).exists():
        _build_files(world, now)
        (world.state_dir / MARKER).write_text(sc.name + "\n")
    saved_nodes: dict[str, Any] = (saved or {}).get("nodes", {})
    if sc.qnetd is not None:
        _build_qnetd(world, sc.qnetd[0], sc.qnetd[1], now, saved_nodes.get(sc.qnetd[0]))
    # in the order the nodes booted: a node's knet logs a peer's link coming up only once its
    # own corosync runs (booted in list order, the first node's journal had its peers' links
    # up hours before its own "starting up", and no link up after it)
    for node in sorted(world.nodes.values(), key=lambda n: n.boot_time):
        state = saved_nodes.get(node.name)
        if state is None:
            node.host_routes = {sc.node(peer).addr for src, peer in sc.host_routes
                                if src == node.name}
        else:
            node.host_routes = set(state.get("host_routes", []))
            node.route_attrs = dict(state.get("route_attrs", {}))
            node.nft = Ruleset.from_json(state.get("nft"))
        _boot(world, node, now, state)


def _build_files(world: World, now: float) -> None:
    """The scenario's files on every node: /etc, the broken config.db, an optional backup."""
    sc = world.scenario
    authkey = secrets.token_bytes(256)
    ca_key = certs.rsa_key_pem(0)
    ca_pem = certs.make_ca(ca_key, now)
    tree: dict[str, bytes] = {
        "corosync.conf": sc.corosync_conf.encode(),
        "storage.cfg": STORAGE_CFG.encode(),
        "datacenter.cfg": b"keyboard: en-us\n",
        "user.cfg": b"user:root@pam:1:0:::root@example.com:::\n\n"
                    b"acl:1:/:root@pam:Administrator:\n\n",
        "vzdump.cron": b"# cluster wide vzdump cron schedule\n"
                       b"# Automatically generated file - do not edit\n\n"
                       b'PATH="/usr/sbin:/usr/bin:/sbin:/bin"\n\n',
        "authkey.pub": certs.public_pem(certs.rsa_key_pem(1)),
        "priv/authkey.key": certs.rsa_key_pem(1),
        "pve-www.key": certs.rsa_key_pem(2),
        "pve-root-ca.pem": ca_pem,
        "priv/pve-root-ca.key": ca_key,
        "priv/pve-root-ca.srl": b"03\n",
        "priv/authorized_keys": b"",
        "priv/known_hosts": b"",
        "ha/.keep": b"",
        "firewall/cluster.fw": b"[OPTIONS]\n\nenable: 0\n\n",
    }
    keys = b""
    for nd in sc.nodes:
        key = certs.rsa_key_pem(2 + nd.nodeid)
        tree[f"nodes/{nd.name}/pve-ssl.key"] = key
        tree[f"nodes/{nd.name}/pve-ssl.pem"] = certs.make_node_cert(
            ca_key, ca_pem, key, nd.name, nd.addr, now - 86400 * 400, nd.nodeid + 1)
        tree[f"nodes/{nd.name}/lrm_status"] = (
            b'{"mode":"active","results":{},"state":"wait_for_agent_lock","timestamp":'
            + str(int(now)).encode() + b"}")
        # every node's own directories, VMs or not: `pvecm updatecerts` (pveproxy.service's
        # ExecStartPre, at every boot) creates them in gen_local_dirs (Setup.pm)
        tree[f"nodes/{nd.name}/qemu-server/.keep"] = b""
        tree[f"nodes/{nd.name}/lxc/.keep"] = b""
        tree[f"nodes/{nd.name}/openvz/.keep"] = b""
        tree[f"nodes/{nd.name}/priv/.keep"] = b""
        tree[f"nodes/{nd.name}/ssh_known_hosts"] = (
            f"{nd.name} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{nd.name}Rehearsal\n".encode())
        keys += f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{nd.nodeid}rehearsal root@{nd.name}\n" \
            .encode()
    tree["priv/authorized_keys"] = keys
    filed = dict(sc.renamed)  # a renamed node's guests are filed under its old name
    for new, old in sc.renamed:
        nd = sc.node(new)
        key = certs.rsa_key_pem(2 + nd.nodeid)  # the cached key: making one is slow
        tree[f"nodes/{old}/pve-ssl.key"] = key
        tree[f"nodes/{old}/pve-ssl.pem"] = certs.make_node_cert(
            ca_key, ca_pem, key, old, nd.addr, now - 86400 * 400, nd.nodeid + 11)
        for sub in ("qemu-server", "lxc", "openvz", "priv"):
            tree[f"nodes/{old}/{sub}/.keep"] = b""
    for vm in sc.vms:
        tree[f"nodes/{filed.get(vm.node, vm.node)}/qemu-server/{vm.vmid}.conf"] = \
            vm.config.encode()
    for ctid, node in sc.containers:
        tree[f"nodes/{filed.get(node, node)}/lxc/{ctid}.conf"] = (
            f"arch: amd64\ncores: 1\nhostname: ct{ctid}\nmemory: 512\nnet0: name=eth0,"
            f"bridge=vmbr0,ip=dhcp,type=veth\nostype: debian\nrootfs: local-lvm:"
            f"vm-{ctid}-disk-0,size=8G\nswap: 512\n").encode()
    full = MemDB()
    created = int(now - 86400 * 400)
    for rel in sorted(tree):
        if rel.endswith("/.keep"):
            full.mkdir(rel.rpartition("/")[0], 1, created)
        else:
            full.write(rel, tree[rel], 1, created)
    broken = full.copy()
    for rel in sc.lost:
        broken.unlink(rel, int(now - 3600))
    if sc.vm_configs_lost:
        for vm in sc.vms:
            broken.unlink(f"nodes/{filed.get(vm.node, vm.node)}/qemu-server/{vm.vmid}.conf",
                          int(now - 3600))
    if sc.wiped:
        # `rm -rf /var/lib/pve-cluster/config.db*` on every node, then a start without quorum:
        # pmxcfs made a new database holding only the imported corosync.conf (pmxcfs.c), and
        # `pvecm updatecerts --silent` gave up without quorum (Setup.pm updatecerts_and_ssh).
        broken = MemDB()
        broken.write("corosync.conf", sc.corosync_conf.encode(), 0, int(now - 3600))
    for nd in sc.nodes:
        root = world.state_dir / nd.name
        _node_files(world, root, nd, authkey)
        broken.save(root / "var/lib/pve-cluster/config.db")
        if sc.with_backup:
            bdir = root / "var/lib/pve-cluster/backup"
            bdir.mkdir(parents=True, exist_ok=True)
            os.chmod(bdir, 0o700)
            epoch = int(now - 86400 * 2 - 3600 * nd.nodeid)
            tmpdb = root / "tmp/.backup-src.db"
            full.save(tmpdb)
            conn = sqlite3.connect(tmpdb)
            dump = "\n".join(conn.iterdump()) + "\n"
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(str(tmpdb) + suffix).unlink()
            (bdir / f"config-{epoch}.sql.gz").write_bytes(gzip.compress(dump.encode()))


def root_ssh_key(nodeid: int, name: str) -> str:
    """A node's root public key line in the rehearsal (one per node, stable)."""
    return f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{nodeid}rehearsal root@{name}\n"


def _node_files(world: World, root: Path, nd: NodeDef, authkey: bytes) -> None:
    """The node's own files outside /etc/pve (hostname, hosts, corosync, network…)."""
    sc = world.scenario
    gw = sc.gateway

    def w(rel: str, data: str | bytes, mode: int = 0o644) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)

    w("etc/hostname", f"{nd.name}\n")
    # root's key pair (Setup.pm setup_ssh_keys makes it): updatecerts merges the public key
    # into /etc/pve/priv/authorized_keys (ssh_merge_keys)
    w("root/.ssh/id_rsa.pub", root_ssh_key(nd.nodeid, nd.name))
    peers = "".join(f"{n.addr} {n.name}.lan {n.name}\n" for n in sc.nodes)
    w("etc/hosts", "127.0.0.1 localhost.localdomain localhost\n" + peers +
      "\n# The following lines are desirable for IPv6 capable hosts\n\n"
      "::1     ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\n"
      "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\nff02::3 ip6-allhosts\n")
    w("etc/corosync/corosync.conf", sc.corosync_conf)
    w("etc/corosync/authkey", authkey, 0o400)
    w("etc/network/interfaces",
      "auto lo\niface lo inet loopback\n\n"
      f"iface {nd.nic} inet manual\n\n"
      f"auto vmbr0\niface vmbr0 inet static\n\taddress {nd.addr}/24\n\tgateway {gw}\n"
      f"\tbridge-ports {nd.nic}\n\tbridge-stp off\n\tbridge-fd 0\n\n"
      "source /etc/network/interfaces.d/*\n")
    w("etc/resolv.conf", f"search lan\nnameserver {gw}\n")
    w("etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"'
      '\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n')
    w("etc/debian_version", "12.7\n")
    w("etc/machine-id", secrets.token_hex(16) + "\n")
    w("root/.bashrc", "# ~/.bashrc: executed by bash(1) for non-login shells.\n")
    w("root/.ssh/authorized_keys", "")
    (root / "var/lib/pve-cluster").mkdir(parents=True, exist_ok=True)
    os.chmod(root / "var/lib/pve-cluster", 0o755)
    for d in ("etc/pve", "var/lib/vz/images", "var/lib/vz/template/iso", "var/lib/vz/dump",
              "var/log", "tmp", "run/qemu-server", "proc", "dev/pve",
              "var/lib/corosync", "usr/share/pve-edk2-firmware", "home"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    (root / "var/run").symlink_to("/run")
    w("var/log/syslog", "")
    w("usr/share/pve-edk2-firmware/OVMF_CODE_4M.fd", b"\0" * 64)


def _boot(world: World, node: SimNode, now: float, saved: dict[str, Any] | None) -> None:
    """Bring a node's daemons and VMs up as they were when the rehearsal starts or was left.

    ``saved`` is the node's part of world.json (None on a first start): units that were
    stopped stay stopped (corosync and pve-cluster included), VMs that were stopped stay off.
    """
    sc = world.scenario
    boot = node.boot_time
    units: dict[str, str] = (saved or {}).get("units", {})
    node.qdevice_configured = bool((saved or {}).get("qdevice", False))
    for unit, (desc, _) in UNIT_INFO.items():
        if unit == "corosync-qnetd":
            continue
        default = "active" if unit != "corosync-qdevice" or node.qdevice_configured \
            else "inactive"
        state = units.get(unit, default)
        node.units[unit] = Unit(unit, desc, state, boot + 20,
                                node.alloc_pid() if state == "active" else 0)
    running = set((saved or {}).get("vms", [vm.vmid for vm in sc.vms if vm.running]))
    # VMs keep running whatever happened to their configs
    for vm in sc.vms:
        if vm.node != node.name or vm.vmid not in running:
            continue
        conf = kvm.parse_conf(vm.config)
        argv = kvm.kvm_argv(vm.vmid, conf)
        pid = 2000 + vm.vmid * 7 + node.nodeid
        node.vms[vm.vmid] = Vm(vm.vmid, pid, argv, conf, boot + 60 + vm.vmid)
        procdir = node.host(f"/proc/{pid}")
        procdir.mkdir(parents=True, exist_ok=True)
        (procdir / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (procdir / "comm").write_text("kvm\n")
        node.host(f"/run/qemu-server/{vm.vmid}.pid").write_text(f"{pid}\n")
        for slot in ("scsi0", "efidisk0"):
            if slot in conf:
                vol = conf[slot].split(",")[0].split(":", 1)[1]
                size = kvm.disk_size_bytes(conf, slot) or 4 * 1024 * 1024
                if slot == "efidisk0":
                    size = 4 * 1024 * 1024
                node.host(f"/dev/pve/{vol}").write_text(f"{size}\n")
    # corosync: replay the last half hour so the journal has history
    world.last_tick = min(world.last_tick, world.history_start)
    # in a real node's boot order: pve-cluster.service is Before=corosync.service, so pmxcfs
    # starts first and logs its failed cpg/quorum/cmap connections until corosync runs
    cs_unit = node.units["corosync"]
    node.corosync.pid = cs_unit.pid
    pc = node.units["pve-cluster"]
    if pc.state == "active":
        if world.pmxcfs_start(node, boot + 14, local=False, managed=True):
            pc.state, pc.result = "failed", "exit-code"
        pc.pid = node.pmxcfs.pid
    else:
        world.materialize(node)
    if cs_unit.state == "active":
        if world.corosync_start(node, boot + 15):
            cs_unit.state, cs_unit.result = "failed", "exit-code"
        cs_unit.pid = node.corosync.pid


def finish_boot(world: World) -> None:
    """After all nodes booted: settle membership at boot, then replay history to now."""
    boot = max(n.boot_time for n in world.nodes.values()) + 16
    world.tick(boot)
    for n in world.nodes.values():
        n.pmxcfs.synced_members = frozenset()
    world.last_tick = world.history_start
    world.tick()
    for n in world.nodes.values():
        world._pveproxy_check(n, world.clock.now() - 1700)


def _build_qnetd(world: World, name: str, addr: str, now: float,
                 saved: dict[str, Any] | None) -> None:
    """The external QNetd host (Debian with corosync-qnetd), outside the cluster."""
    sc = world.scenario
    root = world.state_dir / name
    host = SimNode(world, name, 0, addr, "eth0", "b8:27:eb:4a:51:0e", "Raspberry Pi 4", root,
                   role="qnetd")
    host.next_pid = 30000
    host.boot_time = now - 12 * 86400 - 777
    world.extra_hosts[name] = host
    if not (root / "etc/hostname").exists():
        peers = "".join(f"{n.addr} {n.name}.lan {n.name}\n" for n in sc.nodes)
        for rel, text in {
            "etc/hostname": f"{name}\n",
            "etc/hosts": f"127.0.0.1 localhost\n{addr} {name}.lan {name}\n{peers}",
            "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
            "etc/debian_version": "12.7\n",
            "etc/corosync/qnetd/nssdb/cert9.db": "",
            "root/.bashrc": "",
        }.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        for d in ("tmp", "proc", "var/log"):
            (root / d).mkdir(parents=True, exist_ok=True)
    units: dict[str, str] = (saved or {}).get("units", {})
    for unit in QNETD_UNITS:
        state = units.get(unit, "active")
        host.units[unit] = Unit(unit, UNIT_INFO[unit][0], state, host.boot_time + 20,
                                host.alloc_pid() if state == "active" else 0)
