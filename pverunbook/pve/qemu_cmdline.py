"""Rebuild a Proxmox VE VM config from the QEMU command line of the running VM.

When ``/etc/pve/qemu-server/<vmid>.conf`` is lost but the ``kvm`` process still runs, its
command line (``ps aux``, ``/proc/<pid>/cmdline`` or ``qm showcmd --pretty``) is the best
evidence left.  This module inverts qemu-server's ``config_to_command`` (PVE 7/8 ``-drive``
and PVE 9 ``-blockdev`` forms) as far as the command line allows, and lists everything it
cannot see as TODOs instead of guessing (disk sizes, bridges, VLAN tags, onboot, ...).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CmdlineError",
    "RecoveredConfig",
    "Storage",
    "StorageMap",
    "default_storage",
    "parse_storage_cfg",
    "recover_config",
    "split_all",
    "split_cmdline",
]


class CmdlineError(ValueError):
    """The input is not a usable QEMU command line (message says why and what to do)."""


# ---------------------------------------------------------------------------------------------
# storage.cfg
# ---------------------------------------------------------------------------------------------

_DIR_TYPES = {"dir", "nfs", "cifs", "glusterfs", "cephfs", "btrfs"}


@dataclass
class Storage:
    """One storage.cfg entry, reduced to what maps a disk path back to a volume id."""

    storeid: str
    type: str
    path: str | None = None
    vgname: str | None = None
    pool: str | None = None
    krbd: bool = False
    namespace: str | None = None
    portal: str | None = None
    target: str | None = None


@dataclass
class StorageMap:
    """Storages to resolve paths against; ``assumed`` means Proxmox defaults, not storage.cfg."""

    storages: list[Storage] = field(default_factory=list)
    assumed: bool = False

    def get(self, storeid: str) -> Storage | None:
        return next((s for s in self.storages if s.storeid == storeid), None)

    def resolve(self, path: str, vmid: int | None = None) -> tuple[str, str, Storage] | None:
        """Map a QEMU file/device path to ``(storeid, volname, storage)`` or None."""
        rbd = _parse_rbd_path(path)
        if rbd is not None:
            pool, ns, image, is_krbd = rbd
            cands = [s for s in self.storages if s.type == "rbd" and (s.pool or "rbd") == pool
                     and (s.namespace or None) == ns]
            cands.sort(key=lambda s: s.krbd != is_krbd)
            if cands:
                return cands[0].storeid, image, cands[0]
            return None
        for s in self.storages:
            vol = _resolve_in(s, path)
            if vol is not None:
                return s.storeid, vol, s
        return None


def _resolve_in(s: Storage, path: str) -> str | None:
    if s.type in _DIR_TYPES:
        base = (s.path or f"/mnt/pve/{s.storeid}").rstrip("/")
        if not path.startswith(base + "/"):
            return None
        rest = path[len(base) + 1:]
        m = re.fullmatch(r"images/(\d+)/([^/]+)", rest)
        if m:
            return f"{m.group(1)}/{m.group(2)}"
        m = re.fullmatch(r"images/(\d+)/([^/]+)/disk\.raw", rest)
        if m and s.type == "btrfs":
            return f"{m.group(1)}/{m.group(2)}.raw"
        m = re.fullmatch(r"template/iso/([^/]+)", rest)
        if m:
            return f"iso/{m.group(1)}"
        return None
    if s.type in ("lvm", "lvmthin") and s.vgname:
        m = re.fullmatch(rf"/dev/(?:{re.escape(s.vgname)}/|mapper/{re.escape(s.vgname)}-)(.+)",
                         path)
        if m:
            lv = m.group(1)
            if path.startswith("/dev/mapper/"):
                lv = lv.replace("--", "-")
            return lv
        return None
    if s.type == "zfspool" and s.pool:
        prefix = f"/dev/zvol/{s.pool}/"
        if path.startswith(prefix):
            return path[len(prefix):]
        return None
    if s.type in ("iscsi", "iscsidirect") and s.target:
        m = re.fullmatch(r"/dev/disk/by-id/(.+)", path)
        if m:
            return f"0.0.0.{m.group(1)}"
    return None


def _parse_rbd_path(path: str) -> tuple[str, str | None, str, bool] | None:
    """Return (pool, namespace, image, is_krbd) for librbd URLs and krbd device paths."""
    if path.startswith("rbd:"):
        spec = path[4:].split(":", 1)[0]
        parts = spec.split("/")
        if len(parts) == 2:
            return parts[0], None, parts[1], False
        if len(parts) == 3:
            return parts[0], parts[1], parts[2], False
        return None
    m = re.fullmatch(r"/dev/rbd-pve/[^/]+/([^/]+)/(?:([^/]+)/)?([^/]+)", path)
    if m:
        return m.group(1), m.group(2), m.group(3), True
    m = re.fullmatch(r"/dev/rbd/([^/]+)/(?:([^/]+)/)?([^/]+)", path)
    if m:
        return m.group(1), m.group(2), m.group(3), True
    return None


def default_storage() -> StorageMap:
    """Storages a fresh Proxmox VE install defines (used when no storage.cfg is available)."""
    return StorageMap(
        storages=[
            Storage("local", "dir", path="/var/lib/vz"),
            Storage("local-lvm", "lvmthin", vgname="pve"),
            Storage("local-zfs", "zfspool", pool="rpool/data"),
        ],
        assumed=True,
    )


def parse_storage_cfg(text: str) -> StorageMap:
    """Parse ``/etc/pve/storage.cfg`` (section config: ``type: id`` + indented ``key value``)."""
    storages: list[Storage] = []
    cur: Storage | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            m = re.fullmatch(r"([a-z0-9]+):\s*(\S+)", line.strip())
            if not m:
                raise CmdlineError(f"storage.cfg: cannot parse section header {line!r}")
            cur = Storage(storeid=m.group(2), type=m.group(1))
            storages.append(cur)
            continue
        if cur is None:
            raise CmdlineError(f"storage.cfg: option outside a section: {line.strip()!r}")
        key, _, value = line.strip().partition(" ")
        value = value.strip()
        if key == "path":
            cur.path = value
        elif key == "vgname":
            cur.vgname = value
        elif key in ("pool", "datastore"):
            cur.pool = value
        elif key == "krbd":
            cur.krbd = value in ("1", "yes", "true", "on")
        elif key == "namespace":
            cur.namespace = value
        elif key == "portal":
            cur.portal = value
        elif key == "target":
            cur.target = value
    for s in storages:
        if s.type in ("nfs", "cifs", "glusterfs", "cephfs") and s.path is None:
            s.path = f"/mnt/pve/{s.storeid}"
        if s.type == "rbd" and s.pool is None:
            s.pool = "rbd"
    return StorageMap(storages=storages, assumed=False)


# ---------------------------------------------------------------------------------------------
# splitting the input
# ---------------------------------------------------------------------------------------------

_NOARG = {
    "-no-shutdown", "-daemonize", "-nodefaults", "-no-hpet", "-nographic", "-snapshot",
    "-no-acpi", "-no-reboot", "-S", "-enable-kvm", "-no-kvm", "-no-user-config",
    "-full-screen", "-no-fd-bootchk", "-localtime", "-usb", "-s",
}
_EXE_RE = re.compile(r"(?:^|/)(kvm|qemu-system-[\w.-]+|qemu-kvm)$")


def _is_exe(tok: str) -> bool:
    return bool(_EXE_RE.search(tok))


def _rejoin(tokens: list[str]) -> list[str]:
    """Rejoin a space-split (``ps``) command line: option values may have contained spaces."""
    out: list[str] = [tokens[0]]
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        out.append(tok)
        i += 1
        if tok.startswith("-") and tok not in _NOARG and i < len(tokens):
            parts = [tokens[i]]
            i += 1
            while i < len(tokens) and not re.match(r"-[a-zA-Z]", tokens[i]):
                parts.append(tokens[i])
                i += 1
            out.append(" ".join(parts))
    return out


def split_all(text: str | bytes) -> list[list[str]]:
    """Every QEMU argv found in ``text`` (ps lines, /proc cmdline or ``qm showcmd`` output)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if "\0" in text:
        argv = [a for a in text.split("\0")]
        while argv and argv[-1] == "":
            argv.pop()
        if argv and _is_exe(argv[0]):
            return [argv]
        for i, a in enumerate(argv):
            if _is_exe(a):
                return [argv[i:]]
        return []
    if re.search(r"\\\r?\n", text) or "'" in text:
        joined = re.sub(r"\\\r?\n", " ", text)
        try:
            toks = shlex.split(joined, comments=False, posix=True)
        except ValueError:
            toks = []
        for i, t in enumerate(toks):
            if _is_exe(t) and i + 1 < len(toks) and toks[i + 1].startswith("-"):
                return [toks[i:]]
    result: list[list[str]] = []
    for line in text.splitlines():
        toks = line.split()
        for i, t in enumerate(toks):
            if _is_exe(t):
                rest = toks[i:]
                if len(rest) > 1 and rest[1].startswith("-"):
                    result.append(_rejoin(rest))
                break
    return result


