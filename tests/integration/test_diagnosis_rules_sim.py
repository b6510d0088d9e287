"""Each diagnosis rule on the simulator: a real runbook over real SSH to the rehearsal cluster.

Every test breaks the rehearsal cluster the way the fault happens on a real one (a scenario of
``pverunbook/sim/fault_scenarios.py``, or the command an operator would have typed), runs the
shipped runbook that gathers the evidence — up to its first change, which the operator here
declines — and asserts the fault the diagnosis of that run names: its statement, its evidence
(node and step) and the next runbook with its parameters, or the manual fix.
tests/unit/pve/test_diagnosis_audit.py checks that every rule has a test here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.engine.journal import read_journal
from pverunbook.pve.diagnosis import Diagnosis, Fault, diagnose
from pverunbook.pve.facts import FactStore
from pverunbook.run_diagnosis import diagnose_run
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.params import resolve
from pverunbook.session import Mode, Session, SessionConfig

pytest.importorskip("asyncssh")

RUNS: list[str] = []  # every rehearsal of this module, for unique journal names


class Operator(ScriptedDecider):
    """Answers inputs from ``params``; confirms changes only when ``go`` (else declines)."""

    def __init__(self, go: bool, **kw: Any) -> None:
        super().__init__(manual=go, **kw)
        self.go = go

    async def confirm(self, request: ConfirmRequest) -> str | None:
        return request.expected if self.go else None


async def start(tmp_path: Path, scenario: str) -> Session:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario=scenario,
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    return session


async def rehearse(session: Session, tmp_path: Path, runbook: str,
                   sets: dict[str, str] | None = None, go: bool = False,
                   ) -> tuple[str, list[ev.Event]]:
    """Run a shipped runbook on the rehearsal cluster; returns (status, journal events)."""
    assert session.cluster is not None
    rb = load_file(builtin_dir() / f"{runbook}.toml")
    values, _ = resolve(rb, sets or {}, nodes=session.cluster.names)
    RUNS.append(runbook)
    journal = tmp_path / f"{runbook}-{len(RUNS)}.jsonl"
    engine = session.engine(rb, Operator(go, params=sets or {}), values, journal_path=journal)
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal)


async def triage(session: Session, tmp_path: Path, pings: int = 20, cycles: int = 10,
                 ) -> tuple[FactStore, Diagnosis]:
    # 120 s between the two samples of knet's counters: the simulated flapping links go down
    # about three times a minute, so a link that flaps shows growth in nearly every run
    _, events = await rehearse(session, tmp_path, "network-triage",
                               {"ping_count": str(pings), "mtr_cycles": str(cycles),
                                "sample_s": "120"})
    return diagnose_run(events)


async def run_on(session: Session, node: str, command: str) -> str:
    assert session.cluster is not None and session.transport is not None
    out: list[str] = []
    await session.transport.run(session.cluster.node(node), command, timeout=30,
                                on_output=lambda s, t: out.append(t))
    return "".join(out)


def fault(diag: Diagnosis, rule: str) -> Fault:
    found = [f for f in diag.faults if f.rule == rule]
    assert found, f"no {rule} fault in {[f.rule for f in diag.faults]}"
    return found[0]


def steps_of(f: Fault) -> set[tuple[str | None, str]]:
    return {(e.node, e.step_id) for e in f.evidence}


# --- network --------------------------------------------------------------------------------


async def test_sim_lossy_link_and_ping_mtr_disagreement(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-outage")
    try:
        # 40 pings against one mtr cycle: mtr can only say 0% or 100%, ping says ~17%
        store, diag = await triage(session, tmp_path, pings=40, cycles=1)
        lossy = fault(diag, "lossy-link")
        assert lossy.statement.startswith("the link between ryanrishi and pve001 loses packets "
                                          "on the routed path through the gateway: ping ")
        assert ("ryanrishi", "ping") in steps_of(lossy)
        assert lossy.next_runbook is None  # never tune around the routed path
        assert diag.faults[0].rule == "route-via-gateway"  # the root cause ranks first
        c = fault(diag, "ping-mtr-disagree")
        assert "trust ping (more probes)" in c.statement or "trust the worse figure" in \
            c.statement
        assert "different numbers of probes (ping 40, mtr 1)" in c.action
        assert {e.step_id for e in c.evidence} == {"ping", "mtr"}
        assert store.value("mtr.sent", "ryanrishi", "pve001") == 1
    finally:
        await session.close()


async def test_sim_udp_lost_while_icmp_is_clean(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-udp-blocked")
    try:
        # too few probes first: the link flaps, but 30 ICMP probes cannot clear the path
        _, few = await triage(session, tmp_path, pings=10, cycles=5)
        flap = fault(few, "flapping-link")
        assert flap.statement.startswith("the knet link between ryanrishi and pve001 went down ")
        assert "too few to see the loss" in flap.statement
        assert flap.next_runbook is not None
        assert flap.next_runbook.label() == "network-triage (ping_count = 100, mtr_cycles = 100)"
        # the measurement it asks for: ICMP clean with enough probes, knet still flapping
        store, diag = await triage(session, tmp_path, pings=20, cycles=10)
        assert store.value("ping.loss_pct", "ryanrishi", "pve001") == 0.0
        assert store.value("ping.loss_pct", "pve001", "ryanrishi") == 0.0
        udp = fault(diag, "udp-lost-icmp-ok")
        assert udp.statement.startswith("corosync's UDP between ryanrishi and pve001 is lost "
                                        "while ICMP gets through (ping 0% ryanrishi→pve001")
        assert "lossy-link" not in [f.rule for f in diag.faults]
        assert {"knet-stats", "ping"} <= {s for _n, s in steps_of(udp)}
        assert [m.node for m in udp.manual] == ["ryanrishi", "pve001"]
        # the manual check it names finds the rule on pve001, and only there
        shown = await run_on(session, "pve001", udp.manual[1].command)
        assert "udp dport 5405" in shown and "192.168.4.200" in shown
        assert "5405" not in await run_on(session, "ryanrishi", udp.manual[0].command)
    finally:
        await session.close()


async def test_sim_mtu_mismatch_points_at_the_node_on_every_small_link(tmp_path: Path) -> None:
    session = await start(tmp_path, "three-node-mtu")
    try:
        store, diag = await triage(session, tmp_path, pings=5, cycles=2)
        assert store.value("knet.mtu", "ryanrishi", "pve001") == 1397
        assert store.value("knet.mtu", "ryanrishi", "pve002") == 1297
        mtu = fault(diag, "mtu-mismatch")
        assert mtu.statement.startswith("every knet link to pve002 has a smaller MTU (1297) "
                                        "than the others (1397)")
        assert mtu.nodes == ("pve002",)
        assert {s for _n, s in steps_of(mtu)} == {"links-detail"}
        assert [(m.node, m.command) for m in mtu.manual] == [("pve002", "ip link show | grep mtu")]
        assert "mtu 1400" in await run_on(session, "pve002", mtu.manual[0].command)
    finally:
        await session.close()


# --- membership -----------------------------------------------------------------------------


async def test_sim_corosync_down_and_the_partition_it_leaves(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "systemctl stop corosync")
        _, diag = await triage(session, tmp_path, pings=5, cycles=2)
        down = fault(diag, "corosync-not-running")
        assert down.statement == "corosync is not running on pve001"
        assert steps_of(down) in ({("pve001", "links")}, {("pve001", "quorum")})
        # the tools' own error, which they print on stderr
        # (corosync-quorumtool -siH, which triage now asks: "Cannot initialize QUORUM service")
        assert down.evidence[0].line.startswith(("Cannot initialize CMAP service",
                                                 "Cannot initialize QUORUM service",
                                                 "Could not initialize corosync"))
        assert [m.node for m in down.manual] == ["pve001"]
        assert "systemctl start corosync" in down.manual[0].command
        part = fault(diag, "partition")
        assert part.statement.startswith("no node has quorum (ryanrishi; 2 votes expected)")
        assert part.next_runbook is not None and part.next_runbook.label() == "qdevice-setup"
        assert diag.faults[0].rule == "corosync-not-running"
    finally:
        await session.close()


async def test_sim_quorum_lost_recently_after_the_route_is_fixed(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-outage")
    try:
        await run_on(session, "ryanrishi", "ip route del 192.168.4.201 via 192.168.4.1")
        await run_on(session, "ryanrishi", "sleep 60")  # let the membership settle
        store, diag = await triage(session, tmp_path, pings=5, cycles=2)
        assert store.value("quorum.quorate", "ryanrishi") is True
        # issue 19: the re-run in the same session reports no current fault; the journal's
        # quorum losses and knet's down counts are named as history
        assert all(f.severity == "info" for f in diag.faults), \
            [(f.rule, f.severity, f.statement) for f in diag.faults]
        lost = fault(diag, "quorum-lost-recently")
        assert lost.statement.startswith("history: quorum was lost up to ")
        assert {s for _n, s in steps_of(lost)} == {"journal"}
        hist = fault(diag, "link-flaps-history")
        assert hist.statement.startswith("history: the knet link between ")
        assert store.value("knet.down_delta", "ryanrishi", "pve001") == 0
        # pmxcfs's own log of the outage (quorum lost 70-odd times) is history too
        trouble = fault(diag, "pmxcfs-log-trouble")
        assert trouble.statement.startswith("history: pmxcfs could not replicate")
        assert "it resynced and recovered" in trouble.statement
        assert "route-via-gateway" not in [f.rule for f in diag.faults]
    finally:
        await session.close()


async def test_sim_pmxcfs_blocked_while_the_link_flaps(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-outage")
    try:
        _, diag = await triage(session, tmp_path, pings=5, cycles=2)
        # While the link flaps, the write probe either waits (quorate, membership changing) or
        # is refused at once with EACCES (no quorum at that moment, dcdb.c
        # dcdb_send_fuse_message): both are the right pmxcfs fault, named on the probe's step.
        rules = [f.rule for f in diag.faults]
        if "pmxcfs-blocked" in rules:
            blocked = fault(diag, "pmxcfs-blocked")
            assert blocked.statement.startswith("/etc/pve writes hang on ")
            assert "pmxcfs waits for a stable corosync membership" in blocked.statement
        else:
            blocked = fault(diag, "pmxcfs-read-only")
        assert {s for _n, s in steps_of(blocked)} == {"pve-write"}
    finally:
        await session.close()


async def test_sim_qdevice_registered_but_not_voting(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        status, _ = await rehearse(session, tmp_path, "qdevice-setup",
                                   {"qnetd_host": "192.168.4.250"}, go=True)
        assert status == "ok"
        _, healthy = await triage(session, tmp_path, pings=5, cycles=2)
        assert "qdevice-not-voting" not in [f.rule for f in healthy.faults]
        # the QNetd host is outside the inventory: the operator goes there over SSH
        await run_on(session, "ryanrishi", "ssh -o BatchMode=yes root@192.168.4.250 "
                                           "systemctl stop corosync-qnetd")
        store, diag = await triage(session, tmp_path, pings=5, cycles=2)
        qd = fault(diag, "qdevice-not-voting")
        assert qd.statement.startswith("the QDevice is configured but not voting (seen from "
                                       "ryanrishi, pve001)")
        assert store.value("qdevice.alive", "ryanrishi") is True  # A,NV: up, no vote
        assert any("A,NV" in e.line for e in qd.evidence)
        assert {s for _n, s in steps_of(qd)} == {"quorum"}
        assert [m.node for m in qd.manual] == ["ryanrishi", "pve001"]
    finally:
        await session.close()


async def test_sim_config_version_mismatch_in_local_copies(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "sed -i 's/config_version: [0-9]*/config_version: 99/' "
                                        "/etc/corosync/corosync.conf")
        status, events = await rehearse(session, tmp_path, "corosync-tuning")
        assert status in ("aborted", "failed")  # stopped before any change; the checks ran
        assert not [e for e in events if isinstance(e, ev.CommandStarted)
                    and e.step_id in ("edit", "apply")]
        _, diag = diagnose_run(events)
        cv = fault(diag, "config-version-mismatch")
        assert "corosync.conf config_version: " in cv.statement
        assert "pve001=99" in cv.statement and "ryanrishi=5" in cv.statement
        assert ("pve001", "local-configs") in steps_of(cv)
        assert [m.node for m in cv.manual] == ["ryanrishi"] or \
            [m.node for m in cv.manual] == ["ryanrishi", "ryanrishi"]
    finally:
        await session.close()


async def test_sim_two_node_flag_left_in_a_three_node_cluster(tmp_path: Path) -> None:
    """issue 21: `two_node: 1` in a 3-node cluster shows as `Flags: 2Node` with 3 expected
    votes; votequorum then gives quorum 1 to two remaining members (a latent split brain)."""
    session = await start(tmp_path, "three-node-bad-link")
    try:
        assert session.cluster is not None
        for n in session.cluster.names:
            await run_on(session, n, "sed -i 's/provider: corosync_votequorum/provider: "
                                     "corosync_votequorum\\n  two_node: 1/' "
                                     "/etc/corosync/corosync.conf && corosync-cfgtool -R")
        store, diag = await triage(session, tmp_path, pings=5, cycles=2)
        flag = fault(diag, "two-node-flag")
        assert flag.statement.startswith("`two_node: 1` is set although 3 votes are expected")
        assert flag.severity == "warning"
        assert "2Node" in str(store.value("quorum.flags", session.cluster.names[0]))
    finally:
        await session.close()


# --- certificates and config.db -------------------------------------------------------------


async def test_sim_certificate_missing_and_expired(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-network-fixed")  # the outage took both pve-ssl.pem
    try:
        _, events = await rehearse(session, tmp_path, "certificate-regeneration")
        store, diag = diagnose_run(events)
        missing = [f for f in diag.faults if f.rule == "cert-missing"]
        assert [f.statement for f in missing] == [
            "ryanrishi has no node certificate (pve-ssl.pem)",
            "pve001 has no node certificate (pve-ssl.pem)"]
        for f in missing:
            # openssl says so on stderr: the evidence is its own line
            assert f.evidence[0].step_id == "inspect-node-cert"
            assert "Could not open file or uri for loading certificate" in f.evidence[0].line
            assert f.next_runbook is not None
            assert f.next_runbook.label() == "certificate-regeneration (force = false)"
        # the runbook regenerates them; then the same check reads a valid certificate
        status, events = await rehearse(session, tmp_path, "certificate-regeneration", go=True)
        store, diag = diagnose_run(events)
        assert "cert-missing" not in [f.rule for f in diag.faults]
        not_after = store.value("cert.not_after", "pve001")
        assert isinstance(not_after, str)
        later = datetime.strptime(not_after, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
        expired = diagnose(store, nodes=["ryanrishi", "pve001"], now=later + timedelta(days=1))
        f = fault(expired, "cert-expired")
        assert f.statement.startswith("the node certificate of ryanrishi expired (")
        assert f.next_runbook is not None
        assert f.next_runbook.label() == "certificate-regeneration (force = true)"
    finally:
        await session.close()


async def test_sim_damaged_db_on_one_node_and_on_all(tmp_path: Path) -> None:
    session = await start(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "echo garbage > /var/lib/pve-cluster/config.db")
        _, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                   {"damaged_node": "pve001"})
        _, diag = diagnose_run(events)
        one = fault(diag, "db-damaged-one")
        assert one.statement == "config.db is damaged on pve001; ryanrishi has a sound copy"
        assert one.next_runbook is not None
        assert one.next_runbook.label() == "cluster-db-reset (damaged_node = pve001)"
        assert ("pve001", "db-integrity") in steps_of(one)
        # SQLite cannot open that file to back it up: the damaged node's files are copied
        finished = {e.step_id: e.status for e in events if isinstance(e, ev.StepFinished)}
        assert finished["backup-db"] == "ok"
        # ... into pverunbook's own directory, never into Proxmox's backup/ rotation
        copied = await run_on(session, "pve001", "ls /root/pverunbook-backup/*/")
        assert "damaged-config.db" in copied
        assert "damaged" not in await run_on(session, "pve001",
                                             "ls /var/lib/pve-cluster/backup/ || true")
        await run_on(session, "ryanrishi", "echo garbage > /var/lib/pve-cluster/config.db")
        status, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                        {"damaged_node": "pve001"})
        _, diag = diagnose_run(events)
        every = fault(diag, "db-damaged-all")
        assert every.statement.startswith("config.db is damaged on every node")
        # No runbook restores every node: the fix is the manual one-node-first procedure, and
        # never Proxmox's backup/config-*.sql.gz (a joining node's pre-join database).
        assert every.next_runbook is None
        assert "ONE node" in every.action and "pre-join" in every.action
        assert "vm-config-recovery" not in every.action
        assert "db-damaged-one" not in [f.rule for f in diag.faults]
    finally:
        await session.close()


async def test_sim_database_deleted_under_running_pmxcfs(tmp_path: Path) -> None:
    """`rm config.db*` while pmxcfs runs: nothing is lost yet (pmxcfs holds the tree). One
    node → resync it from the sound peer; every node → save first, no runbook."""
    session = await start(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "rm -f /var/lib/pve-cluster/config.db*")
        _, events = await rehearse(session, tmp_path, "cluster-health-check")
        _, diag = diagnose_run(events)
        one = fault(diag, "db-deleted")
        assert one.nodes == ("pve001",)
        assert one.next_runbook is not None
        assert one.next_runbook.label() == "cluster-db-reset (damaged_node = pve001)"
        assert "db-damaged-one" not in [f.rule for f in diag.faults]
        await run_on(session, "ryanrishi", "rm -f /var/lib/pve-cluster/config.db*")
        _, events = await rehearse(session, tmp_path, "cluster-health-check")
        _, diag = diagnose_run(events)
        held = fault(diag, "db-deleted-held")
        assert held.nodes == ("ryanrishi", "pve001") and held.next_runbook is None
        assert "db-deleted" not in [f.rule for f in diag.faults]
        # /etc/pve still serves the tree on both nodes
        assert "storage.cfg" in await run_on(session, "pve001", "ls /etc/pve")
        # the fault's commands, as the lab proves them on real pmxcfs: save the database
        # pmxcfs keeps open (/proc/<pid>/fd), then restart one node at a time
        saves = [m for m in held.manual if "/proc/$p/fd" in m.command]
        assert [m.node for m in saves] == ["ryanrishi", "pve001"]
        for m in saves:
            out = await run_on(session, m.node, m.command)
            assert "ok\n" in out and " files\n" in out and "saved in" in out, out
            assert "nothing to save" not in out, out
        for m in held.manual[len(saves):]:
            out = await run_on(session, m.node, m.command)
            assert out.startswith("ok\n") and int(out.split()[1]) > 5, out
        _, events = await rehearse(session, tmp_path, "cluster-health-check")
        _, diag = diagnose_run(events)
        assert not [f.rule for f in diag.faults if f.rule.startswith("db-")], diag.faults
    finally:
        await session.close()


# --- nodes the run could not read -----------------------------------------------------------


async def test_sim_check_with_a_node_that_refuses_ssh_is_not_healthy(tmp_path: Path) -> None:
    """A healthy three-node rehearsal cluster whose inventory gives pve002 a port nothing
    listens on: the check reads the other two, finds nothing wrong there, and must still say
    which node it did not check and why — never HEALTHY (the --json status is "incomplete")."""
    import dataclasses
    import io
    import socket

    from pverunbook.check_json import check_document
    from pverunbook.headless import EventPrinter

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = int(s.getsockname()[1])  # nobody listens once the socket is closed
    session = await start(tmp_path, "three-node")
    try:
        assert session.cluster is not None
        dead = "pve002"
        session.cluster = dataclasses.replace(session.cluster, nodes=tuple(
            dataclasses.replace(n, port=closed) if n.name == dead else n
            for n in session.cluster.nodes))
        unreachable = await session.connect()
        assert set(unreachable) == {dead} and "connection refused" in unreachable[dead]
        status, events = await rehearse(session, tmp_path, "cluster-health-check")
    finally:
        await session.close()
    assert status == "completed_with_failures"
    _, diag = diagnose_run(events)
    first = diag.faults[0]
    assert first.rule == "node-not-checked" and first.nodes == (dead,)
    assert first.statement.startswith(f"{dead} was NOT checked: connection refused")
    doc = check_document(events)
    assert doc["healthy"] is False and doc["status"] == "incomplete"
    assert set(doc["unchecked"]) == {dead}
    out = io.StringIO()
    printer = EventPrinter(out)
    for e in events:
        printer(e)
    text = out.getvalue()
    assert "HEALTHY" not in text and f"{dead} was NOT checked" in text


async def test_sim_three_node_cluster_with_a_two_node_inventory(tmp_path: Path) -> None:
    """A healthy three-node rehearsal cluster whose inventory lists only ryanrishi and
    pve001: every step on "all" covers those two, finds nothing wrong and says ok, while pve002
    was never touched. The check's diagnosis names pve002 from the nodelist of corosync.conf,
    and a runbook acting on every node is stopped by its `inventory-complete` guard before it
    changes anything."""
    import dataclasses

    session = await start(tmp_path, "three-node")
    try:
        assert session.cluster is not None
        session.cluster = dataclasses.replace(session.cluster, nodes=tuple(
            n for n in session.cluster.nodes if n.name != "pve002"))
        assert session.cluster.names == ["ryanrishi", "pve001"]
        _, events = await rehearse(session, tmp_path, "cluster-health-check")
        _, diag = diagnose_run(events)
        first = diag.faults[0]
        assert first.rule == "node-not-in-inventory" and first.severity == "critical"
        assert first.nodes == ("pve002",)
        assert first.statement.startswith("pve002 is in the cluster's nodelist but NOT in "
                                          "the inventory")
        assert {e.step_id for e in first.evidence} == {"corosync-conf"}
        status, events = await rehearse(session, tmp_path, "corosync-tuning",
                                        {"token": "5000"}, go=True)
    finally:
        await session.close()
    guards = [e for e in events if isinstance(e, ev.GuardResult)
              and e.check == "inventory-complete"]
    assert guards and not guards[0].ok and guards[0].step_id == "apply"
    assert "pve002 which the inventory does not list" in guards[0].message
    assert status != "ok"
    assert not [e for e in events if isinstance(e, ev.CommandStarted) and e.step_id == "apply"]
