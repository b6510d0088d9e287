"""Trial 14: check, network-triage (it proposed route-fix with route_node, destination and
via), route-fix aborted: "Run next" became the health check again, and route-fix picked from
the list opened an empty form ("✘ a value is required" three times), as the check's own
faults name network-triage, not route-fix. The form starts from what the last run proposed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import form_ready, until
from tests.ui.test_start_memory import CHECK, launch

FOUND = {"route_node": "ryanrishi", "destination": "192.168.4.201", "via": "192.168.4.1"}


async def test_route_fix_from_the_list_starts_from_triages_values_after_an_aborted_run(
        tmp_path: Path) -> None:
    app = launch(tmp_path / "rehearsal")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen) and app.screen.entries,
                    "the start screen", 3000)
        app.health = SimpleNamespace(faults=[], matrix=[])  # the check names no route-fix
        app.suggest_next("route-fix", FOUND, "network-triage found the route")  # triage
        app.suggest_next(CHECK, {}, "check the cluster again after Route fix")  # aborted
        start = app.screen
        assert isinstance(start, StartScreen)
        entry = next(e for e in start.entries
                     if e.runbook is not None and e.runbook.id == "route-fix")
        start.open_entry(entry)
        await until(pilot, lambda: form_ready(app), "the form")
        form = app.screen
        assert isinstance(form, ParamsScreen)
        assert {k: form.given.get(k) for k in FOUND} == FOUND
