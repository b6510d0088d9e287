"""The state shared by the rule modules while one QEMU argv is read back into a config."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pverunbook.pve.digits import is_uint
from pverunbook.pve.qemu.argv import NOARG, CmdlineError, is_exe
from pverunbook.pve.qemu.config import RecoveredConfig
from pverunbook.pve.qemu.optstr import jstr, kv
from pverunbook.pve.qemu.storage import StorageMap


@dataclass
class Drive:
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
    aio_explicit: bool | None = None  # aio= written by the config (-drive order), None: unknown
    unresolved: str | None = None  # description of a backend we cannot map to a path


# Options qemu-server itself writes after ``-machine`` (QemuServer.pm config_to_command:
# ``-loadstate`` for a hibernated VM's vmstate, ``-snapshot`` for templates) and those vm_start
# appends for an incoming migration (``-incoming <uri>`` and ``-S``).
# PVE 7 also wrote the Windows RTC fixup ``-global kvm-pit.lost_tick_policy=discard`` there.
_AFTER_MACHINE = {"-loadstate", "-snapshot"}
_AFTER_MACHINE_PAIRS = {("-global", "kvm-pit.lost_tick_policy=discard")}
_START_ONLY = {"-incoming", "-S"}


def split_phases(
    opts: list[tuple[str, str | None]],
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]],
           list[tuple[str, str | None]]]:
    """Split options into (config_to_command's, ``args:``'s, vm_start's).

    QemuServer.pm config_to_command writes exactly one ``-machine`` (``push @$cmd, '-machine',
    join(',', @$machineFlags)`` — the flags always hold ``type=``), then ``-loadstate`` or
    ``-snapshot`` if needed, and appends the config's ``args:`` after it; vm_start then adds
    ``-incoming <uri> -S`` on a migration target.  So everything after the *first* ``-machine``
    is the user's ``args:`` (or was appended to the command line by hand): a second ``-cpu``
    there overrides qemu-server's, and a ``-S``, ``-object sev-guest`` or a second
    ``-machine memory-encryption=...`` there is never ``freeze: 1`` or ``amd-sev:``.  ``-S``
    after ``-incoming`` means "wait for the migration stream".  Without a ``-machine`` (a
    truncated line) nothing is treated as ``args:``.
    """
    last = next((n for n, (k, _v) in enumerate(opts) if k == "-machine"), -1)
    if last < 0:
        inc = next((n for n, o in enumerate(opts) if o[0] == "-incoming"), len(opts))
        body = [o for n, o in enumerate(opts) if n < inc or o[0] not in _START_ONLY]
        return body, [], [o for n, o in enumerate(opts) if n >= inc and o[0] in _START_ONLY]
    body = list(opts[:last + 1])
    n = last + 1
    while n < len(opts) and (opts[n][0] in _AFTER_MACHINE or opts[n] in _AFTER_MACHINE_PAIRS):
        body.append(opts[n])
        n += 1
    tail = opts[n:]
    inc = next((m for m, o in enumerate(tail) if o[0] == "-incoming"), len(tail))
    if inc == len(tail) and tail and (tail[-1] == ("-S", None) or tail[-1][0] == "-loadstate"):
        # vm_start_nolock pushes its $state_cmdline last: `-S` alone for a paused start
        # (e.g. vzdump backing up a stopped VM) or `-loadstate <file>` from
        # StateFile.pm statefile_cmdline_option
        inc = len(tail) - 1
    return body, tail[:inc], tail[inc:]


class Recovery:
    """What one reading of a command line has found so far; the rule modules fill it."""

    def __init__(self, argv: list[str], storage: StorageMap | None, vmid: int | None,
                 disk_sizes: dict[str, int] | None, tap_bridges: dict[str, str] | None,
                 swtpm: tuple[str, bool] | None = None) -> None:
        if not argv:
            raise CmdlineError("empty argument list; nothing to recover from")
        if not is_exe(argv[0]):
            raise CmdlineError(f"{argv[0]!r} is not a kvm/qemu-system binary; give the full "
                               "command line of the VM's kvm process")
        self.argv = argv
        # Without a storage.cfg no path maps to a storage: its id is never guessed.
        self.storage = storage if storage is not None else StorageMap()
        self.storage_given = storage is not None
        self.disk_sizes = disk_sizes or {}
        self.tap_bridges = tap_bridges or {}
        self.swtpm = swtpm  # (state path, TPM 2.0?) of the swtpm process beside the VM
        allopts: list[tuple[str, str | None]] = []
        i = 1
        while i < len(argv):
            a = argv[i]
            if a.startswith("-") and a not in NOARG and i + 1 < len(argv):
                allopts.append((a, argv[i + 1]))
                i += 2
            else:
                allopts.append((a, None))
                i += 1
        # What config_to_command wrote, what `args:` appended, and what vm_start added.
        self.opts, self.args_opts, self.start_opts = split_phases(allopts)
        self.migration_target = any(k == "-incoming" for k, _ in self.start_opts)
        self.started_paused = self.start_opts == [("-S", None)]
        self.cfg = RecoveredConfig(vmid=vmid)
        self.o = self.cfg.options
        self.todos = self.cfg.todos
        self.warn = self.cfg.warnings
        self.notes = self.cfg.notes
        self.missing = self.cfg.missing
        self.requested_vmid = vmid
        self.devices: list[tuple[str, dict[str, str]]] = []
        self.chardevs: dict[str, tuple[str, dict[str, str]]] = {}
        self.objects: dict[str, tuple[str, dict[str, Any]]] = {}
        self.drives: dict[str, Drive] = {}
        self.pflash: dict[int, Drive] = {}
        self.used: set[int] = set()
        self.windows = 0  # 0 = no Windows hints, 6 = vista/2008 level, 7 = win7+
        self.win11 = False  # -cet-ibt,-cet-ss: qemu-server's flags for ostype win11
        self.hpet_off = False  # -machine ...,hpet=off (Cfg2Cmd/Timer.pm)
        self.win7 = False  # a pcie=1 hostpci on pcie.0 (PCI.pm hostpciNbus0): ostype win7
        self.bootindex: dict[str, int] = {}
        self.disks: dict[str, str] = {}
        self.nets: list[str] = []
        self.modern = False  # PVE >= 7 defaults (io_uring)
        self.ostype_hint: str | None = None
        self.q35 = False
        self.arch = "aarch64" if argv[0].endswith("qemu-system-aarch64") else "x86_64"
        self.ovmf = False
        self.kvm_off = False  # -cpu ...,kvm=off: cpu hidden=1 or GPU passthrough (PCI.pm)
        self.gpu_passthrough = False  # a hostpci with x-vga=1
        self.xvga_slots: set[int] = set()
        self.hv_vendor_id: str | None = None
        self.cpu_name: str | None = None
        self.cpu_opts: dict[str, str] = {}
        self.scsihw = "lsi"
        self.single_iothreads: dict[str, bool] = {}  # virtio-scsi-single controller -> iothread
        self.single_queues: dict[str, str] = {}
        self.vmid: int | None = None
        self.bd_files: dict[str, str] = {}
        self._index()
        self._read_vmid()

    # -- option access -----------------------------------------------------------------------

    # -- option access

    def all(self, name: str) -> list[str]:
        """Every value of option ``name``, in command-line order."""
        return [v for k, v in self.opts if k == name and v is not None]

    def one(self, name: str) -> str | None:
        vals = self.all(name)
        return vals[-1] if vals else None

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.opts)

    # -- main --------------------------------------------------------------------------------

    def _index(self) -> None:
        for k, v in self.opts:
            if v is None:
                continue
            if k == "-device":
                if v.lstrip().startswith("{"):
                    try:
                        jd = json.loads(v)
                    except ValueError:
                        self.missing.append(f"-device {v[:60]!r} is not valid JSON")
                        continue
                    drv = str(jd.pop("driver", ""))
                    self.devices.append((drv, {str(a): jstr(b) for a, b in jd.items()}))
                else:
                    head, d = kv(v)
                    self.devices.append((head or "", d))
            elif k == "-chardev":
                head, d = kv(v)
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
                    head, d = kv(v)
                    if "id" in d:
                        self.objects[d["id"]] = (head or "", dict(d))
        text = " ".join(self.argv)
        self.modern = bool(
            re.search(r"aio[=\":]+io_uring|free-page-reporting|rx_queue_size|-blockdev", text)
        )

    def _read_vmid(self) -> None:
        found: int | None = None
        idv = self.one("-id")
        if idv and is_uint(idv):
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
            self.missing.append("VM id not found (no -id/-pidfile); pass --vmid")
        self.vmid = found if found is not None else self.cfg.vmid

    def hotplug(self, what: str) -> None:
        """Add ``what`` to the ``hotplug:`` list (qemu-server default: network,disk,usb)."""
        cur = self.o.get("hotplug", "")
        items = [x for x in cur.split(",") if x]
        if what not in items:
            items.append(what)
        self.o["hotplug"] = ",".join(items)
