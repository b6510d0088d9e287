"""The run screen's views beyond one pane per node: the node × node matrix (m) with five nodes
at 80×24, an input step that shows why it proposes a value, and nodes that did not answer when
the session connected, named before the first step as the headless CLI does."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.inventory import Node
from pverunbook.pve.facts import Fact, FactStore
from pverunbook.transport.base import CommandResult, TransportError
from pverunbook.ui.analysis import link_matrix, output_matrix
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.params import ParamsModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.widgets.matrix import MatrixView
from pverunbook.ui.widgets.output import NodeStrip
from tests.ui.conftest import (
    CLUSTER5,
    SCRIPTS,
    ScriptTransport,
    confirm_ready,
    to_run_screen,
    until,
)

Build = Callable[..., RunbookApp]
SIZE = (80, 24)


def test_link_matrix_from_facts() -> None:
    """Constructed facts: ryanrishi loses 24% to pve001 through the gateway; pve001 is clean."""
    store = FactStore([
        Fact("ping.loss_pct", 24.0, "ryanrishi", "pve001"),
        Fact("mtr.loss_pct", 2.0, "ryanrishi", "pve001"),
        Fact("route.via", "192.168.4.1", "ryanrishi", "pve001"),
        Fact("knet.down_count", 75, "ryanrishi", "pve001"),
        Fact("ping.loss_pct", 0.0, "pve001", "ryanrishi"),
    ])
    mx = link_matrix(store, ["ryanrishi", "pve001", "pve002"])
    assert mx is not None
    assert mx.cells[("ryanrishi", "pve001")] == "24% ↓75 gw"
    assert mx.cells[("pve001", "ryanrishi")] == "ok"
    assert mx.cells[("pve001", "pve002")] == "?"
    assert mx.cells[("pve001", "pve001")] == "·"
    assert mx.bad == {("ryanrishi", "pve001")}
    assert mx.notes == ["ryanrishi → pve001: ping 24% loss, mtr 2% loss, knet link down 75 "
                        "times, routed via 192.168.4.1"]
    assert link_matrix(FactStore([Fact("quorum.quorate", True, "pve001")]), ["pve001"]) is None


def test_output_matrix_groups_identical_nodes() -> None:
    out = {"pve1": ["a", "b"], "pve2": ["a", "b"], "pve3": ["a", "c"]}
    mx = output_matrix(out, ["pve1", "pve2", "pve3", "pve4"])
    assert mx is not None and mx.nodes == ["pve1", "pve2", "pve3"]
    assert mx.cells[("pve1", "pve2")] == "="
    assert mx.cells[("pve1", "pve3")] == "≠2"
    assert mx.notes == ["pve1, pve2: identical (2 lines)"]
    assert output_matrix({"pve1": ["a"]}, ["pve1", "pve2"]) is None


async def test_matrix_view_with_five_nodes_at_80x24(build_app: Build, runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml", cluster=CLUSTER5)
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: screen.state.step("ping").state not in ("pending", "running")
                    and screen.decider.is_waiting, "ping on five nodes")
        await pilot.press("m")
        await pilot.pause()
        view = screen.query_one(MatrixView)
        area = screen.query_one("#matrix-scroll").region
        assert area.height > 0 and screen.region.contains_region(area)
        assert not screen.query_one("#panes").display or \
            screen.query_one("#panes").region.height == 0
        console = Console(width=view.content_region.width, record=True, file=io.StringIO())
        console.print(view.content)
        text = console.export_text()
        # pve1–pve3 printed the same; pve4 and pve5 differ from them and from each other.
        assert "pve1, pve2, pve3: identical" in text
        below = text[text.index("Output of this step"):]
        row = next(line for line in below.splitlines() if line.startswith("pve1 "))
        assert row.split()[1:4] == ["·", "=", "="]
        assert all(cell.startswith("≠") for cell in row.split()[4:6])
        # Every column fits in 80: the last node's column is on screen.
        header = next(line for line in text.splitlines() if "pve5" in line and "pve1" in line)
        assert len(header.rstrip()) <= SIZE[0] - 2
        await pilot.press("m")
        await pilot.pause()
        assert not view.display or view.region.height == 0
        assert any(p.display for p in screen.panes.values())


INPUT_RUNBOOK = """
id = "ui-propose"
title = "UI test: which node's database is damaged?"

[[params]]
name = "damaged_node"
type = "str"
prompt = "Damaged node"

[[steps]]
id = "db-integrity"
title = "Database integrity on every node"
kind = "check"
commands = ["sqlite3 -readonly config.db 'PRAGMA integrity_check;'"]
ok_exit = [0, 11]
verdict = "db-integrity"

[[steps]]
id = "choose-node"
title = "Which node is damaged?"
kind = "input"
params = ["damaged_node"]

