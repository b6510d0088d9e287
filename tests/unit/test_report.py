"""The incident report from a real run (Session in local mode: real journal, redactor and
checkpoint store), and the secret that must never reach any file we write."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pverunbook.commands.safety import cmd_report
from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.journal import read_journal
from pverunbook.report import render_report, trim_output
from pverunbook.runbook.loader import load_text
from pverunbook.session import Mode, Session, SessionConfig

SECRET = "S3cr3t-Pa55-xyzzy"

RUNBOOK = """
id = "report-demo"
title = "Recover the nyc cluster"

[[params]]
name = "password"
secret = true

[[steps]]
id = "inspect"
title = "Look at the state"
kind = "check"
commands = ["seq 1 100", "echo inspected"]
expect = [{ match = "^100$", message = "the count must reach 100" }]

[[steps]]
id = "wipe"
title = "Replace the cluster database"
destructive = true
commands = ["echo wiping with {{password}} > /dev/null", "echo wiped"]

[steps.backup]
files = ["CFGDIR"]
outputs = ["echo token {{password}}", "echo password={{password}}"]

[[steps]]
id = "verify"
title = "Check the result"
commands = ["echo 'not quorate' >&2; exit 3"]
on_failure = "continue"
"""


@pytest.fixture
def run_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    cfg = tmp_path / "pve"
    cfg.mkdir()
    (cfg / "storage.cfg").write_text("dir: local\n")
    (cfg / "user.cfg").write_text("user:root@pam:1:0:::\n")
    return cfg, tmp_path


async def _run(cfg: Path) -> Path:
    session = Session(SessionConfig(mode=Mode.LOCAL))
    await session.start()
    try:
        engine = session.engine(load_text(RUNBOOK.replace("CFGDIR", str(cfg))),
                                ScriptedDecider(confirm_text="local"), {"password": SECRET},
                                run_id="20260101-run")
        assert await engine.run() == "completed_with_failures"
        assert engine.journal_path is not None
        return engine.journal_path
    finally:
        await session.close()


async def test_report_covers_every_step_and_checkpoint_and_leaks_no_secret(
        run_journal: tuple[Path, Path]) -> None:
    cfg, tmp = run_journal
    journal = await _run(cfg)
    events = read_journal(journal)
    # What a verdict would have said (verdicts need real Proxmox output).
    events.insert(-1, ev.Finding(step_id="inspect", node=None, severity="critical",
                                 title="config.db was deleted on every node",
                                 detail="nothing is left to resync from"))
    report = render_report(events)

    assert report.startswith("# Incident report: Recover the nyc cluster on cluster local")
    for heading in ("## Summary", "## Timeline", "## Steps", "## Still failing / open items",
                    "## Lessons / follow-ups"):
        assert heading in report
    assert "| Final status | **completed_with_failures** |" in report
    for sid, title in (("inspect", "Look at the state"), ("wipe", "Replace the cluster database"),
                       ("verify", "Check the result")):
        assert re.search(rf"^### \d\. {title} \(`{sid}`\)", report, re.M), sid
    (cp,) = [e for e in events if isinstance(e, ev.CheckpointTaken)]
    assert cp.ok and cp.checkpoint_id in report
    files = [i for i in cp.items if i["kind"] == "file"]
    assert len(files) == 2
    for item in files:
        assert item["sha256_local"] in report
    assert "… 70 lines omitted …" in report  # seq 1 100 trimmed to head and tail
    assert "exit 3" in report and "not quorate" in report
    assert "✅ output must match /^100$/" in report
    assert "typed ` local ` — accepted" in report
    assert "` echo password=[REDACTED] `" in report  # redaction kept the code span closed
    assert re.search(r"^- \[ \] Step `verify` \(Check the result\) ended \*\*failed\*\*",
                     report, re.M)
    assert "- config.db was deleted on every node — nothing is left to resync from" in report
    assert re.search(r"^- `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ` Run started", report, re.M)

    # The secret appears in no file we wrote: journal, manifest, output captures, report.
    out = tmp / "report.md"
    rc = cmd_report(argparse.Namespace(run=["20260101"], output=out, incident=False, since=None))
    assert rc == 0 and out.read_text().startswith("# Incident report")  # noqa: ASYNC240
    written = [journal, out, *(tmp / "data").rglob("*.json"), *(tmp / "data").rglob("*.txt")]
    assert len(written) >= 5
    for f in written:
        assert SECRET not in f.read_text(), f  # noqa: ASYNC240
    assert SECRET not in report
    assert "[REDACTED]" in journal.read_text()  # noqa: ASYNC240


def test_override_and_unfinished_run_are_called_out() -> None:
    t = 1_800_000_000.0
    events: list[ev.Event] = [
        ev.RunStarted(ts=t, run_id="r", runbook_id="rb", runbook_title="RB", runbook_path="",
                      mode="live", cluster="nyc", nodes=("a", "b"), params={}, operator="ryan"),
        ev.StepStarted(ts=t + 1, step_id="wipe", title="Wipe", index=0, nodes=("a",),
                       destructive=True),
        ev.CheckpointTaken(ts=t + 2, step_id="wipe", checkpoint_id="r-wipe-1", ok=False,
                           problems=("a: /var/lib/pve-cluster/config.db: timed out",)),
        ev.ConfirmationGiven(ts=t + 3, step_id="wipe", what="checkpoint override",
                             accepted=True, typed="proceed without a verified backup",
                             operator="ryan"),
        ev.CommandStarted(ts=t + 4, step_id="wipe", node="a", command="rm -rf x", index=0,
                          timeout=30),
        ev.OutputChunk(ts=t + 5, step_id="wipe", node="a", stream="stdout",
                       text="```\nfenced\n"),
    ]
    report = render_report(events)
    assert "**⚠ OVERRIDE:" in report and "WITHOUT a verified backup" in report
    assert "**unfinished**" in report
    assert "no result recorded** (interrupted while running" in report
    assert "Step `wipe` was running when the journal ends" in report
    assert "````\n```\nfenced\n````" in report  # output with a fence inside stays fenced
    assert "the exact failure that lost every VM config" in report


def test_trim_output() -> None:
    assert trim_output("a\nb\n") == "a\nb"
    text = "\n".join(str(i) for i in range(50))
    trimmed = trim_output(text, head=2, tail=2).splitlines()
    assert trimmed == ["0", "1", "… 46 lines omitted …", "48", "49"]


def test_summary_shows_the_parameter_an_input_step_set_not_the_default() -> None:
    """vm-config-recovery starts with ``source = dump`` (its default) and asks again once the
    evidence is in; the run used ``processes``, and the summary must say so."""
    t = 1_800_000_000.0
    events: list[ev.Event] = [
        ev.RunStarted(ts=t, run_id="r", runbook_id="vm-config-recovery", runbook_title="VM",
                      runbook_path="", mode="rehearsal", cluster="nyc", nodes=("a",),
                      params={"source": "dump", "vmid": "all"}),
        ev.StepStarted(ts=t + 1, step_id="choose-source", title="Choose", index=0, nodes=()),
        ev.ParamsSet(ts=t + 2, step_id="choose-source", values={"source": "processes"}),
        ev.RunFinished(ts=t + 3, status="ok"),
    ]
    summary = render_report(events).split("## Summary", 1)[1].split("\n\n", 2)[1]
    assert "`source` = ` processes ` (answered at step `choose-source`; the run started " \
           "with ` dump `)" in summary
    assert "`vmid` = ` all `" in summary
    assert "`source` = ` dump `," not in summary


def test_the_shell_session_outside_the_steps_is_in_the_report() -> None:
    """The story's route fix was typed in a shell between runbooks: the journal notes that a
    shell was used (never what was typed), and the report must show it."""
    from pverunbook.shell import shell_note

    t = 1_800_000_000.0
    events: list[ev.Event] = [
        ev.RunStarted(ts=t, run_id="r", runbook_id="network-triage", runbook_title="T",
                      runbook_path="", mode="rehearsal", cluster="nyc", nodes=("ryanrishi",),
                      params={}),
        ev.RunFinished(ts=t + 3, status="ok"),
        ev.Note(ts=t + 60, text=shell_note("ryanrishi", 42, 0)),
    ]
    summary = render_report(events).split("## Summary", 1)[1].split("## ", 1)[0]
    assert "**Outside the runbook's steps**" in summary
    assert "interactive shell on ryanrishi for 42 s" in summary


def test_report_of_a_healthy_check_tells_earlier_losses_as_history() -> None:
    """The health check after the recovery: its journal step still sees the outage's token
    losses (critical to its verdict), the check finds the cluster healthy. The report says
    healthy and tells those findings as history, never "ok — findings (CRIT)"."""
    t = 1_800_000_000.0
    events: list[ev.Event] = [
        ev.RunStarted(ts=t, run_id="r-report-history", runbook_id="cluster-health-check",
                      runbook_title="Cluster health check", runbook_path="", mode="rehearsal",
                      cluster="nyc", nodes=("ryanrishi",), params={}),
        ev.StepStarted(ts=t, step_id="corosync-journal", title="corosync journal", index=0,
                       nodes=("ryanrishi",)),
        ev.Finding(ts=t + 1, step_id="corosync-journal", node="ryanrishi",
                   severity="critical", title="token lost 12 time(s) in 41m"),
        ev.StepFinished(ts=t + 1, step_id="corosync-journal", status="ok"),
        ev.RunFinished(ts=t + 2, status="ok"),
    ]
    report = render_report(events)
    assert "The cluster is healthy" in report
    assert "CRIT" not in report and "critical" not in report
    assert "token lost 12 time(s) in 41m (earlier, now fine)" in report


def test_a_step_skipped_before_it_started_keeps_its_place_and_number() -> None:
    """A step its ``when`` skipped never starts, so it had no index: the report put it after
    the last step and numbered it like the step before it (two "### 20."), with its id for a
    title. Its place and title come from the runbook text the run journaled."""
    from pverunbook.engine import events as ev
    from pverunbook.report import render_report

    text = ('id = "rb"\ntitle = "RB"\n'
            '[[steps]]\nid = "a"\ntitle = "First"\ncommands = ["true"]\n'
            '[[steps]]\nid = "b"\ntitle = "Only when all are damaged"\ncommands = ["true"]\n'
            'when = "false"\n'
            '[[steps]]\nid = "c"\ntitle = "Third"\ncommands = ["true"]\n')
    events: list[ev.Event] = [
        ev.RunStarted(run_id="r", runbook_id="rb", runbook_title="RB", runbook_path="",
                      mode="local", cluster="c", nodes=("n1",), params={}, runbook_text=text),
        ev.StepStarted(step_id="a", title="First", index=0, nodes=("n1",)),
        ev.StepFinished(step_id="a", status="ok"),
        ev.StepSkipped(step_id="b", reason="when: false"),
        ev.StepStarted(step_id="c", title="Third", index=2, nodes=("n1",)),
        ev.StepFinished(step_id="c", status="ok"),
        ev.RunFinished(status="ok"),
    ]
    heads = [line for line in render_report(events).splitlines() if line.startswith("### ")]
    assert [h.split(" — ")[0] for h in heads] == [
        "### 1. First (`a`)", "### 2. Only when all are damaged (`b`)", "### 3. Third (`c`)"]


def test_the_report_says_where_pverunbook_stopped_without_ending_the_run() -> None:
    """A run killed (kill -9, a crash, a closed terminal) in its COMMIT window and resumed read
    "The run was resumed 1 time(s)" and, in the timeline, the last step's end followed by "Run
    resumed": nothing said the first process never ended the run. A Ctrl-C that ended it
    (run_finished: interrupted) is not such a stop."""
    def started(ts: float, resumed: bool = False) -> ev.RunStarted:
        return ev.RunStarted(run_id="r1", runbook_id="route-fix", runbook_title="Route fix",
                             runbook_path="", mode="rehearsal", cluster="nyc",
                             nodes=("ryanrishi",), params={}, ts=ts, resumed=resumed)

    step = [ev.StepStarted(step_id="show", title="Show", index=0, nodes=("ryanrishi",),
                           ts=101.0),
            ev.StepFinished(step_id="show", status="ok", ts=102.0)]
    killed = [started(100.0), *step, started(200.0, resumed=True),
              ev.RunFinished(status="ok", ts=210.0)]
    text = render_report(killed)
    timeline = text[text.index("## Timeline"):]
    stop = timeline.index("pverunbook stopped without ending the run")
    assert timeline.index("Step `show` finished") < stop < timeline.index("Run resumed")
    assert "resumed 1 time(s)" in text and "1 after pverunbook stopped without ending" in text

    ended = [started(100.0), *step, ev.RunFinished(status="interrupted", ts=150.0),
             started(200.0, resumed=True), ev.RunFinished(status="ok", ts=210.0)]
    text = render_report(ended)
    assert "stopped without ending" not in text


@pytest.mark.parametrize(("mode", "verb"), [("live", "run"), ("rehearsal", "rehearse")])
def test_an_unfinished_run_is_resumed_with_the_command_of_its_mode(mode: str, verb: str) -> None:
    """A rehearsal's report said `pverunbook run --resume`; the operator rehearsing types
    `rehearse`, as every other resume message now says."""
    events: list[ev.Event] = [
        ev.RunStarted(ts=1_800_000_000.0, run_id="r-open", runbook_id="rb", runbook_title="RB",
                      runbook_path="", mode=mode, cluster="nyc", nodes=("a",), params={},
                      operator="ryan"),
    ]
    report = render_report(events)
    assert f"resume it with `pverunbook {verb} --resume r-open`" in report, report
