"""Rebuilding VM configs from QEMU command lines, checked against qemu-server's own vectors."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from pverunbook.pve.qemu import (
    CmdlineError,
    parse_storage_cfg,
    recover_config,
    split_all,
    split_cmdline,
)

TESTDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata"
VECTORS = TESTDATA / "qemu-cfg2cmd-pve7"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"cfg2cmd vectors not found at {VECTORS} (../shared/testdata)"
)

# The storages the qemu-server test harness mocks (testdata/README.md).
STORAGE_CFG = """\
dir: local
\tpath /var/lib/vz
\tcontent images,iso

lvmthin: local-lvm
\tvgname pve
\tthinpool data

lvm: lvm-store
\tvgname veegee

rbd: rbd-store
\tpool cpool
\tmonhost 127.0.0.42 127.0.0.21 ::1

rbd: krbd-store
\tpool cpool
\tkrbd 1

cifs: cifs-store
\tpath /mnt/pve/cifs-store
\tserver 10.0.0.1
\tshare s

btrfs: btrfs-store
\tpath /butter/bread

zfs: zfs-over-iscsi-store
\tpool tank
\tportal 127.0.0.1
\ttarget iqn.2019-10.org.test:foobar
"""

# The storage.cfg a fresh Proxmox VE install writes (constructed here from the installer's
# defaults, not found): the storage ids of the story's VM 108 come from it.
STOCK_STORAGE_CFG = """\
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images
"""
STOCK = parse_storage_cfg(STOCK_STORAGE_CFG)

# The score must not fall below this (raise it when the reconstruction improves).
MIN_EXACT = 421
MIN_PERCENT = 99.5

# Sub-options the command line never carries: stripped from both sides before comparing.
HIDDEN_SUBOPTS = {"size", "bridge", "tag", "firewall", "rate", "trunks", "link_down", "backup",
                  "replicate", "shared", "pre-enrolled-keys"}
# Keys that are never on the command line.
HIDDEN_KEYS = {"meta", "description", "onboot", "startup", "tags", "protection", "lock",
               "parent", "digest", "hookscript", "snaptime", "vmstate"}
# What an absent key means to qemu-server, so "absent" and "set to the default" compare equal.
DEFAULTS = {"memory": "512", "sockets": "1", "cores": "1", "numa": "0", "machine": "pc",
            "scsihw": "lsi", "vga": "std", "tablet": "1", "kvm": "1", "acpi": "1",
            "agent": "0", "bios": "seabios", "template": "0", "cpu": "kvm64", "tdf": "0",
            "freeze": "0", "ostype": "other"}
DRIVE_KEY = re.compile(r"(ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0")


def parse_conf(text: str) -> dict[str, str]:
    """The main section of a .conf, without the test directives or comments."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("["):
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def norm(key: str, value: str) -> tuple[Any, ...]:
    """Compare property strings as qemu-server parses them (order of k=v items is free)."""
    if key == "boot" and "=" not in value:
        return (value.replace("a", ""),)  # legacy floppy letter: no floppy, no bootindex
    if key in ("boot", "bootdisk", "name", "vmgenid", "memory", "hotplug"):
        return (value,)
    items = []
    for tok in value.split(","):
        k, eq, v = tok.partition("=")
        if eq and k in HIDDEN_SUBOPTS:
            continue
        if eq and k == "flags":
            v = ";".join(sorted(v.split(";")))
        if eq and k == "cache" and v == "none" and DRIVE_KEY.fullmatch(key):
            continue
        items.append(f"{k}={v}" if eq else k)
    return tuple(items[:1]) + tuple(sorted(items[1:]))


def not_determined(key: str, value: str, conf: dict[str, str], cmd: str) -> str | None:
    """Why the command line cannot determine this key (None if it can)."""
    if key in HIDDEN_KEYS:
        return f"{key}: not on the command line"
    if key == "tpmstate0":
        return "tpmstate0: opened by swtpm, not QEMU"
    if key == "bootdisk" and (conf.get("boot", "").startswith("order=") or key not in conf
                              or value not in conf):
        return "bootdisk: names a disk the VM lacks / overridden by boot order"
    if key == "bootdisk" and "boot" in conf and "c" not in conf["boot"]:
        return "bootdisk: legacy boot without 'c'"
    if key == "scsihw" and not any(k.startswith("scsi") and k != "scsihw" for k in conf):
        return "scsihw: no SCSI disk, so no controller"
    if key == "ostype" and not value.startswith("win") and value != "l26":
        return "ostype: non-Windows"
    if key == "ostype" and value == "l26" and "qemu-xhci" not in cmd:
        return "ostype: l26 has no trace unless qemu-xhci is used"
    if key == "machine" and re.search(r"\+pve[1-9]", value) and not re.search(
        r"type=[^,' ]*\+pve[1-9]", cmd
    ):
        return "machine: +pveN above what the QEMU version offers is clamped"
    if key == "cpu" and value.split(",")[0].startswith("custom-"):
        return "cpu: custom model name lives in cpu-models.conf"
    if key == "cpu" and value.split(",")[0] in ("Icelake-Client", "Icelake-Client-noTSX"):
        return "cpu: deprecated alias, qemu-server runs Icelake-Server"
    return None


def family(key: str) -> str:
    return re.sub(r"\d+$", "N", key)


def vector_names() -> list[str]:
    if not VECTORS.is_dir():
        return []
    return sorted(p.name[: -len(".conf.cmd")] for p in VECTORS.glob("*.conf.cmd"))


def compare(name: str) -> tuple[list[tuple[str, bool, str]], dict[str, str]]:
    """Rebuild one vector; return (key, exact?, detail) rows and excluded keys with reasons."""
    conf_text = (VECTORS / f"{name}.conf").read_text()
    expected = parse_conf(conf_text)
    cmd = (VECTORS / f"{name}.conf.cmd").read_text()
    argv = split_cmdline(cmd)
    got = recover_config(argv, storage=parse_storage_cfg(STORAGE_CFG)).options
    rows: list[tuple[str, bool, str]] = []
    excluded: dict[str, str] = {}
    for key, value in expected.items():
        why = not_determined(key, value, expected, cmd)
        if why:
            excluded[key] = why
            continue
        mine = got.get(key, DEFAULTS.get(key))
        ok = mine is not None and norm(key, mine) == norm(key, value)
        rows.append((key, ok, f"{name}: {key}: want {value!r} got {got.get(key)!r}"))
    for key, value in got.items():
        if key in expected or value == DEFAULTS.get(key):
            continue
        rows.append((key, False, f"{name}: extra {key}: {value!r}"))
    return rows, excluded


# Mismatches that the command line cannot resolve, with the reason (anything else fails).
KNOWN_MISSES = {
    ("spice-win", "machine"): "QEMU 4.0 pinned Windows to pc-i440fx-4.0; pinned vs unpinned "
                              "cannot be told apart",
    ("q35-linux-hostpci-multifunction", "hostpci1"): "harness mocked one function only",
}


@needs_vectors
@pytest.mark.parametrize("name", vector_names())
def test_cfg2cmd_vector(name: str) -> None:
    rows, _ = compare(name)
    bad = [detail for key, ok, detail in rows if not ok and (name, key) not in KNOWN_MISSES]
    assert not bad, "\n".join(bad)


@needs_vectors
def test_cfg2cmd_score(cfg2cmd_score: dict[str, Any]) -> None:
    names = vector_names()
    assert len(names) == 48
    per_key: dict[str, list[int]] = {}
    excluded: dict[str, int] = {}
    misses: list[str] = []
    exact = total = 0
    for name in names:
        rows, exc = compare(name)
        for key, ok, detail in rows:
            fam = family(key)
            per_key.setdefault(fam, [0, 0])
            per_key[fam][1] += 1
            total += 1
            if ok:
                per_key[fam][0] += 1
                exact += 1
            else:
                misses.append(detail)
        for why in exc.values():
            excluded[why] = excluded.get(why, 0) + 1
    cfg2cmd_score.update(total=total, exact=exact, excluded=excluded, misses=misses,
                         per_key={k: tuple(v) for k, v in per_key.items()})
    assert exact >= MIN_EXACT
    assert 100.0 * exact / total >= MIN_PERCENT


def test_expect_error_vectors_are_not_scored() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"cfg2cmd vectors not found at {VECTORS}")
    errs = [p for p in VECTORS.glob("*.conf") if "# EXPECT_ERROR:" in p.read_text()]
    assert len(errs) == 6
    assert all(not Path(f"{p}.cmd").exists() for p in errs)


