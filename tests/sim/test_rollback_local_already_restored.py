"""A node's rollback finds its local corosync.conf already restored by another node's.

The nodes' timers fire one after the other. The first one to write /etc/pve/corosync.conf
puts the checkpoint's content back with the rollback's config_version, and pmxcfs copies that
to every other node's /etc/corosync/corosync.conf (dcdb.c ``dcdb_sync_corosync_conf``), often
before their own timers fire. The script took that for "changed again after the step", did
not reload, and the node's corosync kept running the changed config: on the lab
(test_lab_rollback, under load) alpha stayed at config_version 3 while the others ran 5. It
is the restore itself, and this node's corosync must still reload it.
"""

from __future__ import annotations

import pytest

from pverunbook.engine import rollback_script as rs
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

pytest.importorskip("asyncssh")


async def _fire(cluster: SimCluster, local_now: str, copy: str) -> tuple[str, str]:
    plan = rs.Plan(node="pve001", tag="r1-apply-1-pve001", seconds=600, step_id="apply",
                   run_id="r1", checkpoint_id="r1-apply-1", files=[rs.LOCAL_COROSYNC],
                   corosync_version=rs.config_version(copy) or 0)
    d = plan.dir
    rc, _, err = await sh(cluster, "pve001", f"mkdir -p {d}/restore/etc/corosync && "
                          f"cat > {d}/restore{rs.LOCAL_COROSYNC} && echo armed > {d}/state",
                          stdin=copy.encode())
    assert rc == 0, err
    rc, _, err = await sh(cluster, "pve001", f"cat > {rs.LOCAL_COROSYNC}",
                          stdin=local_now.encode())
    assert rc == 0, err
    rc, _, err = await sh(cluster, "pve001", f"cat > {d}/rollback.sh", stdin=rs.script(
        plan).encode())
    assert rc == 0, err
    rc, out, err = await sh(cluster, "pve001", f"sh {d}/rollback.sh now; cat {d}/state; "
                                               f"cat {d}/log")
    assert rc == 0, (out, err)
    return out.splitlines()[0], out


async def test_a_local_file_already_holding_the_restored_copy_is_reloaded(
        healthy: SimCluster) -> None:
    rc, conf, _ = await sh(healthy, "pve001", f"cat {rs.LOCAL_COROSYNC}")
    assert rc == 0 and "config_version" in conf
    copy = rs.with_version(conf, (rs.config_version(conf) or 0) + 2)
    state, log = await _fire(healthy, copy, copy)  # pmxcfs already wrote the same bytes
    assert state == "done", log
    assert "already holds the restored copy" in log, log
    assert "corosync-cfgtool -R" in log, log


async def test_a_local_file_changed_again_is_still_left_alone(healthy: SimCluster) -> None:
    rc, conf, _ = await sh(healthy, "pve001", f"cat {rs.LOCAL_COROSYNC}")
    assert rc == 0
    v = (rs.config_version(conf) or 0) + 2
    copy = rs.with_version(conf, v)
    someone = rs.with_version(conf.replace("token:", "token_warning: 80\n  token:", 1)
                              if "token:" in conf else conf + "\n# edited\n", v)
    assert someone != copy
    state, log = await _fire(healthy, someone, copy)
    assert state == "failed", log
    assert "changed again after the step; not restored" in log, log
    assert "corosync-cfgtool -R" not in log, log
