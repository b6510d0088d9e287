"""The recovery runbooks (certificate-regeneration, vm-config-recovery, cluster-db-reset)
rehearsed over SSH on simulated clusters of three and more nodes, each in a state the review of
these runbooks against Proxmox's source named (../shared/cases/review/README.md):

- certificate-regeneration with the cluster CA gone: ONE node creates the CA, every node ends
  with a certificate that verifies against it (Setup.pm ``gen_pve_node_files``: only the node
  that created the CA is forced; ``gen_pveca_cert`` takes no cluster lock).
- vm-config-recovery from a database copy: each config goes to the node whose kvm runs the VM
  now, a VM running nowhere is only listed, a VMID configured on another node is reported.
- cluster-db-reset: pve-cluster only is restarted (Setup.pm ``finish_join``), corosync keeps
  running, a deleted database counts as damaged, a second damaged node is a refusal.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    ConfirmRequest,
    ScriptedDecider,
)
from pverunbook.pve.facts import extract
from pverunbook.pve.facts.model import Observation
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from pverunbook.sim import SimCluster, certs
from pverunbook.sim.node import SimNode
from pverunbook.sim.scenarios import NYC_VMS
from tests.sim.conftest import sh
from tests.sim.rehearsal import (
    builtin,
    run_engine,
    run_on,
    run_with_status,
    start_session,
    status_of,
)

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types what each confirmation asks; says manual steps are done; may override a failed
    checkpoint (a deliberate decision, e.g. a missing CA that updatecerts will recreate)."""

    def __init__(self, override: bool = False, **kw: Any) -> None:
        cp = Answer(CheckpointChoice.OVERRIDE, text=OVERRIDE_PHRASE) if override else None
        super().__init__(manual=True, checkpoint=cp, **kw)

    async def confirm(self, request: ConfirmRequest) -> str | None:
        return request.expected


async def rehearse(session: Session, tmp_path: Path, runbook: str,
                   sets: dict[str, str] | None = None, override: bool = False,
                   ) -> tuple[str, list[ev.Event]]:
    rb = builtin(runbook)
    values, _ = resolve(rb, sets or {})
    journal = tmp_path / f"{runbook}-{len(session.journals)}-{id(values)}.jsonl"
    return await run_engine(session, rb, Operator(override=override, params=sets or {}),
                            values, journal)


def started(events: list[ev.Event]) -> dict[str, tuple[str, ...]]:
    return {e.step_id: e.nodes for e in events if isinstance(e, ev.StepStarted)}


def text_of(events: list[ev.Event], step: str) -> str:
    return "".join(getattr(e, "text", "") or getattr(e, "message", "") for e in events
                   if getattr(e, "step_id", "") == step)


# -- certificate-regeneration --------------------------------------------------------------

async def test_new_ca_is_created_by_one_node_and_every_certificate_verifies(
        tmp_path: Path) -> None:
    # The CA and its key are gone, the five node certificates (signed by the old CA) are not.
    # Run everywhere at once (the old runbook), one node makes a new CA and only its own
    # certificate follows: the four others keep certificates the new CA did not sign.
    session = await start_session(tmp_path, "five-node")
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        await run_on(session, names[0], "rm /etc/pve/pve-root-ca.pem "
                                        "/etc/pve/priv/pve-root-ca.key")
        status, events = await rehearse(session, tmp_path, "certificate-regeneration",
                                        override=True)
        assert status == "ok", status_of(events)
        runs = started(events)
        fingerprints = set()
        for n in names:
            code, out = await run_with_status(
                session, n, "openssl verify -CAfile "
                f"/etc/pve/pve-root-ca.pem /etc/pve/nodes/{n}/pve-ssl.pem")
            assert code == 0 and out.strip().endswith("pve-ssl.pem: OK"), (n, out)
            fp = await run_on(session, n, "openssl x509 -noout -fingerprint -sha256 "
                                          "-in /etc/pve/pve-root-ca.pem")
            fingerprints.add(fp)
        assert len(fingerprints) == 1
        assert runs["updatecerts-first"] == (names[0],)
        order = [e.step_id for e in events if isinstance(e, ev.StepStarted)]
        assert order.index("updatecerts-first") < order.index("ca-present") \
            < order.index("updatecerts") < order.index("verify-chain")
        assert "not signed by the current CA" in text_of(events, "updatecerts")
    finally:
        await session.close()