def split_cmdline(text: str | bytes) -> list[str]:
    """The argv of the one QEMU process in ``text``; errors if there is none or several VMs."""
    found = split_all(text)
    if not found:
        if not (text.strip() if isinstance(text, str) else text.strip()):
            raise CmdlineError("input is empty; paste `ps -ww -o args= -p <pid>` or "
                               "/proc/<pid>/cmdline of the kvm process")
        raise CmdlineError("no kvm/qemu-system command line found; give the full `ps auxww` "
                           "line, /proc/<pid>/cmdline or `qm showcmd <vmid> --pretty` output")
    if len(found) > 1:
        ids = sorted({_opt_value(a, "-id") or "?" for a in found})
        raise CmdlineError(f"found {len(found)} QEMU processes (VM ids {', '.join(ids)}); "
                           "select one with split_all() or --vmid")
    return found[0]


def _opt_value(argv: list[str], opt: str) -> str | None:
    for i, a in enumerate(argv[:-1]):
        if a == opt:
            return argv[i + 1]
    return None


# ---------------------------------------------------------------------------------------------
# helpers for QEMU option strings
# ---------------------------------------------------------------------------------------------


def _split_opts(s: str) -> list[str]:
    """Split a QEMU ``a=b,c=d`` string; ``,,`` is an escaped comma."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == ",":
            if i + 1 < len(s) and s[i + 1] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _kv(s: str) -> tuple[str | None, dict[str, str]]:
    """Parse ``driver,k=v,...``: the first bare word (if any) and the key/value pairs."""
    head: str | None = None
    d: dict[str, str] = {}
    for n, part in enumerate(_split_opts(s)):
        if "=" in part:
            k, _, v = part.partition("=")
            d[k] = v
        elif n == 0:
            head = part
        elif part:
            d[part] = ""
    return head, d


def _size_mib(v: str) -> int | None:
    m = re.fullmatch(r"(\d+)([KMGT]?)B?", v.strip(), re.I)
    if not m:
        return None
    n = int(m.group(1))
    unit = m.group(2).upper() or "M"
    factor = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit]
    return int(n * factor)


def _fmt_size(nbytes: int) -> str:
    """Format a byte count like Proxmox's ``size=`` (largest exact unit)."""
    for unit, f in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if nbytes >= f and nbytes % f == 0:
            return f"{nbytes // f}{unit}"
    if nbytes % 1024 == 0:
        return f"{nbytes // 1024}K"
    return str(nbytes)


def _fmt_num(v: float) -> str:
    if v == int(v):
        return str(int(v))
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _prop(first: str | None, opts: dict[str, str]) -> str:
    """Print a property string the way PVE does: default key first, then keys sorted."""
    parts = [first] if first else []
    parts += [f"{k}={opts[k]}" for k in sorted(opts)]
    return ",".join(parts)


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------


