"""Build Proxmox VE 8 style kvm command lines from VM configs (for /proc and ``qm showcmd``).

Covers the options the rehearsal VMs use, in the order qemu-server 8 emits them (checked against
the cfg2cmd vectors), so ``qm showcmd --pretty`` of a correctly rebuilt config matches the
running process argument for argument, and a wrong rebuild shows a visible diff.
"""

from __future__ import annotations

import re
import shlex

OVMF_4M = "/usr/share/pve-edk2-firmware//OVMF_CODE_4M.fd"
OVMF_4M_SECBOOT = "/usr/share/pve-edk2-firmware//OVMF_CODE_4M.secboot.fd"
OVMF_2M = "/usr/share/pve-edk2-firmware//OVMF_CODE.fd"
INITIATOR = "iqn.1993-08.org.debian:01:5a1b2c3d4e5f"


def parse_conf(text: str) -> dict[str, str]:
    """Top-level ``key: value`` pairs of a VM config (snapshots and pending sections skipped)."""
    out: dict[str, str] = {}
    desc: list[str] = []
    for line in text.splitlines():
        if line.startswith("["):
            break
        if line.startswith("#"):
            desc.append(line[1:])
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    if desc and "description" not in out:
        out["description"] = "\n".join(desc)
    return out


def _opts(value: str) -> tuple[str, dict[str, str]]:
    first, *rest = value.split(",")
    opts: dict[str, str] = {}
    for item in rest:
        k, _, v = item.partition("=")
        opts[k] = v
    return first, opts


def _volume_path(volid: str, vmid: int) -> str:
    store, _, name = volid.partition(":")
    if store in ("local-lvm", "local-lvm-thin"):
        return f"/dev/pve/{name}"
    if store == "local":
        return f"/var/lib/vz/images/{vmid}/{name.split('/')[-1]}"
    return f"/mnt/pve/{store}/images/{vmid}/{name.split('/')[-1]}"


def _size_bytes(size: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", size)
    if not m:
        return 0
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * mult)


def disk_size_bytes(conf: dict[str, str], slot: str) -> int:
    _, opts = _opts(conf.get(slot, ""))
    return _size_bytes(opts.get("size", "0"))


def boot_disk(conf: dict[str, str]) -> str | None:
    order = conf.get("boot", "")
    if order.startswith("order="):
        for dev in order[6:].split(";"):
            if re.fullmatch(r"(scsi|virtio|sata|ide)\d+", dev) and dev in conf:
                return dev
    for slot in ("scsi0", "virtio0", "sata0", "ide0"):
        if slot in conf:
            return slot
    return None