# --- the story's VM 108 ------------------------------------------------------------------------

VM108_CONF = """\
agent: 1
bios: ovmf
boot: order=scsi0
cores: 4
cpu: host
memory: 4096
name: media
net0: virtio=A6:4C:7B:8B:BE:B0,bridge=vmbr0
scsi0: local-lvm:vm-108-disk-0,cache=none,discard=on,size=32G
scsihw: virtio-scsi-pci
smbios1: uuid=ec1eb45b-df18-4b92-a3b5-7bc13c957371
sockets: 2
"""

# As Proxmox VE 8.x (qemu-server 8, QEMU 8.1) generates it for VM108_CONF.  There is no
# efidisk0, so qemu-server gives OVMF a temporary vars copy, /tmp/<vmid>-ovmf.fd, as pflash 1.
VM108_ARGV = [
    "/usr/bin/kvm", "-id", "108", "-name", "media,debug-threads=on", "-no-shutdown",
    "-chardev", "socket,id=qmp,path=/var/run/qemu-server/108.qmp,server=on,wait=off",
    "-mon", "chardev=qmp,mode=control",
    "-chardev", "socket,id=qmp-event,path=/var/run/qmeventd.sock,reconnect=5",
    "-mon", "chardev=qmp-event,mode=control",
    "-pidfile", "/var/run/qemu-server/108.pid", "-daemonize",
    "-smbios", "type=1,uuid=ec1eb45b-df18-4b92-a3b5-7bc13c957371",
    "-drive", "if=pflash,unit=0,format=raw,readonly=on,"
              "file=/usr/share/pve-edk2-firmware//OVMF_CODE.fd",
    "-drive", "if=pflash,unit=1,id=drive-efidisk0,format=raw,file=/tmp/108-ovmf.fd,size=131072",
    "-smp", "8,sockets=2,cores=4,maxcpus=8", "-nodefaults",
    "-boot", "menu=on,strict=on,reboot-timeout=1000,splash=/usr/share/qemu-server/bootsplash.jpg",
    "-vnc", "unix:/var/run/qemu-server/108.vnc,password=on",
    "-cpu", "host,+kvm_pv_eoi,+kvm_pv_unhalt", "-m", "4096",
    "-device", "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e",
    "-device", "pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f",
    "-device", "vmgenid,guid=4c0e8f6c-5c1c-4d4e-9a1e-7d1b0c6f2a10",
    "-device", "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2",
    "-device", "usb-tablet,id=tablet,bus=uhci.0,port=1",
    "-device", "VGA,id=vga,bus=pci.0,addr=0x2",
    "-chardev", "socket,path=/var/run/qemu-server/108.qga,server=on,wait=off,id=qga0",
    "-device", "virtio-serial,id=qga0,bus=pci.0,addr=0x8",
    "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
    "-device", "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting=on",
    "-iscsi", "initiator-name=iqn.1993-08.org.debian:01:5a1d2e3f4b6c",
    "-device", "virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5",
    "-drive", "file=/dev/pve/vm-108-disk-0,if=none,id=drive-scsi0,discard=on,format=raw,"
              "cache=none,aio=io_uring,detect-zeroes=unmap",
    "-device", "scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,"
               "bootindex=100",
    "-netdev", "type=tap,id=net0,ifname=tap108i0,script=/var/lib/qemu-server/pve-bridge,"
               "downscript=/var/lib/qemu-server/pve-bridgedown,vhost=on",
    "-device", "virtio-net-pci,mac=A6:4C:7B:8B:BE:B0,netdev=net0,bus=pci.0,addr=0x12,id=net0,"
               "rx_queue_size=1024,tx_queue_size=256",
    "-machine", "type=pc+pve1",
]