async def test_a_lost_node_key_gets_a_new_certificate_before_pveproxy_restarts(
        tmp_path: Path) -> None:
    # pve-ssl.key is gone, pve-ssl.pem (signed by the current CA) is not. updatecerts makes a
    # new key (Setup.pm gen_pve_ssl_key) but keeps the certificate unless forced
    # (gen_pve_ssl_cert), and pveproxy with a key that is not its certificate's fails every
    # TLS handshake (AnyEvent::TLS: "no shared cipher"). The runbook must force that node and
    # check key and certificate belong together before it restarts pveproxy.
    session = await start_session(tmp_path, "three-node")
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        lost = names[1]
        before = await run_on(session, lost, "openssl x509 -noout -fingerprint -sha256 "
                                             "-in /etc/pve/local/pve-ssl.pem")
        await run_on(session, lost, f"rm /etc/pve/nodes/{lost}/pve-ssl.key")
        status, events = await rehearse(session, tmp_path, "certificate-regeneration")
        steps = status_of(events)
        pairs = {n: await run_on(session, n, "openssl x509 -noout -pubkey -in "
                                 "/etc/pve/local/pve-ssl.pem; openssl pkey -pubout -in "
                                 "/etc/pve/local/pve-ssl.key") for n in names}
        web = await run_on(session, lost, "curl -sk https://localhost:8006 -o /dev/null "
                                          "-w '%{http_code}\\n'")
        after = await run_on(session, lost, "openssl x509 -noout -fingerprint -sha256 "
                                            "-in /etc/pve/local/pve-ssl.pem")
    finally:
        await session.close()
    assert status == "ok", steps
    for n, out in pairs.items():
        cert_key, key_key = out.split("-----END PUBLIC KEY-----\n")[:2]
        assert cert_key.startswith("-----BEGIN PUBLIC KEY-----") and cert_key == key_key, n
    assert web.strip() == "200", web
    assert after != before
    assert "not the certificate of pve-ssl.key" in text_of(events, "updatecerts")


async def test_simulated_pveproxy_with_a_key_not_its_certificates_fails_handshakes(
        tmp_path: Path) -> None:
    # As Setup.pm and AnyEvent::TLS behave (checked against libanyevent-perl 7.17: a server
    # context with a mismatched key is created, every handshake fails "no shared cipher"):
    # plain updatecerts after the key is lost makes a new key, keeps the certificate, and
    # the restarted pveproxy answers no TLS client until --force re-issues the certificate.
    session = await start_session(tmp_path, "three-node")
    try:
        assert session.cluster is not None
        n = session.cluster.names[1]
        curl = "curl -sk https://localhost:8006 -o /dev/null -w '%{http_code}\\n'"
        await run_on(session, n, f"rm /etc/pve/nodes/{n}/pve-ssl.key; timeout 60 pvecm "
                                 "updatecerts >/dev/null; systemctl restart pveproxy")
        broken = await run_on(session, n, curl)
        await run_on(session, n, "timeout 60 pvecm updatecerts --force >/dev/null; "
                                 "systemctl restart pveproxy")
        fixed = await run_on(session, n, curl)
    finally:
        await session.close()
    assert broken.strip() == "000", broken
    assert fixed.strip() == "200", fixed


async def test_a_root_key_lost_by_a_concurrent_merge_is_named(tmp_path: Path) -> None:
    # Setup.pm ssh_merge_keys reads /etc/pve/priv/authorized_keys, adds the node's key and
    # writes it back without a lock; updatecerts on every node at once can lose a key. The
    # check after it names the node whose key is missing; every node passes once it is back.
    rb = builtin("certificate-regeneration")
    (command,) = rb.step("root-keys").commands
    session = await start_session(tmp_path, "five-node")
    try:
        assert session.cluster is not None
        a, b = list(session.cluster.names)[:2]
        await run_on(session, a, "timeout 60 pvecm updatecerts")
        ok = await run_on(session, b, command)
        await run_on(session, a, f"grep -v 'root@{b}$' /etc/pve/priv/authorized_keys > /tmp/k; "
                                 "cp /tmp/k /etc/pve/priv/authorized_keys")
        lost = await run_on(session, b, command)
        await run_on(session, b, "timeout 60 pvecm updatecerts")
        back = await run_on(session, b, command)
        await run_on(session, a, "rm /root/.ssh/id_rsa.pub")  # nothing merged: nothing lost
        none = await run_on(session, a, command)
    finally:
        await session.close()
    assert ok.startswith("root key in "), ok
    assert lost.startswith("MISSING: this node root key"), lost
    assert back.startswith("root key in "), back
    assert none.startswith("no /root/.ssh/id_rsa.pub on this node"), none


