"""The Textual-free parts of the UI: event bookkeeping, comparison, network stats."""

from __future__ import annotations

from pverunbook.engine import events as ev
from pverunbook.runbook.loader import load_text
from pverunbook.ui.analysis import compare_outputs, loss_bar, network_stats
from pverunbook.ui.model import LineSplitter, RunState, marked, node_rows
from pverunbook.ui.widgets.output import render_strip
from tests.ui.conftest import RUNBOOK, SCRIPTS


def test_line_splitter_keeps_partial_lines() -> None:
    s = LineSplitter()
    assert s.feed("a", "stdout", "one\ntw") == ["one"]
    assert s.feed("a", "stdout", "o\nthree") == ["two"]
    assert s.feed("b", "stdout", "x\n") == ["x"]
    assert s.flush("a") == ["three"]
    assert s.flush("a") == []


def test_compare_groups_identical_and_names_differing_keys() -> None:
    cv = {n: lines for n, (lines, _) in SCRIPTS["config_version"].items()}
    cmp = compare_outputs(cv)
    assert not cmp.identical
    assert ("config_version", {"ryanrishi": "6", "pve001": "5"}) in cmp.keys
    assert any("-config_version: 6" in line for _, _, body in cmp.diffs for line in body)
    same = compare_outputs({"a": ["x", "y"], "b": ["x", "y"], "c": ["x"]})
    assert sorted(sorted(nodes) for nodes, _ in same.groups) == [["a", "b"], ["c"]]


def test_network_stats_from_ping_and_mtr() -> None:
    pings = {n: lines for n, (lines, _) in SCRIPTS["ping"].items()}
    stats = {s.node: s for s in network_stats(pings)}
    assert stats["ryanrishi"].loss_pct == 10.0
    assert stats["pve001"].loss_pct == 15.0
    assert stats["pve001"].rtts[:2] == [0.45, 3.2]
    mtr = ["HOST: ryanrishi           Loss%   Snt   Last   Avg  Best  Wrst StDev",
           "  1.|-- 192.168.4.1        84.0%    50    0.1   0.2   0.1   0.5   0.1",
           "  2.|-- pve001              2.0%    50    1.7   1.5   0.4   2.1   0.4"]
    [m] = network_stats({"ryanrishi": mtr})
    assert [(h.host, h.loss_pct) for h in m.hops] == [("192.168.4.1", 84.0), ("pve001", 2.0)]
    assert loss_bar(2.0, 10) == "█" + "░" * 9


def test_run_state_summary() -> None:
    rb = load_text(RUNBOOK)
    st = RunState(rb)
    st.apply(ev.StepSkipped(step_id="ping", reason="done by hand", by_operator=True))
    st.apply(ev.StepStarted(step_id="tune", title="t", index=2, nodes=("a",), destructive=True))
    st.apply(ev.CheckpointTaken(step_id="tune", checkpoint_id="cp-1", ok=True, path="/x"))
    st.apply(ev.ConfirmationGiven(step_id="tune", what="destructive", accepted=True,
                                  typed="nyc", operator="op"))
    st.apply(ev.CommandStarted(step_id="tune", node="a", command="echo", index=0, timeout=5))
    assert st.command_running
    st.apply(ev.CommandFinished(step_id="tune", node="a", command="echo", index=0,
                                exit_status=0, duration=1.0))
    st.apply(ev.StepFinished(step_id="tune", status="ok"))
    st.apply(ev.RunFinished(status="ok", duration=65))
    s = st.summary()
    assert s.skipped == [(rb.step("ping").title, "done by hand")]
    assert s.checkpoints == [("tune", "cp-1", "/x")]
    assert len(s.risky) == 1 and "typed 'nyc' by op" in s.risky[0]
    assert s.not_reached == [rb.step("config").title]


def test_a_value_used_despite_the_facts_is_a_risky_action() -> None:
    """cluster-db-reset on a node whose database was found sound ('use it despite the
    facts'): the summary's risky actions listed the two typed node names, not that the node
    was chosen against the run's own facts."""
    st = RunState(load_text(RUNBOOK))
    st.apply(ev.ConfirmationGiven(step_id="config", what="contradicts facts", accepted=True,
                                  typed="use it despite the facts", operator="op"))
    st.apply(ev.RunFinished(status="ok", duration=5))
    (risky,) = st.summary().risky
    assert risky.startswith(load_text(RUNBOOK).step("config").title)
    assert "USED DESPITE THE FACTS (typed by op)" in risky


def _state_after(events: list[ev.Event]) -> RunState:
    state = RunState(load_text(RUNBOOK, "ui-test.toml"))
    for e in events:
        state.apply(e)
    return state


