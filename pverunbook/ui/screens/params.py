"""Parameters before a run (a screen) and during one (input steps: a modal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from pverunbook.runbook.model import Param, Runbook, StepKind
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.screens.modals import Dialog
from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.footer import KeyFooter
from pverunbook.ui.widgets.params import ParamForm

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.runs import ResumePlan


def asked_later(runbook: Runbook) -> dict[str, str]:
    """Parameters an ``input`` step asks for when it runs (name → the step's title): they may
    be left empty before the run, as with the headless CLI."""
    return {n: s.title for s in runbook.steps if s.kind is StepKind.INPUT for n in s.params}


def later_text(runbook: Runbook, given: Mapping[str, Any]) -> str:
    """The parameters an ``input`` step asks for, said once on the form instead of asked
    twice (vm-config-recovery asked its source here, then again once the evidence was read):
    which step asks, and the value its question will start from (given — a "Run next"
    proposal, ``--set`` — or the default)."""
    from pverunbook.pve.paramtext import value_text

    by_step: dict[str, list[str]] = {}
    for s in runbook.steps:
        if s.kind is not StepKind.INPUT:
            continue
        for n in s.params:
            p = runbook.param(n)
            value = given.get(n, p.default)
            shown = "(none yet)" if value in (None, "") else \
                "***" if p.secret else value_text(value)
            by_step.setdefault(f"step {runbook.index(s.id) + 1} “{s.title}”", []).append(
                f"{n} = {shown}")
    return "\n".join(f"Asked during the run, once earlier steps have read the evidence — "
                     f"{where}: {', '.join(items)}." for where, items in by_step.items())


def rehearsal_hints(app: RunbookApp, runbook: Runbook,
                    given: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Values only a rehearsal knows, filled in with a line saying so: the rehearsal's QNetd
    host for qdevice-setup's ``qnetd_host`` (a newcomer had no way to know one exists). A
    value already given is kept. Outside a rehearsal: nothing, and nothing said."""
    sim = getattr(app.session, "sim", None)
    scenario = getattr(sim, "scenario", None)
    from pverunbook.session import Mode

    if app.mode is not Mode.REHEARSAL or scenario is None or \
            not any(p.name == "qnetd_host" for p in runbook.params):
        return {}, {}
    qnetd = getattr(scenario, "qnetd", None)
    if not qnetd:
        return {}, {"qnetd_host": f"this rehearsal (scenario {scenario.name}) has no QNetd "
                                  "host: the setup cannot finish here"}
    name, addr = qnetd
    if given.get("qnetd_host") not in (None, ""):
        return {}, {"qnetd_host": f"this rehearsal's QNetd host is {name} at {addr}"}
    return {"qnetd_host": addr}, {
        "qnetd_host": f"filled in: this rehearsal's QNetd host, {name} at {addr}"}


class ParamsScreen(Screen[None]):
    CSS_PATH = "params.tcss"
    #: The form focuses its first field itself (``ParamForm.focus_first``): the screen's
    #: auto-focus would scroll that field to the centre and its label out of view.
    AUTO_FOCUS = None
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
                later = asked_later(self.runbook)
                asked_now = [p for p in self.runbook.params if p.name not in later]
                # about secrets only where the form has one
                secret = (" Secret values are masked here and never written to the journal."
                          if any(p.secret for p in asked_now) else "")
                yield Static("Check the values below; problems show under each field."
                             + secret, id="params-intro")
                filled, hints = rehearsal_hints(app, self.runbook, self.given)
                form = ParamForm(asked_now, {**filled, **self.given}, hints=hints,
                                 id="param-form")
                form.display = bool(asked_now)
                yield form
                if later:
                    yield Static(later_text(self.runbook, self.given), id="params-later",
                                 markup=False)
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
        yield KeyFooter()

    def on_param_form_validity(self, message: ParamForm.Validity) -> None:
        self.query_one("#params-start", Button).disabled = not message.ok

    @on(Button.Pressed, "#params-start")
    def action_start(self) -> None:
        form = self.query_one(ParamForm)
        if not form.check():
            self.notify("Some values are not valid yet; see the messages in red.",
                        severity="error", title="Parameters")
            return
        values = form.values()
        if self.resume is None:  # asked by their input step, which starts from these
            later = asked_later(self.runbook)
            values.update({k: v for k, v in self.given.items() if k in later})
        if self.resume is not None:
            self.rb_app.start_run(self.runbook, {**self.resume.given, **values},
                                  resume=self.resume)
            return
        self.rb_app.start_run(self.runbook, values)

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


class ParamsModal(Dialog[dict[str, Any] | str | None]):
    """An ``input`` step asks for values mid-run. A value the step proposes from the run's
    facts is filled in, with why (``proposals``: name → reason); ``notes`` are what the engine
    said about this step before asking (no value proposed, a refused answer).

    Escape folds the question away (answers :data:`~pverunbook.ui.screens.modals.FOLD`) so
    the operator can read the evidence the values depend on, and **n** brings it back, as at
    a typed confirmation; "Stop the run" (None) is the explicit way out."""

    BINDINGS = [
        Binding("ctrl+s", "ok", "Continue", id="params.ok",
                tooltip="Continue the run with these values"),
        Binding("escape", "look", "Look first", id="modal.cancel",
                tooltip="Fold this question away to read the output; n brings it back"),
    ]

    #: The form focuses its first field itself (``ParamForm.focus_first``): the screen's
    #: auto-focus would scroll that field to the centre and its label out of view.
    AUTO_FOCUS = None

    def __init__(self, title: str, params: list[Param], current: Mapping[str, Any], *,
                 proposals: Mapping[str, str] | None = None,
                 notes: list[str] | None = None, recalled: bool = False) -> None:
        super().__init__(classes="modal params-modal")
        #: Back after a fold (n): ``current`` holds what was typed, the cursor goes after it.
        self.recalled = recalled
        self.title_text = title
        self.params = params
        self.current = dict(current)
        self.proposals = dict(proposals or {})
        self.notes = list(notes or [])
        #: The form's text when it was folded away (Look first): the question comes back
        #: with it (``UIDecider.ask_params``).
        self.typed: dict[str, str] = {}

    def help_text(self) -> str:
        proposed = (" A value marked ▶ was proposed from what earlier steps found; the line "
                    "says which fact, on which node. Accept it or change it: the journal "
                    "keeps both." if self.proposals else "")
        return (f"**What this asks:** the step “{self.title_text}” needs "
                f"{', '.join(p.name for p in self.params)} before the run goes on.{proposed}"
                "\n\n**What to do now:** check each value (problems show in red), then "
                "**ctrl+s** continues. **Escape** (Look first) folds this question away to "
                "read the output, and **n** brings it back; **Stop the run** ends the run "
                "here.")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="params-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue (ctrl+s)", variant="success", id="pm-ok")
                yield Button("Look first (esc)", id="pm-look")
                yield Button("Stop the run", id="pm-cancel")
            for note in self.notes:
                yield Static(note, classes="dialog-text -warn", markup=False)
            yield ParamForm(self.params, self.current, proposals=self.proposals,
                            keep_typed=self.recalled, id="param-form")
        yield KeyFooter()

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

    @on(Button.Pressed, "#pm-look")
    def action_look(self) -> None:
        from pverunbook.ui.screens.modals import FOLD

        self.typed = self.query_one(ParamForm).values()
        self.dismiss(FOLD)
