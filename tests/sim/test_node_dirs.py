"""Every node's /etc/pve/nodes/<node>/qemu-server exists, VMs or not, as on Proxmox VE:
`pvecm updatecerts` (pveproxy.service's ExecStartPre, at every boot) creates it in
gen_local_dirs (and lxc, openvz, priv) for the local node. The simulator made it only for a
node that had a VM, so on the three-node clusters (pve002 has none) cluster-db-reset's read
check said /etc/pve was not readable on pve002, and its last check, after a resync that
worked, that the content was not back."""

from __future__ import annotations

from pverunbook.runbook.template import render
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh
from tests.sim.rehearsal import builtin


async def test_a_node_without_vms_has_its_qemu_server_dir(three: SimCluster) -> None:
    assert not any(vm.node == "pve002" for vm in three.world.scenario.vms)
    status, out, err = await sh(three, "pve002", "ls -d /etc/pve/qemu-server/ "
                                "/etc/pve/nodes/pve002/qemu-server /etc/pve/nodes/pve002/lxc")
    assert status == 0, err


async def test_cluster_db_reset_reads_pass_on_every_healthy_node(three: SimCluster) -> None:
    rb = builtin("cluster-db-reset")
    for step_id in ("pve-readable", "verify-content"):
        for node in ("ryanrishi", "pve001", "pve002"):
            values = {"run_id": "r1", "node": node, "damaged_node": "pve002"}
            for cmd in rb.step(step_id).commands:
                status, out, err = await sh(three, node, render(cmd, values))
                assert status == 0, f"{step_id} on {node}: {cmd}: {out}{err}"
