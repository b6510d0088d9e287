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
from tests.ui.conftest import start_ready, until
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
        # drawn, not only asked for: two pauses were not always enough on a loaded machine
        # (the guide still had its two rows from before the suggestion)
        await until(pilot, lambda: "▶ Run next: UI test" in "\n".join(screen_lines(app))
                    and app.screen.query_one("#start-guide-box").region.height >= 3,
                    "the suggestion drawn in its box")
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


SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"


async def test_several_runbooks_show_at_60x20(build_app: Build, runbook_dir: Path) -> None:
    """The shipped runbooks at 60×20: each entry wrapped over four or five rows (title, id,
    tags) with a rule between, and the list showed one runbook and a half. Each is two rows
    there now, cut with "…", and whether it changes nodes comes before the tags."""
    for path in SHIPPED.glob("*.toml"):
        (runbook_dir / path.name).write_text(path.read_text(encoding="utf-8"),
                                             encoding="utf-8")
    (runbook_dir / "broken.toml").unlink()
    app = build_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.pause()
        await pilot.pause()
        start = app.screen
        assert isinstance(start, StartScreen)
        listed = start.query_one("#runbook-list", OptionList)
        inside = listed.scrollable_content_region
        # screen_lines' first line is the screenshot's window title: row y is line y + 1
        rows = screen_lines(app)[inside.y + 1:inside.bottom + 1]
        ids = [e.runbook.id for e in start.shown if e.runbook is not None]
        seen = [i for i in ids if any(f"  {i}  " in r or r.rstrip().endswith(f"  {i}")
                                      for r in rows)]
        assert len(seen) >= 3, rows
        db = [r for r in rows if "  cluster-db-reset  " in r]
        assert db and "⚠ changes nodes" in db[0], rows
        # wider again: the rules between entries come back, the highlight stays
        await pilot.press("down")
        highlighted = listed.highlighted_option
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        assert listed.highlighted_option is not None and highlighted is not None
        assert listed.highlighted_option.id == highlighted.id
