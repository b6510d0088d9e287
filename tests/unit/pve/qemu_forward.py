"""Our model of qemu-server's config -> command line, for the round-trip property test.

Each part restates what qemu-server's source does (PVE 8, ``-drive`` form), so that a config
the test generates can be turned into the command line qemu-server would start it with:

- ``PVE/QemuServer.pm`` ``config_to_command``: ``-id``/``-name``/``-smbios``, ``-smp`` (with
  ``hotplug: cpu`` one vCPU plus ``-device <model>-x86_64-cpu`` per further vCPU), ``-m`` and
  the automatic NUMA layout (one node per socket, memory split evenly), the agent's
  virtio-serial port, ``-vga none -nographic`` / ``-nographic`` for serial displays, the
  tablet rule, ``isa-serial`` sockets, ``args:`` appended after ``-machine``;
  ``print_netdevice_full``/``print_netdev_full`` for NICs; ``device_bootorder`` (``order=``
  numbers the listed devices 100, 101, ...); ``start_swtpm`` + ``-tpmdev emulator``.
- ``PVE/QemuServer/Drive.pm`` ``print_drive_commandline_full``: the configured options in
  ``@qemu_drive_options`` order (media, cache, rerror, werror, aio, discard), then
  ``format=``, then ``cache=none`` when unset and O_DIRECT is used, then the default ``aio=``
  only when none is configured (``storage_allows_io_uring_default``: not on LVM or CIFS),
  then ``detect-zeroes``.
- ``PVE/QemuServer/CPUConfig.pm`` ``get_cpu_options``/``get_pve_cpu_flags``/
  ``resolve_cpu_flags``: model (builtin x86-64-v* report qemu64 plus their flags), ``level=``,
  every flag sorted by name, ``guest-phys-bits``/``phys-bits`` last.
- ``PVE/QemuServer/Machine.pm``: ``type=<machine>+pve0`` (or the pinned ``+pveN``), viommu.
- ``PVE/QemuServer/OVMF.pm``: pflash code (``OVMF_CODE_4M.fd`` for ``efitype=4m``) + vars.
- ``PVE/QemuServer/PCI.pm``/``USB.pm``: ``vfio-pci`` on a PCIe root port for ``pcie=1``,
  ``usb-host`` by vendor:product or bus-port, ``nec-usb-xhci`` for ``usb3=1``.

It covers the parts the generator in test_qemu_roundtrip.py draws; it is a test model, not a
second implementation of qemu-server.
"""

from __future__ import annotations

import shlex

BUILTIN = {
    "x86-64-v2-AES": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v3": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave",
}
VENDOR = {"Haswell": "GenuineIntel", "Skylake-Server": "GenuineIntel", "EPYC": "AuthenticAMD"}

# The storages of the generated configs (a storage.cfg the test hands to the parser too).
STORAGE_CFG = """\
dir: local
\tpath /var/lib/vz

lvmthin: local-lvm
\tvgname pve
\tthinpool data

lvm: thick
\tvgname big

cifs: share
\tpath /mnt/pve/share
\tserver 10.0.0.9
\tshare s

rbd: ceph
\tpool rbd

rbd: ceph-ns
\tpool rbd
\tnamespace tenant

zfspool: local-zfs
\tpool rpool/data

zfspool: rpool-all
\tpool rpool

dir: inner
\tpath /var/lib/vz/inner
"""
STORAGE_TYPE = {"local": "dir", "local-lvm": "lvmthin", "thick": "lvm", "share": "cifs",
                "ceph": "rbd", "ceph-ns": "rbd", "local-zfs": "zfspool", "rpool-all": "zfspool",
                "inner": "dir"}
# Storages nested in another's path or pool: a zvol of rpool/data is never rpool's volume
# (ZFSPoolPlugin.pm parse_volname), nor a disk of `inner` local's.


def props(value: str) -> tuple[str, dict[str, str]]:
    """``a,b=c,d=e`` -> (``a``, {b: c, d: e})."""
    head, *rest = value.split(",")
    return head, dict(p.split("=", 1) for p in rest)