[steps.propose]
damaged_node = "db.integrity == damaged"
"""


async def test_input_step_shows_why_it_proposes_a_value(build_app: Build, runbook_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite's own words for a damaged file (sqlite.org "PRAGMA integrity_check"; the same as
    # ../shared/cases' damaged config.db); pve001 is the damaged node.
    monkeypatch.setitem(SCRIPTS, "integrity_check", {
        "ryanrishi": (["ok"], 0),
        "pve001": (["Error: database disk image is malformed (11)"], 11),
    })
    (runbook_dir / "ui-propose.toml").write_text(INPUT_RUNBOOK, encoding="utf-8")
    # damaged_node is not given: the input step asks for it (the form lets it stay empty).
    # (The transport of this module's import of the scripts, the ones patched above.)
    app = build_app(ScriptTransport(), runbook=runbook_dir / "ui-propose.toml")
    async with app.run_test(size=(120, 40)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: run.decider.is_waiting
                    and run.state.step("db-integrity").state != "pending", "integrity")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the input question")
        modal = app.screen
        assert isinstance(modal, ParamsModal)
        await pilot.pause()
        assert modal.query_one("#param-damaged_node").value == "pve001"  # type: ignore[attr-defined]
        why = str(modal.query_one("#proposal-damaged_node").render())
        # words an operator reads, not the rule that found it (db.integrity[pve001] = damaged)
        assert "the database failed its integrity check on pve001" in why, why
        assert "database disk image is malformed" in why and why.endswith("— suggested")
        assert "db.integrity" not in why and "==" not in why, why
        assert "proposed from the facts" in modal.help_text() or "▶" in modal.help_text()
        # Escape folds the question to look at the output; n brings it back with what was
        # typed, not with the proposal again
        modal.query_one("#param-damaged_node").value = "ryanrishi"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is run and run.decider.folded is not None,
                    "the question folded away")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the question again")
        modal = app.screen
        assert isinstance(modal, ParamsModal)
        await pilot.pause()
        assert modal.query_one("#param-damaged_node").value == "ryanrishi"  # type: ignore[attr-defined]
        modal.query_one("#param-damaged_node").value = "pve001"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: run.state.finished is not None or run.decider.is_waiting,
                    "the answer")
        await app.workers.wait_for_complete()
        journal = run.engine.journal_path if run.engine else None
    assert journal is not None
    events = read_journal(journal)
    proposed = [e for e in events if isinstance(e, ev.ValueProposed)]
    assert [(e.param, e.value) for e in proposed] == [("damaged_node", "pve001")]
    assert any(isinstance(e, ev.ParamsSet) and e.values.get("damaged_node") == "pve001"
               for e in events)


async def test_a_value_the_facts_contradict_is_questioned_in_words(
        build_app: Build, runbook_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cluster-db-reset's question after a sound node was typed as the damaged one, and the
    warning every confirmation after it carries, said the rule: "this run observed
    db.integrity[ryanrishi] = ok: it does not match 'db.integrity == damaged'"; now in words."""
    from textual.widgets import Static

    from pverunbook.engine.decisions import CONTRADICT_PHRASE
    from pverunbook.ui.screens.modals import TextPromptModal

    monkeypatch.setitem(SCRIPTS, "integrity_check", {
        "ryanrishi": (["ok"], 0),
        "pve001": (["Error: database disk image is malformed (11)"], 11),
    })
    (runbook_dir / "ui-propose.toml").write_text(INPUT_RUNBOOK + """
[[steps]]
id = "wipe"
title = "Move the database aside"
targets = "{{damaged_node}}"
destructive = true
no_backup_reason = "test transport: nothing to back up"
commands = ["echo token"]
""", encoding="utf-8")
    app = build_app(ScriptTransport(), runbook=runbook_dir / "ui-propose.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: run.decider.is_waiting
                    and run.state.step("db-integrity").state != "pending", "integrity")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ParamsModal), "the input question")
        app.screen.query_one("#param-damaged_node").value = "ryanrishi"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, TextPromptModal), "the question")
        asked = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "the database passed its integrity check on ryanrishi" in asked, asked
        assert "a node whose database failed its integrity check" in asked, asked
        assert "db.integrity" not in asked and "==" not in asked, asked
        await pilot.press(*CONTRADICT_PHRASE, "enter")
        await until(pilot, lambda: app.screen is run and run.decider.is_waiting, "next")
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        await pilot.pause()
        warning = str(app.screen.query_one("#confirm-guard-warning", Static).render())
        assert "USED DESPITE THE FACTS" in warning, warning
        assert "the database passed its integrity check on ryanrishi" in warning, warning
        assert "db.integrity" not in warning, warning
        await pilot.press("escape")


