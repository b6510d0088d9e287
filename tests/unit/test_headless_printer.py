"""The headless printer writes a flood of output per chunk, not per line."""

from __future__ import annotations

import io

from pverunbook.engine import events as ev
from pverunbook.headless import EventPrinter


class CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)

    def flush(self) -> None:
        self.flushes += 1


def test_a_chunk_of_many_lines_is_one_write_and_one_flush() -> None:
    out = CountingOut()
    p = EventPrinter(out, width=5)
    text = "".join(f"{i}\n" for i in range(1000)) + "10"
    p(ev.OutputChunk(step_id="s", node="pve1", stream="stdout", text=text))
    assert (out.writes, out.flushes) == (1, 1)
    p(ev.OutputChunk(step_id="s", node="pve1", stream="stdout", text="00\nx"))
    lines = out.getvalue().splitlines()
    assert lines[0] == " pve1 | 0" and lines[999] == " pve1 | 999" and lines[1000] == " pve1 | 1000"
    p(ev.OutputChunk(step_id="s", node="pve2", stream="stderr", text="oops\n"))
    assert out.getvalue().endswith(" pve2 ! oops\n")


def _stopped_run(runbook_id: str = "network-triage") -> list[ev.Event]:
    return [ev.RunStarted(run_id="r", runbook_id=runbook_id, runbook_title="T",
                          runbook_path="", mode="rehearsal", cluster="nyc",
                          nodes=("ryanrishi", "pve001"), params={}),
            ev.StepStarted(step_id="a", title="A", index=0, nodes=("ryanrishi",)),
            ev.StepFinished(step_id="a", status="ok"),
            ev.RunFinished(status="aborted", message="stopped by the operator")]


def test_a_run_stopped_early_is_no_clean_bill_of_health() -> None:
    """After aborting a triage at step 3 of 12 the diagnosis said "No fault found in the
    collected evidence." (and a check stopped early said HEALTHY): it says what ran."""
    from pverunbook.check_json import check_document
    from pverunbook.run_diagnosis import no_fault_text
    from pverunbook.runbook.loader import load_text

    three = load_text('id = "t"\ntitle = "T"\n' + "".join(
        f'[[steps]]\nid = "{x}"\ntitle = "{x}"\ncommands = ["true"]\n' for x in "abc"))
    said = no_fault_text(_stopped_run(), three)
    assert said.startswith("No fault found in what was collected, but only 1 of 3 steps ran "
                           "(the run aborted)") and "not a clean bill of health" in said
    assert "only 1 step ran" in no_fault_text(_stopped_run())
    whole = [*_stopped_run()[:-1], ev.RunFinished(status="ok")]
    assert no_fault_text(whole, three) == "No fault found in the collected evidence."
    out = io.StringIO()
    p = EventPrinter(out, runbook=three)
    for e in _stopped_run("cluster-health-check"):
        p(e)
    text = out.getvalue()
    assert "HEALTHY" not in text and "but only 1 of 3 steps ran" in text
    doc = check_document(_stopped_run("cluster-health-check"))
    assert doc["healthy"] is False and doc["status"] == "incomplete"
    done = check_document([*_stopped_run("cluster-health-check")[:-1],
                           ev.RunFinished(status="ok")])
    assert doc["faults"] == done["faults"] == [] and done["status"] == "healthy"


def test_a_failed_verify_is_what_the_summary_says_not_no_fault_found() -> None:
    """route-fix's verify failed and its summary said "No fault found in what was
    collected": the failed check is the run's finding, named with its message."""
    from pverunbook.run_diagnosis import no_fault_text

    events = [*_stopped_run("route-fix")[:-1],
              ev.StepStarted(step_id="verify", title="The peer is reached directly and answers",
                             index=2, nodes=("pve001",)),
              ev.StepFinished(step_id="verify", status="failed",
                              message="pve001: The peer is still reached through a gateway."),
              ev.RunFinished(status="failed", message="step 'verify' failed")]
    said = no_fault_text(events)
    assert said.startswith("Step “The peer is reached directly and answers” (verify) failed: "
                           "pve001: The peer is still reached through a gateway. What it "
                           "checks is NOT confirmed."), said
    assert not said.startswith("No fault found") and "not a clean bill of health" in said
    # routed on (on_failure = "continue"): the run reached its end, the failure still leads
    routed = [*events[:-1], ev.RunFinished(status="completed_with_failures")]
    assert no_fault_text(routed).startswith("Step “The peer is reached directly and answers”")


def test_a_failed_step_that_passed_when_run_again_is_not_the_runs_finding() -> None:
    """vm-config-recovery on three nodes: its quorum check failed on pve002, the operator fixed
    it in a shell and chose Re-run, and it passed; the summary said "Step “/etc/pve is writable
    here: quorum” (pve-health) failed … What it checks is NOT confirmed" above "✔ Finished:
    every step succeeded". A later failure of the step, or another step's, still leads."""
    from pverunbook.run_diagnosis import no_fault_text

    title = "/etc/pve is writable here: quorum"
    started = ev.StepStarted(step_id="pve-health", title=title, index=1, nodes=("pve002",))
    failed = ev.StepFinished(step_id="pve-health", status="failed", message="pve002: failed")
    passed = ev.StepFinished(step_id="pve-health", status="ok")
    base = _stopped_run("vm-config-recovery")[:-1]
    events = [*base, started, failed, started, passed, ev.RunFinished(status="ok")]
    assert no_fault_text(events) == "No fault found in the collected evidence."
    again = [*base, started, failed, started, passed, started, failed,
             ev.RunFinished(status="completed_with_failures")]
    assert no_fault_text(again).startswith(f"Step “{title}” (pve-health) failed")


def test_a_run_that_failed_says_why_with_what_ran() -> None:
    """corosync-tuning on three nodes, COMMIT typed while pve001's rollback timer was gone: the
    run failed with "run the runbook rollback-settle …", and its summary led with "No fault
    found in what was collected, but only 18 of 26 steps ran (the run failed)", the reason
    two screens below the link matrix."""
    from pverunbook.run_diagnosis import no_fault_text

    why = ("the rollback timer of 'apply' on pve001 will never fire (its process is gone): "
           "run the runbook rollback-settle with checkpoint=cp-1")
    events = [*_stopped_run("corosync-tuning")[:-1], ev.RunFinished(status="failed",
                                                                     message=why)]
    said = no_fault_text(events)
    assert said.startswith("No fault found in what was collected, but only 1 step ran (the "
                           f"run failed: {why})"), said


def test_the_summary_lists_a_fault_two_steps_saw_once() -> None:
    """cluster-health-check's mount and write probes both report a node's missing
    /etc/pve/nodes directory: the summary listed it twice per node and counted it twice."""
    title = "This node's own directory in /etc/pve/nodes is missing"
    events = [*_stopped_run("tiny")[:-1]]
    for sid, end in (("pve-mount", ""), ("pve-write", ".")):
        for node in ("ryanrishi", "pve001"):
            events.append(ev.Finding(step_id=sid, node=node, severity="critical",
                                     title=title + end))
    events.append(ev.RunFinished(status="ok"))
    out = io.StringIO()
    p = EventPrinter(out)
    for e in events:
        p(e)
    summary = out.getvalue().split("== summary", 1)[1]
    assert summary.count(f"ryanrishi: {title}") == summary.count(f"pve001: {title}") == 1, summary
    assert "findings (2 critical" in summary, summary
