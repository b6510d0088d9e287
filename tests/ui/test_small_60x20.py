"""At 60×20 the header still names the cluster, and a parameter form opens at its top.

The header's banner dropped the cluster's name first (" REHEARSAL │ safe to practise"), so
no screen said which cluster it acts on; the form opened scrolled to its first field, the
field's label and the start of its help above the box."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pverunbook.runbook.loader import load_file
from pverunbook.session import Mode
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.widgets.params import ParamForm
from tests.ui.conftest import CLUSTER, form_ready, to_run_screen, until
from tests.ui.screen_text import screen_lines

Build = Callable[..., RunbookApp]
SIZE = (60, 20)
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.mark.parametrize("mode", [Mode.REHEARSAL, Mode.LIVE])
async def test_the_header_names_the_cluster_at_60x20(build_app: Build, runbook_dir: Path,
                                                     mode: Mode) -> None:
    app = build_app(mode=mode, runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        top = screen_lines(app)[0]
        assert f"│ {CLUSTER.name} │" in top, top
        assert ("safe to practise" if mode is Mode.REHEARSAL else "changes REAL nodes") in top
        await to_run_screen(pilot, app)
        await pilot.pause()
        top = screen_lines(app)[0]
        assert f"│ {CLUSTER.name} │" in top, top


@pytest.mark.parametrize("runbook", ["network-triage", "corosync-tuning", "cluster-db-reset"])
async def test_a_parameter_form_opens_at_its_top_at_60x20(build_app: Build,
                                                          runbook: str) -> None:
    params = {p.name: p for p in load_file(SHIPPED / f"{runbook}.toml").params}
    app = build_app(runbook=SHIPPED / f"{runbook}.toml")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        form = app.screen.query_one(ParamForm)
        field = form.query("Input, Select, Switch").first()
        first = params[str(field.id).removeprefix("param-")]
        await until(pilot, lambda: app.focused is field, "the first field focused")
        await pilot.pause()
        await pilot.pause()
        assert form.scroll_y == 0
        text = "\n".join(screen_lines(app))
        assert f"({first.name}:" in text and first.help.split()[0] in text, text
