"""A health check stopped before its end proves no health: back on the runbook list after a
check aborted at its first step (b on the run screen), the start screen said "✔ The cluster
is healthy: the last health check found no fault on any node" while the last whole check had
found four faults. The aborted check's empty diagnosis replaced the whole one's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pverunbook.pve.diagnosis.check import CHECK_ID
from pverunbook.pve.diagnosis.model import Diagnosis, Fault, NextRunbook
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import summary_ready, until

Build = Callable[..., RunbookApp]
SIZE = (80, 24)

CHECK = f"""
id = "{CHECK_ID}"
title = "Cluster health check"

[[steps]]
id = "quorum"
title = "Quorum"
kind = "check"
commands = ["corosync-quorumtool -s"]

[[steps]]
id = "links"
title = "Links"
kind = "check"
commands = ["corosync-cfgtool -s"]
"""


async def test_an_aborted_check_does_not_say_the_cluster_is_healthy(
        build_app: Build, runbook_dir: Path) -> None:
    (runbook_dir / "check.toml").write_text(CHECK, encoding="utf-8")
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding, "start screen with its runbooks")
        start = app.screen
        assert isinstance(start, StartScreen)
        whole = Diagnosis(faults=(Fault(
            "cert-missing", "pve001 has no node certificate (pve-ssl.pem)", "critical",
            "high", "regenerate it", next_runbook=NextRunbook("ui-test", {})),))
        app.health = whole  # the last whole check's faults
        start.refresh_suggestion()
        await pilot.press("slash", *"health", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "the check waits before step 1")
        await pilot.press("b")  # back to the list: the run stops before any step ran
        await until(pilot, lambda: summary_ready(app)
                    and app.screen.diagnosis is not None, "the aborted check's summary")
        assert app.health is whole
        await pilot.press("b")
        await until(pilot, lambda: app.screen is start, "back on the list")
        await pilot.pause()
        said = str(start.query_one("#start-guide").render())
        assert "healthy" not in said, said
