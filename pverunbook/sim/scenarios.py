"""Scenario definitions: the nyc cluster from story.md, broken or healthy, on 2 to 5 nodes.

A scenario is data (node list, VMs with their original configs, which /etc/pve files are lost,
network faults) that :mod:`pverunbook.sim.world` turns into node directories and processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GATEWAY = "192.168.4.1"


def corosync_conf(cluster_name: str, nodes: tuple[NodeDef, ...], config_version: int = 5) -> str:
    """corosync.conf as Proxmox VE writes it for these nodes (Corosync.pm ``create_conf``:
    nodelist sorted by name, one knet link, ``secauth: on``, ``ip_version: ipv4-6``)."""
    body = "".join(
        f"  node {{\n    name: {n.name}\n    nodeid: {n.nodeid}\n    quorum_votes: 1\n"
        f"    ring0_addr: {n.addr}\n  }}\n" for n in sorted(nodes, key=lambda n: n.name))
    return ("logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
            f"nodelist {{\n{body}}}\n\n"
            "quorum {\n  provider: corosync_votequorum\n}\n\n"
            f"totem {{\n  cluster_name: {cluster_name}\n  config_version: {config_version}\n"
            "  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n"
            "  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n")


STORAGE_CFG = """\
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

"""

DATACENTER_CFG = "keyboard: en-us\n"
USER_CFG = ("user:root@pam:1:0:::root@example.com:::\n\n"
            "acl:1:/:root@pam:Administrator:\n\n")
VZDUMP_CRON = """\
# cluster wide vzdump cron schedule
# Automatically generated file - do not edit

PATH="/usr/sbin:/usr/bin:/sbin:/bin"