async def test_certificate_regeneration_refuses_a_ca_about_to_expire(tmp_path: Path) -> None:
    # updatecerts refuses to sign with less than two weeks left on the CA (Setup.pm
    # gen_pve_ssl_cert): the runbook stops at inspect-ca, before anything is changed.
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        assert session.sim is not None and session.sim.world is not None
        assert session.cluster is not None and session.transport is not None
        now = session.sim.world.clock.now()
        key = certs.rsa_key_pem(None)
        # make_ca's CA starts 700 days before its `now` and lasts 3650 days: this one ends
        # in 7 days
        ca = certs.make_ca(key, now - (3650 - 700 - 7) * 86400)
        first = session.cluster.node(session.cluster.names[0])
        await session.transport.write_file(first, "/etc/pve/pve-root-ca.pem", ca, timeout=30)
        await session.transport.write_file(first, "/etc/pve/priv/pve-root-ca.key", key,
                                           timeout=30)
        status, events = await rehearse(session, tmp_path, "certificate-regeneration")
        assert status != "ok"
        assert status_of(events)["inspect-ca"] == "failed"
        assert "updatecerts-first" not in started(events)
    finally:
        await session.close()


# -- vm-config-recovery --------------------------------------------------------------------

def move_vm(src: SimNode, dst: SimNode | None, vmid: int) -> None:
    """The VM's kvm process leaves ``src`` (pid file and /proc entry too) and, unless ``dst``
    is None (stopped), runs on ``dst``: what a migration or a shutdown leaves behind."""
    vm = src.vms.pop(vmid)
    cmdline = src.host(f"/proc/{vm.pid}/cmdline").read_bytes()
    shutil.rmtree(src.host(f"/proc/{vm.pid}"))
    src.host(f"/run/qemu-server/{vmid}.pid").unlink()
    if dst is None:
        return
    dst.vms[vmid] = vm
    proc = dst.host(f"/proc/{vm.pid}")
    proc.mkdir(parents=True, exist_ok=True)
    (proc / "cmdline").write_bytes(cmdline)
    (proc / "comm").write_text("kvm\n")
    dst.host(f"/run/qemu-server/{vmid}.pid").write_text(f"{vm.pid}\n")


async def test_configs_from_a_copy_go_where_each_vm_runs_now(tmp_path: Path) -> None:
    # A copy of config.db from before the loss has 108 and 101 under ryanrishi and 104/110
    # under pve001. Since then 108 was migrated to pve001 (its kvm runs there now) and 110 was
    # stopped. Restored by the copy's directories (the old runbook), 108 would get its config
    # on ryanrishi, where Proxmox could start a second instance on the same disk.
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        assert session.sim is not None
        sim_a, sim_b = session.sim.node("ryanrishi"), session.sim.node("pve001")
        db = sim_a.pmxcfs.memdb
        assert db is not None
        copy = db.copy()
        for vm in NYC_VMS:  # where each VM ran when the copy was taken
            copy.write(f"nodes/{vm.node}/qemu-server/{vm.vmid}.conf", vm.config.encode(), 1,
                       1700000000)
        copy.save(sim_a.host("/root/config.db.before"))
        copy.save(sim_b.host("/root/config.db.before"))
        move_vm(sim_a, sim_b, 108)  # migrated since: the same kvm now runs on pve001
        move_vm(sim_b, None, 110)  # stopped since: runs nowhere
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        sets={"source": "dump",
                                              "dump_path": "/root/config.db.before"})
        steps = status_of(events)
        on_a = await run_on(session, "ryanrishi", "ls /etc/pve/nodes/ryanrishi/qemu-server/")
        on_b = await run_on(session, "pve001", "ls /etc/pve/nodes/pve001/qemu-server/")
    finally:
        await session.close()
    assert on_a.split() == ["101.conf"], (steps, text_of(events, "dump-stage"),
                                          text_of(events, "dump-placement"),
                                          text_of(events, "dump-restore-all"))
    assert on_b.split() == ["104.conf", "108.conf"], on_b
    assert steps["dump-restore-all"] == "ok"
    assert steps["dump-unplaced"] == "failed"  # 110 runs nowhere: listed, not placed
    assert "NOT PLACED: VM 110 runs on no node" in text_of(events, "dump-unplaced")


