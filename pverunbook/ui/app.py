"""The pverunbook TUI, built through :func:`make_app` (the CLI runs it; tests inject a session).

Screens: start (pick a runbook) → parameters → run → summary, with the journal (o) and help (F1)
on top. The engine is the same in every mode; only the session's transport differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from pverunbook.runbook.catalog import Entry, discover
from pverunbook.runbook.model import Runbook
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.ui.commands import RunbookCommands
from pverunbook.ui.errors import explain
from pverunbook.ui.runs import ResumePlan
from pverunbook.ui.screens.modals import ErrorModal
from pverunbook.ui.widgets.banner import AppHeader


class RunbookApp(App[int]):
    TITLE = "pverunbook"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {RunbookCommands}
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", tooltip="Keys and the current step's hint"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit",
                tooltip="Leave immediately"),
    ]

    def __init__(self, session: Session, *, runbook_dirs: list[Path] | None = None,
                 runbook: Path | None = None, params: Mapping[str, str] | None = None,
                 owns_session: bool = True, resume: str | None = None) -> None:
        super().__init__()
        #: A run id (or prefix, or journal path) to resume as soon as the session is up.
        self.resume_target = resume
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

    # -- start-up ----------------------------------------------------------------------------
    async def on_mount(self) -> None:
        from pverunbook.ui.screens.start import StartScreen

        self.entries = self.catalog if self.catalog is not None else \
            discover(self.runbook_dirs)
        await self.push_screen(StartScreen(self.entries))
        if self.session.cluster is None or self.session.transport is None:
            self.start_session()
        else:
            self._after_session()

    @work(exclusive=True, group="session", exit_on_error=False, name="session",
          description="connect to the cluster")
    async def start_session(self) -> None:
        await self.session.start()
        self._after_session()

    def _after_session(self) -> None:
        self._refresh_screens()
        if self.resume_target is not None:
            target, self.resume_target = self.resume_target, None
            self.resume_run(target)
        elif self.runbook_path is not None:
            path, self.runbook_path = self.runbook_path, None
            self._open_runbook_file(path)

    def _refresh_screens(self) -> None:
        for screen in self.screen_stack:
            if not screen.is_mounted:
                continue
            for header in screen.query(AppHeader):
                header.set_cluster(self.session.cluster)
            refresh = getattr(screen, "refresh_targets", None)
            if refresh is not None:
                refresh()

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

    def show_error(self, exc: BaseException) -> None:
        e = explain(exc)
        self.push_screen(ErrorModal(e.title, e.message, e.hint))

    # -- navigation --------------------------------------------------------------------------
    def choose_runbook(self, runbook: Runbook) -> None:
        from pverunbook.ui.screens.params import ParamsScreen

        if runbook.params:
            self.push_screen(ParamsScreen(runbook, self.given_params))
        else:
            self.start_run(runbook, {})

    def resume_run(self, target: str | Path) -> None:
        """Continue an interrupted run: its runbook, params (secrets asked again), run id and
        journal; done steps stay done and the engine asks about a step of unknown outcome."""
        from pverunbook.runbook.loader import RunbookError
        from pverunbook.ui.runs import ResumeProblem, plan_resume
        from pverunbook.ui.screens.params import ParamsScreen

        try:
            plan = plan_resume(target, self.mode.value, self.entries)
        except ResumeProblem as exc:
            self.push_screen(ErrorModal("This run cannot be resumed here", str(exc), exc.hint))
            return
        except (RunbookError, ValueError, OSError) as exc:
            self.show_error(exc)
            return
        if plan.rehearsal:
            self.notify("This rehearsal's simulated cluster was started afresh: what the "
                        "earlier steps changed is not in it. Practise the resume, but expect "
                        "different results.", title="Resuming a rehearsal",
                        severity="warning", timeout=10)
        if plan.secrets:
            self.push_screen(ParamsScreen(plan.runbook, plan.given, resume=plan))
        else:
            self.start_run(plan.runbook, plan.given, resume=plan)

    def start_run(self, runbook: Runbook, values: Mapping[str, Any], *,
                  resume: ResumePlan | None = None) -> None:
        from pverunbook.runbook.params import ParamValueError, resolve
        from pverunbook.ui.screens.run import RunScreen

        if self.session.cluster is None or self.session.transport is None:
            if self.session_error:
                self.show_error(RuntimeError(f"not connected: {self.session_error}"))
            else:
                self.notify("Still connecting to the cluster; try again in a moment.",
                            title="Not ready")
            return
        if resume is not None and resume.started.cluster \
                and resume.started.cluster != self.session.cluster.name:
            self.push_screen(ErrorModal(
                "This run cannot be resumed here",
                f"Run {resume.run_id} was against cluster '{resume.started.cluster}'; this "
                f"session is connected to '{self.session.cluster.name}'.",
                "Start pverunbook with that cluster's inventory (--cluster FILE) to resume it."))
            return
        try:
            params, missing = resolve(runbook, dict(values), nodes=self.session.cluster.names)
        except ParamValueError as exc:
            self.show_error(exc)
            return
        if missing:
            self.notify(f"Missing values: {', '.join(missing)}", severity="error",
                        title="Parameters")
            return
        self.push_screen(RunScreen(runbook, params, resume=resume))

    # -- app actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        from pverunbook.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        keys: list[tuple[str, str, str]] = []
        for active in self.screen.active_bindings.values():
            b = active.binding
            if not b.description or b.system:
                continue
            keys.append((self.get_key_display(b), b.description, active.tooltip or b.tooltip))
        help_text = getattr(self.screen, "help_text", None)
        context = help_text() if callable(help_text) else ""
        self.push_screen(HelpScreen(keys, context))

    async def on_unmount(self) -> None:
        if self.owns_session:
            # Closing must never turn a clean exit into a traceback.
            with contextlib.suppress(Exception):
                await self.session.close()


def make_app(config: SessionConfig, *, runbook_dirs: list[Path] | None = None,
             runbook: Path | None = None, params: dict[str, str] | None = None,
             session: Session | None = None, resume: str | None = None) -> RunbookApp:
    """The app for ``config``; pass ``session`` (already started or not) to inject one.

    ``resume``: a run id (or a unique prefix of one, or a journal path) to continue as soon as
    the session is connected, instead of starting on the runbook list (``runbook`` is then
    ignored). The run must have been started in the session's mode.
    """
    owns = session is None
    return RunbookApp(session if session is not None else Session(config),
                      runbook_dirs=runbook_dirs, runbook=runbook, params=params,
                      owns_session=owns, resume=resume)
