"""The step in focus on the run screen: its title, why it exists, what to do by hand, the hint
(rehearsal and dry-run only) and the commands it runs on each node (planned, then as run)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from pverunbook.engine.targets import PlannedStep
from pverunbook.runbook.model import StepKind
from pverunbook.ui.in_place import update_in_place
from pverunbook.ui.model import STATE_GLYPHS, STATE_LABELS, StepView, marked


class StepDetail(VerticalScroll):
    """Shown above the node output; redrawn when another step comes into focus, its commands
    whenever a command starts (the rendered commands replace the planned ones)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        #: The step shown (id), so a new command only redraws the commands.
        self.step_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="step-title")
        yield Markdown("", id="step-explain")
        yield Static("", id="step-commands")

    def show(self, sv: StepView, total: int, planned: PlannedStep | None, *,
             hints: bool, worst: str = "") -> None:
        """``sv`` as step ``sv.index + 1`` of ``total``; ``hints``: show the runbook's hint
        (rehearsal and dry-run, where the operator practises); ``worst``: the worst finding
        of the step (an ended step whose checks passed with critical findings is "!")."""
        step = sv.step
        title = Text()
        title.append(f"Step {sv.index + 1}/{total} · ", style="dim")
        if sv.state not in ("pending", "next", "running", "needs_you"):
            # the output below is this step's, and it has ended: say how (as the step list)
            ended = f"{STATE_GLYPHS.get(sv.state, '?')} {STATE_LABELS.get(sv.state, sv.state)}"
            if sv.state == "ok" and (worst == "critical" or marked(sv)):
                ended = "! ok—findings"
            title.append(f"{ended} · ", style="bold")
        title.append(step.title, style="bold")
        title.append(f"  [{step.kind.value}]", style="dim")
        if step.destructive:
            title.append("  ⚠ destructive: changes nodes", style="bold red")
        update_in_place(self.query_one("#step-title", Static), title)
        if self.step_id == sv.id and sv.attempt <= 1:
            self.show_commands(sv, planned)
            return
        self.step_id = sv.id
        md: list[str] = []
        if step.explain:
            md.append(step.explain.strip())
        if step.kind is StepKind.MANUAL and step.instructions:
            md.append("**What to do:** " + step.instructions.strip())
        if step.hint and hints:
            md.append(f"> **Hint:** {step.hint.strip()}")
        explain = self.query_one("#step-explain", Markdown)
        explain.update("\n\n".join(md))  # a step without one says nothing (not "No explanation")
        explain.display = bool(md)
        self.show_commands(sv, planned)

    def show_commands(self, sv: StepView, planned: PlannedStep | None) -> None:
        """One ``node $ command`` line per command: as run once the step started, else as
        planned; what an input step asks for; the name a destructive step makes you type."""
        text = Text()
        per_node: dict[str, list[str]] = {}
        if sv.results and any(r.commands for r in sv.results.values()):
            per_node = {n: r.commands for n, r in sv.results.items()}
        elif planned is not None:
            per_node = planned.commands
        if per_node:
            width = max(len(n) for n in per_node)
            for node, cmds in per_node.items():
                for c in cmds:
                    text.append(f"{node:<{width}} ", style="bold cyan")
                    text.append("$ ", style="dim")
                    text.append(c + "\n")
        elif sv.step.kind is StepKind.INPUT:
            text.append("Asks for: " + ", ".join(sv.step.params), style="dim")
        if planned is not None and planned.confirm:
            text.append(f"Asks you to type {planned.confirm!r} before running.\n",
                        style="yellow")
        update_in_place(self.query_one("#step-commands", Static), text)
