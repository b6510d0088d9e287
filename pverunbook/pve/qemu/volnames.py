"""Which volume names each pve-storage plugin takes, and whether its ``path`` builds the path.

A disk path on the command line maps back to ``<storage>:<volume>`` only when that storage
could have produced it: the plugin's ``parse_volname`` must accept the volume name (a volume id
it refuses cannot start the VM: ``PVE::Storage::path`` dies) and the plugin's ``path`` must
build that very path from it.  A storage whose layout merely contains the path is no
candidate: a zfspool storage on ``rpool`` is never offered ``data/vm-100-disk-0`` for
``/dev/zvol/rpool/data/vm-100-disk-0`` — that disk is ``<rpool/data storage>:vm-100-disk-0``.

The rules are pve-storage's (``src/PVE/Storage/<Plugin>.pm``, the same regexes since PVE 7);
each function names its source.  Each returns None when the plugin takes the name, else the
rule it breaks, worded for the operator.  Regexes use ASCII classes: volume names in
storage.cfg and on the command line are bytes to Perl.
"""

from __future__ import annotations

import re

# ZFSPoolPlugin.pm parse_volname (ZFSPlugin.pm, ZFS over iSCSI, inherits it).
_ZFS_VOLNAME = re.compile(r"(((base|basevol)-(\d+)-\S+)/)?((base|basevol|vm|subvol)-(\d+)-\S+)",
                          re.ASCII)
# Plugin.pm parse_lvm_name, then LVMPlugin.pm / LvmThinPlugin.pm parse_volname.
_LVM_NAME = re.compile(r"[a-z0-9][a-z0-9\-_.]*[a-z0-9]", re.ASCII | re.IGNORECASE)
_LVM_VOLNAME = re.compile(r"vm-(\d+)-\S+", re.ASCII)
_LVMTHIN_VOLNAME = re.compile(r"(vm|base)-(\d+)-\S+", re.ASCII)
# RBDPlugin.pm parse_volname.
_RBD_VOLNAME = re.compile(r"((base-(\d+)-\S+)/)?((base)?(vm)?-(\d+)-\S+)", re.ASCII)
# Plugin.pm parse_name_dir (the images file name of dir/nfs/cifs/glusterfs/btrfs storages).
_DIR_NAME = re.compile(r"(base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol)", re.ASCII)
# Plugin.pm parse_volname `iso/` with Storage.pm $ISO_EXT_RE_0.
_ISO_NAME = re.compile(r"[^/]+\.(?:iso|img)", re.ASCII | re.IGNORECASE)
# ISCSIPlugin.pm parse_volname: `<channel>.<id>.<lun>.<name>`, the name being /dev/disk/by-id's.
_ISCSI_NAME = re.compile(r"[^/\s]+", re.ASCII)


def zfspool_refusal(name: str) -> str | None:
    """``name`` below ``/dev/zvol/<pool>/`` as a zfspool volume.

    ZFSPoolPlugin.pm ``parse_volname`` takes ``[base-<vmid>-…/](base|basevol|vm|subvol)-<vmid>-…``
    and ``path`` builds ``/dev/zvol/<pool>/<name>`` from the last part alone, and only for
    ``vm-``/``base-`` names (``subvol-``/``basevol-`` live at the mountpoint); so the name
    right below the pool must itself be a ``vm-``/``base-`` name (``zfs_parse_zvol_list``
    lists the same: a dataset directly below the pool named ``(vm|base|subvol|basevol)-<vmid>-…``).
    """
    m = _ZFS_VOLNAME.fullmatch(name)
    if m and m.group(1) is None and m.group(6) in ("vm", "base"):
        return None
    return ("ZFSPoolPlugin.pm parse_volname/path: a zvol volume is `vm-<vmid>-…` or "
            "`base-<vmid>-…` right below the storage's pool")


