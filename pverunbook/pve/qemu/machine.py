"""Machine type, CPU model and flags, sockets/cores, memory and NUMA.

Rules derived from qemu-server's source:

- ``PVE/QemuServer/Machine.pm`` (``get_vm_machine``, ``extract_version``, ``$machine_fmt``): the
  ``type=`` written is the base type, the pinned version and ``+pveN`` with the PVE revision
  the config's features need (``$required_pve_version`` in config_to_command); ``virt`` is the
  aarch64 machine; ``viommu``/``aw-bits`` come back from the ``intel-iommu``/
  ``virtio-iommu-pci`` device; Windows VMs without a pin run as 5.1 (``windows_get_pinned_...``).
- ``PVE/QemuServer/CPUConfig.pm`` (``get_cpu_options``, ``get_pve_cpu_flags``,
  ``get_hyperv_enlightenments``, ``$builtin_models``, ``$cpu_fmt``): flags qemu-server adds
  itself (``enforce``, ``+kvm_pv_*``, ``+lahf_lm``/``+sep`` on kvm64, ``vendor=``, the
  ``hv_*`` set) are not VM options; ``x86-64-v*`` are ``qemu64`` plus their flags;
  ``guest-phys-bits``/``phys-bits``/``host-phys-bits`` map to the cpu options of the same
  name; only the ``$supported_cpu_flags`` can be VM ``flags=``, anything else needs a custom
  model (reported as not understood, never named).  ``kvm=off`` is ``hidden=1`` unless a GPU
  with ``x-vga=1`` explains it (``PVE/QemuServer/PCI.pm`` print_hostpci_devices), and
  ``hv_vendor_id=proxmox`` is what that GPU adds for Windows.
- ``level=N`` right after the model is the VM's (or custom model's) ``cpu: ...,level=N``
  (``get_cpu_options``: ``$cpu_str .= ",level=${level}"`` for x86_64, from the ``level``
  option of ``$cpu_fmt``), not a custom model by itself.
- ``-cet-ibt``/``-cet-ss`` are ``get_pve_cpu_flags``' own: with a QEMU binary >= 11.0 and
  ``$winversion >= 11`` (``ostype: win11``) "to avoid issues with certain Windows
  configurations like VBS"; so they are no custom model and they say ``ostype: win11``.  The
  same function adds ``-vmx-mbec`` for ``host`` on QEMU >= 11.0 with a machine version below
  11.0, and ``get_hyperv_enlightenments`` adds ``hv_evmcs`` for Windows 11 on Intel hosts.
  Source read: qemu-server ``src/PVE/QemuServer/CPUConfig.pm`` as carried by
  https://github.com/pve-loong64-port/qemu-server (commit 190c86c), a port that tracks
  upstream qemu-server 9.x; upstream versions before these changes (e.g. proxmox/qemu-server
  0538c83) write neither.
- ``PVE/QemuServer.pm`` config_to_command: ``-smp`` (cpu hotplug starts 1 vCPU plus
  ``-device <model>-x86_64-cpu``), ``-S`` for ``freeze``, ``-no-reboot`` for ``reboot: 0``,
  ``-k``; ``PVE/QemuServer/Memory.pm`` for ``-m``/NUMA/hugepages.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from pverunbook.pve.digits import is_uint
from pverunbook.pve.qemu.optstr import kv, prop, size_mib, split_opts
from pverunbook.pve.qemu.state import Recovery

_VM_CPU_FLAGS = {"nested-virt", "pcid", "spec-ctrl", "ibpb", "ssbd", "virt-ssbd", "amd-ssbd",
                 "amd-no-ssb", "pdpe1gb", "md-clear", "hv-tlbflush", "hv-evmcs", "aes"}
_BUILTIN_CPU = {
    "x86-64-v2": "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v2-AES": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v3": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave",
    "x86-64-v4": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl",
}
_HV_WIN7 = {"hv_relaxed", "hv_synic", "hv_stimer", "hv_ipi"}
# Control-flow Enforcement flags get_pve_cpu_flags switches off for Windows 11 guests on QEMU
# >= 11.0 (CPUConfig.pm; see the module docstring).  resolve_cpu_flags prints them as
# `-cet-ibt`, `-cet-ss`.
_CET_OFF = {"-cet-ibt", "-cet-ss"}

def simple(r: Recovery) -> None:
    name = r.one("-name")
    if name is not None:
        n = split_opts(name)[0]
        if n and n != f"vm{r.vmid}":
            r.o["name"] = n
    smb = r.all("-smbios")
    for s in smb:
        head, d = kv(s)
        if d.get("type") == "1":
            r.o["smbios1"] = _smbios1(d)
    smp = r.one("-smp")
    if smp:
        head, d = kv(smp)
        nums = {k: d.get(k, "") for k in ("sockets", "cores", "maxcpus")}
        bad = {k: v for k, v in nums.items() if v and not is_uint(v)}
        if bad:
            r.missing.append(f"-smp {smp}: {', '.join(bad)} not a number")
            return
        sockets = int(nums["sockets"] or "1")
        cores = int(nums["cores"] or "1")
        maxcpus = int(nums["maxcpus"] or str(sockets * cores))
        cur = int(head) if head and is_uint(head) else maxcpus
        hot = sum(1 for drv, dd in r.devices
                  if drv.endswith("-x86_64-cpu") and dd.get("id", "").startswith("cpu"))
        r.o["sockets"] = str(sockets)
        r.o["cores"] = str(cores)
        vcpus = cur + hot
        if vcpus < sockets * cores:
            r.o["vcpus"] = str(vcpus)
        if hot:
            # config_to_command with hotplug cpu: `-smp 1,...` plus one -device per further
            # vCPU; without it `-smp <vcpus>,...` alone (so fewer vCPUs alone is `vcpus:`)
            r.hotplug("cpu")
    kb = r.one("-k")
    if kb:
        r.o["keyboard"] = kb
    if r.has("-no-reboot"):
        r.o["reboot"] = "0"  # config_to_command: -no-reboot if reboot: 0
    if r.has("-loadstate"):
        r.notes.append("-loadstate: the VM was resumed from hibernation; qemu-server removes "
                       "vmstate: from the config after that resume, so it is not rebuilt")
    if r.has("-no-acpi"):
        r.o["acpi"] = "0"
    if r.has("-S"):
        # config_to_command writes -S only for freeze: 1; the -S that vm_start adds after
        # -incoming (every live-migration target) is in r.start_opts, not here.
        r.o["freeze"] = "1"
    if r.has("-snapshot"):
        r.o["template"] = "1"


def cpu(r: Recovery) -> None:
    """``-cpu`` -> ``cpu:`` (CPUConfig.pm get_cpu_options, get_pve_cpu_flags,
    get_hyperv_enlightenments; PCI.pm print_hostpci_devices for ``kvm=off``)."""
    cpu = r.one("-cpu")
    if cpu is None:
        return
    parts = split_opts(cpu)
    model = parts[0]
    flags: list[str] = []
    vals: dict[str, str] = {}
    hv: dict[str, str] = {}
    for p in parts[1:]:
        if p.startswith("hv_") or p.startswith("hv-"):
            k, _, v = p.partition("=")
            hv[k.replace("-", "_")] = v
        elif "=" in p:
            k, _, v = p.partition("=")
            vals[k] = v
        elif p:
            flags.append(p)
    # flags PVE adds by itself (CPUConfig.pm get_pve_cpu_flags / forced flags); the CET flags
    # are switched off by qemu-server itself, they are no sign of a custom CPU model
    auto = {"enforce", "+kvm_pv_unhalt", "+kvm_pv_eoi"} | _CET_OFF
    if model == "host":
        auto.add("-vmx-mbec")  # get_pve_cpu_flags: QEMU >= 11.0 with a machine below 11.0
    if set(flags) >= _CET_OFF:
        r.win11 = True  # get_pve_cpu_flags: only for $winversion >= 11
    elif _CET_OFF & set(flags):
        r.missing.append("cpu: only one of -cet-ibt/-cet-ss; qemu-server switches off both "
                         "(Windows 11), so the other came from a custom CPU model")
    if model == "kvm64":
        auto |= {"+lahf_lm", "+sep"}
    if model == "kvm32":
        auto.add("+sep")
    if model.startswith("Opteron"):
        auto.add("-rdtscp")
    if "-x2apic" in flags:
        r.ostype_hint = "solaris"
        auto.add("-x2apic")
    user = [f for f in flags if f not in auto]
    cpu_opts: dict[str, str] = {}
    r.kvm_off = vals.pop("kvm", None) == "off"
    vals.pop("vendor", None)  # forced from the model's vendor (cpu_vendor_list)
    if vals.get("host-phys-bits") == "true":
        cpu_opts["phys-bits"] = "host"
        vals.pop("host-phys-bits")
    if "phys-bits" in vals:
        cpu_opts["phys-bits"] = vals.pop("phys-bits")
    if "guest-phys-bits" in vals:
        cpu_opts["guest-phys-bits"] = vals.pop("guest-phys-bits")
    level = vals.pop("level", None)
    if level is not None:
        if is_uint(level) and r.arch == "x86_64" and parts[1:2] == [f"level={level}"]:
            cpu_opts["level"] = level  # get_cpu_options: ",level=N" right after the model
        else:
            r.missing.append(f"cpu: level={level} is not where or what qemu-server writes "
                             "(right after the x86_64 model, a number)")
            return
    r.hv_vendor_id = hv.pop("hv_vendor_id", None)
    if hv:
        r.windows = 7 if _HV_WIN7 & set(hv) else 6
    name = model
    if model == "qemu64":
        plus = {f for f in user if f.startswith("+")}
        for bname in ("x86-64-v4", "x86-64-v3", "x86-64-v2-AES", "x86-64-v2"):
            bflags = set(_BUILTIN_CPU[bname].split(";"))
            if bflags <= plus:
                name = bname
                user = [f for f in user if f not in bflags]
                break
    user = ["+nested-virt" if f in ("+vmx", "+svm") else f for f in user]
    vm_flags = [f for f in user if f[1:] in _VM_CPU_FLAGS]
    other = [f for f in user if f[1:] not in _VM_CPU_FLAGS]
    for k, v in vals.items():
        r.missing.append(f"cpu: -cpu setting {k}={v} has no VM config key")
    if other:
        r.missing.append(
            f"cpu: flags {','.join(other)} cannot be set in a VM config; the VM used a custom "
            "CPU model from /etc/pve/virtual-guest/cpu-models.conf (reported-model "
            f"{model}): recreate that model and set cpu: custom-<name>")
        return
    if vm_flags:
        cpu_opts["flags"] = ";".join(sorted(vm_flags, key=lambda f: f[1:]))
    r.cpu_name = name
    r.cpu_opts = cpu_opts


def finish_cpu(r: Recovery) -> None:
    """Write ``cpu:`` once the passthrough devices are known (``kvm=off`` has two causes)."""
    if r.cpu_name is None:
        return
    opts = dict(r.cpu_opts)
    if r.kvm_off and not r.gpu_passthrough:
        opts["hidden"] = "1"
    vendor_id = r.hv_vendor_id
    if vendor_id is not None and not (vendor_id == "proxmox" and r.gpu_passthrough):
        opts["hv-vendor-id"] = vendor_id
    default = "cortex-a57" if r.arch == "aarch64" else ("kvm64" if r.o.get("kvm") != "0"
                                                         else "qemu64")
    if r.cpu_name == default and not opts:
        return
    r.o["cpu"] = prop(r.cpu_name, opts)


def memory(r: Recovery) -> None:
    m = r.one("-m")
    if m is None:
        return
    head, d = kv(m)
    if d.get("size") or (head is None and d):
        base = size_mib(d.get("size", "0")) or 0
        dimms = 0
        for drv, dd in r.devices:
            if drv in ("pc-dimm", "nvdimm"):
                obj = r.objects.get(dd.get("memdev", ""))
                if obj:
                    dimms += size_mib(str(obj[1].get("size", "0"))) or 0
        r.o["memory"] = str(base + dimms)
        if "slots" in d or dimms:
            r.hotplug("memory")
    elif head:
        mib = size_mib(head)
        if mib is not None:
            r.o["memory"] = str(mib)
    if any(drv.startswith("virtio-mem") for drv, _ in r.devices):
        r.todos.append("memory: virtio-mem devices present; the memory total above "
                          "excludes them - check `info memory-devices` in the monitor")
    nodes = [v for v in r.all("-numa") if v.startswith("node")]
    hp: str | None = None
    for _oid, (typ, od) in r.objects.items():
        mp = str(od.get("mem-path", ""))
        mm = re.search(r"/hugepages/kvm/(\d+)kB", mp)
        if typ == "memory-backend-file" and mm:
            hp = {"2048": "2", "1048576": "1024"}.get(mm.group(1), mm.group(1))
    if nodes:
        r.o["numa"] = "1"
        numa_custom(r, nodes)
    if hp:
        r.o["hugepages"] = hp
        r.todos.append("hugepages: 'any' cannot be told apart from the size shown; "
                          "keephugepages is not on the command line")
    has_balloon = any(drv.startswith("virtio-balloon") for drv, _ in r.devices)
    if not has_balloon:
        r.o["balloon"] = "0"
    else:
        r.todos.append("balloon: the ballooning target (minimum memory) and shares are "
                          "set at runtime, not on the command line; set balloon: <MiB> if "
                          "it differed from memory")


def numa_custom(r: Recovery, nodes: list[str]) -> None:
    """Emit numaN lines only when the layout is not the automatic one-node-per-socket."""
    custom = False
    entries: list[tuple[int, dict[str, str]]] = []
    for n in nodes:
        _h, d = kv(n)
        nodeid = int(d.get("nodeid", "0"))
        obj = r.objects.get(d.get("memdev", ""))
        od: dict[str, Any] = obj[1] if obj else {}
        e: dict[str, str] = {"cpus": d.get("cpus", "").replace("-", "-")}
        size = size_mib(str(od.get("size", "0")))
        e["memory"] = str(size)
        if od.get("host-nodes"):
            e["hostnodes"] = str(od["host-nodes"])
            custom = True
        if od.get("policy"):
            e["policy"] = str(od["policy"])
            custom = True
        entries.append((nodeid, e))
    sockets = int(r.o.get("sockets", "1"))
    cores = int(r.o.get("cores", "1"))
    if len(entries) != sockets:
        custom = True
    else:
        for nodeid, e in entries:
            lo, hi = nodeid * cores, nodeid * cores + cores - 1
            want = str(lo) if lo == hi else f"{lo}-{hi}"
            if e["cpus"] != want:
                custom = True
    if custom:
        for nodeid, e in entries:
            e["cpus"] = e["cpus"].replace(":", ";")
            r.o[f"numa{nodeid}"] = prop(None, e)


def machine(r: Recovery) -> None:
    """``-machine`` -> ``machine:`` / ``arch:`` / ``kvm:`` / ``acpi:`` (Machine.pm
    get_vm_machine, extract_version; QemuServer.pm config_to_command).

    The ``+pveN`` that config_to_command prints is the *needed* PVE revision of the machine
    version (``$required_pve_version``): an unpinned machine prints the bare type
    (``pc+pve0``, ``q35+pve1``), a pinned one its version with ``+pveN`` when N > 0 — so a
    pinned ``pc-q35-9.2+pve1`` stays ``+pve1`` and ``pc-q35-8.1+pve0`` is ``pc-q35-8.1``.
    """
    mach = r.one("-machine")
    r.q35 = False
    if mach is None:
        r.missing.append("no -machine option seen: the command line is probably cut off "
                         "(use `ps -ww -o args=`, or /proc/<pid>/cmdline)")
        return
    _h, d = kv(mach)
    typ = d.get("type", _h or "")
    r.q35 = "q35" in typ
    if typ.startswith("virt"):
        r.arch = "aarch64"
    if r.arch == "aarch64":
        r.o["arch"] = "aarch64"
    if d.get("accel") == "tcg":
        r.o["kvm"] = "0"
    if d.get("acpi") == "off":
        r.o["acpi"] = "0"
    if d.get("mem-merge") == "off":
        r.o["allow-ksm"] = "0"  # config_to_command: mem-merge=off if allow-ksm is 0
    r.hpet_off = d.get("hpet") == "off"  # Cfg2Cmd/Timer.pm (read by devices.rtc)
    extra: dict[str, str] = {}
    for drv, dd in r.devices:
        if drv in ("intel-iommu", "virtio-iommu-pci"):
            extra["viommu"] = "intel" if drv == "intel-iommu" else "virtio"
            if "aw-bits" in dd:
                extra["aw-bits"] = dd["aw-bits"]
    m = re.fullmatch(r"(pc|q35|virt)(?:-(i440fx|q35))?(?:-(\d+\.\d+))?(?:\+pve(\d+))?"
                     r"(\.pxe)?", typ)
    if not m:
        r.missing.append(f"machine: type {typ!r} is not a Proxmox machine type; set "
                         "machine: by hand")
        return
    base, flavour, ver, pve, _pxe = m.groups()
    pxe = any(re.match(r"pxe-", dd.get("romfile", "")) for _drv, dd in r.devices)
    value: str | None
    default = "virt" if r.arch == "aarch64" else "pc"
    if ver is None:
        value = base if base != default else None
    else:
        if base == "virt":
            prefix = "virt"
        else:
            prefix = "pc-q35" if (flavour == "q35" or base == "q35") else "pc-i440fx"
        if r.windows and ver == "5.1" and base != "virt":
            # qemu-server pins unpinned Windows VMs to 5.1 itself (windows_get_pinned_...)
            value = "q35" if prefix == "pc-q35" else None
            r.warn.append("machine: Windows VM on version 5.1 left unpinned, as qemu-"
                          "server pins that itself; pin it if the VM had it pinned")
        else:
            value = f"{prefix}-{ver}"
            if pve and pve != "0":
                value += f"+pve{pve}"
            if pxe:
                value += ".pxe"
    if value is None and extra:
        value = default
    if value is not None:
        r.o["machine"] = prop(value, extra)


def _smbios1(d: dict[str, str]) -> str:
    """Rebuild smbios1; values PVE only accepts base64-encoded get base64=1 (QemuServer.pm)."""
    fields = {k: v for k, v in d.items() if k != "type"}
    others = {k: v for k, v in fields.items() if k != "uuid"}
    needs_b64 = any(not re.fullmatch(r"[A-Za-z0-9.\-_]*", v) for v in others.values())
    if needs_b64:
        enc = {k: base64.b64encode(v.encode()).decode() for k, v in others.items()}
        if "uuid" in fields:
            enc["uuid"] = fields["uuid"]
        enc["base64"] = "1"
        return prop(None, enc)
    return prop(None, fields)


# -global values config_to_command writes on its own (QemuServer.pm, Cfg2Cmd.pm): the Windows
# RTC fixup, the q35 ACPI hotplug compat switch, qxl memory for several displays, the secure
# pflash of SMM OVMF.  The S3/S4 switches are Machine.pm get_power_state_flags.
_OWN_GLOBALS = re.compile(
    r"kvm-pit\.lost_tick_policy=discard|ICH9-LPC\.acpi-pci-hotplug-with-bridge-support=off|"
    r"qxl-vga\.v?ram_size=\d+|driver=cfi\.pflash01,property=secure,value=on")
_POWER = re.compile(r"(?:ICH9-LPC|PIIX4_PM)\.disable_s([34])=1")


def globals_(r: Recovery) -> None:
    """``-global`` options: qemu-server's own are facts, not keys; the S3/S4 switches are
    ``machine: ...,enable-s3=0,enable-s4=0`` on machines before 9.2+pve1 (get_power_state_flags:
    off by default from 9.2+pve1 on); anything else is not understood."""
    for g in r.all("-global"):
        if _OWN_GLOBALS.fullmatch(g):
            continue
        m = _POWER.fullmatch(g)
        if m is None:
            r.missing.append(f"-global {g}: not one qemu-server writes")
            continue
        mach = r.o.get("machine", "")
        ver = re.match(r"(?:pc-(?:i440fx|q35)|virt)-(\d+)\.(\d+)(?:\+pve(\d+))?", mach)
        if ver and (int(ver.group(1)), int(ver.group(2)), int(ver.group(3) or 0)) < (9, 2, 1):
            base, _, opts = mach.partition(",")
            items = [x for x in opts.split(",") if x] + [f"enable-s{m.group(1)}=0"]
            r.o["machine"] = ",".join([base] + sorted(items))
        else:
            r.notes.append(f"-global {g}: S{m.group(1)} is off by default on machine versions "
                           "from 9.2+pve1 on; nothing to set")
