"""network-triage with few probes on the story's outage, rehearsed over SSH.

A trial ran ``pverunbook rehearse network-triage --set ping_count=10 --set mtr_cycles=10 --set
sample_s=5`` on nyc-outage. ping lost 1 of 10 each way, mtr 0 and 2 of 10: no measurement lost
the 3 probes that make a link lossy, so the diagnosis's first fault was "corosync's UDP … is lost
while ICMP gets through (ping 10% …)", next corosync-tuning, and the host route that sends
corosync through the lossy gateway came fourth, as a warning. The route is the first fault
whatever the probe counts, and nothing proposes tuning corosync around it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.run_diagnosis import diagnose_run
from tests.sim.rehearsal import start_session, status_of
from tests.sim.test_recovery_runbooks import rehearse

pytest.importorskip("asyncssh")


#: (ping_count, mtr_cycles): the trial's, and smaller ones. A single run ranks the route first
#: even without the fix when some measurement happened to lose 3 probes or the link went down
#: between the two samples of knet's counters; four runs in a row all did so rarely.
COUNTS = ((10, 10), (5, 3), (3, 5), (2, 2))


async def test_few_probes_rank_the_route_first_and_propose_no_tuning(tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-outage")
    runs = []
    try:
        for pings, cycles in COUNTS:
            runs.append(await rehearse(session, tmp_path, "network-triage",
                                       {"ping_count": str(pings), "mtr_cycles": str(cycles),
                                        "sample_s": "5"}))
    finally:
        await session.close()
    for (pings, _), (_, events) in zip(COUNTS, runs, strict=True):
        assert status_of(events).get("mtr") == "ok", status_of(events)
        store, diag = diagnose_run(events)
        assert store.value("ping.sent", "ryanrishi", "pve001") == pings
        first = diag.faults[0]
        assert (first.rule, first.severity) == ("route-via-gateway", "critical"), \
            [(f.rule, f.severity, f.statement) for f in diag.faults]
        assert first.next_runbook is not None and first.next_runbook.runbook == "route-fix"
        assert not [f.statement for f in diag.faults if f.next_runbook is not None
                    and f.next_runbook.runbook == "corosync-tuning"]
        lost = any((store.value(f"{tool}.loss_pct", a, b) or 0) > 0
                   for tool in ("ping", "mtr")
                   for a, b in (("ryanrishi", "pve001"), ("pve001", "ryanrishi")))
        if lost:  # ICMP lost packets itself: not "UDP lost while ICMP gets through"
            assert "udp-lost-icmp-ok" not in [f.rule for f in diag.faults]
