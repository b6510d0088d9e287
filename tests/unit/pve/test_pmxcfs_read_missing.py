"""A read of /etc/pve that fails at once is no hang.

On three-node-wiped (config.db deleted on every node) network-triage's "Does /etc/pve answer
reads?" failed on every node with exit 2, ``ls: cannot access '/etc/pve/nodes': No such file or
directory``, and the diagnosis's first fault said "/etc/pve reads and writes hang …: pmxcfs
waits for a stable corosync membership", advising ``pvecm status`` and ``systemctl restart
pve-cluster`` — even on a quorate cluster after route-fix. Only ``timeout`` ending the read
(exit 124/137, or the step's own timeout) is a hang; ENOENT of ``nodes/`` is the database
without that directory. And ``pvecm status`` reads /etc/pve first (domain notes §6), so the
advice asks corosync itself.
"""

from __future__ import annotations

from pverunbook.pve.diagnosis import diagnose
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ["ryanrishi", "pve001", "pve002"]
ENOENT = "ls: cannot access '/etc/pve/nodes': No such file or directory\n"
LISTING = "corosync.conf\nlocal\nlxc\nopenvz\nqemu-server\n"


def read(node: str, status: int | None, stderr: str = "") -> list[Fact]:
    return [Fact(f.name, f.value, f.node, f.peer, f.evidence, "pve-read")
            for f in extract("pve-read", Observation(node, LISTING, status, stderr=stderr))]


def quorate() -> list[Fact]:
    return [Fact("quorum.quorate", True, n, None, "Quorate: Yes", "quorum") for n in NODES]


def test_enoent_of_nodes_is_a_missing_directory_not_a_hang() -> None:
    facts = [f for n in NODES for f in read(n, 2, ENOENT)] + quorate()
    got = {(f.name, f.node): f.value for f in facts}
    assert got[("pmxcfs.readable", "pve001")] is False
    assert got[("pmxcfs.read_error", "pve001")] == "ENOENT"
    d = diagnose(facts, nodes=NODES)
    rules = [f.rule for f in d.faults]
    assert "pmxcfs-blocked" not in rules, [f.statement for f in d.faults]
    (gone,) = [f for f in d.faults if f.rule == "pmxcfs-node-dir-missing"]
    assert gone.statement.startswith("/etc/pve/nodes/ryanrishi and /etc/pve/nodes/pve001 and "
                                     "/etc/pve/nodes/pve002 are missing")
    assert "not a quorum problem" in gone.statement
    assert "restart" not in gone.action and "hang" not in gone.statement
    assert any("cannot access '/etc/pve/nodes'" in e.what for e in gone.evidence)


def test_a_read_ended_by_timeout_hangs_and_the_advice_asks_corosync_itself() -> None:
    for status in (124, 137, None):
        facts = read("ryanrishi", status) + quorate()
        assert {(f.name, f.value) for f in facts} >= {("pmxcfs.read_error", "timeout")}
        (hung,) = [f for f in diagnose(facts, nodes=NODES).faults
                   if f.rule == "pmxcfs-blocked"]
        assert hung.statement.startswith("/etc/pve reads and writes hang on ryanrishi")
        assert "`corosync-quorumtool -s`" in hung.action
        assert "`pvecm status` for" not in hung.action


def test_a_journal_without_the_read_error_still_tells_a_hang_by_its_exit() -> None:
    """Runs journaled before ``pmxcfs.read_error`` existed carry only ``exit N``."""
    old = [Fact("pmxcfs.readable", False, "pve001", None, "exit 124", "pve-read")]
    assert "pmxcfs-blocked" in [f.rule for f in diagnose(old, nodes=NODES).faults]
    old = [Fact("pmxcfs.readable", False, "pve001", None, "exit 2", "pve-read")]
    assert "pmxcfs-blocked" not in [f.rule for f in diagnose(old, nodes=NODES).faults]
