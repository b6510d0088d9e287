"""NICs, display, USB, serial ports, PCI passthrough and the other -device lines.

Rules derived from qemu-server's source: ``PVE/QemuServer.pm`` (``print_netdevice_full``/
``print_netdev_full``: the MAC, model and ``queues``; the bridge is not on the command line;
``get_vga_properties`` and config_to_command: a display device plus ``-vnc``, or
``-vga none -nographic`` for ``vga: none`` and ``-nographic`` alone for ``serialN``;
``print_vga_device``: ``vgamem_mb``, ``max_hostmem`` for virtio; the agent, RNG, watchdog and
audio devices; ``args:`` is appended after ``-machine``), ``PVE/QemuServer/PCI.pm``
(``print_hostpci_devices``: one ``vfio-pci`` per function, ``x-vga=on`` only without OVMF,
``kvm=off`` and vga type none for ``x-vga=1``, ``rombar``/``romfile``/``x-pci-*`` ids,
``bootindex``) and ``PVE/QemuServer/USB.pm`` (``usb-host`` by bus/port or vendor:product,
``usb3`` on an xhci bus, spice ``usb-redir``).
"""

from __future__ import annotations

import json
import re
import shlex

from pverunbook.pve.digits import is_uint
from pverunbook.pve.qemu.optstr import jstr, kv, prop
from pverunbook.pve.qemu.state import Recovery

_NET_MODELS = {
    "virtio-net-pci": "virtio", "virtio-net-device": "virtio", "e1000": "e1000",
    "e1000-82540em": "e1000-82540em", "e1000-82544gc": "e1000-82544gc",
    "e1000-82545em": "e1000-82545em", "e1000e": "e1000e", "i82551": "i82551",
    "i82557b": "i82557b", "i82559er": "i82559er", "ne2k_isa": "ne2k_isa",
    "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "rtl8139": "rtl8139", "vmxnet3": "vmxnet3",
}
SCSIHW = {"lsi": "lsi", "lsi53c895a": "lsi", "lsi53c810": "lsi53c810", "megasas": "megasas",
           "pvscsi": "pvscsi", "virtio-scsi-pci": "virtio-scsi-pci"}
_VGA = {"VGA": "std", "cirrus-vga": "cirrus", "vmware-svga": "vmware", "qxl-vga": "qxl",
        "virtio-vga": "virtio", "virtio-gpu-pci": "virtio", "virtio-vga-gl": "virtio-gl",
        "virtio-gpu-gl-pci": "virtio-gl", "virtio-gpu": "virtio", "ramfb": "none"}
_NOT_ON_CMDLINE = (
    "onboot, startup order, description/notes, tags, protection, HA membership, snapshots, "
    "hookscript and cloud-init settings are not on the command line; take them from the "
    "guest's newest vzdump or Proxmox Backup Server backup (its archive holds the VM's config: "
    "qemu-server.conf), or a copy of config.db made before the loss, or set them again. Not "
    "from /var/lib/pve-cluster/backup: that holds a joining node's pre-join database"
)
# Sources: vzdump.adoc ("backups ... containing the VM/CT configuration and all data");
# Cluster.pm cfs_backup_database, called only by Setup.pm finish_join (a node that joins, and
# assert_joinable refuses one with guests): no cluster VM config is ever in that directory.

