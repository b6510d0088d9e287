"""qdevice-setup's form in a rehearsal says the rehearsal has a QNetd host and fills its address
in: a newcomer had no way to know one exists (the field was empty, "required"). In live mode the
form says nothing of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from pverunbook.session import Mode, SessionConfig
from pverunbook.sim.scenarios import QNETD
from pverunbook.ui.app import RunbookApp, make_app
from tests.ui.conftest import form_ready, until
from tests.ui.screen_text import screen_lines

QDEVICE = Path(__file__).resolve().parents[2] / "runbooks" / "qdevice-setup.toml"


async def test_the_rehearsal_fills_in_its_qnetd_host(tmp_path: Path) -> None:
    app = make_app(SessionConfig(mode=Mode.REHEARSAL, scenario="four-node",
                                 sim_state_dir=tmp_path / "rehearsal"), runbook=QDEVICE)
    app.animation_level = "none"
    name, addr = QNETD
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        assert app.screen.query_one("#param-qnetd_host", Input).value == addr
        text = "\n".join(screen_lines(app))
        assert f"this rehearsal's QNetd host, {name} at {addr}" in text, text


async def test_live_mode_says_nothing_of_it(build_app: Callable[..., RunbookApp]) -> None:
    app = build_app(mode=Mode.LIVE, runbook=QDEVICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: form_ready(app), "the parameters")
        await pilot.pause()
        assert app.screen.query_one("#param-qnetd_host", Input).value == ""
        assert not app.screen.query("#hint-qnetd_host")
        assert QNETD[1] not in "\n".join(screen_lines(app))
