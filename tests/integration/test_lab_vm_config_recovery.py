"""vm-config-recovery on the lab: VM configs gone from the real pmxcfs while the VMs run.

The "VMs" are kvm stand-ins (lab_shims/kvm-standin.c): processes whose ``/proc/<pid>/cmdline``
is a QEMU command line and which write QEMU's ``-pidfile``. Two kinds:

- started the way ``qm start`` starts a VM: from a config, through the lab's ``qm showcmd``
  (the project's own config -> command model); the configs are Proxmox's own test configs
  (qemu-server's cfg2cmd vectors). Those must come back and ``qm showcmd`` must then match;
- with a command line exactly as qemu-server 7.4 generated it (the vector's ``.conf.cmd``,
  VM id replaced), to prove the rebuild reads a real command line in full over SFTP.

A VMID whose config exists on another node must be refused by pmxcfs (``File exists``) and
reported, never forced.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.lab import Lab, shared_dir
from tests.integration.lab_fixture import run_json

VECTORS = shared_dir() / "testdata" / "qemu-cfg2cmd-pve7"
pytestmark = pytest.mark.skipif(not VECTORS.is_dir(),
                                reason=f"qemu-server cfg2cmd vectors not found at {VECTORS}")

#: Proxmox VE's stock storage.cfg (pve-manager's installer); the vectors' storages.
STORAGE_CFG = """dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images
"""

#: VM -> (node, vector): one per node, started from the config as qm start would.
FROM_CONFIG = {101: ("alpha", "simple1"), 102: ("bravo", "netdev"),
               103: ("charlie", "simple-virtio-blk")}


def vector_conf(name: str, vmid: int) -> str:
    text = (VECTORS / f"{name}.conf").read_text()
    return "".join(line + "\n" for line in text.splitlines()
                   if not line.startswith("#")).replace("8006", str(vmid))


def vector_argv(name: str, vmid: int) -> list[str]:
    from pverunbook.pve.qemu.argv import split_cmdline

    argv = split_cmdline((VECTORS / f"{name}.conf.cmd").read_text())
    return [a.replace("8006", str(vmid)) for a in argv]


def model_argv(conf: str, vmid: int) -> list[str]:
    from pverunbook.sim import kvm

    return kvm.kvm_argv(vmid, kvm.parse_conf(conf))


def qemu_server(lab: Lab, node: str) -> str:
    return f"/etc/pve/nodes/{node}/qemu-server"


@pytest.fixture
def storage_cfg(healthy_lab: Lab) -> Lab:
    assert healthy_lab.write("alpha", "/etc/pve/storage.cfg", STORAGE_CFG).returncode == 0
    return healthy_lab


def test_lab_vm_configs_rebuilt_from_running_vms_and_showcmd_matches(storage_cfg: Lab,
                                                                      tmp_path: Path) -> None:
    lab = storage_cfg
    originals = {}
    for vmid, (node, vector) in FROM_CONFIG.items():
        conf = vector_conf(vector, vmid)
        originals[vmid] = conf
        pid = lab.start_vm(node, vmid, model_argv(conf, vmid))
        # the whole command line is there, although stat says 0 bytes
        got = lab.on(node, f"tr '\\0' ' ' < /proc/{pid}/cmdline").stdout
        assert f"-id {vmid} " in got
    # the configs vanished (as in the outage); the VMs keep running
    for vmid, (node, _) in FROM_CONFIG.items():
        assert lab.on(node, f"qm list | grep -c ' {vmid} '").stdout.strip() == "0"
    run = run_json(lab, "vm-config-recovery", tmp_path, "--set", "source=processes")
    assert run.rc == 0, run.explain()
    for vmid, (node, _) in FROM_CONFIG.items():
        # on the node that runs it, accepted by pmxcfs, replicated to the others
        text = lab.read(node, f"{qemu_server(lab, node)}/{vmid}.conf")
        assert text, f"{vmid}.conf not written on {node}: {run.explain()}"
        for other in ("alpha", "bravo", "charlie"):
            lab.wait_file(other, f"{qemu_server(lab, node)}/{vmid}.conf", text)
        vmlist = lab.read("alpha", "/etc/pve/.vmlist") or ""
        assert re.search(rf'"{vmid}":\s*\{{[^}}]*"node":\s*"{node}"', vmlist), vmlist
        want = dict(re.findall(r"^(memory|cores|sockets|name): (.*)$", originals[vmid], re.M))
        have = dict(re.findall(r"^(memory|cores|sockets|name): (.*)$", text, re.M))
        assert want and {k: have.get(k) for k in want} == want, text
        net = re.search(r"^net0: \w+=([0-9A-F:]{17})", originals[vmid], re.M)
        if net:
            assert net.group(1) in text, text
        listed = lab.on(node, "qm list").stdout
        assert re.search(rf"^\s*{vmid}\s.*running", listed, re.M), listed
    compared = "".join(run.outputs("verify-showcmd", n) for n in ("alpha", "bravo", "charlie"))
    compared += " ".join(str(f.get("title", "")) + str(f.get("message", ""))
                         for f in run.events if f.get("step_id") == "verify-showcmd")
    for vmid in FROM_CONFIG:
        assert f"VM {vmid}: qm showcmd matches" in compared, run.explain()
    for vmid, (node, _) in FROM_CONFIG.items():
        lab.on(node, f"rm -f {qemu_server(lab, node)}/{vmid}.conf")


def test_lab_real_pve7_cmdline_rebuilt_and_a_vmid_taken_elsewhere_is_refused(
        storage_cfg: Lab, tmp_path: Path) -> None:
    lab = storage_cfg
    # VM 105 on bravo: a command line exactly as qemu-server 7.4 generated it
    lab.start_vm("bravo", 105, vector_argv("simple1", 105))
    # VM 104 runs on charlie, but alpha still has a config for 104
    stale = vector_conf("netdev", 104)
    assert lab.write("alpha", f"{qemu_server(lab, 'alpha')}/104.conf", stale).returncode == 0
    lab.start_vm("charlie", 104, model_argv(vector_conf("netdev", 104), 104))
    # the real behaviour first: pmxcfs refuses a second config for 104
    dup = lab.write("charlie", f"{qemu_server(lab, 'charlie')}/104.conf", "memory: 1\n")
    assert dup.returncode != 0 and "File exists" in dup.stderr, dup
    try:
        run = run_json(lab, "vm-config-recovery", tmp_path, "--set", "source=processes")
        text = lab.read("bravo", f"{qemu_server(lab, 'bravo')}/105.conf") or ""
        original = vector_conf("simple1", 105)
        for key in ("memory", "cores", "sockets", "name"):
            want = re.search(rf"^{key}: (.*)$", original, re.M)
            assert want and f"{key}: {want.group(1)}" in text, run.explain() + text
        mac = re.search(r"^net0: \w+=([0-9A-F:]{17})", original, re.M)
        assert mac and mac.group(1) in text, text
        disk = re.search(r"^scsi0: ([^,\n]+)", original, re.M)
        assert disk and f"scsi0: {disk.group(1)}" in text, text  # the storage volume id
        # 104: never forced, alpha's config untouched, and said so
        assert lab.read("charlie", f"{qemu_server(lab, 'charlie')}/104.conf") is None
        assert lab.read("bravo", f"{qemu_server(lab, 'alpha')}/104.conf") == stale
        said = run.out + run.err
        assert re.search(r"VM 104: not written: /etc/pve/nodes/alpha/qemu-server/104.conf "
                         r"already exists", said), run.explain()
        assert run.rc != 0, run.explain()  # the rebuild step failed for 104, said so
    finally:
        for node, vmid in (("alpha", 104), ("charlie", 104), ("bravo", 105)):
            lab.on(node, f"rm -f {qemu_server(lab, node)}/{vmid}.conf")
