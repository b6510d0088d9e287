"""Parameters before a run (a screen) and during one (input steps: a modal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Label, Static

from pverunbook.runbook.model import Param, Runbook
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.params import ParamForm

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.runs import ResumePlan


#: The first field of a form has the focus, so typing goes straight into it.
FIRST_FIELD = "ParamForm Input, ParamForm Select, ParamForm Switch"


class ParamsScreen(Screen[None]):
    CSS_PATH = "params.tcss"
    AUTO_FOCUS = FIRST_FIELD
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run", id="params.start",
                tooltip="Check the values and start the run"),
        Binding("escape", "back", "Back", id="params.back", tooltip="Back to the runbook list"),
    ]

    def __init__(self, runbook: Runbook, given: Mapping[str, Any] | None = None, *,
                 resume: ResumePlan | None = None) -> None:
        super().__init__(id="params")
        self.runbook = runbook
        self.given = dict(given or {})
        #: Resuming a run: only its secrets are asked (the journal has the other values).
        self.resume = resume

    @property
    def rb_app(self) -> RunbookApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.rb_app
        yield AppHeader(app.mode, app.session.cluster, f"{self.runbook.title} · parameters")
        plan = self.resume
        with Vertical(id="params-main"):
            yield Label(self.runbook.title, id="params-title")
            if plan is None:
                yield Static("Check the values below; problems show under each field. Secret "
                             "values are masked here and never written to the journal.",
                             id="params-intro")
                yield ParamForm(self.runbook.params, self.given, id="param-form")
            else:
                yield Static(f"Resuming run {plan.run_id}. The journal keeps every value "
                             "except secrets: enter these again (masked, never journaled). "
                             "The other values are the ones the run started with.",
                             id="params-intro")
                secrets = [p for p in self.runbook.params if p.name in plan.secrets]
                yield ParamForm(secrets, {n: "" for n in plan.secrets},
                                required=plan.secrets, id="param-form")
            with Horizontal(id="params-buttons"):
                yield Button("Resume run  (ctrl+s)" if plan else "Start run  (ctrl+s)",
                             variant="success", id="params-start")
                yield Button("Back  (esc)", id="params-back")
        yield Footer()

    def on_param_form_validity(self, message: ParamForm.Validity) -> None:
        self.query_one("#params-start", Button).disabled = not message.ok

    @on(Button.Pressed, "#params-start")
    def action_start(self) -> None:
        form = self.query_one(ParamForm)
        if not form.check():
            self.notify("Some values are not valid yet; see the messages in red.",
                        severity="error", title="Parameters")
            return
        if self.resume is not None:
            self.rb_app.start_run(self.runbook, {**self.resume.given, **form.values()},
                                  resume=self.resume)
            return
        self.rb_app.start_run(self.runbook, form.values())

    @on(Button.Pressed, "#params-back")
    def action_back(self) -> None:
        self.dismiss(None)

    def help_text(self) -> str:
        return ("**What this shows:** the parameters of "
                f"**{self.runbook.title}**, with their defaults and what each one does.\n\n"
                "**What to do now:** check each value (problems show in red under the field), "
                "then **ctrl+s** starts the run; **Esc** goes back to the list. Secret values "
                "are masked and never written to the journal.")

    def palette_commands(self) -> list[PaletteCommand]:
        return [("Start run", "Check the values and start", self.action_start),
                ("Back", "Back to the runbook list", self.action_back)]


class ParamsModal(ModalScreen[dict[str, Any] | None]):
    """An ``input`` step asks for values mid-run; Escape aborts the step."""

    BINDINGS = [
        Binding("ctrl+s", "ok", "Use values", id="params.ok", tooltip="Continue with these"),
        Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Abort this step"),
    ]

    AUTO_FOCUS = FIRST_FIELD

    def __init__(self, title: str, params: list[Param], current: Mapping[str, Any]) -> None:
        super().__init__(classes="modal params-modal")
        self.title_text = title
        self.params = params
        self.current = dict(current)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="params-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield ParamForm(self.params, self.current, id="param-form")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue (ctrl+s)", variant="success", id="pm-ok")
                yield Button("Cancel (esc)", id="pm-cancel")

    def on_param_form_validity(self, message: ParamForm.Validity) -> None:
        self.query_one("#pm-ok", Button).disabled = not message.ok

    @on(Button.Pressed, "#pm-ok")
    def action_ok(self) -> None:
        form = self.query_one(ParamForm)
        if form.check():
            self.dismiss(dict(form.values()))

    @on(Button.Pressed, "#pm-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
