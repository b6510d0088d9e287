"""The handed cases (../shared/cases): real outputs that were misjudged, with their right answers.

realworld/ holds outputs from real clusters (issue 13, kinds 2-4); live/ holds runbooks that
misjudged a real corosync 3.1.7 cluster (issue 10). Each test turns the README's right answer
into assertions on the verdict, or on a real headless run of the runbook from its folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook.pve.verdicts import (
    PeerNames,
    VerdictInput,
    judge,
    verdict_journal,
    verdict_mtr,
    verdict_quorum,
    worst,
)

REPO = Path(__file__).resolve().parents[3]
CASES = REPO.parent / "shared" / "cases"
REALWORLD = CASES / "realworld"
LIVE = CASES / "live"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason=f"shared cases not found at {CASES}")


def case(name: str) -> str:
    return (REALWORLD / name).read_text()


@needs_cases
def test_no_active_links_is_a_cut_off_named_by_node() -> None:
    text = case("journal-no-active-links-only-warning.log")
    anonymous = verdict_journal(text)
    assert worst(anonymous) == "critical"
    cut = [f for f in anonymous if f.title.startswith("no active link to nodeid 1")]
    assert cut and cut[0].severity == "critical" and "cut off" in cut[0].title
    named = verdict_journal(text, names=PeerNames({1: "pve001", 2: "ryanrishi"}))
    titles = [f.title for f in named]
    assert any(t.startswith("no active link to pve001 (nodeid 1): this node was cut off")
               for t in titles), titles
    assert not any("host 1" in t or "node 1" in t.replace("nodeid 1", "") for t in titles)
    assert {f.peer for f in named if f.severity == "critical"} == {"pve001"}


@needs_cases
def test_truncated_systemctl_lines_still_lose_quorum() -> None:
    findings = verdict_journal(case("journal-truncated-quorum-loss-missed.log"))
    by_title = {f.title: f for f in findings}
    lost = [f for t, f in by_title.items() if t.startswith("quorum lost 1 time")]
    assert lost and lost[0].severity == "critical"
    assert "did not come back" in lost[0].detail
    assert any(t.startswith("token lost 1 time(s)") for t in by_title)  # "…configuration: tok>"
    left = [f for t, f in by_title.items() if t.startswith("members left the membership 1")]
    assert left and "nodeid 1" in left[0].title


@needs_cases
def test_mtr_130ms_to_a_peer_is_not_ok() -> None:
    findings = verdict_mtr(case("mtr-130ms-rtt-judged-ok.txt"))
    assert worst(findings) in ("warning", "critical")
    titles = [f.title for f in findings]
    assert "134 ms average round trip to 192.0.2.2, worst 200.6 ms" in titles
    assert "high jitter to 192.0.2.2: StDev 57.7 ms" in titles
    assert not any(f.severity == "ok" for f in findings)


@needs_cases
def test_qdevice_registered_but_not_voting() -> None:
    names = PeerNames(by_addr={"192.0.2.110": "pve-a", "192.0.2.111": "pve-b"})
    findings = verdict_quorum(case("pvecm-qdevice-not-voting.txt"), names=names)
    qd = [f for f in findings if "QDevice" in f.title]
    assert len(qd) == 1
    f = qd[0]
    assert f.title == "QDevice is registered but NOT voting"
    assert f.severity == "warning"
    assert "losing any one node now loses quorum" in f.detail
    assert "corosync-qdevice" in f.detail and "corosync-qnetd" in f.detail
    assert "pve-a (192.0.2.110): A,NV,NMW" in (f.evidence or "")
    # not reported a second time as an anonymous "expected vote missing"
    assert not any("missing" in x.title for x in findings)


# --- live: a real headless run from the case folder -----------------------------------------


def run_case(toml: str, tmp_path: Path, cwd: Path = LIVE) -> tuple[int, list[dict[str, object]]]:
    journal = tmp_path / "run.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "pverunbook", "run", toml, "--local", "--headless",
                        "--journal", str(journal)], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in r.stderr, r.stderr
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return r.returncode, events


def findings_of(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if e.get("type") == "finding" or e.get("kind") == "finding"]


@needs_cases
def test_verdict_on_failed_read_says_why_and_judges_nothing(tmp_path: Path) -> None:
    _, events = run_case("verdict-on-failed-read.toml", tmp_path)
    found = findings_of(events)
    titles = [str(f.get("title")) for f in found]
    assert len(found) == 1, titles
    assert titles[0].startswith("could not read corosync.conf: cat: does-not-exist")
    assert "(exit status 1)" in titles[0]
    assert not any("nodelist" in t or "totem" in t for t in titles)


def test_hung_read_exit_124_is_explained_not_judged() -> None:
    inp = VerdictInput("", "", exit_status=124)
    (f,) = judge("corosync-conf", {"pve001": inp})
    assert f.node == "pve001" and f.severity == "warning"
    assert f.title == ("could not read corosync.conf: the command hung and `timeout` stopped it "
                       "(exit status 124)")
    assert "pmxcfs" in f.detail
    timed_out = VerdictInput("", "", exit_status=None, timed_out=True, timeout_s=15)
    (g,) = judge("corosync-conf", {"pve001": timed_out})
    assert "did not finish within 15 s" in g.title


@pytest.mark.parametrize("verdict", ["quorum", "links", "corosync-journal", "mtr", "ping",
                                     "route", "corosync-conf", "cmap-stats", "config-versions"])
def test_no_verdict_judges_a_failed_read(verdict: str) -> None:
    """Whatever the verdict, a read that failed yields one 'could not read' and nothing else."""
    junk = "totem {\n}\nQuorate: No\n1.|-- x 50.0% 10 1 1 1 1 1\n"
    found = judge(verdict, {"a": VerdictInput(junk, "Input/output error", exit_status=124)})
    assert [f.title.split(":")[0] for f in found] == [found[0].title.split(":")[0]]
    assert found[0].title.startswith("could not read") and found[0].node == "a"


@needs_cases
def test_healthy_startup_log_is_healthy(tmp_path: Path) -> None:
    text = (LIVE / "corosync-startup-healthy.log").read_text()
    findings = verdict_journal(text, names=PeerNames({1: "vm", 2: "peer"}))
    assert worst(findings) in ("ok", "info"), [(f.severity, f.title) for f in findings]
    assert any(f.severity == "ok" for f in findings)
    code, events = run_case("journal-startup-false-positive.toml", tmp_path)
    severities = {str(f.get("severity")) for f in findings_of(events)}
    assert severities <= {"ok", "info"}, findings_of(events)
    failed = [e for e in events if e.get("kind") == "expectation" and not e.get("ok")]
    assert failed == [] and code == 0


@needs_cases
def test_the_same_absent_expectation_still_fails_a_real_cut_off(tmp_path: Path) -> None:
    """Start-up lines are left out of `absent` checks; a cut-off's line is not."""
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "run.toml").write_text((LIVE / "journal-startup-false-positive.toml").read_text())
    (folder / "corosync-startup-healthy.log").write_text(
        case("journal-no-active-links-only-warning.log"))
    code, events = run_case("run.toml", tmp_path, cwd=folder)
    failed = [e for e in events if e.get("kind") == "expectation" and not e.get("ok")]
    assert len(failed) == 1 and code != 0
    assert any(str(f.get("severity")) == "critical" for f in findings_of(events))


