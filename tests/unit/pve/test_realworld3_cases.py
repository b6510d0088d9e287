"""The handed round-3 cases (../shared/cases/realworld3) that are tool outputs, not VM configs.

Each test turns the README's right answer into assertions on the verdict (and, where the
README names it, the command line). The facts the diagnosis reads off the same inputs are
checked too, so a verdict and the diagnosis cannot disagree on them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook.pve import facts as pvefacts
from pverunbook.pve.diagnosis import diagnose
from pverunbook.pve.facts import Observation
from pverunbook.pve.verdicts import (
    PeerNames,
    verdict_corosync_conf,
    verdict_journal,
    verdict_quorum,
    worst,
)

REPO = Path(__file__).resolve().parents[3]
CASES = REPO.parent / "shared" / "cases" / "realworld3"
needs_cases = pytest.mark.skipif(not CASES.is_dir(),
                                 reason=f"round-3 shared cases not found at {CASES}")


def case(name: str) -> str:
    return (CASES / name).read_text()


@needs_cases
def test_pmxcfs_lines_of_a_rejoin_are_evidence_not_no_instability() -> None:
    text = case("journal-pmxcfs-cpg-send-failed-then-resync-px2.txt")
    got = verdict_journal(text, names=PeerNames({2: "px1", 3: "px3", 1: "px2"}))
    titles = [f.title for f in got]
    assert worst(got) == "warning"
    assert not any(t.startswith("no corosync instability") for t in titles), titles
    assert "this node rejoined the cluster: px1 (nodeid 2), px3 (nodeid 3) joined at once " \
        "and quorum came back" in titles
    failed = next(f for f in got if f.title.startswith("pmxcfs failed to replicate"))
    assert "4 message(s) could not be sent" in failed.title
    assert "wrong member" in failed.title and "it recovered" in failed.detail
    denied = next(f for f in got if f.title.startswith("writes into /etc/pve failed"))
    assert "1 refused (Permission denied" in denied.title and "lrm_status" in (
        denied.evidence or "")
    facts = {f.name: f.value for f in pvefacts.extract(
        "corosync-journal", Observation("px2", text))}
    assert facts["pmxcfs_log.send_failed"] == 4 and facts["pmxcfs_log.wrong_member"] == 1
    assert facts["pmxcfs_log.writes_refused"] == 1 and facts["pmxcfs_log.recovered"] is True
    faults = diagnose(pvefacts.extract("corosync-journal", Observation("px2", text))).faults
    trouble = [f for f in faults if f.rule == "pmxcfs-log-trouble"]
    assert trouble and trouble[0].severity == "warning" and "recovered" in trouble[0].statement


@needs_cases
def test_a_boot_log_filtered_to_warnings_is_a_start_up_not_a_cut_off() -> None:
    text = case("journal-corosync-boot-priority-filtered-no-active-links.txt")
    got = verdict_journal(text)
    assert worst(got) in ("ok", "info"), [(f.severity, f.title) for f in got]
    assert not any("cut off" in f.title for f in got)
    start = next(f for f in got if f.title.startswith("corosync started here"))
    assert "nodeid 1, nodeid 2" in start.title and "journalctl -p warning" in start.detail
    assert not any("second link" in f.detail for f in got)
    facts = pvefacts.extract("corosync-journal", Observation("pve-nd05", text))
    cut = [f for f in facts if f.name == "journal.no_active_links"]
    assert cut and all(f.value == 0 for f in cut)


@needs_cases
def test_two_node_flag_with_three_votes_is_a_latent_split_brain() -> None:
    text = case("pvecm-3node-2Node-flag-hex-ids-ru.txt")
    got = verdict_quorum(text)
    assert worst(got) == "warning"
    latent = next(f for f in got if "two_node: 1" in f.title)
    assert "latent split brain" in latent.title and "BOTH halves" in latent.detail
    facts = pvefacts.extract("quorum", Observation("pmx5", text))
    faults = diagnose(facts).faults
    assert [f.rule for f in faults] == ["two-node-flag"]
    assert faults[0].severity == "warning" and "pmx5" in faults[0].nodes


@needs_cases
def test_corosync_conf_without_crypto_and_with_rrp_mode_is_warned(tmp_path: Path) -> None:
    name = "corosync-debian13-2node-rrp_mode-passiv-no-crypto.conf"
    got = verdict_corosync_conf(case(name))
    by_title = {f.title: f for f in got}
    assert by_title["error: totem.config_version"].severity == "critical"
    crypto = by_title["warning: totem.crypto_cipher"]
    assert "neither authenticated nor encrypted" in crypto.detail
    rrp = by_title["warning: totem.rrp_mode"]
    assert "corosync 2 key" in rrp.detail and "'passiv'" in rrp.detail
    assert "link_mode" in rrp.detail
    cli = subprocess.run([sys.executable, "-m", "pverunbook", "corosync", "check",
                          str(CASES / name)], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert cli.returncode != 0
    assert f"{name}:21: warning: cluster traffic is neither authenticated" in cli.stdout
    assert f"{name}:25: warning: rrp_mode is a corosync 2 key" in cli.stdout