def _ps_line(argv: list[str], pid: int = 2314) -> str:
    return (f"root        {pid} 12.4 26.3 5123456 4301234 ?     Sl   Jan02 812:03 "
            + " ".join(argv))


def test_vm108_from_ps_aux() -> None:
    text = "\n".join([
        "root        1201  0.0  0.0   6332  2064 pts/0    S+   10:01   0:00 grep qemu",
        _ps_line(VM108_ARGV),
    ])
    argv = split_cmdline(text)
    assert argv == VM108_ARGV
    cfg = recover_config(argv, storage=STOCK, tap_bridges={"tap108i0": "vmbr0"})
    want = parse_conf(VM108_CONF)
    got = cfg.options
    assert cfg.vmid == 108
    for key in ("agent", "bios", "cores", "cpu", "memory", "name", "scsihw", "smbios1",
                "sockets", "net0"):
        assert got[key] == want[key], key
    assert got["scsi0"] == "local-lvm:vm-108-disk-0,discard=on"  # cache=none is the default
    assert got["boot"] == want["boot"]
    assert "efidisk0" not in got
    assert got["vmgenid"] == "4c0e8f6c-5c1c-4d4e-9a1e-7d1b0c6f2a10"
    text_out = cfg.render()
    assert any("size=" in t and "scsi0" in t for t in cfg.todos)
    assert any("ostype" in t for t in cfg.todos)
    assert not any(ln.startswith("#") for ln in text_out.splitlines())  # would become Notes
    review = cfg.render_review()
    assert "TODO: scsi0: size=" in review and "TODO: ostype" in review
    keys = [ln.split(":")[0] for ln in text_out.splitlines() if not ln.startswith("#")]
    assert keys == sorted(keys)
    # What the command line lacks comes from the guest's backup archive (vzdump.adoc), never
    # from /var/lib/pve-cluster/backup: Proxmox writes there only a joining node's pre-join
    # database (Cluster.pm cfs_backup_database, called by Setup.pm finish_join alone).
    onboot = next(t for t in cfg.todos if "onboot" in t)
    assert "vzdump" in onboot and "Not from /var/lib/pve-cluster/backup" in onboot
    assert "pve-cluster/backup/*.sql.gz" not in onboot