def volume_path(vol: str, vmid: int) -> tuple[str, str]:
    """PVE::Storage::path for the test storages: (path, format)."""
    sid, _, name = vol.partition(":")
    if sid == "local":
        return f"/var/lib/vz/images/{vmid}/{name.split('/')[-1]}", "qcow2"
    if sid == "share":
        return f"/mnt/pve/share/images/{vmid}/{name.split('/')[-1]}", "qcow2"
    if sid == "local-lvm":
        return f"/dev/pve/{name}", "raw"
    if sid == "thick":
        return f"/dev/big/{name}", "raw"
    if sid == "ceph":
        return f"rbd:rbd/{name}:conf=/etc/pve/ceph.conf:id=admin", "raw"
    if sid == "ceph-ns":
        return f"rbd:rbd/tenant/{name}:conf=/etc/pve/ceph.conf:id=admin", "raw"
    if sid == "local-zfs":
        return f"/dev/zvol/rpool/data/{name}", "raw"
    if sid == "rpool-all":
        return f"/dev/zvol/rpool/{name}", "raw"
    if sid == "inner":
        return f"/var/lib/vz/inner/images/{vmid}/{name.split('/')[-1]}", "qcow2"
    raise ValueError(vol)


def size_bytes(size: str) -> int:
    return int(size[:-1]) << {"K": 10, "M": 20, "G": 30}[size[-1]]


def cpu_arg(conf: dict[str, str]) -> str:
    model, opts = props(conf.get("cpu", "kvm64"))
    reported = "qemu64" if model in BUILTIN else model
    flags: dict[str, str] = {"kvm_pv_unhalt": "+", "kvm_pv_eoi": "+"}
    if reported == "kvm64":
        flags.update({"lahf_lm": "+", "sep": "+"})
    for f in BUILTIN.get(model, "").split(";") + opts.get("flags", "").split(";"):
        if f:
            flags[f[1:]] = f[0]
    valued: dict[str, str] = {}
    if reported != "host":
        flags["enforce"] = ""
    if opts.get("hidden") == "1":
        valued["kvm"] = "off"
    if reported in VENDOR:
        valued["vendor"] = VENDOR[reported]
    s = reported
    if "level" in opts:
        s += f",level={opts['level']}"
    for name in sorted(set(flags) | set(valued)):
        s += f",{flags.get(name, '')}{name}" + (f"={valued[name]}" if name in valued else "")
    if "guest-phys-bits" in opts:
        s += f",guest-phys-bits={opts['guest-phys-bits']}"
    if "phys-bits" in opts:
        s += ",host-phys-bits=true" if opts["phys-bits"] == "host" \
            else f",phys-bits={opts['phys-bits']}"
    return s


def drive_arg(slot: str, conf_value: str, vmid: int) -> tuple[str, str, dict[str, str]]:
    """(``-drive`` value, path, options) per Drive.pm print_drive_commandline_full."""
    vol, opts = props(conf_value)
    path, fmt = volume_path(vol, vmid)
    stype = STORAGE_TYPE[vol.split(":")[0]]
    s = f"file={path},if=none,id=drive-{slot}"
    for o in ("cache", "aio", "discard"):
        if o in opts:
            s += f",{o}={opts[o]}"
    s += f",format={fmt}"
    direct = opts.get("cache", "none") in ("none", "directsync")
    if "cache" not in opts:
        s += ",cache=none"
    if "aio" not in opts:
        if stype not in ("lvm", "cifs"):
            s += ",aio=io_uring"
        else:
            s += ",aio=native" if direct else ",aio=threads"
    s += ",detect-zeroes=" + ("unmap" if opts.get("discard") == "on" else "on")
    return s, path, opts


