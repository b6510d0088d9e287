"""The run screen's comparison of the nodes' outputs and its network plots, following the
output of the step in view: on the event loop for a little output, in a thread for a lot, the
latest request winning. The engine's events that feed it are handled in
:mod:`pverunbook.ui.screens.run`; split from it by what it computes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import TabbedContent

from pverunbook.runbook.model import Runbook
from pverunbook.ui.analysis import NodeNet, network_stats
from pverunbook.ui.model import StepView
from pverunbook.ui.screens.run_status import RunStatus
from pverunbook.ui.widgets.analysis import CompareView, NetPlot, comparison_text

#: Up to this many output lines (all nodes) the comparison and plots are made on the event
#: loop, at once; beyond, in a thread (see ``RunAnalysis._refresh_analysis``).
ANALYSIS_INLINE_LINES = 2000


def _analyse(outputs: Mapping[str, list[str]]) -> tuple[Text, list[NodeNet]]:
    return comparison_text(outputs), network_stats(outputs)


class RunAnalysis(RunStatus):
    """Comparison and plots of the step in view; :class:`RunScreen` runs the engine."""

    def __init__(self, runbook: Runbook) -> None:
        super().__init__(runbook)
        self._analysis_due = False
        self._analysis_gen = 0
        self._analysis_busy = False
        self._analysis_next: tuple[int, StepView, dict[str, list[str]]] | None = None
        self._network_shown_for: str | None = None

    def _refresh_analysis(self, sv: StepView) -> None:
        """The comparison and plots for ``sv``: made here for a little output, in a thread
        for a lot (comparing and parsing 2 × 5000 lines took 20–50 ms, a stall of the event
        loop each time while a node floods output); the latest request wins."""
        outputs = {n: sv.lines(n) for n in sv.nodes if n in sv.output}
        self._analysis_gen += 1
        if sum(len(lines) for lines in outputs.values()) <= ANALYSIS_INLINE_LINES:
            self._show_analysis(sv, comparison_text(outputs), network_stats(outputs))
            return
        self._analysis_next = (self._analysis_gen, sv, outputs)
        if not self._analysis_busy:
            self._analysis_busy = True
            self.run_worker(self._analyse_off_loop(), group="analysis")

    async def _analyse_off_loop(self) -> None:
        try:
            while self._analysis_next is not None:
                gen, sv, outputs = self._analysis_next
                self._analysis_next = None
                text, stats = await asyncio.to_thread(_analyse, outputs)
                if gen == self._analysis_gen and self.is_attached:
                    self._show_analysis(sv, text, stats)
        finally:
            self._analysis_busy = False

    def _show_analysis(self, sv: StepView, text: Text, stats: list[NodeNet]) -> None:
        self.query_one(CompareView).show_text(text)
        plot = self.query_one(NetPlot)
        plot.stats = stats
        # Ping/mtr output is better read as plots: show them once per step when they appear.
        if plot.stats and self._network_shown_for != sv.id:
            self._network_shown_for = sv.id
            self.query_one("#analysis", TabbedContent).active = "tab-network"
        self.refresh_matrix()

    def _analysis_timer(self) -> None:
        self._analysis_due = False
        if self.state.current is not None:
            self._refresh_analysis(self.state.step(self.state.current))
            self._refresh_strip()