def test_vm108_sizes_and_bridges_hooks() -> None:
    cfg = recover_config(VM108_ARGV, storage=STOCK,
                         disk_sizes={"/dev/pve/vm-108-disk-0": 32 << 30},
                         tap_bridges={"tap108i0": "vmbr0v20"})
    assert cfg.options["scsi0"] == "local-lvm:vm-108-disk-0,discard=on,size=32G"
    assert cfg.options["net0"] == "virtio=A6:4C:7B:8B:BE:B0,bridge=vmbr0,tag=20"
    assert not any("scsi0: size" in t for t in cfg.todos)


def test_proc_cmdline_nul_form() -> None:
    raw = ("\0".join(VM108_ARGV) + "\0").encode()
    assert split_cmdline(raw) == VM108_ARGV
    assert split_cmdline(raw.decode()) == VM108_ARGV


def test_showcmd_pretty_round_trip() -> None:
    pretty = VM108_ARGV[0] + " \\\n" + " \\\n".join(
        f"  {a} {shlex.quote(b)}" if not b.startswith("-") else f"  {a}"
        for a, b in _pairs(VM108_ARGV[1:])
    ) + "\n"
    assert split_cmdline(pretty) == VM108_ARGV


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i = 0
    noarg = {"-no-shutdown", "-daemonize", "-nodefaults"}
    while i < len(args):
        if args[i] in noarg:
            out.append((args[i], "-"))
            i += 1
        else:
            out.append((args[i], args[i + 1]))
            i += 2
    return out


def test_ps_value_with_spaces_is_rejoined() -> None:
    argv = ["/usr/bin/kvm", "-id", "7", "-smbios", "type=1,manufacturer=Dell Inc.,uuid=x",
            "-machine", "type=pc"]
    assert split_cmdline(_ps_line(argv)) == argv
    cfg = recover_config(argv)
    assert cfg.options["smbios1"] == "base64=1,manufacturer=RGVsbCBJbmMu,uuid=x"


def test_several_vms_need_a_choice() -> None:
    other = [a.replace("108", "109") for a in VM108_ARGV]
    text = _ps_line(VM108_ARGV) + "\n" + _ps_line(other, 3000)
    assert len(split_all(text)) == 2
    with pytest.raises(CmdlineError, match="108, 109"):
        split_cmdline(text)


