"""A renamed node after its reboot (``three-node-renamed``): pve002 was called homelab3;
pveproxy's start-up (``ExecStartPre=-/usr/bin/pvecm updatecerts --silent``, quorate) made an
empty /etc/pve/nodes/pve002, while its running VMs' configs and container 140's are still in
/etc/pve/nodes/homelab3. The health check, run over SSH as ``pverunbook check`` runs it,
names the rename with one ``mv`` per guest; once those moves ran on pve002, it no longer
does. vm-config-recovery's first step points at the moves, not at certificate-regeneration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.sim.scenarios import get
from tests.sim.rehearsal import rehearsal, run_on, run_with_status, status_of
from tests.sim.test_outage_past_two_nodes import check, running_on
from tests.sim.test_recovery_runbooks import rehearse, text_of

pytest.importorskip("asyncssh")

OLD, NEW = "/etc/pve/nodes/homelab3", "/etc/pve/nodes/pve002"


async def test_the_check_over_ssh_names_the_rename_with_one_move_per_guest(
        tmp_path: Path) -> None:
    sc = get("three-node-renamed")
    async with rehearsal(tmp_path, "three-node-renamed") as session:
        vms = running_on(session)
        assert vms["pve002"] == [110, 120, 130]
        diag = await check(session, tmp_path)
        rules = [f.rule for f in diag.faults]
        (fault,) = [f for f in diag.faults if f.rule == "node-renamed"]
        assert fault.nodes == ("pve002",)
        assert fault.statement.startswith(
            f"pve002 was renamed from homelab3: {NEW} holds no guest config, and {OLD}, ")
        assert "VMs 110, 120, 130 (running on pve002) and container (CT) 140" \
            in fault.statement
        (fix,) = fault.manual
        assert fix.node == "pve002"
        assert fix.command.split(" && ") == [
            *(f"timeout 10 mv {OLD}/qemu-server/{i}.conf {NEW}/qemu-server/"
              for i in vms["pve002"]),
            *(f"timeout 10 mv {OLD}/lxc/{ct}.conf {NEW}/lxc/" for ct, _ in sc.containers)]
        # one fault, not three VMs on the 'wrong' node, and no certificate step first
        assert "vm-config-wrong-node" not in rules and "vm-without-config" not in rules
        assert not any(f.next_runbook is not None
                       and f.next_runbook.runbook == "certificate-regeneration"
                       for f in diag.faults[:diag.faults.index(fault)])
        # vm-config-recovery's first step says the same: move them, do not rebuild
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        {"source": "processes"})
        assert status_of(events).get("configs-really-gone") == "failed", status_of(events)
        said = text_of(events, "configs-really-gone")
        assert f"RENAMED?: {OLD} holds guest configs (110.conf 120.conf 130.conf 140.conf)" \
            in said, said
        assert "This node looks renamed" in said and "certificate-regeneration does" not in said
        # the moves the fault gives, run where it says: the check no longer names it
        code, out = await run_with_status(session, fix.node, fix.command)
        assert code == 0, out
        after = await check(session, tmp_path)
        assert not {"node-renamed", "vm-config-wrong-node", "vm-without-config"} \
            & {f.rule for f in after.faults}, [f.rule for f in after.faults]
        code, out = await run_with_status(
            session, "pve002", f"timeout 5 ls {NEW}/qemu-server/ {NEW}/lxc/ {OLD}/qemu-server/")
        assert out.split() == [f"{NEW}/qemu-server/:", "110.conf", "120.conf", "130.conf",
                               f"{NEW}/lxc/:", "140.conf", f"{OLD}/qemu-server/:"], out


async def test_the_moves_are_named_when_corosync_conf_still_has_the_old_name(
        tmp_path: Path) -> None:
    """The host name changed and corosync.conf's nodelist was left alone (pvecm.adoc
    "Preparing Nodes": the name in corosync.conf is the operator's to change): the old name is
    listed there, so it looked like another node's. Its nodelist entry carries this node's
    address: that is the old name. Another node's directory (listed, at another address) is
    never named."""
    async with rehearsal(tmp_path, "three-node-renamed") as session:
        conf = await run_on(session, "pve002", "cat /etc/pve/corosync.conf")
        version = int(conf.split("config_version:")[1].split()[0])
        stale = conf.replace("name: pve002", "name: homelab3").replace(
            f"config_version: {version}", f"config_version: {version + 1}")
        assert stale != conf
        code, out = await run_with_status(
            session, "pve002",
            "cat > /etc/pve/corosync.conf.new <<'EOF'\n" + stale + "EOF\n"
            "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf")
        assert code == 0, out
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        {"source": "processes"})
        said = text_of(events, "configs-really-gone")
        assert f"RENAMED?: {OLD} holds guest configs (110.conf 120.conf 130.conf 140.conf)" \
            in said, said
        assert said.count("RENAMED?: ") == 1, said  # not pve001's or pve003's directory
