"""The guided outage in the app: from the story's broken cluster, pressing only the proposed
next action (Enter on the focused "Run next", and typing the confirmations) runs the health
check, network-triage, the route fix, network-triage again (its figures from before the fix
describe the routed path), vm-config-recovery, certificate-regeneration and corosync-tuning
(a precaution, after the critical faults) — the check again after each runbook that changed
the cluster (after network-triage, which changes nothing, the runbook it proposes) — and ends
with the check saying the cluster is healthy.
Rehearsal cluster over real SSH, shipped runbooks."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button

from pverunbook.session import Mode, SessionConfig
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.autopilot import drive_run
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.screens.summary import SummaryScreen
from tests.ui.conftest import until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
CHECK = "cluster-health-check"


def launch(state: Path) -> RunbookApp:
    # the real clock: route-fix's rollback timer (120 s) must not fire while it verifies
    config = SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=state)
    app = make_app(config, runbook_dirs=[SHIPPED])
    app.animation_level = "none"
    return app


async def test_pressing_only_run_next_goes_from_the_outage_to_healthy(tmp_path: Path) -> None:
    app = launch(tmp_path / "rehearsal")
    ran: list[tuple[str, dict[str, object]]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen), "the rehearsal cluster", 3000)
        start = app.screen
        assert isinstance(start, StartScreen)
        assert start.shown[0].runbook is not None and start.shown[0].runbook.id == CHECK
        assert "Where to begin" in str(start.query_one("#start-guide").render())
        await pilot.press("enter")  # the proposed first step: the health check
        for _ in range(16):
            run = await drive_run(pilot, app)
            ran.append((run.runbook.id, dict(run.params)))
            summary = app.screen
            assert isinstance(summary, SummaryScreen)
            await until(pilot, lambda s=summary: s.diagnosis is not None, "the diagnosis")
            assert summary.diagnosis is not None
            await pilot.pause()
            text = str(summary.query_one("#summary-text").render())
            steps = len(run.runbook.steps)
            if run.runbook.id == "route-fix":  # its COMMIT step counts once, as done
                assert f"Steps: {steps} done · 0 failed" in text, text
                assert "— running" not in text, text
            buttons = [b for b in summary.query(Button) if (b.id or "").startswith("run-next")]
            if not buttons:
                break
            await until(pilot, lambda b=buttons[0]: app.focused is b, "Run next focused")
            await pilot.press("enter")
        healthy = app.screen
        assert isinstance(healthy, SummaryScreen) and healthy.diagnosis is not None, ran
        assert healthy.diagnosis.faults == ()
        assert "The cluster is healthy" in "".join(
            str(w.render()) for w in healthy.query(".fault"))
        # the outage's token losses still in the journal read as history, not as critical
        final = str(healthy.query_one("#summary-text").render())
        assert "critical" not in final and "Finished — findings" not in final, final
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "the runbook list")
        guide = str(app.screen.query_one("#start-guide").render())
        assert "The cluster is healthy" in guide

    fixes = [rb for rb, _ in ran if rb != CHECK]
    # corosync-tuning, a precaution once the link is fixed and measured, comes after the
    # critical faults of the configs and certificates (which leave the measurement standing)
    assert fixes == ["network-triage", "route-fix", "network-triage", "vm-config-recovery",
                     "certificate-regeneration", "corosync-tuning"]
    # the check ran first, after every runbook that changed the cluster, and last;
    # network-triage changes nothing: the runbook it proposes comes straight after it
    ids = [rb for rb, _ in ran]
    assert ids[0] == ids[-1] == CHECK, ids
    for before, after in zip(ids, ids[1:], strict=False):
        if before not in (CHECK, "network-triage"):
            assert after == CHECK, ids
    assert ids[1:3] == ["network-triage", "route-fix"], ids
    params = dict(ran)
    # the parameters the check proposed were carried into the form and used
    assert params["route-fix"] == {"route_node": "ryanrishi", "destination": "192.168.4.201",
                                   "via": "192.168.4.1"}
    assert params["corosync-tuning"]["token"] == 5000
    assert params["vm-config-recovery"]["source"] == "processes"