def nets(r: Recovery) -> None:
    netdevs: dict[str, dict[str, str]] = {}
    for v in r.all("-netdev"):
        if v.lstrip().startswith("{"):
            try:
                jn = json.loads(v)
            except ValueError:
                continue
            nd = {str(a): jstr(b) for a, b in jn.items()}
        else:
            head, nd = kv(v)
            if head and "type" not in nd:
                nd["type"] = head
        netdevs[nd.get("id", "")] = nd
    bridges_missing: list[str] = []
    for drv, dd in r.devices:
        nid = dd.get("id", "")
        if not re.fullmatch(r"net\d+", nid):
            continue
        model = _NET_MODELS.get(drv)
        if model is None:
            r.missing.append(f"{nid}: NIC model {drv!r} is not one qemu-server writes; "
                             "set it by hand")
            continue
        opts: dict[str, str] = {}
        nd = netdevs.get(dd.get("netdev", nid), {})
        if nd.get("queues"):
            opts["queues"] = nd["queues"]
        mtu = dd.get("host_mtu")
        if mtu and not (r.modern and mtu == "1500" and "-blockdev" in r.argv):
            opts["mtu"] = mtu
        if "romfile" in dd and not dd["romfile"].startswith("pxe-"):
            opts["romfile"] = dd["romfile"]  # not a config key in PVE <8.1; kept visible
        if dd.get("romfile") == "":
            pass
        if nd.get("type") == "tap":
            tap = nd.get("ifname", f"tap{r.vmid}i{nid[3:]}")
            bridge = r.tap_bridges.get(tap)
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
            r.missing.append(f"{nid}: netdev type {nd.get('type')!r} is not one qemu-server writes "
                             "(tap or user)")
        if "bootindex" in dd and is_uint(dd["bootindex"]):
            r.bootindex[nid] = int(dd["bootindex"])
        mac = dd.get("mac", "")
        r.o[nid] = prop(f"{model}={mac}", opts)
        r.nets.append(nid)
    if bridges_missing:
        r.todos.append(
            "bridge/tag/firewall/rate/trunks/link_down of " + ", ".join(bridges_missing)
            + " are not on the command line; find the bridge with `ip -o link show "
            "<tap>` (master), VLAN with `bridge vlan show dev <tap>`, and add "
            "bridge=...[,tag=...][,firewall=1]")


