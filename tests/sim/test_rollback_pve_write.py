"""The rollback script's /etc/pve write stops retrying once it succeeded.

In a rehearsal a timer that fired on a quorate cluster stayed ``firing`` for five minutes
before it finished: the rehearsal's sh had no ``break``, so the retry loop around the
/etc/pve/corosync.conf write (every 5 s for up to ``PVE_WAIT``) ran to its end after the
first write had succeeded, and logged "not writable yet" on the way. A real node's sh leaves
the loop at once; the rehearsal must too, or it teaches that a restore takes five minutes.
"""

from __future__ import annotations

import pytest

from pverunbook.engine import rollback_script as rs
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

pytest.importorskip("asyncssh")


async def _restore_pve(cluster: SimCluster, copy: str) -> tuple[str, str]:
    plan = rs.Plan(node="pve001", tag="r1-apply-1-pve001", seconds=600, step_id="apply",
                   run_id="r1", checkpoint_id="r1-apply-1", files=[rs.PVE_COROSYNC],
                   corosync_version=rs.config_version(copy) or 0)
    d = plan.dir
    rc, _, err = await sh(cluster, "pve001", f"mkdir -p {d}/restore/etc/pve && "
                          f"cat > {d}/restore{rs.PVE_COROSYNC} && echo armed > {d}/state",
                          stdin=copy.encode())
    assert rc == 0, err
    rc, _, err = await sh(cluster, "pve001", f"cat > {d}/rollback.sh",
                          stdin=rs.script(plan).encode())
    assert rc == 0, err
    rc, out, err = await sh(cluster, "pve001", f"sh {d}/rollback.sh now; cat {d}/state; "
                                               f"cat {d}/log")
    assert rc == 0, (out, err)
    return out.splitlines()[0], out


async def test_a_writable_etc_pve_is_written_once_without_waiting(healthy: SimCluster
                                                                   ) -> None:
    rc, conf, _ = await sh(healthy, "pve001", f"cat {rs.PVE_COROSYNC}")
    assert rc == 0 and "config_version" in conf
    copy = rs.with_version(conf, (rs.config_version(conf) or 0) + 2)
    state, log = await _restore_pve(healthy, copy)
    assert state == "done", log
    assert f"restored {rs.PVE_COROSYNC}" in log, log
    assert "not writable yet" not in log, log
    rc, now, _ = await sh(healthy, "pve001", f"cat {rs.PVE_COROSYNC}")
    assert now == copy


async def test_etc_pve_already_holding_the_copy_ends_the_wait_at_once(healthy: SimCluster
                                                                      ) -> None:
    """Another node's rollback wrote it first: restored, and no retrying."""
    rc, conf, _ = await sh(healthy, "pve001", f"cat {rs.PVE_COROSYNC}")
    assert rc == 0
    copy = rs.with_version(conf, (rs.config_version(conf) or 0) + 2)
    rc, _, err = await sh(healthy, "ryanrishi", f"cat > {rs.PVE_COROSYNC}", stdin=copy.encode())
    assert rc == 0, err
    state, log = await _restore_pve(healthy, copy)
    assert state == "done", log
    assert f"restored {rs.PVE_COROSYNC}" in log and "not writable yet" not in log, log