def command_line(conf: dict[str, str], vmid: int) -> tuple[
        list[str], dict[str, int], dict[str, str], tuple[str, bool] | None]:
    """(argv, disk sizes by path, tap -> bridge, swtpm) that qemu-server would give ``conf``.

    The last three are what the running node shows beside the command line
    (``blockdev --getsize64``, ``ip link``, the swtpm process)."""
    sizes: dict[str, int] = {}
    taps: dict[str, str] = {}
    swtpm: tuple[str, bool] | None = None
    q35 = conf.get("machine", "pc").split(",")[0].startswith(("q35", "pc-q35"))
    pcibus = "pcie.0" if q35 else "pci.0"
    boot = conf.get("boot", "")
    order = boot[len("order="):].split(";") if boot.startswith("order=") else []
    bootindex = {dev: 100 + i for i, dev in enumerate(order)}

    def bi(dev: str) -> str:
        return f",bootindex={bootindex[dev]}" if dev in bootindex else ""

    a = ["/usr/bin/kvm", "-id", str(vmid)]
    a += ["-name", f"{conf.get('name', f'vm{vmid}')},debug-threads=on", "-no-shutdown"]
    a += ["-chardev", f"socket,id=qmp,path=/var/run/qemu-server/{vmid}.qmp,server=on,wait=off",
          "-mon", "chardev=qmp,mode=control",
          "-pidfile", f"/var/run/qemu-server/{vmid}.pid", "-daemonize",
          "-smbios", f"type=1,{conf['smbios1']}"]
    if conf.get("bios") == "ovmf":
        efi = conf.get("efidisk0")
        four_m = efi is not None and "efitype=4m" in efi
        code = "OVMF_CODE_4M.fd" if four_m else "OVMF_CODE.fd"
        a += ["-drive", "if=pflash,unit=0,format=raw,readonly=on,"
                        f"file=/usr/share/pve-edk2-firmware//{code}"]
        if efi is not None:
            vol, eopts = props(efi)
            path, fmt = volume_path(vol, vmid)
            sizes[path] = size_bytes(eopts["size"])
            a += ["-drive", f"if=pflash,unit=1,id=drive-efidisk0,format={fmt},file={path},"
                            f"size={540672 if four_m else 131072}"]
        else:
            a += ["-drive", f"if=pflash,unit=1,id=drive-efidisk0,format=raw,"
                            f"file=/tmp/{vmid}-ovmf.fd,size=131072"]
    sockets, cores = int(conf["sockets"]), int(conf["cores"])
    maxcpus = sockets * cores
    vcpus = int(conf.get("vcpus", maxcpus))
    hot_cpu = "cpu" in conf.get("hotplug", "").split(",")
    a += ["-smp", f"{1 if hot_cpu else vcpus},sockets={sockets},cores={cores},"
                  f"maxcpus={maxcpus}", "-nodefaults"]
    a += ["-boot", "menu=on,strict=on,reboot-timeout=1000,"
                   "splash=/usr/share/qemu-server/bootsplash.jpg"]
    vga = conf.get("vga", "std")
    if vga == "none":
        a += ["-vga", "none"]
    if vga in ("none", "serial0"):
        a += ["-nographic"]
    else:
        a += ["-vnc", f"unix:/var/run/qemu-server/{vmid}.vnc,password=on"]
    a += ["-cpu", cpu_arg(conf), "-m", conf["memory"]]
    if conf.get("numa") == "1":
        per = int(conf["memory"]) // sockets
        for n in range(sockets):
            lo, hi = n * cores, n * cores + cores - 1
            cpus = str(lo) if lo == hi else f"{lo}-{hi}"
            a += ["-object", f"memory-backend-ram,id=ram-node{n},size={per}M",
                  "-numa", f"node,nodeid={n},cpus={cpus},memdev=ram-node{n}"]
    if q35:
        a += ["-readconfig", "/usr/share/qemu-server/pve-q35-4.0.cfg"]
    else:
        a += ["-device", "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e"]
    if "vmgenid" in conf:
        a += ["-device", f"vmgenid,guid={conf['vmgenid']}"]
    machine, mopts = props(conf.get("machine", "pc"))
    if mopts.get("viommu") == "intel":
        a += ["-device", "intel-iommu,intremap=on,caching-mode=on"
              + (f",aw-bits={mopts['aw-bits']}" if "aw-bits" in mopts else "")]
    elif mopts.get("viommu") == "virtio":
        a += ["-device", f"virtio-iommu-pci,bus={pcibus},addr=0x1d"
              + (f",aw-bits={mopts['aw-bits']}" if "aw-bits" in mopts else "")]
    usbs = sorted(k for k in conf if k.startswith("usb"))
    if any("usb3=1" in conf[k] for k in usbs):
        a += ["-device", "nec-usb-xhci,id=xhci,bus=pci.1,addr=0x1b"]
    if vga != "serial0" and vga != "qxl":
        a += ["-device", f"usb-tablet,id=tablet,bus={'ehci' if q35 else 'uhci'}.0,port=1"]
    for k in usbs:
        host, uopts = props(conf[k])
        spec = host[len("host="):]
        bus = "bus=xhci.0," if uopts.get("usb3") == "1" else ""
        if ":" in spec:
            ven, prod = spec.split(":")
            a += ["-device", f"usb-host,{bus}vendorid=0x{ven},productid=0x{prod},id={k}"]
        else:
            hb, hp = spec.split("-")
            a += ["-device", f"usb-host,{bus}hostbus={hb},hostport={hp},id={k}"]
    for n, k in enumerate(sorted(k for k in conf if k.startswith("hostpci"))):
        host, hopts = props(conf[k])
        # PCI.pm print_hostpci_devices: a root port for pcie=1 (pcie.0 itself for win7),
        # the legacy-igd slot 0:2, else get_pci_addr_map's hostpciN (bus 0 is pci.0 on q35
        # too: the pci-bridge of pve-q35-4.0.cfg)
        if hopts.get("pcie") == "1":
            where = f"bus=ich9-pcie-port-{n + 1},addr=0x0"
        elif hopts.get("legacy-igd") == "1":
            where = "bus=pci.0,addr=0x2"
        else:
            where = "bus=pci.0,addr=" + ("0x10", "0x11", "0x1b", "0x1c")[n]
        a += ["-device", f"vfio-pci,host=0000:{host},id={k},{where}"
              + (",rombar=0" if hopts.get("rombar") == "0" else "") + bi(k)]
    if vga in ("std", "qxl", "virtio"):
        dev = {"std": "VGA", "qxl": "qxl-vga", "virtio": "virtio-vga"}[vga]
        a += ["-device", f"{dev},id=vga,bus={pcibus},addr={'0x1' if q35 else '0x2'}"]
    if "serial0" in conf:
        a += ["-chardev", f"socket,id=serial0,path=/var/run/qemu-server/{vmid}.serial0,"
                          "server=on,wait=off", "-device", "isa-serial,chardev=serial0"]
    if conf.get("agent") == "1":
        a += ["-chardev", f"socket,path=/var/run/qemu-server/{vmid}.qga,server=on,wait=off,"
                          "id=qga0", "-device", "virtio-serial,id=qga0,bus=pci.0,addr=0x8",
              "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]
    if conf.get("balloon") != "0":
        a += ["-device", "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3,"
                         "free-page-reporting=on"]
    if "tpmstate0" in conf:
        vol, topts = props(conf["tpmstate0"])
        path, _fmt = volume_path(vol, vmid)
        sizes[path] = size_bytes(topts["size"])
        swtpm = (path, topts.get("version", "v1.2") == "v2.0")
        a += ["-chardev", f"socket,id=tpmchar,path=/var/run/qemu-server/{vmid}.swtpm",
              "-tpmdev", "emulator,id=tpmdev,chardev=tpmchar", "-device", "tpm-tis,tpmdev=tpmdev"]
    a += ["-iscsi", "initiator-name=iqn.1993-08.org.debian:01:aabbccddeeff"]
    scsihw = conf.get("scsihw", "lsi")
    disks = [k for k in ("scsi0", "scsi1", "scsi2", "virtio0", "virtio1", "sata0", "sata1",
                         "ide0", "ide1") if k in conf]
    if any(d.startswith("sata") for d in disks):
        a += ["-device", "ahci,id=ahci0,multifunction=on,bus=pci.0,addr=0x7"]
    if scsihw != "virtio-scsi-single" and any(d.startswith("scsi") for d in disks):
        a += ["-device", f"{'lsi' if scsihw == 'lsi' else scsihw},id=scsihw0,bus=pci.0,"
                         "addr=0x5"]
    for d in disks:
        drive, path, dopts = drive_arg(d, conf[d], vmid)
        sizes[path] = size_bytes(dopts["size"])
        n = int(d[-1])
        ssd = ",rotation_rate=1" if dopts.get("ssd") == "1" else ""
        if d.startswith("virtio"):
            it = ""
            if dopts.get("iothread") == "1":
                a += ["-object", f"iothread,id=iothread-{d}"]
                it = f",iothread=iothread-{d}"
            a += ["-drive", drive, "-device", f"virtio-blk-pci,drive=drive-{d},id={d},"
                                              f"bus=pci.0,addr=0x{10 + n:x}{it}{bi(d)}"]
        elif d.startswith("scsi"):
            bus = "scsihw0.0"
            if scsihw == "virtio-scsi-single":
                it = ""
                if dopts.get("iothread") == "1":
                    a += ["-object", f"iothread,id=iothread-virtioscsi{n}"]
                    it = f",iothread=iothread-virtioscsi{n}"
                a += ["-device", f"virtio-scsi-pci,id=virtioscsi{n},bus=pci.3,addr=0x{n + 1}{it}"]
                bus = f"virtioscsi{n}.0"
            a += ["-drive", drive, "-device", f"scsi-hd,bus={bus},channel=0,scsi-id=0,lun={n},"
                                              f"drive=drive-{d},id={d}{ssd}{bi(d)}"]
        elif d.startswith("sata"):
            a += ["-drive", drive, "-device", f"ide-hd,bus=ahci0.{n},drive=drive-{d},id={d}"
                                              f"{ssd}{bi(d)}"]
        else:
            a += ["-drive", drive, "-device", f"ide-hd,bus=ide.{n},unit=0,drive=drive-{d},"
                                              f"id={d}{ssd}{bi(d)}"]
    for k in sorted(k for k in conf if k.startswith("net")):
        model_mac, nopts = props(conf[k])
        model, mac = model_mac.split("=")
        tap = f"tap{vmid}i{k[3:]}"
        taps[tap] = nopts["bridge"] + (f"v{nopts['tag']}" if "tag" in nopts else "")
        nd = f"type=tap,id={k},ifname={tap},script=/var/lib/qemu-server/pve-bridge," \
             "downscript=/var/lib/qemu-server/pve-bridgedown"
        if model == "virtio":
            nd += ",vhost=on" + (f",queues={nopts['queues']}" if "queues" in nopts else "")
            dev = f"virtio-net-pci,mac={mac},netdev={k},bus=pci.0,addr=0x1{k[3:]},id={k}," \
                  "rx_queue_size=1024,tx_queue_size=256"
        else:
            dev = f"{model},mac={mac},netdev={k},bus=pci.0,addr=0x1{k[3:]},id={k}"
        a += ["-netdev", nd, "-device", dev + bi(k)]
    if hot_cpu:
        model = cpu_arg(conf).split(",")[0]
        for i in range(2, vcpus + 1):
            core = (i - 1) % cores
            a += ["-device", f"{model}-x86_64-cpu,id=cpu{i},socket-id={(i - 1 - core) // cores},"
                             f"core-id={core},thread-id=0"]
    mtype = {"pc": "pc+pve0", "q35": "q35+pve0"}.get(machine)
    if mtype is None:
        mtype = machine if "+pve" in machine else f"{machine}+pve0"
    a += ["-machine", ("kernel-irqchip=split," if mopts.get("viommu") == "intel" else "")
          + f"type={mtype}"]
    if "args" in conf:
        a += shlex.split(conf["args"])
    return a, sizes, taps, swtpm
