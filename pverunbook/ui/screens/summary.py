"""The end of a run: the diagnosis first (what is wrong, what to run next), then what was done,
failed, skipped; backups; risky actions; time spent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Static

from pverunbook.pve.diagnosis import Diagnosis, Fault
from pverunbook.pve.diagnosis.model import numbered
from pverunbook.ui import model
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.widgets.banner import AppHeader
from pverunbook.ui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from pverunbook.pve.diagnosis.next_step import NextStep

STATUS_WORDS = {
    "ok": ("✔ Finished: every step succeeded", "bold green"),
    "planned": ("○ Dry-run finished: nothing was executed", "bold blue"),
    "completed_with_failures": ("⚠ Finished with failures", "bold yellow"),
    "failed": ("✘ Stopped: a step failed", "bold red"),
    "aborted": ("■ Stopped by the operator", "bold yellow"),
    "interrupted": ("■ Interrupted", "bold red"),
}


#: Words for a run that stopped early, by who stopped it (``RunState.stopped_by``).
STOPPED_WORDS = {
    "operator": ("■ Stopped by the operator", "bold yellow"),
    "guard": ("■ Stopped by a guard: a safety check refused the step", "bold red"),
    "checkpoint": ("■ Stopped: the backup (checkpoint) before a destructive step failed",
                   "bold red"),
    "failure": ("✘ Stopped: a step failed", "bold red"),
}


SEVERITY_STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "cyan"}


def render_overview(d: Diagnosis) -> Text:
    """The health check's faults in one line each, in the order to fix them (phase first), so
    an 80×24 screen shows everything still wrong before the details. What is only noted (info:
    a link that went down earlier and is fine now) is listed after them under its own heading,
    never counted as work: a newcomer read "6 faults … 2. network history" as a sixth job.
    The numbers are the details' below."""
    from pverunbook.pve.diagnosis.check import phase_of

    shown = numbered(d.faults)
    todo = [(i, f) for i, f in shown if i is not None]
    noted = [f for i, f in shown if i is None]
    t = Text()
    if todo or not noted:
        t.append(f"{len(todo)} fault{'s' if len(todo) != 1 else ''}, in the order to fix "
                 "them:\n", style="bold")
    for i, f in todo:
        t.append(f"{i:>2}. ", style="bold")
        t.append(f"{phase_of(f.rule):<12} ", style="cyan")
        t.append(_headline(f.statement), style=SEVERITY_STYLE.get(f.severity, "bold"))
        if f.next_runbook is not None:
            t.append(f"  → {f.next_runbook.runbook}", style="green")
        t.append("\n")
    if noted:
        t.append("Noted, nothing to fix now:\n", style="bold")
    for f in noted:
        t.append(" · ", style="dim")
        t.append(f"{phase_of(f.rule):<12} ", style="dim cyan")
        t.append(_headline(f.statement) + "\n", style=SEVERITY_STYLE["info"])
    return t


#: Labels a statement may open with, which say what kind of finding it is, not what: the
#: headline goes on to the clause after them ("history: the knet link … went down 88 times").
_LABELS = {"history": "earlier, now fine"}


def _headline(statement: str) -> str:
    """The statement up to its first ``: `` or ``; `` outside parentheses (the what, not the
    why): ``4 VM(s) run without a config in /etc/pve (ryanrishi: 101, 108; …)``. A leading
    label (``history: …``) is kept as words, with the clause after it."""
    head = _clause(statement)
    if head in _LABELS and statement.startswith(head + ": "):
        return f"{_LABELS[head]}: {_clause(statement[len(head) + 2:])}"
    return head


def _clause(statement: str) -> str:
    depth = 0
    for i, ch in enumerate(statement):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and statement.startswith((": ", "; ", ", and "), i):
            return statement[:i]
    return statement