class OneNodeDown(ScriptTransport):
    """pve001 does not answer (what asyncssh's connect timeout becomes in the SSH transport)."""

    async def connect(self, nodes: list[Node]) -> None:
        for n in nodes:
            if n.name == "pve001":
                raise TransportError(n.name, "connect timed out after 10 s",
                                     "check that the node is up and sshd listens")


async def test_unreachable_nodes_are_named_before_the_first_step(build_app: Build,
                                                                 runbook_dir: Path) -> None:
    transport = OneNodeDown()
    app = build_app(transport)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and app.session.unreachable, "the connection check")
        await pilot.pause()
        start = app.screen
        assert isinstance(start, StartScreen)
        mode = str(start.query_one("#start-mode").render())
        assert "Unreachable: pve001 (pve001: connect timed out after 10 s" in mode
        assert "Read-only steps run on the other nodes" in mode
        assert "destructive steps that target pve001 are refused" in mode
        app.start_runbook("ui-test")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ParamsScreen", "params")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "run")
        run = app.screen
        assert isinstance(run, RunScreen)
        strip = run.query_one(NodeStrip)
        assert strip.display
        assert "pve001    ✘ unreachable" in str(strip.render())
        await pilot.press("n")
        await until(pilot, lambda: run.state.step("ping").state not in ("pending", "running"),
                    "ping")
        assert [n for n, _ in transport.ran] == ["ryanrishi"]  # read-only: on the other node


async def test_header_stays_on_the_step_whose_output_the_panes_show(build_app: Build,
                                                                    runbook_dir: Path) -> None:
    """At 80×24, between steps: the header above the panes moved to the next step while the
    panes still showed the previous step's output (a newcomer read step 1's ping as step 2's
    result). The header stays on the step that ran, with how it ended; the status line names
    the step n runs; once that step starts, header and panes move together."""
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        title = screen.query_one("#step-title")
        assert "Step 1/3" in str(title.render())  # before any step: the first one
        await pilot.press("n")
        await until(pilot, lambda: screen.state.step("ping").state not in ("pending", "running")
                    and screen.decider.is_waiting, "ping ran, waiting for step 2")
        await pilot.pause()
        header = str(title.render())
        assert "Step 1/3" in header and "Ping the peer's ring address" in header
        assert "ok" in header  # how the step whose output shows ended
        assert screen.pane_step == "ping"
        assert "Next: step 2" in str(screen.query_one("#run-status").render())
        await pilot.press("n")
        await until(pilot, lambda: screen.state.step("config").state not in ("pending",
                                                                             "running")
                    and screen.decider.is_waiting, "config ran")
        await pilot.pause()
        assert screen.pane_step == "config" and "Step 2/3" in str(title.render())


async def test_a_long_ping_is_plotted_from_a_thread(build_app: Build, runbook_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ANALYSIS_INLINE_LINES the comparison and plots are made off the event loop: the
    Network tab still fills in with every reply, and the comparison names both nodes."""
    from pverunbook.ui.screens import run_analysis as run_module
    from pverunbook.ui.widgets.analysis import CompareView, NetPlot
    from tests.ui.conftest import _ping

    rtts = [0.3 + (i % 7) / 10 for i in range(1500)]
    long = {"ryanrishi": _ping("192.168.4.201", 0, rtts),
            "pve001": _ping("192.168.4.200", 0, rtts[1:])}

    class LongPing(ScriptTransport):
        async def run(self, node: Node, command: str, *, timeout: float,
                      on_output: Any) -> CommandResult:
            if "ping" not in command:
                return await super().run(node, command, timeout=timeout, on_output=on_output)
            on_output("stdout", "".join(line + "\n" for line in long[node.name]))
            return CommandResult(0, 1.0)
    off_loop: list[int] = []
    real = run_module._analyse

    def spy(outputs):  # type: ignore[no-untyped-def]
        off_loop.append(sum(len(v) for v in outputs.values()))
        return real(outputs)

    monkeypatch.setattr(run_module, "_analyse", spy)
    app = build_app(LongPing(), runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=(160, 45)) as pilot:
        await to_run_screen(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("n")
        plot = screen.query_one(NetPlot)
        await until(pilot, lambda: screen.state.step("ping").state not in ("pending", "running")
                    and len(plot.stats) == 2 and not screen._analysis_busy, "the plots")
        assert off_loop and max(off_loop) > run_module.ANALYSIS_INLINE_LINES
        assert sorted(len(nn.rtts) for nn in plot.stats) == [1499, 1500]
        assert screen.query_one("#analysis").active == "tab-network"
        compare = str(screen.query_one(CompareView).query_one("#compare-text").render())
        assert "pve001" in compare and "ryanrishi" in compare