@pytest.mark.parametrize("text", ["", "   \n", "garbage here\nmore", "\0\0", "kvm",
                                  "/usr/bin/kvm", "'unbalanced quote \\\n -id"])
def test_hostile_input_gives_clear_error(text: str) -> None:
    with pytest.raises(CmdlineError) as exc:
        recover_config(split_cmdline(text))
    assert "kvm" in str(exc.value) or "empty" in str(exc.value)


def test_hostile_argv_never_tracebacks() -> None:
    with pytest.raises(CmdlineError):
        recover_config([])
    with pytest.raises(CmdlineError):
        recover_config(["/bin/sh", "-c", "x"])
    weird = ["/usr/bin/kvm", "-m", "lots", "-smp", "x,sockets=2,cores=3", "-cpu", "",
             "-device", "{not json", "-blockdev", "[1,2]", "-drive", ",,,,", "-machine",
             "type=???", "-netdev", "{}", "-object", "{", "-smbios", "type=1"]
    cfg = recover_config(weird)
    assert cfg.render()


# --- PVE 9 -blockdev -------------------------------------------------------------------------

PVE9 = (
    '/usr/bin/kvm \\\n'
    '  -id 8006 \\\n'
    '  -name simple \\\n'
    '  -pidfile /var/run/qemu-server/8006.pid \\\n'
    "  -smbios 'type=1,uuid=7b10d7af-b932-4c66-b2c3-3996152ec465' \\\n"
    '  -object \'{"id":"throttle-drive-efidisk0","limits":{},"qom-type":"throttle-grou'
    'p"}\' \\\n'
    '  -blockdev \'{"driver":"raw","file":{"driver":"file","filename":"/usr/share/pve-'
    'edk2-firmware//OVMF_CODE_4M.secboot.fd"},"node-name":"pflash0","read-only":true}'
    "' \\\n"
    '  -blockdev \'{"detect-zeroes":"on","discard":"ignore","driver":"throttle","file"'
    ':{"cache":{"direct":false,"no-flush":false},"detect-zeroes":"on","discard":"igno'
    're","driver":"raw","file":{"aio":"io_uring","cache":{"direct":false,"no-flush":f'
    'alse},"detect-zeroes":"on","discard":"ignore","driver":"file","filename":"/var/l'
    'ib/vz/images/100/vm-100-disk-0.raw","node-name":"e1175f2a490414e7c53337589fde17a'
    '","read-only":false},"node-name":"f1175f2a490414e7c53337589fde17a","read-only":f'
    'alse,"size":540672},"node-name":"drive-efidisk0","read-only":false,"throttle-gro'
    'up":"throttle-drive-efidisk0"}\' \\\n'
    "  -smp '3,sockets=1,cores=3,maxcpus=3' \\\n"
    '  -cpu kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep \\\n'
    '  -m 768 \\\n'
    '  -object \'{"id":"throttle-drive-scsi0","limits":{"bps-total":10485760,"iops-rea'
    'd":300},"qom-type":"throttle-group"}\' \\\n'
    '  -object \'{"id":"throttle-drive-scsi1","limits":{},"qom-type":"throttle-group"}'
    "' \\\n"
    '  -readconfig /usr/share/qemu-server/pve-q35-4.0.cfg \\\n'
    "  -device 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting"
    "=on' \\\n"
    "  -device 'ide-cd,bus=ide.1,unit=0,id=ide2,bootindex=200' \\\n"
    "  -device 'virtio-scsi-pci,id=scsihw0,bus=pci.0,addr=0x5' \\\n"
    '  -blockdev \'{"detect-zeroes":"unmap","discard":"unmap","driver":"throttle","fil'
    'e":{"cache":{"direct":true,"no-flush":false},"detect-zeroes":"unmap","discard":"'
    'unmap","driver":"qcow2","file":{"aio":"io_uring","cache":{"direct":true,"no-flus'
    'h":false},"detect-zeroes":"unmap","discard":"unmap","driver":"file","filename":"'
    '/var/lib/vz/images/8006/vm-8006-disk-0.qcow2","node-name":"ecd04be4259153b829341'
    '5fefa2a84c","read-only":false},"node-name":"fcd04be4259153b8293415fefa2a84c","re'
    'ad-only":false},"node-name":"drive-scsi0","read-only":false,"throttle-group":"th'
    'rottle-drive-scsi0"}\' \\\n'
    "  -device 'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id="
    "scsi0,device_id=drive-scsi0,bootindex=100,write-cache=on' \\\n"
    '  -blockdev \'{"detect-zeroes":"unmap","discard":"unmap","driver":"throttle","fil'
    'e":{"cache":{"direct":false,"no-flush":false},"detect-zeroes":"unmap","discard":'
    '"unmap","driver":"raw","file":{"auth-client-required":["none"],"cache":{"direct"'
    ':false,"no-flush":false},"detect-zeroes":"unmap","discard":"unmap","driver":"rbd'
    '","image":"vm-8006-disk-1","node-name":"e3990bba2ed1f48c5bb23e9f37b4cec","pool":'
    '"cpool","read-only":false,"server":[{"host":"127.0.0.42","port":"3300"}]},"node-'
    'name":"f3990bba2ed1f48c5bb23e9f37b4cec","read-only":false},"node-name":"drive-sc'
    'si1","read-only":false,"throttle-group":"throttle-drive-scsi1"}\' \\\n'
    "  -device 'scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi1,id="
    "scsi1,device_id=drive-scsi1,write-cache=off' \\\n"
    "  -netdev 'type=tap,id=net0,ifname=tap8006i0,script=/usr/libexec/qemu-server/pve"
    "-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on' \\\n"
    "  -device 'virtio-net-pci,mac=A2:C0:43:77:08:A0,netdev=net0,bus=pci.0,addr=0x12,"
    "id=net0,rx_queue_size=1024,tx_queue_size=256,bootindex=300,host_mtu=1500' \\\n"
    "  -machine 'pflash0=pflash0,pflash1=drive-efidisk0,hpet=off,type=q35+pve0'\n"
    '\n'
)


