"""network-triage on a real 3-node corosync cluster, over pverunbook's real SSH transport.

The bed (tests/integration/bed.py) runs Debian's corosync 3 and OpenSSH in namespaces; faults
are injected with nftables on one chosen pair. Every verdict asserted here rests on real
programs' output (corosync-cfgtool/cmapctl/quorumtool, corosync's log, ping, mtr, ip); the
shims (`pvecm status` = header + the real `corosync-quorumtool -siH`, `journalctl` = corosync's
log file) only relay it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bed import Bed
from tests.integration.bed_fixture import bed, restore, run_runbook

__all__ = ["bed"]  # the fixture, imported so pytest finds it here

# Fewer probes than the defaults keep a run near 30 s; ICMP is never dropped by the faults
# here, so 20 pings per peer resolve what the tests need.
QUICK = ("--set", "ping_count=20", "--set", "mtr_cycles=5")


@dataclass
class Triage:
    rc: int
    out: str
    err: str
    events: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: dict[str, Any] = field(default_factory=dict)

    def findings(self, *severities: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") == "finding"
                and (not severities or e.get("severity") in severities)]

    @property
    def faults(self) -> list[dict[str, Any]]:
        return list(self.diagnosis.get("faults", []))

    def bad_faults(self) -> list[dict[str, Any]]:
        return [f for f in self.faults if f["severity"] in ("critical", "warning")]

    def outputs(self, step: str, node: str) -> str:
        """Everything the node printed for a step."""
        return "".join(str(e.get("text", "")) for e in self.events
                       if e.get("kind") == "output" and e.get("step_id") == step
                       and e.get("node") == node)

    def explain(self) -> str:
        lines = [f"exit {self.rc}"]
        lines += [f"finding {f.get('severity')} {f.get('node')}: {f.get('title')}"
                  for f in self.findings("critical", "warning")]
        lines += [f"fault {f['severity']}: {f['statement']}" for f in self.faults]
        lines += [f"fine: {h}" for h in self.diagnosis.get("healthy", [])]
        lines.append(self.err[-2000:])
        return "\n".join(lines)


def triage(bed: Bed, tmp_path: Path) -> Triage:
    res = run_runbook(bed, "network-triage", tmp_path, "--json", *QUICK, timeout=300)
    t = Triage(res.returncode, res.stdout, res.stderr)
    for line in res.stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("kind") == "diagnosis":
            t.diagnosis = record
        else:
            t.events.append(record)
    print(t.explain())  # shown by pytest when a test fails
    return t


def names_in(text: str) -> set[str]:
    return set(re.findall(r"\b(alpha|bravo|charlie)\b", text))


def wait_for(what: str, cond: Any, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, f"the bed never got there: {what}"
        time.sleep(0.5)


@pytest.fixture
def fresh(bed: Bed) -> Iterator[Bed]:
    restore(bed)
    yield bed
    restore(bed)


def test_healthy_bed_from_a_fresh_start_has_no_finding(bed: Bed, tmp_path: Path) -> None:
    """First test of the module: the bed has just started, so corosync's log holds a normal
    start-up (`has no active links` before the peers join, the first memberships)."""
    assert "has no active links" in bed.log("alpha")  # the start-up really is in the log
    t = triage(bed, tmp_path)
    assert t.rc == 0, t.explain()
    assert not t.findings("critical", "warning"), t.explain()
    assert not t.bad_faults(), t.explain()


@pytest.fixture(scope="module")
def loss_run(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Triage]:
    """30% of corosync's UDP dropped between bravo and charlie (the 2nd and 3rd node) only;
    ICMP passes. Waits until knet has taken that link down at least twice."""
    restore(bed)
    before = bed.log("bravo").count("link: host: 3 link: 0 is down")
    bed.drop("bravo", "charlie", 30)
    try:
        wait_for("knet took bravo-charlie down twice",
                 lambda: bed.log("bravo").count("link: host: 3 link: 0 is down") >= before + 2)
        yield triage(bed, tmp_path_factory.mktemp("loss"))
    finally:
        restore(bed)


def test_loss_on_one_pair_is_named_by_node_names(loss_run: Triage) -> None:
    t = loss_run
    pair = [f for f in t.bad_faults() if names_in(f["statement"]) == {"bravo", "charlie"}]
    assert pair, t.explain()
    assert any(f["evidence"] for f in pair), t.explain()
    evidence = " ".join(e["what"] + " " + e["line"] for f in pair for e in f["evidence"])
    assert re.search(r"down|token|retransmit|disconnected", evidence), evidence
    assert not [f for f in t.bad_faults() if "alpha" in names_in(f["statement"])
                and f["rule"] in ("lossy-link", "udp-lost-icmp-ok", "flapping-link")], \
        t.explain()
    # alpha's links are fine now: either listed as healthy or, when the lossy pair's membership
    # churn took them down once before the run (it does on a loaded machine), told as history
    # only (severity info, "connected now"), never as a fault.
    fine = list(t.diagnosis.get("healthy", [])) + [
        f["statement"] for f in t.faults
        if f["severity"] == "info" and f["statement"].startswith("history:")
        and "connected now" in f["statement"]]
    for other in ("bravo", "charlie"):
        assert any({"alpha", other} <= names_in(h) for h in fine), \
            f"the link alpha-{other} is not reported fine: {' | '.join(fine)}"


def test_icmp_clean_while_corosync_udp_is_dropped(loss_run: Triage) -> None:
    t = loss_run
    says = [f["statement"] for f in t.bad_faults()
            if names_in(f["statement"]) == {"bravo", "charlie"}]
    text = " ".join(says)
    assert "UDP" in text and "ICMP" in text, t.explain()
    assert re.search(r"firewall|rate limit|MTU", text), t.explain()
    # ...and the ICMP really was clean: ping on the real path saw no loss.
    ping = t.outputs("ping", "bravo")
    assert re.search(r" 0% packet loss", ping), ping


def test_cut_link_partition_and_quorate_side_by_name(fresh: Bed, tmp_path: Path) -> None:
    bed = fresh
    bed.cut("alpha", "charlie")
    bed.cut("bravo", "charlie")
    bed.wait_quorate(["alpha", "bravo"], members=2, within=60)
    wait_for("charlie alone and not quorate", lambda: bed.quorum("charlie") == (False, 1))
    t = triage(bed, tmp_path)
    part = [f for f in t.bad_faults() if "partition" in f["statement"]]
    assert part, t.explain()
    statement = part[0]["statement"]
    assert names_in(statement) == {"alpha", "bravo", "charlie"}, statement
    # alpha and bravo are the side with quorum, charlie the side without
    m = re.search(r"(.*?)\bha(?:s|ve) quorum", statement)
    assert m and names_in(m.group(1).split(":")[-1]) == {"alpha", "bravo"}, statement


def test_stopped_corosync_names_the_node_and_the_quorate_rest(fresh: Bed,
                                                              tmp_path: Path) -> None:
    bed = fresh
    bed.stop_corosync("charlie")
    bed.wait_quorate(["alpha", "bravo"], members=2)
    t = triage(bed, tmp_path)
    bad = t.bad_faults()
    assert any("charlie" in names_in(f["statement"]) and "corosync" in f["statement"]
               for f in bad), t.explain()
    assert not any("alpha" in names_in(f["statement"]) and "not running" in f["statement"]
                   for f in bad), t.explain()
    quorum = t.outputs("quorum", "alpha")
    assert re.search(r"^Quorate:\s+Yes", quorum, re.M), quorum


def test_sshd_down_on_one_node_read_only_steps_run_on_the_others(fresh: Bed,
                                                                   tmp_path: Path) -> None:
    bed = fresh
    bed.stop_sshd("charlie")
    t = triage(bed, tmp_path)
    for node in ("alpha", "bravo"):
        assert "transport knet" in t.outputs("links", node), t.explain()
        assert re.search(r"^Quorate:\s+Yes", t.outputs("quorum", node), re.M), t.explain()
    assert t.outputs("links", "charlie") == ""
    said = t.out + t.err
    assert re.search(r"charlie.*(unreachable|cannot connect|refused|not reachable)|"
                     r"(unreachable|cannot connect|refused|not reachable).*charlie",
                     said), t.explain()
