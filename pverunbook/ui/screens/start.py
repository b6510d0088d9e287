"""The start screen: pick a runbook (built-in and --runbooks DIR), see the mode and targets."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from pverunbook.pve.paramtext import params_text
from pverunbook.runbook.catalog import Entry
from pverunbook.session import Mode
from pverunbook.ui.commands import PaletteCommand
from pverunbook.ui.still_wrong import health_lines
from pverunbook.ui.widgets.banner import AppHeader, describe_targets
from pverunbook.ui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from textual.timer import Timer

    from pverunbook.stopped_runs import InterruptedRun
    from pverunbook.ui.app import RunbookApp

MODE_EXPLAIN: dict[Mode, str] = {
    Mode.LIVE: "[b red]LIVE[/]: commands run on the REAL nodes of {targets}. Destructive steps "
               "ask you to type the cluster name first.",
    Mode.DRY_RUN: "[b]DRY-RUN[/]: nothing is executed; every step shows what would run on "
                  "{targets}.",
    Mode.REHEARSAL: "[b]REHEARSAL[/]: commands run against a simulated cluster ({targets}). "
                    "Safe to practise; hints and explanations are shown.",
    Mode.LOCAL: "[b]LOCAL[/]: commands run on this machine ({targets}).",
}


#: Where a newcomer begins during an outage, and why (shown above the list, listed first).
START_HERE = "cluster-health-check"
START_HERE_WHY = ("it only reads (corosync, quorum, /etc/pve, the database, VMs against their "
                  "configs, certificates) on every node, and names each fault with the runbook "
                  "that fixes it, in the order to fix them")

#: How to start pverunbook in each mode (for runs that can only be resumed in their mode).
MODE_FLAGS: dict[str, str] = {
    Mode.LIVE.value: "pverunbook tui --cluster FILE",
    Mode.DRY_RUN.value: "pverunbook tui --dry-run",
    Mode.REHEARSAL.value: "pverunbook (rehearsal is the default)",
    Mode.LOCAL.value: "pverunbook tui --local",
}


def ordered(entries: list[Entry], first: str | None) -> list[Entry]:
    """``first`` (the suggestion), then the health check, then the rest as discovered."""
    # each name once: with the check both suggested and where to begin, a second rank for
    # it put it level with every other runbook (after a declined run the list kept the old
    # suggestion first and the "run next" check second)
    rank = {name: i for i, name in enumerate(dict.fromkeys(n for n in (first, START_HERE) if n))}

    def key(e: Entry) -> int:
        rid = e.runbook.id if e.runbook is not None else ""
        return rank.get(rid, len(rank))

    return sorted(entries, key=key)


def entry_matches(entry: Entry, query: str) -> bool:
    q = query.strip().lower()
    if not q:
        return True
    rb = entry.runbook
    hay = [entry.path.name]
    if rb is not None:
        hay += [rb.id, rb.title, rb.summary, *rb.tags]
    elif entry.error is not None:
        hay.append(str(entry.error))
    text = " ".join(hay).lower()
    return all(word in text for word in q.split())


def named_by(entry: Entry, query: str) -> bool:
    """True when every word of ``query`` is in the runbook's id or title."""
    rb = entry.runbook
    text = f"{rb.id} {rb.title}".lower() if rb is not None else entry.path.name.lower()
    return all(word in text for word in query.strip().lower().split())


class ResumeBox(Vertical):
    """The interrupted runs, above the filter: mounted by the start screen when there are any,
    and filled (``show_runs``) once its list is there."""

    def __init__(self) -> None:
        super().__init__(id="resume-box")

    def compose(self) -> ComposeResult:
        yield Label("Interrupted runs", classes="section-title")
        yield Static("", id="resume-note")
        yield OptionList(id="resume-list")

    def on_mount(self) -> None:
        screen = self.screen
        if isinstance(screen, StartScreen):
            screen.show_runs()


class GuideBox(VerticalScroll):
    """The guide's box: a Tab stop only while its text overflows (a small console, many
    faults), so the keyboard can scroll to what the last check still found wrong; otherwise
    Tab goes from the filter to the list as before. Textual's ``allow_focus`` hook."""

    def allow_focus(self) -> bool:
        return self.max_scroll_y > 0


