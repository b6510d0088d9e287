"""``pverunbook check`` and ``route-fix`` on the lab: real corosync 3, real pmxcfs 8.1.3, sshd.

Each fault is made with the real programs on the 3-node lab (alpha, bravo, charlie) and the
health check (runbooks/cluster-health-check.toml, headless ``--json`` over SSH) must name it,
on the right node(s), with the runbook that fixes it:

- VMs running (the lab's kvm stand-ins) whose configs were removed from /etc/pve, and the
  cluster CA and one node certificate removed: ``vm-without-config`` on the node running them
  (vm-config-recovery, source=processes), ``ca-missing`` and ``cert-missing`` for that node
  (certificate-regeneration);
- one node's config.db overwritten while pve-cluster was stopped (pmxcfs then cannot load it:
  database.c ``bdb_backend_load``): a database fault on that node only, with
  cluster-db-reset ``damaged_node=<that node>``;
- config.db deleted (`rm config.db*`, the story's wipe) on every node while pmxcfs runs:
  ``db-deleted-held`` on all three, and its commands, run as typed, save a sound copy of the
  open database on each node; restarting pve-cluster on one node at a time then resyncs each
  from the others' memory into a new config.db that holds a file written after the wipe;
- one node cut off (all its corosync UDP dropped): a partition naming it, and no database
  fault from a load failure its pmxcfs log holds from before the database was recreated.

Found here and fixed in the rules: a node whose database had been recreated was still blamed
from its log (pve/facts/health.py ``facts_pmxcfs_journal``: only the last pmxcfs process's
lines count now), and a node with /etc/pve not mounted was reported as missing the cluster CA
and its certificate (pve/diagnosis/certs.py ``pve_unreadable``).

And route-fix to its end: a host route to a peer's ring address through a gateway that does
not forward takes that corosync link down; the runbook deletes exactly that route and the link
comes back (``corosync-cfgtool -s``).

Each test puts back what it removed (the fixture's ``restore`` heals the network and starts
the daemons; certificates, configs and the database are recreated here).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pverunbook.pve.diagnosis.pmxcfs import VERIFY_RESYNCED_DB
from tests.integration.lab import Lab
from tests.integration.lab_fixture import LabFactory, Run, pverunbook, run_json

NAMES = ("alpha", "bravo", "charlie")


def check(lab: Lab, state: Path) -> Run:
    """``pverunbook check --json-events --cluster <lab inventory>``, as an operator runs it
    (events for explain(), then the check's document)."""
    run = Run(pverunbook(lab, "check", "--json-events", "--cluster", str(lab.inventory),
                         state=state, timeout=600))
    print(run.explain())
    assert run.diagnosis, run.explain()
    return run


def faults(run: Run, rule: str) -> list[dict[str, Any]]:
    return [f for f in run.diagnosis.get("faults", []) if f["rule"] == rule]


def one(run: Run, rule: str) -> dict[str, Any]:
    got = faults(run, rule)
    assert len(got) == 1, f"{rule}: {got}\n{run.explain()}"
    return got[0]


def wait_for(what: str, cond: Callable[[], bool], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, f"the lab never got there: {what}"
        time.sleep(0.3)


def regenerate_certs(lab: Lab) -> None:
    """A new CA on one node first, then every node's certificate signed by it (Setup.pm
    ``gen_pve_node_files``: the others need --force)."""
    for n in NAMES:
        lab.on(n, "pvecm updatecerts --force", timeout=120)
        lab.systemctl(n, "restart", "pveproxy", check=False)


def test_lab_check_names_vms_without_configs_and_missing_certificates(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    vms = (201, 202)
    try:
        lab.on("bravo", "mkdir -p /run/qemu-server")
        for vmid in vms:
            path = f"/etc/pve/nodes/bravo/qemu-server/{vmid}.conf"
            assert lab.write("bravo", path, f"name: lost{vmid}\nmemory: 512\n").returncode == 0
            lab.start_vm("bravo", vmid, ["/usr/bin/kvm", "-id", str(vmid), "-name",
                                         f"lost{vmid}", "-pidfile",
                                         f"/run/qemu-server/{vmid}.pid"])
            assert lab.on("bravo", f"rm {path}").returncode == 0
        gone = lab.on("alpha", "rm /etc/pve/pve-root-ca.pem /etc/pve/priv/pve-root-ca.key "
                               "/etc/pve/nodes/charlie/pve-ssl.pem")
        assert gone.returncode == 0, gone.stderr
        lab.wait_file("charlie", "/etc/pve/pve-root-ca.pem", None)

        run = check(lab, tmp_path)
        vm = one(run, "vm-without-config")
        assert vm["nodes"] == ["bravo"], vm
        assert "bravo: 201, 202" in vm["statement"], vm
        assert vm["next_runbook"] == {"runbook": "vm-config-recovery",
                                      "params": {"source": "processes"}}, vm
        ca = one(run, "ca-missing")
        assert sorted(ca["nodes"]) == sorted(NAMES), ca
        assert ca["next_runbook"]["runbook"] == "certificate-regeneration", ca
        cert = one(run, "cert-missing")
        assert cert["nodes"] == ["charlie"], cert
        assert cert["next_runbook"]["runbook"] == "certificate-regeneration", cert
        # nothing else is blamed on the nodes that are fine
        others = [f for f in run.bad_faults() if f["rule"] in ("cert-missing", "cert-expired",
                                                                "cert-not-ca")
                  and f["nodes"] != ["charlie"]]
        assert not others, others
        assert not faults(run, "vm-config-wrong-node"), run.explain()
    finally:
        lab.stop_vms("bravo")
        if lab.read("alpha", "/etc/pve/pve-root-ca.pem") is None:
            regenerate_certs(lab)


def test_lab_check_names_the_node_whose_database_is_damaged(healthy_lab: Lab,
                                                            tmp_path: Path) -> None:
    lab = healthy_lab
    try:
        lab.stop_pmxcfs("charlie")
        # the first page of the file overwritten: no longer an SQLite database
        damage = lab.on("charlie", "dd if=/dev/urandom of=/var/lib/pve-cluster/config.db "
                                   "bs=4096 count=1 conv=notrunc status=none; "
                                   "rm -f /var/lib/pve-cluster/config.db-wal "
                                   "/var/lib/pve-cluster/config.db-shm")
        assert damage.returncode == 0, damage.stderr
        lab.systemctl("charlie", "start", "pve-cluster", check=False)
        assert not lab.running("charlie", "pve-cluster"), lab.pmxcfs_log("charlie")[-2000:]

        run = check(lab, tmp_path)
        db = [f for f in run.bad_faults()
              if f["rule"] in ("db-damaged-one", "pmxcfs-db-load-failed", "db-load-failed")]
        assert db, run.explain()
        for f in db:
            assert f["nodes"] == ["charlie"], f
            assert f["next_runbook"] == {"runbook": "cluster-db-reset",
                                         "params": {"damaged_node": "charlie"}}, f
        assert not faults(run, "db-damaged-all"), run.explain()
        # charlie's /etc/pve is not mounted: that is the fault, its certificates are not
        # "missing" (alpha and bravo still have the CA)
        mount = one(run, "pve-not-mounted")
        assert mount["nodes"] == ["charlie"], mount
        certs = [f for f in run.bad_faults() if f["rule"] in ("ca-missing", "cert-missing",
                                                              "cert-not-ca")]
        assert not certs, certs
    finally:
        lab.stop_pmxcfs("charlie")
        lab.on("charlie", "rm -f /var/lib/pve-cluster/config.db*")
        lab.start_pmxcfs("charlie")
        lab.wait_pve_quorate(within=90)


def test_lab_check_names_the_cut_off_node(healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    try:
        lab.cut_off("charlie")
        wait_for("charlie lost quorum", lambda: not lab.quorum("charlie")[0])
        wait_for("alpha and bravo are 2 of 3", lambda: lab.quorum("alpha") == (True, 2))
        run = check(lab, tmp_path)
        part = one(run, "partition")
        assert "charlie" in part["nodes"], part
        assert "charlie" in part["statement"], part
        # the database charlie loaded after an earlier test's damage is not blamed again
        # (its log still holds that start's "DB load failed")
        db = [f for f in run.bad_faults() if "db" in f["rule"]]
        assert not db, db
        # the nodes named at fault are charlie and its links, never alpha <-> bravo alone
        for f in run.bad_faults():
            if f["nodes"]:
                assert "charlie" in f["nodes"], f
    finally:
        lab.heal()
        lab.wait_quorate(within=120)


def links_up(lab: Lab, node: str, peer_id: int) -> bool:
    out = lab.on(node, "corosync-cfgtool -s").stdout
    return re.search(rf"nodeid:\s+{peer_id}:\s+connected", out) is not None


def test_lab_route_fix_deletes_the_wrong_host_route_and_the_link_recovers(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    peer = lab.node("bravo").addr
    # a "router" that does not forward: the operator's address on the switch
    gateway = f"{peer.rsplit('.', 1)[0]}.254"
    route = f"{peer} via {gateway}"
    try:
        assert lab.on("alpha", f"ip route add {route}").returncode == 0
        wait_for("alpha lost its link to bravo", lambda: not links_up(lab, "alpha", 2))
        run = run_json(lab, "route-fix", tmp_path, "--set", "route_node=alpha",
                       "--set", f"destination={peer}", "--set", f"via={gateway}",
                       "--confirm", "alpha", "--confirm", "COMMIT")
        assert run.rc == 0, run.explain()
        assert route not in lab.on("alpha", "ip route").stdout
        assert "via" not in lab.on("alpha", f"ip route get {peer}").stdout
        wait_for("alpha's link to bravo came back", lambda: links_up(lab, "alpha", 2))
        wait_for("bravo's link to alpha came back", lambda: links_up(lab, "bravo", 1))
        lab.wait_quorate(within=60)
    finally:
        lab.on("alpha", f"ip route del {route}")


def db_files(lab: Lab, node: str) -> int:
    out = lab.on(node, VERIFY_RESYNCED_DB, timeout=60).stdout
    m = re.search(r"^(\d+) files$", out, re.M)
    assert m and out.startswith("ok\n"), out
    return int(m.group(1))


def test_lab_check_database_deleted_everywhere_is_saved_then_resynced_node_by_node(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    marker = "/etc/pve/after-the-wipe.txt"
    try:
        for n in NAMES:
            assert lab.on(n, "rm -f /var/lib/pve-cluster/config.db*").returncode == 0
        # nothing is lost yet: pmxcfs still serves and replicates the tree
        assert lab.write("alpha", marker, "written after rm config.db*\n").returncode == 0
        lab.wait_file("charlie", marker, "written after rm config.db*\n")

        run = check(lab, tmp_path)
        held = one(run, "db-deleted-held")
        assert sorted(held["nodes"]) == sorted(NAMES), held
        assert held["next_runbook"] is None, held
        assert not [f for f in run.bad_faults() if f["rule"] in (
            "db-damaged-one", "db-damaged-all", "db-deleted", "db-deleted-lost")], run.explain()
        saves = [m for m in held["manual"] if "/proc/$p/fd" in m["command"]]
        assert sorted(m["node"] for m in saves) == sorted(NAMES), held["manual"]
        for m in saves:
            out = lab.on(m["node"], m["command"], timeout=120)
            assert out.returncode == 0, out.stdout + out.stderr
            assert re.search(r"^ok\n(\d+) files\n", out.stdout, re.M), out.stdout
            assert "saved in /root/pverunbook-rescue-" in out.stdout, out.stdout
            copy = lab.on(m["node"], "sqlite3 -readonly /root/pverunbook-rescue-*/config.db.sound"
                                     " \"SELECT count(*) FROM tree WHERE name = "
                                     "'after-the-wipe.txt'\"").stdout.strip()
            assert copy == "1", copy
        # one node at a time, as the fault's last commands say: each resyncs from the others
        restarts = [m for m in held["manual"] if m not in saves]
        assert [m["node"] for m in restarts] == [m["node"] for m in saves], held["manual"]
        for m in restarts:
            out = lab.on(m["node"], m["command"], timeout=180)
            lab.wait_pve_quorate(within=90)
            assert db_files(lab, m["node"]) > 5, out.stdout
            got = lab.on(m["node"], "sqlite3 -readonly /var/lib/pve-cluster/config.db "
                                    "\"SELECT count(*) FROM tree WHERE name = "
                                    "'after-the-wipe.txt'\"").stdout.strip()
            assert got == "1", (m["node"], got, lab.pmxcfs_log(m["node"])[-1500:])
        lab.wait_writable(within=90)
        after = check(lab, tmp_path / "after")
        assert not [f for f in after.bad_faults() if f["rule"].startswith("db-")], \
            after.explain()
    finally:
        lab.on("alpha", f"rm -f {marker}", timeout=30)
        for n in NAMES:
            if lab.on(n, "test -e /var/lib/pve-cluster/config.db").returncode != 0:
                lab.systemctl(n, "restart", "pve-cluster", check=False)
                lab.wait_pve_quorate(within=90)
        lab.on("alpha", "rm -rf /root/pverunbook-rescue-*")
        lab.on("bravo", "rm -rf /root/pverunbook-rescue-*")
        lab.on("charlie", "rm -rf /root/pverunbook-rescue-*")


def _restart_bravo(lab: Lab, stop: Callable[[], object], nth: int) -> None:
    """bravo down a while and back, in a reboot's order (pve-cluster before corosync)."""
    lab.stop_pmxcfs("bravo")
    stop()
    wait_for("alpha saw bravo leave", lambda: lab.log("alpha").count("Members left: 2") >= nth)
    wait_for("bravo's corosync gone", lambda: not lab.node_pids("bravo", "corosync"))
    time.sleep(3)  # bravo down a while: its knet links go down on the others
    lab.start_pmxcfs("bravo")
    lab.start_corosync("bravo")
    lab.wait_quorate(within=90)
    lab.wait_writable(within=90)


def test_lab_node_restarted_for_maintenance_is_no_fault(lab_factory: LabFactory,
                                                         tmp_path: Path) -> None:
    """A node restarted on a lab of its own (no other test's faults in its journals), twice:
    `systemctl stop corosync` (Debian's ExecStop, `corosync-cfgtool -H --force`: the others
    log "Node 2 was shut down by sysadmin") and a SIGTERM to corosync (`killall corosync`:
    only its leave message, "Members left: 2" with no failed leave). Each time the others log
    its links down and "has no active links", and bravo's own log has knet tearing its links
    down on the way out. The check finds no fault either time; a SIGTERM'd peer was "critical:
    ... cut off" on both others, and corosync tuning was proposed for "went down 1 times in
    the last hour"."""
    lab = lab_factory(names=NAMES, cluster="maint")
    _restart_bravo(lab, lambda: lab.stop_corosync("bravo"), 1)
    assert "Node 2 was shut down by sysadmin" in lab.log("alpha")
    run = check(lab, tmp_path / "stop")
    assert not run.bad_faults(), run.explain()
    assert not run.findings("critical", "warning"), run.explain()
    said = [f["title"] for f in run.findings()]
    assert sum("shut corosync down cleanly ('was shut down by sysadmin')" in t
               for t in said) >= 2, said

    def sigterm() -> None:
        for pid in lab.node_pids("bravo", "corosync"):
            os.kill(pid, signal.SIGTERM)

    _restart_bravo(lab, sigterm, 2)
    after = lab.log("alpha").rsplit("Members left: 2", 1)
    assert "has no active links" in after[1] and "Failed to receive" not in after[1]
    run = check(lab, tmp_path / "sigterm")
    assert not run.bad_faults(), run.explain()
    assert not run.findings("critical", "warning"), run.explain()
    said = [f["title"] for f in run.findings()]
    assert sum("left the membership cleanly (its corosync stopped)" in t for t in said) >= 2, \
        said
