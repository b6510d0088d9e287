"""storage.cfg: map a disk path on the command line back to ``<storage>:<volume>``.

The inverse of ``PVE::Storage::path`` for the storage plugins in pve-storage (Dir/NFS/CIFS/
CephFS/GlusterFS ``images/<vmid>/<file>``, BTRFS ``images/<vmid>/<vol>/disk.raw``, LVM and
LVM-thin ``/dev/<vg>/<lv>``, ZFS pool ``/dev/zvol/<pool>/<vol>``, RBD ``rbd:<pool>/<img>``
or ``/dev/rbd-pve/<fsid>/<pool>/<img>`` with krbd, ZFS over iSCSI and iscsidirect
``iscsi://<portal>/<target>/<lun>``).  Only a storage.cfg entry names a storage: without one,
a path in a storage's layout is reported as not understood, never given a stock id such as
``local-lvm`` (that would be a guess).  A storage maps a path only to a volume name its
plugin's ``parse_volname`` takes and its ``path`` builds back (:mod:`.volnames`): a zfspool on
``rpool`` is no candidate for a zvol of ``rpool/data``, an lvm storage none for a ``base-``
volume, a dir storage none for a file PVE could not have named.

Paths are built as pve-storage builds them: ``Plugin.pm`` ``get_subdir`` returns
``"$path/$subdir"`` with the storage's ``path`` as written in storage.cfg, so a dir storage
whose path ends in ``/`` gives ``…/pve-storage//images/<vmid>/…`` on the command line; the
subdirectory is ``content-dirs`` or the stock ``$vtype_subdirs`` (``images``,
``template/iso``).  When several storages map the same path (two dir storages on
``/var/lib/vz``, an ``lvm`` and an ``lvmthin`` on one volume group), the storages' ``content``
decides: only one whose content includes ``images`` can hold a VM disk (``iso`` for an ISO).
A storage without a ``content`` line has its plugin's default content (``plugindata``'s second
``content`` entry, set by ``Plugin.pm`` ``parse_config``); content types a plugin cannot hold
are dropped as ``decode_value`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.qemu.argv import CmdlineError
from pverunbook.pve.qemu.volnames import (
    btrfs_top_raw_refusal,
    dir_image_refusal,
    iscsi_refusal,
    iso_refusal,
    lvm_refusal,
    rbd_refusal,
    zfspool_refusal,
)

DIR_TYPES = {"dir", "nfs", "cifs", "glusterfs", "cephfs", "btrfs"}

_ALL_FILE = frozenset({"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"})
# (content a plugin can hold, content it has when storage.cfg sets none): the two entries of
# each plugin's ``plugindata`` ``content`` in pve-storage (DirPlugin.pm, NFSPlugin.pm, ...;
# GlusterfsPlugin.pm as of its removal in 7669a99).
PLUGIN_CONTENT: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "dir": (_ALL_FILE | {"none"}, frozenset({"images", "rootdir"})),
    "btrfs": (_ALL_FILE | {"none"}, frozenset({"images", "rootdir"})),
    "nfs": (_ALL_FILE, frozenset({"images"})),
    "cifs": (_ALL_FILE, frozenset({"images"})),
    "glusterfs": (_ALL_FILE - {"rootdir"}, frozenset({"images"})),
    "cephfs": (frozenset({"vztmpl", "iso", "backup", "snippets", "import"}),
               frozenset({"backup"})),
    "lvm": (frozenset({"images", "rootdir"}), frozenset({"images"})),
    "lvmthin": (frozenset({"images", "rootdir"}), frozenset({"images", "rootdir"})),
    "rbd": (frozenset({"images", "rootdir"}), frozenset({"images"})),
    "zfspool": (frozenset({"images", "rootdir"}), frozenset({"images", "rootdir"})),
    "zfs": (frozenset({"images"}), frozenset({"images"})),
    "iscsi": (frozenset({"images", "none"}), frozenset({"images"})),
    "iscsidirect": (frozenset({"images", "none"}), frozenset({"images"})),
}
# Plugin.pm $vtype_subdirs: where each content type lives below a file storage's path.
VTYPE_SUBDIRS = {"images": "images", "rootdir": "private", "iso": "template/iso",
                 "vztmpl": "template/cache", "backup": "dump", "snippets": "snippets",
                 "import": "import"}


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
    content_line: str | None = None  # storage.cfg ``content`` as written (None: not set)
    content_dirs: dict[str, str] = field(default_factory=dict)

    @property
    def content(self) -> frozenset[str]:
        """The content types this storage may hold (Plugin.pm decode_value/parse_config)."""
        valid, default = PLUGIN_CONTENT.get(self.type, (_ALL_FILE, _ALL_FILE))
        if self.content_line is None:
            return default
        return frozenset(c.strip() for c in re.split(r"[,;\s]+", self.content_line)
                         if c.strip() in valid)

    def subdir(self, vtype: str) -> str:
        """Plugin.pm get_subdir: ``content-dirs`` or the stock subdirectory of ``vtype``."""
        return self.content_dirs.get(vtype, VTYPE_SUBDIRS[vtype]).strip("/")


@dataclass
class StorageMap:
    """Storages to resolve paths against, as read from a storage.cfg."""

    storages: list[Storage] = field(default_factory=list)

    def get(self, storeid: str) -> Storage | None:
        return next((s for s in self.storages if s.storeid == storeid), None)

    def iscsi_storage(self, path: str) -> tuple[Storage, str] | None:
        """The ZFS-over-iSCSI storage serving ``iscsi://portal/target/lun``, and the LUN.
        The storage is found from its ``portal`` and ``target`` in storage.cfg (ZFSPlugin.pm
        path()); the volume behind the LUN is known only to the target, so the caller must not
        invent it.  (An iscsidirect storage's volume is ``lun<N>`` itself: :meth:`holders`.)
        """
        m = re.fullmatch(r"iscsi://([^/]+)/([^/]+)/(\d+)", path)
        if not m:
            return None
        portal, target, lun = m.groups()
        for s in self.storages:
            if s.type != "zfs" or s.target != target or not s.portal:
                continue
            if s.portal == portal or s.portal.rsplit(":", 1)[0] == portal \
                    or portal.rsplit(":", 1)[0] == s.portal:
                return s, lun
        return None

    def resolve(self, path: str, vmid: int | None = None) -> tuple[str, str, Storage] | None:
        """Map a QEMU file/device path to ``(storeid, volname, storage)``; None when no storage
        holds it or when several could (see :meth:`holders`)."""
        found, _others = self.holders(path)
        return found[0] if len(found) == 1 else None

    def holders(self, path: str) -> tuple[list[tuple[str, str, Storage]],
                                          list[tuple[str, str, Storage]]]:
        """The storages that may hold ``path``, and those that map it but may not.

        Of the storages that map the path (:meth:`candidates`), those whose ``content`` takes
        the volume's type (``images`` for a disk, ``iso`` for an ISO image) are kept — the
        second list names the others.  When none of them takes it, all are kept: a lone
        storage still holds the volume (PVE::Storage::path does not check ``content``; only
        allocating a disk does, API2/Qemu.pm ``check_storage_access``), and between several
        the path does not tell.
        """
        cands = self.candidates_typed(path)
        fit = [(sid, vol, st) for sid, vol, st, vtype in cands if vtype in st.content]
        if not fit:
            return [(sid, vol, st) for sid, vol, st, _vt in cands], []
        unfit = [(sid, vol, st) for sid, vol, st, vtype in cands if vtype not in st.content]
        return fit, unfit

    def candidates(self, path: str) -> list[tuple[str, str, Storage]]:
        """Every storage that maps ``path``, as ``(storeid, volname, storage)``."""
        return [(sid, vol, st) for sid, vol, st, _vt in self.candidates_typed(path)]

    def candidates_typed(self, path: str) -> list[tuple[str, str, Storage, str]]:
        """Every storage that maps ``path``, as ``(storeid, volname, storage, vtype)``.

        More than one happens on real nodes: an ``lvm`` and an ``lvmthin`` storage on the same
        volume group give the same ``/dev/<vg>/<lv>`` path (PVE::Storage::LVMPlugin and
        LvmThinPlugin ``path``), two dir storages may share a path (``local`` on
        ``/var/lib/vz`` and a second one for ISOs or backups); :meth:`holders` narrows them by
        ``content``.  For RBD the path's form decides: ``rbd:`` is librbd, ``/dev/rbd-pve/``
        is krbd.  A storage whose layout holds the path but whose plugin does not take the
        volume name (:mod:`.volnames`, e.g. a zfspool on ``rpool`` for a zvol of
        ``rpool/data``) is no candidate: see :meth:`refusals`.
        """
        return [(sid, vol, st, vtype) for sid, vol, st, vtype, why in self._layouts(path)
                if why is None]

    def refusals(self, path: str) -> list[tuple[str, str, Storage, str]]:
        """The storages whose layout holds ``path`` but whose plugin refuses the volume name,
        as ``(storeid, volname, storage, rule)``: PVE cannot have built the path from a volume
        id of theirs, so a config naming the disk named the path itself."""
        return [(sid, vol, st, why) for sid, vol, st, _vt, why in self._layouts(path)
                if why is not None]

    def _layouts(self, path: str) -> list[tuple[str, str, Storage, str, str | None]]:
        """``(storeid, volname, storage, vtype, refusal)`` of each storage whose layout holds
        ``path``; ``refusal`` is None when the plugin takes the name (:mod:`.volnames`)."""
        rbd = _parse_rbd_path(path)
        if rbd is not None:
            pool, ns, image, is_krbd = rbd
            cands = [s for s in self.storages if s.type == "rbd" and (s.pool or "rbd") == pool
                     and (s.namespace or None) == ns]
            same_kind = [s for s in cands if s.krbd == is_krbd]
            return [(s.storeid, image, s, "images", rbd_refusal(image))
                    for s in (same_kind or cands)]
        m = re.fullmatch(r"iscsi://([^/]+)/([^/]+)/(\d+)", path)
        if m:
            # ISCSIDirectPlugin.pm path: iscsi://$portal/$target/$lun of volume `lun<N>`, the
            # portal and target as storage.cfg has them.
            return [(s.storeid, f"lun{m.group(3)}", s, "images", None) for s in self.storages
                    if s.type == "iscsidirect" and (s.portal, s.target) == m.group(1, 2)]
        out: list[tuple[str, str, Storage, str, str | None]] = []
        for s in self.storages:
            found = _resolve_in(s, path)
            if found is not None:
                out.append((s.storeid, found[0], s, found[1], found[2]))
        return out


def _squash(path: str) -> str:
    """``path`` with runs of ``/`` made one (the kernel resolves ``a//b`` as ``a/b``)."""
    return re.sub(r"/{2,}", "/", path)


def _resolve_in(s: Storage, path: str) -> tuple[str, str, str | None] | None:
    """``(volname, vtype, refusal)`` of ``path`` on storage ``s``, or None if ``s``'s layout
    does not hold it; ``refusal`` names the plugin rule the volume name breaks (None: taken).

    File storages: Plugin.pm filesystem_path builds ``"$path/$subdir/$vmid/$name"`` from the
    storage.cfg ``path`` verbatim, so a path ending in ``/`` doubles the slash; both sides are
    compared with runs of ``/`` squashed.  Only the exact ``images/<vmid>/<file>`` (or btrfs
    ``images/<vmid>/<vol>/disk.raw``) and ``template/iso/<file>`` shapes are matched, so a
    dir storage nested in another's path is never offered ``sub/images/...``.
    """
    if s.type in DIR_TYPES:
        base = _squash((s.path or f"/mnt/pve/{s.storeid}") + "/")
        p = _squash(path)
        if not p.startswith(base):
            return None
        rest = p[len(base):]
        img = re.escape(s.subdir("images"))
        m = re.fullmatch(rf"{img}/(\d+)/([^/]+)", rest, re.ASCII)
        if m:
            why = (btrfs_top_raw_refusal if s.type == "btrfs" else dir_image_refusal)(m[2])
            return f"{m.group(1)}/{m.group(2)}", "images", why
        m = re.fullmatch(rf"{img}/(\d+)/([^/]+)/disk\.raw", rest, re.ASCII)
        if m and s.type == "btrfs":
            return f"{m.group(1)}/{m.group(2)}.raw", "images", dir_image_refusal(f"{m[2]}.raw")
        m = re.fullmatch(rf"{re.escape(s.subdir('iso'))}/([^/]+)", rest)
        if m:
            return f"iso/{m.group(1)}", "iso", iso_refusal(m.group(1))
        return None
    found = _resolve_block(s, path)
    return (found[0], "images", found[1]) if found is not None else None


def _dm_split(name: str) -> tuple[str, str] | None:
    """``(vg, lv)`` of a device-mapper name: LVM doubles each ``-`` inside the VG and LV names
    and joins them with one ``-`` (``pve--data-vm--100--disk--0`` is VG ``pve-data``, LV
    ``vm-100-disk-0``).  An LV name never starts with ``-`` (Plugin.pm parse_lvm_name), so in
    a run of three dashes the joining one is the last (the greedy first group)."""
    m = re.fullmatch(r"((?:[^-]|--)+)-((?:[^-]|--)+)", name)
    if not m:
        return None
    return m.group(1).replace("--", "-"), m.group(2).replace("--", "-")


def _resolve_block(s: Storage, path: str) -> tuple[str, str | None] | None:
    """``(volname, refusal)`` of ``path`` on block storage ``s`` (see :func:`_resolve_in`).

    LVM/LVM-thin: ``/dev/<vg>/<lv>`` (LVMPlugin.pm/LvmThinPlugin.pm filesystem_path) or its
    ``/dev/mapper/`` alias; zfspool: ``/dev/zvol/<pool>/<name>`` (ZFSPoolPlugin.pm path);
    iscsi: ``/dev/disk/by-id/<name>`` (ISCSIPlugin.pm filesystem_path; iscsidirect volumes are
    ``iscsi://`` URLs, never by-id devices).
    """
    if s.type in ("lvm", "lvmthin") and s.vgname:
        lv: str | None = None
        if path.startswith(f"/dev/{s.vgname}/"):
            lv = path[len(f"/dev/{s.vgname}/"):]
        elif path.startswith("/dev/mapper/"):
            split = _dm_split(path[len("/dev/mapper/"):])
            if split is not None and split[0] == s.vgname:
                lv = split[1]
        if lv is None or not lv:
            return None
        return lv, lvm_refusal(lv, thin=s.type == "lvmthin")
    if s.type == "zfspool" and s.pool:
        prefix = f"/dev/zvol/{s.pool}/"
        if path.startswith(prefix) and len(path) > len(prefix):
            name = path[len(prefix):]
            return name, zfspool_refusal(name)
        return None
    if s.type == "iscsi" and s.target:
        m = re.fullmatch(r"/dev/disk/by-id/(.+)", path)
        if m:
            return f"0.0.0.{m.group(1)}", iscsi_refusal(m.group(1))
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
        elif key == "content":
            cur.content_line = value
        elif key == "content-dirs":
            for item in re.split(r"[,;\s]+", value):
                vtype, eq, sub = item.partition("=")
                if eq and vtype in VTYPE_SUBDIRS:
                    cur.content_dirs[vtype] = sub
    # Plugin.pm parse_config: "make sure we have a reasonable 'local:' storage" — a missing
    # `local`, or one that is not a dir on /var/lib/vz, is replaced by the stock one.  Not when
    # another storage of the copy already covers /var/lib/vz: then the copy names the storage
    # its disks were written with, and a stock `local` beside it would only make them
    # ambiguous (both give the same path, so either volume id starts the VM the same way).
    local = next((s for s in storages if s.storeid == "local"), None)
    covered = any(s.storeid != "local" and s.type in DIR_TYPES and s.path is not None
                  and _squash(s.path + "/") == "/var/lib/vz/" for s in storages)
    if (local is None and not covered) or (local is not None and (
            local.type != "dir" or (local.path or "/var/lib/vz") != "/var/lib/vz")):
        storages = [s for s in storages if s.storeid != "local"]
        storages.insert(0, Storage(storeid="local", type="dir", path="/var/lib/vz",
                                   content_line="backup,images,iso,rootdir,snippets,vztmpl"))
    for s in storages:
        if s.type == "dir" and s.path is None and s.storeid == "local":
            s.path = "/var/lib/vz"
        if s.type in ("nfs", "cifs", "glusterfs", "cephfs") and s.path is None:
            s.path = f"/mnt/pve/{s.storeid}"
        if s.type == "rbd" and s.pool is None:
            s.pool = "rbd"
    return StorageMap(storages=storages)

