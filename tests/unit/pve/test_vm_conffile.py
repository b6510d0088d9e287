"""The reviewed VM config is read the way qemu-server reads it before it is written: a line
qemu-server would drop with only a warning (an unknown key, a value failing its type, a key
given twice) or another VM's name stops the write of that file (pve/qemu/conffile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.pve.qemu.conffile import known_key, parse_vm_config, reviewed_problems

GOOD = """#web server
#second line
agent: 1
boot: order=scsi0;net0
cores: 4
memory: 8192
name: web01
net0: virtio=BC:24:11:5E:4F:01,bridge=vmbr0,firewall=1,tag=20
onboot: 1
scsi0: local-lvm:vm-108-disk-0,iothread=1,size=32G
scsihw: virtio-scsi-single
sockets: 1

[before-upgrade]
cores: 2
snaptime: 1700000000
"""


def test_a_good_config_reads_clean_with_its_description_and_sections() -> None:
    conf, problems = parse_vm_config(GOOD)
    assert problems == []
    assert conf.options["onboot"] == "1" and conf.options["cores"] == "4"  # main section only
    assert conf.description == "web server\nsecond line"
    assert conf.sections == ["before-upgrade"]
    assert reviewed_problems(GOOD, 108, "web01") == []


@pytest.mark.parametrize(("line", "why"), [
    ("onbot: 1", "`onbot` is not a VM config key"),
    ("net32: virtio,bridge=vmbr0", "`net32` is not a VM config key"),
    ("tablet: maybe", "`tablet` takes 0 or 1, not `maybe`"),
    ("vcpus: 0", "`vcpus` takes a whole number of at least 1"),
    ("balloon: 2G", "`balloon` takes a whole number of at least 0"),
    ("net1: virtio=BC:24:11:5E:4F:02,bridge=vmbr0,tag=4095", "a VLAN tag is a number from 1"),
    ("net1: virtio=BC:24:11:5E:4F,bridge=vmbr0", "is not a MAC address"),
    ("net1: virtio=BC:24:11:5E:4F:02,brigde=vmbr1", "`brigde=` is not a NIC option"),
    ("net1: bridge=vmbr1", "no NIC model"),
    ("onboot = 1", "not a `key: value` line"),
    ("net0: virtio=BC:24:11:5E:4F:01,bridge=vmbr1", "`net0` is given twice (line 8 too)"),
])
def test_a_line_qemu_server_would_drop_is_named_with_its_number(line: str, why: str) -> None:
    text = GOOD.replace("sockets: 1\n", f"sockets: 1\n{line}\n")
    problems = reviewed_problems(text, 108, "web01")
    assert len(problems) == 1 and problems[0].startswith(f"line 13 ({line!r}): "), problems
    assert why in problems[0], problems


def test_memory_takes_mib() -> None:
    assert reviewed_problems(GOOD.replace("memory: 8192", "memory: current=8192"), 108,
                             "web01") == []
    assert "`memory` takes a size in MiB" in reviewed_problems(
        GOOD.replace("memory: 8192", "memory: 8G"), 108, "web01")[0]


def test_another_vms_name_and_an_empty_file_are_refused() -> None:
    assert reviewed_problems(GOOD, 108, "db01") == [
        "name `web01` is not the running VM 108's (-name db01): is this another VM's file?"]
    # without `name`, qemu-server starts the VM as vm<vmid>
    unnamed = GOOD.replace("name: web01\n", "")
    assert reviewed_problems(unnamed, 108, "vm108") == []
    assert reviewed_problems(unnamed, 108, "web01") != []
    assert reviewed_problems("\n#only notes\n", 108, None) == [
        "no `key: value` settings: an empty config"]


def test_keys_and_indexes_are_qemu_servers() -> None:
    assert all(known_key(k) for k in ("onboot", "net31", "scsi30", "unused255", "efidisk0",
                                      "tpmstate0", "smbios1", "amd-sev", "meta"))
    assert not any(known_key(k) for k in ("onbot", "net32", "scsi31", "ide4", "net01", "efidisk1"))


VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "qemu-cfg2cmd-pve7"


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"cfg2cmd vectors not found at {VECTORS}")
def test_every_config_of_qemu_servers_own_tests_reads_clean() -> None:
    confs = sorted(VECTORS.glob("*.conf"))
    assert len(confs) > 50
    bad = {p.name: [str(x) for x in parse_vm_config(p.read_text())[1]] for p in confs}
    assert {k: v for k, v in bad.items() if v} == {}
