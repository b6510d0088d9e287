"""The run screen's layout for any cluster size and any console: what is on screen and where.

Side by side for 1–2 nodes, a grid for 3–8, one node pane at a time on a small console (80×24)
with a status strip that keeps every node's state in view; the steps and findings column on
demand there; the node × node matrix in place of the panes on any console. The engine, its
events and the operator's actions live in :mod:`pverunbook.ui.screens.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static, TabbedContent, TabPane

from pverunbook.runbook.model import Runbook
from pverunbook.ui.analysis import link_matrix, output_matrix
from pverunbook.ui.model import RunState, StepView, node_rows
from pverunbook.ui.widgets.analysis import CompareView, FindingsView, NetPlot
from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.footer import KeyFooter
from pverunbook.ui.widgets.matrix import MatrixView
from pverunbook.ui.widgets.output import NodePane, NodeStrip, QuietLog
from pverunbook.ui.widgets.step_detail import StepDetail
from pverunbook.ui.widgets.steps import StepList

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine
    from pverunbook.ui.app import RunbookApp


class RunLayout(Screen[None]):
    """Widgets and their arrangement; subclasses feed them (``state``, ``engine``)."""

    # The summary screen's rules too (its ids and classes occur only there): a screen's first
    # CSS makes Textual reparse and restyle the whole app (~50 ms on a slow console), which
    # belongs with this screen's own first push, not with the run's last event.
    CSS_PATH = ["run.tcss", "summary.tcss"]

    def __init__(self, runbook: Runbook) -> None:
        super().__init__(id="run")
        self.runbook = runbook
        self.state = RunState(runbook)
        self.engine: Engine | None = None
        self.panes: dict[str, NodePane] = {}
        #: The node whose pane is shown when only one fits (small console), and marked in
        #: the strip.
        self.selected_node: str | None = None
        #: Nodes the current step runs on (all nodes before the first step).
        self.step_nodes: list[str] = []
        #: Nodes that did not answer when the session connected (name → why).
        self.unreachable: dict[str, str] = {}
        #: What the footer's keys were last computed for (see ``_refresh_keys``).
        self._keys_shown: tuple[object, ...] | None = None
        self._keys_due = False

    @property
    def rb_app(self) -> RunbookApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.rb_app
        cluster = app.session.cluster
        self.unreachable = dict(app.session.unreachable)
        yield AppHeader(app.mode, cluster, f"{self.runbook.title}")
        with Horizontal(id="run-main"):
            with Vertical(id="run-left"):
                yield Label("Steps", classes="section-title")
                with VerticalScroll(id="steps-scroll"):
                    yield StepList(id="step-list")
                yield Label("Findings", classes="section-title")
                with VerticalScroll(id="findings-scroll"):
                    yield FindingsView(id="findings")
            with Vertical(id="run-right"):
                yield Static("", id="run-status")
                yield StepDetail(id="step-detail")
                nodes = cluster.names if cluster else []
                self.step_nodes = list(nodes)
                self.selected_node = nodes[0] if nodes else None
                yield NodeStrip("", id="node-strip")
                with Container(id="panes"):
                    for name in nodes:
                        pane = NodePane(name)
                        self.panes[name] = pane
                        yield pane
                with VerticalScroll(id="matrix-scroll"):
                    yield MatrixView(id="matrix")
                with TabbedContent(id="analysis"):
                    with TabPane("Compare nodes", id="tab-compare"):
                        yield CompareView(id="compare")
                    with TabPane("Network", id="tab-network"):
                        yield NetPlot(id="netplot")
                    with TabPane("Activity", id="tab-activity"):
                        yield QuietLog(id="activity", max_lines=1000, auto_scroll=True)
        yield KeyFooter()

    # -- any cluster size, any console -----------------------------------------------------
    @property
    def compact(self) -> bool:
        """A small console (80×24, IPMI, phone): one node pane at a time, side column on
        demand. The app sets the ``-compact`` class on itself from its size."""
        return self.app.has_class("-compact")

    @property
    def matrix_shown(self) -> bool:
        return self.has_class("-matrix")

    def shown_nodes(self) -> list[str]:
        """The nodes with a pane for the step in focus (every node before the first step)."""
        return [n for n in self.panes if n in self.step_nodes] or list(self.panes)

    def layout_panes(self) -> None:
        """Side by side for 1–2 nodes, a grid for 3–8, one at a time on a small console; the
        strip (node, state, exit, duration, last line) whenever not every node has a full
        pane, so every node's state stays visible."""
        shown = self.shown_nodes()
        if self.selected_node not in shown:
            self.selected_node = shown[0] if shown else None
        single = self.compact and len(shown) > 1
        for name, pane in self.panes.items():
            pane.display = name in shown and (not single or name == self.selected_node)
        count = 1 if single else len(shown)
        panes = self.query_one("#panes")
        layout = "-cols" if count <= 2 else "-grid2" if count <= 4 else \
            "-grid3" if count <= 6 else "-grid4"
        panes.set_classes(layout)
        self._refresh_keys()
        strip = self.query_one(NodeStrip)
        strip.display = single or len(self.panes) > 2 or bool(self.unreachable)
        self._refresh_strip()

    def _refresh_strip(self) -> None:
        strip = self.query_one(NodeStrip)
        if not strip.display:
            return
        sv = self.state.step(self.state.current) if self.state.current else None
        strip.show(node_rows(sv, list(self.panes)), self.selected_node, self.unreachable)

    def refresh_matrix(self) -> None:
        """The node × node view from the facts so far and the step in focus's output."""
        if not self.matrix_shown:
            return
        nodes = list(self.panes)
        links = link_matrix(self.engine.facts, nodes) if self.engine is not None else None
        outputs = None
        sid = self.state.current or (self.state.last_finished.id
                                     if self.state.last_finished else None)
        if sid is not None:
            sv = self.state.step(sid)
            outputs = output_matrix({n: sv.lines(n) for n in sv.output}, nodes, sv.step.title)
        self.query_one(MatrixView).show(links, outputs)

    def on_resize(self) -> None:
        self.layout_panes()

    def _keys_state(self) -> tuple[object, ...]:
        """What ``check_action`` answers depend on (a subclass adds its own)."""
        return self.compact, len(self.panes), len(self.shown_nodes()), self.matrix_shown

    def refresh_bindings(self) -> None:
        self._keys_shown = self._keys_state()
        super().refresh_bindings()

    def _refresh_keys(self) -> None:
        """``refresh_bindings`` only when ``check_action`` may answer differently, once per
        screen refresh: each call rebuilds the footer (every key a new widget, styled and laid
        out: ~50 ms a time on a slow machine, the largest stall while two nodes flood output),
        and a command starting or ending on one node of several, or a new step on the same
        nodes, changes nothing there; a step and its first command starting come together."""
        if not self._keys_due:
            self._keys_due = True
            self.call_after_refresh(self._refresh_keys_now)

    def _refresh_keys_now(self) -> None:
        self._keys_due = False
        if self._keys_state() != self._keys_shown:
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """View keys that do nothing now stay out of the footer, so the rest fits in 80
        columns (they are all in F1 and the palette)."""
        if action == "toggle_side":
            return self.compact
        if action == "next_node":  # the step's nodes: one node's step has nothing to switch to
            shown = len(self.shown_nodes())
            return shown > 1 and (self.compact or shown > 2) and not self.matrix_shown
        if action == "toggle_matrix":
            return len(self.panes) > 1
        return True

    def action_next_node(self) -> None:
        shown = self.shown_nodes()
        if not shown:
            return
        i = shown.index(self.selected_node) if self.selected_node in shown else -1
        self.selected_node = shown[(i + 1) % len(shown)]
        self.layout_panes()
        pane = self.panes[self.selected_node]
        pane.scroll_visible(animate=False)
        if not self.compact:
            pane.log_widget.focus()

    def action_toggle_side(self) -> None:
        """Steps and findings: always on the left of a large console; on a small one they
        replace the output until this is pressed again."""
        if not self.compact:
            self.query_one("#findings-scroll").focus()
            return
        self.toggle_class("-side")

    def action_toggle_matrix(self) -> None:
        """The node × node view in place of the output panes, and back."""
        self.toggle_class("-matrix")
        self.remove_class("-side")
        self.refresh_matrix()
        self.refresh_bindings()

    def fill_panes(self, sv: StepView) -> None:
        """The node panes show ``sv``'s kept output and how it ended on each node: a resumed
        run opens where the earlier one left off (the output comes from its journal), not on
        empty panes."""
        self.step_nodes = list(sv.nodes)
        for node in sv.nodes:
            self._pane(node)
        self.layout_panes()
        for node in sv.nodes:
            pane = self._pane(node)
            lines = sv.lines(node)
            pane.start_step(f"earlier run: {sv.step.title}" if lines else
                            "earlier run: no output was journaled")
            pane.add_lines(lines)
            result = sv.results.get(node)
            if result is not None and result.done and result.status != "unknown":
                pane.show_result(result)  # how it ended there (else: it was running)

    def _pane(self, node: str) -> NodePane:
        pane = self.panes.get(node)
        if pane is None:
            pane = NodePane(node)
            self.panes[node] = pane
            self.query_one("#panes").mount(pane)
        return pane