def _ran(step: str, outputs: dict[str, tuple[list[str], int]]) -> list[ev.Event]:
    """The events of ``step`` ending on each node with that exit status (lines: add_lines)."""
    nodes = tuple(outputs)
    out: list[ev.Event] = [ev.StepStarted(step_id=step, title=step, index=0, nodes=nodes)]
    for n, (_lines, code) in outputs.items():
        out.append(ev.CommandStarted(step_id=step, node=n, command="ping", index=0,
                                     timeout=10))
        out.append(ev.CommandFinished(step_id=step, node=n, command="ping", index=0,
                                      exit_status=code, duration=1.0))
    return out


def test_node_rows_group_identical_outputs_and_keep_cluster_order() -> None:
    same = (["PING 10.0.0.9", "0% packet loss"], 0)
    state = _state_after(_ran("ping", {"pve1": same, "pve2": (["100% packet loss"], 1),
                                       "pve3": same, "pve4": same}))
    for n in ("pve1", "pve2", "pve3", "pve4"):
        state.add_lines("ping", n, ["100% packet loss"] if n == "pve2" else same[0])
    rows = node_rows(state.step("ping"), ["pve1", "pve2", "pve3", "pve4", "pve5"])
    assert [(r.nodes, r.identical) for r in rows] == [
        (("pve1", "pve3", "pve4"), True), (("pve2",), False), (("pve5",), False)]
    assert rows[0].last_line == "0% packet loss" and rows[1].exit_status == 1
    assert rows[2].status == "idle"  # the step does not run on pve5
    assert [r.nodes for r in node_rows(None, ["a", "b"])] == [("a",), ("b",)]


def test_stopped_by_names_who_stopped_the_run() -> None:
    def stopped(step_status: str, message: str, run_status: str = "aborted") -> str:
        return _state_after([
            ev.StepStarted(step_id="tune", title="t", index=2, nodes=("ryanrishi",)),
            ev.StepFinished(step_id="tune", status=step_status, message=message),
            ev.RunFinished(status=run_status, message=message)]).stopped_by()

    assert stopped("blocked", "ryanrishi is not quorate") == "guard"
    assert stopped("blocked", "checkpoint failed and the operator aborted") == "checkpoint"
    assert stopped("declined", "the operator did not confirm") == "operator"
    assert stopped("failed", "step 'tune' failed", "failed") == "failure"
    assert stopped("ok", "", "ok") == ""
    assert _state_after([ev.RunFinished(status="aborted",
                                        message="stopped by the operator")]).stopped_by() \
        == "operator"


def test_a_failed_check_on_exit_0_marks_that_node_failed_not_ok() -> None:
    # network-triage's ping step exits 0 while its expectation (no loss) fails on one node:
    # the strip and the pane said "✔ ok exit 0" for the node that just failed the step.
    events = _ran("ping", {"a": ([], 0), "b": ([], 0)})
    events += [ev.ExpectationResult(step_id="ping", node="a", description="absent: loss",
                                    ok=False, message="packet loss to b"),
               ev.ExpectationResult(step_id="ping", node="b", description="absent: loss",
                                    ok=True),
               ev.StepFinished(step_id="ping", status="failed")]
    state = _state_after(events)
    results = state.step("ping").results
    assert results["a"].status == "failed"
    assert results["a"].outcome == "exit 0, check failed: packet loss to b"
    assert results["b"].status == "ok"


ROUTE_FIX = """
id = "route-fix-like"
title = "Delete a route, verify, COMMIT, then by hand"

[[steps]]
id = "show"
title = "Show"
kind = "check"
commands = ["ip route get 10.0.0.2"]

[[steps]]
id = "delete"
title = "Delete the host route"
kind = "run"
destructive = true
confirm = "node"
commands = ["ip route del 10.0.0.2 via 10.0.0.254"]
commit_within = 120
commit_checks = ["verify"]

[steps.backup]
outputs = ["ip route"]

[steps.rollback]
reload = ["ip route replace 10.0.0.2 via 10.0.0.254"]

[[steps]]
id = "verify"
title = "Verify"
kind = "check"
commands = ["ip route get 10.0.0.2"]

[[steps]]
id = "boot"
title = "Boot source"
kind = "check"
commands = ["true"]

[[steps]]
id = "persist"
title = "Remove the source"
kind = "manual"
instructions = "Remove it."
"""


def _step_ok(st: RunState, step_id: str, index: int, nodes: tuple[str, ...] = ("a",)) -> None:
    st.apply(ev.StepStarted(step_id=step_id, title=step_id, index=index, nodes=nodes))
    for n in nodes:
        st.apply(ev.CommandStarted(step_id=step_id, node=n, command="x", index=0, timeout=5))
        st.apply(ev.CommandFinished(step_id=step_id, node=n, command="x", index=0,
                                    exit_status=0, duration=0.1))
    st.apply(ev.StepFinished(step_id=step_id, status="ok"))