async def test_a_vmid_configured_on_another_node_is_reported_never_forced(
        tmp_path: Path) -> None:
    # pmxcfs refuses a second config for one VMID (memdb.c vmlist_different_vm_exists):
    # `cp` answers "File exists", and the runbook reports the VM instead of writing.
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        code, out = await run_with_status(session, "ryanrishi",
                                          "cp /etc/pve/nodes/pve001/qemu-server/104.conf "
                                          "/etc/pve/nodes/ryanrishi/qemu-server/104.conf 2>&1")
        assert code == 1 and "File exists" in out
        assert session.sim is not None
        sim_a, sim_b = session.sim.node("ryanrishi"), session.sim.node("pve001")
        move_vm(sim_b, sim_a, 104)  # 104 runs on ryanrishi now, its config is on pve001
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        sets={"source": "processes"})
        conf = await run_on(session, "ryanrishi", "ls /etc/pve/nodes/*/qemu-server/104.conf")
    finally:
        await session.close()
    assert status_of(events)["running-vms"] == "failed"
    assert "ELSEWHERE: VM 104 runs here but its config is " \
           "/etc/pve/nodes/pve001/qemu-server/104.conf" in text_of(events, "running-vms")
    assert conf.split() == ["/etc/pve/nodes/pve001/qemu-server/104.conf"]


async def test_a_node_whose_host_name_is_a_fqdn_owns_its_short_name(tmp_path: Path) -> None:
    # pmxcfs.c main: the node name is uname()'s nodename cut at the first dot, so a node whose
    # /etc/hostname says `pve001.lan` owns /etc/pve/nodes/pve001. The check compared the full
    # `hostname` with the inventory and called such a node renamed (NAME MISMATCH).
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        assert session.sim is not None
        session.sim.node("pve001").host("/etc/hostname").write_text("pve001.lan\n")
        full = await run_on(session, "pve001", "hostname; hostname -s")
        assert full.split() == ["pve001.lan", "pve001"]
        status, events = await rehearse(session, tmp_path, "vm-config-recovery",
                                        sets={"source": "processes"})
    finally:
        await session.close()
    assert status_of(events)["configs-really-gone"] == "ok", (
        status, text_of(events, "configs-really-gone"))
    assert "this node's directory: /etc/pve/nodes/pve001" in text_of(events,
                                                                     "configs-really-gone")


async def test_health_check_reads_a_deleted_database_as_missing_and_creates_nothing(
        tmp_path: Path) -> None:
    # sqlite3 without -readonly opens read-write and creates an empty config.db where the
    # outage's `rm` deleted it, then answers `ok`: the check wrote into /var/lib/pve-cluster
    # and called the deleted database sound.
    rb = builtin("cluster-health-check")
    (command,) = next(s for s in rb.steps if s.id == "db-integrity").commands
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        await run_on(session, "pve001", "rm /var/lib/pve-cluster/config.db*")
        code, out = await run_with_status(session, "pve001", command + " 2>&1")
        after, _ = await run_with_status(session, "pve001",
                                         "test -e /var/lib/pve-cluster/config.db")
    finally:
        await session.close()
    assert after == 1, "the check created a config.db"
    facts = extract("db-integrity", Observation("pve001", out, code))
    assert [(f.name, f.value) for f in facts] == [("db.integrity", "missing")], out


async def test_health_check_write_probe_leaves_nothing_in_etc_pve(tmp_path: Path) -> None:
    # The check is run again after every fix; a `touch` probe left a file in /etc/pve and
    # raised pmxcfs's version each time. The probe asks for a write pmxcfs refuses (EFBIG).
    rb = builtin("cluster-health-check")
    commands = next(s for s in rb.steps if s.id == "pve-write").commands
    script = "; ".join(c.replace("{{node}}", "pve001") for c in commands)
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        before = await run_on(session, "pve001", "cd /etc/pve && find . -type f | sort")
        code, out = await run_with_status(session, "pve001", f"{{ {script}; }} 2>&1")
        after = await run_on(session, "pve001", "cd /etc/pve && find . -type f | sort")
    finally:
        await session.close()
    assert tree(after) == tree(before)
    facts = {f.name: f.value for f in extract("pve-write", Observation("pve001", out, code))}
    assert facts["pmxcfs.writable"] is True, out


