"""Scenario definitions: the nyc cluster from story.md, broken or healthy.

A scenario is data (node list, VMs with their original configs, which /etc/pve files are lost,
network faults) that :mod:`pverunbook.sim.world` turns into node directories and processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COROSYNC_CONF = """\
logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve001
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 192.168.4.201
  }
  node {
    name: ryanrishi
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 192.168.4.200
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: nyc
  config_version: 5
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}

"""

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


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    nodes: tuple[NodeDef, ...]
    vms: tuple[VmDef, ...]
    #: /etc/pve paths (relative) that the outage destroyed
    lost: tuple[str, ...] = ()
    #: VM configs were lost too (the kvm processes keep running)
    vm_configs_lost: bool = False
    #: a stale static route sends ring traffic through the gateway (story mtr)
    routed_via_gateway: bool = False
    #: packet loss (percent) on the routed path between the nodes
    path_loss_pct: float = 0.0
    #: write /var/lib/pve-cluster/backup/config-<epoch>.sql.gz of the pre-outage tree
    with_backup: bool = False
    seed: int = 1
    extra: dict[str, str] = field(default_factory=dict)


NYC_NODES = (
    NodeDef("ryanrishi", 1, "192.168.4.200", "eno1", "1c:69:7a:0d:3e:51", "Intel NUC"),
    NodeDef("pve001", 2, "192.168.4.201", "eno1", "e0:be:03:4f:a2:17", "ThinkCentre M720s"),
)
NYC_VMS = (
    VmDef(108, "ryanrishi", MEDIA_108),
    VmDef(101, "ryanrishi", PIHOLE_101),
    VmDef(104, "pve001", HASS_104),
    VmDef(110, "pve001", UNIFI_110),
)

SCENARIOS: dict[str, Scenario] = {
    "nyc-outage": Scenario(
        "nyc-outage",
        "The story's outage: corosync flapping, no quorum, /etc/pve writes hang, VM configs "
        "and web UI certificates lost while the VMs keep running",
        NYC_NODES, NYC_VMS,
        lost=("nodes/ryanrishi/pve-ssl.pem", "nodes/pve001/pve-ssl.pem"),
        vm_configs_lost=True, routed_via_gateway=True, path_loss_pct=17.0),
    "nyc-outage-with-backup": Scenario(
        "nyc-outage-with-backup",
        "The outage, but a pmxcfs backup (config-<epoch>.sql.gz) from before it exists",
        NYC_NODES, NYC_VMS,
        lost=("nodes/ryanrishi/pve-ssl.pem", "nodes/pve001/pve-ssl.pem"),
        vm_configs_lost=True, routed_via_gateway=True, path_loss_pct=17.0, with_backup=True),
    "nyc-network-fixed": Scenario(
        "nyc-network-fixed",
        "After the network fix: corosync calm and quorate, but VM configs and web UI "
        "certificates are still lost while the VMs keep running",
        NYC_NODES, NYC_VMS,
        lost=("nodes/ryanrishi/pve-ssl.pem", "nodes/pve001/pve-ssl.pem"),
        vm_configs_lost=True),
    "nyc-healthy": Scenario(
        "nyc-healthy", "The same cluster before the outage, for comparison", NYC_NODES, NYC_VMS),
}


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") \
            from None
