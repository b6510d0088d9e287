"""`systemctl stop corosync` in the simulator logs what Debian's and Proxmox VE's unit does.

corosync.service has ``ExecStop=/usr/sbin/corosync-cfgtool -H --force``: cfg's shutdown
message reaches every member and each logs "Node N was shut down by sysadmin" (cfg.c
``message_handler_req_exec_cfg_shutdown``), as the lab's systemctl shim now shows with real
corosync (tests/data/outputs/corosync-3.1.7_lab-own-stop-sysadmin-bravo.log). The simulator
logged "Node was shut down by a signal" on the stopped node only.
"""

from __future__ import annotations

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh


async def test_systemctl_stop_corosync_is_shut_down_by_sysadmin_on_every_member(
        three: SimCluster) -> None:
    status, _, err = await sh(three, "pve001", "systemctl stop corosync")
    assert status == 0, err
    for name in ("ryanrishi", "pve001", "pve002"):
        log = "\n".join(e.msg for e in three.node(name).journal if e.unit == "corosync")
        assert "Node 2 was shut down by sysadmin" in log, (name, log[-1500:])
    own = "\n".join(e.msg for e in three.node("pve001").journal if e.unit == "corosync")
    assert "shut down by a signal" not in own.split("starting up")[-1]
