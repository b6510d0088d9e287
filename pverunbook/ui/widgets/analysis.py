"""Findings, the cross-node comparison and the network plots under the output panes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from pverunbook.ui.analysis import Comparison, NodeNet, compare_outputs, loss_bar, network_stats
from pverunbook.ui.in_place import update_in_place
from pverunbook.ui.model import FindingItem

SEVERITY: dict[str, tuple[str, str]] = {
    "critical": ("CRIT", "bold white on red"),
    "warning": ("WARN", "bold black on yellow"),
    "info": ("INFO", "bold white on blue"),
    "ok": (" OK ", "bold black on green"),
}


class FindingsView(Static):
    """Verdicts with their severity, newest last."""

    def show(self, findings: Sequence[FindingItem], titles: Mapping[str, str]) -> None:
        if not findings:
            self.update(Text("No findings yet. Checks with a verdict explain their output here.",
                             style="dim"))
            return
        text = Text()
        for f in findings:
            word, style = SEVERITY.get(f.severity, (f.severity.upper()[:4], "reverse"))
            text.append(f" {word} ", style=style)
            where = f.node or "all nodes"
            text.append(f" {where}: ", style="bold")
            text.append(f.title)
            text.append(f"  ({titles.get(f.step_id, f.step_id)})\n", style="dim")
        self.update(text)


def render_comparison(cmp: Comparison) -> Text:
    text = Text()
    if not cmp.groups:
        text.append("No output to compare yet.", style="dim")
        return text
    if cmp.identical:
        nodes, n = cmp.groups[0]
        text.append("✔ identical ", style="bold green")
        text.append(f"on {', '.join(nodes)} ({n} lines)")
        return text
    text.append("≠ nodes differ", style="bold yellow")
    for nodes, n in cmp.groups:
        text.append(f"   [{', '.join(nodes)}: {n} lines]", style="dim")
    text.append("\n")
    for key, values in cmp.keys[:12]:
        text.append(f"  {key}: ", style="bold")
        text.append("  vs  ".join(f"{v} ({n})" for n, v in values.items()))
        text.append("\n")
    for a, b, lines in cmp.diffs:
        text.append(f"--- {a}\n", style="red")
        text.append(f"+++ {b}\n", style="green")
        for line in lines:
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "cyan"
            text.append(line + "\n", style=style)
    return text


class CompareView(VerticalScroll):
    """Groups identical output and shows where nodes differ for the current step."""

    def compose(self) -> ComposeResult:
        yield Static(Text("No output to compare yet.", style="dim"), id="compare-text")

    def show(self, outputs: Mapping[str, Sequence[str]]) -> None:
        self.show_text(comparison_text(outputs))

    def show_text(self, text: Text) -> None:
        """Show a comparison made by :func:`comparison_text` (possibly in another thread)."""
        update_in_place(self.query_one("#compare-text", Static), text)


def comparison_text(outputs: Mapping[str, Sequence[str]]) -> Text:
    """The comparison of ``outputs`` as shown; pure, so it may run off the event loop."""
    return render_comparison(compare_outputs(outputs)) if outputs else Text(
        "No output to compare yet.", style="dim")


def _loss_style(pct: float) -> str:
    return "green" if pct < 1 else "yellow" if pct < 5 else "bold red"


class NetPlot(VerticalScroll):
    """Loss bars and latency sparklines per node (ping), and per hop (mtr)."""

    stats: reactive[list[NodeNet]] = reactive(list, recompose=True)

    def compose(self) -> ComposeResult:
        if not self.stats:
            yield Static(Text("No ping or mtr output in this step yet.", style="dim"))
            return
        for nn in self.stats:
            if nn.loss_pct is not None or nn.rtts:
                line = Text()
                line.append(f"{nn.node:<12}", style="bold")
                if nn.target:
                    line.append(f"→ {nn.target:<15} ")
                if nn.loss_pct is not None:
                    line.append("loss ")
                    line.append(loss_bar(nn.loss_pct, 16), style=_loss_style(nn.loss_pct))
                    line.append(f" {nn.loss_pct:5.1f}%", style=_loss_style(nn.loss_pct))
                if nn.rtt_avg is not None:
                    line.append(f"  avg {nn.rtt_avg:.2f} ms")
                elif nn.rtts:
                    line.append(f"{len(nn.rtts)} replies so far, max {max(nn.rtts):.2f} ms")
                if nn.rtts:
                    line.append("  rtt ", style="dim")
                with Horizontal(classes="plot-row"):
                    yield Static(line, classes="plot-label")
                    if nn.rtts:
                        yield Sparkline(nn.rtts, summary_function=max, classes="plot-spark")
            for hop in nn.hops:
                t = Text()
                t.append(f"{nn.node:<12}", style="bold")
                t.append(f"mtr {hop.host:<16} ")
                t.append(loss_bar(hop.loss_pct, 16), style=_loss_style(hop.loss_pct))
                t.append(f" {hop.loss_pct:5.1f}%", style=_loss_style(hop.loss_pct))
                if hop.avg_ms is not None:
                    t.append(f"  avg {hop.avg_ms:.1f} ms")
                if hop is not nn.hops[-1] and hop.loss_pct > 0 and nn.hops[-1].loss_pct < \
                        hop.loss_pct:
                    t.append("  (router ICMP rate-limit, not loss)", style="dim")
                yield Static(t, classes="plot-hop")

    def show(self, outputs: Mapping[str, Sequence[str]]) -> None:
        self.stats = network_stats(outputs)
