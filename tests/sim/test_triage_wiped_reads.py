"""network-triage on a wiped database, rehearsed over SSH: a read that fails at once is no hang.

On ``three-node-wiped`` (config.db deleted on every node, /etc/pve holds only corosync.conf)
"Does /etc/pve answer reads?" fails on every node with exit 2, ``ls: cannot access
'/etc/pve/nodes': No such file or directory``. A trial's diagnosis, after route-fix on a quorate
cluster, still put "/etc/pve reads and writes hang …: pmxcfs waits for a stable corosync
membership" first, with ``pvecm status`` and ``systemctl restart pve-cluster``. The missing
directory is the wiped database's fault, named as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.run_diagnosis import diagnose_run
from tests.sim.rehearsal import builtin, run_on, start_session
from tests.sim.test_recovery_runbooks import rehearse

pytest.importorskip("asyncssh")

NODES = ("ryanrishi", "pve001", "pve002")


async def test_enoent_of_nodes_is_the_missing_directory_not_a_hang(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "three-node-wiped")
    try:
        await run_on(session, "ryanrishi", "ip route del 192.168.4.201 via 192.168.4.1")
        await run_on(session, "ryanrishi",
                     "timeout 120 sh -c 'until corosync-quorumtool -s | grep -q "
                     "\"Nodes:            3\"; do sleep 1; done'")
        _, events = await rehearse(session, tmp_path, "network-triage",
                                   {"ping_count": "10", "mtr_cycles": "10", "sample_s": "5"})
    finally:
        await session.close()
    store, diag = diagnose_run(events)
    for n in NODES:
        assert store.value("pmxcfs.readable", n) is False
        assert store.value("pmxcfs.read_error", n) == "ENOENT"
        assert store.value("quorum.quorate", n) is True
    rules = [f.rule for f in diag.faults]
    assert "pmxcfs-blocked" not in rules, [(f.rule, f.statement) for f in diag.faults]
    (gone,) = [f for f in diag.faults if f.rule == "pmxcfs-node-dir-missing"]
    assert "/etc/pve/nodes/pve002" in gone.statement and "not a quorum problem" in gone.statement
    assert {e.step_id for e in gone.evidence} >= {"pve-read"}
    assert "restart pve-cluster" not in gone.action
    assert not [f.action for f in diag.faults if "`pvecm status`" in f.action]
    # the step's hint tells the two apart
    (step,) = [s for s in builtin("network-triage").steps if s.id == "pve-read"]
    assert "124" in step.hint and "No such file or directory" in step.hint