@needs_cases
def test_network_triage_journal_step_passes_a_healthy_startup() -> None:
    """The shipped runbook's journal step must not fail a healthy start-up either."""
    import re

    from pverunbook.runbook.loader import load_file

    text = (LIVE / "corosync-startup-healthy.log").read_text()
    rb = load_file(REPO / "runbooks" / "network-triage.toml")
    steps = [s for s in rb.steps if s.verdict == "corosync-journal"]
    assert steps
    for step in steps:
        for exp in step.expect:
            if exp.absent is not None:
                assert re.search(exp.absent, text, re.M) is None, exp.absent
            if exp.match is not None:
                assert re.search(exp.match, text, re.M) is not None, exp.match


@needs_cases
def test_only_startup_lines_are_normal() -> None:
    from pverunbook.pve.verdicts import without_normal_lines

    healthy = (LIVE / "corosync-startup-healthy.log").read_text()
    kept, dropped = without_normal_lines("corosync-journal", healthy)
    assert dropped == 3 and "has no active links" not in kept and "Members[2]" in kept
    for name in ("journal-no-active-links-only-warning.log",
                 "journal-truncated-quorum-loss-missed.log"):
        text = case(name)
        assert without_normal_lines("corosync-journal", text) == (text, 0)
    assert without_normal_lines("quorum", healthy) == (healthy, 0)


def test_a_tool_error_that_is_an_answer_is_judged() -> None:
    """ip route get exits 2 with RTNETLINK on stderr: "no route" is the answer."""
    (f,) = judge("route", {"pve001": VerdictInput(
        "", "RTNETLINK answers: Network is unreachable\n", exit_status=2)})
    assert (f.severity, f.title, f.node) == ("critical", "no route to the peer", "pve001")
    (g,) = judge("route", {"pve001": VerdictInput("", "ip: command not found\n", 127)})
    assert g.title == "could not read the route: ip: command not found (exit status 127)"
