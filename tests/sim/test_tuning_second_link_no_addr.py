"""corosync-tuning with add_second_link on a cluster whose inventory gives no link-1 address
(every rehearsal cluster: it has no second network). A newcomer (trial 14) chose it, the run
stopped at step 11 on "no addr1 for this node or its peer in the cluster inventory", and the
summary said only that the diagnosis had no rule for it: no word on what to do. The stop now
says how to go on (give every node its addr1, or run again without the second link), and
nothing was changed."""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.run_diagnosis import failed_step_text
from tests.sim.rehearsal import rehearsal, run_on, status_of
from tests.sim.test_recovery_runbooks import rehearse


async def test_a_second_link_without_addresses_stops_with_the_way_on(tmp_path: Path) -> None:
    async with rehearsal(tmp_path, "three-node") as session:
        before = await run_on(session, "pve001", "cat /etc/pve/corosync.conf")
        status, events = await rehearse(session, tmp_path, "corosync-tuning",
                                        {"token": "5000", "add_second_link": "true"})
        steps = status_of(events)
        assert steps.get("check-link1-params") == "failed", steps
        assert not {"edit", "edit-with-link", "apply"} & {
            s for s, st in steps.items() if st not in ("skipped", "pending")}, steps
        said = failed_step_text(events)
        assert "give every node its `addr1` in the cluster file" in said, said
        assert "run it again with add_second_link = no" in said, said
        assert not any(isinstance(e, ev.CommandStarted) and e.step_id == "apply"
                       for e in events)
        assert await run_on(session, "pve001", "cat /etc/pve/corosync.conf") == before
