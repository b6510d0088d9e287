"""Odd output on one node fails that node's guard or verdict with a message; the run never dies
mid-step, the other nodes' findings are kept, and the journal always ends with ``run_finished``.

Kind (reliability case ``guard-odd-output/``: a ``corosync-quorumtool`` answering ``Node ID:
0xZZ``). Further real inputs of the kind: quorumtool output a monitoring parser could not read
("could not parse node id in corosync-quorumtool output",
https://github.com/ClusterLabs/ha_cluster_exporter/issues/188) and a QDevice column that broke
the membership parse (https://github.com/ClusterLabs/ha_cluster_exporter/issues/170).
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.guards import ProxmoxGuards
from pverunbook.engine.journal import Journal, list_runs, read_journal
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

CASE = Path(__file__).resolve().parents[1] / "data" / "reliability" / "guard-odd-output"
TWO = Cluster("nyc", (Node("ryanrishi", "localhost", addr="10.0.0.1"),
                      Node("pve001", "localhost", addr="10.0.0.2")))


def test_guard_odd_output_case(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", f"{CASE / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(CASE)
    rc = main(["run", "guard.toml", "--local", "--headless"])
    out = capsys.readouterr().out
    assert rc == 1  # blocked: the step did not run
    assert "guard quorate: BLOCKED" in out
    assert "Node ID '0xZZ' is not a node id" in out and "corosync-quorumtool -s" in out
    assert "guarded step ran" not in out
    (run,) = list_runs()
    lines = run.path.read_text().splitlines()
    assert json.loads(lines[-1])["kind"] == "run_finished"
    assert json.loads(lines[-1])["status"] == "aborted"


@pytest.mark.parametrize("odd, why", [
    ("Quorate: Yes\n", "no 'Total votes' and 'Quorum' lines"),
    ("Node ID: 0x00000001\nQuorate: Yes\nTotal votes: 1\nQuorum: 2\n", "Quorate says Yes"),
])
async def test_quorate_guard_does_not_trust_contradicting_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str, why: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "corosync-quorumtool"
    tool.write_text(f"#!/bin/sh\nprintf '%s' '{odd}'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    book = load_text('id = "g"\ntitle = "G"\n[[steps]]\nid = "s"\ntitle = "S"\n'
                     'targets = "all"\ncommands = "true"\n[[steps.guards]]\ncheck = "quorate"\n')
    engine = Engine(book, TWO, LocalTransport(), ScriptedDecider(), run_id="r",
                    guards=ProxmoxGuards())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    assert await engine.run() == "aborted"
    (guard,) = [e for e in seen if isinstance(e, ev.GuardResult)]
    assert not guard.ok and why in guard.message
    assert guard.message.count("cannot be told") == 2  # both nodes named


def judge_odd_raises(verdict, inputs, names, ok_exit):  # type: ignore[no-untyped-def]
    """``findings.judge_findings`` with a verdict that raises on pve001's odd output."""
    from pverunbook.engine.findings import judge_findings
    from pverunbook.pve import verdicts

    real = verdicts.judge

    def judge(name, inputs, **kw):  # type: ignore[no-untyped-def]
        if any("ODD" in i.text for i in inputs.values()):
            raise ValueError("invalid literal for int() with base 16: 'ZZ'")
        return real(name, inputs, **kw)

    verdicts.judge = judge  # type: ignore[assignment]
    try:
        return judge_findings(verdict, inputs, names, ok_exit)
    finally:
        verdicts.judge = real  # type: ignore[assignment]


async def test_one_nodes_odd_output_costs_only_its_own_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A verdict that cannot read pve001's output still judges ryanrishi's."""
    from pverunbook.engine import findings

    # The verdicts run in a helper process: what it runs is named by module and function.
    monkeypatch.setattr(findings, "JUDGE", judge_odd_raises)
    quorum = tmp_path / "quorum.txt"
    quorum.write_text("Quorate: No\nExpected votes: 2\nTotal votes: 1\n"
                      "Quorum: 2 Activity blocked\n")
    book = load_text(textwrap.dedent('''
        id = "v"
        title = "V"
        [[steps]]
        id = "q"
        title = "quorum"
        kind = "check"
        targets = "all"
        verdict = "quorum"
        commands = ["if [ {{node}} = pve001 ]; then echo ODD; else cat QUORUM; fi"]
        [[steps]]
        id = "after"
        title = "after"
        targets = "all"
        commands = "echo still-running"
    ''').replace("QUORUM", str(quorum)))
    journal = tmp_path / "j.jsonl"
    engine = Engine(book, TWO, LocalTransport(), ScriptedDecider(), run_id="r")
    j = Journal(journal)
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    await engine.run()
    j.close()
    findings = [e for e in seen if isinstance(e, ev.Finding)]
    notes = [e for e in seen if isinstance(e, ev.Note) and "could not read" in e.text]
    assert findings and all(f.node in (None, "ryanrishi") for f in findings)
    assert [n.text.split(":")[0] for n in notes] == ["pve001"]
    assert any(isinstance(e, ev.OutputChunk) and "still-running" in e.text for e in seen)
    assert read_journal(journal)[-1].kind == "run_finished"


async def test_a_guard_that_cannot_be_checked_blocks_and_the_journal_ends(
        tmp_path: Path) -> None:
    class Broken:
        async def check(self, engine, step, nodes):  # type: ignore[no-untyped-def]
            raise KeyError("quorate")

    book = load_text('id = "g"\ntitle = "G"\n[[steps]]\nid = "s"\ntitle = "S"\n'
                     'commands = "true"\n[[steps.guards]]\ncheck = "quorate"\n')
    journal = tmp_path / "j.jsonl"
    engine = Engine(book, TWO, LocalTransport(), ScriptedDecider(), run_id="r",
                    guards=Broken())  # type: ignore[arg-type]
    j = Journal(journal)
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    status = await engine.run()
    j.close()
    events = read_journal(journal)
    (finished,) = [e for e in events if isinstance(e, ev.StepFinished)]
    assert finished.status == "blocked" and "KeyError" in finished.message
    assert status == "aborted"
    assert events[-1].kind == "run_finished"


async def test_an_engine_bug_still_ends_the_journal_and_is_raised(tmp_path: Path) -> None:
    """A bug (not bad input) goes on to the UI / CLI, which show it; the journal still ends."""

    class Exploding(LocalTransport):
        async def run(self, *args: object, **kwargs: object):  # type: ignore[override]
            raise RuntimeError("boom")

    book = load_text('id = "g"\ntitle = "G"\n[[steps]]\nid = "s"\ntitle = "S"\n'
                     'commands = "true"\n')
    journal = tmp_path / "j.jsonl"
    engine = Engine(book, TWO, Exploding(), ScriptedDecider(), run_id="r")
    j = Journal(journal)
    engine.subscribe(j)
    engine.flushers.append(j.flush)
    with pytest.raises(RuntimeError, match="boom"):
        await engine.run()
    j.close()
    last = read_journal(journal)[-1]
    assert isinstance(last, ev.RunFinished) and last.status == "failed"
    assert "RuntimeError: boom" in last.message