# -- cluster-db-reset ----------------------------------------------------------------------

#: every file of /etc/pve but pmxcfs's per-node status files (.members, .version, ...)
PVE_TREE = "cd /etc/pve && find . -type f | sort | xargs sha256sum"


def tree(listing: str) -> list[str]:
    return [x for x in listing.splitlines() if not x.rsplit("/", 1)[-1].startswith(".")]


async def test_one_deleted_database_is_resynced_and_corosync_never_stops(
        tmp_path: Path) -> None:
    # pve001's config.db was deleted while its peers are quorate. The old check stopped at
    # `cp: cannot stat` (backup) and took SQLite's online backup (fails on damage); the old
    # runbook also stopped corosync (finish_join stops pve-cluster only).
    session = await start_session(tmp_path, "five-node")
    try:
        assert session.sim is not None and session.cluster is not None
        await run_on(session, "pve001", "rm /var/lib/pve-cluster/config.db")
        corosync_pid = session.sim.node("pve001").corosync.pid
        status, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                        sets={"damaged_node": "pve001"})
        trees = {n: "\n".join(tree(await run_on(session, n, PVE_TREE)))
                 for n in session.cluster.names}
        journal = await run_on(session, "pve001", "journalctl -u corosync --no-pager")
        pid_after = session.sim.node("pve001").corosync.pid
    finally:
        await session.close()
    # the read-only pve-readable/verify-content checks list qemu-server/ and lxc/ of nodes the
    # scenario gave no VMs (and so no such directory); every other step must succeed, and the
    # resync itself is judged by the trees below
    failed = {k for k, v in status_of(events).items() if v not in ("ok", "skipped")}
    assert failed <= {"pve-readable", "verify-content"}, (status, failed)
    assert "was deleted" in text_of(events, "db-integrity")
    assert len(set(trees.values())) == 1 and "qemu-server/104.conf" in trees["pve001"]
    assert pid_after == corosync_pid and "Stopping corosync" not in journal
    assert started(events)["stop-cluster-services"] == ("pve001",)


async def test_a_second_damaged_node_is_a_refusal(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "five-node")
    try:
        for n in ("pve001", "pve002"):
            await run_on(session, n, "rm /var/lib/pve-cluster/config.db")
        status, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                        sets={"damaged_node": "pve001"})
    finally:
        await session.close()
    assert status != "ok"
    assert status_of(events)["peers-healthy"] == "failed"
    assert "stop-cluster-services" not in started(events)


@pytest.mark.parametrize("damage, logged", [
    ("UPDATE tree SET data = x'00' WHERE type = 4 AND name = 'nodes'",
     "[database] crit: directory inode contains data (inode = "),
    # a second entry with a sibling's name: no UNIQUE constraint stops it in SQLite
    ("INSERT INTO tree SELECT (SELECT max(inode) + 1 FROM tree), parent, version, writer, "
     "mtime, type, name, data FROM tree WHERE parent = 0 AND name = 'corosync.conf'",
     "[database] crit: found entry with duplicate name 'corosync.conf'"),
])
async def test_pmxcfs_refuses_a_tree_sqlite_calls_sound(healthy: SimCluster, damage: str,
                                                        logged: str) -> None:
    # SQLite's integrity_check says ok, pmxcfs's loader (database.c bdb_backend_load_index)
    # refuses the tree and pve-cluster does not start. The runbook's damage check names it;
    # the old one (integrity_check only) called it sound, and the duplicate name it missed.
    db = "/var/lib/pve-cluster/config.db"
    st, out, err = await sh(healthy, "pve001", f"systemctl stop pve-cluster; sqlite3 {db} "
                            f"\"{damage}\"; "
                            f"sqlite3 -readonly {db} 'PRAGMA integrity_check;'")
    assert out == "ok\n", err
    st, _, err = await sh(healthy, "pve001", "systemctl start pve-cluster")
    assert st != 0 and err.startswith("Job for pve-cluster.service failed")
    await healthy.advance(1)
    _, journal, _ = await sh(healthy, "pve001", "journalctl -u pve-cluster -o cat")
    assert logged in journal, journal
    assert "[database] crit: DB load failed" in journal
    assert "[main] crit: memdb_open failed - unable to open database " \
           "'/var/lib/pve-cluster/config.db'" in journal
    rb = builtin("cluster-db-reset")
    check = rb.step("db-integrity")
    _, said, _ = await sh(healthy, "pve001", "; ".join(check.commands))
    assert "pmxcfs's loader rejects" in said and "\nok\n" not in f"\n{said}"
    facts = extract("db-integrity", Observation("pve001", said))
    assert [f.value for f in facts if f.name == "db.integrity"] == ["damaged"]