class StartScreen(Screen[None]):
    # Its styles (start.tcss) are loaded with the app's (RunbookApp.CSS_PATH): before the
    # first frame, not as a second parse of every style sheet when this screen is pushed.
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="start.filter",
                tooltip="Type to filter runbooks by title, id, tag or summary"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="start.clear"),
        Binding("r", "resume", "Resume", id="start.resume",
                tooltip="Continue the highlighted interrupted run where it stopped"),
        Binding("o", "toggle_older", "Older runs", id="start.older",
                tooltip="Show or hide the stopped runs a later health check found the "
                        "cluster healthy after"),
        Binding("dollar_sign", "shell", "Shell", id="start.shell",
                tooltip="Open a shell on a node (the app suspends; the journal notes it)"),
        Binding("q", "app.request_quit", "Quit", id="start.quit",
                tooltip="Leave pverunbook (asks first while a cluster is connected)"),
    ]

    def __init__(self, entries: list[Entry], *, finding: bool = False) -> None:
        super().__init__(id="start")
        self.entries = entries
        #: True until the app found the runbooks (right after the first frame): the list says so.
        self.finding = finding
        self.shown: list[Entry] = []
        #: The runs listed: unfinished runs in the state directory, newest first (and the
        #: older ones after them while ``show_older``).
        self.runs: list[InterruptedRun] = []
        #: Stopped runs a later health check found the cluster healthy after
        #: (``InterruptedRun.settled``): listed only on request (o), never deleted.
        self.older: list[InterruptedRun] = []
        self.show_older = False
        self._ticker: Timer | None = None

    @property
    def rb_app(self) -> RunbookApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.rb_app
        yield AppHeader(app.mode, app.session.cluster, "pverunbook · choose a runbook")
        with Vertical(id="start-main"):
            # Their text from the start, not from on_mount: the first frame is painted before
            # the handlers' updates, and it must already say the mode and what is on its way.
            yield Static(self._mode_text(), id="start-mode",
                         classes="-live" if app.mode is Mode.LIVE else "")
            # The guide grows with the last check's faults; capped (start.tcss), it scrolls in
            # its own box so the runbook list keeps its rows on a small console.
            with GuideBox(id="start-guide-box"):
                yield Static(self._guide_text(), id="start-guide")
            # The interrupted runs' box is mounted when there are any (``refresh_runs``):
            # hidden widgets cost the first frame as much as shown ones.
            yield Input(placeholder="Filter runbooks (title, id, tag)…  / to focus",
                        id="filter")
            with Horizontal(id="start-body"):
                yield OptionList(id="runbook-list")
                with VerticalScroll(id="runbook-detail"):
                    yield Static("" if self.entries else self._empty_text(), id="runbook-info")
        yield KeyFooter()

    def on_mount(self) -> None:
        # The words are composed (the first frame has them); the list is filled here only when
        # the runbooks were given, else when they are found, after the first frame.
        if self.entries:
            self.refresh_suggestion()
        self.query_one("#runbook-list", OptionList).focus()

    def set_entries(self, entries: list[Entry]) -> None:
        """The runbooks, once the app found them (after the first frame); the interrupted
        runs with them (reading the journals imports the engine: after the first frame too)."""
        self.entries = entries
        self.finding = False
        self.refresh_suggestion()
        self.refresh_runs()

    def on_screen_resume(self) -> None:
        # A run may have finished (or stopped again) since: list what is left. Not while the
        # app is still finding the runbooks at start-up (the screen is as composed, and this
        # screen's own "after refresh" came before the frame that has its text): the journals
        # are read and the list filled with the runbooks instead (``set_entries``).
        if self.finding:
            return
        self.call_after_refresh(self.refresh_runs)
        self.refresh_suggestion()

    def refresh_suggestion(self) -> None:
        """The guide line and the list's order: the diagnosis's "run next" first, else
        the health check (where to begin during an outage). Under it, what the last health
        check still found wrong, or that the cluster is healthy."""
        sug = self.rb_app.suggestion
        first = sug.runbook_id if sug is not None else None
        self.entries = ordered(self.entries, first)
        self.query_one("#start-guide", Static).update(self._guide_text())
        self._fill(self.query_one("#filter", Input).value)

    def _guide_text(self) -> str:
        """The line above the list: the cluster is healthy, what to run next, where to
        begin, or that the runbooks are still being found."""
        commit = self._commit_text()
        if commit:
            return commit
        sug = self.rb_app.suggestion
        top = self.entries[0].runbook if self.entries else None
        health = getattr(self.rb_app, "health", None)
        still = health_lines(health) if health is not None else ""
        if health is not None and not health.faults and sug is None:
            return ("[b green]✔ The cluster is healthy:[/] the last health check found no "
                    "fault on any node.")
        if sug is not None and top is not None and top.id == sug.runbook_id:
            params = params_text(sug.params)
            return (f"[b]▶ Run next: {escape(top.title)}[/]"
                    + (f" [b]({escape(params)})[/]" if params else "")
                    + (f" — {escape(sug.why)}" if sug.why else "") + " (Enter)" + still)
        if top is not None and top.id == START_HERE:
            return (f"[b]▶ Where to begin:[/] during an outage start with [b]{top.title}"
                    f"[/] — {START_HERE_WHY}.")
        if self.finding:
            return "Finding the runbooks… (the cluster connects meanwhile)"
        return "Pick a runbook; Enter shows its parameters, then its steps."

    def _commit_text(self) -> str:
        """A run stopped at its COMMIT question: the one thing on this screen that cannot
        wait (the nodes put the change back at the deadline), so it replaces "Run next"."""
        run = self.runs[0] if self.runs and self.runs[0].commit_step else None
        if run is None:
            return ""
        how = ("r resumes it" if run.mode == self.rb_app.mode.value else
               f"resume it in {run.mode} mode: {MODE_FLAGS.get(run.mode, run.mode)}")
        if run.commit_overdue():
            return f"[b yellow]{escape(run.commit_banner())}[/] ({how})"
        return f"[b red]{escape(run.commit_banner())} — {how}[/]"

    def _commit_tick(self) -> None:
        """The time left in the banner, each second while a COMMIT is pending; once its
        deadline passed, the banner says the outcome is unknown and the ticking stops (the
        journal cannot say more, and nothing here asks the nodes)."""
        if not (self.runs and self.runs[0].commit_step):
            return
        if self.runs[0].commit_overdue():
            if self._ticker is not None:
                self._ticker.stop()
                self._ticker = None
            self.show_runs()  # the list's line says so too (it said "in N s")
            return
        self.query_one("#start-guide", Static).update(self._guide_text())

    # -- interrupted runs ----------------------------------------------------------------------
    def refresh_runs(self) -> None:
        # reads journals: after the first frame
        from pverunbook.stopped_runs import interrupted_runs

        try:
            found = interrupted_runs()
        except OSError:  # an unreadable state directory must not keep the app from starting
            found = []
        self.older = [r for r in found if r.settled]
        self.runs = [r for r in found if not r.settled] + (self.older if self.show_older else [])
        boxes = self.query(ResumeBox)
        if not boxes:
            if self.runs:  # it lists them when mounted
                self.query_one("#start-main").mount(ResumeBox(), before="#filter")
            self.refresh_bindings()
            return
        boxes.first().display = bool(self.runs)
        self.show_runs()

    def show_runs(self) -> None:
        """List ``runs`` in the box, with what resuming them means in this mode."""
        ol = self.query_one("#resume-list", OptionList)
        ol.clear_options()
        mode = self.rb_app.mode.value
        for i, r in enumerate(self.runs):
            ol.add_option(Option(self._run_label(r, mode), id=str(i)))
        if self.runs:
            ol.highlighted = 0
        ok = [r for r in self.runs if r.mode == mode]
        note = ("r resumes the highlighted run (Tab here to pick another): done steps stay "
                "done, and you decide about a step that was running when it stopped.")
        if len(ok) < len(self.runs):
            note += (f" Runs started in another mode than {mode} are shown dimmed; start "
                     "pverunbook in their mode to resume them.")
        if self.older:
            n = len(self.older)
            runs = "run" if n == 1 else "runs"
            note += (f" {n} stopped {runs} a later health check found the cluster healthy after "
                     f"{'are listed last, dimmed' if self.show_older else 'are hidden'} "
                     f"(o {'hides' if self.show_older else 'shows'} them).")
        if mode == Mode.REHEARSAL.value and ok \
                and self.rb_app.session.config.sim_state_dir is None:
            note += (" [yellow]Rehearsal: the simulated cluster starts afresh, so resuming only "
                     "practises the resume.[/]")
        self.query_one("#resume-note", Static).update(note)
        self.refresh_bindings()
        self.query_one("#start-guide", Static).update(self._guide_text())
        if self.runs and self.runs[0].commit_step and not self.runs[0].commit_overdue():
            # Enter resumes it (the list's first run), as r does; the banner counts down
            ol.focus()
            if self._ticker is None:
                self._ticker = self.set_interval(1.0, self._commit_tick)

    @staticmethod
    def _run_label(r: InterruptedRun, mode: str) -> Text:
        usable = r.mode == mode
        bright = usable and not r.settled  # a settled run is listed dimmed, after the others
        text = Text(style="" if bright else "dim")
        commit = r.commit_line()
        if commit:  # the sentence is under it, and in the banner above (a compact list is cut)
            text.append("⚠ ", style="bold red" if usable else "red")
        text.append(r.title, style="bold" if bright else "")
        text.append(f"  {r.run_id}", style="cyan" if bright else "")
        if r.cluster:
            text.append(f"  on {r.where}")
        text.append(f"  {r.when}")
        last = f"{r.last_step} ({r.last_state})" if r.last_step else "no step run yet"
        text.append(f"  last: {last}")
        if r.status not in ("unfinished", "interrupted"):
            # why it is listed although it ended: the run's own word for it (a declined
            # confirmation, a change not kept) — resume goes on from there
            why = f" — {r.reason}" if r.reason else ""
            text.append(f"  stopped: {r.status}{why}", style="yellow" if bright else "")
        if r.settled:
            text.append(f"  ({r.settled_line()})", style="green")
        text.append(f"  [{r.mode}]", style="magenta" if bright else "")
        if not usable:
            text.append(f"  resume with: {MODE_FLAGS.get(r.mode, r.mode)}", style="italic")
        if commit:
            text.append(f"\n  ⚠ {commit}", style="bold red" if usable else "red")
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":
            return bool(self.runs)  # no key in the footer when there is nothing to resume
        if action == "toggle_older":
            return bool(self.older)
        return True

    def action_toggle_older(self) -> None:
        """List the settled runs after the others, or hide them again (their journals stay:
        ``pverunbook journal list`` shows every run)."""
        self.show_older = not self.show_older
        self.refresh_runs()

    def _highlighted_run(self) -> InterruptedRun | None:
        if not self.runs:
            return None
        lists = self.query("#resume-list").results(OptionList)
        ol = next(lists, None)  # None for the moment the box takes to mount
        i = ol.highlighted if ol is not None and ol.highlighted is not None else 0
        return self.runs[i] if 0 <= i < len(self.runs) else None

    def resume(self, run: InterruptedRun) -> None:
        # Mode mismatches (and everything else) are explained by the app's resume_run.
        self.rb_app.resume_run(run.path)

    def action_resume(self) -> None:
        run = self._highlighted_run()
        if run is None:
            self.notify("No interrupted runs in the state directory.", title="Resume")
            return
        self.resume(run)

    @on(OptionList.OptionSelected, "#resume-list")
    def _run_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.resume(self.runs[int(event.option.id)])

    def refresh_targets(self) -> None:
        app = self.rb_app
        self.query_one("#start-mode", Static).update(self._mode_text())
        self.query_one("#start-mode").set_class(app.mode is Mode.LIVE, "-live")
        self.query(AppHeader).first().set_cluster(app.session.cluster)

    def _mode_text(self) -> str:
        """The mode, what it means, the targets, and what went wrong connecting to them."""
        app = self.rb_app
        targets = describe_targets(app.mode, app.session.cluster)
        text = MODE_EXPLAIN[app.mode].format(targets=targets)
        if app.session_error:
            text += f"\n[b red]Not connected:[/] {escape(app.session_error)}"
        down = self._unreachable_text()
        if down:
            text += f"\n[b red]{escape(down)}[/]"
        return text

    def _unreachable_text(self, markdown: bool = False) -> str:
        """Nodes that did not answer when the session connected, and what that means."""
        from pverunbook.ui.app import unreachable_text

        down = self.rb_app.session.unreachable
        if not down:
            return ""
        return ("**Unreachable nodes.** " if markdown else "") + unreachable_text(down)

    def _fill(self, query: str) -> None:
        ol = self.query_one("#runbook-list", OptionList)
        ol.clear_options()
        # Matches in the id or title first: "corosync" opens Corosync tuning, not a runbook
        # that only carries the tag.
        self.shown = sorted((e for e in self.entries if entry_matches(e, query)),
                            key=lambda e: not named_by(e, query))
        # a small console: no rule between entries (each is two rows there, start.tcss)
        ruled = not self.app.has_class("-compact")
        for i, e in enumerate(self.shown):
            if i and ruled:
                ol.add_option(None)
            ol.add_option(Option(self._label(e), id=str(i)))
        if self.shown:
            ol.highlighted = 0
            self._detail(self.shown[0])
        else:
            self.query_one("#runbook-info", Static).update(self._empty_text())

    def compact_changed(self) -> None:
        """The app switched to or from its compact layout: the rules between entries follow
        (the highlighted runbook stays highlighted)."""
        ol = self.query_one("#runbook-list", OptionList)
        was = ol.highlighted_option.id if ol.highlighted_option is not None else None
        self._fill(self.query_one("#filter", Input).value)
        if was is not None:
            with contextlib.suppress(OptionDoesNotExist):
                ol.highlighted = ol.get_option_index(was)

    def _empty_text(self) -> str:
        """What the detail pane says when no runbook is listed (filtered out, or none yet)."""
        return "No runbook matches the filter." if self.entries else \
            "Finding the runbooks…" if self.finding else \
            "No runbooks found. Add a directory with --runbooks DIR."

    def _label(self, e: Entry) -> Text:
        text = Text()
        if e.runbook is not None:
            rb = e.runbook
            sug = self.rb_app.suggestion
            if sug is not None and rb.id == sug.runbook_id:
                text.append("▶ run next  ", style="bold green")
            elif rb.id == START_HERE and sug is None:
                text.append("▶ start here  ", style="bold green")
            text.append(rb.title, style="bold")
            text.append(f"\n  {rb.id}", style="cyan")
            # before the tags: a small console cuts the row's end with "…" (start.tcss)
            if any(s.destructive for s in rb.steps):
                text.append("  ⚠ changes nodes", style="bold red")
            if rb.tags:
                text.append("  " + " ".join(f"#{t}" for t in rb.tags), style="magenta")
            if not e.builtin:
                text.append(f"  ({e.path.parent})", style="dim")
        else:
            text.append(f"✘ {e.path.name}: invalid runbook", style="bold red")
            first = str(e.error).splitlines()[0] if e.error else ""
            text.append(f"\n  {first}", style="red")
        return text

    def _detail(self, e: Entry) -> None:
        info = self.query_one("#runbook-info", Static)
        if e.runbook is None:
            info.update(Text(f"{e.path}\n\nThis runbook cannot be used:\n\n{e.error}",
                             style="red"))
            return
        rb = e.runbook
        t = Text()
        t.append(rb.title + "\n", style="bold")
        t.append(f"{rb.id} · version {rb.version} · {e.path}\n", style="dim")
        if rb.tags:
            t.append(" ".join(f"#{tag}" for tag in rb.tags) + "\n", style="magenta")
        t.append("\n" + (rb.summary.strip() or "(no summary)") + "\n\n")
        t.append(f"{len(rb.steps)} steps", style="bold")
        destructive = [s for s in rb.steps if s.destructive]
        if destructive:
            t.append(f" · {len(destructive)} destructive (⚠)", style="bold red")
        t.append("\n")
        for i, s in enumerate(rb.steps, 1):
            t.append(f"  {i:>2}. {s.title}")
            if s.destructive:
                t.append("  ⚠", style="bold red")
            t.append("\n")
        if rb.params:
            t.append("\nParameters: ", style="bold")
            t.append(", ".join(p.name for p in rb.params) + "\n")
        t.append("\nEnter: start", style="dim")
        info.update(t)

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        """Enter in the filter opens the highlighted (first) match at once."""
        ol = self.query_one("#runbook-list", OptionList)
        ol.focus()
        if ol.highlighted is not None:
            option = ol.get_option_at_index(ol.highlighted)
            if option.id is not None:
                self.open_entry(self.shown[int(option.id)])

    @on(OptionList.OptionHighlighted, "#runbook-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._detail(self.shown[int(event.option.id)])

    @on(OptionList.OptionSelected, "#runbook-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.open_entry(self.shown[int(event.option.id)])

    def open_entry(self, e: Entry) -> None:
        """Open the runbook of ``e`` (its parameters, or the run); an invalid one explains
        what is wrong with it instead."""
        if e.runbook is None:
            from pverunbook.runbook.lint_gate import RunbookLintError
            from pverunbook.ui.screens.modals import ErrorModal

            lint = isinstance(e.error, RunbookLintError)
            self.app.push_screen(ErrorModal(
                "This runbook is refused: dangerous recovery patterns" if lint
                else "This runbook is invalid", str(e.error),
                "Fix the lines listed (file:line:col) as each message says"
                + (", or accept a reviewed exception with lint_ok where the message allows it;"
                   if lint else "") + " then restart, or pick another runbook."))
            return
        sug = self.rb_app.suggestion
        params = dict(sug.params) if sug is not None and sug.runbook_id == e.runbook.id \
            else self._proposed(e.runbook.id)
        # the filter found this runbook: back here the list is whole, "Run next" first, so
        # the guide's "(Enter)" opens what it names, not what the old filter still shows
        self.query_one("#filter", Input).value = ""
        self.rb_app.choose_runbook(e.runbook, params)

    def _proposed(self, runbook_id: str) -> dict[str, Any] | None:
        """The values the last health check proposed for ``runbook_id`` (the first of its
        faults that names it as the next runbook), so a runbook picked from the list starts
        from what the check found, as "Run next" does; else what a later run proposed
        (network-triage's values for route-fix: after route-fix was aborted, "Run next" was
        the check again and route-fix's form opened empty); None when nothing names it."""
        health = self.rb_app.health
        for f in getattr(health, "faults", ()) or ():
            nr = getattr(f, "next_runbook", None)
            if nr is not None and nr.runbook == runbook_id:
                return dict(nr.params)
        proposed = getattr(self.rb_app, "proposed", {}).get(runbook_id)
        return dict(proposed) if proposed else None

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        f = self.query_one("#filter", Input)
        f.value = ""
        self.query_one("#runbook-list", OptionList).focus()

    def action_shell(self) -> None:
        self.rb_app.open_shell()

    def help_text(self) -> str:
        """For F1: what this screen is and what to do first."""
        sug = self.rb_app.suggestion
        now = (f"Run **{sug.runbook_id}** next (listed first){': ' + sug.why if sug.why else ''}."
               if sug is not None else
               "During an outage start with the **Cluster health check** (listed first): it "
               "changes nothing, names every fault with the runbook that fixes it, and after "
               "each runbook it is proposed again until the cluster is healthy.")
        read = ("the run screen lists its steps" if self.app.has_class("-compact") else
                "its steps are listed on the right")
        down = self._unreachable_text(markdown=True)
        return ("**What this shows:** the runbooks you can run against "
                f"{describe_targets(self.rb_app.mode, self.rb_app.session.cluster)}, the mode "
                "(top), where to begin, and runs that were interrupted."
                + (f"\n\n{down}" if down else "") + "\n\n"
                f"**What to do now:** {now} **↑/↓** pick a runbook ({read}); **Enter** opens "
                "its parameters, then its steps. **/** filters the list (Enter there opens "
                "the first match). **r** resumes an interrupted run; **o** lists the stopped runs "
                "a later health check found the cluster healthy after (hidden until then, "
                "never deleted). **$** opens a shell on a "
                "node; in rehearsal the simulated cluster keeps what you change, between runs "
                "and launches (reset it from the palette, ctrl+p).")

    def palette_commands(self) -> list[PaletteCommand]:
        return [("Filter runbooks", "Focus the filter box (/)", self.action_focus_filter)]
