"""A form for runbook parameters: defaults filled in, inline validation, secrets masked."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from pverunbook.runbook.model import Param, ParamType
from pverunbook.runbook.params import ParamValueError, parse_value


def _initial(param: Param, given: Mapping[str, Any]) -> str:
    if param.name in given and given[param.name] is not None:
        v = given[param.name]
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    if param.default is None:
        return ""
    if isinstance(param.default, bool):
        return "true" if param.default else "false"
    return str(param.default)


def _switch_word(on: bool) -> str:
    return "[b green]✔ yes[/] (space toggles)" if on else "[b]○ no[/] (space toggles)"


class ParamForm(VerticalScroll):
    """One row per parameter. ``values()`` gives text for ``parse_value``; ``errors()`` checks."""

    class Validity(Message):
        def __init__(self, form: ParamForm, ok: bool) -> None:
            super().__init__()
            self.form = form
            self.ok = ok

    def __init__(self, params: list[Param] | tuple[Param, ...],
                 given: Mapping[str, Any] | None = None, *,
                 required: Collection[str] = (), proposals: Mapping[str, str] | None = None,
                 hints: Mapping[str, str] | None = None, keep_typed: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The values are what the operator typed before the question was folded away: a
        #: field takes the focus with the cursor after its text, not with the text selected
        #: (the first key press replaced "pve0" with "0" instead of making it "pve00").
        self.keep_typed = keep_typed
        self.params = list(params)
        self.given = dict(given or {})
        #: Names that need a typed value even though they have a default (resumed secrets).
        self.required = set(required)
        #: Why a value was proposed from the run's facts, by parameter name ("pve001:
        #: db.integrity[pve001] = damaged: … — suggested"); shown under the field's label.
        self.proposals = dict(proposals or {})
        #: What the app itself knows about a value (a rehearsal's QNetd host), by parameter
        #: name; shown as it is under the field's label.
        self.hints = dict(hints or {})
        #: The field ``focus_first`` focuses as the form opens (its focus does not scroll).
        self._opening: Widget | None = None

    def compose(self) -> ComposeResult:
        for p in self.params:
            with Vertical(classes="param-row", id=f"row-{p.name}"):
                kind = p.type.value
                if p.type is ParamType.INT and (p.min is not None or p.max is not None):
                    kind += f" {p.min if p.min is not None else ''}…" \
                            f"{p.max if p.max is not None else ''}"
                secret = " · secret (masked, never journaled)" if p.secret else ""
                yield Label(f"{p.prompt}  [dim]({p.name}: {kind}{secret})[/dim]",
                            classes="param-label")
                if p.name in self.proposals:
                    yield Static(f"▶ proposed from the facts: {self.proposals[p.name]}",
                                 classes="proposal", id=f"proposal-{p.name}", markup=False)
                elif p.name in self.hints:
                    yield Static(f"▶ {self.hints[p.name]}", classes="proposal",
                                 id=f"hint-{p.name}", markup=False)
                if p.help:
                    yield Static(p.help, classes="param-help")
                value = _initial(p, self.given)
                if p.type is ParamType.CHOICE:
                    yield Select([(c, c) for c in p.choices], value=value or Select.NULL,
                                 id=f"param-{p.name}", allow_blank=not value)
                elif p.type is ParamType.BOOL:
                    # A bare Switch reads as an empty box on many terminals: say the value.
                    with Horizontal(classes="param-switch"):
                        yield Switch(value=value == "true", id=f"param-{p.name}")
                        yield Static(_switch_word(value == "true"), classes="switch-word",
                                     id=f"word-{p.name}")
                else:
                    yield Input(value=value, password=p.secret, id=f"param-{p.name}",
                                placeholder="required" if p.default is None
                                or p.name in self.required else "",
                                select_on_focus=not self.keep_typed)
                yield Static("", classes="param-error", id=f"err-{p.name}")

    def on_mount(self) -> None:
        self.check()
        # Each row mounts its field on its own turn of the event loop: on a loaded machine a
        # row may not be there yet when the form's Mount runs. After the next refresh every
        # field is, and the check shows each row's error.
        self.call_after_refresh(self.check)
        self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        """Focus the first field without scrolling: its label and help stay in view (a
        focus while the form is still being laid out would scroll the box to the centre)."""
        first = next(iter(self.query("Input, Select, Switch")), None)
        if first is not None:
            self._opening = first
            first.focus(scroll_visible=False)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Tab into a field below the fold: its row (label, help, field) is scrolled into
        view. Textual's own scroll on focus (``Screen.set_focus``) skips a field it counts as
        in view (``can_view_entire``), which a dialog's docked button bar covers."""
        field = event.widget
        if not isinstance(field, Input | Select | Switch) or not field.id \
                or not field.id.startswith("param-"):
            return
        row = self.query_one(f"#row-{field.id.removeprefix('param-')}")

        opening = field is self._opening
        self._opening = None

        def show() -> None:
            if opening:
                # The form opens at its top: the first field's label and help, then the field.
                # Scrolled to the field, a small console (60x20) showed the end of its help and
                # the field, its label and the help's start above the box.
                self.scroll_home(animate=False, immediate=True)
                return
            if self.screen.focused is field:
                row.scroll_visible(animate=False, immediate=True)
                field.scroll_visible(animate=False, immediate=True)

        self.call_after_refresh(show)

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.params:
            try:
                w = self.query_one(f"#param-{p.name}")
            except NoMatches:  # its row is not mounted yet: the field will start from this
                out[p.name] = _initial(p, self.given)
                continue
            if isinstance(w, Switch):
                out[p.name] = "true" if w.value else "false"
            elif isinstance(w, Select):
                out[p.name] = "" if w.value is Select.NULL else str(w.value)
            elif isinstance(w, Input):
                out[p.name] = w.value
        return out

    def errors(self) -> dict[str, str]:
        errs: dict[str, str] = {}
        values = self.values()
        for p in self.params:
            text = values[p.name]
            if text == "" and p.type is not ParamType.STR:
                errs[p.name] = "a value is required"
                continue
            if text == "" and (p.default is None or p.name in self.required):
                errs[p.name] = "a value is required"
                continue
            try:
                parse_value(p, text, self._node_names())
            except ParamValueError as exc:
                errs[p.name] = str(exc)
        return errs

    def _node_names(self) -> list[str] | None:
        """The connected cluster's node names: a node-choosing parameter must name one."""
        try:
            cluster = getattr(getattr(self.app, "session", None), "cluster", None)
        except Exception:  # not mounted in an app (tests of the bare widget)
            return None
        return list(cluster.names) if cluster is not None else None

    def check(self) -> bool:
        errs = self.errors()
        for p in self.params:
            msg = errs.get(p.name, "")
            try:
                err = self.query_one(f"#err-{p.name}", Static)
                row = self.query_one(f"#row-{p.name}")
            except NoMatches:  # not mounted yet: on_mount checks again after the refresh
                continue
            err.update(f"✘ {msg}" if msg else "")
            err.display = bool(msg)
            row.set_class(bool(msg), "-invalid")
        self.post_message(self.Validity(self, not errs))
        return not errs

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _changed(self, event: Input.Changed | Select.Changed | Switch.Changed) -> None:
        if isinstance(event, Switch.Changed) and event.switch.id:
            name = event.switch.id.removeprefix("param-")
            self.query_one(f"#word-{name}", Static).update(_switch_word(event.value))
        self.check()
