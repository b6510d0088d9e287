"""pmxcfs started before corosync (every boot) connects later: that is start-up, not a fault.

pve-cluster.service is ``Before=corosync.service`` (pve-cluster debian/pve-cluster.service:
pmxcfs writes /etc/corosync/corosync.conf from /etc/pve), so pmxcfs logs ``[quorum] crit:
quorum_initialize failed`` and its cmap/cpg siblings until corosync runs, retrying every 5 s
(loop.c ``service_start_job``). The check called every freshly booted node "pmxcfs could not
connect to corosync" (critical). Both logs are real pmxcfs output from the lab
(tests/data/outputs/README.md).
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.pve.facts import Observation, extract
from pverunbook.pve.verdicts import verdict_journal

DATA = Path(__file__).resolve().parents[2] / "data" / "outputs"


def _facts(text: str) -> dict[str, object]:
    return {f.key: f.value for f in extract("corosync-journal", Observation("alpha", text, 0))}


def _judge_start_up(text: str) -> None:
    assert "initialize failed" in text and "all data is up to date" in text
    found = verdict_journal(text)
    assert [f.severity for f in found if f.severity in ("warning", "critical")] == [], found
    note = [f for f in found if "waited for corosync" in f.title]
    assert [f.severity for f in note] == ["info"], found
    assert _facts(text)["pmxcfs_log.no_corosync[alpha]"] == 0
    # the same log cut before corosync came up: pmxcfs never connected, that is critical
    cut = text[: text.index("update cluster info")]
    cut = cut[: cut.rindex("\n") + 1]
    found = verdict_journal(cut)
    assert [(f.severity, f.title) for f in found if f.severity == "critical"] == [
        ("critical", "pmxcfs could not connect to corosync")], found
    assert _facts(cut)["pmxcfs_log.no_corosync[alpha]"] == 12


def test_pmxcfs_started_before_corosync_is_start_up_on_9_1_6() -> None:
    _judge_start_up((DATA / "pmxcfs-9.1.6_lab-started-before-corosync.log").read_text())


def test_pmxcfs_started_before_corosync_is_start_up_on_8_1_3() -> None:
    _judge_start_up((DATA / "pmxcfs-8.1.3_lab-started-before-corosync.log").read_text())


def test_a_failure_after_the_connection_is_still_critical() -> None:
    # constructed from the 9.1.6 capture: corosync stopped again after pmxcfs had connected;
    # pmxcfs's next try fails and nothing connects after it
    text = (DATA / "pmxcfs-9.1.6_lab-started-before-corosync.log").read_text()
    text += ("Dec 07 12:50:01 alpha pmxcfs[79]: [quorum] crit: quorum_initialize failed: "
             "CS_ERR_LIBRARY (failed to connect to corosync)\n")
    assert "pmxcfs could not connect to corosync" in [
        f.title for f in verdict_journal(text) if f.severity == "critical"]
