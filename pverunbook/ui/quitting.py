"""The question before leaving the app: what stops (the simulated cluster, the SSH
connections) and what is left behind (a run not finished is left interrupted: where, and how
to resume it). Leaving with nothing to lose (dry-run or local, no run going) asks nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pverunbook.session import Mode
from pverunbook.ui.screens.modals import Choice, ChoiceModal

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp


def quit_question(app: RunbookApp) -> ChoiceModal | None:
    """The "Quit pverunbook?" question, or None when there is nothing to ask."""
    from pverunbook.ui.screens.run import RunScreen

    session = app.session
    runs = [s for s in app.screen_stack if isinstance(s, RunScreen)]
    left = runs[-1].left_interrupted() if runs else ""
    if not session.keeps_cluster and not left:
        return None
    body = ""
    if session.keeps_cluster and app.mode is Mode.REHEARSAL:
        where = session.sim.state_dir if session.sim is not None else None
        body = ("The simulated cluster stops. "
                + (f"Its state stays in `{where}`: the next launch finds it as you leave "
                   "it (reset it from the palette: *Reset rehearsal cluster*)."
                   if where is not None and session.config.sim_state_dir is not None
                   else "It was not kept (no state directory): the next launch starts "
                        "broken again."))
    elif session.keeps_cluster:
        name = session.cluster.name if session.cluster else "the cluster"
        body = (f"The SSH connections to **{name}** close. Nothing runs on the nodes "
                "any more; the journals stay.")
    return ChoiceModal("Quit pverunbook?", "\n\n".join(x for x in (left, body) if x),
                       [Choice("quit", "Quit", "y", "error"),
                        Choice("stay", "Stay", "n", "primary")], cancel="stay")