def lvm_refusal(name: str, thin: bool) -> str | None:
    """``name`` as the LV of an ``lvm`` (``thin`` False) or ``lvmthin`` storage.

    Plugin.pm ``parse_lvm_name`` (``[a-z0-9][a-z0-9-_.]*[a-z0-9]``, so no ``/``), then
    LVMPlugin.pm ``parse_volname`` (``vm-<vmid>-…``) or LvmThinPlugin.pm ``parse_volname``
    (``vm-``/``base-<vmid>-…``); both ``filesystem_path`` build ``/dev/<vg>/<name>``.
    """
    rx = _LVMTHIN_VOLNAME if thin else _LVM_VOLNAME
    if _LVM_NAME.fullmatch(name) and rx.fullmatch(name):
        return None
    if thin:
        return "LvmThinPlugin.pm parse_volname: a thin volume is `vm-<vmid>-…` or `base-<vmid>-…`"
    return "LVMPlugin.pm parse_volname: an LVM volume is `vm-<vmid>-…`"


def rbd_refusal(image: str) -> str | None:
    """``image`` (no ``/``: pool and namespace are split off) as an rbd volume.

    RBDPlugin.pm ``parse_volname`` takes ``[base-<vmid>-…/](base)?(vm)?-<vmid>-…``; ``path``
    (``get_rbd_path``, ``get_rbd_dev_path``) builds ``<pool>[/<namespace>]/<name>`` from the
    last part alone.
    """
    m = _RBD_VOLNAME.fullmatch(image)
    if m and m.group(1) is None:
        return None
    return "RBDPlugin.pm parse_volname: an rbd volume is `vm-<vmid>-…` or `base-<vmid>-…`"


def dir_image_refusal(name: str) -> str | None:
    """``name``, the file in ``images/<vmid>/`` of a dir/nfs/cifs/glusterfs/btrfs storage.

    Plugin.pm ``parse_volname`` (``<vmid>/<name>``) hands ``name`` to ``parse_name_dir``:
    ``(base-)?[^/\\s]+.(raw|qcow2|vmdk|subvol)``.  pve-storage a477189 (PVE 9) also refuses
    ``snap-*.qcow2`` there (the files of snapshot-as-volume-chain); PVE 7/8 take them, and the
    path does not say the release, so they are taken.
    """
    if _DIR_NAME.fullmatch(name):
        return None
    return ("Plugin.pm parse_name_dir: a disk file is `<name>.raw`, `.qcow2`, `.vmdk` or "
            "`.subvol` without spaces")


def btrfs_top_raw_refusal(name: str) -> str | None:
    """``name``, a file right in ``images/<vmid>/`` of a btrfs storage.

    BTRFSPlugin.pm ``filesystem_path`` keeps a raw volume ``<vmid>/<name>.raw`` as
    ``images/<vmid>/<name>/disk.raw`` (a subvolume per disk); only other formats are files
    right in ``images/<vmid>/``.
    """
    why = dir_image_refusal(name)
    if why is None and name.endswith(".raw"):
        return ("BTRFSPlugin.pm filesystem_path: a raw volume is `images/<vmid>/<name>/disk.raw`, "
                "never a .raw file in images/<vmid>/")
    return why


def iso_refusal(name: str) -> str | None:
    """``name`` in a file storage's ISO directory: Plugin.pm ``parse_volname`` ``iso/`` with
    Storage.pm ``$ISO_EXT_RE_0`` (``.iso`` or ``.img``, any case)."""
    if _ISO_NAME.fullmatch(name):
        return None
    return "Plugin.pm parse_volname: an ISO volume ends in .iso or .img"


def iscsi_refusal(name: str) -> str | None:
    """``name`` in ``/dev/disk/by-id/`` as an iscsi volume: ISCSIPlugin.pm ``parse_volname``
    (``<ch>.<id>.<lun>.<name>``, ``name`` without ``/`` or space) and ``filesystem_path``
    (``/dev/disk/by-id/<name>``)."""
    if _ISCSI_NAME.fullmatch(name):
        return None
    return "ISCSIPlugin.pm parse_volname: an iSCSI volume is one /dev/disk/by-id entry"
