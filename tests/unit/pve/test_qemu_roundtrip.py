"""Round trip on the PVE 7 development vectors: the rebuilt config, run through qemu-server's own
rules, gives back the command line it was rebuilt from.

The forward rules below restate what qemu-server's source does for a few parts of the command
line (QemuServer.pm config_to_command, device_bootorder/bootorder_from_legacy; Drive.pm
print_drive_commandline_full via PVE::Storage paths; CPUConfig.pm get_cpu_options; Machine.pm
get_vm_machine).  Each rule is first checked against the vector's own config (so a rule that
does not hold for a vector is not used to judge it), then applied to the rebuilt config.
"""

from __future__ import annotations

import re

import pytest

from pverunbook.pve.qemu import parse_storage_cfg, recover_config, split_cmdline
from pverunbook.pve.qemu.boot import legacy_order
from tests.unit.pve.test_qemu_cmdline import (
    STORAGE_CFG,
    VECTORS,
    needs_vectors,
    parse_conf,
    vector_names,
)

DRIVES = [f"ide{i}" for i in range(4)] + [f"scsi{i}" for i in range(31)] + [
    f"virtio{i}" for i in range(16)] + [f"sata{i}" for i in range(6)]
BUILTIN_REPORTED = {"x86-64-v2": "qemu64", "x86-64-v2-AES": "qemu64", "x86-64-v3": "qemu64",
                    "x86-64-v4": "qemu64"}
# Storage paths the harness mocks (testdata README): volume id -> path, per storage type.
PATHS = {"local": "/var/lib/vz/images/{vmid}/{vol}", "local-lvm": "/dev/pve/{vol}",
         "lvm-store": "/dev/veegee/{vol}", "cifs-store": "/mnt/pve/cifs-store/images/{vmid}/{vol}"}


def cmd_bootindex(argv: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, a in enumerate(argv[:-1]):
        if a == "-device":
            m = re.search(r"(?:^|,)id=([a-z]+\d+)(?:[.,]|$)", argv[i + 1])
            b = re.search(r"bootindex=(\d+)", argv[i + 1])
            if m and b:
                out[m.group(1)] = int(b.group(1))
    return out


def fw_bootindex(conf: dict[str, str]) -> dict[str, int]:
    """device_bootorder: order= numbers the listed devices 100, 101...; else legacy."""
    boot = conf.get("boot", "")
    if boot.startswith("order="):
        order = boot[len("order="):].split(";")
        return {d: 100 + i for i, d in enumerate(order) if d in conf}
    disks = [d for d in DRIVES if d in conf]
    cds = {d for d in disks if "media=cdrom" in conf[d]}
    nets = [f"net{i}" for i in range(32) if f"net{i}" in conf]
    return legacy_order((boot or "cdn").replace("a", ""), conf.get("bootdisk"), disks, cds,
                        nets)


def cmd_smp(argv: list[str]) -> str:
    return argv[argv.index("-smp") + 1]


def fw_smp(conf: dict[str, str]) -> str:
    sockets = int(conf.get("sockets", "1"))
    cores = int(conf.get("cores", "1"))
    maxcpus = sockets * cores
    vcpus = int(conf.get("vcpus", maxcpus))
    if "cpu" in conf.get("hotplug", "").split(","):
        return f"1,sockets={sockets},cores={cores},maxcpus={maxcpus}"
    return f"{vcpus},sockets={sockets},cores={cores},maxcpus={maxcpus}"


def cmd_cpu_model(argv: list[str]) -> str:
    return argv[argv.index("-cpu") + 1].split(",")[0] if "-cpu" in argv else ""


def fw_cpu_model(conf: dict[str, str]) -> str:
    model = conf.get("cpu", "kvm64").split(",")[0]
    return BUILTIN_REPORTED.get(model, model)


def cmd_disk_paths(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, a in enumerate(argv[:-1]):
        if a == "-drive":
            m = re.search(r"(?:^|,)id=drive-([a-z]+\d+)", argv[i + 1])
            f = re.search(r"(?:^|,)file=([^,]+)", argv[i + 1])
            if m and f and m.group(1) in DRIVES:
                out[m.group(1)] = f.group(1)
    return out


def fw_disk_paths(conf: dict[str, str], vmid: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in DRIVES:
        if d not in conf or "media=cdrom" in conf[d]:
            continue
        vol = conf[d].split(",")[0]
        sid, _, name = vol.partition(":")
        if sid in PATHS:
            out[d] = PATHS[sid].format(vmid=vmid, vol=name.split("/")[-1])
    return out


def cmd_macs(argv: list[str]) -> dict[str, str]:
    return {m.group(2): m.group(1) for a in argv
            for m in [re.search(r"mac=([0-9A-Fa-f:]+),netdev=(net\d+)", a)] if m}


def fw_macs(conf: dict[str, str]) -> dict[str, str]:
    return {k: v.split(",")[0].split("=")[1] for k, v in conf.items()
            if re.fullmatch(r"net\d+", k) and "=" in v.split(",")[0]}


ASPECTS = {
    "bootindex": (cmd_bootindex, lambda c, v: fw_bootindex(c)),
    "smp": (cmd_smp, lambda c, v: fw_smp(c)),
    "cpu model": (cmd_cpu_model, lambda c, v: fw_cpu_model(c)),
    "disk paths": (lambda a: {k: p for k, p in cmd_disk_paths(a).items()
                              if p.startswith(tuple(x.split("{")[0] for x in PATHS.values()))},
                   fw_disk_paths),
    "MACs": (cmd_macs, lambda c, v: fw_macs(c)),
}


@needs_vectors
@pytest.mark.parametrize("name", vector_names())
def test_rebuilt_config_gives_the_same_command_line(name: str) -> None:
    conf = parse_conf((VECTORS / f"{name}.conf").read_text())
    argv = split_cmdline((VECTORS / f"{name}.conf.cmd").read_text())
    rebuilt = recover_config(argv, storage=parse_storage_cfg(STORAGE_CFG)).options
    vmid = argv[argv.index("-id") + 1]
    checked = 0
    for aspect, (from_cmd, forward) in ASPECTS.items():
        want = from_cmd(argv)
        if forward(conf, vmid) != want:
            continue  # the restated rule does not cover this vector; it cannot judge it
        assert forward(rebuilt, vmid) == want, f"{aspect}: {forward(rebuilt, vmid)} != {want}"
        checked += 1
    assert checked >= 3  # every vector is judged on most aspects
