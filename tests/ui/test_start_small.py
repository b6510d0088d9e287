"""The start screen on a small console keeps the runbook list on screen.

At 60×20 with an interrupted run and a long "Run next" line (the last check's faults after
it), the mode text, the guide and the interrupted runs' box took every row: the filter and the
runbook list were not drawn at all, yet Tab still moved the focus into the invisible list,
where Enter starts a runbook the operator cannot see. At 80×24 one runbook of eight showed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import until
from tests.ui.screen_text import screen_lines
from tests.ui.test_narrow import flat
from tests.ui.test_resume import _interrupted_journal

Build = Callable[..., RunbookApp]
WHY = ("Route fix: delete the host route that sends corosync through the gateway did not "
       "finish (pverunbook stopped during it): resume it first (r on its row below), or "
       "check the cluster again. Still wrong (8 faults, last check): network: "
       "route-via-gateway, lossy-link, partition, pmxcfs-read-only, ping-mtr-disagree; "
       "configs: vm-without-config; certificates: cert-missing")


@pytest.mark.parametrize("size", [(60, 20), (80, 24)], ids=["60x20", "80x24"])
async def test_the_runbook_list_stays_on_screen(build_app: Build, runbook_dir: Path,
                                                size: tuple[int, int]) -> None:
    await _interrupted_journal(runbook_dir)
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen)
                    and not app.screen.finding and bool(app.screen.runs), "start + its runs")
        app.suggest_next("ui-test", {}, WHY)
        await pilot.pause()
        await pilot.pause()
        start = app.screen
        assert start.query_one("#resume-box").display
        footer_top = size[1] - 1
        listed = start.query_one("#runbook-list", OptionList)
        flt = start.query_one("#filter", Input)
        # the filter's row and at least two runbook rows are drawn above the footer
        assert flt.region.height >= 1 and flt.region.bottom <= footer_top, flt.region
        assert listed.scrollable_content_region.height >= 2, listed.scrollable_content_region
        assert listed.region.bottom <= footer_top, listed.region
        # the guide is not lost either: its first lines show, the rest scrolls in its box
        box = start.query_one("#start-guide-box")
        assert box.region.height >= 3, box.region
        assert "▶ Run next: UI test" in "\n".join(screen_lines(app)), screen_lines(app)
        if size == (60, 20):
            assert box.max_scroll_y > 0, (box.virtual_size, box.region)
            # the keyboard reaches it: Tab stops on the box, and the arrows scroll it
            for _ in range(6):
                if app.focused is box:
                    break
                await pilot.press("tab")
            assert app.focused is box, app.focused
            for _ in range(box.max_scroll_y):
                await pilot.press("down")
            await pilot.pause()
            assert "cert-missing" in flat("\n".join(screen_lines(app)))
        else:
            assert box not in start.focus_chain or box.max_scroll_y > 0
