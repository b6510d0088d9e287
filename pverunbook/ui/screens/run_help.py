"""F1 on the run screen: what it shows (for its layout now), what to do now (for what the
run is doing: over, a question folded away, a command running, waiting for the next step), and
the step in focus — its hint, why it is there, its instructions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pverunbook.ui.screens.run import RunScreen


def run_help_text(screen: RunScreen) -> str:
    """The run screen's F1 text (its keys are listed by the help screen itself)."""
    if screen.compact:
        shows = ("**What this shows:** the step in focus (its why and commands), then one "
                 "node's output at a time — **v** shows the next node; the strip above it "
                 "lists every node (state, exit, time, last line; identical outputs share "
                 "a row). **i** swaps in the steps and findings, **m** the node × node "
                 "matrix.")
    else:
        shows = ("**What this shows:** the runbook's steps and the findings (left); the "
                 "step in focus with its why and commands; each node's live output"
                 + (" in a grid, with the strip listing every node" if len(screen.panes) > 2
                    else "") + "; below, the nodes compared, the network plots and the "
                 "activity log. **m** swaps the output for the node × node matrix (link "
                 "loss between nodes, which nodes printed the same).")
    shows += (" A pane cuts long lines at its width: **w** shows the selected node's output "
              "of the step with every line whole, wrapped (**v** picks the node).")
    parts = [shows]
    if screen.unreachable:
        from pverunbook.ui.app import unreachable_text

        parts.append("**Unreachable nodes.** " + unreachable_text(screen.unreachable))
    if screen.state.finished is not None:
        parts.append("**What to do now:** the run is over: **n** shows the summary, **b** "
                     "goes back to the runbook list (the cluster stays as it is now).")
    elif screen.decider.folded is not None:
        parts.append("**What to do now:** a question is folded away and the run waits "
                     "for your answer (nothing runs meanwhile): read the output, then "
                     "**n** (or Enter) brings the question back.")
    elif screen.state.command_running:
        parts.append("**What to do now:** a command is running: watch the output; **c** "
                     "cancels it on every node.")
    else:
        parts.append("**What to do now:** read the step and its output, then **n** "
                     "(or Enter) runs the next step (the status line names it); "
                     "**s** skips it with a reason; **j** continues from another step; "
                     "**$** opens a shell on a node (to fix by hand what a step found).")
    sid = screen.focus_step
    if sid is None:
        return "\n\n".join(parts)
    step = screen.runbook.step(sid)
    parts.append(f"**Current step:** {step.title}")  # a paragraph wraps, a heading is cut
    if step.hint:
        parts.append(f"**Hint:** {step.hint}")
    if step.explain:
        parts.append(f"**Why:** {step.explain.strip()}")
    if step.instructions:
        parts.append(f"**Instructions:** {step.instructions.strip()}")
    return "\n\n".join(parts)
