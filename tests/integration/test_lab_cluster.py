"""The lab itself and network-triage on it: real corosync + Proxmox's real pmxcfs + real sshd.

What the lab must be before any runbook result on it means anything: /etc/pve replicates, a
cut-off node refuses writes with EACCES while reads work, ``systemctl stop pve-cluster`` stops
pmxcfs and not corosync, and the shims relay the real programs. Then network-triage, healthy
and with one node cut off, on pmxcfs 8.1.3, and the PVE 9 smoke run on pmxcfs 9.1.6.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

from tests.integration.lab import Lab
from tests.integration.lab_fixture import QUICK, LabFactory, Run, run_json


def wait_for(what: str, cond: object, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"the lab never got there: {what}"
        time.sleep(0.3)


def names_in(text: str) -> set[str]:
    return set(re.findall(r"\b(alpha|bravo|charlie)\b", text))


def test_lab_pmxcfs_replicates_and_refuses_a_vmid_taken_elsewhere(healthy_lab: Lab) -> None:
    lab = healthy_lab
    assert lab.on("alpha", "grep -c ' /etc/pve fuse' /proc/self/mounts").stdout.strip() == "1"
    token = f"written on alpha at {time.time()}\n"
    assert lab.write("alpha", "/etc/pve/lab-probe", token).returncode == 0
    for other in ("bravo", "charlie"):
        lab.wait_file(other, "/etc/pve/lab-probe", token)
    assert lab.on("alpha", "rm /etc/pve/lab-probe").returncode == 0
    # The real database holds what /etc/pve shows.
    db = lab.on("bravo", "sqlite3 /var/lib/pve-cluster/config.db "
                "\"select count(*) from tree where name = 'corosync.conf'\"")
    assert db.stdout.strip() == "1", db.stderr
    conf = "name: probe\nmemory: 512\n"
    assert lab.write("alpha", "/etc/pve/nodes/alpha/qemu-server/990.conf", conf
                     ).returncode == 0
    try:
        dup = lab.write("charlie", "/etc/pve/nodes/charlie/qemu-server/990.conf", conf)
        assert dup.returncode != 0
        assert "File exists" in dup.stderr, dup.stderr
        vmlist = lab.read("charlie", "/etc/pve/.vmlist") or ""
        assert re.search(r'"990":\s*\{[^}]*"node":\s*"alpha"', vmlist), vmlist
    finally:
        lab.on("alpha", "rm -f /etc/pve/nodes/alpha/qemu-server/990.conf")


def test_lab_restore_revives_a_node_whose_pmxcfs_does_not_answer(lab_factory: LabFactory
                                                                  ) -> None:
    """A wedged pmxcfs (seen under CI load: one that mounted /etc/pve and never joined the
    CPG) made every later test on the shared lab fail; restore() now starts that node's
    corosync and pmxcfs afresh. Here the wedge is a SIGSTOPped pmxcfs: /etc/pve does not
    answer, as with the real one. A lab of its own: the restart puts link downs into the
    other nodes' corosync journal, which the shared lab's later health checks would read."""
    lab = lab_factory(names=("alpha", "bravo", "charlie"), cluster="revive")
    name = lab.nodes[1].name
    (before,) = lab.node_pids(name, "pmxcfs")
    corosync = lab.node_pids(name, "corosync")
    os.kill(before, signal.SIGSTOP)
    patience = lab.restore_patience
    lab.restore_patience = 5
    try:
        lab.restore()
    finally:
        lab.restore_patience = patience
        with contextlib.suppress(ProcessLookupError):
            os.kill(before, signal.SIGCONT)
    (after,) = lab.node_pids(name, "pmxcfs")
    assert after != before
    # a new pmxcfs was enough: corosync kept running (its restart would be history in the
    # other nodes' journals)
    assert lab.node_pids(name, "corosync") == corosync
    assert all(lab.pve_quorate(n.name) for n in lab.nodes)
    assert lab.write(name, "/etc/pve/revived", "yes\n").returncode == 0
    lab.wait_file(lab.nodes[0].name, "/etc/pve/revived", "yes\n")
    assert lab.on(name, "rm /etc/pve/revived").returncode == 0


def test_lab_stopping_pve_cluster_stops_pmxcfs_only(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.stop_pmxcfs("charlie")
    assert lab.node_pids("charlie", "pmxcfs") == []
    assert lab.running("charlie", "corosync")
    assert lab.quorum("charlie") == (True, 3)
    # Real `pvecm status` needs /etc/pve/corosync.conf (check_conf_exists) before anything.
    res = lab.on("charlie", "pvecm status")
    assert res.returncode != 0
    assert "does not exist - is this node part of a cluster?" in res.stderr
    assert "lab shim" in res.stderr
    lab.start_pmxcfs("charlie")
    lab.wait_pve_quorate(["charlie"])
    assert "Quorate:          Yes" in lab.on("charlie", "pvecm status").stdout


def test_lab_cut_off_node_refuses_writes_with_eacces_reads_work(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.cut_off("charlie")
    lab.wait_quorate(["alpha", "bravo"], members=2, within=60)
    wait_for("charlie's pmxcfs lost quorum", lambda: not lab.pve_quorate("charlie"))
    res = lab.write("charlie", "/etc/pve/lab-probe", "x\n")
    assert res.returncode != 0 and "Permission denied" in res.stderr, res
    assert (lab.read("charlie", "/etc/pve/corosync.conf") or "").startswith("logging")
    assert lab.write("alpha", "/etc/pve/lab-probe", "quorate side\n").returncode == 0
    lab.on("alpha", "rm -f /etc/pve/lab-probe")
    assert "node lost quorum" in lab.pmxcfs_log("charlie")


def test_lab_updatecerts_makes_a_ca_once_and_certs_that_verify(healthy_lab: Lab) -> None:
    lab = healthy_lab
    verify = ("openssl verify -CAfile /etc/pve/pve-root-ca.pem "
              "/etc/pve/nodes/alpha/pve-ssl.pem /etc/pve/nodes/bravo/pve-ssl.pem "
              "/etc/pve/nodes/charlie/pve-ssl.pem")
    res = lab.on("bravo", verify)
    assert res.returncode == 0 and res.stdout.count(": OK") == 3, res.stdout + res.stderr
    ca = lab.read("alpha", "/etc/pve/pve-root-ca.pem")
    before = lab.read("alpha", "/etc/pve/nodes/alpha/pve-ssl.pem")
    assert lab.on("alpha", "pvecm updatecerts").returncode == 0
    assert lab.read("alpha", "/etc/pve/pve-root-ca.pem") == ca  # CA kept
    assert lab.read("alpha", "/etc/pve/nodes/alpha/pve-ssl.pem") == before  # cert kept
    assert lab.on("alpha", "pvecm updatecerts --force").returncode == 0
    assert lab.read("alpha", "/etc/pve/nodes/alpha/pve-ssl.pem") != before
    assert lab.on("charlie", verify).returncode == 0


# -- network-triage ------------------------------------------------------------------------------

def test_lab_triage_healthy_three_nodes(fresh_lab: Lab, tmp_path: Path) -> None:
    run = run_json(fresh_lab, "network-triage", tmp_path, *QUICK)
    assert run.rc == 0, run.explain()
    assert not run.findings("critical", "warning"), run.explain()
    assert not run.bad_faults(), run.explain()


def test_lab_triage_cut_off_node_partition_quorum_and_eacces(healthy_lab: Lab,
                                                             tmp_path: Path) -> None:
    lab = healthy_lab
    lab.cut_off("charlie")
    lab.wait_quorate(["alpha", "bravo"], members=2, within=60)
    wait_for("charlie's pmxcfs lost quorum", lambda: not lab.pve_quorate("charlie"))
    # The real behaviour first: writes refused, reads fine, corosync running on charlie.
    assert "Permission denied" in lab.write("charlie", "/etc/pve/lab-probe", "x").stderr
    assert lab.running("charlie", "corosync")
    run = run_json(lab, "network-triage", tmp_path, *QUICK)
    bad = run.bad_faults()
    part = [f for f in bad if "partition" in f["statement"]]
    assert part, run.explain()
    statement = part[0]["statement"]
    assert names_in(statement) == {"alpha", "bravo", "charlie"}, statement
    m = re.search(r"(.*?)\bha(?:s|ve) quorum", statement)
    assert m and names_in(m.group(1).split(":")[-1]) == {"alpha", "bravo"}, statement
    assert not any("charlie" in names_in(f["statement"]) and "not running" in f["statement"]
                   and "corosync" in f["statement"] for f in bad), run.explain()
    said = " ".join(f["statement"] for f in bad)
    assert re.search(r"/etc/pve.*(read-only|refuses writes|EACCES|Permission denied)|"
                     r"(read-only|refuses writes|EACCES|Permission denied).*/etc/pve",
                     said), run.explain()


# -- PVE 9 smoke run -----------------------------------------------------------------------------

def test_lab9_pmxcfs_916_replicates_and_triage_is_clean(healthy_lab9: Lab,
                                                         tmp_path: Path) -> None:
    lab = healthy_lab9
    assert lab.version == "9.1.6"
    token = f"pve9 {time.time()}\n"
    assert lab.write("bravo", "/etc/pve/lab-probe", token).returncode == 0
    lab.wait_file("alpha", "/etc/pve/lab-probe", token)
    lab.wait_file("charlie", "/etc/pve/lab-probe", token)
    lab.on("bravo", "rm -f /etc/pve/lab-probe")
    dup_conf = "memory: 512\n"
    assert lab.write("alpha", "/etc/pve/nodes/alpha/qemu-server/991.conf", dup_conf
                     ).returncode == 0
    try:
        dup = lab.write("bravo", "/etc/pve/nodes/bravo/qemu-server/991.conf", dup_conf)
        assert "File exists" in dup.stderr, dup
    finally:
        lab.on("alpha", "rm -f /etc/pve/nodes/alpha/qemu-server/991.conf")
    run: Run = run_json(lab, "network-triage", tmp_path, *QUICK)
    assert run.rc == 0, run.explain()
    assert not run.bad_faults(), run.explain()


def test_lab_five_nodes_replicate_and_two_cut_off_lose_quorum(lab_factory: LabFactory) -> None:
    names = ("alpha", "bravo", "charlie", "delta", "echo")
    lab = lab_factory(names=names)
    token = f"five {time.time()}\n"
    assert lab.write("echo", "/etc/pve/lab-probe", token).returncode == 0
    for name in names[:4]:
        lab.wait_file(name, "/etc/pve/lab-probe", token)
    lab.cut_off("delta")
    lab.cut_off("echo")
    lab.wait_quorate(names[:3], members=3, within=60)
    wait_for("delta's pmxcfs lost quorum", lambda: not lab.pve_quorate("delta"))
    assert "Permission denied" in lab.write("delta", "/etc/pve/lab-probe", "x").stderr
    assert lab.on("alpha", "rm /etc/pve/lab-probe").returncode == 0  # 3 of 5 still write