def render_fault(i: int | None, f: Fault) -> Text:
    """One fault: the statement, how sure, what to do, the exact fix, the evidence it rests on.
    ``i``: its number (:func:`numbered`), None for what is only noted."""
    t = Text()
    t.append(f"{i}. " if i is not None else "· ", style="bold")
    t.append(f.statement, style=SEVERITY_STYLE.get(f.severity, "bold"))
    t.append(f"  [{f.severity}, confidence {f.confidence}]\n", style="dim")
    t.append(f"   {f.action}\n")
    for m in f.manual:  # a look-up says so: "look on", a change "fix on"
        t.append(f"   {m.label} ", style="dim")
        t.append(m.node, style="bold")
        t.append(": ")
        # a here-document from its own first column: typed as shown, its EOF ends it
        t.append(("\n" if "\n" in m.command else "") + m.command + "\n", style="bold cyan")
    for e in f.evidence[:4]:
        where = " / ".join(x for x in (e.node or "", e.step_id) if x)
        t.append(f"   · {e.what}", style="dim")
        t.append(f"  ({where})" + (f": {e.line[:100]}" if e.line and e.line not in e.what
                                   else "") + "\n", style="dim")
    if len(f.evidence) > 4:
        t.append(f"   · … {len(f.evidence) - 4} more in the report\n", style="dim")
    return t


def render_matrix(d: Diagnosis) -> Text:
    t = Text()
    if not d.matrix:
        return t
    t.append("Links (row measures column; ↓N = times the knet link went down)\n",
             style="bold underline")
    widths = [max(len(r[i]) for r in d.matrix) for i in range(len(d.matrix[0]))]
    for k, row in enumerate(d.matrix):
        for c, w in zip(row, widths, strict=True):
            style = "bold" if k == 0 or c is row[0] else (
                "green" if c == "ok" else "dim" if c in ("·", "?") else "yellow")
            t.append(c.ljust(w) + "  ", style=style)
        t.append("\n")
    for h in d.healthy:
        t.append(f"  fine: {h}\n", style="green")
    return t


def render_summary(s: model.Summary, journal: Path | None,
                   worst: list[str] | None = None) -> Text:
    t = Text()
    word, style = STOPPED_WORDS.get(s.stopped_by) or STATUS_WORDS.get(s.status,
                                                                        (s.status, "bold"))
    if s.status == "ok" and not s.stopped_by and "critical" in (worst or []):
        # every step succeeded, but the checks found critical problems: never a plain ✔
        word, style = ("! Finished — findings: every step ran, the checks found critical "
                       "problems (see the diagnosis)", "bold yellow")
    if s.status == "ok" and not s.stopped_by and "critical" not in (worst or []) and any(
            why.startswith("not done by the operator") for _, why in s.skipped):
        # an advisory manual step answered Not done: the run went on; it is left to you
        word, style = ("✔ Finished: every check ran; a manual step is left to you (not done)",
                       "bold yellow")
    if s.status == "ok" and s.not_kept:
        # the change's checks passed, but COMMIT was not typed: the nodes put it back
        word, style = ("⚠ Finished, but a change was NOT kept", "bold red")
    elif s.status == "failed" and s.not_kept and not s.failed \
            and s.stopped_by in ("", "failure"):
        # the run stopped because COMMIT was refused or not typed, not on a failed step
        word, style = ("✘ Stopped: a change was NOT kept (no step failed)", "bold red")
    t.append(word + "\n", style=style)
    for line in s.not_kept:
        t.append(f"✘ {line}\n", style="bold red")
    if s.message:
        t.append(s.message + "\n")
    t.append(f"\nTime spent: {model.fmt_duration(s.duration)}\n", style="bold")
    declined = f" · {len(s.declined)} declined (not run)" if s.declined else ""
    t.append(f"Steps: {len(s.done)} done · {len(s.failed)} failed{declined} · "
             f"{len(s.skipped)} skipped · {len(s.not_reached)} not reached\n\n", style="bold")

    def section(title: str, items: list[str], style: str = "", empty: str = "none") -> None:
        t.append(title + "\n", style="bold underline")
        if not items:
            t.append(f"  {empty}\n", style="dim")
        for it in items:
            t.append(f"  • {it}\n", style=style)
        t.append("\n")

    section("Done", [_done_line(title, sev)
                     for title, sev in zip(s.done, worst or [""] * len(s.done), strict=False)],
            "green")
    section("Failed / stopped", s.failed, "red")
    if s.declined:
        section("Declined by the operator (did not run)", s.declined, "yellow")
    section("Skipped (with reason)", [f"{title} — {why}" for title, why in s.skipped], "yellow")
    section("Backups taken (checkpoint ids)",
            [f"{cid}  ({sid})" + (f"  {path}" if path else "") for sid, cid, path in
             s.checkpoints], "cyan", empty="none taken")
    section("Risky actions", s.risky, "bold red", empty="no destructive step ran")
    if s.not_reached:
        section("Not reached", s.not_reached, "dim")
    if journal is not None:
        t.append(f"Journal: {journal}\n", style="dim")
        t.append("Every event, confirmation and skip reason is in it (o shows it).\n", style="dim")
        t.append("Incident report: ctrl+p, Report of the last run (written next to the "
                 "journal), or `pverunbook report` with the journal above (its path works "
                 "wherever the runs are kept).\n", style="dim")
    return t