def kvm_argv(vmid: int, conf: dict[str, str]) -> list[str]:
    """The argument vector qemu-server 8 would start this VM with."""
    a: list[str] = ["/usr/bin/kvm", "-id", str(vmid)]
    a += ["-name", f"{conf.get('name', f'vm{vmid}')},debug-threads=on", "-no-shutdown"]
    a += ["-chardev", f"socket,id=qmp,path=/var/run/qemu-server/{vmid}.qmp,server=on,wait=off",
          "-mon", "chardev=qmp,mode=control",
          "-chardev", "socket,id=qmp-event,path=/var/run/qmeventd.sock,reconnect=5",
          "-mon", "chardev=qmp-event,mode=control",
          "-pidfile", f"/var/run/qemu-server/{vmid}.pid", "-daemonize"]
    if "smbios1" in conf:
        a += ["-smbios", f"type=1,{conf['smbios1']}"]
    q35 = conf.get("machine", "").startswith("q35") or "q35" in conf.get("machine", "")
    if conf.get("bios") == "ovmf":
        efi = conf.get("efidisk0")
        code = OVMF_2M
        if efi:
            _, eopts = _opts(efi)
            if eopts.get("efitype") == "4m":
                # OVMF.pm get_ovmf_files: the secboot code image is the SMM one, used on q35;
                # pre-enrolled-keys only picks the vars template the efidisk was created from
                code = OVMF_4M_SECBOOT if q35 else OVMF_4M
        a += ["-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={code}"]
        if efi:
            vol, eopts = _opts(efi)
            size = 540672 if eopts.get("efitype") == "4m" else 131072
            a += ["-drive", f"if=pflash,unit=1,id=drive-efidisk0,format=raw,"
                  f"file={_volume_path(vol, vmid)},size={size}"]
    if q35:
        a += ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
    sockets = int(conf.get("sockets", "1"))
    cores = int(conf.get("cores", "1"))
    n = sockets * cores
    a += ["-smp", f"{n},sockets={sockets},cores={cores},maxcpus={n}", "-nodefaults",
          "-boot", "menu=on,strict=on,reboot-timeout=1000,"
                   "splash=/usr/share/qemu-server/bootsplash.jpg",
          "-vnc", f"unix:/var/run/qemu-server/{vmid}.vnc,password=on"]
    cpu = conf.get("cpu", "")
    if cpu.startswith("host"):
        a += ["-cpu", "host,+kvm_pv_eoi,+kvm_pv_unhalt"]
    elif cpu and cpu != "x86-64-v2-AES":
        a += ["-cpu", f"{cpu},+kvm_pv_eoi,+kvm_pv_unhalt"]
    else:  # CPUConfig.pm builtin x86-64-v2-AES: reported-model qemu64 with its flags
        a += ["-cpu", "qemu64,+aes,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+pni,+popcnt,+sse4.1,"
                      "+sse4.2,+ssse3"]
    a += ["-m", conf.get("memory", "2048")]
    if q35:
        a += ["-readconfig", "/usr/share/qemu-server/pve-q35-4.0.cfg"]
    else:
        a += ["-device", "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e",
              "-device", "pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f"]
    if "vmgenid" in conf:
        a += ["-device", f"vmgenid,guid={conf['vmgenid']}"]
    if q35:
        a += ["-device", "usb-tablet,id=tablet,bus=ehci.0,port=1",
              "-device", "VGA,id=vga,bus=pcie.0,addr=0x1"]
    else:
        a += ["-device", "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2",
              "-device", "usb-tablet,id=tablet,bus=uhci.0,port=1",
              "-device", "VGA,id=vga,bus=pci.0,addr=0x2"]
    if conf.get("agent", "0").split(",")[0] in ("1", "enabled=1"):
        a += ["-chardev", f"socket,path=/var/run/qemu-server/{vmid}.qga,server=on,wait=off,"
                          "id=qga0",
              "-device", "virtio-serial,id=qga0,bus=pci.0,addr=0x8",
              "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]
    a += ["-device", "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,free-page-reporting=on",
          "-iscsi", f"initiator-name={INITIATOR}"]
    boot_order: list[str] = []
    if conf.get("boot", "").startswith("order="):
        boot_order = conf["boot"][6:].split(";")

    def bootindex(dev: str) -> str:
        return f",bootindex={100 + boot_order.index(dev)}" if dev in boot_order else ""

    for i in range(4):
        slot = f"ide{i}"
        if slot in conf:
            vol, opts = _opts(conf[slot])
            if opts.get("media") == "cdrom":
                file = "" if vol == "none" else f"file={_volume_path(vol, vmid)},"
                a += ["-drive", f"{file}if=none,id=drive-{slot},media=cdrom,aio=io_uring",
                      "-device", f"ide-cd,bus=ide.{i // 2},unit={i % 2},drive=drive-{slot},"
                                 f"id={slot}{bootindex(slot)}"]
    scsis = sorted((k for k in conf if re.fullmatch(r"scsi\d+", k)), key=lambda k: int(k[4:]))
    if scsis:
        hw = conf.get("scsihw", "lsi")
        model = {"virtio-scsi-pci": "virtio-scsi-pci", "lsi": "lsi",
                 "megasas": "megasas", "pvscsi": "pvscsi"}.get(hw, "virtio-scsi-pci")
        a += ["-device", f"{model},id=scsihw0,bus=pci.0,addr=0x5"]
        for slot in scsis:
            vol, opts = _opts(conf[slot])
            drive = f"file={_volume_path(vol, vmid)},if=none,id=drive-{slot}"
            if opts.get("discard") == "on":
                drive += ",discard=on"
            drive += ",format=raw"
            cache = opts.get("cache", "none")
            drive += f",cache={cache},aio=io_uring"
            if opts.get("discard") == "on":
                drive += ",detect-zeroes=unmap"
            unit = int(slot[4:])
            a += ["-drive", drive,
                  "-device", f"scsi-hd,bus=scsihw0.0,channel=0,scsi-id={unit},lun=0,"
                             f"drive=drive-{slot},id={slot}{bootindex(slot)}"]
    for i in range(8):
        slot = f"net{i}"
        if slot not in conf:
            continue
        first, opts = _opts(conf[slot])
        model, _, mac = first.partition("=")
        a += ["-netdev", f"type=tap,id={slot},ifname=tap{vmid}i{i},"
                         "script=/usr/libexec/qemu-server/pve-bridge,"
                         "downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on"]
        dev = "virtio-net-pci" if model == "virtio" else model
        extra = ",rx_queue_size=1024,tx_queue_size=1024" if model == "virtio" else ""
        a += ["-device", f"{dev},mac={mac},netdev={slot},bus=pci.0,addr={hex(0x12 + i)},"
                         f"id={slot}{extra}{bootindex(slot)}"]
    machine = conf.get("machine", "")
    mtype = machine if "+pve" in machine else (f"{machine or 'pc'}+pve0")
    a += ["-machine", f"type={mtype}"]
    return a


def pretty(argv: list[str]) -> str:
    """``qm showcmd --pretty``: one option per line, values single-quoted when needed."""
    out = [argv[0]]
    i = 1
    while i < len(argv):
        opt = argv[i]
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            val = argv[i + 1]
            q = f"'{val}'" if re.search(r"[^\w/.,:+-]", val) else val
            out.append(f"  {opt} {q}")
            i += 2
        else:
            out.append(f"  {opt}")
            i += 1
    return " \\\n".join(out) + "\n"


def oneline(argv: list[str]) -> str:
    return " ".join(shlex.quote(x) for x in argv) + "\n"
