"""The guided outage, headless: ``pverunbook check`` names every fault of the story with the
runbook that fixes it; running each proposed runbook (with the confirmations it asks for) and
checking again ends with a healthy cluster, through network-triage (the routed path measured),
the route fix (with its node, destination and gateway filled in), network-triage again (the
figures from before the fix describe the routed path), vm-config-recovery,
certificate-regeneration, and corosync-tuning (a precaution, after the critical faults; the
configs and certificates leave the link's measurement standing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pverunbook.cli import main

CONFIRMS = ["--confirm", "nyc", "--confirm", "ryanrishi", "--confirm", "pve001",
            "--confirm", "COMMIT",
            # vm-config-recovery's manual steps before its writes: answered by their ids
            "--confirm", "checkpoints", "--confirm", "review"]


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["check", "--json", *args]) in (0, 3)
    record = json.loads(capsys.readouterr().out)  # one document (pverunbook/check_json.py)
    assert record["kind"] == "health_check"
    assert record["healthy"] is (record["status"] == "healthy")
    return record


def _sets(params: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in params.items():
        out += ["--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return out


def test_healthy_cluster_has_no_fault(capsys: pytest.CaptureFixture[str]) -> None:
    record = _check(capsys, "--scenario", "nyc-healthy")
    assert record["faults"] == [] and record["status"] == "healthy"


def test_pressing_only_the_proposed_next_runbook_ends_healthy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "cluster")
    first = _check(capsys, "--state-dir", state)
    rules = {f["rule"] for f in first["faults"]}
    # every fault of the story, each with what fixes it
    assert {"route-via-gateway", "vm-without-config", "cert-missing"} <= rules
    assert {"partition", "pmxcfs-blocked", "pmxcfs-read-only"} & rules
    for f in first["faults"]:
        assert f["next_runbook"] or f["manual"] or f["rule"] in (
            "partition", "pmxcfs-blocked", "pmxcfs-read-only"), f  # consequences of the partition
        assert f["phase"] in ("rollbacks", "network", "database", "configs", "certificates")
    phases = [f["phase"] for f in first["faults"]]
    assert phases == sorted(phases, key=["rollbacks", "network", "database", "configs",
                                         "certificates"].index)
    ran: list[str] = []
    why: list[str] = []
    proposals: list[dict[str, object]] = []
    record = first
    for _ in range(8):
        proposed = [f["next_runbook"] for f in record["faults"] if f["next_runbook"]]
        if not proposed:
            break
        nxt = proposed[0]
        proposals.append(nxt)
        ran.append(nxt["runbook"])
        why.append(next(f["rule"] for f in record["faults"] if f["next_runbook"]))
        assert main(["rehearse", nxt["runbook"], "--headless", "--state-dir", state,
                     *_sets(nxt["params"]), *CONFIRMS]) in (0, 3), ran
        capsys.readouterr()
        record = _check(capsys, "--state-dir", state)
    # corosync-tuning, a precaution once the link is fixed and measured, comes after the
    # critical faults of the configs and certificates (which leave the measurement standing)
    assert ran == ["network-triage", "route-fix", "network-triage", "vm-config-recovery",
                   "certificate-regeneration", "corosync-tuning"]
    assert record["faults"] == [] and record["status"] == "healthy"
    # healthy, and honest about the loss: the last triage's figure (after the fix) and when
    (link,) = [h for h in record["fine"] if h.startswith("link ")]
    # every runbook since the last measurement is named, the tuning last
    assert "loss not measured since vm-config-recovery (" in link, link
    assert " and corosync-tuning (" in link, link
    assert "network-triage at " in link and " measured ping " in link, link
    assert "run network-triage" not in link, link
    # the routed path is measured first; once measured, the route is fixed with its
    # parameters; the fixed link is measured again; then the configs, the certificates, and
    # last the default token after the outage
    assert why[:4] == ["route-via-gateway", "route-via-gateway", "loss-unmeasured-after-change",
                       "vm-without-config"]
    assert why[-1] == "corosync-token-default"
    assert proposals[1] == {"runbook": "route-fix",
                            "params": {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                       "via": "192.168.4.1"}}
    # the incident's report: every run of the recovery, from the first check to the healthy one
    report = tmp_path / "incident.md"
    assert main(["report", "--incident", "--state-dir", state, "-o", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    runs = 2 * len(ran) + 1  # a check before each runbook, and the last one
    assert f", {runs} run(s)" in text.splitlines()[0], text.splitlines()[0]
    timeline = text.split("## Timeline")[1].split("\n## ")[0]
    rows = [ln for ln in timeline.splitlines() if ln.startswith("| ") and "`" in ln]
    assert [r.split(" | ")[2] for r in rows[1::2]] == ran
    fix = rows[3]
    assert "route-fix" in fix and "destructive: " in fix and "COMMIT: " in fix, fix
    assert f"): {len(first['faults'])} fault(s)." in text
    assert "**healthy**, no fault" in text
    assert text.count("\n### Run ") == runs