"""

MEDIA_108 = """\
agent: 1
bios: ovmf
boot: order=scsi0
cores: 4
cpu: host
efidisk0: local-lvm:vm-108-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M
memory: 4096
meta: creation-qemu=8.1.5,ctime=1712345678
name: media
net0: virtio=A6:4C:7B:8B:BE:B0,bridge=vmbr0
numa: 0
onboot: 1
ostype: l26
scsi0: local-lvm:vm-108-disk-0,cache=none,discard=on,size=32G
scsihw: virtio-scsi-pci
smbios1: uuid=ec1eb45b-df18-4b92-a3b5-7bc13c957371
sockets: 2
vmgenid: 6f1c2b9e-34d7-4a8b-9e0f-2d5c7a1b3c4e
"""

PIHOLE_101 = """\
agent: 1
boot: order=scsi0;net0
cores: 1
memory: 1024
meta: creation-qemu=8.1.5,ctime=1709876543
name: pihole
net0: virtio=BC:24:11:5E:0A:01,bridge=vmbr0,firewall=1
onboot: 1
ostype: l26
scsi0: local-lvm:vm-101-disk-0,discard=on,size=8G
scsihw: virtio-scsi-pci
smbios1: uuid=0a4f2e61-7c3b-4d5e-8f90-1b2c3d4e5f60
sockets: 1
vmgenid: 2c0b7d21-55aa-4f3e-9b61-3e0d2a1f4b5c
"""

HASS_104 = """\
agent: 1
bios: ovmf
boot: order=scsi0
cores: 2
efidisk0: local-lvm:vm-104-disk-0,efitype=4m,size=4M
machine: q35
memory: 4096
meta: creation-qemu=8.1.5,ctime=1708123456
name: homeassistant
net0: virtio=02:3A:9C:44:71:D2,bridge=vmbr0
onboot: 1
ostype: l26
scsi0: local-lvm:vm-104-disk-1,cache=writethrough,discard=on,size=32G
scsihw: virtio-scsi-pci
smbios1: uuid=5d8e9f10-2a3b-4c5d-8e7f-9a0b1c2d3e4f
sockets: 1
vmgenid: 7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d
"""

UNIFI_110 = """\
boot: order=scsi0;net0
cores: 2
cpu: x86-64-v2-AES
memory: 2048
meta: creation-qemu=8.1.5,ctime=1710456789
name: unifi
net0: virtio=BC:24:11:9A:3F:10,bridge=vmbr0
onboot: 1
ostype: l26
scsi0: local-lvm:vm-110-disk-0,discard=on,size=16G
scsihw: virtio-scsi-pci
smbios1: uuid=9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a
sockets: 1
vmgenid: 1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9
"""

NEXTCLOUD_120 = """\
agent: 1
boot: order=scsi0;net0
cores: 2
cpu: x86-64-v2-AES
memory: 6144
meta: creation-qemu=8.1.5,ctime=1711234567
name: nextcloud
net0: virtio=BC:24:11:C4:21:7E,bridge=vmbr0
onboot: 1
ostype: l26
scsi0: local-lvm:vm-120-disk-0,discard=on,size=64G
scsihw: virtio-scsi-pci
smbios1: uuid=3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d
sockets: 1
vmgenid: 8e7d6c5b-4a39-4281-9f0e-d1c2b3a49587
"""

GITEA_130 = """\
boot: order=scsi0;net0
cores: 1
memory: 2048
meta: creation-qemu=8.1.5,ctime=1712987654
name: gitea
net0: virtio=BC:24:11:07:D3:5A,bridge=vmbr0
onboot: 1
ostype: l26
scsi0: local-lvm:vm-130-disk-0,discard=on,size=20G
scsihw: virtio-scsi-pci
smbios1: uuid=c0d1e2f3-a4b5-4c6d-8e7f-901a2b3c4d5e
sockets: 1
vmgenid: 4d5e6f70-8192-4a3b-9c4d-5e6f7a8b9c0d
"""


@dataclass(frozen=True)
class VmDef:
    vmid: int
    node: str
    config: str
    running: bool = True


@dataclass(frozen=True)
class NodeDef:
    name: str
    nodeid: int
    addr: str
    nic: str
    mac: str
    hardware: str

    @property
    def link_local(self) -> str:
        """The IPv6 link-local address the kernel derives from the MAC (EUI-64, RFC 4291 app. A)."""
        return link_local(self.mac)


def link_local(mac: str) -> str:
    """``fe80::`` + the modified EUI-64 of ``mac`` (RFC 4291 appendix A).

    ``1c:69:7a:0d:3e:51`` → ``fe80::1e69:7aff:fe0d:3e51``: the kernel's default
    (``addr_gen_mode eui64``), so every node's link-local address differs with its NIC.
    """
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    eui = b[:3] + [0xFF, 0xFE] + b[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


@dataclass(frozen=True)
class Scenario:
    """One simulated cluster: its nodes, VMs, what the outage destroyed and the network's faults.

    Any number of nodes (1–16). The network is one L2 segment (``192.168.4.0/24``) behind a
    home router (``gateway``); a pair of nodes is lossy exactly while one of them carries a
    host route to the other through the router (``host_routes``), which is how the story's
    outage happened (domain.md §10): ``gateway_loss_pct`` is the loss on such a routed path.
    Deleting the route (``ip route del``) heals that pair and only that pair.
    """

    name: str
    title: str
    nodes: tuple[NodeDef, ...]
    vms: tuple[VmDef, ...]
    #: /etc/pve paths (relative) that the outage destroyed
    lost: tuple[str, ...] = ()
    #: VM configs were lost too (the kvm processes keep running)
    vm_configs_lost: bool = False
    #: config.db was deleted on every node: /etc/pve holds only corosync.conf (storage.cfg,
    #: user.cfg, the CA, authkey, certificates and VM configs are all gone)
    wiped: bool = False
    #: stale static host routes: (node, peer) means ``node`` reaches ``peer`` via the gateway
    host_routes: tuple[tuple[str, str], ...] = ()
    #: packet loss (percent) on a path routed through the gateway
    gateway_loss_pct: float = 17.0
    #: write /var/lib/pve-cluster/backup/config-<epoch>.sql.gz of the pre-outage tree
    with_backup: bool = False
    cluster_name: str = "nyc"
    gateway: str = GATEWAY
    #: an external QNetd host (corosync-qnetd) for qdevice-setup: (name, address), or None
    qnetd: tuple[str, str] | None = None
    seed: int = 1
    extra: dict[str, str] = field(default_factory=dict)
    #: containers: (CTID, node); each has an ``lxc/<CTID>.conf`` (not running: the simulator
    #: runs no containers)
    containers: tuple[tuple[int, str], ...] = ()
    #: renamed nodes: (new, old) means node ``new`` (its host name now) was called ``old``
    #: and has rebooted since: its guests' configs and the old name's key and certificate are
    #: still in ``nodes/<old>``, while ``nodes/<new>`` holds only what ``pvecm updatecerts``
    #: (pveproxy.service's ExecStartPre) makes with quorum — its directories, key,
    #: certificate and ssh_known_hosts (pve-cluster Cluster/Setup.pm gen_pve_node_files)
    renamed: tuple[tuple[str, str], ...] = ()

    def node(self, name: str) -> NodeDef:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def corosync_conf(self) -> str:
        return corosync_conf(self.cluster_name, self.nodes)


NYC_NODES = (
    NodeDef("ryanrishi", 1, "192.168.4.200", "eno1", "1c:69:7a:0d:3e:51", "Intel NUC"),
    NodeDef("pve001", 2, "192.168.4.201", "eno1", "e0:be:03:4f:a2:17", "ThinkCentre M720s"),
)
#: The story's cluster grown by a third node; the link between the 2nd and 3rd is bad.
NYC3_NODES = NYC_NODES + (
    NodeDef("pve002", 3, "192.168.4.202", "enp1s0", "d8:bb:c1:52:7e:04", "ThinkCentre M720q"),
)
#: Five nodes (for layouts that must work past two): the nyc cluster grown to five.
NYC5_NODES = NYC3_NODES + (
    NodeDef("pve003", 4, "192.168.4.203", "enp1s0", "d8:bb:c1:52:7e:91", "ThinkCentre M720q"),
    NodeDef("pve004", 5, "192.168.4.204", "enp2s0", "58:47:ca:71:0b:3c", "Minisforum MS-01"),
)
NYC_VMS = (
    VmDef(108, "ryanrishi", MEDIA_108),
    VmDef(101, "ryanrishi", PIHOLE_101),
    VmDef(104, "pve001", HASS_104),
    VmDef(110, "pve001", UNIFI_110),
)
#: The outage on three nodes: two VMs on the first node, one on the second, three on the third.
NYC3_VMS = (
    VmDef(108, "ryanrishi", MEDIA_108),
    VmDef(101, "ryanrishi", PIHOLE_101),
    VmDef(104, "pve001", HASS_104),
    VmDef(110, "pve002", UNIFI_110),
    VmDef(120, "pve002", NEXTCLOUD_120),
    VmDef(130, "pve002", GITEA_130),
)
#: ... and on five: pve003 runs no VM at all.
NYC5_VMS = (
    VmDef(108, "ryanrishi", MEDIA_108),
    VmDef(101, "ryanrishi", PIHOLE_101),
    VmDef(104, "pve001", HASS_104),
    VmDef(110, "pve002", UNIFI_110),
    VmDef(120, "pve002", NEXTCLOUD_120),
    VmDef(130, "pve004", GITEA_130),
)
COROSYNC_CONF = corosync_conf("nyc", NYC_NODES)
STORY_ROUTE = (("ryanrishi", "pve001"),)
STORY_LOST = ("nodes/ryanrishi/pve-ssl.pem", "nodes/pve001/pve-ssl.pem")


def certs_lost(nodes: tuple[NodeDef, ...]) -> tuple[str, ...]:
    """Every node's web UI certificate (``nodes/<node>/pve-ssl.pem``), as the outage lost them."""
    return tuple(f"nodes/{n.name}/pve-ssl.pem" for n in nodes)


