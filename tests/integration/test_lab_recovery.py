"""The recovery runbooks on the lab: Proxmox's real pmxcfs beside real corosync and sshd.

- cluster-db-reset with one node's config.db deleted while the others are quorate: only
  pve-cluster restarts there (corosync's pid never changes, as in pve-cluster Setup.pm
  ``finish_join``), pmxcfs resyncs, and /etc/pve is the same on every node; with two damaged
  nodes the run refuses before stopping anything.
- certificate-regeneration with the CA and every node certificate removed: ONE node creates the
  CA (``gen_pveca_cert`` takes no cluster lock), and every node's certificate verifies against
  it afterwards (the others need ``--force``: Setup.pm ``gen_pve_node_files``).
- vm-config-recovery with a VM running on one node whose config sits under another: reported,
  never forced (real pmxcfs refuses the second config with "File exists").
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.lab import Lab
from tests.integration.lab_fixture import Run, run_json

STORAGE_CFG = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n"
#: every file of /etc/pve but pmxcfs's per-node status files (.members, .version, ...)
TREE = "cd /etc/pve && find . -type f ! -name '.*' | sort | xargs sha256sum"


def start_kvm(lab: Lab, name: str, args: list[str]) -> None:
    """The lab's kvm stand-in as ``/usr/bin/kvm ARGS`` (``exec -a`` sets argv[0]; Lab.start_vm
    execs through sys.executable, which a node's mount namespace may not see)."""
    lab.on(name, "mkdir -p /run/qemu-server")
    subprocess.Popen([*lab._enter(lab.node(name)), "bash", "-c",
                      'exec -a /usr/bin/kvm "$0" "$@"', str(lab.dir / "kvm"), *args],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    pidfile = next(args[i + 1] for i, a in enumerate(args) if a == "-pidfile")
    deadline = time.monotonic() + 10
    while not (lab.read(name, pidfile) or "").strip().isdigit():
        assert time.monotonic() < deadline, f"the kvm stand-in on {name} did not start"
        time.sleep(0.05)


def status_of(run: Run) -> dict[str, str]:
    return {str(e["step_id"]): str(e["status"]) for e in run.events
            if e.get("kind") == "step_finished"}


def started(run: Run) -> dict[str, list[Any]]:
    return {str(e["step_id"]): list(e["nodes"]) for e in run.events
            if e.get("kind") == "step_started"}


def test_lab_cluster_db_reset_resyncs_a_deleted_database_corosync_untouched(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    corosync_pids = lab.node_pids("charlie", "corosync")
    assert corosync_pids
    assert lab.on("charlie", "rm /var/lib/pve-cluster/config.db").returncode == 0
    run = run_json(lab, "cluster-db-reset", tmp_path, "--set", "damaged_node=charlie",
                   "--set", "stop_ha=false", "--confirm", "charlie")
    steps = status_of(run)
    # the lab's /etc/hosts has Debian's `127.0.1.1 charlie` above the ring address: the check
    # passes, and the real pmxcfs (lookup_node_ip) started again on the ring address
    assert steps.get("damaged-node-prereqs") == "ok", run.explain()
    assert "127.0.1.1" in run.outputs("damaged-node-prereqs", "charlie"), run.explain()
    addr = lab.node("charlie").addr
    assert f"resolved node name 'charlie' to '{addr}'" in lab.pmxcfs_log("charlie")
    assert steps.get("start-cluster-services") == "ok", run.explain()
    assert steps.get("verify-services") == "ok", run.explain()
    assert "was deleted" in run.outputs("db-integrity", "charlie"), run.explain()
    assert started(run)["stop-cluster-services"] == ["charlie"]
    assert lab.node_pids("charlie", "corosync") == corosync_pids  # never stopped
    lab.wait_pve_quorate()
    trees = {n: lab.on(n, TREE).stdout for n in ("alpha", "bravo", "charlie")}
    assert len(set(trees.values())) == 1, trees
    assert "./corosync.conf" in trees["charlie"] and "./pve-root-ca.pem" in trees["charlie"]
    assert lab.config_db("charlie").exists()


def test_lab_cluster_db_reset_goes_on_when_a_hung_pmxcfs_is_killed_at_stop(
        healthy_lab: Lab, tmp_path: Path) -> None:
    """The outage's pmxcfs may not exit on SIGTERM (stuck in the cluster's messaging): systemd
    SIGKILLs it after TimeoutStopSec and its FUSE mount stays, dead. The reset must go on from
    there (the database is closed with the process; pmxcfs removes the mount when it starts,
    pmxcfs.c umount2 MNT_FORCE), not stop at "still mounted". A SIGSTOPped pmxcfs is that
    hung process: every earlier /etc/pve read is bounded by its timeout."""
    lab = healthy_lab
    (pid,) = lab.node_pids("charlie", "pmxcfs")
    assert lab.on("charlie", "rm /var/lib/pve-cluster/config.db").returncode == 0
    os.kill(pid, signal.SIGSTOP)
    try:
        run = run_json(lab, "cluster-db-reset", tmp_path, "--set", "damaged_node=charlie",
                       "--set", "stop_ha=false", "--confirm", "charlie")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    steps = status_of(run)
    verify = run.outputs("verify-stopped", "charlie")
    assert "pmxcfs: gone" in verify and "/etc/pve mounts: 1" in verify, run.explain()
    assert steps.get("verify-stopped") == "ok", run.explain()
    assert steps.get("start-cluster-services") == "ok", run.explain()
    assert steps.get("verify-services") == "ok", run.explain()
    lab.wait_pve_quorate()
    trees = {n: lab.on(n, TREE).stdout for n in ("alpha", "bravo", "charlie")}
    assert len(set(trees.values())) == 1, trees


def test_lab_cluster_db_reset_refuses_a_second_damaged_node(healthy_lab: Lab,
                                                           tmp_path: Path) -> None:
    lab = healthy_lab
    for n in ("bravo", "charlie"):
        assert lab.on(n, "rm /var/lib/pve-cluster/config.db").returncode == 0
    pmxcfs = lab.node_pids("charlie", "pmxcfs")
    try:
        run = run_json(lab, "cluster-db-reset", tmp_path, "--set", "damaged_node=charlie",
                       "--set", "stop_ha=false", "--confirm", "charlie")
        assert run.rc != 0
        assert status_of(run).get("peers-healthy") == "failed", run.explain()
        assert "stop-cluster-services" not in started(run)
        assert lab.node_pids("charlie", "pmxcfs") == pmxcfs  # nothing was stopped
    finally:
        # put the databases back the way pmxcfs does on a clean stop (the files were only
        # unlinked; the running pmxcfs still holds them)
        for n in ("bravo", "charlie"):
            lab.stop_pmxcfs(n)
            lab.start_pmxcfs(n)
        lab.wait_pve_quorate()


def test_lab_certificate_regeneration_new_ca_one_node_first(healthy_lab: Lab,
                                                           tmp_path: Path) -> None:
    lab = healthy_lab
    names = ("alpha", "bravo", "charlie")
    assert lab.on("alpha", "rm /etc/pve/pve-root-ca.pem /etc/pve/priv/pve-root-ca.key "
                  + " ".join(f"/etc/pve/nodes/{n}/pve-ssl.pem" for n in names)
                  ).returncode == 0
    # no override: the checkpoint records the missing CA files as absent
    run = run_json(lab, "certificate-regeneration", tmp_path)
    steps = status_of(run)
    assert started(run)["updatecerts-first"] == ["alpha"], run.explain()
    assert steps.get("ca-present") == "ok" and steps.get("updatecerts") == "ok", run.explain()
    assert steps.get("verify-chain") == "ok", run.explain()
    ca = {lab.read(n, "/etc/pve/pve-root-ca.pem") for n in names}
    assert len(ca) == 1
    for n in names:
        res = lab.on(n, f"openssl verify -CAfile /etc/pve/pve-root-ca.pem "
                        f"/etc/pve/nodes/{n}/pve-ssl.pem")
        assert res.returncode == 0 and res.stdout.strip().endswith(": OK"), res


def test_lab_certificate_regeneration_lost_node_key_forces_that_node(healthy_lab: Lab,
                                                                     tmp_path: Path) -> None:
    """bravo's pve-ssl.key is gone, its pve-ssl.pem is not: updatecerts makes a new key and
    keeps the certificate unless forced (Setup.pm gen_pve_ssl_key / gen_pve_ssl_cert), and a
    TLS server with a key that is not its certificate's cannot serve (the lab's pveproxy,
    openssl s_server, refuses to start; pveproxy fails every handshake). The run forces bravo
    and ends with key and certificate together on every node, the web port answering."""
    lab = healthy_lab
    names = ("alpha", "bravo", "charlie")
    assert lab.on("bravo", "rm /etc/pve/nodes/bravo/pve-ssl.key").returncode == 0
    run = run_json(lab, "certificate-regeneration", tmp_path)
    assert run.rc == 0, run.explain()
    for n in names:
        cert = lab.on(n, "openssl x509 -noout -pubkey -in /etc/pve/local/pve-ssl.pem").stdout
        key = lab.on(n, "openssl pkey -pubout -in /etc/pve/local/pve-ssl.key").stdout
        assert cert.startswith("-----BEGIN PUBLIC KEY-----") and cert == key, n


def test_lab_vm_config_recovery_reports_a_vmid_configured_elsewhere(healthy_lab: Lab,
                                                                   tmp_path: Path) -> None:
    lab = healthy_lab
    conf = "name: probe\nmemory: 512\n"
    had_storage = lab.read("alpha", "/etc/pve/storage.cfg") is not None
    if not had_storage:  # pve-manager's installer writes one; the lab has none
        assert lab.write("alpha", "/etc/pve/storage.cfg", STORAGE_CFG).returncode == 0
    assert lab.write("alpha", "/etc/pve/nodes/alpha/qemu-server/991.conf", conf
                     ).returncode == 0
    try:
        start_kvm(lab, "charlie", ["-id", "991", "-name", "probe",
                                   "-pidfile", "/var/run/qemu-server/991.pid"])
        # the real pmxcfs refuses a second config for one VMID
        dup = lab.write("charlie", "/etc/pve/nodes/charlie/qemu-server/991.conf", conf)
        assert dup.returncode != 0 and "File exists" in dup.stderr
        run = run_json(lab, "vm-config-recovery", tmp_path, "--set", "source=processes",
                       "--set", "vmid=991")
        said = run.outputs("running-vms", "charlie")
        assert "ELSEWHERE: VM 991 runs here but its config is " \
               "/etc/pve/nodes/alpha/qemu-server/991.conf" in said, (status_of(run),
                                                                     run.explain())
        assert status_of(run).get("running-vms") == "failed"
        assert lab.read("charlie", "/etc/pve/nodes/charlie/qemu-server/991.conf") is None
        assert lab.read("alpha", "/etc/pve/nodes/alpha/qemu-server/991.conf") == conf
    finally:
        lab.stop_vms("charlie")
        lab.on("alpha", "rm -f /etc/pve/nodes/alpha/qemu-server/991.conf")
        if not had_storage:
            lab.on("alpha", "rm -f /etc/pve/storage.cfg")


def test_lab_vm_config_recovery_places_each_config_where_its_vm_runs_now(
        healthy_lab: Lab, tmp_path: Path) -> None:
    # A copy of the database holds 992 under alpha and 993 under bravo. Since then 992 was
    # migrated to charlie (its kvm runs there now) and 993 was stopped, and the configs were
    # lost. Restored by the copy's directories, 992 would come back on alpha.
    lab = healthy_lab
    names = ("alpha", "bravo", "charlie")
    had_storage = lab.read("alpha", "/etc/pve/storage.cfg") is not None
    if not had_storage:
        assert lab.write("alpha", "/etc/pve/storage.cfg", STORAGE_CFG).returncode == 0
    copy = "/var/lib/pve-cluster/config.db.broken-labtest"
    try:
        assert lab.write("alpha", "/etc/pve/nodes/alpha/qemu-server/992.conf",
                         "name: moved\nmemory: 512\n").returncode == 0
        assert lab.write("bravo", "/etc/pve/nodes/bravo/qemu-server/993.conf",
                         "name: stopped\nmemory: 512\n").returncode == 0
        for n in names:
            lab.wait_file(n, "/etc/pve/nodes/bravo/qemu-server/993.conf",
                          "name: stopped\nmemory: 512\n")
            res = lab.on(n, f"sqlite3 /var/lib/pve-cluster/config.db '.backup {copy}'")
            assert res.returncode == 0, res
        lab.on("alpha", "rm /etc/pve/nodes/alpha/qemu-server/992.conf "
                        "/etc/pve/nodes/bravo/qemu-server/993.conf")
        start_kvm(lab, "charlie", ["-id", "992", "-name", "moved",
                                   "-pidfile", "/var/run/qemu-server/992.pid"])
        run = run_json(lab, "vm-config-recovery", tmp_path, "--set", "source=dump")
        steps = status_of(run)
        assert steps.get("dump-restore-all") == "ok", (steps, run.explain())
        placed = {n: lab.on(n, f"ls /etc/pve/nodes/{n}/qemu-server/").stdout.split()
                  for n in names}
        assert placed == {"alpha": [], "bravo": [], "charlie": ["992.conf"]}, placed
        assert steps.get("dump-unplaced") == "failed"
        assert "NOT PLACED: VM 993 runs on no node" in run.outputs("dump-unplaced", "alpha")
    finally:
        lab.stop_vms("charlie")
        lab.on("alpha", "rm -f /etc/pve/nodes/*/qemu-server/992.conf "
                        "/etc/pve/nodes/*/qemu-server/993.conf")
        for n in names:
            lab.on(n, f"rm -rf {copy} /root/pverunbook-recovered")
        if not had_storage:
            lab.on("alpha", "rm -f /etc/pve/storage.cfg")


def test_lab_all_databases_damaged_refused_then_the_procedure_restores_one_node(
        healthy_lab: Lab, tmp_path: Path) -> None:
    # Every node's config.db is garbage. The runbook refuses (nothing to resync from) and its
    # all-damaged step gives the procedure; done by hand here, step by step as written, on the
    # real pmxcfs: restore ONE node (alpha) from a copy while pve-cluster is stopped on the
    # others, then each other node starts empty and resyncs from alpha.
    lab = healthy_lab
    names = ("alpha", "bravo", "charlie")
    db = "/var/lib/pve-cluster/config.db"
    copy = "/var/lib/pve-cluster/good-copy.db"
    marker = f"restored {time.time()}\n"
    assert lab.write("alpha", "/etc/pve/lab-restore-marker", marker).returncode == 0
    lab.wait_file("charlie", "/etc/pve/lab-restore-marker", marker)
    res = lab.on("alpha", f"sqlite3 {db} '.backup {copy}'")
    assert res.returncode == 0, res
    before = lab.on("alpha", TREE).stdout
    corosync = {n: lab.node_pids(n, "corosync") for n in names}
    try:
        for n in names:
            lab.stop_pmxcfs(n)
            lab.on(n, f"rm -f {db}-wal {db}-shm; echo garbage > {db}")
        for n in names:
            assert lab.systemctl(n, "start", "pve-cluster", check=False).returncode != 0
        run = run_json(lab, "cluster-db-reset", tmp_path, "--set", "damaged_node=charlie",
                       "--set", "stop_ha=false", "--confirm", "charlie")
        assert run.rc != 0
        assert status_of(run).get("all-damaged") == "failed", run.explain()
        # the step's own advice reaches the operator (a trailing `false` used to hide it)
        assert any(e.get("kind") == "expectation" and e.get("step_id") == "all-damaged"
                   and not e.get("ok") and "restore ONE node" in str(e.get("message"))
                   for e in run.events), run.explain()
        assert "stop-cluster-services" not in started(run)
        # 2. pve-cluster stays stopped on every node but alpha (it is: none could start)
        # 3. alpha: the damaged files aside, the copy in place, pve-cluster started
        res = lab.on("alpha", f"mkdir -p /root/pverunbook-replaced && mv {db} "
                              f"/root/pverunbook-replaced/ && cp {copy} {db} && chmod 0600 {db}")
        assert res.returncode == 0, res
        lab.start_pmxcfs("alpha")
        assert lab.read("alpha", "/etc/pve/lab-restore-marker") == marker
        # 4. each other node in turn: its database aside, pve-cluster started: it resyncs
        for n in ("bravo", "charlie"):
            res = lab.on(n, f"mkdir -p /root/pverunbook-replaced && mv {db} "
                            "/root/pverunbook-replaced/")
            assert res.returncode == 0, res
            lab.start_pmxcfs(n)
            lab.wait_file(n, "/etc/pve/lab-restore-marker", marker)
        lab.wait_pve_quorate()
        trees = {n: lab.on(n, TREE).stdout for n in names}
        assert set(trees.values()) == {before}, trees
        assert {n: lab.node_pids(n, "corosync") for n in names} == corosync
    finally:
        for n in names:
            if not lab.running(n, "pve-cluster"):
                lab.on(n, f"test -s {copy} && cp {copy} {db} && rm -f {db}-wal {db}-shm")
                lab.start_pmxcfs(n)
        lab.on("alpha", f"rm -f /etc/pve/lab-restore-marker {copy}")
        for n in names:
            lab.on(n, f"rm -rf /root/pverunbook-replaced {copy}")