def test_a_step_committed_after_its_checks_ends_once_and_counts_as_done() -> None:
    """The engine's order for a COMMIT step (engine/rollback.py after_step): the step ends
    ok, its checks run, and only then is COMMIT asked about it. The summary counted it neither
    done nor failed ("4 done" of 5) and the risky action read "— running"."""
    rb = load_text(ROUTE_FIX)
    st = RunState(rb)
    _step_ok(st, "show", 0)
    st.apply(ev.StepStarted(step_id="delete", title="d", index=1, nodes=("a",),
                            destructive=True))
    st.apply(ev.ConfirmationRequested(step_id="delete", what="destructive", prompt="type a",
                                      expected="a", nodes=("a",)))
    assert st.step("delete").state == "needs_you"
    st.apply(ev.ConfirmationGiven(step_id="delete", what="destructive", accepted=True,
                                  typed="a", operator="op"))
    assert st.step("delete").state == "running"
    st.apply(ev.CommandStarted(step_id="delete", node="a", command="x", index=0, timeout=5))
    st.apply(ev.CommandFinished(step_id="delete", node="a", command="x", index=0,
                                exit_status=0, duration=0.1))
    st.apply(ev.StepFinished(step_id="delete", status="ok"))
    _step_ok(st, "verify", 2)
    st.apply(ev.ConfirmationRequested(step_id="delete", what="commit", prompt="COMMIT?",
                                      expected="COMMIT", nodes=("a",)))
    assert st.step("delete").state == "needs_you"  # the commit is asked about this step
    st.apply(ev.ConfirmationGiven(step_id="delete", what="commit", accepted=True,
                                  typed="COMMIT", operator="op"))
    assert st.step("delete").state == "ok"
    _step_ok(st, "boot", 3)
    st.apply(ev.StepStarted(step_id="persist", title="p", index=4, nodes=()))
    st.apply(ev.ConfirmationRequested(step_id="persist", what="manual", prompt="Remove it.",
                                      expected="yes"))
    st.apply(ev.ConfirmationGiven(step_id="persist", what="manual", accepted=True, typed="",
                                  operator="op"))
    st.apply(ev.StepFinished(step_id="persist", status="ok"))
    st.apply(ev.RunFinished(status="ok", duration=5.0))
    s = st.summary()
    assert len(s.done) == 5 and not s.failed and not s.skipped and not s.not_reached
    (risky,) = s.risky
    assert risky.startswith("Delete the host route — ok;")
    assert "commit: accepted (typed 'COMMIT' by op)" in risky
    # every step ends in exactly one state
    buckets = [s.done, s.failed, [t for t, _ in s.skipped], s.not_reached]
    assert sorted(t for b in buckets for t in b) == sorted(x.title for x in rb.steps)


def test_a_step_the_engine_never_ended_is_unknown_once_the_run_is_over() -> None:
    rb = load_text(ROUTE_FIX)
    st = RunState(rb)
    _step_ok(st, "show", 0)
    st.apply(ev.StepStarted(step_id="delete", title="d", index=1, nodes=("a",),
                            destructive=True))
    st.apply(ev.ConfirmationRequested(step_id="delete", what="destructive", prompt="type a",
                                      expected="a", nodes=("a",)))
    st.apply(ev.RunFinished(status="aborted", duration=5.0))
    s = st.summary()
    assert s.done == ["Show"] and s.failed == ["Delete the host route (unknown)"]
    assert s.not_reached == ["Verify", "Boot source", "Remove the source"]
    assert s.risky[0].startswith("Delete the host route — unknown;")


QUORUM = """
id = "check-like"
title = "Quorum"

[[steps]]
id = "quorum"
title = "Quorum and membership"
kind = "check"
commands = ["corosync-quorumtool -siH"]
ok_exit = [0, 1, 2]
verdict = "quorum"
"""


