"""The health check's declared faults (``[[steps.expect]]`` with a severity) mark a node
exactly where the diagnosis, reading the same output with its fact rules, names a fault on
that node: the step-by-step marks and the diagnosis at the end tell one story.

Outputs: the samples of ``tests/unit/pve/test_health_check.py`` (each fault of the check's
diagnosis), with the healthy answer beside each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pverunbook.pve.diagnosis.check import check_diagnose
from pverunbook.pve.facts import Fact, Observation, extract
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.template import render_regex
from tests.unit.pve.test_health_check import KVM

CHECK = load_file(Path(__file__).resolve().parents[2] / "runbooks" / "cluster-health-check.toml")
CONFIGS = ("### configs\n/etc/pve/nodes/pve001/qemu-server:\n\n"
           "/etc/pve/nodes/ryanrishi/qemu-server:\n")
PMX = "Dec 06 10:00:01 ryanrishi pmxcfs[{pid}]: [{what}]\n"
DAMAGED = (PMX.format(pid=812, what="database] crit: DB load failed")
           + PMX.format(pid=812, what="main] crit: memdb_open failed - unable to open database"))
CONF3 = ("nodelist {\n  node {\n    name: a\n  }\n  node {\n    name: b\n  }\n"
         "  node {\n    name: c\n  }\n}\nquorum {\n  provider: corosync_votequorum\n"
         "  two_node: 1\n}\n")
CERT = ("### node-cert\nnotAfter=Nov  1 14:16:28 2099 GMT\n"
        "issuer=CN = Proxmox Virtual Environment, OU = {issuer}, O = PVE Cluster Manager CA\n"
        "### ca\nsubject=CN = Proxmox Virtual Environment, OU = new, "
        "O = PVE Cluster Manager CA\n### pveproxy\n{proxy}\n")

#: (step, output on node ryanrishi, a fault there?) — the diagnosis must agree.
SAMPLES: list[tuple[str, str, bool]] = [
    ("vms", KVM + CONFIGS, True),
    ("vms", KVM + CONFIGS + "101.conf\n108.conf\n", False),
    # /etc/pve not mounted here (pmxcfs down): an empty listing proves nothing about configs
    ("vms", KVM + "### configs\nls: cannot access '/etc/pve/nodes/*/qemu-server/': No such "
     "file or directory\n### pve\n/etc/pve not mounted\n", False),
    # mounted, but no node directory at all (config.db wiped): the VMs have no config
    ("vms", KVM + "### configs\nls: cannot access '/etc/pve/nodes/*/qemu-server/': No such "
     "file or directory\n### pve\n/etc/pve mounted\n", True),
    # 108 runs here, its config is in pve001's directory
    ("vms", KVM + CONFIGS.replace("qemu-server:\n\n", "qemu-server:\n108.conf\n\n")
     + "101.conf\n", True),
    ("pmxcfs-journal", DAMAGED, True),
    # an earlier start failed, the pmxcfs running now (a later pid) loaded its database
    ("pmxcfs-journal", DAMAGED + PMX.format(pid=990, what="main] notice: resync done"), False),
    ("pmxcfs-journal", PMX.format(pid=811, what="main] notice: teardown filesystem"), False),
    ("pve-mount", "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\n"
     "ls: cannot access '/etc/pve/nodes': Transport endpoint is not connected\nexit 2\n"
     "### own-dir\nno\n", True),
    ("pve-mount", "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\na\nexit 0\n"
     "### own-dir\nno\n", True),
    ("pve-mount", "### mount\n### ls\nexit 0\n### own-dir\nno\n", True),
    ("pve-mount", "### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\nryanrishi\n"
     "exit 0\n### own-dir\nyes\n", False),
    ("certs", CERT.format(issuer="old", proxy="active"), True),
    ("certs", CERT.format(issuer="new", proxy="inactive"), True),
    ("certs", CERT.format(issuer="new", proxy="active"), False),
    ("corosync-conf", CONF3, True),
    ("corosync-conf", CONF3.replace("  node {\n    name: c\n  }\n", ""), False),
    ("ha", "quorum No\nservice vm:108 (ryanrishi, started)\nservice vm:104 (pve001, stopped)\n",
     True),
    ("ha", "quorum OK\nservice vm:108 (ryanrishi, started)\n", False),
    ("ha", "quorum No\nservice vm:104 (pve001, stopped)\n", False),
    ("disk", "[12.3] blk_update_request: I/O error, dev nvme0n1, sector 2048\n", True),
    ("disk", "[259647.1] nvme 0000:02:00.0: PCIe Bus Error: severity=Correctable, "
     "type=Physical Layer\n", False),
]


def marks(step_id: str, text: str) -> list[str]:
    """Messages of the step's declared faults the output shows (as the engine checks them:
    regexes with MULTILINE over the node's output)."""
    out = []
    for exp in CHECK.step(step_id).expect:
        if not exp.severity:
            continue
        rx = render_regex(exp.match if exp.match is not None else exp.absent or "",
                          {"node": "ryanrishi"})
        failed = (re.search(rx, text, re.M) is None) if exp.match is not None \
            else re.search(rx, text, re.M) is not None
        if failed:
            out.append(exp.message)
    return out


def diagnosed(step_id: str, text: str) -> bool:
    """The check's diagnosis names a fault on ryanrishi from this output alone (the HA rule
    reads quorum from the quorum step: given as the output says)."""
    step = CHECK.step(step_id)
    assert step.verdict
    store = extract(step.verdict, Observation("ryanrishi", text, 0))
    given: list[Fact] = []
    if step_id == "ha":
        given.append(Fact("quorum.quorate", "quorum OK" in text, "ryanrishi"))
    # only what this output adds: not the faults the given quorum alone makes
    before = {f.rule for f in check_diagnose(given).faults}
    return any("ryanrishi" in f.nodes and f.rule not in before
               for f in check_diagnose(store + given).faults)


@pytest.mark.parametrize(("step_id", "text", "fault"), SAMPLES,
                         ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(SAMPLES)])
def test_a_declared_fault_marks_the_node_where_the_diagnosis_names_one(
        step_id: str, text: str, fault: bool) -> None:
    assert diagnosed(step_id, text) is fault  # the sample is what it says
    assert bool(marks(step_id, text)) is fault, marks(step_id, text)


def test_a_read_that_hangs_is_marked() -> None:
    """The diagnosis names a hung pmxcfs from the write probe (which hangs too); the mount
    step's own output already shows it, and says so."""
    hung = ("### mount\n/dev/fuse on /etc/pve type fuse (rw)\n### ls\nexit 124\n"
            "### own-dir\nyes\n")
    assert marks("pve-mount", hung) == [
        "/etc/pve did not answer a read within 5 s: pmxcfs is hung on this node."]
