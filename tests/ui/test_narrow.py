"""At 80×24 (a crash cart, an IPMI console) no text is cut: what does not fit on one line
wraps, or says the same in fewer words with the whole text a key or a tooltip away.

Each test reads the rendered screen (:mod:`tests.ui.screen_text`), not the widget's text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pverunbook.session import Mode
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.start import StartScreen
from pverunbook.ui.widgets.banner import ModeBanner, banner_variants
from tests.ui.conftest import CLUSTER, CLUSTER5, to_run_screen, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
SIZE = (80, 24)
#: The shipped runbooks (the fixtures point the catalog at an empty directory).
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"


async def test_the_header_says_the_mode_what_it_means_and_the_cluster_at_80(
        build_app: Build, runbook_dir: Path) -> None:
    """It read "REHEARSAL │ cluster nyc: ryanrishi, pve001 │ simulated cluster; safe to
    practi" on every screen, the screen's title pushed out."""
    for mode, cluster, says in (
            (Mode.REHEARSAL, CLUSTER, " REHEARSAL │ nyc: ryanrishi, pve001 │ safe to practise "),
            (Mode.LIVE, CLUSTER, " ● LIVE │ nyc: ryanrishi, pve001 │ changes REAL nodes "),
            (Mode.REHEARSAL, CLUSTER5, " REHEARSAL │ lab (5 nodes) │ safe to practise ")):
        app = build_app(mode=mode, cluster=cluster, runbook=runbook_dir / "ui-test.toml")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda app=app: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.pause()
            top = screen_lines(app)[0]
            assert top.startswith(says.rstrip()), top
            # the screen's title keeps its place, cut with an ellipsis at most
            assert "UI test" in top, top
            banner = app.screen.query_one(ModeBanner)
            assert banner.tooltip == banner_variants(mode, cluster)[0].strip()
        # wide: the whole text
        app = build_app(mode=mode, cluster=cluster)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda app=app: isinstance(app.screen, StartScreen), "start")
            await pilot.pause()
            assert screen_lines(app)[0].startswith(banner_variants(mode, cluster)[0].rstrip())


def flat(text: str) -> str:
    """Screen text as one line: box borders and scroll bars out, runs of spaces as one."""
    return " ".join(re.sub(r"[│▊▌▐▏▕▎▍▋▉█▁▂▃▄▅▆▇▔╭╮╰╯─]", " ", text).split())


async def test_every_form_label_is_whole_at_80(build_app: Build) -> None:
    """Form labels were cut at the form's edge: "(sample_s: int 5…6", "(destination:",
    "Recover from a database copy / extracted backup configs, or rebuild fr", "(dump_",
    "(storag". Each wraps, whole, for every parameter of the shipped runbooks that have them."""
    from pverunbook.ui.widgets.params import ParamForm

    for name in ("network-triage", "route-fix", "vm-config-recovery", "corosync-tuning"):
        app = build_app(runbook=SHIPPED / f"{name}.toml")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda app=app: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.pause()
            form = app.screen.query_one(ParamForm)
            for p in form.params:
                row = form.query_one(f"#row-{p.name}")
                row.scroll_visible(animate=False, top=True)
                await pilot.pause()
                label = str(row.query_one(".param-label").content)
                want = flat(re.sub(r"\[/?dim\]", "", label))
                assert want in flat("\n".join(screen_lines(app))), (name, want)


NARROW = """
id = "narrow"
title = "Narrow console"

[[params]]
name = "count"
type = "int"
default = 20

[[steps]]
id = "ping"
title = "Quorum and membership (corosync-quorumtool, not pvecm: that reads /etc/pve)"
kind = "check"
commands = ["ping -c 20 -i 0.2 {{peer_addr}}"]
explain = "Loss on the ring address is what makes corosync lose its token."

[[steps.expect]]
absent = 'packet loss'
severity = "critical"
message = "%s"

[[steps]]
id = "config"
title = "%s"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version"]
"""
NEXT = ("Route to every peer's ring address and the route table, compared on every node of "
        "the cluster, in both directions")
LONG = ("Cluster traffic to a peer goes through a gateway, not one L2 segment: see the route "
        "table (a host route?) and the netmasks with `ip -br addr` on every node.")


async def test_the_run_screen_says_it_all_at_80(build_app: Build, runbook_dir: Path) -> None:
    """Cut at 80 columns: the status line lost its keys ("Press n (or Enter) to run it · s
    skip · j"), a node's outcome its reason ("✘ exit 0, check failed: Cluster traffic to a
    peer goes through a gateway, not"), F1 the current step ("Current step: Quorum and
    membership (corosync-quorumtool, not pvecm: th") and the journal (o) its records."""
    from pverunbook.ui.screens.journal import JournalScreen, journal_lines
    from pverunbook.ui.screens.run import RunScreen

    (runbook_dir / "narrow.toml").write_text(NARROW % (LONG, NEXT), encoding="utf-8")
    app = build_app(runbook=runbook_dir / "narrow.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: run.state.step("ping").state == "ok"
                    and run.decider.is_waiting, "step 1 done, step 2 next")
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause()
        text = flat("\n".join(screen_lines(app)))
        # the node's outcome wraps, whole
        assert f"! finding: {LONG}" in text, text
        # the status line keeps every key; the step title gives way (whole in its tooltip)
        status = run.query_one("#run-status")
        assert "Next: step 2 “Route to every peer" in text, text
        keys = " · ".join(f"{k} {v}" for k, v in run.status_keys())
        assert "(or Enter) runs it" in keys and "skip" in keys and "jump" in keys, keys
        assert keys in text, text
        assert "compared on every node" in str(status.tooltip)

        await pilot.press("f1")
        await pilot.pause(0.3)
        shown = flat("\n".join(screen_lines(app)))
        assert any(f"Current step: {s.step.title}" in shown for s in run.state.steps), shown
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, JournalScreen), "the journal")
        await pilot.pause(0.3)
        journal = app.screen
        assert isinstance(journal, JournalScreen) and journal.path is not None
        rows = [str(x) for x in journal.query_one("#journal-log").lines]
        assert rows and max(len(r) for r in rows) <= SIZE[0] - 2
        # folded, not cut: every record is there whole (a word longer than a row is split)
        assert "".join("".join(rows).split()) == \
            "".join("".join(journal_lines(journal.path)).split())
        assert rows[-1].strip() in "\n".join(screen_lines(app))
