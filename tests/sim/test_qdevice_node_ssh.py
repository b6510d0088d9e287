"""qdevice-setup's node-ssh check connects the way `pvecm qdevice setup` does. pvecm reaches
every member with PVE::SSHInfo's command: `ssh -e none -o BatchMode=yes -o HostKeyAlias=<node>`
plus, when /etc/pve/nodes/<node>/ssh_known_hosts exists, `-o UserKnownHostsFile=<that file> -o
GlobalKnownHostsFile=none` (pve-cluster SSHInfo.pm ssh_info_to_ssh_opts). The check left the
last two out, so it verified the host key against root's known_hosts: a node whose key there
was right but stale in /etc/pve (a reinstalled node) passed, and pvecm then stopped half-way
through the setup."""

from __future__ import annotations

from pverunbook.runbook.template import render
from pverunbook.sim import SimCluster
from pverunbook.sim.shell import context
from tests.sim.conftest import sh
from tests.sim.rehearsal import builtin


async def _ssh_calls(sim: SimCluster, monkeypatch) -> list[list[str]]:  # type: ignore[no-untyped-def]
    calls: list[list[str]] = []
    real = context.REGISTRY["ssh"]

    async def recording(ctx: context.Ctx) -> int:
        calls.append(list(ctx.argv))
        return await real(ctx)

    monkeypatch.setitem(context.REGISTRY, "ssh", recording)
    (cmd,) = builtin("qdevice-setup").step("node-ssh").commands
    values = {"node": "ryanrishi", "peers": ["pve001"], "peer_addrs": ["192.168.4.201"]}
    status, out, err = await sh(sim, "ryanrishi", render(cmd, values))
    assert status == 0 and "ssh to pve001 (192.168.4.201): ok" in out, out + err
    return calls


async def test_node_ssh_checks_the_host_key_where_pvecm_does(healthy: SimCluster,
                                                            monkeypatch) -> None:  # type: ignore[no-untyped-def]
    k = "/etc/pve/nodes/pve001/ssh_known_hosts"
    assert (await sh(healthy, "ryanrishi", f"test -f {k}"))[0] == 0
    assert await _ssh_calls(healthy, monkeypatch) == [[
        "ssh", "-e", "none", "-o", "BatchMode=yes", "-o", "HostKeyAlias=pve001",
        "-o", f"UserKnownHostsFile={k}", "-o", "GlobalKnownHostsFile=none",
        "root@192.168.4.201", "true"]]


async def test_without_the_nodes_known_hosts_file_ssh_uses_its_defaults(
        healthy: SimCluster, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    status, _, err = await sh(healthy, "ryanrishi", "rm /etc/pve/nodes/pve001/ssh_known_hosts")
    assert status == 0, err
    assert await _ssh_calls(healthy, monkeypatch) == [[
        "ssh", "-e", "none", "-o", "BatchMode=yes", "-o", "HostKeyAlias=pve001",
        "root@192.168.4.201", "true"]]
