"""The shipped runbooks: they load, lint clean, plan against the story's cluster, and never contain
the original outage's mistakes (shared/domain.md section 8) outside explanations warning about
them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine.targets import PlannedStep, plan
from pverunbook.inventory import Cluster, load_cluster
from pverunbook.runbook.lint import lint
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import Runbook, Step, StepKind
from pverunbook.runbook.params import resolve

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK_DIR = ROOT / "runbooks"
RUNBOOK_FILES = sorted(RUNBOOK_DIR.glob("*.toml"))
NYC = RUNBOOK_DIR / "clusters" / "nyc.toml"

EXPECTED_IDS = {"network-triage", "corosync-tuning", "cluster-db-reset", "vm-config-recovery",
                "certificate-regeneration", "qdevice-setup", "cluster-health-check",
                "route-fix", "rollback-settle"}

#: Runbooks that work on one node only (the route fix deletes one node's route).
ONE_NODE = {"route-fix"}

#: Values for parameters without a default, and variants worth planning.
GIVEN: dict[str, list[dict[str, Any]]] = {
    "network-triage": [{}],
    "corosync-tuning": [
        {},
        {"token": 10000, "add_second_link": True},
    ],
    "cluster-db-reset": [{"damaged_node": "pve001"}, {"damaged_node": "ryanrishi",
                                                      "stop_ha": False}],
    "vm-config-recovery": [{}, {"source": "processes", "vmid": "108"}],
    "certificate-regeneration": [{}, {"force": True}],
    "qdevice-setup": [{"qnetd_host": "192.168.4.10"}],
    "cluster-health-check": [{}],
    "route-fix": [{"route_node": "ryanrishi", "destination": "192.168.4.201",
                   "via": "192.168.4.1"}],
    "rollback-settle": [{"checkpoint": "r1-apply-1", "decision": "keep"},
                        {"checkpoint": "r1-apply-1", "decision": "undo"}],
}

#: The story's mistakes. None may appear in anything a runbook executes.
FORBIDDEN = [
    (r"\brm\b[^\n]*config\.db", "rm of config.db"),
    (r"\brm\s+-[a-z]*r[a-z]*\s+/var/lib/pve-cluster\b", "rm -r of /var/lib/pve-cluster"),
    (r"\b(pkill|killall)\s+-(9|KILL)\b", "SIGKILL of a process by name"),
    (r"\bkill\s+-(9|KILL)\b[^\n]*pmxcfs", "SIGKILL of pmxcfs"),
    (r"\bumount\s+-[a-z]*l", "lazy unmount"),
    (r"transport\s*[:=]\s*['\"]?udpu?\b", "transport udp/udpu"),
    (r"\bpve-cluster\s+pve-cluster\b", "unit named twice"),
    (r"\btoken_retransmit\s*:", "explicit token_retransmit"),
    (r"<<", "heredoc"),
    (r"\b(perl|python3?)\s+-", "perl/python one-liner"),
    (r"\bsed\s+-i\b", "sed -i"),
]


def _load(path: Path) -> Runbook:
    return load_file(path)


@pytest.fixture(scope="module")
def nyc() -> Cluster:
    return load_cluster(NYC)


def _executed(step: Step) -> Iterator[str]:
    """Every string of a step that reaches a shell or an action."""
    yield from step.commands
    yield from step.backup.outputs
    yield from (g.command for g in step.guards if g.command)
    yield from _strings(step.args)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _params(rb: Runbook, given: dict[str, Any]) -> dict[str, Any]:
    values, missing = resolve(rb, given)
    assert not missing, f"{rb.id}: no value for {missing}"
    return values


def _plans(rb: Runbook, cluster: Cluster) -> Iterator[tuple[dict[str, Any], list[PlannedStep]]]:
    for given in GIVEN[rb.id]:
        values = _params(rb, given)
        yield values, plan(rb, cluster, values)


# -- every runbook ---------------------------------------------------------------------------

def test_every_runbook_is_shipped() -> None:
    ids = {_load(p).id for p in RUNBOOK_FILES}
    assert ids == EXPECTED_IDS
    for p in RUNBOOK_FILES:
        assert _load(p).id == p.stem, "file name and runbook id must match"


def test_inventory_is_the_story_cluster(nyc: Cluster) -> None:
    assert nyc.name == "nyc"
    assert [(n.name, n.ring_addr, n.gateway, n.user, n.port) for n in nyc.nodes] == [
        ("ryanrishi", "192.168.4.200", "192.168.4.1", "root", 22),
        ("pve001", "192.168.4.201", "192.168.4.1", "root", 22),
    ]


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_loads_and_lints_clean(path: Path) -> None:
    rb = _load(path)
    issues = lint(rb)
    assert issues == [], "\n".join(str(i) for i in issues)
    assert rb.explain.strip() and rb.summary.strip() and rb.title.strip()


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_quorum_is_asked_of_corosync_not_pvecm(path: Path) -> None:
    """`pvecm status` reads /etc/pve/corosync.conf through pmxcfs before it execs
    `corosync-quorumtool -siH` (pve-cluster pvecm.pm `status`): with pmxcfs hung it times out,
    and the quorum facts read that as corosync not running (a fix that starts corosync)."""
    rb = _load(path)
    for step in rb.steps:
        for command in [*step.commands, *step.backup.outputs]:
            assert "pvecm status" not in command, f"{rb.id}:{step.id}: {command}"


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_plans_on_both_nodes(path: Path, nyc: Cluster) -> None:
    rb = _load(path)
    for values, planned in _plans(rb, nyc):
        both = [p for p in planned if {n.name for n in p.nodes} == {"ryanrishi", "pve001"}]
        assert both or rb.id in ONE_NODE, f"{rb.id}: no step runs on both nodes"
        for p in planned:
            step = p.step
            names = [n.name for n in p.nodes]
            if step.kind in (StepKind.MANUAL, StepKind.INPUT):
                assert names == [] or step.destructive
                continue
            target = step.targets[0]
            if target == "all":
                assert names == ["ryanrishi", "pve001"], step.id
            elif target == "first":
                assert names == ["ryanrishi"], step.id
            elif target.startswith("{{"):
                assert names == [values[target.strip("{} ")]], step.id
            for node in p.nodes:
                for command in p.commands[node.name]:
                    assert "{{" not in command, f"{rb.id}/{step.id}: unrendered {command}"


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_no_story_mistakes_in_anything_executed(path: Path) -> None:
    rb = _load(path)
    for step in rb.steps:
        for text in _executed(step):
            for pattern, what in FORBIDDEN:
                assert not re.search(pattern, text), f"{rb.id}/{step.id}: {what}: {text}"


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_destructive_steps_are_backed_up_explained_confirmed(path: Path) -> None:
    rb = _load(path)
    for step in rb.steps:
        if not step.destructive:
            continue
        assert step.explain.strip(), f"{rb.id}/{step.id}: destructive without explain"
        assert step.confirm, f"{rb.id}/{step.id}: destructive without an explicit confirm"
        if step.backup.empty:
            # Only runtime-only changes may go without a checkpoint.
            assert (rb.id, step.id) == ("corosync-tuning", "expected-one"), \
                f"{rb.id}/{step.id}: destructive without a backup"
            assert step.no_backup_reason.strip()


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_pve_access_is_bounded(path: Path) -> None:
    """A hung pmxcfs must never hang a run: /etc/pve paths only behind `timeout` (or test)."""
    rb = _load(path)
    for step in rb.steps:
        for command in [*step.commands, *step.backup.outputs]:
            text = re.sub(r"'[^']*'", "''", command)  # a path in a message is no access
            for m in re.finditer(r"/etc/pve\b", text):
                before = text[: m.start()]
                segment = re.split(r"&&|\|\||;|\|", before)[-1]
                ok = re.match(r"\s*(?:(?:if|then|else|elif|do|!|\w+=\$\()\s*)*"
                              r"(timeout\s+(?:-v\s+)?\d|test\b|grep\b|echo\b)", segment) \
                    or " < /" in text
                assert ok, f"{rb.id}/{step.id}: unbounded /etc/pve access: {text}"
        assert step.timeout <= 600 or step.kind is StepKind.MANUAL


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_every_step_teaches(path: Path) -> None:
    rb = _load(path)
    for step in rb.steps:
        if step.kind in (StepKind.RUN, StepKind.ACTION) or step.destructive:
            assert step.explain.strip() or step.commands[0].startswith("mkdir"), \
                f"{rb.id}/{step.id}: no explain"
        for exp in step.expect:
            assert exp.message.strip(), f"{rb.id}/{step.id}: expectation without a message"


# -- per runbook --------------------------------------------------------------------------------

def test_network_triage_is_read_only_and_judges_every_link_source() -> None:
    rb = _load(RUNBOOK_DIR / "network-triage.toml")
    assert not any(s.destructive or s.kind is StepKind.ACTION for s in rb.steps)
    verdicts = {s.verdict for s in rb.steps}
    assert {"links", "cmap-stats", "corosync-journal", "ping", "mtr", "route",
            "quorum"} <= verdicts
    commands = " ".join(c for s in rb.steps for c in s.commands)
    for needed in ("corosync-cfgtool -s", "corosync-cfgtool -n", "corosync-cmapctl -m stats",
                   "journalctl -u corosync -u pve-cluster --since -1h --no-pager",
                   "ping -c {{ping_count}} -i 0.2 \"$a\"",
                   "mtr --report --report-cycles {{mtr_cycles}} \"$a\"", "ip route get \"$a\"",
                   "ip route", "ip -s link", "corosync-quorumtool -siH",
                   "corosync-cmapctl -g totem.config_version", "sleep {{sample_s}}",
                   "timeout 5 ls /etc/pve"):
        assert needed in commands, needed
    # quorum from corosync itself: pvecm status reads /etc/pve first and hangs with pmxcfs
    assert "pvecm" not in commands
    # the write probe changes nothing: no touch, no file of its own, only a write pmxcfs
    # refuses (EFBIG above its 1 MiB file limit) before it changes anything
    write = " ".join(rb.step("pve-write").commands)
    assert "touch" not in write and "pverunbook-write-probe" not in write
    assert "truncate --no-create -s 1048577" in write
    assert any(s.kind is StepKind.MANUAL for s in rb.steps)
    mtr = rb.step("mtr").explain
    assert "not loss" in mtr and "last hop" in mtr


def test_network_triage_renders_each_nodes_peer(nyc: Cluster) -> None:
    rb = _load(RUNBOOK_DIR / "network-triage.toml")
    values, _ = resolve(rb, {})
    ping = next(p for p in plan(rb, nyc, values) if p.step.id == "ping")
    loop = 'for a in {}; do echo "### peer $a"; ping -c 50 -i 0.2 "$a"; done'
    assert ping.commands == {"ryanrishi": [loop.format("192.168.4.201")],
                             "pve001": [loop.format("192.168.4.200")]}


def test_network_triage_measures_every_peer_of_every_node() -> None:
    from pverunbook.inventory import Node

    three = Cluster("lab", tuple(Node(f"n{i}", f"10.0.0.{i}") for i in (1, 2, 3)))
    rb = _load(RUNBOOK_DIR / "network-triage.toml")
    values, _ = resolve(rb, {"ping_count": "3", "mtr_cycles": "2"})
    for step in ("ping", "mtr", "route"):
        planned = next(p for p in plan(rb, three, values) if p.step.id == step)
        for node, cmds in planned.commands.items():
            others = [f"10.0.0.{i}" for i in (1, 2, 3) if f"n{i}" != node]
            assert f"for a in {' '.join(others)}; do" in cmds[0], (step, node, cmds)
    ping = next(p for p in plan(rb, three, values) if p.step.id == "ping")
    assert "ping -c 3 " in ping.commands["n1"][0]


def test_corosync_tuning_edits_safely(nyc: Cluster) -> None:
    rb = _load(RUNBOOK_DIR / "corosync-tuning.toml")
    token = rb.param("token")
    # 2.2 x token must stay below HA's 60 s watchdog (token-budget checks the effective token)
    assert (token.default, token.min, token.max) == (5000, 1000, 20000)
    assert rb.param("add_second_link").default is False
    expected = rb.step("expected-one")
    assert expected.targets == ("first",) and "pvecm expected 1" in expected.commands[-1]
    assert sum("pvecm expected 1" in c for s in rb.steps for c in s.commands) == 1
    # It acts only when this node is alone and corosync runs on no other node observed, after
    # the operator confirmed the rest of the cluster is down; quorum sampled on EVERY node.
    assert expected.max_targets == 1
    assert expected.when == ("not any(quorum.quorate) and corosync.running[first] and "
                             "quorum.member_count[first] == 1 and count(corosync.running) == 1")
    others = rb.step("others-down")
    assert others.kind is StepKind.MANUAL and others.when == expected.when
    assert rb.index("quorum") < rb.index("quorum-steady") < rb.index("others-down") \
        < rb.index("expected-one") < rb.index("acting-node") < rb.index("edit")
    assert rb.step("quorum-steady").targets == ("all",)
    assert rb.step("quorum").targets == ("all",)
    assert rb.step("quorum-steady").verdict == "quorum-samples"
    assert not rb.step("quorum-steady").destructive
    # No by-hand restore of the expected votes: votequorum raises them on rejoin.
    assert not any("pvecm expected" in c for s in rb.steps if s.id != "expected-one"
                   for c in s.commands)
    assert "restore-expected" not in [s.id for s in rb.steps]
    # After the mv: every local file catches up, then one more cluster-wide reload, then the
    # running token is checked on every node.
    assert rb.index("apply") < rb.index("catch-up-stopped") < rb.index("verify-local-copy") \
        < rb.index("reload-all") < rb.index("verify-token")
    assert rb.step("reload-all").commands == ("corosync-cfgtool -R",)
    assert rb.step("verify-token").targets == ("all",)
    assert any("totem.token" in c for c in rb.step("verify-token").commands)
    assert rb.step("catch-up-stopped").when == "not all(corosync.running)"
    # a new dedicated link gets the higher priority
    assert rb.step("edit-with-link").args["add_link"]["priority"] == 20
    for sid in ("edit", "edit-with-link"):
        edit = rb.step(sid)
        assert edit.action == "corosync-edit" and edit.targets == ("first",)
        assert edit.args["dest"] == "/etc/pve/corosync.conf.new"
        assert "token_retransmit" in edit.args["unset"]
        assert "token_retransmit" not in edit.args["set"]
        assert "transport" not in edit.args["set"]
        assert not edit.destructive
    apply = rb.step("apply")
    assert apply.destructive and apply.confirm == "cluster"
    assert set(apply.backup.files) == {"/etc/pve/corosync.conf", "/etc/corosync/corosync.conf"}
    # PVE's cfs lock (Cluster.pm cfs_lock_file: lockid "file-corosync_conf") around the mv
    lock = "/etc/pve/priv/lock/file-corosync_conf"
    cmds = list(apply.commands)
    mv = next(i for i, c in enumerate(cmds)
              if c.startswith("timeout 10 mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf "))
    # taken as cfs_lock does: mkdir, and after each failure pmxcfs's unlock request (utime
    # with mtime 0: pmxcfs removes a lock older than 120 s only then), never creating a file
    take = [i for i, c in enumerate(cmds[:mv]) if f"mkdir {lock}" in c]
    assert len(take) == 1 and f"touch -c -d @0 {lock}" in cmds[take[0]]
    assert cmds[-1] == f"timeout 10 rmdir {lock}" and mv == len(cmds) - 2
    # every command under the lock that can refuse gives the lock back before it stops
    for c in cmds[take[0] + 1:-1]:
        assert c.count(f"timeout 10 rmdir {lock}; exit 1; }}") == c.count("exit 1"), c
    assert {g.check.value for g in apply.guards} >= {"pve-writable"}
    assert rb.index("show-new") < rb.index("apply") < rb.index("verify-local-copy")
    assert rb.step("local-configs").verdict == "config-versions"
    # Only one of the two edits runs, depending on add_second_link.
    for values, planned in _plans(rb, nyc):
        runs = {p.step.id for p in planned if p.runs}
        assert ("edit" in runs) != ("edit-with-link" in runs)
        assert ("edit-with-link" in runs) == bool(values["add_second_link"])


def test_corosync_tuning_probes_every_peers_second_link() -> None:
    """knet runs link 1 between every pair of nodes: each node must reach every peer's addr1,
    not only the inventory's first other node's (on three nodes n3's addr1 was never probed)."""
    from pverunbook.inventory import Node

    three = Cluster("lab", tuple(Node(f"n{i}", f"10.0.0.{i}", addr1=f"10.1.0.{i}")
                                 for i in (1, 2, 3)))
    rb = _load(RUNBOOK_DIR / "corosync-tuning.toml")
    values = _params(rb, {"add_second_link": True})
    check = next(p for p in plan(rb, three, values) if p.step.id == "check-link1-params")
    for node, cmds in check.commands.items():
        others = [f"10.1.0.{i}" for i in (1, 2, 3) if f"n{i}" != node]
        assert any(f"for a in {' '.join(others)}; do" in c and "ping -c 10" in c for c in cmds), \
            (node, cmds)


def test_db_reset_waits_for_the_database_resync_not_the_status_one() -> None:
    """pmxcfs runs two dfsm instances, [dcdb] (the database) and [status] (status.c, volatile
    node state), and both log 'starting data syncronisation' and 'all data is up to date'.
    verify-services took any pair: a pmxcfs whose database sync had not finished passed on the
    [status] lines. Lines from the real pmxcfs 8.1.3 lab capture."""
    log = (ROOT / "tests/data/outputs/pmxcfs-8.1.3_lab-cut-off-then-healed.log").read_text()
    lines = log.splitlines()[7:20]  # the first three-node membership and its two resyncs
    assert sum("[status] notice: all data is up to date" in x for x in lines) == 1
    (exp,) = [e for e in _load(RUNBOOK_DIR / "cluster-db-reset.toml").step("verify-services")
              .expect if e.match and "syncronisation" in e.match]
    assert exp.match is not None
    assert re.search(exp.match, "\n".join(lines), re.M)
    # the database's resync stopped after 'received all states'; the status one finished
    stuck = [x for x in lines if "[dcdb] notice: all data is up to date" not in x]
    assert not re.search(exp.match, "\n".join(stuck), re.M)
    # finished once, then a new membership started another one that has not finished
    again = [*lines, "Dec 06 15:09:51 charlie pmxcfs[40]: [dcdb] notice: starting data "
                     "syncronisation"]
    assert not re.search(exp.match, "\n".join(again), re.M)


def test_cluster_db_reset_touches_only_the_damaged_node(nyc: Cluster) -> None:
    rb = _load(RUNBOOK_DIR / "cluster-db-reset.toml")
    assert rb.param("damaged_node").default is None
    planned = plan(rb, nyc, _params(rb, {"damaged_node": "pve001"}))
    for p in planned:
        if p.step.destructive:
            assert [n.name for n in p.nodes] == ["pve001"], p.step.id
            assert p.step.confirm == "node" and p.confirm == "pve001"
    stop = rb.step("stop-cluster-services")
    # finish_join (pve-cluster Setup.pm) stops pve-cluster only; corosync keeps the vote
    assert stop.commands == ("systemctl stop pve-cluster",)
    # raw files, not SQLite's online backup, which fails on the damage being repaired
    assert "/var/lib/pve-cluster" in stop.backup.files and not stop.backup.sqlite
    start = rb.step("start-cluster-services")
    # the start's time first: verify-services reads pmxcfs's log from then on only
    assert start.commands[-1] == "systemctl start corosync pve-cluster"
    assert "pve-cluster-started" in start.commands[0]
    move = rb.step("move-db-aside")
    assert move.destructive and all("mv " in c or c.startswith("ls") for c in move.commands)
    order = [s.id for s in rb.steps]
    assert order.index("backup-db") < order.index("ha-stop-lrm") < order.index("ha-stop-crm") \
        < order.index("stop-cluster-services") < order.index("move-db-aside") \
        < order.index("start-cluster-services") < order.index("verify-quorum")
    backup = " ".join(rb.step("backup-db").commands)
    assert ".backup " in backup and ".dump | gzip" in backup
    assert "/var/lib/pve-cluster/backup" not in backup  # Proxmox's rotation of 10
    assert rb.step("backup-db").targets == ("all",)
    assert "killall pmxcfs" not in rb.explain  # no advice to edit in local mode
    for sid in ("ha-stop-lrm", "ha-stop-crm", "ha-start"):
        assert rb.step(sid).targets == ("{{damaged_node}}",) and rb.step(sid).max_targets == 1
    for sid in ("stop-cluster-services", "move-db-aside", "start-cluster-services"):
        assert rb.step(sid).on_failure.goto == "ha-start"  # HA is never left stopped


def test_vm_config_recovery_prefers_backups_and_never_overwrites() -> None:
    rb = _load(RUNBOOK_DIR / "vm-config-recovery.toml")
    order = [s.id for s in rb.steps]
    # first: are the configs really gone, is /etc/pve writable, is storage.cfg there
    assert order.index("configs-really-gone") < order.index("pve-health") \
        < order.index("storage-cfg") < order.index("dump-restore-all")
    assert order.index("find-backups") < order.index("dump-stage") \
        < order.index("dump-placement") < order.index("dump-restore-all") \
        < order.index("dump-unplaced")
    assert order.index("rebuild-preview") < order.index("review") < order.index("rebuild-write")
    stage = rb.step("dump-stage")
    assert stage.action == "pmxcfs-restore" and not stage.destructive
    assert stage.args["dest"].startswith("/root/")  # staged outside /etc/pve
    restore = rb.step("dump-restore-all")
    # each config only where its kvm runs now, never over an existing config of that VMID
    assert "/proc/$p/cmdline" in restore.commands[0] and "ls /etc/pve/nodes/*/qemu-server/" \
        in restore.commands[0]
    # the write installs the files the operator reviewed (and edited), never a fresh rebuild
    write = rb.step("rebuild-write")
    assert write.action == "vm-config-install"
    assert (write.args["from_dir"], write.args["suffix"]) == (
        rb.step("rebuild-preview").args["dest_dir"], rb.step("rebuild-preview").args["suffix"])
    assert "as you leave them" in rb.step("review").title
    for sid in ("dump-restore-all", "rebuild-write"):
        step = rb.step(sid)
        assert step.destructive
        assert "/var/lib/pve-cluster/config.db" in step.backup.sqlite
        assert any("qm list" in o for o in step.backup.outputs)
    assert "/var/lib/pve-cluster/backup/" not in rb.param("dump_path").default
    assert "*joining*" in rb.explain and "vzdump" in rb.explain
    preview = rb.step("rebuild-preview")
    assert not preview.destructive and preview.args["suffix"] == ".conf.recovered"
    assert not preview.args["dest_dir"].startswith("/etc/pve")
    assert rb.step("rebuild-write").args["dest_dir"] == "/etc/pve/qemu-server"
    compare = rb.step("verify-showcmd")
    assert compare.action == "vm-config-compare" and compare.when is None  # all VMs too
    assert compare.args["vmid"] == "{{vmid}}"
    assert not preview.args["review_dir"].startswith("/etc/pve")


def test_certificate_force_is_a_separate_step(nyc: Cluster) -> None:
    rb = _load(RUNBOOK_DIR / "certificate-regeneration.toml")
    plain, forced = rb.step("updatecerts"), rb.step("updatecerts-force")
    assert (plain.when, forced.when) == ("!force", "force")
    # without --force, a node whose certificate the (new) CA did not sign still gets --force
    assert "openssl verify -CAfile /etc/pve/pve-root-ca.pem" in plain.commands[-1]
    # under the lock, below pmxcfs's 120 s: past them another node's unlock request removes it
    assert forced.commands[-1].startswith("timeout 90 pvecm updatecerts --force;")
    assert any("touch -c -d @0 /etc/pve/priv/lock/pverunbook-updatecerts" in c
               for c in forced.commands)
    # one node at a time: the CA's serial file is rewritten by every signing (Setup.pm), so
    # both take the cluster-wide lock (mkdir in /etc/pve/priv/lock) and release it
    for step in (plain, forced):
        assert "mkdir /etc/pve/priv/lock/pverunbook-updatecerts" in step.commands[1]
        assert "rmdir /etc/pve/priv/lock/pverunbook-updatecerts" in step.commands[-1]
    for step in (plain, forced):
        assert step.destructive and "/etc/pve/pve-root-ca.pem" in step.backup.files
        assert "/var/lib/pve-cluster/config.db" in step.backup.sqlite
    assert rb.index("updatecerts-force") < rb.index("verify-chain") < rb.index("restart-proxy") \
        < rb.index("verify-https")
    assert "spiceproxy" in rb.step("restart-proxy").commands[0]
    for values, planned in _plans(rb, nyc):
        runs = {p.step.id for p in planned if p.runs}
        assert ("updatecerts-force" in runs) == values["force"]
        assert ("updatecerts" in runs) != values["force"]


def test_certificate_regeneration_runs_one_node_first() -> None:
    # gen_pveca_key/gen_pveca_cert take no cluster lock (pve-cluster Setup.pm): with the CA
    # missing, only one node may run updatecerts until every node sees the CA it created.
    rb = _load(RUNBOOK_DIR / "certificate-regeneration.toml")
    first = rb.step("updatecerts-first")
    assert first.targets == ("first",) and first.max_targets == 1 and first.when is None
    assert first.commands == ("timeout 120 pvecm updatecerts",)
    assert rb.index("inspect-ca") < rb.index("updatecerts-first") < rb.index("ca-present") \
        < rb.index("updatecerts")
    assert rb.step("ca-present").targets == ("all",)
    assert "-checkend 1209600" in rb.step("inspect-ca").commands[0]
    assert rb.step("verify-served").verdict is None  # a stopped pveproxy is no missing cert
    assert rb.step("inspect-node-cert").verdict == "cert"


def test_qdevice_setup_runs_once_and_verifies_votes() -> None:
    rb = _load(RUNBOOK_DIR / "qdevice-setup.toml")
    setup = rb.step("setup")
    assert setup.targets == ("first",) and setup.destructive and setup.confirm == "cluster"
    assert setup.commands[0].endswith("pvecm qdevice setup {{qnetd_host}}")
    assert "/etc/pve/corosync.conf" in setup.backup.files
    two_node = rb.step("no-two-node")
    assert any(e.absent and "two_node" in e.absent for e in two_node.expect)
    verify = rb.step("verify-status")
    matches = " ".join(e.match or "" for e in verify.expect)
    assert "A,V,NMW" in matches and "expected votes" in matches
    # nodes + 1, never a fixed 3 (a 4-node cluster ends with 5)
    assert "3" not in matches and any("{{peers}}" in c for c in verify.commands)
    assert "dpkg -s corosync-qdevice" in rb.step("qdevice-package").commands
    # pvecm's address has format 'ip': a DNS name must be refused before anything runs
    host = rb.param("qnetd_host")
    assert host.regex is not None
    for good in ("192.168.4.250", "10.0.0.1", "fd00::5", "2001:db8::1"):
        assert re.fullmatch(host.regex, good), good
    for bad in ("qnetd.lan", "qnetd", "256.1.1.1", "1.2.3", "example.com"):
        assert not re.fullmatch(host.regex, bad), bad
    # all nodes online and node-to-node SSH checked before the confirmation
    for sid in ("all-online", "node-ssh", "node-count"):
        assert rb.index(sid) < rb.index("setup"), sid
    assert rb.step("all-online").targets == ("all",)
    assert "ssh " in rb.step("node-ssh").commands[0] and "{{peer_addrs}}" in \
        rb.step("node-ssh").commands[0]


def test_manual_steps_ask_to_confirm_in_words_both_front_ends_offer() -> None:
    """A manual step's instructions said "Answer yes" while the app's buttons are Done / Not
    done (and the headless CLI asks "confirm, done? [y/N]"). The shipped runbooks say
    "Confirm …" / "do not confirm", which reads right in both (the app's modal:
    tests/ui/test_manual_shell.py)."""
    asked = 0
    for path in sorted(RUNBOOK_DIR.glob("*.toml")):
        for step in _load(path).steps:
            if step.kind is not StepKind.MANUAL:
                continue
            text = step.instructions
            assert not re.search(r"\banswer (yes|no)\b", text, re.I), (path.name, step.id)
            asked += "Confirm" in text
    assert asked >= 7  # every manual step that told the operator how to answer


def test_link1_check_refuses_a_lossy_new_link() -> None:
    """check-link1-params said 'without loss', but ping exits 0 while any reply comes back:
    one lost probe in ten on the new link passed the check."""
    import re

    step = _load(RUNBOOK_DIR / "corosync-tuning.toml").step("check-link1-params")
    (exp,) = [e for e in step.expect if e.absent and "packet loss" in e.absent]
    assert exp.absent is not None
    ok = "10 packets transmitted, 10 received, 0% packet loss, time 1822ms"
    assert not re.search(exp.absent, ok, re.M)
    for lossy in ("10 packets transmitted, 9 received, 10% packet loss, time 1823ms",
                  "10 packets transmitted, 0 received, 100% packet loss, time 1843ms",
                  "10 packets transmitted, 9 received, 50.0% packet loss"):
        # one peer's loss shows however many peers answered in full
        assert re.search(exp.absent, f"{ok}\n{lossy}\n{ok}", re.M), lossy


@pytest.mark.parametrize("path", RUNBOOK_FILES, ids=lambda p: p.stem)
def test_a_sleep_parameter_fits_in_its_step_timeout(path: Path) -> None:
    """`timeout` is per command: network-triage allowed sample_s up to 600 while its step gave
    the `sleep {{sample_s}}` command 120 s, so a longer sample killed the step."""
    rb = _load(path)
    for step in rb.steps:
        for command in step.commands:
            for name in re.findall(r"\bsleep \{\{(\w+)\}\}", command):
                top = rb.param(name).max
                assert top is not None and top < step.timeout, f"{rb.id}:{step.id}: {name}"



def test_a_refused_parameter_value_is_told_in_words_not_as_a_regex() -> None:
    """``--set vmid=42`` said ``'42' does not match /all|[1-9][0-9]{2,8}/``. Every shipped
    parameter with a regex says what it accepts in words (``regex_help``)."""
    from pverunbook.runbook.params import ParamValueError, check_value

    rb = _load(RUNBOOK_DIR / "vm-config-recovery.toml")
    vmid = next(p for p in rb.params if p.name == "vmid")
    with pytest.raises(ParamValueError) as err:
        check_value(vmid, "42")
    assert str(err.value) == "'42' is not a VMID (a number from 100 to 999999999) or 'all'"
    check_value(vmid, "108")  # accepted
    for path in RUNBOOK_FILES:
        for p in _load(path).params:
            assert p.regex is None or p.regex_help, f"{path.name}: {p.name} has no regex_help"


def test_explanations_quote_what_the_tools_print() -> None:
    """Words an operator searches the screen for must be the tool's own. network-triage said
    corosync-cfgtool fails with 'Cannot initialise CFG service'; corosync-cfgtool.c prints
    'Could not initialize corosync configuration API error N' (the captured output below).
    certificate-regeneration said updatecerts writes 'the merged ssh_known_hosts'; pve-cluster
    8.0.6 stopped merging them (Setup.pm ssh_create_node_known_hosts writes the node's own)."""
    down = (ROOT / "tests/data/triage/corosync-down_cfgtool-s.txt").read_text().splitlines()[0]
    links = _load(RUNBOOK_DIR / "network-triage.toml").step("links").explain
    assert down.startswith("Could not initialize corosync configuration API error")
    assert f"`{down}`" in links and "Cannot initialise" not in links
    certs = _load(RUNBOOK_DIR / "certificate-regeneration.toml")
    assert "merged `ssh_known_hosts`" not in certs.explain
    assert "`nodes/<node>/ssh_known_hosts`" in certs.explain
    # updatecerts runs under the runbook's own lock: the race left is pveproxy's ExecStartPre
    keys = certs.step("root-keys").explain
    assert "every node at once" not in keys and "ExecStartPre" in keys


def test_link1_verified_to_every_peer() -> None:
    """verify-link1 passed when any peer showed link 1 connected: with three nodes, a node
    whose link 1 reached one peer but not the other passed. Output in corosync-cfgtool.c's
    -n format (ACTION_NODESTATUS_GET)."""
    step = _load(RUNBOOK_DIR / "corosync-tuning.toml").step("verify-link1")
    (exp,) = [e for e in step.expect if e.absent]
    assert exp.absent is not None

    def peer(nid: int, link1: str | None) -> str:
        lines = [f"nodeid: {nid} reachable   onwire (min/max/cur): 0, 1, 1",
                 f"   LINK: 0 udp (10.0.0.1->10.0.0.{nid}) enabled connected mtu: 1397"]
        if link1 is not None:
            lines.append(f"   LINK: 1 udp (10.1.0.1->10.1.0.{nid}) {link1} mtu: 1397")
        return "\n".join(lines) + "\n\n"

    head = "Local node ID 1, transport knet\n"
    good = head + peer(2, "enabled connected") + peer(3, "enabled connected")
    assert re.search(step.expect[0].match or "", good, re.M)
    assert not re.search(exp.absent, good, re.M)
    for bad in (peer(2, "enabled connected") + peer(3, "enabled"),
                peer(2, None) + peer(3, "enabled connected"),
                peer(2, "enabled connected") + peer(3, None).rstrip("\n")):
        assert re.search(exp.absent, head + bad, re.M), bad


def test_qdevice_flags_explained_as_votequorum_sets_them() -> None:
    """votequorum.c sets ALIVE when the node's own corosync-qdevice polls (qdevice_poll) and
    clears every flag when it unregisters; a qdevice that cannot reach qnetd still polls,
    without a vote: A,NV. verify-status said NA meant 'cannot reach qnetd on TCP 5403'."""
    step = _load(RUNBOOK_DIR / "qdevice-setup.toml").step("verify-status")
    assert "NA`\n(not alive) means the node cannot reach qnetd" not in step.explain
    assert "`A,NV`: its corosync-qdevice runs but has no vote" in step.explain
    (flags,) = [e for e in step.expect if e.absent and "A,V," in e.absent]
    assert "A,NV = its corosync-qdevice runs but has no vote" in flags.message
