"""A wiped cluster database (``nyc-wiped``, ``three-node-wiped``: config.db deleted on every
node, /etc/pve holds only corosync.conf while the VMs keep running), recovered by doing what
the health check's diagnosis says, in its order, and nothing else.

Each round runs the check and takes its first fault that says what to do: the runbook it
names, run to its end as the operator would (typing each confirmation), or, for a fault no
runbook fixes, the exact command its manual fix gives. vm-config-recovery used to be proposed
before certificate-regeneration and stopped at ``configs-really-gone`` (the nodes' directories
are only recreated by ``pvecm updatecerts``), then at ``storage-cfg`` (storage.cfg gone, no
rule named it). Now every runbook the check names runs to its end, and the last check shows
no VM-config, certificate or storage fault.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.pve.diagnosis import Diagnosis, Fault
from tests.sim.rehearsal import run_with_status, start_session, status_of
from tests.sim.test_outage_past_two_nodes import assert_certificates_verify, check, running_on
from tests.sim.test_recovery_runbooks import rehearse

pytest.importorskip("asyncssh")

#: Faults that this recovery must leave behind none of.
RECOVERED = {"vm-without-config", "vm-config-wrong-node", "cert-missing", "cert-not-ca",
             "ca-missing", "pve-own-dir-missing", "pmxcfs-node-dir-missing",
             "storage-cfg-missing"}
#: Rounds of check-then-act before giving up (each round fixes at least one fault).
ROUNDS = 12


def next_action(diag: Diagnosis) -> Fault | None:
    """The first fault that says what to do: a runbook, or a manual command that fixes it
    (a fault whose manual fix is only a command to look with is not an action)."""
    for f in diag.faults:
        if f.next_runbook is not None or f.rule == "storage-cfg-missing":
            return f
    return None


@pytest.mark.parametrize("scenario", ["three-node-wiped", "nyc-wiped"])
async def test_following_the_proposals_in_order_recovers_a_wiped_database(
        tmp_path: Path, scenario: str) -> None:
    session = await start_session(tmp_path, scenario)
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        vms = running_on(session)
        first = await check(session, tmp_path)
        rules = [f.rule for f in first.faults]
        # the kind of faults a wiped database leaves, each named
        assert {"pmxcfs-node-dir-missing", "storage-cfg-missing",
                "vm-without-config", "ca-missing"} <= set(rules), rules
        # both probes (pve-mount's test -d, pve-write's ENOENT) see each node's directory
        # missing: one fault names it, for every node, with both probes' evidence
        assert "pve-own-dir-missing" not in rules, rules
        (dirs,) = [f for f in first.faults if f.rule == "pmxcfs-node-dir-missing"]
        assert set(dirs.nodes) == set(names)
        assert {e.step_id for e in dirs.evidence} == {"pve-mount", "pve-write"}
        assert dirs.next_runbook is not None
        # the CA is gone too: every proposal of the runbook says force = true, the one run
        # that makes one CA and signs every node's certificate with it
        assert {f.next_runbook.label() for f in first.faults if f.next_runbook
                and f.next_runbook.runbook == "certificate-regeneration"} == \
            {"certificate-regeneration (force = true)"}
        (storage,) = [f for f in first.faults if f.rule == "storage-cfg-missing"]
        assert set(storage.nodes) == set(names)
        # nothing that writes VM configs before the directories and storage.cfg are back
        assert rules.index("vm-without-config") > max(
            rules.index(r) for r in ("pmxcfs-node-dir-missing", "storage-cfg-missing"))
        done: list[str] = []
        diag = first
        for _ in range(ROUNDS):
            fault = next_action(diag)
            if fault is None or not RECOVERED & {f.rule for f in diag.faults}:
                break
            if fault.next_runbook is None:  # storage.cfg: the manual fix the fault gives
                (fix,) = fault.manual
                code, out = await run_with_status(session, fix.node, fix.command)
                assert code == 0 and "lvmthin: local-lvm" in out, out
                done.append(f"manual {fault.rule}")
            else:
                nxt = fault.next_runbook
                status, events = await rehearse(
                    session, tmp_path, nxt.runbook,
                    sets={k: str(v).lower() if isinstance(v, bool) else str(v)
                          for k, v in nxt.params.items()})
                # a read-only triage's failed measurements are its findings: it ran to its end
                ends = ("ok", "completed_with_failures") if nxt.runbook == "network-triage" \
                    else ("ok",)
                assert status in ends, (nxt.label(), done, status_of(events))
                done.append(nxt.label())
            diag = await check(session, tmp_path)
        left = [f.rule for f in diag.faults]
        assert not RECOVERED & set(left), (left, done)
        # vm-config-recovery ran once, after the directories and storage.cfg were back
        order = [d.split(" (")[0] for d in done]
        assert order.count("vm-config-recovery") == 1
        assert order.index("vm-config-recovery") > max(
            order.index("certificate-regeneration"), order.index("manual storage-cfg-missing"))
        # user.cfg and datacenter.cfg: only a copy of the database has them; still named
        assert "cluster-file-missing" in left, left
        await assert_certificates_verify(session)
        for n in names:
            for vmid in vms[n]:
                code, _ = await run_with_status(
                    session, n, f"test -s /etc/pve/nodes/{n}/qemu-server/{vmid}.conf")
                assert code == 0, (n, vmid, done)
        assert running_on(session) == vms  # the VMs kept running through all of it
    finally:
        await session.close()
