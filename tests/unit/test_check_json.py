"""``pverunbook check --json`` prints ONE JSON document with documented keys.

It printed the run's events as JSON lines with the diagnosis last, where ``healthy`` was a list
of things found fine; a script asking "healthy? what next?" had to pick the last line and guess.
Now stdout is one object (``healthy`` a boolean, ``next_runbook`` at the top, ``fine`` the
list), documented in ``check --help``; ``--json-events`` keeps the stream with that document
as its last line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pverunbook.cli import main

KEYS = {"kind", "format", "healthy", "status", "unchecked", "next_runbook", "first_by_hand",
        "faults", "fine",
        "matrix", "facts", "steps", "run"}


def _document(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main(["check", "--json", *argv]) in (0, 3)
    out = capsys.readouterr().out
    doc = json.loads(out)  # the whole of stdout is one JSON value
    assert isinstance(doc, dict) and set(doc) == KEYS, out[:500]
    assert doc["kind"] == "health_check" and doc["format"] == 1
    return doc


def test_healthy_cluster_is_one_document_saying_healthy(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = _document(capsys, "--scenario", "nyc-healthy")
    assert doc["healthy"] is True and doc["status"] == "healthy"
    assert doc["faults"] == [] and doc["next_runbook"] is None
    assert doc["fine"] and all(isinstance(x, str) for x in doc["fine"])
    assert doc["steps"] and set(doc["steps"].values()) == {"ok"}
    assert doc["run"]["mode"] == "rehearsal" and doc["run"]["status"] == "ok"
    assert Path(doc["run"]["journal"]).is_file()


def test_outage_document_orders_faults_and_names_what_to_run_next(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = _document(capsys)  # the story's broken cluster
    assert doc["healthy"] is False and doc["status"] == "faults"
    faults = doc["faults"]
    assert [f["order"] for f in faults] == list(range(1, len(faults) + 1))
    # "#N" as every view shows it: the faults to fix 1..N, what is only noted after, unnumbered
    todo = [f["number"] for f in faults if f["severity"] != "info"]
    assert todo == list(range(1, len(todo) + 1))
    assert all(f["number"] is None for f in faults if f["severity"] == "info")
    assert doc["first_by_hand"] == []  # the story's next runbook waits on no manual fix
    assert {"vm-without-config", "cert-missing"} <= {f["rule"] for f in faults}
    for f in faults:
        assert f["phase"] in ("rollbacks", "network", "database", "configs", "certificates")
        assert {"rule", "statement", "severity", "confidence", "action", "nodes",
                "next_runbook", "manual", "evidence"} <= set(f)
    first = next(f["next_runbook"] for f in faults if f["next_runbook"])
    assert doc["next_runbook"] == first and set(first) == {"runbook", "params"}


def test_json_events_keeps_the_stream_and_ends_with_the_document(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json-events", "--scenario", "nyc-healthy"]) in (0, 3)
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["kind"] == "run_started"
    assert any(r["kind"] == "step_finished" for r in records)
    assert records[-1]["kind"] == "health_check" and set(records[-1]) == KEYS
    assert records[-1]["healthy"] is True


def test_check_help_documents_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = capsys.readouterr().out
    for key in KEYS - {"kind", "format"}:
        assert f"\n  {key} " in text, key
    assert "--json-events" in text


def test_a_check_that_could_not_reach_a_node_is_incomplete_not_healthy() -> None:
    """The engine journals a node that did not answer (``node_connection`` unreachable); the
    document then says which node, why, and never ``healthy``."""
    from pverunbook.check_json import check_document
    from pverunbook.engine import events as ev
    from pverunbook.pve.facts import Fact

    why = "cannot connect to root@127.0.0.1:9: connection refused"
    facts = tuple(Fact("quorum.quorate", True, n).to_json() for n in ("ryanrishi", "pve001"))
    events: list[ev.Event] = [
        ev.RunStarted(run_id="r1", runbook_id="cluster-health-check", runbook_title="Check",
                      runbook_path="", mode="live", cluster="nyc",
                      nodes=("ryanrishi", "pve001", "pve002"), params={}),
        ev.NodeConnection(node="pve002", state="unreachable", message=why),
        ev.FactsObserved(step_id="quorum", facts=facts),
        ev.RunFinished(status="completed_with_failures",
                       message="some steps did not run on unreachable nodes: pve002")]
    doc = check_document(events)
    assert doc["healthy"] is False and doc["status"] == "incomplete"
    assert doc["unchecked"] == {"pve002": why}
    assert [f["rule"] for f in doc["faults"]] == ["node-not-checked"]
    assert doc["next_runbook"] == {"runbook": "network-triage", "params": {}}
    # the node came back (reconnected): nothing is missing, the same facts are healthy
    back = [*events[:2], ev.NodeConnection(node="pve002", state="connected"), *events[2:-1],
            ev.RunFinished(status="ok")]
    doc = check_document(back)
    assert doc["healthy"] is True and doc["status"] == "healthy" and doc["unchecked"] == {}


def test_the_document_names_what_comes_by_hand_before_its_next_runbook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a wiped database "storage.cfg is gone" has no runbook and vm-config-recovery stops
    on it: a script reading only next_runbook ran a runbook that failed at its third step."""
    from pverunbook.check_json import check_document
    from pverunbook.pve.diagnosis.model import Diagnosis, Fault, NextRunbook
    from pverunbook.pve.facts import FactStore

    faults = (Fault("clock-skew", "clocks differ", "info", "high", "look"),
              Fault("storage-cfg-missing", "storage.cfg is gone", "critical", "high", "restore"),
              Fault("vm-without-config", "VM 110 has no config", "critical", "high", "rebuild",
                    next_runbook=NextRunbook("vm-config-recovery")))
    monkeypatch.setattr("pverunbook.run_diagnosis.diagnose_run",
                        lambda *a, **k: (FactStore(), Diagnosis(faults=faults)))
    doc = check_document([])
    assert doc["next_runbook"] == {"runbook": "vm-config-recovery", "params": {}}
    assert doc["first_by_hand"] == [1]
    assert [(f["order"], f["number"], f["rule"]) for f in doc["faults"]] == [
        (1, None, "clock-skew"), (2, 1, "storage-cfg-missing"), (3, 2, "vm-without-config")]
