"""A new launch remembers what the last one said was still wrong.

The start screen shows the last health check's faults and "Run next" (runbooks/README.md:
"the start screen says what is still wrong"); they lived in the app only, so a restart on the
same state directory forgot them and went back to "Where to begin". Here the app reads them
back from the journals once the cluster is known (:func:`pverunbook.check_history.last_check`)
and suggests what the summary would have: the check again when a runbook ran after it, else
the check's first fault's runbook.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.check_history import LastCheck, last_check
from pverunbook.pve.diagnosis.check import CHECK_ID
from pverunbook.run_diagnosis import cluster_addresses
from pverunbook.session import Mode

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp


async def restore_last_check(app: RunbookApp) -> None:
    """Set ``app.health`` and ``app.suggestion`` from the last check on this cluster, unless
    this launch already has its own (a run finished meanwhile)."""
    cluster = app.session.cluster
    if cluster is None or app.health is not None or app.suggestion is not None:
        return
    sim = getattr(app.session, "sim", None)
    sim_dir = Path(sim.state_dir) if app.mode is Mode.REHEARSAL and sim is not None else None
    if app.mode is Mode.REHEARSAL and sim_dir is None:
        return  # a fresh simulated cluster shares no history
    try:
        found = await asyncio.to_thread(last_check, cluster.name, app.mode.value,
                                        sim_state_dir=sim_dir,
                                        names_by_addr=cluster_addresses(cluster))
    except Exception:  # noqa: BLE001 - an unreadable journal must not keep the app from working
        return
    if found is None or app.health is not None or app.suggestion is not None:
        return
    apply_last_check(app, found)


def apply_last_check(app: RunbookApp, found: LastCheck) -> None:
    """What the run summaries would have left behind: the check's diagnosis as the cluster's
    health, and the next step of the guided outage as the suggestion."""
    app.health = found.diagnosis
    if found.after is not None and found.after_unfinished:
        # "check again after Network triage" read as if it had run: it never finished
        app.suggest_next(CHECK_ID, {}, f"{found.after[1]} {found.after_unfinished}: resume "
                         "it first (r on its row below), or check the cluster again")
        return
    if found.after is not None:
        app.suggest_next(CHECK_ID, {}, f"check the cluster again after {found.after[1]}")
        return
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.run_diagnosis import runbook_stops

    step = next_step(found.diagnosis.faults, runbook_stops())
    first = step.fault
    if first is not None and first.next_runbook is not None:
        # a fault it stops on that no runbook fixes: the guide says to fix that first
        app.suggest_next(first.next_runbook.runbook, dict(first.next_runbook.params),
                         step.first_words() or first.statement)
    else:
        app.suggest_next(None)