def test_an_allowed_exit_whose_verdict_is_critical_is_never_a_plain_ok() -> None:
    """The health check's quorum step allows exit 2 (quorumtool's "not quorate") so the run
    goes on; on the broken node the pane and strip said "✔ ok exit 2". They say what the
    exit meant (the verdict's critical finding), and an allowed non-zero exit says so."""
    st = RunState(load_text(QUORUM))
    st.apply(ev.StepStarted(step_id="quorum", title="q", index=0, nodes=("a", "b", "c")))
    for n, code in (("a", 2), ("b", 0), ("c", 1)):
        st.apply(ev.CommandStarted(step_id="quorum", node=n, command="q", index=0, timeout=9))
        st.apply(ev.CommandFinished(step_id="quorum", node=n, command="q", index=0,
                                    exit_status=code, duration=0.1))
    st.apply(ev.Finding(step_id="quorum", node="a", severity="critical",
                        title="NOT quorate: 1 of 2 expected votes, 2 needed"))
    st.apply(ev.Finding(step_id="quorum", node="b", severity="ok", title="quorate"))
    st.apply(ev.Finding(step_id="quorum", node="c", severity="warning", title="no QDevice"))
    st.apply(ev.StepFinished(step_id="quorum", status="ok"))
    a, b, c = (st.step("quorum").results[n] for n in "abc")
    assert a.status == "findings"
    assert a.outcome == "exit 2, finding: NOT quorate: 1 of 2 expected votes, 2 needed"
    assert (b.status, b.outcome) == ("ok", "exit 0")
    assert (c.status, c.outcome) == ("ok", "exit 1 (allowed)")
    rows = {r.nodes[0]: r for r in node_rows(st.step("quorum"), ["a", "b", "c"])}
    assert rows["a"].status == "findings"
    strip = render_strip(list(rows.values()), None).plain
    assert "✔" not in strip.splitlines()[0] and "! findings" in strip.splitlines()[0]


ROUTE = """
id = "route-like"
title = "Route"

[[steps]]
id = "route"
title = "Route to every peer"
kind = "check"
commands = ["ip route get 192.0.2.2"]
verdict = "route"

[[steps.expect]]
absent = ' via '
severity = "warning"
message = "Cluster traffic to a peer goes through a gateway"
"""


def test_a_finding_the_step_declares_marks_its_node_whatever_its_severity() -> None:
    """The health check's route step said "✔ ok" next to `192.168.4.201 via 192.168.4.1`,
    the outage's fault: a finding the step's own expectations declare marks the node
    ("! finding: …") even as a warning, in the pane, the strip, the step list; a verdict's
    warning (standing advice, e.g. no QDevice) does not, and a node without it stays ✔."""
    st = RunState(load_text(ROUTE))
    st.apply(ev.StepStarted(step_id="route", title="r", index=0, nodes=("a", "b", "c")))
    for n in "abc":
        st.apply(ev.CommandStarted(step_id="route", node=n, command="r", index=0, timeout=9))
        st.apply(ev.CommandFinished(step_id="route", node=n, command="r", index=0,
                                    exit_status=0, duration=0.1))
    st.apply(ev.Finding(step_id="route", node="a", severity="warning",
                        title="Cluster traffic to a peer goes through a gateway"))
    st.apply(ev.Finding(step_id="route", node="b", severity="warning",
                        title="reaches c through the gateway 192.0.2.1"))
    st.apply(ev.StepFinished(step_id="route", status="ok"))
    a, b, c = (st.step("route").results[n] for n in "abc")
    assert (a.status, a.outcome) == ("findings",
                                     "finding: Cluster traffic to a peer goes through a gateway")
    assert (b.status, c.status) == ("ok", "ok")
    strip = render_strip(node_rows(st.step("route"), ["a", "b", "c"]), None).plain.splitlines()
    assert "! findings" in strip[0] and "✔" not in strip[0] and "✔ ok" in strip[1]
    assert marked(st.step("route"))


def test_a_resumed_runs_time_spent_counts_from_the_first_start() -> None:
    """corosync-tuning ran from 00:11:47 to 00:14:33 (killed at COMMIT, resumed): the summary
    said "Time spent 18s", the resumed part only; the report's Duration was right."""
    rb = load_text(RUNBOOK)

    def started(ts: float, resumed: bool) -> ev.RunStarted:
        return ev.RunStarted(ts=ts, run_id="r1", runbook_id=rb.id, runbook_title=rb.title,
                             runbook_path="", mode="rehearsal", cluster="nyc",
                             nodes=("a",), params={}, resumed=resumed)

    earlier: list[ev.Event] = [started(1000.0, False), ev.StepSkipped(step_id="ping",
                                                                       reason="by hand")]
    st = RunState(rb)
    st.restore(earlier, {"ping": "skipped"})
    st.apply(started(1148.0, True))
    st.apply(ev.RunFinished(ts=1166.0, status="ok", duration=18.0))
    assert st.summary().duration == 166.0
    # a run that was not resumed: its own duration, as before
    fresh = RunState(rb)
    fresh.apply(started(1000.0, False))
    fresh.apply(ev.RunFinished(ts=1065.0, status="ok", duration=65.0))
    assert fresh.summary().duration == 65.0
