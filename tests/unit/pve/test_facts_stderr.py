"""Facts see stderr: where the tools say that a read failed.

The inputs are real: ``cert-missing_openssl-x509.txt`` and ``corosync-down_*.txt`` are what
OpenSSL 3 and corosync 3.1.7 print on stderr (tests/data/triage/README.md says how they were
captured); the ``touch`` and ``ls`` lines are coreutils' messages for EACCES and ENOTCONN.
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.observations import observe_facts
from pverunbook.inventory import Cluster, Node
from pverunbook.pve.facts import Observation, extract
from pverunbook.run_diagnosis import facts_from_outputs
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.transport.base import CommandResult

OWN = Path(__file__).resolve().parents[2] / "data" / "triage"
HEAD = ("Cluster information\n-------------------\nName:             nyc\n"
        "Config Version:   5\nTransport:        knet\nSecure auth:      on\n\n")


def got(verdict: str, stdout: str, stderr: str, status: int | None) -> dict[str, object]:
    obs = Observation("pve001", stdout, status, stderr=stderr)
    return {f.key: (f.value, f.evidence) for f in extract(verdict, obs)}


def test_openssl_error_on_stderr_is_a_missing_certificate() -> None:
    err = (OWN / "cert-missing_openssl-x509.txt").read_text()
    assert got("cert", "", err, 1) == {"cert.present[pve001]": (
        False, "Could not open file or uri for loading certificate from /nonexistent/pve-ssl.pem")}
    assert got("cert", "", "", 1) == {}  # nothing said, nothing known


def test_corosync_down_reads_the_tools_own_error() -> None:
    err = (OWN / "corosync-down_quorumtool-s.txt").read_text()
    assert got("quorum", HEAD, err, 1) == {
        "corosync.running[pve001]": (False, "Cannot initialize CMAP service")}
    cfg = (OWN / "corosync-down_cfgtool-s.txt").read_text()
    facts = got("links", "", cfg, 1)
    assert facts["corosync.running[pve001]"] == (False, cfg.strip().splitlines()[0])


def test_refused_write_says_why_and_a_hung_one_is_not_a_refusal() -> None:
    denied = "touch: cannot touch '/etc/pve/nodes/pve001/probe': Permission denied\n"
    facts = got("pve-write", "", denied, 1)
    assert facts["pmxcfs.writable[pve001]"] == (False, "exit 1: " + denied.strip())
    assert facts["pmxcfs.write_hung[pve001]"] == (False, "exit 1: " + denied.strip())
    assert got("pve-write", "", "", 124)["pmxcfs.write_hung[pve001]"] == (True, "exit 124")
    dead = "ls: cannot access '/etc/pve': Transport endpoint is not connected\n"
    assert got("pve-read", "", dead, 2) == {"pmxcfs.readable[pve001]": (False, dead.strip()),
                                            "pmxcfs.read_error[pve001]": ("ENOTCONN",
                                                                          dead.strip())}


def test_the_engine_and_the_journal_hand_stderr_to_the_rules() -> None:
    rb = load_file(builtin_dir() / "certificate-regeneration.toml")
    step = rb.step("inspect-node-cert")
    assert step.verdict == "cert"
    err = (OWN / "cert-missing_openssl-x509.txt").read_text()
    cluster = Cluster("nyc", (Node("pve001", "localhost", addr="10.0.0.2"),))
    found, notes = observe_facts(step, [("pve001", "", err, CommandResult(1, 0.1))], cluster)
    assert notes == []
    assert [(f.key, f.value, f.step_id) for f in found] == [
        ("cert.present[pve001]", False, "inspect-node-cert")]
    # the same from a journal's events (the report and resume read facts this way)
    events: list[ev.Event] = [
        ev.OutputChunk(step_id="inspect-node-cert", node="pve001", stream="stderr", text=err),
        ev.CommandFinished(step_id="inspect-node-cert", node="pve001", command="openssl", index=1,
                           exit_status=1, duration=0.1)]
    again = facts_from_outputs(events, {"inspect-node-cert": "cert"})
    assert [(f.key, f.value) for f in again] == [("cert.present[pve001]", False)]
