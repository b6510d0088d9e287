"""The story's whole outage on clusters of three and five nodes, rehearsed over SSH.

The health check on ``three-node-outage`` / ``five-node-outage`` (VMs on every node but one,
one node with three; every VM config and web UI certificate lost while the VMs run; the
story's host route on the first node) must name each node's lost VMs and certificates and
propose the runbooks that fix them; with the route gone, vm-config-recovery and
certificate-regeneration run to their end and put every config back on the node whose kvm
runs it, with certificates that verify. ``three-node-wiped`` (config.db deleted on every node)
needs a new CA made by one node. cluster-db-reset resyncs one node of three from its peers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.pve.diagnosis import Diagnosis
from pverunbook.run_diagnosis import diagnose_run
from pverunbook.session import Session
from pverunbook.sim.scenarios import get
from tests.sim.rehearsal import run_on, run_with_status, start_session, status_of
from tests.sim.test_recovery_runbooks import PVE_TREE, rehearse, started, tree

pytest.importorskip("asyncssh")


async def check(session: Session, tmp_path: Path) -> Diagnosis:
    """The health check, as ``pverunbook check`` runs it, and its diagnosis."""
    status, events = await rehearse(session, tmp_path, "cluster-health-check")
    assert status == "ok", status_of(events)
    return diagnose_run(events)[1]


async def fix_the_route(session: Session) -> None:
    """The diagnosis's manual fix for the story's route (route-via-gateway)."""
    await run_on(session, "ryanrishi", "ip route del 192.168.4.201 via 192.168.4.1")


def running_on(session: Session) -> dict[str, list[int]]:
    """VMIDs whose kvm runs on each node, as the simulator runs them."""
    assert session.sim is not None and session.cluster is not None
    return {n: sorted(session.sim.node(n).vms) for n in session.cluster.names}


async def assert_certificates_verify(session: Session) -> None:
    assert session.cluster is not None
    cas = set()
    for n in session.cluster.names:
        code, out = await run_with_status(
            session, n, "openssl verify -CAfile /etc/pve/pve-root-ca.pem "
                        f"/etc/pve/nodes/{n}/pve-ssl.pem")
        assert code == 0 and out.strip().endswith("pve-ssl.pem: OK"), (n, out)
        cas.add(await run_on(session, n, "openssl x509 -noout -fingerprint -sha256 "
                                         "-in /etc/pve/pve-root-ca.pem"))
        web = await run_on(session, n, "curl -sk https://localhost:8006 -o /dev/null "
                                       "-w '%{http_code}\\n'")
        assert web.strip() == "200", (n, web)
    assert len(cas) == 1  # one cluster CA, read alike on every node


@pytest.mark.parametrize("scenario", ["three-node-outage", "five-node-outage"])
async def test_check_names_each_nodes_losses_and_the_runbooks_restore_them(
        tmp_path: Path, scenario: str) -> None:
    sc = get(scenario)
    session = await start_session(tmp_path, scenario)
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        vms = running_on(session)
        counts = sorted(len(v) for v in vms.values())
        assert counts[0] == 0 or counts[-1] >= 3  # a node runs no VM, or one runs several
        diag = await check(session, tmp_path)
        rules = [f.rule for f in diag.faults]
        assert rules[0] == "route-via-gateway", rules
        (lost,) = [f for f in diag.faults if f.rule == "vm-without-config"]
        per_node = "; ".join(f"{n}: {', '.join(map(str, ids))}" for n, ids in vms.items() if ids)
        assert f"{len(sc.vms)} VM(s) run without a config in /etc/pve ({per_node})" \
            in lost.statement, lost.statement
        assert set(lost.nodes) == {n for n, ids in vms.items() if ids}
        assert lost.next_runbook is not None
        assert lost.next_runbook.label() == "vm-config-recovery (source = processes)"
        certs = [f for f in diag.faults if f.rule == "cert-missing"]
        assert [f.statement for f in certs] == [
            f"{n} has no node certificate (pve-ssl.pem)" for n in names]
        assert [f.nodes for f in certs] == [(n,) for n in names]
        assert {f.next_runbook.label() for f in certs if f.next_runbook} == {
            "certificate-regeneration (force = false)"} and all(f.next_runbook for f in certs)
        # the order: the network first, then the configs, then the certificates
        assert rules.index("vm-without-config") < rules.index("cert-missing")

        await fix_the_route(session)
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        sets={"source": "processes"})
        assert status == "ok", status_of(events)
        assert set(started(events)["rebuild-write"]) == set(names)
        status, events = await rehearse(session, tmp_path, "certificate-regeneration")
        assert status == "ok", status_of(events)
        assert list(status_of(events))[-1] == "verify-served"

        for n in names:
            listed = await run_on(session, n, f"ls /etc/pve/nodes/{n}/qemu-server/")
            assert listed.split() == [f"{i}.conf" for i in sorted(vms[n], key=str)], (n, listed)
            for vmid in vms[n]:
                original = next(v.config for v in sc.vms if v.vmid == vmid)
                uuid = next(ln for ln in original.splitlines() if ln.startswith("smbios1:"))
                conf = await run_on(session, n, f"cat /etc/pve/qemu-server/{vmid}.conf")
                assert uuid in conf.splitlines(), (n, vmid, conf)
        await assert_certificates_verify(session)
        after = [f.rule for f in (await check(session, tmp_path)).faults]
        assert not {"vm-without-config", "vm-config-wrong-node", "cert-missing",
                    "cert-not-ca"} & set(after), after
    finally:
        await session.close()


async def test_wiped_three_nodes_get_one_new_ca_and_every_certificate(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "three-node-wiped")
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        vms = running_on(session)
        diag = await check(session, tmp_path)
        by_rule = {f.rule: f for f in diag.faults}
        assert set(by_rule["vm-without-config"].nodes) == set(names)
        assert [f.nodes for f in diag.faults if f.rule == "cert-missing"] == [
            (n,) for n in names]
        ca = by_rule["ca-missing"]
        assert ca.next_runbook is not None
        assert ca.next_runbook.label() == "certificate-regeneration (force = true)"

        await fix_the_route(session)
        status, events = await rehearse(session, tmp_path, "certificate-regeneration",
                                        override=True)
        assert status == "ok", status_of(events)
        assert started(events)["updatecerts-first"] == (names[0],)  # one node makes the CA
        await assert_certificates_verify(session)
        for n in names:  # updatecerts made every node's own directory again
            out = await run_on(session, n, "ls -d /etc/pve/nodes/*/qemu-server")
            assert f"/etc/pve/nodes/{n}/qemu-server" in out.split(), (n, out)
        assert all(vms[n] for n in names)  # the VMs kept running through all of it
    finally:
        await session.close()


async def test_cluster_db_reset_resyncs_one_node_of_three(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "three-node-outage")
    try:
        assert session.sim is not None and session.cluster is not None
        names = list(session.cluster.names)
        await fix_the_route(session)
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        sets={"source": "processes"})
        assert status == "ok", status_of(events)
        damaged = names[2]  # the node with three VMs
        await run_on(session, damaged, "rm /var/lib/pve-cluster/config.db")
        diag = await check(session, tmp_path)
        proposed = [f.next_runbook.label() for f in diag.faults if f.next_runbook]
        assert f"cluster-db-reset (damaged_node = {damaged})" in proposed, diag.faults
        status, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                        sets={"damaged_node": damaged})
        steps = status_of(events)
        assert status == "ok", steps
        assert started(events)["stop-cluster-services"] == (damaged,)
        trees = {n: "\n".join(tree(await run_on(session, n, PVE_TREE))) for n in names}
        assert len(set(trees.values())) == 1, trees
        for vmid in session.sim.node(damaged).vms:
            assert f"./nodes/{damaged}/qemu-server/{vmid}.conf" in trees[damaged]
        for n in names:
            quorum = await run_on(session, n, "corosync-quorumtool -s")
            assert "Quorate:          Yes" in quorum and "Total votes:      3" in quorum, n
            ha = await run_on(session, n, "systemctl is-active pve-ha-lrm pve-ha-crm "
                                          "pve-cluster corosync")
            assert ha.split() == ["active"] * 4, (n, ha)
        after = [f.rule for f in (await check(session, tmp_path)).faults]
        assert not [r for r in after if r.startswith("db-")], after
    finally:
        await session.close()