class Saboteur(Operator):
    """Confirms like an operator, and right when the database is moved aside breaks the node's
    /etc/hosts so pmxcfs will not start again (its name resolves only to loopback)."""

    def __init__(self, session: Session, node: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.session, self.node = session, node

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.step.id == "move-db-aside":
            assert self.session.sim is not None
            hosts = self.session.sim.node(self.node).host("/etc/hosts")
            hosts.write_text(f"127.0.1.1 {self.node}\n")
        return await super().confirm(request)


async def test_ha_is_started_again_when_the_reset_fails_halfway(tmp_path: Path) -> None:
    # HA is stopped on the damaged node before pve-cluster; if a later step fails, HA must not
    # be left stopped: the failing steps lead to ha-start.
    session = await start_session(tmp_path, "nyc-healthy")
    try:
        rb = builtin("cluster-db-reset")
        values, _ = resolve(rb, {"damaged_node": "pve001"})
        status, events = await run_engine(
            session, rb, Saboteur(session, "pve001", params={"damaged_node": "pve001"}),
            values, tmp_path / "reset.jsonl")
        lrm = await run_on(session, "pve001", "systemctl is-active pve-ha-lrm pve-ha-crm")
    finally:
        await session.close()
    steps = status_of(events)
    assert status != "ok"
    assert steps["ha-stop-lrm"] == "ok" and steps["start-cluster-services"] == "failed", steps
    assert steps["ha-start"] == "ok", steps
    assert lrm.split() == ["active", "active"]


@pytest.mark.parametrize("loopback_only", [False, True])
async def test_node_name_check_is_pmxcfs_own_lookup(tmp_path: Path, loopback_only: bool) -> None:
    # pmxcfs.c lookup_node_ip takes the first getaddrinfo answer that is not 127.*/::1: Debian's
    # `127.0.1.1 <name>` line above the real address is fine (the old check refused it); a name
    # with loopback answers only stops the run before pve-cluster is stopped.
    session = await start_session(tmp_path, "five-node")
    try:
        assert session.sim is not None
        await run_on(session, "pve001", "rm /var/lib/pve-cluster/config.db")
        hosts = await run_on(session, "pve001", "cat /etc/hosts")
        own = [ln for ln in hosts.splitlines() if "pve001" in ln.split("#")[0].split()[1:]]
        assert own and not own[0].startswith("127."), hosts
        rest = [ln for ln in hosts.splitlines() if ln not in own]
        lines = ["127.0.1.1 pve001.lan pve001", *([] if loopback_only else own), *rest]
        session.sim.node("pve001").host("/etc/hosts").write_text("\n".join(lines) + "\n")
        ahosts = await run_on(session, "pve001", 'getent ahosts "$(hostname -s)"')
        assert ahosts.startswith("127.0.1.1       STREAM pve001\n"), ahosts
        status, events = await rehearse(session, tmp_path, "cluster-db-reset",
                                        sets={"damaged_node": "pve001"})
    finally:
        await session.close()
    if loopback_only:
        assert status_of(events)["damaged-node-prereqs"] == "failed", status
        assert "no address but loopback" in text_of(events, "damaged-node-prereqs") \
            or any("no address but loopback" in str(getattr(e, "message", ""))
                   for e in events), status
        assert "stop-cluster-services" not in started(events)
    else:
        assert status_of(events)["damaged-node-prereqs"] == "ok", status
        assert started(events)["stop-cluster-services"] == ("pve001",)
        assert status_of(events)["verify-quorum"] == "ok", status