def _done_line(title: str, worst: str) -> str:
    """A done step, with the worst it found as the diagnosis judged it: a problem the
    cluster had earlier and no longer has reads as history, not as a finding now."""
    if worst == "history":
        return f"{title} — ok — earlier problems, now fine (info)"
    return f"{title} — ok — findings ({worst})" if worst else title


class SummaryScreen(Screen[None]):
    """The run's summary, opening with its diagnosis and a "Run next" button per fault."""

    class RunNext(Message):
        """The operator chose a fault's next runbook; ``params`` are the values to fill in.

        The app (or its session) may handle ``on_summary_screen_run_next`` to start it on the
        same cluster; without such a handler the screen opens that runbook's parameters itself.
        """

        def __init__(self, runbook: str, params: dict[str, Any]) -> None:
            super().__init__()
            self.runbook = runbook
            self.params = params

    CSS_PATH = "summary.tcss"
    BINDINGS = [
        Binding("b", "runbooks", "Runbooks", id="summary.runbooks",
                tooltip="Back to the runbook list; the cluster stays as this run left it"),
        Binding("escape", "back", "Back to run", id="summary.back",
                tooltip="Look at the steps and output again"),
        Binding("o", "journal", "Journal", id="summary.journal", tooltip="Show the journal"),
        Binding("dollar_sign", "shell", "Shell", id="summary.shell",
                tooltip="Open a shell on a node (the app suspends; the journal notes it)"),
        Binding("q", "app.request_quit", "Quit", id="summary.quit",
                tooltip="Leave pverunbook (asks first while a cluster is connected)"),
    ]

    def __init__(self, state: model.RunState, journal: Path | None,
                 diagnosis: Diagnosis | None = None) -> None:
        super().__init__(id="summary")
        self.state = state
        self.journal = journal
        self.diagnosis = diagnosis

    def _diagnose(self) -> Diagnosis | None:
        """The diagnosis of the run from its journal (every event, outputs included); None
        until the journal holds the run's end (the engine commits it in groups)."""
        if self.journal is None or not self.journal.is_file():
            return None
        from pverunbook.engine import events as ev
        from pverunbook.engine.journal import read_journal
        from pverunbook.run_diagnosis import cluster_addresses, diagnose_run

        events = read_journal(self.journal)
        if not any(isinstance(e, ev.RunFinished) for e in events):
            return None
        self._events = events
        session = getattr(self.app, "session", None)
        addrs = cluster_addresses(getattr(session, "cluster", None))
        _, diag = diagnose_run(events, self.state.runbook, addrs)
        return diag

    def compose(self) -> ComposeResult:
        app = self.app
        yield AppHeader(app.mode, app.session.cluster,  # type: ignore[attr-defined]
                        f"{self.state.runbook.title} · summary")
        with VerticalScroll(id="summary-scroll"):
            yield Static(self._summary_text(self.diagnosis), id="summary-text")
        yield KeyFooter()

    def _summary_text(self, judged: Diagnosis | None) -> Text:
        """The run's summary; once the diagnosis is known, each step's findings read as it
        judged them (history is not a finding now)."""
        from pverunbook.pve.diagnosis.check import CHECK_ID

        whole = self.state.runbook.id == CHECK_ID
        worst = [self.state.worst_finding(sv.id, judged, whole=whole) for sv in self.state.steps
                 if sv.state in ("ok", "planned")]
        return render_summary(self.state.summary(), self.journal, worst)

    def on_mount(self) -> None:
        if self.diagnosis is not None:
            self._show_diagnosis(self.diagnosis)
        else:
            self.run_worker(self._load_diagnosis(), group="diagnosis", exclusive=True)

    async def _load_diagnosis(self) -> None:
        import asyncio

        for _ in range(50):  # the journal's last group commit lands within moments
            try:
                # In a thread: after a flood the journal holds megabytes of output, and
                # reading it on the event loop froze the screen as it appeared.
                diag = await asyncio.to_thread(self._diagnose)
            except Exception:  # noqa: BLE001 - the summary stays usable without a diagnosis
                return
            if diag is not None:
                self.diagnosis = diag
                self._show_diagnosis(diag)
                return
            await asyncio.sleep(0.1)

    def _run_events(self) -> list[Any]:
        """The run's events from its journal; without one (a diagnosis handed in), what the
        screen's run state holds: each step's end and the run's."""
        events = getattr(self, "_events", None)
        if events:
            return list(events)
        from pverunbook.engine import events as ev

        out: list[Any] = [ev.StepFinished(step_id=sv.step.id, status=sv.state)
                          for sv in self.state.steps if sv.state not in ("pending", "running")]
        if self.state.finished is not None:
            out.append(self.state.finished)
        return out

    def _show_diagnosis(self, d: Diagnosis) -> None:
        """Mount the diagnosis above the summary text: faults, "Run next" buttons, the matrix.

        The runbook list's "Run next" follows the latest diagnosis: a run whose diagnosis
        names no next runbook withdraws the previous run's suggestion (it would point back at
        a fault that run just fixed).
        """
        from pverunbook.pve.diagnosis.check import CHECK_ID

        if not self.query("#summary-text"):  # the app is closing: the screen is gone
            return
        self.query_one("#summary-text", Static).update(self._summary_text(d))
        step = _next_step(d)
        first = step.fault
        suggest = getattr(self.app, "suggest_next", None)
        is_check = self.state.runbook.id == CHECK_ID
        recheck = not is_check and self._has_check()
        # a run that changed nothing (network-triage) proposes its own next runbook first:
        # after triage "Run next: cluster health check" led and the route-fix it had just
        # proposed was a screen lower; after a run that changed the cluster the check looks
        # again first (the guided outage)
        own_first = recheck and first is not None and first.next_runbook is not None \
            and not any(s.destructive for s in self.state.runbook.steps)
        if is_check and hasattr(self.app, "health"):
            from pverunbook.run_diagnosis import collected_all

            # a check stopped before its end looked at part of the cluster (or nothing): it
            # proves no health, and the last whole check still says what is wrong
            if collected_all(self._run_events()):
                self.app.health = d
        if suggest is not None:
            if recheck:
                # the guided outage: after every runbook the health check looks again (the
                # runbook list says so also after triage, as a relaunch reads it back from the
                # journals: last_check's "check again after")
                suggest(CHECK_ID, {}, f"check the cluster again after {self.state.runbook.title}")
            elif first is not None and first.next_runbook is not None:
                # The runbook list shows it first when the operator goes back (b).
                suggest(first.next_runbook.runbook, dict(first.next_runbook.params),
                        step.first_words() or first.statement)
            else:
                suggest(None)
        if not d.faults and not d.matrix and not is_check and not recheck:
            return
        widgets: list[Static | Button] = [
            Static(Text("Diagnosis", style="bold underline"), id="diagnosis-title")]
        if is_check and d.faults:
            widgets.append(Static(render_overview(d), id="check-overview"))
        if (is_check and d.faults) or own_first:
            if step.blocked:
                # the runbook would stop on a fault no runbook fixes: that one is by hand
                widgets.append(Static(Text(f"{step.first_words()} Press $ for a shell on a "
                                           "node.", style="bold"), id="by-hand-first",
                                      classes="fault critical"))
            if first is not None and first.next_runbook is not None:
                then = "Then run" if step.blocked else "Run next"
                widgets.append(Button(f"{then}: {first.next_runbook.label()}",
                                      id="run-next-top", classes="run-next"))
        if recheck:  # after the run's own proposal, if it has one first (own_first)
            widgets.append(Button("Run next: cluster health check (what is still wrong?)",
                                  id="run-next-check", classes="run-next"))
        if not d.faults:
            widgets.append(Static(no_fault_line(self._run_events(), self.state.runbook,
                                                is_check), classes="fault"))
        for n, f in numbered(d.faults):
            widgets.append(Static(render_fault(n, f), classes=f"fault {f.severity}"))
            if f.next_runbook is not None:
                i = d.faults.index(f) + 1  # the button names the fault by its place in d
                widgets.append(Button(f"Run next: {f.next_runbook.label()}",
                                      id=f"run-next-{i}", classes="run-next"))
        if d.matrix:
            widgets.append(Static(render_matrix(d), id="link-matrix"))
        scroll = self.query_one("#summary-scroll", VerticalScroll)
        scroll.mount_all(widgets, before=self.query_one("#summary-text"))
        scroll.scroll_home(animate=False)
        primary = next((w for w in widgets if isinstance(w, Button)), None)
        if primary is not None:
            # Enter presses the proposed next step: the guided outage is Enter after Enter
            self.call_after_refresh(primary.focus)

    def _has_check(self) -> bool:
        from pverunbook.pve.diagnosis.check import CHECK_ID

        find = getattr(self.app, "find_runbook", None)
        return find is not None and find(CHECK_ID) is not None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "run-next-check":
            from pverunbook.pve.diagnosis.check import CHECK_ID

            event.stop()
            self.run_next(CHECK_ID, {})
            return
        if not bid.startswith("run-next-") or self.diagnosis is None:
            return
        event.stop()
        if bid == "run-next-top":
            top = _next_step(self.diagnosis).fault
            if top is not None and top.next_runbook is not None:
                self.run_next(top.next_runbook.runbook, dict(top.next_runbook.params))
            return
        fault = self.diagnosis.faults[int(bid.removeprefix("run-next-")) - 1]
        if fault.next_runbook is not None:
            self.run_next(fault.next_runbook.runbook, dict(fault.next_runbook.params))

    def run_next(self, runbook_id: str, params: dict[str, Any]) -> None:
        """Start ``runbook_id`` with ``params`` filled in, on the same cluster/rehearsal."""
        if hasattr(self.app, "on_summary_screen_run_next"):
            self.post_message(self.RunNext(runbook_id, params))
            return
        from pverunbook.runbook.catalog import find
        from pverunbook.runbook.loader import load_file

        try:
            rb = load_file(find(runbook_id, getattr(self.app, "runbook_dirs", None) or None))
        except Exception as exc:  # noqa: BLE001 - shown to the operator, not raised
            self.notify(f"Cannot open runbook {runbook_id}: {exc}", severity="error")
            return
        # on the app's loop, not in this screen's handler: the screen itself closes
        self.app.call_later(_open_params, self.app, rb, params)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_runbooks(self) -> None:
        self.app.back_to_runbooks()  # type: ignore[attr-defined]

    def action_shell(self) -> None:
        self.app.open_shell()  # type: ignore[attr-defined]

    def help_text(self) -> str:
        return ("**What this shows:** the end of the run — the diagnosis first (what is "
                "wrong, the evidence, a Run next button per fault), then what was done, "
                "failed or skipped (with the reason), the backups taken and the risky "
                "actions.\n\n"
                "**What to do now:** press a fault's **Run next** (Tab to it, Enter) or **b** "
                "to go back to the runbook list and run the "
                "next one (the cluster stays as this run left it), **Esc** to look at the "
                "steps and output again, **o** for the journal.")

    def action_journal(self) -> None:
        from pverunbook.ui.screens.journal import JournalScreen

        self.app.push_screen(JournalScreen(self.journal))

    def palette_commands(self) -> list[PaletteCommand]:
        return [("Back to runbooks", "The runbook list; the cluster state carries over (b)",
                 self.action_runbooks),
                ("Back to run", "Steps and output", self.action_back),
                ("Open journal", "Show the journal (o)", self.action_journal)]