def test_pve9_blockdev() -> None:
    cfg = recover_config(split_cmdline(PVE9), storage=parse_storage_cfg(STORAGE_CFG))
    o = cfg.options
    assert o["bios"] == "ovmf"
    assert o["efidisk0"] == "local:100/vm-100-disk-0.raw,efitype=4m,size=528K"
    assert o["scsi0"] == "local:8006/vm-8006-disk-0.qcow2,discard=on,iops_rd=300,mbps=10"
    assert o["scsi1"] == "rbd-store:vm-8006-disk-1,cache=writethrough,discard=on"
    assert o["ide2"] == "none,media=cdrom"
    assert o["net0"] == "virtio=A2:C0:43:77:08:A0"
    assert o["machine"] == "q35"
    assert o["name"] == "simple"
    assert "boot" not in o and o["bootdisk"] == "scsi0"


def test_storage_cfg_parsing_and_unknown_paths() -> None:
    sm = parse_storage_cfg(STORAGE_CFG)
    assert sm.resolve("/dev/veegee/vm-1-disk-0") is not None
    assert sm.resolve("/dev/veegee/vm-1-disk-0")[:2] == ("lvm-store", "vm-1-disk-0")  # type: ignore[index]
    assert sm.resolve("/dev/rbd-pve/fsid/cpool/vm-1-disk-0")[0] == "krbd-store"  # type: ignore[index]
    assert sm.resolve("rbd:cpool/vm-1-disk-0:mon_host=x")[0] == "rbd-store"  # type: ignore[index]
    assert sm.resolve("/mnt/pve/cifs-store/images/1/a.qcow2")[:2] == ("cifs-store", "1/a.qcow2")  # type: ignore[index]
    argv = ["/usr/bin/kvm", "-id", "5", "-drive",
            "file=/srv/odd/disk.img,if=none,id=drive-virtio0,format=raw,cache=none,aio=io_uring",
            "-device", "virtio-blk-pci,drive=drive-virtio0,id=virtio0", "-machine", "type=pc"]
    cfg = recover_config(argv, storage=sm)
    assert cfg.options["virtio0"].startswith("/srv/odd/disk.img")
    assert any("/srv/odd/disk.img" in t for t in cfg.todos)


