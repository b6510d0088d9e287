"""A disk path maps to ``<storage>:<volume>`` only for a volume name the storage's plugin takes.

Each pve-storage plugin's ``parse_volname`` accepts a fixed form of volume name, and its
``path`` builds the disk path from it; a storage whose layout merely contains the path (a
zfspool on the parent pool, an lvm storage on a VG whose device-mapper name prefixes another's,
an iscsidirect storage for a ``/dev/disk/by-id`` device) cannot address the disk, so it is no
candidate — else the disk comes out ambiguous or on a storage that refuses it.  Each test below
names the plugin rule it checks (pve-storage ``src/PVE/Storage/<Plugin>.pm``).
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.qemu import parse_storage_cfg, recover_config

# Constructed: the stock ZFS install's `local-zfs` on rpool/data, and a second zfspool storage
# on the parent pool rpool (both may hold images).
ZFS_NESTED_CFG = ("zfspool: local-zfs\n\tpool rpool/data\n\tcontent images,rootdir\n\n"
                  "zfspool: rpool-all\n\tpool rpool\n\tcontent images,rootdir\n")


def _argv(path: str, slot: str = "scsi0") -> list[str]:
    """A minimal PVE 7 kvm argv with one disk on ``path``."""
    return ["/usr/bin/kvm", "-id", "100", "-drive",
            f"file={path},if=none,id=drive-{slot},format=raw,cache=none,aio=io_uring",
            "-device", f"scsi-hd,drive=drive-{slot},id={slot}", "-machine", "type=pc"]


def _vols(cfg_text: str, path: str) -> list[tuple[str, str]]:
    return [(sid, vol) for sid, vol, _st in parse_storage_cfg(cfg_text).candidates(path)]


# --- ZFSPoolPlugin.pm parse_volname / path ------------------------------------------------------


def test_zvol_below_a_nested_pool_belongs_to_the_inner_storage_only() -> None:
    # parse_volname takes `(base|basevol|vm|subvol)-<vmid>-...` (after an optional
    # `base-.../`): `data/vm-100-disk-0` is no volume of the rpool storage.
    path = "/dev/zvol/rpool/data/vm-100-disk-0"
    assert _vols(ZFS_NESTED_CFG, path) == [("local-zfs", "vm-100-disk-0")]
    cfg = recover_config(_argv(path), storage=parse_storage_cfg(ZFS_NESTED_CFG))
    assert cfg.options["scsi0"].split(",")[0] == "local-zfs:vm-100-disk-0"
    assert cfg.complete, cfg.missing
    # a zvol right on rpool is the parent storage's
    assert _vols(ZFS_NESTED_CFG, "/dev/zvol/rpool/vm-100-disk-1") == [
        ("rpool-all", "vm-100-disk-1")]


def test_zvol_whose_name_no_zfspool_takes_is_the_path_the_config_named() -> None:
    # `/dev/zvol/rpool/data/scratch`: neither storage's parse_volname takes it, so a config can
    # only have named the path itself (PVE::Storage::path returns an absolute path as is).
    path = "/dev/zvol/rpool/data/scratch"
    assert _vols(ZFS_NESTED_CFG, path) == []
    cfg = recover_config(_argv(path), storage=parse_storage_cfg(ZFS_NESTED_CFG))
    assert cfg.options["scsi0"].split(",")[0] == path
    assert cfg.complete, cfg.missing
    assert any(t.startswith(f"scsi0: {path}") and "ZFSPoolPlugin.pm" in t for t in cfg.todos)


def test_zvol_path_that_zfspool_path_never_builds_is_refused() -> None:
    # path() puts subvol-/basevol- volumes at the mountpoint, never below /dev/zvol, and builds
    # a linked clone `base-100-disk-0/vm-101-disk-0` as /dev/zvol/<pool>/vm-101-disk-0.
    assert _vols(ZFS_NESTED_CFG, "/dev/zvol/rpool/data/subvol-100-disk-0") == []
    cfg = ("zfspool: outer\n\tpool tank\n\n"
           "zfspool: inner\n\tpool tank/base-100-disk-0\n")
    assert _vols(cfg, "/dev/zvol/tank/base-100-disk-0/vm-101-disk-0") == [
        ("inner", "vm-101-disk-0")]


# --- LVMPlugin.pm / LvmThinPlugin.pm parse_volname ----------------------------------------------

LVM_PAIR_CFG = ("lvm: thick\n\tvgname pve\n\tcontent images\n\n"
                "lvmthin: thin\n\tvgname pve\n\tthinpool data\n\tcontent images\n")


def test_lvm_base_volume_is_only_the_thin_storages() -> None:
    # LVMPlugin takes `vm-<vmid>-...` only; LvmThinPlugin `vm-` and `base-` (templates).
    assert _vols(LVM_PAIR_CFG, "/dev/pve/base-100-disk-0") == [("thin", "base-100-disk-0")]
    assert [s for s, _v in _vols(LVM_PAIR_CFG, "/dev/pve/vm-100-disk-0")] == ["thick", "thin"]


def test_lv_that_no_lvm_plugin_takes_is_the_path_the_config_named() -> None:
    # `/dev/pve/swap` is no volume of either (parse_volname dies): a config named the path.
    assert _vols(LVM_PAIR_CFG, "/dev/pve/swap") == []
    cfg = recover_config(_argv("/dev/pve/swap"), storage=parse_storage_cfg(LVM_PAIR_CFG))
    assert cfg.options["scsi0"].split(",")[0] == "/dev/pve/swap" and cfg.complete


def test_device_mapper_name_splits_at_the_single_dash() -> None:
    # device-mapper names double each `-` inside the VG and LV names: pve--data-vm--100--disk--0
    # is VG `pve-data`, LV `vm-100-disk-0`, never VG `pve`, LV `-data-vm-100-disk-0`.
    cfg = "lvm: short\n\tvgname pve\n\nlvm: long\n\tvgname pve-data\n"
    assert _vols(cfg, "/dev/mapper/pve--data-vm--100--disk--0") == [("long", "vm-100-disk-0")]
    assert _vols(cfg, "/dev/mapper/pve-vm--100--disk--0") == [("short", "vm-100-disk-0")]


# --- RBDPlugin.pm parse_volname -----------------------------------------------------------------

RBD_CFG = ("rbd: ceph\n\tpool cpool\n\tcontent images\n\n"
           "rbd: ceph-ns\n\tpool cpool\n\tnamespace tenant\n\tcontent images\n")


def test_rbd_image_that_rbdplugin_refuses_is_no_volume() -> None:
    # parse_volname takes `(base)?(vm)?-<vmid>-...`: an image `backup-copy` is not PVE's.
    assert _vols(RBD_CFG, "rbd:cpool/backup-copy:conf=/etc/pve/ceph.conf") == []
    cfg = recover_config(_argv("rbd:cpool/backup-copy:conf=/etc/pve/ceph.conf"),
                         storage=parse_storage_cfg(RBD_CFG))
    assert "scsi0" not in cfg.options and not cfg.complete
    assert any(m.startswith("scsi0:") and "'ceph'" in m and "RBDPlugin.pm" in m
               for m in cfg.missing), cfg.missing
    # the namespace is part of the path (get_rbd_path): only the storage with it maps it
    assert _vols(RBD_CFG, "rbd:cpool/tenant/vm-100-disk-0") == [("ceph-ns", "vm-100-disk-0")]
    assert _vols(RBD_CFG, "rbd:cpool/vm-100-disk-0") == [("ceph", "vm-100-disk-0")]


# --- ISCSIPlugin.pm / ISCSIDirectPlugin.pm ------------------------------------------------------

ISCSI_CFG = ("iscsi: san\n\tportal 10.0.0.5\n\ttarget iqn.2003-01.org.x:tgt\n\n"
             "iscsidirect: direct\n\tportal 10.0.0.5\n\ttarget iqn.2003-01.org.x:tgt\n")


def test_by_id_device_is_an_iscsi_volume_never_an_iscsidirect_one() -> None:
    # ISCSIPlugin path: /dev/disk/by-id/<name> of `<ch>.<id>.<lun>.<name>`; ISCSIDirectPlugin
    # takes `lun<N>` only and its path is iscsi://<portal>/<target>/<N>.
    path = "/dev/disk/by-id/scsi-36001405abcdef"
    assert _vols(ISCSI_CFG, path) == [("san", "0.0.0.scsi-36001405abcdef")]
    assert _vols(ISCSI_CFG, "iscsi://10.0.0.5/iqn.2003-01.org.x:tgt/3") == [("direct", "lun3")]
    cfg = recover_config(_argv("iscsi://10.0.0.5/iqn.2003-01.org.x:tgt/3"),
                         storage=parse_storage_cfg(ISCSI_CFG))
    assert cfg.options["scsi0"].split(",")[0] == "direct:lun3"


# --- Plugin.pm parse_volname / parse_name_dir (dir, nfs, cifs, btrfs) ---------------------------

DIR_CFG = ("dir: local\n\tpath /var/lib/vz\n\tcontent images,iso\n\n"
           "dir: inner\n\tpath /var/lib/vz/inner\n\tcontent images,iso\n\n"
           "btrfs: butter\n\tpath /srv/b\n\tcontent images\n")


def test_file_whose_name_parse_name_dir_refuses_is_the_path_the_config_named() -> None:
    # parse_name_dir takes `[^/\s]+.(raw|qcow2|vmdk|subvol)`; an ISO must end in .iso/.img.
    for path in ("/var/lib/vz/images/100/disk.img", "/var/lib/vz/images/100/my disk.qcow2",
                 "/var/lib/vz/template/iso/readme.txt"):
        assert _vols(DIR_CFG, path) == [], path
    cfg = recover_config(_argv("/var/lib/vz/images/100/disk.img"),
                         storage=parse_storage_cfg(DIR_CFG))
    assert cfg.options["scsi0"].split(",")[0] == "/var/lib/vz/images/100/disk.img"
    assert cfg.complete and any("Plugin.pm" in t for t in cfg.todos), cfg.todos
    assert _vols(DIR_CFG, "/var/lib/vz/template/iso/Win11.ISO") == [("local", "iso/Win11.ISO")]


def test_dir_storage_nested_in_another_is_the_only_one_mapping_its_disks() -> None:
    assert _vols(DIR_CFG, "/var/lib/vz/inner/images/100/vm-100-disk-0.qcow2") == [
        ("inner", "100/vm-100-disk-0.qcow2")]


def test_btrfs_raw_volume_lives_in_its_subvolume() -> None:
    # BTRFSPlugin filesystem_path: a raw volume is images/<vmid>/<name>/disk.raw; a .raw file
    # right in images/<vmid>/ is no path it builds.
    assert _vols(DIR_CFG, "/srv/b/images/100/vm-100-disk-0/disk.raw") == [
        ("butter", "100/vm-100-disk-0.raw")]
    assert _vols(DIR_CFG, "/srv/b/images/100/vm-100-disk-0.raw") == []
    assert _vols(DIR_CFG, "/srv/b/images/100/vm-100-disk-1.qcow2") == [
        ("butter", "100/vm-100-disk-1.qcow2")]


# --- property: the forward rule of each plugin, inverted ----------------------------------------

# Volume names: ones the plugins take and ones they refuse.
_NAMES = st.sampled_from(["vm-{v}-disk-0", "vm-{v}-disk-1", "base-{v}-disk-0", "vm-{v}-cloudinit",
                          "subvol-{v}-disk-0", "scratch", "data", "swap", "-{v}-x", "disk-{v}"])
_POOLS = ["rpool", "rpool/data", "rpool/data/deep", "tank"]
_VGS = ["pve", "pve-data", "vg0"]


def _zfs_takes(name: str) -> bool:
    """ZFSPoolPlugin.pm parse_volname + path: the names path() puts below /dev/zvol/<pool>."""
    return re.fullmatch(r"(base|vm)-\d+-\S+", name) is not None


def _lvm_takes(name: str, thin: bool) -> bool:
    """LVMPlugin.pm / LvmThinPlugin.pm parse_volname (after Plugin.pm parse_lvm_name)."""
    return (re.fullmatch(r"[a-z0-9][a-z0-9\-_.]*[a-z0-9]", name, re.I) is not None
            and re.fullmatch(r"(vm|base)-\d+-\S+" if thin else r"vm-\d+-\S+", name) is not None)


@settings(max_examples=200, deadline=2000)
@given(pools=st.lists(st.sampled_from(_POOLS), min_size=1, max_size=4, unique=True),
       vgs=st.lists(st.tuples(st.sampled_from(_VGS), st.booleans()), min_size=1, max_size=4,
                    unique=True),
       vmid=st.integers(100, 999), name=_NAMES, pick=st.integers(0, 7))
def test_every_mapping_is_a_storage_whose_plugin_builds_that_path(
        pools: list[str], vgs: list[tuple[str, bool]], vmid: int, name: str, pick: int) -> None:
    """For a disk path PVE builds on one storage (ZFSPoolPlugin path, LVMPlugin/LvmThinPlugin
    filesystem_path, and the device-mapper alias of an LV), the storages offered are exactly
    those whose plugin takes the volume name and builds that same path from it."""
    text = "".join(f"zfspool: z{i}\n\tpool {p}\n\n" for i, p in enumerate(pools))
    text += "".join(f"{'lvmthin' if thin else 'lvm'}: l{i}\n\tvgname {vg}\n"
                    + ("\tthinpool data\n" if thin else "") + "\n"
                    for i, (vg, thin) in enumerate(vgs))
    vol = name.format(v=vmid)
    if pick % 2 == 0:
        pool = pools[pick // 2 % len(pools)]
        path = f"/dev/zvol/{pool}/{vol}"
        want = [(f"z{i}", vol) for i, p in enumerate(pools) if p == pool and _zfs_takes(vol)]
        # no other pool gives the path: a parent pool's name would hold a `/`
    else:
        vg = vgs[pick // 2 % len(vgs)][0]
        path = (f"/dev/{vg}/{vol}" if pick % 4 == 1 else
                "/dev/mapper/" + vg.replace("-", "--") + "-" + vol.replace("-", "--"))
        want = [(f"l{i}", vol) for i, (g, thin) in enumerate(vgs)
                if g == vg and _lvm_takes(vol, thin)]
    assert _vols(text, path) == want