async def _open_params(app: Any, runbook: Any, params: dict[str, Any]) -> None:
    """Close the finished run's screens, then open ``runbook``'s parameters with ``params``."""
    from pverunbook.ui.screens.params import ParamsScreen
    from pverunbook.ui.screens.run import RunScreen

    while len(app.screen_stack) > 1 and isinstance(
            app.screen, SummaryScreen | RunScreen | ParamsScreen):
        await app.pop_screen()
    if not runbook.params and hasattr(app, "start_run"):
        app.start_run(runbook, {})  # nothing to fill in (the health check): run it at once
        return
    await app.push_screen(ParamsScreen(runbook, params))


def no_fault_line(events: list[Any], runbook: Any, is_check: bool) -> Text:
    """What an empty diagnosis says (run_diagnosis.no_fault_text): healthy only for a health
    check that collected everything, and never a clean bill for a run stopped part-way."""
    from pverunbook.run_diagnosis import collected_all, no_fault_text

    text = no_fault_text(events, runbook, check=is_check)
    if is_check and collected_all(events):
        return Text(f"✔ {text}", style="bold green")
    return Text(text)


def _next_step(d: Diagnosis) -> NextStep:
    """The diagnosis's next runbook and what comes by hand before it (the shipped runbooks'
    stops, ``run_diagnosis.runbook_stops``)."""
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.run_diagnosis import runbook_stops

    return next_step(d.faults, runbook_stops())
