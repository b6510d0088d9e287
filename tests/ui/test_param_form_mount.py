"""A parameter form whose rows are not all mounted yet (each row mounts its field on its own
turn of the event loop; on a loaded machine the form's Mount came first) checks what is there
and starts the rest from their initial values, instead of failing with NoMatches."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from pverunbook.runbook.model import Param, ParamType
from pverunbook.ui.widgets.params import ParamForm

PARAMS = (Param(name="source", type=ParamType.STR, prompt="Source"),
          Param(name="token", type=ParamType.INT, prompt="Token (ms)", default=5000))


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield ParamForm(PARAMS, {"source": "processes"}, id="form")


async def test_a_row_not_mounted_yet_is_taken_at_its_initial_value() -> None:
    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.query_one(ParamForm)
        await pilot.pause()
        assert form.values() == {"source": "processes", "token": "5000"}
        await form.query_one("#row-token").remove()  # as if it had not mounted yet
        assert form.values() == {"source": "processes", "token": "5000"}
        assert form.check() is True  # no NoMatches, and nothing wrong with what is there
        form.query_one("#param-source", Input).value = ""
        assert form.check() is False and "source" in form.errors()
