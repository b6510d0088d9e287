"""Disks: -drive and -blockdev backends, their controllers and options.

Rules derived from qemu-server's ``PVE/QemuServer/Drive.pm`` (``print_drive_commandline_full``:
configured options — ``cache``, ``aio``, ``discard``, ``rerror``/``werror`` — are written
before ``format=``, qemu-server's defaults after it, so a ``aio=`` before ``format=`` was set
in the config; ``storage_allows_io_uring_default``: no io_uring by default on LVM, CIFS and
krbd without O_DIRECT; ``drive_uses_cache_direct``: no ``cache=none`` on btrfs and CD-ROMs;
``detect-zeroes`` from ``discard``/``detect_zeroes``; throttling in bytes),
``PVE/QemuServer/Blockdev.pm`` (the PVE 9 ``-blockdev`` JSON tree: throttle -> format ->
protocol node), and ``PVE/QemuServer.pm`` (``scsihw_infos``: ``scsihw0`` vs one
``virtioscsiN`` controller per disk for ``virtio-scsi-single`` with ``iothread``/
``num_queues``).  Paths are mapped back to volumes by :mod:`.storage`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pverunbook.pve.digits import is_uint
from pverunbook.pve.qemu.devices import SCSIHW
from pverunbook.pve.qemu.optstr import fmt_num, fmt_size, kv, prop
from pverunbook.pve.qemu.state import Drive, Recovery
from pverunbook.pve.qemu.storage import DIR_TYPES, Storage

_DISK_RE = re.compile(r"(ide|sata|scsi|virtio)(\d+)$|(efidisk|tpmstate)0$")
_THROTTLE = [("", "-total"), ("_rd", "-read"), ("_wr", "-write")]

def backends(r: Recovery) -> None:
    """Parse ``-drive``/``-blockdev`` backends and the SCSI controller type (Drive.pm)."""
    for v in r.all("-drive"):
        _h, d = kv(v)
        drv = Drive(id=d.get("id", ""))
        drv.file = d.get("file")
        drv.fmt = d.get("format")
        drv.media = d.get("media")
        drv.cache = d.get("cache")
        drv.aio = d.get("aio")
        keys = list(d)
        if "aio" in keys and "format" in keys:
            # Drive.pm print_drive_commandline_full writes a configured aio= among the
            # options before format=, its own default after format= and cache=none
            drv.aio_explicit = keys.index("aio") < keys.index("format")
        drv.discard = d.get("discard") in ("on", "unmap")
        drv.detect_zeroes = d.get("detect-zeroes")
        drv.readonly = d.get("readonly") == "on"
        drv.serial = d.get("serial")
        drv.werror = d.get("werror")
        drv.rerror = d.get("rerror")
        if is_uint(d.get("size", "")):
            drv.size = int(d["size"])
        for key, val in d.items():
            if key.startswith("throttling."):
                drv.throttle[key[len("throttling."):]] = val
        if d.get("if") == "pflash":
            r.pflash[int(d.get("unit", "0"))] = drv
        elif drv.id:
            r.drives[drv.id] = drv
    blockdevs(r)
    # controllers
    scsihw: str | None = None
    single_iothreads = r.single_iothreads
    single_queues = r.single_queues
    for drv_name, dd in r.devices:
        cid = dd.get("id", "")
        if cid == "scsihw0" and drv_name in SCSIHW:
            scsihw = SCSIHW[drv_name]
        m = re.fullmatch(r"virtioscsi(\d+)", cid)
        if m and drv_name == "virtio-scsi-pci":
            scsihw = "virtio-scsi-single"
            single_iothreads[m.group(1)] = "iothread" in dd
            if "num_queues" in dd:
                single_queues[m.group(1)] = dd["num_queues"]
    if scsihw and scsihw != "lsi":
        r.o["scsihw"] = scsihw
    r.scsihw = scsihw or "lsi"


def disks(r: Recovery) -> None:
    """Each disk device (``-device ...,drive=``) with its backend -> ``<bus><n>:``."""
    single_iothreads = r.single_iothreads
    single_queues = r.single_queues
    for drv_name, dd in r.devices:
        did = dd.get("id", "")
        m = _DISK_RE.fullmatch(did)
        if not m or drv_name in ("vfio-pci",):
            continue
        backend = dd.get("drive")
        drive = r.drives.get(backend or "") if backend else None
        if drive is None and backend:
            drive = r.drives.get(backend.replace("drive-", ""))
        if drv_name in ("ide-cd", "scsi-cd") and drive is None:
            drive = Drive(id=f"drive-{did}", media="cdrom")
        if drive is None:
            r.missing.append(f"{did}: device {drv_name} has no -drive/-blockdev backend on the "
                             "command line")
            continue
        if drv_name in ("ide-cd", "scsi-cd"):
            drive.media = "cdrom"
        dopts: dict[str, str] = {}
        if drv_name.startswith("virtio-blk") and "iothread" in dd:
            dopts["iothread"] = "1"
        if did.startswith("scsi") and r.scsihw == "virtio-scsi-single":
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
        if "bootindex" in dd and is_uint(dd["bootindex"]):
            r.bootindex[did] = int(dd["bootindex"])
        emit_disk(r, did, drive, dd, dopts)


def blockdevs(r: Recovery) -> None:
    r.bd_files = {}
    for v in r.all("-blockdev"):
        try:
            top = json.loads(v)
        except ValueError:
            r.missing.append(f"-blockdev {v[:60]!r} is not valid JSON")
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
        drv = Drive(id=name, blockdev=True)
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
        if tg and tg in r.objects:
            limits = r.objects[tg][1].get("limits") or {}
            for k, val in limits.items():
                drv.throttle[str(k)] = str(val)
        if name == "pflash0" or (drv.file and "OVMF_CODE" in drv.file):
            r.bd_files[name] = drv.file or ""
            continue
        r.drives[name] = drv


def emit_disk(r: Recovery, slot: str, d: Drive, dev: dict[str, str], extra: dict[str, str],
               efi: bool = False) -> None:
    opts: dict[str, str] = dict(extra)
    wc = opts.pop("_write_cache", None)
    is_cd = d.media == "cdrom"
    vol: str
    store: Storage | None = None
    if d.file is None or d.file == "":
        if not is_cd:
            r.missing.append(f"{slot}: backend not understood ({d.unresolved}); set the "
                              "volume by hand")
            return
        vol = "none"
    elif d.file == "/dev/cdrom" and is_cd:
        vol = "cdrom"
    else:
        cands, unfit = r.storage.holders(d.file)
        res = cands[0] if len(cands) == 1 else None
        if len(cands) > 1:
            names = ", ".join(f"'{sid}' ({st.type})" for sid, _v, st in cands)
            vtype = "iso" if is_cd else "images"
            r.missing.append(
                f"{slot}: {d.file} is a path of {len(cands)} storages in storage.cfg ({names}), "
                f"and the content of each allows {vtype}; which one holds the volume is not on "
                "the command line: `lvs` (a thin volume names its pool) or `pvesm list "
                f"<storage>` tells; write {slot}: <storage>:<volume> by hand")
            return
        if res is not None and unfit:
            kind = "an ISO image" if is_cd else "a VM disk"
            r.notes.append(
                f"{slot}: {d.file} is also a path of "
                + ", ".join(f"'{sid}' (content {','.join(sorted(st.content)) or 'none'})"
                            for sid, _v, st in unfit)
                + f", which may not hold {kind}; '{res[0]}' may (storage.cfg content)")
        elif res is not None:
            vtype = "iso" if res[1].startswith("iso/") else "images"
            if vtype not in res[2].content:
                r.warn.append(
                    f"{slot}: storage '{res[0]}' holds {d.file} but its content "
                    f"({','.join(sorted(res[2].content)) or 'none'}) lacks {vtype}: qemu-server "
                    "still starts it, but new disks cannot be made there and the web UI does "
                    f"not list it; add {vtype} to its content")
        if res is None:
            vol = d.file
            iscsi = r.storage.iscsi_storage(d.file)
            if iscsi is not None:
                st, lun = iscsi
                r.missing.append(
                    f"{slot}: {d.file} is LUN {lun} of {st.type} storage '{st.storeid}'"
                    + (f" (pool {st.pool})" if st.pool else "")
                    + f"; the volume behind the LUN is known only to the target: find it with "
                    f"`pvesm list {st.storeid}` or the target's LUN map and write {slot}: "
                    f"{st.storeid}:<volume>")
                return
            elif d.file.startswith("iscsi://"):
                r.missing.append(f"{slot}: {d.file} is an iSCSI LUN but no ZFS-over-iSCSI or "
                                 "iscsidirect storage in storage.cfg has that portal and "
                                 "target; pass --storage-cfg")
                return
            elif refused := r.storage.refusals(d.file):
                _refused(r, slot, d.file, refused)
                if not d.file.startswith("/"):
                    return
            elif _storage_volume(d.file):
                # A path in a storage's layout: its storage id is in storage.cfg, never on the
                # command line; writing the stock `local-lvm`/`local` would be a guess.
                where = ("no storage in the given storage.cfg holds it" if r.storage_given
                         else "no storage.cfg was given")
                r.missing.append(
                    f"{slot}: {d.file} is a volume of a Proxmox storage, but {where}, and the "
                    "storage id is not on the command line; give a copy of the node's "
                    "/etc/pve/storage.cfg (vm-config --storage-cfg FILE) so the disk can be "
                    f"written as <storage>:<volume>")
                return
            else:
                # Not a storage layout: the config named the path itself (PVE::Storage::path
                # returns an absolute path as is), so the same path gives the same -drive.
                r.todos.append(f"{slot}: {d.file} is not on any storage; kept as the path the "
                               "config named (a passthrough disk or file)")
        else:
            sid, volname, store = res
            vol = f"{sid}:{volname}"
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
        r.warn.append(f"{slot}: no cache= on the command line, which qemu-server only "
                         "does for storages without O_DIRECT (e.g. btrfs); check cache=")
    if efi:
        opts.pop("cache", None)
    # aio: Drive.pm print_drive_commandline_full writes a configured aio= before format=;
    # otherwise its default after it (io_uring where the storage allows, else native with
    # O_DIRECT, threads without).  -blockdev JSON has no order, so the default is worked out.
    if d.aio and not efi:
        if d.aio_explicit is not None:
            if d.aio_explicit:
                opts["aio"] = d.aio
        else:
            if cache is not None and not d.blockdev:
                direct = cache in ("none", "directsync", "off")
            elif cache is not None:
                direct = cache in ("none", "directsync")
            else:
                direct = not is_cd and not btrfs
            if d.aio != aio_default(r, store, direct):
                opts["aio"] = d.aio
    if d.discard and not is_cd:
        opts["discard"] = "on"
    if not is_cd and not efi and d.file and d.detect_zeroes in (None, "off") \
            and not d.blockdev:
        opts["detect_zeroes"] = "0"
    if d.readonly and not is_cd and not efi and r.o.get("template") != "1":
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
    if d.file and d.file in r.disk_sizes:
        size = r.disk_sizes[d.file]
    elif efi and d.size and (store is None or store.type in DIR_TYPES):
        # OVMF.pm: the pflash drive's size= is the OVMF vars size; a file storage's efidisk
        # is allocated at exactly that size, but a block storage rounds the volume up (an LV
        # to its extent size), so there it says nothing about the volume's size=
        size = d.size
    if size is not None:
        opts["size"] = fmt_size(size)
    elif not is_cd and d.file:
        r.todos.append(f"{slot}: size= not on the command line (informational only; "
                          f"`blockdev --getsize64 {d.file}` or `qm disk rescan` fills it)")
    r.disks[slot] = vol
    r.o[slot] = prop(vol, opts)


def _refused(r: Recovery, slot: str, path: str,
             refused: list[tuple[str, str, Storage, str]]) -> None:
    """Report a path in the layout of storages whose plugins refuse its volume name.

    PVE::Storage::path dies on a volume name the plugin's parse_volname refuses, so no volume
    id of theirs gave this path.  A file or device path is then what the config named itself
    (PVE::Storage::path returns an absolute path as is): kept, with the rule that rules the
    storages out.  An ``rbd:`` URL cannot be written as a path in a config: it is missing.
    """
    why = "; ".join(f"'{sid}' ({st.type}) would hold it as '{vol}', refused by {rule}"
                    for sid, vol, st, rule in refused)
    if path.startswith("/"):
        r.todos.append(f"{slot}: {path} is no volume of any storage: {why}; kept as the path "
                       "the config named")
    else:
        r.missing.append(f"{slot}: {path} is no volume of any storage: {why}; it is not a "
                         "disk Proxmox made there: find which VM disk it is (`rbd ls`, "
                         f"`pvesm list <storage>`) and write {slot} by hand")


_VOLUME_LAYOUT = re.compile(
    r"/images/\d+/|/template/iso/|(?:^|/)(?:vm|base)-\d+-(?:disk|cloudinit|state)|^/dev/zvol/|"
    r"^rbd:|^/dev/rbd|^iscsi://")


def _storage_volume(path: str) -> bool:
    """Whether ``path`` has the layout of a volume that a storage plugin manages (the
    ``PVE::Storage::path`` forms of Dir/NFS/CIFS ``images/<vmid>/``, ISO ``template/iso/``,
    LVM/ZFS/RBD ``vm-<vmid>-disk-<n>`` names, ``/dev/zvol``, ``rbd:``, ``iscsi://``)."""
    return bool(_VOLUME_LAYOUT.search(path))


def aio_default(r: Recovery, store: Storage | None, direct: bool) -> str:
    """qemu-server's aio= when the config sets none (Drive.pm print_drive_commandline_full and
    storage_allows_io_uring_default): io_uring if QEMU has it, except on LVM and CIFS storages
    and on krbd without O_DIRECT; then native with O_DIRECT (cache=none/directsync), threads
    without."""
    io_uring_ok = not (store is not None and (
        store.type in ("lvm", "cifs") or (store.type == "rbd" and store.krbd and not direct)))
    if r.modern and io_uring_ok:
        return "io_uring"
    return "native" if direct else "threads"


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

def _cache_mode(d: Drive, write_cache: str | None) -> str | None:
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
    if store.type in DIR_TYPES:
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
            out[key] = fmt_num(num / (1 << 20)) if is_bytes else fmt_num(num)
    return out
