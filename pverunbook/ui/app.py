"""The pverunbook TUI, built through :func:`make_app` (the CLI runs it; tests inject a session).

Screens: start (pick a runbook) → parameters → run → summary, with the journal (o) and help (F1)
on top. The engine is the same in every mode; only the session's transport differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import Notify
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from pverunbook.runbook.catalog import Entry, discover
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.ui import toasts
from pverunbook.ui.app_shell import NodeShellApp
from pverunbook.ui.commands import PaletteCommand, RunbookCommands

if TYPE_CHECKING:
    # Imported when first needed, not with the app: the first frame must not wait for the
    # engine, the journal or the dialogs (each method imports what it uses).
    from pverunbook.runbook.model import Runbook
    from pverunbook.ui.runs import ResumePlan
from pverunbook.ui.widgets.banner import AppHeader

#: Keys every Textual screen and app has (focus next, copy text…): not this screen's own.
_TEXTUAL_KEYS = {(b.key, b.action) for cls in (Screen, ModalScreen)
                 for b in Binding.make_bindings(cls.BINDINGS)} | {("ctrl+c", "help_quit")}


def unreachable_text(down: Mapping[str, str]) -> str:
    """What the operator needs to know about nodes that did not answer (name → why)."""
    names = ", ".join(down)
    why = "; ".join(f"{n}: {w}" for n, w in down.items())
    return (f"Unreachable: {names} ({why}). Read-only steps run on the other nodes; "
            f"destructive steps that target {names} are refused until it answers.")


@dataclass(frozen=True)
class Suggestion:
    """A runbook to run next, with parameters to pre-fill and a one-line why."""

    runbook_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""


class RunbookApp(NodeShellApp):
    TITLE = "pverunbook"
    #: The start screen's styles are the app's: a screen with its own CSS_PATH makes Textual
    #: parse every style sheet again, from scratch, when it is first pushed (``reparse``),
    #: and the start screen is pushed before the first frame.
    CSS_PATH = ["app.tcss", "screens/start.tcss"]
    COMMANDS = App.COMMANDS | {RunbookCommands}
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help",
                tooltip="What this screen shows, what to do now, and its keys"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit",
                tooltip="Leave immediately; while a run is going, asks first as q does"),
    ]

    def __init__(self, session: Session, *, runbook_dirs: list[Path] | None = None,
                 runbook: Path | None = None, params: Mapping[str, str] | None = None,
                 owns_session: bool = True, resume: str | None = None) -> None:
        super().__init__()
        #: A run id (or prefix, or journal path) to resume as soon as the session is up.
        self.resume_target = resume
        #: The command line the app was opened with (``make_app``'s ``cli_args``): the command
        #: that resumes a run (``resume_hint``) is built from it, in the quit question as on
        #: the terminal after exit. Without one: ``tui`` with the session's cluster file.
        self.cli_args: Any = SimpleNamespace(command="tui", cluster=session.config.cluster_file)
        self.session = session
        if session.config.host_key_prompt is None:
            session.config.host_key_prompt = self.ask_host_key
        self.runbook_dirs = list(runbook_dirs or [])
        self.runbook_path = runbook
        self.given_params: dict[str, Any] = dict(params or {})
        self.owns_session = owns_session
        self.session_error = ""
        self.entries: list[Entry] = []
        #: Set to show exactly these runbooks instead of discovering them (demo, screenshots).
        self.catalog: list[Entry] | None = None
        #: What to run next, from the last run's diagnosis (runbook id, params, why); the start
        #: screen lists it first. Set with :meth:`suggest_next`.
        self.suggestion: Suggestion | None = None
        #: The values last proposed for each runbook (by any run's diagnosis, network-triage's
        #: for route-fix): its form starts from them when it is picked from the list later.
        self.proposed: dict[str, dict[str, Any]] = {}
        #: The last health check's diagnosis (None until one ran in this session): the start
        #: screen shows what is still wrong, or that the cluster is healthy.
        self.health: Any = None
        #: Runs of this session, oldest first: (runbook title, status, journal path).
        self.history: list[tuple[str, str, Path | None]] = []
        #: Runs started or resumed in this session, by run id, oldest first: (runbook id,
        #: title, status, journal). "unfinished" until the run ends: what is left to resume
        #: is said on the terminal once the app has exited (commands/tui.py).
        self.session_runs: dict[str, tuple[str, str, str, Path | None]] = {}
        #: Shell sessions of this session, oldest first: (node, exit status).
        self.shells: list[tuple[str, int]] = []
        #: Set once every node was tried (``connect_nodes``), whether they answered or not.
        self.nodes_tried = False

    async def ask_host_key(self, node: str, fingerprint: str) -> bool:
        """Called by the SSH transport (inside the run's worker) for a host key not yet known:
        show the fingerprint and let the operator decide; the default answer is no."""
        from pverunbook.ui.screens.modals import Choice, ChoiceModal

        body = (f"**{node}** presented a host key that is not in your `known_hosts`:\n\n"
                f"`{fingerprint}`\n\nCompare it with the node's own key before trusting it "
                "(on its console: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`). "
                "Trusting adds it to `known_hosts`; a key that later changes is always refused.")
        answer = await self.push_screen_wait(ChoiceModal(
            f"Unknown SSH host key: {node}", body,
            [Choice("trust", "Trust this key", "t", "warning"),
             Choice("refuse", "Refuse", "n", "primary")], cancel="refuse", danger=True))
        return answer == "trust"

    @property
    def mode(self) -> Mode:
        return self.session.config.mode

    # -- any console ---------------------------------------------------------------------------
    #: Below this many columns or rows the screens switch to their compact layouts
    #: (``App.-compact`` in the styles): one node pane at a time, side column on demand,
    #: modals that fill the screen with one-line buttons.
    COMPACT_BELOW = (100, 30)

    def on_notify(self, event: Notify) -> None:
        """Before Textual's own handler shows it: no two identical notices (toasts.py)."""
        toasts.forget_same(self, event.notification)

    def _set_compact(self, size: tuple[int, int] | None = None) -> None:
        width, height = self.size if size is None else size
        compact = width < self.COMPACT_BELOW[0] or height < self.COMPACT_BELOW[1]
        if compact != self.has_class("-compact"):
            self.set_class(compact, "-compact")
            for screen in self.screen_stack:
                for hook in ("layout_panes", "compact_changed"):
                    relayout = getattr(screen, hook, None)
                    if relayout is not None and screen.is_mounted:
                        relayout()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: ``self.size`` still holds the previous one here, which left the
        # layout one resize behind (compact on a large console after a shrink and a grow).
        self._set_compact((event.size.width, event.size.height))

    # -- start-up ----------------------------------------------------------------------------
    async def on_mount(self) -> None:
        from pverunbook.ui.screens.start import StartScreen

        self._set_compact()
        toasts.watch_dialogs(self)  # a dialog opening clears the notices over it
        # The start screen first, empty, saying what is on its way: at a console during an
        # outage every launch pays what comes before the first frame. Finding the runbooks
        # (loading and checking every file), the rehearsal cluster's start and the connect
        # all come after it (``_after_first_frame``).
        self.entries = self.catalog if self.catalog is not None else []
        await self.push_screen(StartScreen(self.entries, finding=self.catalog is None))
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        from pverunbook.ui.screens.start import StartScreen

        if self.catalog is None:
            self.entries = discover(self.runbook_dirs)
            for screen in self.screen_stack:
                if isinstance(screen, StartScreen) and screen.is_mounted:
                    screen.set_entries(self.entries)
        if self.session.cluster is None or self.session.transport is None:
            self.start_session()
        else:
            self.connect_session()

    @work(exclusive=True, group="session", exit_on_error=False, name="session",
          description="connect to the cluster")
    async def start_session(self) -> None:
        await self.session.start()
        await self.connect_nodes()
        self._after_session()

    @work(exclusive=True, group="session", exit_on_error=False, name="connect",
          description="connect to the nodes")
    async def connect_session(self) -> None:
        """A session given already started (tests, screenshots): connect, then go on."""
        await self.connect_nodes()
        self._after_session()

    async def connect_nodes(self) -> None:
        """Connect to every node up front, as the headless CLI does, so the operator learns
        before the first step which nodes do not answer: read-only steps then run on the
        others and destructive steps that target a missing node are refused (the engine's
        rule). No node answering is the session's error (shown; nothing can run)."""
        from pverunbook.transport.base import TransportError

        try:
            down = await self.session.connect()
        except TransportError as exc:
            self.session_error = str(exc)
            self.show_error(exc)
            return
        finally:
            self.nodes_tried = True
        if down:
            self.notify(unreachable_text(down), title="Unreachable nodes", severity="warning",
                        timeout=15)

    @work(group="last-check", exit_on_error=False)
    async def _restore_last_check(self) -> None:
        """The last health check's result, in a worker: the start screen never waits for it.
        A worker made from a coroutine object instead left "coroutine 'restore_last_check' was
        never awaited" on stderr when the app closed before it started."""
        from pverunbook.ui.last_check import restore_last_check

        await restore_last_check(self)

    def _after_session(self) -> None:
        self._refresh_screens()
        self._restore_last_check()
        if self.resume_target is not None:
            target, self.resume_target = self.resume_target, None
            self.resume_run(target)
        elif self.runbook_path is not None:
            path, self.runbook_path = self.runbook_path, None
            self._open_runbook_file(path)

    def _refresh_screens(self) -> None:
        from textual.css.query import NoMatches

        for screen in self.screen_stack:
            if not screen.is_mounted:
                continue
            # A screen still being composed, or torn down as the app closes, lacks some of its
            # widgets: it shows the session's state when it is (re)built, so skip it now
            # rather than fail (a session error at shutdown raised NoMatches here).
            with contextlib.suppress(NoMatches):
                for header in screen.query(AppHeader):
                    header.set_cluster(self.session.cluster)
                refresh = getattr(screen, "refresh_targets", None)
                if refresh is not None:
                    refresh()
                refresh_list = getattr(screen, "refresh_suggestion", None)
                if refresh_list is not None:
                    refresh_list()

    def _open_runbook_file(self, path: Path) -> None:
        from pverunbook.runbook.loader import RunbookError, load_file

        try:
            rb = load_file(path)
        except RunbookError as exc:
            self.show_error(exc)
            return
        self.choose_runbook(rb)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "session" and event.state is WorkerState.ERROR:
            error = event.worker.error
            self.session_error = str(error)
            self._refresh_screens()
            if error is not None:
                self.show_error(error)

    # -- navigation --------------------------------------------------------------------------
    def choose_runbook(self, runbook: Runbook, params: Mapping[str, Any] | None = None) -> None:
        """Open ``runbook``: its parameter form (pre-filled with ``params``, then the command
        line's ``--set`` values) or, without parameters, the run screen."""
        from pverunbook.ui.screens.params import ParamsScreen

        if runbook.params:
            self.push_screen(ParamsScreen(runbook, {**self.given_params, **dict(params or {})}))
        else:
            self.start_run(runbook, {})

    def find_runbook(self, name: str) -> Runbook | None:
        """The catalog's runbook with id (or file stem) ``name``; None if absent or invalid."""
        for e in self.entries:
            if e.runbook is not None and name in (e.runbook.id, e.path.stem):
                return e.runbook
        return None

    def start_runbook(self, name: str, params: Mapping[str, Any] | None = None) -> bool:
        """Start the runbook with id ``name`` in this session, its form pre-filled with
        ``params`` (e.g. the diagnosis's "run next"). False (and a notification) if unknown."""
        rb = self.find_runbook(name)
        if rb is None:
            self.notify(f"No valid runbook with id '{name}' in the catalog.",
                        title="Run next", severity="error")
            return False
        from pverunbook.ui.session_actions import room_for_run

        if not room_for_run(self, what=f"starting “{rb.title}”"):
            return False
        self.back_to_runbooks()
        self.choose_runbook(rb, params)
        return True

    def suggest_next(self, runbook_id: str | None, params: Mapping[str, Any] | None = None,
                     why: str = "") -> None:
        """Remember what to run next (the start screen lists it first, with ``why``); None
        withdraws the suggestion (the latest diagnosis names no next runbook)."""
        self.suggestion = None if runbook_id is None else \
            Suggestion(runbook_id, dict(params or {}), why)
        if runbook_id is not None and params:
            self.proposed[runbook_id] = dict(params)
        self._refresh_screens()

    def back_to_runbooks(self) -> None:
        """Close the run (finished or abandoned) and its screens; show the runbook list. The
        session — connection or rehearsal cluster — stays."""
        from pverunbook.ui.screens.start import StartScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, StartScreen):
            self.pop_screen()
        self._refresh_screens()

    def run_started(self, run_id: str, runbook: Runbook, journal: Path | None) -> None:
        """Called by the run screen when its engine exists: a run of this session."""
        self.session_runs[run_id] = (runbook.id, runbook.title, "unfinished", journal)

    def run_finished(self, title: str, status: str, journal: Path | None,
                     run_id: str | None = None) -> None:
        """Called by the run screen when its run ends: the session's history."""
        self.history.append((title, status, journal))
        known = self.session_runs.get(run_id or "")
        if known is not None:
            self.session_runs[run_id or ""] = (known[0], title, status, journal)

    def resume_run(self, target: str | Path) -> None:
        """Continue an interrupted run: its runbook, params (secrets asked again), run id and
        journal; done steps stay done and the engine asks about a step of unknown outcome.

        With a run screen open: the same run is shown again; a finished run's screen is
        closed first; an unfinished other run is never left behind unasked (a second run
        screen crashed the app with DuplicateIds, the open run's journal left unended)."""
        from pverunbook.runbook.loader import RunbookError
        from pverunbook.ui.runs import ResumeProblem, plan_resume
        from pverunbook.ui.screens.modals import ErrorModal
        from pverunbook.ui.screens.params import ParamsScreen

        try:
            plan = plan_resume(target, self.mode.value, self.entries)
        except ResumeProblem as exc:
            self.push_screen(ErrorModal("This run cannot be resumed here", str(exc), exc.hint))
            return
        except (RunbookError, ValueError, OSError) as exc:
            self.show_error(exc)
            return
        from pverunbook.ui.session_actions import room_for_run

        if not room_for_run(self, plan.run_id):
            return
        refusal = self._elsewhere(plan) if self.session.cluster is not None else None
        if refusal is not None:  # before the secrets are typed again for nothing
            self.push_screen(ErrorModal("This run cannot be resumed here", *refusal))
            return
        if plan.rehearsal and self.session.config.sim_state_dir is None:
            self.notify("This rehearsal's simulated cluster was started afresh: what the "
                        "earlier steps changed is not in it. Practise the resume, but expect "
                        "different results.", title="Resuming a rehearsal",
                        severity="warning", timeout=10)
        if plan.secrets:
            self.push_screen(ParamsScreen(plan.runbook, plan.given, resume=plan))
        else:
            self.start_run(plan.runbook, plan.given, resume=plan)

    def _elsewhere(self, plan: ResumePlan) -> tuple[str, str] | None:
        """(why, what to do) when ``plan``'s run was on another cluster than this session's:
        another name, or other nodes (a rehearsal of three nodes opened as one of four has the
        same name: its next step would run on a node none of the earlier steps touched)."""
        cluster = self.session.cluster
        assert cluster is not None
        started = plan.started
        if started.cluster and started.cluster != cluster.name:
            return (f"Run {plan.run_id} was against cluster '{started.cluster}'; this "
                    f"session is connected to '{cluster.name}'.",
                    "Start pverunbook with that cluster's inventory (--cluster FILE) to "
                    "resume it.")
        if started.nodes and set(started.nodes) != set(cluster.names):
            hint = (f"Open the simulated cluster it ran on: pverunbook tui --state-dir "
                    f"{started.rehearsal_dir} --resume {plan.run_id}"
                    if plan.rehearsal and started.rehearsal_dir else
                    "Start pverunbook with the inventory it ran with (--cluster FILE) to "
                    "resume it.")
            return (f"Run {plan.run_id} ran on {', '.join(started.nodes)}; this session's "
                    f"cluster '{cluster.name}' has {', '.join(cluster.names)}.", hint)
        return None

    def start_run(self, runbook: Runbook, values: Mapping[str, Any], *,
                  resume: ResumePlan | None = None) -> None:
        from pverunbook.runbook.params import ParamValueError, resolve
        from pverunbook.ui.screens.modals import ErrorModal
        from pverunbook.ui.screens.params import asked_later
        from pverunbook.ui.screens.run import RunScreen

        if self.session.cluster is None or self.session.transport is None:
            if self.session_error:
                self.show_error(RuntimeError(f"not connected: {self.session_error}"))
            else:
                self.notify("Still connecting to the cluster; try again in a moment.",
                            title="Not ready")
            return
        refusal = self._elsewhere(resume) if resume is not None else None
        if refusal is not None:
            self.push_screen(ErrorModal("This run cannot be resumed here", *refusal))
            return
        try:
            params, missing = resolve(runbook, dict(values), nodes=self.session.cluster.names)
        except ParamValueError as exc:
            self.show_error(exc)
            return
        later = asked_later(runbook)
        missing = [m for m in missing if m not in later]
        if missing:
            self.notify(f"Missing values: {', '.join(missing)}", severity="error",
                        title="Parameters")
            return
        self.push_screen(RunScreen(runbook, params, resume=resume))

    # -- app actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        """F1: help for the screen (or dialog) on top: what it shows, what to do now, and
        ITS keys (and the app's), not those of whichever widget has the focus."""
        from pverunbook.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen_keys(), self.screen_help()))

    def screen_keys(self) -> list[tuple[str, str, str]]:
        """(key, action, what it does) of the top screen's and the app's bindings, the
        screen's first; keys that do nothing now (``check_action``) are left out."""
        screen = self.screen
        keys: list[tuple[str, str, str]] = []
        for active in screen.active_bindings.values():
            b = active.binding
            if active.node not in (screen, self) or not b.description or b.system \
                    or not active.enabled or (b.key, b.action) in _TEXTUAL_KEYS:
                continue
            key = self.get_key_display(b)
            if (key, b.description) in {(k, d) for k, d, _ in keys}:
                continue
            keys.append((key, b.description, active.tooltip or b.tooltip))
        keys.sort(key=lambda k: k[0] in ("f1", "ctrl+q"))
        return keys

    def screen_help(self) -> str:
        """The top screen's ``help_text()``: what it shows and what to do now."""
        help_text = getattr(self.screen, "help_text", None)
        return help_text() if callable(help_text) else ""

    # -- the session: quit, shell, reset -------------------------------------------------------
    def request_quit(self) -> None:
        """q: leave at once in dry-run/local; with a live or rehearsal cluster, or a run not
        finished, ask first (:func:`pverunbook.ui.quitting.quit_question`)."""
        from pverunbook.ui.quitting import quit_question

        question = quit_question(self)
        if question is None:
            self.exit()
            return

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.exit()

        self.push_screen(question, done)

    def action_request_quit(self) -> None:
        self.request_quit()

    async def action_quit(self) -> None:
        """ctrl+q (Textual's own quit): :func:`pverunbook.ui.quitting.quit_key`."""
        from pverunbook.ui.quitting import quit_key

        quit_key(self)

    def action_help_quit(self) -> None:
        """ctrl+c: the quit question while a run is going, else Textual's hint."""
        from pverunbook.ui.quitting import quit_key, run_going

        if run_going(self) is None:
            super().action_help_quit()
        else:
            quit_key(self)

    def reset_rehearsal(self) -> None:
        """Ask, then throw the rehearsal cluster's state away and start it broken again."""
        from pverunbook.ui.screens.modals import Choice, ChoiceModal

        if self.mode is not Mode.REHEARSAL:
            self.notify("Only a rehearsal cluster can be reset.", title="Reset")
            return
        where = self.session.config.sim_state_dir

        def done(choice: str | None) -> None:
            if choice == "reset":
                # the last check's result is of the cluster thrown away: the start screen
                # said "✔ The cluster is healthy" over the cluster broken again
                self.health = None
                self.suggestion = None
                self.proposed.clear()
                self.back_to_runbooks()
                self.session_error = ""
                self._do_reset()

        self.push_screen(ChoiceModal(
            "Reset the rehearsal cluster?",
            "Every change made in this rehearsal (the route fix, corosync.conf, restored VM "
            "configs, certificates…) is thrown away and the simulated cluster starts broken "
            "again, as on a first launch"
            + (f" (state directory `{where}`)" if where else "") + ". Run journals stay.",
            [Choice("reset", "Reset", "y", "error"), Choice("keep", "Keep it", "n", "primary")],
            cancel="keep", danger=True), done)

    @work(exclusive=True, group="session", exit_on_error=False, name="reset",
          description="reset the rehearsal cluster")
    async def _do_reset(self) -> None:
        await self.session.reset_rehearsal()
        await self.connect_nodes()
        self.suggestion = None
        self._refresh_screens()
        self.notify("The rehearsal cluster starts broken again.", title="Reset")

    def open_journal(self, path: Path | None = None) -> None:
        """The journal of ``path``, or of this session's latest run."""
        from pverunbook.ui.screens.journal import JournalScreen

        if path is None:
            path = next((j for _, _, j in reversed(self.history) if j is not None), None)
        if path is None:
            self.notify("No run in this session yet; `pverunbook journal list` lists earlier "
                        "ones.", title="Journal")
            return
        self.push_screen(JournalScreen(path))

    def open_checkpoints(self) -> None:
        from pverunbook.ui.screens.checkpoints import CheckpointsScreen

        self.push_screen(CheckpointsScreen())

    def palette_commands(self) -> list[PaletteCommand]:
        """Session-wide entries of the command palette (the screen adds its own)."""
        from pverunbook.ui.session_actions import session_commands

        return session_commands(self)

    def get_system_commands(self, screen: Any) -> Any:
        """Textual's own entries, without its "Quit" (it leaves at once, without the question
        a connected cluster deserves): the palette has one Quit, ours."""
        for cmd in super().get_system_commands(screen):
            if cmd.title != "Quit":
                yield cmd

    def write_report(self) -> Path | None:
        """Write ``<journal>.report.md`` for the session's latest run and say where."""
        from pverunbook.ui.session_actions import write_report

        return write_report(self)

    async def on_unmount(self) -> None:
        if self.owns_session:
            # Closing must never turn a clean exit into a traceback.
            with contextlib.suppress(Exception):
                await self.session.close()


def make_app(config: SessionConfig, *, runbook_dirs: list[Path] | None = None,
             runbook: Path | None = None, params: dict[str, str] | None = None,
             session: Session | None = None, resume: str | None = None,
             cli_args: Any = None) -> RunbookApp:
    """The app for ``config``; pass ``session`` (already started or not) to inject one.

    ``resume``: a run id (or a unique prefix of one, or a journal path) to continue as soon as
    the session is connected, instead of starting on the runbook list (``runbook`` is then
    ignored). The run must have been started in the session's mode.
    """
    owns = session is None
    app = RunbookApp(session if session is not None else Session(config),
                     runbook_dirs=runbook_dirs, runbook=runbook, params=params,
                     owns_session=owns, resume=resume)
    if cli_args is not None:
        app.cli_args = cli_args
    return app