QNETD = ("qnetd", "192.168.4.250")

SCENARIOS: dict[str, Scenario] = {
    "nyc-outage": Scenario(
        "nyc-outage",
        "The story's outage: corosync flapping, no quorum, /etc/pve writes hang, VM configs "
        "and web UI certificates lost while the VMs keep running",
        NYC_NODES, NYC_VMS, lost=STORY_LOST, vm_configs_lost=True, host_routes=STORY_ROUTE,
        qnetd=QNETD),
    "nyc-outage-with-backup": Scenario(
        "nyc-outage-with-backup",
        "The outage, but a pmxcfs backup (config-<epoch>.sql.gz) from before it exists",
        NYC_NODES, NYC_VMS, lost=STORY_LOST, vm_configs_lost=True, host_routes=STORY_ROUTE,
        with_backup=True, qnetd=QNETD),
    "nyc-wiped": Scenario(
        "nyc-wiped",
        "The outage after `rm config.db*` on both nodes: /etc/pve holds only corosync.conf "
        "(no storage.cfg, user.cfg, CA, authkey, certificates or VM configs), the link flaps",
        NYC_NODES, NYC_VMS, host_routes=STORY_ROUTE, wiped=True, qnetd=QNETD),
    "nyc-network-fixed": Scenario(
        "nyc-network-fixed",
        "After the network fix: corosync calm and quorate, but VM configs and web UI "
        "certificates are still lost while the VMs keep running",
        NYC_NODES, NYC_VMS, lost=STORY_LOST, vm_configs_lost=True, qnetd=QNETD),
    "nyc-healthy": Scenario(
        "nyc-healthy", "The same cluster before the outage, for comparison", NYC_NODES, NYC_VMS,
        qnetd=QNETD),
    "three-node-bad-link": Scenario(
        "three-node-bad-link",
        "Three nodes; the link between the 2nd and 3rd (pve001 - pve002) loses packets "
        "because pve001 routes to pve002 through the router; the other links are clean",
        NYC3_NODES, NYC_VMS, host_routes=(("pve001", "pve002"),)),
    "three-node": Scenario(
        "three-node", "Three healthy nodes, quorate, every link clean", NYC3_NODES, NYC_VMS),
    "four-node": Scenario(
        "four-node", "Four healthy nodes and an external QNetd host (qdevice-setup on an even "
        "count past two: expected votes become 5)", NYC5_NODES[:4], NYC_VMS, qnetd=QNETD),
    "five-node": Scenario(
        "five-node", "Five healthy nodes, quorate, every link clean", NYC5_NODES, NYC_VMS),
    "three-node-outage": Scenario(
        "three-node-outage",
        "The story's outage on three nodes: ryanrishi routes to pve001 through the router "
        "(that link flaps), every VM config and web UI certificate lost while the VMs keep "
        "running (two on ryanrishi, one on pve001, three on pve002)",
        NYC3_NODES, NYC3_VMS, lost=certs_lost(NYC3_NODES), vm_configs_lost=True,
        host_routes=STORY_ROUTE),
    "three-node-wiped": Scenario(
        "three-node-wiped",
        "The three-node outage after `rm config.db*` on every node: /etc/pve holds only "
        "corosync.conf (no storage.cfg, user.cfg, CA, authkey, certificates or VM configs)",
        NYC3_NODES, NYC3_VMS, host_routes=STORY_ROUTE, wiped=True),
    "five-node-outage": Scenario(
        "five-node-outage",
        "The story's outage on five nodes: ryanrishi routes to pve001 through the router, "
        "every VM config and web UI certificate lost while the VMs keep running (pve003 runs "
        "none)",
        NYC5_NODES, NYC5_VMS, lost=certs_lost(NYC5_NODES), vm_configs_lost=True,
        host_routes=STORY_ROUTE),
    "three-node-renamed": Scenario(
        "three-node-renamed",
        "Three quorate nodes; pve002 was called homelab3 until its host name changed and it "
        "rebooted: pveproxy's `pvecm updatecerts` made an empty /etc/pve/nodes/pve002, while "
        "the configs of its VMs (110, 120, 130, running) and container 140 are still in "
        "/etc/pve/nodes/homelab3",
        NYC3_NODES, NYC3_VMS, containers=((140, "pve002"),), renamed=(("pve002", "homelab3"),)),
    "five-node-bad-link": Scenario(
        "five-node-bad-link",
        "Five nodes; the link between the 2nd and 3rd (pve001 - pve002) loses packets",
        NYC5_NODES, NYC_VMS, host_routes=(("pve001", "pve002"),)),
}
# The diagnosis's fault scenarios (UDP 5405 dropped, MTU mismatch) live in their own module.
from pverunbook.sim.fault_scenarios import fault_scenarios  # noqa: E402

SCENARIOS.update(fault_scenarios())
#: Short names people type.
ALIASES = {"nyc3": "three-node-bad-link", "nyc5": "five-node"}


def get(name: str) -> Scenario:
    """The scenario called ``name`` (or an alias); KeyError names the known ones."""
    try:
        return SCENARIOS[ALIASES.get(name, name)]
    except KeyError:
        from pverunbook.runbook.suggest import did_you_mean

        near = did_you_mean(name, [*SCENARIOS, *ALIASES])
        raise KeyError(f"unknown scenario {name!r}{f' ({near})' if near else ''}; known: "
                       f"{', '.join(sorted(SCENARIOS))}") from None
