"""storage.cfg: map a disk path on the command line back to ``<storage>:<volume>``.

The inverse of ``PVE::Storage::path`` for the storage plugins in pve-storage (Dir/NFS/CIFS/
CephFS/GlusterFS ``images/<vmid>/<file>``, BTRFS ``images/<vmid>/<vol>/disk.raw``, LVM and
LVM-thin ``/dev/<vg>/<lv>``, ZFS pool ``/dev/zvol/<pool>/<vol>``, RBD ``rbd:<pool>/<img>``
or ``/dev/rbd-pve/<fsid>/<pool>/<img>`` with krbd, ZFS over iSCSI and iscsidirect
``iscsi://<portal>/<target>/<lun>``).  Only a storage.cfg entry names a storage: without one,
a path in a storage's layout is reported as not understood, never given a stock id such as
``local-lvm`` (that would be a guess).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.qemu.argv import CmdlineError

DIR_TYPES = {"dir", "nfs", "cifs", "glusterfs", "cephfs", "btrfs"}


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
    """Storages to resolve paths against, as read from a storage.cfg."""

    storages: list[Storage] = field(default_factory=list)

    def get(self, storeid: str) -> Storage | None:
        return next((s for s in self.storages if s.storeid == storeid), None)

    def iscsi_storage(self, path: str) -> tuple[Storage, str] | None:
        """The ZFS-over-iSCSI/iscsidirect storage serving ``iscsi://portal/target/lun``, and
        the LUN.  The storage is found from its ``portal`` and ``target`` in storage.cfg
        (ZFSPlugin.pm/ISCSIDirectPlugin.pm path()); the volume behind the LUN is known only to
        the target, so the caller must not invent it.
        """
        m = re.fullmatch(r"iscsi://([^/]+)/([^/]+)/(\d+)", path)
        if not m:
            return None
        portal, target, lun = m.groups()
        for s in self.storages:
            if s.type not in ("zfs", "iscsidirect") or s.target != target or not s.portal:
                continue
            if s.portal == portal or s.portal.rsplit(":", 1)[0] == portal \
                    or portal.rsplit(":", 1)[0] == s.portal:
                return s, lun
        return None

    def resolve(self, path: str, vmid: int | None = None) -> tuple[str, str, Storage] | None:
        """Map a QEMU file/device path to ``(storeid, volname, storage)``; None when no storage
        holds it or when several could (see :meth:`candidates`)."""
        found = self.candidates(path)
        return found[0] if len(found) == 1 else None

    def candidates(self, path: str) -> list[tuple[str, str, Storage]]:
        """Every storage that maps ``path``, as ``(storeid, volname, storage)``.

        More than one happens on real nodes: an ``lvm`` and an ``lvmthin`` storage on the same
        volume group give the same ``/dev/<vg>/<lv>`` path (PVE::Storage::LVMPlugin and
        LvmThinPlugin ``path``), so the path alone does not say which storage holds the
        volume.  For RBD the path's form does: ``rbd:`` is librbd, ``/dev/rbd-pve/`` is krbd.
        """
        rbd = _parse_rbd_path(path)
        if rbd is not None:
            pool, ns, image, is_krbd = rbd
            cands = [s for s in self.storages if s.type == "rbd" and (s.pool or "rbd") == pool
                     and (s.namespace or None) == ns]
            same_kind = [s for s in cands if s.krbd == is_krbd]
            return [(s.storeid, image, s) for s in (same_kind or cands)]
        out: list[tuple[str, str, Storage]] = []
        for s in self.storages:
            vol = _resolve_in(s, path)
            if vol is not None:
                out.append((s.storeid, vol, s))
        return out


def _resolve_in(s: Storage, path: str) -> str | None:
    if s.type in DIR_TYPES:
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
    return StorageMap(storages=storages)