def display_and_usb(r: Recovery) -> None:
    vga: str | None = None
    qxl = 0
    vga_mem: str | None = None
    for drv, dd in r.devices:
        if dd.get("id") == "vga" and drv in _VGA:
            vga = _VGA[drv]
            if "vgamem_mb" in dd:
                vga_mem = dd["vgamem_mb"]
            if is_uint(dd.get("max_hostmem", "")):  # print_vga_device: virtio types
                vga_mem = str(int(dd["max_hostmem"]) >> 20)
            if drv == "qxl-vga":
                qxl = 1
                if "ram_size" in dd:
                    vga_mem = str(int(dd["ram_size"]) // (1 << 20) // 2)
        elif drv == "qxl" and re.fullmatch(r"vga\d+", dd.get("id", "")):
            qxl += 1
    if vga == "qxl" and qxl > 1:
        vga = f"qxl{qxl}"
    if vga is None and r.has("-nographic"):
        # config_to_command: no display device -> `-vga none` for type none, then always
        # `-nographic`; a serialN type gives `-nographic` alone.  A GPU with x-vga=1 sets the
        # type to none itself when vga: is not set (PCI.pm print_hostpci_devices).
        if r.one("-vga") == "none":
            vga = None if r.gpu_passthrough else "none"
        else:
            serials = sorted(int(cid[6:]) for cid in r.chardevs if re.fullmatch(r"serial\d", cid))
            vga = f"serial{serials[0] if serials else 0}"
            if not serials:
                r.warn.append("vga: serial0 read from -nographic, but the VM has no serial "
                              "port; add serial0: socket")
    vopts: dict[str, str] = {}
    if vga_mem and vga in ("std", "vmware", "cirrus", "virtio", "virtio-gl"):
        vopts["memory"] = vga_mem
    if vga_mem and vga and vga.startswith("qxl"):
        vopts["memory"] = vga_mem
    spice = r.one("-spice") or ""
    _h, sd = kv(spice)
    if "clipboard=on" in " ".join(r.all("-vnc")) or \
            any(dd.get("name") == "com.redhat.spice.0" and
                r.chardevs.get(dd.get("chardev", ""), ("", {}))[0] == "qemu-vdagent"
                for _d, dd in r.devices):
        vopts["clipboard"] = "vnc"
    if vga is not None and (vga != "std" or vopts):
        r.o["vga"] = prop(vga, vopts)
    if vga and vga.startswith("serial"):
        r.o["vga"] = vga
    if spice:
        enh: dict[str, str] = {}
        if "foldershare" in r.chardevs:
            enh["foldersharing"] = "1"
        if sd.get("streaming-video") and sd["streaming-video"] != "off":
            enh["videostreaming"] = sd["streaming-video"]
        if enh:
            r.o["spice_enhancements"] = prop(None, enh)
    # tablet
    tablet = any(drv == "usb-tablet" for drv, _ in r.devices)
    if not tablet and not qxl and not (vga or "").startswith("serial"):
        r.o["tablet"] = "0"
    if tablet and (qxl or (vga or "").startswith("serial")):
        r.o["tablet"] = "1"
    # usb
    xhci = next((drv for drv, dd in r.devices if dd.get("id") == "xhci"), None)
    for drv, dd in r.devices:
        uid = dd.get("id", "")
        m = re.fullmatch(r"usbredirdev(\d+)", uid)
        if drv == "usb-redir" and m:
            opts: dict[str, str] = {}
            if dd.get("bus", "").startswith("xhci") and xhci == "nec-usb-xhci":
                opts["usb3"] = "1"
            r.o[f"usb{m.group(1)}"] = prop("spice", opts)
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
            r.o[uid] = prop(f"host={host}", opts)
            if "bootindex" in dd:
                r.bootindex[uid] = int(dd["bootindex"])
    if xhci == "qemu-xhci" and not r.windows:
        r.ostype_hint = "l26"
    # serial / parallel; on aarch64 serial0 is the board's UART, `-serial chardev:serial0`
    # (config_to_command)
    for v in r.all("-serial"):
        m = re.fullmatch(r"chardev:(serial\d+)", v)
        if m and r.chardevs.get(m.group(1), ("", {}))[0] == "socket":
            r.o[m.group(1)] = "socket"
        elif v != "none":
            r.missing.append(f"-serial {v}: not one qemu-server writes")
    for drv, dd in r.devices:
        if drv == "isa-serial":
            cid = dd.get("chardev", "")
            ch = r.chardevs.get(cid)
            m = re.fullmatch(r"serial(\d+)", cid)
            if not ch or not m:
                continue
            kind, cd = ch
            if kind == "socket":
                r.o[f"serial{m.group(1)}"] = "socket"
            elif kind in ("tty", "serial"):
                r.o[f"serial{m.group(1)}"] = cd.get("path", "")
        elif drv == "isa-parallel":
            cid = dd.get("chardev", "")
            ch = r.chardevs.get(cid)
            m = re.fullmatch(r"parallel(\d+)", cid)
            if ch and m:
                r.o[f"parallel{m.group(1)}"] = ch[1].get("path", "")


# PCI.pm get_pcie_addr_map ``hostpciNbus0``: where print_hostpci_devices puts a ``pcie=1``
# device when ``$winversion == 7`` ("win7 wants to have the pcie devices directly on the pcie
# bus instead of in the root port"); other versions use root port ``ich9-pcie-port-<N+1>``.
WIN7_PCIE_ADDR = {0: 16, 1: 17, 2: 18, 3: 19, 4: 9, 5: 10, 6: 11, 7: 12, 8: 13, 9: 14, 10: 15,
                  11: 21, 12: 22, 13: 23, 14: 24, 15: 25}
# PCI.pm get_pci_addr_map ``legacy-igd``: bus 0 (``pci.0``) slot 2, the slot of the VGA device
# that legacy-igd=1 requires to be absent (``vga: none``); no other hostpci is put there.
LEGACY_IGD_ADDR = ("pci.0", 2)


def _addr(text: str) -> int | None:
    """A ``-device`` ``addr=`` value (``0x10``, ``16``, ``0x1.0x2``) as its slot number."""
    m = re.fullmatch(r"(0x[0-9a-fA-F]+|\d+)(?:\.(?:0x)?[0-9a-fA-F]+)?", text.strip())
    return int(m.group(1), 0) if m else None


def passthrough(r: Recovery) -> None:
    """Which hostpci is the guest's primary GPU (``x-vga=1``), from PCI.pm
    print_hostpci_devices: with SeaBIOS the vfio device carries ``x-vga=on``; with OVMF it
    does not, and the evidence is what x-vga=1 does to the rest of the command line —
    ``kvm=off`` on ``-cpu``, and ``-vga none -nographic`` when ``vga:`` is not set.  Which of
    several hostpci entries had it cannot be told (the command line is the same for each):
    the first is used, with a note.  A ``pcie=1`` device on ``pcie.0`` itself (not a root
    port) says ``$winversion == 7`` (PCI.pm ``hostpciNbus0``), read before the ostype is.
    """
    for drv, dd in r.devices:
        m = re.fullmatch(r"hostpci(\d+)(?:\.\d+)?", dd.get("id", ""))
        if drv != "vfio-pci" or not m:
            continue
        slot = int(m.group(1))
        if dd.get("bus") == "pcie.0" and _addr(dd.get("addr", "")) == WIN7_PCIE_ADDR.get(slot):
            r.win7 = True
            r.windows = max(r.windows, 7)
    slots = sorted({int(m.group(1)) for _drv, dd in r.devices if _drv == "vfio-pci"
                    for m in [re.fullmatch(r"hostpci(\d+)(?:\.\d+)?", dd.get("id", ""))] if m})
    explicit = [int(m.group(1)) for drv, dd in r.devices if drv == "vfio-pci"
                and dd.get("x-vga") == "on"
                for m in [re.fullmatch(r"hostpci(\d+)(?:\.\d+)?", dd.get("id", ""))] if m]
    if explicit:
        r.gpu_passthrough = True
        r.xvga_slots = set(explicit)
        return
    if r.ovmf and slots and r.kvm_off and r.one("-vga") == "none" and r.has("-nographic"):
        r.gpu_passthrough = True
        r.xvga_slots = {slots[0]}
        r.notes.append(
            f"hostpci{slots[0]}: x-vga=1 read from OVMF + kvm=off + -vga none -nographic "
            "(qemu-server writes no x-vga=on for OVMF)"
            + (f"; any of hostpci{', hostpci'.join(map(str, slots))} gives the same command "
               "line - move x-vga=1 to the GPU" if len(slots) > 1 else ""))


def misc_devices(r: Recovery) -> None:
    hostpci: dict[str, list[dict[str, str]]] = {}
    for drv, dd in r.devices:
        did = dd.get("id", "")
        if drv == "vmgenid" and "guid" in dd:
            r.o["vmgenid"] = dd["guid"]
        elif drv == "virtserialport" and dd.get("name") == "org.qemu.guest_agent.0":
            r.o["agent"] = "1"
        elif drv == "isa-serial" and dd.get("chardev") == "qga0":
            r.o["agent"] = "1,type=isa"
        elif drv == "virtio-rng-pci" or drv == "virtio-rng-device":
            obj = r.objects.get(dd.get("rng", ""))
            ropts: dict[str, str] = {}
            if obj:
                ropts["source"] = str(obj[1].get("filename", ""))
            if dd.get("max-bytes", "1024") != "1024":
                ropts["max_bytes"] = dd["max-bytes"]
            if dd.get("period", "1000") != "1000":
                ropts["period"] = dd["period"]
            src = ropts.pop("source", "/dev/urandom")
            r.o["rng0"] = prop(f"source={src}", ropts)
        elif drv in ("i6300esb", "ib700"):
            wopts = {}
            act = r.one("-watchdog-action")
            if act and act != "reset":
                wopts["action"] = act
            r.o["watchdog"] = prop(f"model={drv}", wopts)
        elif drv in ("ich9-intel-hda", "intel-hda", "AC97") and did == "audiodev0":
            backend = dd.get("audiodev", "")
            for _drv2, dd2 in r.devices:
                if dd2.get("bus", "").startswith("audiodev0") and dd2.get("audiodev"):
                    backend = dd2["audiodev"]
            audiodrv = "spice"
            for av in r.all("-audiodev"):
                ah, ad = kv(av)
                if ad.get("id") == backend:
                    audiodrv = ah or ad.get("driver", "spice")
            aopts = {"device": drv}
            if audiodrv != "spice":
                aopts["driver"] = audiodrv
            r.o["audio0"] = prop(None, aopts)
        elif drv == "vfio-pci":
            m = re.fullmatch(r"hostpci(\d+)(?:\.(\d+))?", did)
            if m:
                hostpci.setdefault(m.group(1), []).append(dd)
    for idx, devs in sorted(hostpci.items()):
        r.o[f"hostpci{idx}"] = hostpci_value(r, int(idx), devs)
    if hostpci:
        r.todos.append("hostpciN: a PCI resource mapping (mapping=<name>) cannot be told "
                          "from a raw host address; use mapping= if the cluster had one")


def hostpci_value(r: Recovery, slot: int, devs: list[dict[str, str]]) -> str:
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
            r.missing.append(f"hostpci{slot}: mediated device {mm.group(1)}; set "
                             "host=<parent PCI address>,mdev=<type> by hand")
    bus, slot_addr = first.get("bus", ""), _addr(first.get("addr", ""))
    if re.match(r"ich9-pcie-port-\d+", bus) or (
            bus == "pcie.0" and slot_addr == WIN7_PCIE_ADDR.get(slot)):
        # print_hostpci_devices: print_pcie_addr("hostpciN") (a root port) or, for win7,
        # print_pcie_addr("hostpciNbus0") (pcie.0 itself)
        opts["pcie"] = "1"
    elif (bus, slot_addr) == LEGACY_IGD_ADDR and not r.q35 and r.arch == "x86_64":
        # print_hostpci_devices: $pci_name = 'legacy-igd' for a legacy-igd=1 device
        opts["legacy-igd"] = "1"
    if first.get("rombar") == "0":
        opts["rombar"] = "0"
    if slot in r.xvga_slots:
        opts["x-vga"] = "1"
    if is_uint(first.get("bootindex", "")):
        r.bootindex[f"hostpci{slot}"] = int(first["bootindex"])
    if "romfile" in first:
        opts["romfile"] = first["romfile"].rsplit("/", 1)[-1]
    for k in ("vendor-id", "device-id", "sub-vendor-id", "sub-device-id"):
        if f"x-pci-{k}" in first:
            opts[k] = first[f"x-pci-{k}"]
    return prop(addr, opts)


def rtc(r: Recovery) -> None:
    rtc = r.one("-rtc")
    _h, d = kv(rtc or "")
    local = d.get("base") == "localtime"
    tdf = d.get("driftfix") == "slew"
    # Cfg2Cmd/Timer.pm generate: `-global kvm-pit.lost_tick_policy=discard` (and hpet=off on
    # the machine) only for windows_version >= 6; older qemu-server wrote -no-hpet instead
    kvm_pit = "kvm-pit.lost_tick_policy=discard" in r.all("-global")
    win = r.windows > 0 or r.has("-no-hpet") or kvm_pit
    if r.windows == 0 and (r.has("-no-hpet") or kvm_pit):
        r.windows = 6
    if not win and r.hpet_off and r.ostype_hint is None:
        # Timer.pm: hpet=off without Windows only for `is_linux` (ostype l26) on a machine
        # version >= 10.1
        r.ostype_hint = "l26"
        r.notes.append("ostype: l26 read from hpet=off on -machine without Windows flags "
                       "(Cfg2Cmd/Timer.pm: qemu-server turns HPET off for l26 guests from "
                       "machine version 10.1 on)")
    if d.get("base") and d["base"] not in ("localtime", "utc"):
        r.o["startdate"] = d["base"]
    if win:
        if not local and "startdate" not in r.o:
            r.o["localtime"] = "0"
        if not tdf and r.o.get("acpi") != "0":
            r.o["tdf"] = "0"
    else:
        if local:
            r.o["localtime"] = "1"
        if tdf:
            r.o["tdf"] = "1"
    hint = r.ostype_hint
    if r.win11:
        # CPUConfig.pm get_pve_cpu_flags: -cet-ibt,-cet-ss only for $winversion >= 11
        r.o["ostype"] = "win11"
    elif r.win7:
        # PCI.pm print_hostpci_devices: a pcie=1 device on pcie.0 only for $winversion == 7,
        # which Helpers.pm windows_version gives for ostype win7 alone
        r.o["ostype"] = "win7"
    elif r.windows:
        guess = "win10" if r.windows >= 7 else "w2k8"
        if r.windows >= 7 and any(drv.startswith("tpm-") for drv, _ in r.devices):
            guess = "win11"
        r.o["ostype"] = guess
        # Helpers.pm windows_version: wvista/w2k8 -> 6, winN -> N; get_hyperv_enlightenments
        # gives the same flags for every version >= 7, so only the class is on the command line
        r.todos.append(
            "ostype: the Hyper-V flags read give Windows version class "
            + (">= 7 (win7, win8, win10, win11 print the same flags)" if r.windows >= 7
               else "6 (wvista, w2k8)")
            + f"; {guess} makes qemu-server print them the same way, but the Windows release "
            "itself is not on the command line: set the real one")
    elif hint:
        r.o["ostype"] = hint
        if hint == "l26" and not r.hpet_off:
            r.warn.append("ostype: l26 inferred from the qemu-xhci USB controller (only "
                             "used for l26 and Windows > 7)")
    else:
        r.todos.append("ostype: not on the command line (no Windows flags seen); Linux "
                          "guests use ostype: l26, others 'other'")


def leftovers(r: Recovery) -> None:
    known = {
        "-id", "-name", "-no-shutdown", "-chardev", "-mon", "-pidfile", "-daemonize",
        "-smbios", "-smp", "-nodefaults", "-boot", "-vnc", "-cpu", "-m", "-device",
        "-drive", "-blockdev", "-netdev", "-machine", "-object", "-numa", "-global",
        "-iscsi", "-readconfig", "-rtc", "-no-hpet", "-nographic", "-spice", "-k",
        "-snapshot", "-no-acpi", "-S", "-tpmdev", "-audiodev", "-watchdog-action",
        "-vga", "-incoming", "-serial", "-parallel", "-fw_cfg", "-display", "-bios",
        "-no-reboot", "-loadstate",
    }
    unknown = sorted({k for k, _ in r.opts if k not in known})
    if unknown:
        r.missing.append("options qemu-server does not write and no rule here reads: "
                         + " ".join(unknown))
    if r.started_paused:
        r.notes.append("-S at the very end: vm_start adds it for a start in paused state (e.g. "
                       "a backup of a stopped VM); that is not freeze: 1. If the config's "
                       "args: ended in -S instead, add it there")
    elif any(k == "-loadstate" for k, _ in r.start_opts):
        r.notes.append("-loadstate at the very end: vm_start's state file "
                       "(StateFile.pm statefile_cmdline_option), not part of the config")
    if r.migration_target:
        r.notes.append("-incoming ... -S: this process was started as a live-migration target "
                       "(qemu-server's vm_start adds both); that is not freeze: 1")
    if r.args_opts:
        toks: list[str] = []
        for k, v in r.args_opts:
            toks.append(k)
            if v is not None:
                toks.append(v)
        r.o["args"] = " ".join(shlex.quote(t) for t in toks)
        names = " ".join(dict.fromkeys(k for k, _v in r.args_opts))
        r.notes.append(
            f"args: {names} come after qemu-server's own -machine, where only the config's "
            "args: line (or a hand-edited command line) puts options (QemuServer.pm "
            "config_to_command); they are kept verbatim in args: and not read as config keys "
            "- drop the args: line if they were typed by hand")


def final_todos(r: Recovery) -> None:
    r.todos.append(_NOT_ON_CMDLINE)
    # keep unique, in order
    r.cfg.todos[:] = list(dict.fromkeys(r.todos))
    r.cfg.warnings[:] = list(dict.fromkeys(r.warn))
    if r.o.get("boot") == " ":
        r.o["boot"] = ""
