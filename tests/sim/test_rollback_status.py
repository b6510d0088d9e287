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
