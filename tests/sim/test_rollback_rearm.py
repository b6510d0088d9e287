"""A rollback timer outlives the app on a real node; so it does in the rehearsal.

The rehearsal cluster runs in the app's process: quitting, or ``kill -9``, ended the
``setsid`` timer task, and the resumed rehearsal found ``state`` still ``armed`` with no
process — the change was then neither kept nor undone, which no real node does. Now the
cluster, started again on its state directory, rearms each waiting timer for what is left of
its deadline, and it fires then.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pverunbook.engine import rollback_script as rs
from pverunbook.sim import SimCluster
from pverunbook.sim.commands import detach
from tests.sim.conftest import STORY_EPOCH, sh

pytest.importorskip("asyncssh")

PLAN = rs.Plan(node="pve001", tag="r1-apply-1-pve001", seconds=600, step_id="apply",
               run_id="r1", checkpoint_id="r1-apply-1", files=["/etc/hosts"])


def test_the_simulator_keeps_timers_where_the_engine_puts_them() -> None:
    assert detach.ROLLBACK_ROOT == rs.ROOT


async def test_a_waiting_timer_is_rearmed_and_fires_after_a_restart(tmp_path: Path) -> None:
    d = PLAN.dir
    state = tmp_path / "state"
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as first:
        rc, _, err = await sh(first, "pve001", f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                              f"{d}/restore/etc/hosts && echo '# changed' >> /etc/hosts")
        assert rc == 0, err
        rc, _, err = await sh(first, "pve001", f"cat > {d}/rollback.sh", rs.script(PLAN).encode())
        assert rc == 0, err
        rc, out, err = await sh(first, "pve001", rs.arm_command(PLAN))
        assert out.startswith("armed setsid "), (out, err)
        _, old_pid, _ = await sh(first, "pve001", f"cat {d}/pid")
    # the app is gone; the node's timer is not
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as again:
        _, pid, _ = await sh(again, "pve001", f"cat {d}/pid")
        assert pid.strip().isdigit() and pid != old_pid
        rc, _, _ = await sh(again, "pve001", f"kill -0 {pid.strip()}")
        assert rc == 0, "the rearmed timer is not running"
        _, armed, _ = await sh(again, "pve001", f"cat {d}/armed")
        assert f"pid={pid.strip()}\n" in armed and "method=setsid\n" in armed
        _, st, _ = await sh(again, "pve001", f"cat {d}/state")
        assert st.strip() == "armed"
        await again.advance(PLAN.seconds + 60)
        # the timer's sleep takes seconds x time_scale of real time, then the script runs
        for _ in range(300):
            _, st, _ = await sh(again, "pve001", f"cat {d}/state")
            if st.strip() in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
        assert st.strip() == "done", st
        _, hosts, _ = await sh(again, "pve001", "cat /etc/hosts")
        assert "# changed" not in hosts
        _, log, _ = await sh(again, "pve001", "cat /var/log/pverunbook-rollback.log")
        assert "timer fired" in log and "restored /etc/hosts" in log


async def test_a_committed_timer_is_not_rearmed(tmp_path: Path) -> None:
    d = PLAN.dir
    state = tmp_path / "state"
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as first:
        await sh(first, "pve001", f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                 f"{d}/restore/etc/hosts")
        await sh(first, "pve001", f"cat > {d}/rollback.sh", rs.script(PLAN).encode())
        await sh(first, "pve001", rs.arm_command(PLAN))
        rc, out, err = await sh(first, "pve001", rs.disarm_command(PLAN.tag))
        assert "disarmed" in out, (out, err)
    async with SimCluster("nyc-healthy", state_dir=state, time_scale=0.002,
                          stepped_from=STORY_EPOCH) as again:
        assert detach.rearm_rollback_timers(again.node("pve001")) == []
        _, st, _ = await sh(again, "pve001", f"cat {d}/state")
        assert st.strip() == "committed"


async def test_fire_now_restores_at_once_in_the_rehearsal(tmp_path: Path) -> None:
    """"Roll back now" on a rehearsal node: the rehearsal's sh runs the same script (setsid,
    the mkdir claim, kill of the waiting timer): restored long before the 600 s timer, once,
    and the waiting timer is gone."""
    d = PLAN.dir
    async with SimCluster("nyc-healthy", state_dir=tmp_path / "state", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as c:
        await sh(c, "pve001", f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                 f"{d}/restore/etc/hosts && echo '# changed' >> /etc/hosts")
        await sh(c, "pve001", f"cat > {d}/rollback.sh", rs.script(PLAN).encode())
        _, out, _ = await sh(c, "pve001", rs.arm_command(PLAN))
        assert out.startswith("armed setsid ")
        _, pid, _ = await sh(c, "pve001", f"cat {d}/pid")
        rc, out, err = await sh(c, "pve001", rs.fire_now_command(PLAN.tag))
        assert (rc, out.strip()) == (0, "firing"), err
        for _ in range(300):
            _, st, _ = await sh(c, "pve001", f"cat {d}/state")
            if st.strip() in ("done", "failed"):
                break
            await asyncio.sleep(0.1)
        assert st.strip() == "done", st
        _, hosts, _ = await sh(c, "pve001", "cat /etc/hosts")
        assert "# changed" not in hosts
        _, log, _ = await sh(c, "pve001", "cat /var/log/pverunbook-rollback.log")
        assert log.count("restoring checkpoint") == 1 and "rolled back now" in log, log
        rc, _, _ = await sh(c, "pve001", f"kill -0 {pid.strip()}")
        assert rc != 0, "the waiting timer still runs"
        _, again, _ = await sh(c, "pve001", rs.fire_now_command(PLAN.tag))
        assert again.strip() == "state done"
