"""Machine type, CPU model and flags, sockets/cores, memory and NUMA."""

from __future__ import annotations

import base64
import re
from typing import Any

from pverunbook.pve.qemu.optstr import kv, prop, size_mib, split_opts
from pverunbook.pve.qemu.state import Recovery

_VM_CPU_FLAGS = {"pcid", "spec-ctrl", "ibpb", "ssbd", "virt-ssbd", "amd-ssbd", "amd-no-ssb",
                 "pdpe1gb", "md-clear", "hv-tlbflush", "hv-evmcs", "aes"}
_BUILTIN_CPU = {
    "x86-64-v2": "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v2-AES": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3",
    "x86-64-v3": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave",
    "x86-64-v4": "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
                 "+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl",
}
_HV_WIN7 = {"hv_relaxed", "hv_synic", "hv_stimer", "hv_ipi"}

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
        sockets = int(d.get("sockets", "1"))
        cores = int(d.get("cores", "1"))
        maxcpus = int(d.get("maxcpus", str(sockets * cores)))
        cur = int(head) if head and head.isdigit() else maxcpus
        hot = sum(1 for drv, dd in r.devices
                  if drv.endswith("-x86_64-cpu") and dd.get("id", "").startswith("cpu"))
        r.o["sockets"] = str(sockets)
        r.o["cores"] = str(cores)
        vcpus = cur + hot
        if vcpus < sockets * cores:
            r.o["vcpus"] = str(vcpus)
        if hot or cur < maxcpus:
            r.hotplug("cpu")
    kb = r.one("-k")
    if kb:
        r.o["keyboard"] = kb
    if r.has("-no-acpi"):
        r.o["acpi"] = "0"
    if r.has("-S"):
        r.o["freeze"] = "1"
        r.warn.append("-S: the VM was started paused (freeze: 1, or an incoming "
                         "migration); check whether freeze: 1 is wanted")
    if r.has("-snapshot"):
        r.o["template"] = "1"


def cpu(r: Recovery) -> None:
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
    # flags PVE adds by itself (CPUConfig.pm get_pve_cpu_flags / forced flags)
    auto = {"enforce", "+kvm_pv_unhalt", "+kvm_pv_eoi"}
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
    if "-kvm_pv_unhalt" in user or "-kvm_pv_eoi" in user:
        pass
    cpu_opts: dict[str, str] = {}
    if vals.pop("kvm", None) == "off":
        cpu_opts["hidden"] = "1"
    vals.pop("vendor", None)
    if vals.get("host-phys-bits") == "true":
        cpu_opts["phys-bits"] = "host"
        vals.pop("host-phys-bits")
    if "phys-bits" in vals:
        cpu_opts["phys-bits"] = vals.pop("phys-bits")
    gpu_vga = any(d.get("x-vga") == "on" for drv, d in r.devices if drv == "vfio-pci")
    vendor_id = hv.pop("hv_vendor_id", None)
    if vendor_id is not None and not (vendor_id == "proxmox" and gpu_vga):
        cpu_opts["hv-vendor-id"] = vendor_id
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
    vm_flags = [f for f in user if f[1:] in _VM_CPU_FLAGS]
    other = [f for f in user if f[1:] not in _VM_CPU_FLAGS]
    if other:
        r.todos.append(
            f"cpu: flags {','.join(other)} cannot be set in a VM config; the VM probably "
            "used a custom CPU model from /etc/pve/virtual-guest/cpu-models.conf "
            f"(reported-model {model}) - recreate that model and set cpu: custom-<name>")
    for k, v in vals.items():
        r.warn.append(f"cpu: unexpected -cpu setting {k}={v} not mapped")
    if vm_flags:
        cpu_opts["flags"] = ";".join(sorted(vm_flags, key=lambda f: f[1:]))
    if name == "kvm64" and not cpu_opts:
        return
    r.o["cpu"] = prop(name, cpu_opts)


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
    mach = r.one("-machine")
    r.q35 = False
    if mach is None:
        r.todos.append("no -machine option seen: the command line may be truncated "
                          "(use `ps -ww` or /proc/<pid>/cmdline)")
        return
    _h, d = kv(mach)
    typ = d.get("type", _h or "")
    r.q35 = "q35" in typ
    if d.get("accel") == "tcg":
        r.o["kvm"] = "0"
    extra: dict[str, str] = {}
    if d.get("kernel-irqchip") == "split" or any(drv == "intel-iommu"
                                                  for drv, _ in r.devices):
        extra["viommu"] = "intel"
    if any(drv == "virtio-iommu-pci" for drv, _ in r.devices):
        extra["viommu"] = "virtio"
    m = re.fullmatch(r"(pc|q35|virt)(?:-(i440fx|q35))?(?:-(\d+\.\d+))?(?:\+pve(\d+))?", typ)
    if not m:
        r.warn.append(f"machine type {typ!r} not understood; set machine: by hand")
        return
    base, flavour, ver, pve = m.groups()
    pxe = any(re.match(r"pxe-", dd.get("romfile", "")) for _drv, dd in r.devices)
    value: str | None
    if ver is None:
        value = "q35" if base == "q35" else None
    else:
        kind = "q35" if (flavour == "q35" or base == "q35") else "i440fx"
        if r.windows and ver == "5.1":
            # qemu-server pins unpinned Windows VMs to 5.1 itself (windows_get_pinned_...)
            value = "q35" if kind == "q35" else None
            r.warn.append("machine: Windows VM on version 5.1 left unpinned, as qemu-"
                             "server pins that itself; pin it if the VM had it pinned")
        else:
            value = f"pc-{kind}-{ver}"
            if pve and pve != "0":
                value += f"+pve{pve}"
            if pxe:
                value += ".pxe"
    if value is None and extra:
        value = "pc"
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
