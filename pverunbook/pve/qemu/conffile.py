"""Read a VM config file (``<vmid>.conf``) the way qemu-server reads it, strictly.

vm-config-recovery writes the configs the operator reviewed and edited (``echo 'onboot: 1' >>``,
a corrected ``bridge=``/``tag=``). An edit can break a config: qemu-server's
``parse_vm_config`` (PVE/QemuServer.pm) only *warns* about a line it cannot read, a key it does
not know or a value that fails its type check, and drops it, so a mistyped ``onbot: 1`` or a
``tag=40000`` would be lost without a word once the config is in ``/etc/pve``. This module reads
a config with the same line rules and says what qemu-server would drop, so nothing is written
until the file is right.

Line rules (``parse_vm_config``): blank lines are skipped; ``[PENDING]``,
``[special:cloudinit]`` and ``[<snapshot>]`` start sections; ``#`` lines are the description;
everything else must be ``key: value`` with a key qemu-server knows (``check_type``: "unknown
setting"). The value checks here are the ones a review edits: booleans, counts, ``memory``,
``name`` (format ``dns-name``) and the NIC options (``pve-qm-net``: model and MAC, ``bridge``
``pve-bridge-id``, ``tag`` 1–4094, ``trunks``, ``mtu``, ``queues``, ``rate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Keys taken once (qm.conf(5), qemu-server 8/9 ``$confdesc`` and the snapshot keys).
_PLAIN = _words("""
acpi affinity agent amd-sev arch args audio0 autostart balloon bios boot bootdisk cdrom cicustom
cipassword citype ciupgrade ciuser cores cpu cpulimit cpuunits description digest efidisk0 freeze
hookscript hotplug hugepages intel-tdx ivshmem keephugepages keyboard kvm localtime lock machine
memory meta migrate_downtime migrate_speed name nameserver numa onboot ostype parent protection
reboot rng0 runningcpu runningmachine scsihw searchdomain shares smbios1 smp snaptime sockets
spice_enhancements sshkeys startdate startup tablet tags tdf template tpmstate0 vcpus vga vmgenid
vmstate vmstatestorage watchdog
""")

#: Numbered keys and how many of each qemu-server allows (``$MAX_*`` in QemuServer.pm).
_NUMBERED = {"net": 32, "ide": 4, "sata": 6, "scsi": 31, "virtio": 16, "hostpci": 16,
             "usb": 14, "serial": 4, "parallel": 3, "unused": 256, "numa": 8, "ipconfig": 32,
             "virtiofs": 10}

_BOOLEAN = _words("acpi autostart ciupgrade freeze keephugepages kvm localtime numa onboot "
                  "protection reboot tablet template")
_COUNT = {"cores": 1, "sockets": 1, "vcpus": 1, "balloon": 0, "shares": 0}
_BOOL_VALUES = re.compile(r"(?i)^(1|on|yes|true|0|off|no|false)$")
_DNS_NAME = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
                       r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$")
_KEY_LINE = re.compile(r"^([a-z][a-z_-]*\d*):\s*(.+?)\s*$")
_NIC_MODELS = _words("e1000 e1000-82540em e1000-82544gc e1000-82545em e1000e i82551 i82557b "
                     "i82559er ne2k_isa ne2k_pci pcnet rtl8139 virtio vmxnet3")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$")
_BRIDGE = re.compile(r"^[-_.\w\d]+$")
_TRUNKS = re.compile(r"^\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*$")


@dataclass
class VmConfig:
    """The main section of a config: ``options`` (key → value as written), the description,
    and the names of the other sections (snapshots, ``PENDING``)."""

    options: dict[str, str] = field(default_factory=dict)
    description: str = ""
    sections: list[str] = field(default_factory=list)


@dataclass
class ConfigProblem:
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.text!r}): {self.message}"


def known_key(key: str) -> bool:
    """True for a key qemu-server knows (``onboot``, ``net3``), False for ``onbot``/``net32``."""
    if key in _PLAIN:
        return True
    m = re.fullmatch(r"([a-z]+)(\d+)", key)
    return bool(m and m.group(1) in _NUMBERED and int(m.group(2)) < _NUMBERED[m.group(1)]
                and str(int(m.group(2))) == m.group(2))


def parse_vm_config(text: str) -> tuple[VmConfig, list[ConfigProblem]]:
    """The config in ``text`` and, in order, every line qemu-server would not take as written.

    A key given twice in one section is a problem too: qemu-server keeps the last one without a
    word, so an appended ``net0:`` would silently replace the one above it."""
    conf = VmConfig()
    problems: list[ConfigProblem] = []
    section = ""
    seen: dict[str, int] = {}
    description: list[str] = []
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        head = re.fullmatch(r"\[(PENDING|special:cloudinit|[a-z][a-z0-9_-]+)\]\s*", line, re.I)
        if head:
            section = head.group(1)
            conf.sections.append(section)
            seen = {}
            continue
        if line.startswith("#"):
            if not section:
                description.append(line[1:])
            continue
        m = _KEY_LINE.match(line)
        if not m:
            problems.append(ConfigProblem(no, line, "not a `key: value` line"))
            continue
        key, value = m.group(1), m.group(2)
        if section.lower() == "special:cloudinit":
            continue  # informative only; qemu-server does not check it either
        if key in seen:
            problems.append(ConfigProblem(no, line, f"`{key}` is given twice (line {seen[key]} "
                                                    "too): qemu-server keeps only the last"))
        seen[key] = no
        why = _check_value(key, value)
        if why:
            problems.append(ConfigProblem(no, line, why))
        elif not section:
            conf.options[key] = value
    conf.description = "\n".join(description)
    return conf, problems


def _check_value(key: str, value: str) -> str:
    """Why qemu-server would refuse ``value`` for ``key`` ('' when it takes it)."""
    if not known_key(key):
        return f"`{key}` is not a VM config key (qm.conf(5)): qemu-server drops it"
    if key in _BOOLEAN and not _BOOL_VALUES.match(value):
        return f"`{key}` takes 0 or 1, not `{value}`"
    if key in _COUNT and not (value.isascii() and value.isdigit()
                              and int(value) >= _COUNT[key]):
        return f"`{key}` takes a whole number of at least {_COUNT[key]}, not `{value}`"
    if key == "memory" and not re.fullmatch(r"(?:current=)?\d+", value):
        return f"`memory` takes a size in MiB (e.g. 4096), not `{value}`"
    if key == "name" and not _DNS_NAME.match(value):
        return f"`name` must be a DNS name (letters, digits, '-' and '.'), not `{value}`"
    if re.fullmatch(r"net\d+", key):
        return _check_nic(value)
    return ""


def _check_nic(value: str) -> str:
    """Why a ``netN`` value is refused (format ``pve-qm-net``), '' when it is fine."""
    items = value.split(",")
    seen_model = False
    for item in items:
        name, eq, val = item.partition("=")
        if not eq:
            if name not in _NIC_MODELS:
                return f"`{name}` is not a NIC model ({', '.join(sorted(_NIC_MODELS))})"
            seen_model = True
            continue
        if name in _NIC_MODELS:
            if not _MAC.match(val):
                return f"`{val}` is not a MAC address (xx:xx:xx:xx:xx:xx)"
            seen_model = True
        elif name == "model":
            if val not in _NIC_MODELS:
                return f"`{val}` is not a NIC model"
            seen_model = True
        elif name == "macaddr":
            if not _MAC.match(val):
                return f"`{val}` is not a MAC address (xx:xx:xx:xx:xx:xx)"
        elif name == "bridge":
            if not _BRIDGE.match(val):
                return f"`bridge={val}` is not a bridge name"
        elif name == "tag":
            if not (val.isascii() and val.isdigit() and 1 <= int(val) <= 4094):
                return f"`tag={val}`: a VLAN tag is a number from 1 to 4094"
        elif name in ("firewall", "link_down"):
            if not _BOOL_VALUES.match(val):
                return f"`{name}={val}`: takes 0 or 1"
        elif name == "trunks":
            if not _TRUNKS.match(val):
                return f"`trunks={val}`: VLAN ids separated by ';' (e.g. 10;20-30)"
        elif name in ("mtu", "queues"):
            top = 65520 if name == "mtu" else 64
            if not (val.isascii() and val.isdigit() and int(val) <= top):
                return f"`{name}={val}`: a number up to {top}"
        elif name == "rate":
            if not re.fullmatch(r"\d+(?:\.\d+)?", val):
                return f"`rate={val}`: a number (MB/s)"
        else:
            return f"`{name}=` is not a NIC option"
    if not seen_model:
        return "no NIC model (e.g. `virtio=BC:24:11:00:00:01`)"
    return ""


def reviewed_problems(text: str, vmid: int, running_name: str | None) -> list[str]:
    """Why the reviewed config ``text`` of VM ``vmid`` must not be written, one sentence each
    ([] when it may be): lines qemu-server would not take, and a ``name`` other than the one the
    running process has (``-name``; qemu-server starts a VM without ``name`` as ``vm<vmid>``),
    which would mean the file is another VM's."""
    conf, problems = parse_vm_config(text)
    out = [str(p) for p in problems]
    if not conf.options:
        out.append("no `key: value` settings: an empty config")
    if running_name is not None and not any("`name`" in p for p in out):
        name = conf.options.get("name", f"vm{vmid}")
        if name != running_name:
            out.append(f"name `{name}` is not the running VM {vmid}'s (-name {running_name}): "
                       "is this another VM's file?")
    return out