def test_no_storage_cfg_means_no_storage_id() -> None:
    # /dev/pve/vm-108-disk-0 is local-lvm on a stock install, but only storage.cfg says so:
    # without it the disk is not written and the rebuild is incomplete, never guessed.
    cfg = recover_config(VM108_ARGV)
    assert "scsi0" not in cfg.options and not cfg.complete
    assert any(m.startswith("scsi0: /dev/pve/vm-108-disk-0") and "storage.cfg" in m
               for m in cfg.missing)
    assert "local-lvm" not in cfg.render()
    # a storage.cfg without that volume group does not help either
    other = recover_config(VM108_ARGV, storage=parse_storage_cfg("lvm: big\n\tvgname vg0\n"))
    assert "scsi0" not in other.options
    assert any("no storage in the given storage.cfg" in m for m in other.missing)
    # a path outside any storage layout is what the config named itself (a passthrough disk)
    argv = [a.replace("/dev/pve/vm-108-disk-0", "/dev/disk/by-id/ata-ST4000-Z1Z0") for a in
            VM108_ARGV]
    passthrough = recover_config(argv, storage=STOCK)
    assert passthrough.options["scsi0"] == "/dev/disk/by-id/ata-ST4000-Z1Z0,discard=on"
    assert passthrough.complete
    json.dumps(cfg.options)


# --- CLI ---------------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    import argparse

    from pverunbook.commands.vmconfig import register

    parser = argparse.ArgumentParser(prog="pverunbook")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_vm_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ps.txt"
    other = [a.replace("108", "109") for a in VM108_ARGV]
    f.write_text(_ps_line(VM108_ARGV) + "\n" + _ps_line(other, 3000) + "\n")
    assert _cli(["vm-config", "--from-cmdline", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pverunbook: ") and "--vmid" in err
    assert _cli(["vm-config", "--from-cmdline", str(f), "--vmid", "109"]) == 2
    out, err = capsys.readouterr()
    assert "scsi0: /dev/pve/vm-109-disk-0" in err and "--storage-cfg" in err
    assert "INCOMPLETE" in err and "memory: 4096" in out and "\nscsi0:" not in out
    storage = tmp_path / "storage.cfg"
    storage.write_text(STOCK_STORAGE_CFG)
    assert _cli(["vm-config", "--from-cmdline", str(f), "--vmid", "109",
                 "--storage-cfg", str(storage)]) == 0
    out = capsys.readouterr().out
    assert "scsi0: local-lvm:vm-109-disk-0,discard=on" in out
    assert _cli(["vm-config", "--from-cmdline", str(tmp_path / "missing")]) == 2
    assert "pverunbook: " in capsys.readouterr().err
    (tmp_path / "junk").write_text("hello")
    assert _cli(["vm-config", "--from-cmdline", str(tmp_path / "junk")]) == 2


def test_cli_vm_config_non_utf8_storage_cfg_names_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ps.txt"
    f.write_text(_ps_line(VM108_ARGV) + "\n")
    cfg = tmp_path / "storage.cfg"
    cfg.write_bytes(b"dir: local\n\tpath /var/lib/vz\n\tcomment caf\xe9\n")  # Latin-1 copy
    assert _cli(["vm-config", "--from-cmdline", str(f), "--storage-cfg", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:3: not UTF-8 text (byte 0xe9)" in err and "save the storage.cfg" in err, err


def test_cli_pmxcfs_extract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.pve.pmxcfs import create_db

    db = tmp_path / "config.db"
    create_db(db, {"nodes/a/qemu-server/108.conf": b"memory: 4096\n"})
    assert _cli(["pmxcfs", "extract", str(db)]) == 0
    assert "13  nodes/a/qemu-server/108.conf" in capsys.readouterr().out
    assert _cli(["pmxcfs", "extract", str(db), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o/nodes/a/qemu-server/108.conf").read_bytes() == b"memory: 4096\n"
    assert _cli(["pmxcfs", "extract", str(tmp_path / "none.db")]) == 2
    assert capsys.readouterr().err.startswith("pverunbook: ")
