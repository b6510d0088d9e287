"""The Textual-free parts of the UI: event bookkeeping, comparison, network stats."""

from __future__ import annotations

from pverunbook.engine import events as ev
from pverunbook.runbook.loader import load_text
from pverunbook.ui.analysis import compare_outputs, loss_bar, network_stats
from pverunbook.ui.model import LineSplitter, RunState
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
    assert stats["ryanrishi"].loss_pct == 2.0
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