@dataclass
class RecoveredConfig:
    """A VM config rebuilt from a command line, with what still needs a human."""

    vmid: int | None
    options: dict[str, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The .conf text: TODO comments first, then ``key: value`` sorted like qm writes.

        Note that Proxmox shows leading ``#`` lines as the VM's notes (``description``), so the
        TODOs stay visible in the GUI until someone deletes them.
        """
        lines = [f"# TODO: {t}" for t in self.todos]
        lines += [f"# WARNING: {w}" for w in self.warnings]
        lines += [f"{k}: {self.options[k]}" for k in sorted(self.options)]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# recovery
# ---------------------------------------------------------------------------------------------

_DISK_RE = re.compile(r"(ide|sata|scsi|virtio)(\d+)$|(efidisk|tpmstate)0$")
_DRIVE_ORDER = (
    [f"ide{i}" for i in range(4)] + [f"scsi{i}" for i in range(31)]
    + [f"virtio{i}" for i in range(16)] + [f"sata{i}" for i in range(6)]
    + ["efidisk0", "tpmstate0"]
)
_NET_MODELS = {
    "virtio-net-pci": "virtio", "virtio-net-device": "virtio", "e1000": "e1000",
    "e1000-82540em": "e1000-82540em", "e1000-82544gc": "e1000-82544gc",
    "e1000-82545em": "e1000-82545em", "e1000e": "e1000e", "i82551": "i82551",
    "i82557b": "i82557b", "i82559er": "i82559er", "ne2k_isa": "ne2k_isa",
    "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "rtl8139": "rtl8139", "vmxnet3": "vmxnet3",
}
_SCSIHW = {"lsi": "lsi", "lsi53c895a": "lsi", "lsi53c810": "lsi53c810", "megasas": "megasas",
           "pvscsi": "pvscsi", "virtio-scsi-pci": "virtio-scsi-pci"}
_VGA = {"VGA": "std", "cirrus-vga": "cirrus", "vmware-svga": "vmware", "qxl-vga": "qxl",
        "virtio-vga": "virtio", "virtio-gpu-pci": "virtio", "virtio-vga-gl": "virtio-gl",
        "virtio-gpu-gl-pci": "virtio-gl", "ramfb": "none"}
_VM_CPU_FLAGS = {"pcid", "spec-ctrl", "ibpb", "ssbd", "virt-ssbd", "amd-ssbd", "amd-no-ssb",
                 "pdpe1gb", "md-clear", "hv-tlbflush", "hv-evmcs", "aes"}
_BUILTIN_CPU = {
    "x86-64-v2": "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v2-AES": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v3": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave",
    "x86-64-v4": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl",
}
_THROTTLE = [("", "-total"), ("_rd", "-read"), ("_wr", "-write")]
_HV_WIN7 = {"hv_relaxed", "hv_synic", "hv_stimer", "hv_ipi"}
_NOT_ON_CMDLINE = (
    "onboot, startup order, description/notes, tags, protection, HA membership, snapshots, "
    "hookscript and cloud-init settings are not on the command line; restore them from a "
    "backup (vzdump config, /var/lib/pve-cluster/backup/*.sql.gz) or set them again"
)


@dataclass
class _Drive:
    """One disk backend as seen on the command line (from -drive or -blockdev)."""

    id: str
    file: str | None = None
    fmt: str | None = None
    media: str | None = None
    cache: str | None = None  # normalised QEMU cache mode, None = option absent
    aio: str | None = None
    discard: bool = False
    detect_zeroes: str | None = None
    readonly: bool = False
    serial: str | None = None
    size: int | None = None
    throttle: dict[str, str] = field(default_factory=dict)
    werror: str | None = None
    rerror: str | None = None
    blockdev: bool = False
    unresolved: str | None = None  # description of a backend we cannot map to a path


class _Recovery:
    def __init__(self, argv: list[str], storage: StorageMap | None, vmid: int | None,
                 disk_sizes: dict[str, int] | None, tap_bridges: dict[str, str] | None) -> None:
        if not argv:
            raise CmdlineError("empty argument list; nothing to recover from")
        if not _is_exe(argv[0]):
            raise CmdlineError(f"{argv[0]!r} is not a kvm/qemu-system binary; give the full "
                               "command line of the VM's kvm process")
        self.argv = argv
        self.storage = storage or default_storage()
        self.disk_sizes = disk_sizes or {}
        self.tap_bridges = tap_bridges or {}
        self.opts: list[tuple[str, str | None]] = []
        i = 1
        while i < len(argv):
            a = argv[i]
            if a.startswith("-") and a not in _NOARG and i + 1 < len(argv):
                self.opts.append((a, argv[i + 1]))
                i += 2
            else:
                self.opts.append((a, None))
                i += 1
        self.cfg = RecoveredConfig(vmid=vmid)
        self.o = self.cfg.options
        self.todos = self.cfg.todos
        self.warn = self.cfg.warnings
        self.requested_vmid = vmid
        self.devices: list[tuple[str, dict[str, str]]] = []
        self.chardevs: dict[str, tuple[str, dict[str, str]]] = {}
        self.objects: dict[str, tuple[str, dict[str, Any]]] = {}
        self.drives: dict[str, _Drive] = {}
        self.pflash: dict[int, _Drive] = {}
        self.used: set[int] = set()
        self.windows = 0  # 0 = no Windows hints, 6 = vista/2008 level, 7 = win7+
        self.bootindex: dict[str, int] = {}
        self.disks: dict[str, str] = {}
        self.nets: list[str] = []
        self.modern = False  # PVE >= 7 defaults (io_uring)
        self.ostype_hint: str | None = None
        self.q35 = False
        self.scsihw = "lsi"
        self.vmid: int | None = None
        self._bd_files: dict[str, str] = {}

    # -- option access -----------------------------------------------------------------------

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.opts if k == name and v is not None]

    def one(self, name: str) -> str | None:
        vals = self.all(name)
        return vals[-1] if vals else None

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.opts)

    # -- main --------------------------------------------------------------------------------

    def run(self) -> RecoveredConfig:
        self._index()
        self._vmid()
        self._simple()
        self._cpu()
        self._memory()
        self._machine()
        self._drives()
        self._nets()
        self._boot()
        self._display_and_usb()
        self._misc_devices()
        self._rtc()
        self._leftovers()
        self._final_todos()
        return self.cfg

    def _index(self) -> None:
        for k, v in self.opts:
            if v is None:
                continue
            if k == "-device":
                if v.lstrip().startswith("{"):
                    try:
                        jd = json.loads(v)
                    except ValueError:
                        self.warn.append(f"unparseable -device {v[:60]!r}")
                        continue
                    drv = str(jd.pop("driver", ""))
                    self.devices.append((drv, {str(a): _jstr(b) for a, b in jd.items()}))
                else:
                    head, d = _kv(v)
                    self.devices.append((head or "", d))
            elif k == "-chardev":
                head, d = _kv(v)
                if "id" in d:
                    self.chardevs[d["id"]] = (head or "", d)
            elif k == "-object":
                if v.lstrip().startswith("{"):
                    try:
                        jo = json.loads(v)
                    except ValueError:
                        continue
                    self.objects[str(jo.get("id", ""))] = (str(jo.get("qom-type", "")), jo)
                else:
                    head, d = _kv(v)
                    if "id" in d:
                        self.objects[d["id"]] = (head or "", dict(d))
        text = " ".join(self.argv)
        self.modern = bool(
            re.search(r"aio[=\":]+io_uring|free-page-reporting|rx_queue_size|-blockdev", text)
        )

    def _vmid(self) -> None:
        found: int | None = None
        idv = self.one("-id")
        if idv and idv.isdigit():
            found = int(idv)
        else:
            m = re.search(r"/var/run/qemu-server/(\d+)\.(?:pid|qmp)", " ".join(self.argv))
            if m:
                found = int(m.group(1))
        if self.requested_vmid is not None and found is not None \
                and found != self.requested_vmid:
            self.warn.append(f"command line belongs to VM {found}, not {self.requested_vmid}; "
                             f"disk paths still name VM {found}")
        self.cfg.vmid = self.requested_vmid if self.requested_vmid is not None else found
        if self.cfg.vmid is None:
            self.todos.append("VM id not found (no -id/-pidfile); pass --vmid")
        self.vmid = found if found is not None else self.cfg.vmid

    def _simple(self) -> None:
        name = self.one("-name")
        if name is not None:
            n = _split_opts(name)[0]
            if n and n != f"vm{self.vmid}":
                self.o["name"] = n
        smb = self.all("-smbios")
        for s in smb:
            head, d = _kv(s)
            if d.get("type") == "1":
                self.o["smbios1"] = _smbios1(d)
        smp = self.one("-smp")
        if smp:
            head, d = _kv(smp)
            sockets = int(d.get("sockets", "1"))
            cores = int(d.get("cores", "1"))
            maxcpus = int(d.get("maxcpus", str(sockets * cores)))
            cur = int(head) if head and head.isdigit() else maxcpus
            hot = sum(1 for drv, dd in self.devices
                      if drv.endswith("-x86_64-cpu") and dd.get("id", "").startswith("cpu"))
            self.o["sockets"] = str(sockets)
            self.o["cores"] = str(cores)
            vcpus = cur + hot
            if vcpus < sockets * cores:
                self.o["vcpus"] = str(vcpus)
            if hot or cur < maxcpus:
                self._hotplug("cpu")
        kb = self.one("-k")
        if kb:
            self.o["keyboard"] = kb
        if self.has("-no-acpi"):
            self.o["acpi"] = "0"
        if self.has("-S"):
            self.o["freeze"] = "1"
            self.warn.append("-S: the VM was started paused (freeze: 1, or an incoming "
                             "migration); check whether freeze: 1 is wanted")
        if self.has("-snapshot"):
            self.o["template"] = "1"

    def _hotplug(self, what: str) -> None:
        cur = self.o.get("hotplug", "")
        items = [x for x in cur.split(",") if x]
        if what not in items:
            items.append(what)
        self.o["hotplug"] = ",".join(items)

    # -- cpu -----------------------------------------------------------------------------------

    def _cpu(self) -> None:
        cpu = self.one("-cpu")
        if cpu is None:
            return
        parts = _split_opts(cpu)
        model = parts[0]
        flags: list[str] = []
        vals: dict[str, str] = {}
        hv: dict[str, str] = {}
        for p in parts[1:]:
            if p.startswith("hv_") or p.startswith("hv-"):
                k, _, v = p.partition("=")
                hv[k.replace("-", "_")] = v
            elif "=" in p:
                k, _, v = p.partition("=")
                vals[k] = v
            elif p:
                flags.append(p)
        # flags PVE adds by itself (CPUConfig.pm get_pve_cpu_flags / forced flags)
        auto = {"enforce", "+kvm_pv_unhalt", "+kvm_pv_eoi"}
        if model == "kvm64":
            auto |= {"+lahf_lm", "+sep"}
        if model == "kvm32":
            auto.add("+sep")
        if model.startswith("Opteron"):
            auto.add("-rdtscp")
        if "-x2apic" in flags:
            self.ostype_hint = "solaris"
            auto.add("-x2apic")
        user = [f for f in flags if f not in auto]
        if "-kvm_pv_unhalt" in user or "-kvm_pv_eoi" in user:
            pass
        cpu_opts: dict[str, str] = {}
        if vals.pop("kvm", None) == "off":
            cpu_opts["hidden"] = "1"
        vals.pop("vendor", None)
        if vals.get("host-phys-bits") == "true":
            cpu_opts["phys-bits"] = "host"
            vals.pop("host-phys-bits")
        if "phys-bits" in vals:
            cpu_opts["phys-bits"] = vals.pop("phys-bits")
        gpu_vga = any(d.get("x-vga") == "on" for drv, d in self.devices if drv == "vfio-pci")
        vendor_id = hv.pop("hv_vendor_id", None)
        if vendor_id is not None and not (vendor_id == "proxmox" and gpu_vga):
            cpu_opts["hv-vendor-id"] = vendor_id
        if hv:
            self.windows = 7 if _HV_WIN7 & set(hv) else 6
        name = model
        if model == "qemu64":
            plus = {f for f in user if f.startswith("+")}
            for bname in ("x86-64-v4", "x86-64-v3", "x86-64-v2-AES", "x86-64-v2"):
                bflags = set(_BUILTIN_CPU[bname].split(";"))
                if bflags <= plus:
                    name = bname
                    user = [f for f in user if f not in bflags]
                    break
        vm_flags = [f for f in user if f[1:] in _VM_CPU_FLAGS]
        other = [f for f in user if f[1:] not in _VM_CPU_FLAGS]
        if other:
            self.todos.append(
                f"cpu: flags {','.join(other)} cannot be set in a VM config; the VM probably "
                "used a custom CPU model from /etc/pve/virtual-guest/cpu-models.conf "
                f"(reported-model {model}) - recreate that model and set cpu: custom-<name>")
        for k, v in vals.items():
            self.warn.append(f"cpu: unexpected -cpu setting {k}={v} not mapped")
        if vm_flags:
            cpu_opts["flags"] = ";".join(sorted(vm_flags, key=lambda f: f[1:]))
        if name == "kvm64" and not cpu_opts:
            return
        self.o["cpu"] = _prop(name, cpu_opts)

    # -- memory --------------------------------------------------------------------------------

    def _memory(self) -> None:
        m = self.one("-m")
        if m is None:
            return
        head, d = _kv(m)
        if d.get("size") or (head is None and d):
            base = _size_mib(d.get("size", "0")) or 0
            dimms = 0
            for drv, dd in self.devices:
                if drv in ("pc-dimm", "nvdimm"):
                    obj = self.objects.get(dd.get("memdev", ""))
                    if obj:
                        dimms += _size_mib(str(obj[1].get("size", "0"))) or 0
            self.o["memory"] = str(base + dimms)
            if "slots" in d or dimms:
                self._hotplug("memory")
        elif head:
            mib = _size_mib(head)
            if mib is not None:
                self.o["memory"] = str(mib)
        if any(drv.startswith("virtio-mem") for drv, _ in self.devices):
            self.todos.append("memory: virtio-mem devices present; the memory total above "
                              "excludes them - check `info memory-devices` in the monitor")
        nodes = [v for v in self.all("-numa") if v.startswith("node")]
        hp: str | None = None
        for _oid, (typ, od) in self.objects.items():
            mp = str(od.get("mem-path", ""))
            mm = re.search(r"/hugepages/kvm/(\d+)kB", mp)
            if typ == "memory-backend-file" and mm:
                hp = {"2048": "2", "1048576": "1024"}.get(mm.group(1), mm.group(1))
        if nodes:
            self.o["numa"] = "1"
            self._numa_custom(nodes)
        if hp:
            self.o["hugepages"] = hp
            self.todos.append("hugepages: 'any' cannot be told apart from the size shown; "
                              "keephugepages is not on the command line")
        has_balloon = any(drv.startswith("virtio-balloon") for drv, _ in self.devices)
        if not has_balloon:
            self.o["balloon"] = "0"
        else:
            self.todos.append("balloon: the ballooning target (minimum memory) and shares are "
                              "set at runtime, not on the command line; set balloon: <MiB> if "
                              "it differed from memory")

    def _numa_custom(self, nodes: list[str]) -> None:
        """Emit numaN lines only when the layout is not the automatic one-node-per-socket."""
        custom = False
        entries: list[tuple[int, dict[str, str]]] = []
        for n in nodes:
            _h, d = _kv(n)
            nodeid = int(d.get("nodeid", "0"))
            obj = self.objects.get(d.get("memdev", ""))
            od: dict[str, Any] = obj[1] if obj else {}
            e: dict[str, str] = {"cpus": d.get("cpus", "").replace("-", "-")}
            size = _size_mib(str(od.get("size", "0")))
            e["memory"] = str(size)
            if od.get("host-nodes"):
                e["hostnodes"] = str(od["host-nodes"])
                custom = True
            if od.get("policy"):
                e["policy"] = str(od["policy"])
                custom = True
            entries.append((nodeid, e))
        sockets = int(self.o.get("sockets", "1"))
        cores = int(self.o.get("cores", "1"))
        if len(entries) != sockets:
            custom = True
        else:
            for nodeid, e in entries:
                lo, hi = nodeid * cores, nodeid * cores + cores - 1
                want = str(lo) if lo == hi else f"{lo}-{hi}"
                if e["cpus"] != want:
                    custom = True
        if custom:
            for nodeid, e in entries:
                e["cpus"] = e["cpus"].replace(":", ";")
                self.o[f"numa{nodeid}"] = _prop(None, e)

    # -- machine / bios ------------------------------------------------------------------------

    def _machine(self) -> None:
        mach = self.one("-machine")
        self.q35 = False
        if mach is None:
            self.todos.append("no -machine option seen: the command line may be truncated "
                              "(use `ps -ww` or /proc/<pid>/cmdline)")
            return
        _h, d = _kv(mach)
        typ = d.get("type", _h or "")
        self.q35 = "q35" in typ
        if d.get("accel") == "tcg":
            self.o["kvm"] = "0"
        extra: dict[str, str] = {}
        if d.get("kernel-irqchip") == "split" or any(drv == "intel-iommu"
                                                      for drv, _ in self.devices):
            extra["viommu"] = "intel"
        if any(drv == "virtio-iommu-pci" for drv, _ in self.devices):
            extra["viommu"] = "virtio"
        m = re.fullmatch(r"(pc|q35|virt)(?:-(i440fx|q35))?(?:-(\d+\.\d+))?(?:\+pve(\d+))?", typ)
        if not m:
            self.warn.append(f"machine type {typ!r} not understood; set machine: by hand")
            return
        base, flavour, ver, pve = m.groups()
        pxe = any(re.match(r"pxe-", dd.get("romfile", "")) for _drv, dd in self.devices)
        value: str | None
        if ver is None:
            value = "q35" if base == "q35" else None
        else:
            kind = "q35" if (flavour == "q35" or base == "q35") else "i440fx"
            if self.windows and ver == "5.1":
                # qemu-server pins unpinned Windows VMs to 5.1 itself (windows_get_pinned_...)
                value = "q35" if kind == "q35" else None
                self.warn.append("machine: Windows VM on version 5.1 left unpinned, as qemu-"
                                 "server pins that itself; pin it if the VM had it pinned")
            else:
                value = f"pc-{kind}-{ver}"
                if pve and pve != "0":
                    value += f"+pve{pve}"
                if pxe:
                    value += ".pxe"
        if value is None and extra:
            value = "pc"
        if value is not None:
            self.o["machine"] = _prop(value, extra)

    # -- disks ---------------------------------------------------------------------------------

    def _drives(self) -> None:
        for v in self.all("-drive"):
            _h, d = _kv(v)
            drv = _Drive(id=d.get("id", ""))
            drv.file = d.get("file")
            drv.fmt = d.get("format")
            drv.media = d.get("media")
            drv.cache = d.get("cache")
            drv.aio = d.get("aio")
            drv.discard = d.get("discard") in ("on", "unmap")
            drv.detect_zeroes = d.get("detect-zeroes")
            drv.readonly = d.get("readonly") == "on"
            drv.serial = d.get("serial")
            drv.werror = d.get("werror")
            drv.rerror = d.get("rerror")
            if d.get("size", "").isdigit():
                drv.size = int(d["size"])
            for key, val in d.items():
                if key.startswith("throttling."):
                    drv.throttle[key[len("throttling."):]] = val
            if d.get("if") == "pflash":
                self.pflash[int(d.get("unit", "0"))] = drv
            elif drv.id:
                self.drives[drv.id] = drv
        self._blockdevs()
        # controllers
        scsihw: str | None = None
        single_iothreads: dict[str, bool] = {}
        single_queues: dict[str, str] = {}
        for drv_name, dd in self.devices:
            cid = dd.get("id", "")
            if cid == "scsihw0" and drv_name in _SCSIHW:
                scsihw = _SCSIHW[drv_name]
            m = re.fullmatch(r"virtioscsi(\d+)", cid)
            if m and drv_name == "virtio-scsi-pci":
                scsihw = "virtio-scsi-single"
                single_iothreads[m.group(1)] = "iothread" in dd
                if "num_queues" in dd:
                    single_queues[m.group(1)] = dd["num_queues"]
        if scsihw and scsihw != "lsi":
            self.o["scsihw"] = scsihw
        self.scsihw = scsihw or "lsi"
        # bios / efidisk
        if 0 in self.pflash or self._pflash_code():
            self.o["bios"] = "ovmf"
        code = (self.pflash[0].file if 0 in self.pflash else self._pflash_code()) or ""
        efi_drive = self.pflash.get(1) or self.drives.pop("drive-efidisk0", None)
        if efi_drive is not None and re.fullmatch(r"/tmp/\d+-ovmf\.fd", efi_drive.file or ""):
            efi_drive = None  # qemu-server's temporary vars copy: the config had no efidisk0
        if efi_drive is not None:
            eopts: dict[str, str] = {}
            if "_4M" in code:
                eopts["efitype"] = "4m"
            self._emit_disk("efidisk0", efi_drive, {}, eopts, efi=True)
            if "_4M" in code:
                self.todos.append("efidisk0: pre-enrolled-keys (Microsoft Secure Boot keys) "
                                  "only affected the disk's creation; add pre-enrolled-keys=1 "
                                  "if the VM uses Secure Boot with the MS keys")
        elif self.o.get("bios") == "ovmf":
            self.warn.append("OVMF without an efidisk0: EFI variables are not persistent")
        # devices that use drives
        for drv_name, dd in self.devices:
            did = dd.get("id", "")
            m = _DISK_RE.fullmatch(did)
            if not m or drv_name in ("vfio-pci",):
                continue
            backend = dd.get("drive")
            drive = self.drives.get(backend or "") if backend else None
            if drive is None and backend:
                drive = self.drives.get(backend.replace("drive-", ""))
            if drv_name in ("ide-cd", "scsi-cd") and drive is None:
                drive = _Drive(id=f"drive-{did}", media="cdrom")
            if drive is None:
                self.warn.append(f"{did}: device {drv_name} without a known drive backend")
                continue
            if drv_name in ("ide-cd", "scsi-cd"):
                drive.media = "cdrom"
            dopts: dict[str, str] = {}
            if drv_name.startswith("virtio-blk") and "iothread" in dd:
                dopts["iothread"] = "1"
            if did.startswith("scsi") and self.scsihw == "virtio-scsi-single":
                ctrl = re.search(r"virtioscsi(\d+)", dd.get("bus", ""))
                if ctrl and single_iothreads.get(ctrl.group(1)):
                    dopts["iothread"] = "1"
                if ctrl and ctrl.group(1) in single_queues:
                    dopts["queues"] = single_queues[ctrl.group(1)]
            if dd.get("rotation_rate") == "1":
                dopts["ssd"] = "1"
            for k in ("wwn", "serial"):
                if k in dd:
                    dopts[k] = dd[k]
            if "model" in dd:
                dopts["model"] = dd["model"]
            for k in ("product", "vendor"):
                if k in dd:
                    dopts[k] = dd[k]
            if dd.get("write-cache") is not None:
                dopts["_write_cache"] = dd["write-cache"]
            if drv_name in ("scsi-block", "scsi-generic"):
                dopts["scsiblock"] = "1"
            if drv_name.startswith("virtio-blk") and dd.get("num-queues"):
                dopts["queues"] = dd["num-queues"]
            if "bootindex" in dd and dd["bootindex"].isdigit():
                self.bootindex[did] = int(dd["bootindex"])
            self._emit_disk(did, drive, dd, dopts)
        if any(drv == "tpm-tis" or drv == "tpm-crb" or drv == "tpm-tis-device"
               for drv, _ in self.devices):
            self.todos.append(
                "tpmstate0: the TPM state volume is opened by the swtpm process, not QEMU; find "
                "it with `ps auxww | grep swtpm` (--tpmstate backend-uri=file://<path>, --tpm2 "
                "means version=v2.0) and add tpmstate0: <storage>:<volume>,version=v2.0")

    def _pflash_code(self) -> str | None:
        mach = self.one("-machine") or ""
        _h, md = _kv(mach)
        node = md.get("pflash0")
        if node and node in self._bd_files:
            return self._bd_files[node]
        return None

    def _blockdevs(self) -> None:
        self._bd_files = {}
        for v in self.all("-blockdev"):
            try:
                top = json.loads(v)
            except ValueError:
                self.warn.append(f"unparseable -blockdev {v[:60]!r}")
                continue
            if not isinstance(top, dict):
                continue
            name = str(top.get("node-name", ""))
            chain: list[dict[str, Any]] = []
            node: Any = top
            while isinstance(node, dict):
                chain.append(node)
                node = node.get("file")
            proto = chain[-1]
            fmt_node = chain[-2] if len(chain) >= 2 else chain[-1]
            drv = _Drive(id=name, blockdev=True)
            drv.fmt = str(fmt_node.get("driver")) if len(chain) >= 2 else None
            if drv.fmt in ("throttle",):
                drv.fmt = None
            drv.file = _bd_filename(proto)
            if drv.file is None:
                drv.unresolved = json.dumps(proto, sort_keys=True)[:200]
            cache = fmt_node.get("cache") or proto.get("cache")
            if isinstance(cache, dict):
                direct = bool(cache.get("direct"))
                noflush = bool(cache.get("no-flush"))
                drv.cache = "unsafe" if noflush else ("direct" if direct else "nodirect")
            drv.aio = proto.get("aio")
            drv.discard = top.get("discard") == "unmap" or fmt_node.get("discard") == "unmap"
            drv.detect_zeroes = top.get("detect-zeroes") or fmt_node.get("detect-zeroes")
            drv.readonly = bool(top.get("read-only"))
            if isinstance(fmt_node.get("size"), int):
                drv.size = int(fmt_node["size"])
            tg = top.get("throttle-group")
            if tg and tg in self.objects:
                limits = self.objects[tg][1].get("limits") or {}
                for k, val in limits.items():
                    drv.throttle[str(k)] = str(val)
            if name == "pflash0" or (drv.file and "OVMF_CODE" in drv.file):
                self._bd_files[name] = drv.file or ""
                continue
            self.drives[name] = drv

    def _emit_disk(self, slot: str, d: _Drive, dev: dict[str, str], extra: dict[str, str],
                   efi: bool = False) -> None:
        opts: dict[str, str] = dict(extra)
        wc = opts.pop("_write_cache", None)
        is_cd = d.media == "cdrom"
        vol: str
        store: Storage | None = None
        if d.file is None or d.file == "":
            if not is_cd:
                self.todos.append(f"{slot}: backend not understood ({d.unresolved}); set the "
                                  "volume by hand")
                return
            vol = "none"
        elif d.file == "/dev/cdrom" and is_cd:
            vol = "cdrom"
        else:
            res = self.storage.resolve(d.file, self.vmid)
            if res is None:
                vol = d.file
                if d.file.startswith("iscsi://"):
                    self.todos.append(f"{slot}: {d.file} is an iSCSI LUN (iscsidirect or "
                                      "ZFS over iSCSI); map the LUN back to its volume name "
                                      "on the storage target and write <storage>:<volume>")
                elif d.file.startswith("/dev/"):
                    self.todos.append(f"{slot}: {d.file} is not on a known storage; keep it as "
                                      "a passthrough path or fix storage.cfg")
                else:
                    self.todos.append(f"{slot}: {d.file} is not below any storage in "
                                      "storage.cfg; check the storage id and volume name")
            else:
                sid, volname, store = res
                vol = f"{sid}:{volname}"
                if self.storage.assumed:
                    self.warn.append(f"{slot}: storage id {sid!r} assumed from Proxmox "
                                     "defaults; pass storage.cfg to be sure")
        if is_cd:
            opts["media"] = "cdrom"
        # cache
        btrfs = store is not None and store.type == "btrfs"
        rbd_efi = efi and d.file is not None and (d.file.startswith("rbd:")
                                                  or "/rbd" in d.file)
        cache = _cache_mode(d, wc)
        default_cache = "none"
        if btrfs or is_cd:
            default_cache = "writeback"
        if rbd_efi:
            default_cache = "writeback"
        if cache is not None and cache != default_cache and not (d.blockdev and cache
                                                                 == "writeback" and efi):
            opts["cache"] = cache
        if not d.blockdev and d.cache is None and not is_cd and not btrfs and not efi \
                and d.file is not None:
            self.warn.append(f"{slot}: no cache= on the command line, which qemu-server only "
                             "does for storages without O_DIRECT (e.g. btrfs); check cache=")
        if efi:
            opts.pop("cache", None)
        # aio
        if d.aio and not efi:
            direct = (cache or "none") in ("none", "directsync", "direct")
            default_aio = self._default_aio(store, direct, is_cd)
            if d.aio != default_aio:
                opts["aio"] = d.aio
        if d.discard and not is_cd:
            opts["discard"] = "on"
        if not is_cd and not efi and d.file and d.detect_zeroes in (None, "off") \
                and not d.blockdev:
            opts["detect_zeroes"] = "0"
        if d.readonly and not is_cd and not efi and self.o.get("template") != "1":
            opts["ro"] = "1"
        if d.serial:
            opts["serial"] = d.serial
        if d.werror:
            opts["werror"] = d.werror
        if d.rerror:
            opts["rerror"] = d.rerror
        opts.update(_throttle_opts(d.throttle))
        if d.fmt and d.file and not is_cd:
            implied = _implied_format(vol, store)
            if implied and implied != d.fmt:
                opts["format"] = d.fmt
        size: int | None = None
        if d.file and d.file in self.disk_sizes:
            size = self.disk_sizes[d.file]
        elif efi and d.size:
            size = d.size
        if size is not None:
            opts["size"] = _fmt_size(size)
        elif not is_cd and d.file:
            self.todos.append(f"{slot}: size= not on the command line (informational only; "
                              f"`blockdev --getsize64 {d.file}` or `qm disk rescan` fills it)")
        self.disks[slot] = vol
        self.o[slot] = _prop(vol, opts)

    def _default_aio(self, store: Storage | None, direct: bool, cdrom: bool) -> str:
        if self.modern:
            if store is not None and store.type == "rbd" and store.krbd and not direct:
                return "threads"
            if store is not None and store.type == "lvm" and not direct:
                return "threads"
            return "io_uring"
        return "native" if direct and not cdrom else "threads"

    # -- network -------------------------------------------------------------------------------

    def _nets(self) -> None:
        netdevs: dict[str, dict[str, str]] = {}
        for v in self.all("-netdev"):
            if v.lstrip().startswith("{"):
                try:
                    jn = json.loads(v)
                except ValueError:
                    continue
                nd = {str(a): _jstr(b) for a, b in jn.items()}
            else:
                head, nd = _kv(v)
                if head and "type" not in nd:
                    nd["type"] = head
            netdevs[nd.get("id", "")] = nd
        bridges_missing: list[str] = []
        for drv, dd in self.devices:
            nid = dd.get("id", "")
            if not re.fullmatch(r"net\d+", nid):
                continue
            model = _NET_MODELS.get(drv)
            if model is None:
                self.warn.append(f"{nid}: NIC model {drv!r} unknown; set it by hand")
                continue
            opts: dict[str, str] = {}
            nd = netdevs.get(dd.get("netdev", nid), {})
            if nd.get("queues"):
                opts["queues"] = nd["queues"]
            mtu = dd.get("host_mtu")
            if mtu and not (self.modern and mtu == "1500" and "-blockdev" in self.argv):
                opts["mtu"] = mtu
            if "romfile" in dd and not dd["romfile"].startswith("pxe-"):
                opts["romfile"] = dd["romfile"]  # not a config key in PVE <8.1; kept visible
            if dd.get("romfile") == "":
                pass
            if nd.get("type") == "tap":
                tap = nd.get("ifname", f"tap{self.vmid}i{nid[3:]}")
                bridge = self.tap_bridges.get(tap)
                if bridge:
                    fw = re.fullmatch(r"fwbr(\d+)i(\d+)", bridge)
                    if fw:
                        opts["firewall"] = "1"
                        bridges_missing.append(f"{nid} (tap {tap} is in firewall bridge "
                                               f"{bridge}; the real bridge is the one "
                                               f"fwpr{fw.group(1)}p{fw.group(2)} is in)")
                    else:
                        vl = re.fullmatch(r"(vmbr\d+)v(\d+)", bridge)
                        if vl:
                            opts["bridge"] = vl.group(1)
                            opts["tag"] = vl.group(2)
                        else:
                            opts["bridge"] = bridge
                else:
                    bridges_missing.append(f"{nid} (tap {tap})")
            elif nd.get("type") not in ("user", None):
                self.warn.append(f"{nid}: netdev type {nd.get('type')} (not a Proxmox bridge)")
            if "bootindex" in dd and dd["bootindex"].isdigit():
                self.bootindex[nid] = int(dd["bootindex"])
            mac = dd.get("mac", "")
            self.o[nid] = _prop(f"{model}={mac}", opts)
            self.nets.append(nid)
        if bridges_missing:
            self.todos.append(
                "bridge/tag/firewall/rate/trunks/link_down of " + ", ".join(bridges_missing)
                + " are not on the command line; find the bridge with `ip -o link show "
                "<tap>` (master), VLAN with `bridge vlan show dev <tap>`, and add "
                "bridge=...[,tag=...][,firewall=1]")

    # -- boot ----------------------------------------------------------------------------------

    def _boot(self) -> None:
        disks = [s for s in _DRIVE_ORDER if s in self.disks]
        cds = {s for s in disks if ",media=cdrom" in self.o.get(s, "")}
        if not self.bootindex:
            if [d for d in disks if d not in ("efidisk0", "tpmstate0")] or self.nets:
                self.o["boot"] = " "
            return
        consecutive = sorted(self.bootindex.values()) == list(
            range(100, 100 + len(self.bootindex)))
        for legacy in _legacy_candidates():
            if consecutive and legacy != "cdn":
                break  # `boot: order=` explains it too, and is what PVE >= 6.3 writes
            for bootdisk in [None] + [d for d in disks if d not in cds]:
                if _legacy_order(legacy, bootdisk, disks, cds, self.nets) == self.bootindex:
                    if legacy != "cdn":
                        self.o["boot"] = legacy
                    if bootdisk:
                        self.o["bootdisk"] = bootdisk
                    return
        order = sorted(self.bootindex, key=lambda k: self.bootindex[k])
        self.o["boot"] = "order=" + ";".join(order)

    # -- display, usb, serial ------------------------------------------------------------------

    def _display_and_usb(self) -> None:
        vga: str | None = None
        qxl = 0
        vga_mem: str | None = None
        for drv, dd in self.devices:
            if dd.get("id") == "vga" and drv in _VGA:
                vga = _VGA[drv]
                if "vgamem_mb" in dd:
                    vga_mem = dd["vgamem_mb"]
                if drv == "qxl-vga":
                    qxl = 1
                    if "ram_size" in dd:
                        vga_mem = str(int(dd["ram_size"]) // (1 << 20) // 2)
            elif drv == "qxl" and re.fullmatch(r"vga\d+", dd.get("id", "")):
                qxl += 1
        serial_display = self.has("-nographic")
        if vga == "qxl" and qxl > 1:
            vga = f"qxl{qxl}"
        if self.one("-vga") == "none" and vga is None and not serial_display:
            vga = "none"
        if serial_display:
            vga = "serial0"
        vopts: dict[str, str] = {}
        if vga_mem and vga in ("std", "vmware", "cirrus"):
            vopts["memory"] = vga_mem
        if vga_mem and vga and vga.startswith("qxl"):
            vopts["memory"] = vga_mem
        spice = self.one("-spice") or ""
        _h, sd = _kv(spice)
        if "clipboard=on" in " ".join(self.all("-vnc")) or \
                any(dd.get("name") == "com.redhat.spice.0" and
                    self.chardevs.get(dd.get("chardev", ""), ("", {}))[0] == "qemu-vdagent"
                    for _d, dd in self.devices):
            vopts["clipboard"] = "vnc"
        if vga is not None and (vga != "std" or vopts):
            self.o["vga"] = _prop(vga, vopts)
        if vga and vga.startswith("serial"):
            self.o["vga"] = vga
        if spice:
            enh: dict[str, str] = {}
            if "foldershare" in self.chardevs:
                enh["foldersharing"] = "1"
            if sd.get("streaming-video") and sd["streaming-video"] != "off":
                enh["videostreaming"] = sd["streaming-video"]
            if enh:
                self.o["spice_enhancements"] = _prop(None, enh)
        # tablet
        tablet = any(drv == "usb-tablet" for drv, _ in self.devices)
        if not tablet and not qxl and not (vga or "").startswith("serial"):
            self.o["tablet"] = "0"
        if tablet and (qxl or (vga or "").startswith("serial")):
            self.o["tablet"] = "1"
        # usb
        xhci = next((drv for drv, dd in self.devices if dd.get("id") == "xhci"), None)
        for drv, dd in self.devices:
            uid = dd.get("id", "")
            m = re.fullmatch(r"usbredirdev(\d+)", uid)
            if drv == "usb-redir" and m:
                opts: dict[str, str] = {}
                if dd.get("bus", "").startswith("xhci") and xhci == "nec-usb-xhci":
                    opts["usb3"] = "1"
                self.o[f"usb{m.group(1)}"] = _prop("spice", opts)
                continue
            if drv == "usb-host" and re.fullmatch(r"usb\d+", uid):
                if "vendorid" in dd:
                    host = f"{dd['vendorid'].removeprefix('0x')}:" \
                           f"{dd['productid'].removeprefix('0x')}"
                else:
                    host = f"{dd.get('hostbus')}-{dd.get('hostport')}"
                opts = {}
                if dd.get("bus", "").startswith("xhci") and xhci == "nec-usb-xhci":
                    opts["usb3"] = "1"
                self.o[uid] = _prop(f"host={host}", opts)
                if "bootindex" in dd:
                    self.bootindex[uid] = int(dd["bootindex"])
        if xhci == "qemu-xhci" and not self.windows:
            self.ostype_hint = "l26"
        # serial / parallel
        for drv, dd in self.devices:
            if drv == "isa-serial":
                cid = dd.get("chardev", "")
                ch = self.chardevs.get(cid)
                m = re.fullmatch(r"serial(\d+)", cid)
                if not ch or not m:
                    continue
                kind, cd = ch
                if kind == "socket":
                    self.o[f"serial{m.group(1)}"] = "socket"
                elif kind in ("tty", "serial"):
                    self.o[f"serial{m.group(1)}"] = cd.get("path", "")
            elif drv == "isa-parallel":
                cid = dd.get("chardev", "")
                ch = self.chardevs.get(cid)
                m = re.fullmatch(r"parallel(\d+)", cid)
                if ch and m:
                    self.o[f"parallel{m.group(1)}"] = ch[1].get("path", "")

    # -- other devices -------------------------------------------------------------------------

    def _misc_devices(self) -> None:
        hostpci: dict[str, list[dict[str, str]]] = {}
        for drv, dd in self.devices:
            did = dd.get("id", "")
            if drv == "vmgenid" and "guid" in dd:
                self.o["vmgenid"] = dd["guid"]
            elif drv == "virtserialport" and dd.get("name") == "org.qemu.guest_agent.0":
                self.o["agent"] = "1"
            elif drv == "isa-serial" and dd.get("chardev") == "qga0":
                self.o["agent"] = "1,type=isa"
            elif drv == "virtio-rng-pci" or drv == "virtio-rng-device":
                obj = self.objects.get(dd.get("rng", ""))
                ropts: dict[str, str] = {}
                if obj:
                    ropts["source"] = str(obj[1].get("filename", ""))
                if dd.get("max-bytes", "1024") != "1024":
                    ropts["max_bytes"] = dd["max-bytes"]
                if dd.get("period", "1000") != "1000":
                    ropts["period"] = dd["period"]
                src = ropts.pop("source", "/dev/urandom")
                self.o["rng0"] = _prop(f"source={src}", ropts)
            elif drv in ("i6300esb", "ib700"):
                wopts = {}
                act = self.one("-watchdog-action")
                if act and act != "reset":
                    wopts["action"] = act
                self.o["watchdog"] = _prop(f"model={drv}", wopts)
            elif drv in ("ich9-intel-hda", "intel-hda", "AC97") and did == "audiodev0":
                backend = dd.get("audiodev", "")
                for _drv2, dd2 in self.devices:
                    if dd2.get("bus", "").startswith("audiodev0") and dd2.get("audiodev"):
                        backend = dd2["audiodev"]
                audiodrv = "spice"
                for av in self.all("-audiodev"):
                    ah, ad = _kv(av)
                    if ad.get("id") == backend:
                        audiodrv = ah or ad.get("driver", "spice")
                aopts = {"device": drv}
                if audiodrv != "spice":
                    aopts["driver"] = audiodrv
                self.o["audio0"] = _prop(None, aopts)
            elif drv == "vfio-pci":
                m = re.fullmatch(r"hostpci(\d+)(?:\.(\d+))?", did)
                if m:
                    hostpci.setdefault(m.group(1), []).append(dd)
        for idx, devs in sorted(hostpci.items()):
            self.o[f"hostpci{idx}"] = self._hostpci(devs)
        if hostpci:
            self.todos.append("hostpciN: a PCI resource mapping (mapping=<name>) cannot be told "
                              "from a raw host address; use mapping= if the cluster had one")

    def _hostpci(self, devs: list[dict[str, str]]) -> str:
        first = devs[0]
        host = first.get("host", first.get("sysfsdev", ""))
        m = re.fullmatch(r"(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}:[0-9a-fA-F]{2})\.(\d)", host)
        opts: dict[str, str] = {}
        if m:
            dom, busdev, fn = m.groups()
            addr = busdev if len(devs) > 1 else f"{busdev}.{fn}"
            if dom and dom != "0000":
                addr = f"{dom}:{addr}"
        else:
            mm = re.search(r"/([0-9a-f-]{36})$", host)
            addr = host
            if mm:
                self.todos.append(f"hostpci: mediated device {mm.group(1)}; set "
                                  "host=<parent PCI address>,mdev=<type> by hand")
        if re.match(r"ich9-pcie-port-\d+", first.get("bus", "")):
            opts["pcie"] = "1"
        if first.get("rombar") == "0":
            opts["rombar"] = "0"
        if first.get("x-vga") == "on":
            opts["x-vga"] = "1"
        if "romfile" in first:
            opts["romfile"] = first["romfile"].rsplit("/", 1)[-1]
        for k in ("vendor-id", "device-id", "sub-vendor-id", "sub-device-id"):
            if f"x-pci-{k}" in first:
                opts[k] = first[f"x-pci-{k}"]
        return _prop(addr, opts)

    def _rtc(self) -> None:
        rtc = self.one("-rtc")
        _h, d = _kv(rtc or "")
        local = d.get("base") == "localtime"
        tdf = d.get("driftfix") == "slew"
        win = self.windows > 0 or self.has("-no-hpet")
        if self.windows == 0 and self.has("-no-hpet"):
            self.windows = 6
        if d.get("base") and d["base"] not in ("localtime", "utc"):
            self.o["startdate"] = d["base"]
        if win:
            if not local and "startdate" not in self.o:
                self.o["localtime"] = "0"
            if not tdf and self.o.get("acpi") != "0":
                self.o["tdf"] = "0"
        else:
            if local:
                self.o["localtime"] = "1"
            if tdf:
                self.o["tdf"] = "1"
        hint = self.ostype_hint
        if self.windows:
            guess = "win10" if self.windows >= 7 else "w2k8"
            if self.windows >= 7 and any(drv.startswith("tpm-") for drv, _ in self.devices):
                guess = "win11"
            self.o["ostype"] = guess
            self.todos.append(
                f"ostype: {guess} is a guess from the Hyper-V flags; "
                + ("win7, win8, win10, win11 and 2012-2022 look the same"
                   if self.windows >= 7 else "Vista/2008 level")
                + " - set the real Windows version")
        elif hint:
            self.o["ostype"] = hint
            if hint == "l26":
                self.warn.append("ostype: l26 inferred from the qemu-xhci USB controller (only "
                                 "used for l26 and Windows > 7)")
        else:
            self.todos.append("ostype: not on the command line (no Windows flags seen); Linux "
                              "guests use ostype: l26, others 'other'")

    def _leftovers(self) -> None:
        known = {
            "-id", "-name", "-no-shutdown", "-chardev", "-mon", "-pidfile", "-daemonize",
            "-smbios", "-smp", "-nodefaults", "-boot", "-vnc", "-cpu", "-m", "-device",
            "-drive", "-blockdev", "-netdev", "-machine", "-object", "-numa", "-global",
            "-iscsi", "-readconfig", "-rtc", "-no-hpet", "-nographic", "-spice", "-k",
            "-snapshot", "-no-acpi", "-S", "-tpmdev", "-audiodev", "-watchdog-action",
            "-vga", "-incoming", "-serial", "-parallel", "-fw_cfg",
        }
        unknown = sorted({k for k, _ in self.opts if k not in known})
        if unknown:
            self.warn.append("options not mapped to config keys (maybe from args:): "
                             + " ".join(unknown))
        if self.has("-incoming"):
            self.warn.append("-incoming: this process was the target of a migration")

    def _final_todos(self) -> None:
        self.todos.append(_NOT_ON_CMDLINE)
        # keep unique, in order
        self.cfg.todos[:] = list(dict.fromkeys(self.todos))
        self.cfg.warnings[:] = list(dict.fromkeys(self.warn))
        if self.o.get("boot") == " ":
            self.o["boot"] = ""


def _jstr(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)


def _bd_filename(proto: dict[str, Any]) -> str | None:
    driver = proto.get("driver")
    if driver in ("file", "host_device", "host_cdrom") and "filename" in proto:
        return str(proto["filename"])
    if driver == "rbd":
        ns = f"{proto['namespace']}/" if proto.get("namespace") else ""
        return f"rbd:{proto.get('pool')}/{ns}{proto.get('image')}"
    if driver == "iscsi":
        return f"iscsi://{proto.get('portal')}/{proto.get('target')}/{proto.get('lun', 0)}"
    if "filename" in proto:
        return str(proto["filename"])
    return None


def _cache_mode(d: _Drive, write_cache: str | None) -> str | None:
    """Normalise -drive cache= or -blockdev cache/write-cache to a config cache mode."""
    if not d.blockdev:
        return d.cache
    if d.cache is None:
        return None
    if d.cache == "unsafe":
        return "unsafe"
    wc_on = write_cache != "off"
    if d.cache == "direct":
        return "none" if wc_on else "directsync"
    return "writeback" if wc_on else "writethrough"


def _implied_format(vol: str, store: Storage | None) -> str | None:
    if store is None:
        return None
    if store.type in _DIR_TYPES:
        m = re.search(r"\.(raw|qcow2|vmdk)$", vol)
        return m.group(1) if m else None
    return "raw"


def _throttle_opts(t: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for suffix, q in _THROTTLE:
        for key, qkey, is_bytes in (
            (f"mbps{suffix}", f"bps{q}", True),
            (f"mbps{suffix}_max", f"bps{q}-max", True),
            (f"bps{suffix}_max_length", f"bps{q}-max-length", False),
            (f"iops{suffix}", f"iops{q}", False),
            (f"iops{suffix}_max", f"iops{q}-max", False),
            (f"iops{suffix}_max_length", f"iops{q}-max-length", False),
        ):
            v = t.get(qkey)
            if v in (None, "", "0"):
                continue
            assert v is not None
            try:
                num = float(v)
            except ValueError:
                continue
            out[key] = _fmt_num(num / (1 << 20)) if is_bytes else _fmt_num(num)
    return out


_SMBIOS_SAFE = re.compile(r"[A-Za-z0-9._ +\-/()]*")


def _smbios1(d: dict[str, str]) -> str:
    """Rebuild smbios1; values PVE only accepts base64-encoded get base64=1 (QemuServer.pm)."""
    fields = {k: v for k, v in d.items() if k != "type"}
    others = {k: v for k, v in fields.items() if k != "uuid"}
    needs_b64 = any(not re.fullmatch(r"[A-Za-z0-9.\-_]*", v) for v in others.values())
    if needs_b64:
        enc = {k: base64.b64encode(v.encode()).decode() for k, v in others.items()}
        if "uuid" in fields:
            enc["uuid"] = fields["uuid"]
        enc["base64"] = "1"
        return _prop(None, enc)
    return _prop(None, fields)


def _legacy_candidates() -> list[str]:
    """Legacy ``boot:`` strings (letters c, d, n; a floppy never gets a bootindex)."""
    letters = "cdn"
    out = ["cdn"]
    from itertools import permutations

    for r in (3, 2, 1):
        for p in permutations(letters, r):
            s = "".join(p)
            if s not in out:
                out.append(s)
    return out


def _legacy_order(legacy: str, bootdisk: str | None, disks: list[str], cds: set[str],
                  nets: list[str]) -> dict[str, int]:
    """qemu-server's bootorder_from_legacy(), to test whether a legacy boot value fits."""
    idx = {c: (i + 1) * 100 for i, c in enumerate(legacy)}
    out: dict[str, int] = {}
    for ds in disks:
        if ds in ("efidisk0", "tpmstate0"):
            continue
        if ds in cds:
            if "d" in idx:
                out[ds] = idx["d"]
                idx["d"] += 1
        elif "c" in idx:
            if bootdisk == ds:
                out[ds] = idx["c"]
            idx["c"] += 1
    if "n" in idx:
        for n in nets:
            out[n] = idx["n"]
            idx["n"] += 1
    return out


def recover_config(
    argv: list[str],
    storage: StorageMap | None = None,
    vmid: int | None = None,
    disk_sizes: dict[str, int] | None = None,
    tap_bridges: dict[str, str] | None = None,
) -> RecoveredConfig:
    """Rebuild a VM config from a QEMU argv (see :func:`split_cmdline`).

    ``storage`` maps paths to storage ids (default: Proxmox's stock ``local``/``local-lvm``);
    ``disk_sizes`` (path -> bytes, e.g. from ``blockdev --getsize64``) fills ``size=``;
    ``tap_bridges`` (tap name -> bridge, from ``ip -o link show``) fills ``bridge=``/``tag=``.
    """
    return _Recovery(argv, storage, vmid, disk_sizes, tap_bridges).run()
