"""The rollback timer's status line, read in the simulated shell as on a node: a resumed run
parses ``<tag> <state> <deadline> <now> <alive>``. The simulated ``sed -n 's/^x=//p'`` printed
every line of the file (sed(1): ``p`` prints only when a replacement was made), so a resumed
rehearsal never saw its pending COMMIT and ended "ok" while the timer was still armed."""

from __future__ import annotations

import pytest

from pverunbook.engine import rollback_script as rs
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

pytest.importorskip("asyncssh")


async def test_sed_n_prints_only_replaced_lines(healthy: SimCluster) -> None:
    rc, out, _ = await sh(healthy, "pve001", "printf 'a=1\\ndeadline=42\\nb=2\\n' | "
                                             "sed -n 's/^deadline=//p'")
    assert (rc, out) == (0, "42\n")


async def test_timer_status_reads_as_five_words_in_the_simulated_shell(
        healthy: SimCluster) -> None:
    tag = "r1-apply-1"
    d = rs.node_dir(tag, rs.ROOT)
    rc, _, err = await sh(healthy, "pve001", f"mkdir -p {d} && printf 'armed' > {d}/state && "
                          f"printf 'deadline=1732052999\\nmethod=nohup\\nfiles=/etc/x\\n' "
                          f"> {d}/armed")
    assert rc == 0, err
    rc, out, err = await sh(healthy, "pve001", rs.status_command([tag]))
    words = out.strip().splitlines()[-1].split()
    assert rc == 0 and len(words) == 5, (out, err)
    assert words[:3] == [tag, "armed", "1732052999"] and words[4] == "0"


async def _status(cluster: SimCluster, tag: str) -> list[str]:
    rc, out, err = await sh(cluster, "pve001", rs.status_command([tag]))
    assert rc == 0, (out, err)
    return out.strip().splitlines()[-1].split()


async def test_a_timer_whose_pid_now_belongs_to_another_process_is_not_alive(
        healthy: SimCluster) -> None:
    """After a reboot (or a killed timer) the recorded pid may be another program's: ``kill -0``
    succeeds, but nothing will fire. The COMMIT screen said "still waiting" for it; the status
    now asks, as the health check does, whether that pid still runs this timer's rollback.sh."""
    plan = rs.Plan(node="pve001", tag="r1-apply-1-pve001", seconds=600, step_id="apply",
                   run_id="r1", checkpoint_id="r1-apply-1", files=["/etc/hosts"])
    d = plan.dir
    rc, _, err = await sh(healthy, "pve001", f"mkdir -p {d}/restore/etc && cp /etc/hosts "
                          f"{d}/restore/etc/hosts && cat > {d}/rollback.sh <<'PVRB'\n"
                          f"{rs.script(plan)}PVRB\n")
    assert rc == 0, err
    rc, out, err = await sh(healthy, "pve001", rs.arm_command(plan))
    assert rc == 0 and out.startswith("armed setsid "), (out, err)
    words = await _status(healthy, plan.tag)
    assert words[1] == "armed" and words[4] == "1", words
    rc, pid, err = await sh(healthy, "pve001", f"cat {d}/pid")
    assert rc == 0 and pid.strip().isdigit(), (pid, err)
    rc, _, err = await sh(healthy, "pve001", f"kill -9 -- -{pid.strip()}")
    assert rc == 0, err
    # the timer is gone and its pid is now pmxcfs's (as after a reboot): alive, not the timer
    rc, other, err = await sh(healthy, "pve001", "pidof pmxcfs")
    assert rc == 0 and other.strip().isdigit(), (other, err)
    rc, _, err = await sh(healthy, "pve001", f"echo {other.strip()} > {d}/pid && "
                          f"sed -i 's/^pid=.*/pid={other.strip()}/' {d}/armed && "
                          f"kill -0 {other.strip()}")
    assert rc == 0, err
    words = await _status(healthy, plan.tag)
    assert words[1] == "armed" and words[4] == "0", words
