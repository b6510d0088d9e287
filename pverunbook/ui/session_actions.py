"""The session's own palette entries and its report command, kept out of the app class
(``RunbookApp`` delegates to them) so the app module stays a readable size."""

from __future__ import annotations

import asyncio
import contextlib
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.session import Mode
from pverunbook.ui.commands import PaletteCommand

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.screens.run import RunScreen


def session_commands(app: RunbookApp) -> list[PaletteCommand]:
    """Session-wide entries of the command palette (the screen adds its own)."""
    cmds: list[PaletteCommand] = []
    for e in app.entries:
        if e.runbook is not None:
            rb = e.runbook
            cmds.append((f"Runbook: {rb.title}",
                         textwrap.shorten(rb.summary, 80, placeholder="…") or rb.id,
                         lambda rb=rb: app.start_runbook(rb.id)))  # type: ignore[misc]
    cmds.append(("Journal of the last run", "Every event of this session's latest run",
                 app.open_journal))
    cmds.append(("Checkpoints", "Backups taken before destructive steps",
                 app.open_checkpoints))
    from pverunbook.stopped_runs import interrupted_runs

    open_now = open_run_id(app)
    with contextlib.suppress(OSError):
        for r in interrupted_runs():
            if r.run_id == open_now:  # its journal has no end yet because it is running
                continue
            cmds.append((f"Resume run {r.run_id}: {r.title}",
                         r.commit_line() or
                         f"{r.when} · {r.mode} · last: {r.last_step or 'none'}"
                         + (f" · {r.settled_line()}" if r.settled else ""),
                         lambda r=r: app.resume_run(r.path)))  # type: ignore[misc]
    if app.session.cluster is not None and app.mode in (Mode.LIVE, Mode.REHEARSAL):
        for n in app.session.cluster.nodes:
            cmds.append((f"Shell on {n.name}", "Suspend the app and open ssh on the node "
                         "(the journal notes it)",
                         lambda n=n: app.open_shell(n.name)))  # type: ignore[misc]
    if app.mode is Mode.REHEARSAL:
        cmds.append(("Reset rehearsal cluster", "Throw the simulated cluster's state away "
                     "and start broken again (asks first)", app.reset_rehearsal))
    cmds.append(("Report of the last run", "Write the Markdown incident report of this "
                 "session's latest run next to its journal", app.write_report))
    cmds.append(("Report of this incident", "Every run since the last healthy check, up to "
                 "this session's latest: timeline, faults then and now, each run",
                 lambda: write_incident_report(app)))
    cmds.append(("Quit", "Leave pverunbook (asks first with a cluster)", app.request_quit))
    return cmds


def _latest_journal(app: RunbookApp) -> Path | None:
    journal = next((j for _t, _s, j in reversed(app.history) if j is not None), None)
    if journal is None or not journal.is_file():
        app.notify("No run in this session yet: run a runbook first.", title="Report",
                   severity="warning")
        return None
    return journal


def _write_off_loop(app: RunbookApp, out: Path, render: Callable[[], str]) -> Path:
    """Render and write ``out`` in a thread (a long incident diagnoses every check it holds,
    and the screen must keep answering meanwhile), through a temporary file renamed over it,
    so a failure leaves no half-written report; say where, or what went wrong. Returns
    ``out`` at once; the file is there when the worker ends (``app.workers``)."""

    def write() -> None:
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            tmp.write_text(render(), encoding="utf-8")
            os.replace(tmp, out)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    async def work() -> None:
        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            app.notify(f"Cannot write {out}: {exc.strerror or exc}", title="Report",
                       severity="error")
            return
        except Exception as exc:  # noqa: BLE001 - a journal it cannot read: say so, no traceback
            app.notify(f"Cannot write {out}: {exc}. The journals are unchanged; "
                       "`pverunbook report` on the command line says more.", title="Report",
                       severity="error")
            return
        app.notify(f"Written: {out}", title="Report")

    app.run_worker(work(), group="report", description=f"writing {out.name}")
    return out


def write_report(app: RunbookApp) -> Path | None:
    """Write ``<journal>.report.md`` for the session's latest run (off the event loop) and say
    where. Returns the path it is written to, or None when there is no run yet."""
    journal = _latest_journal(app)
    if journal is None:
        return None
    from pverunbook.engine.journal import read_journal
    from pverunbook.report import render_report

    return _write_off_loop(app, journal.with_suffix(".report.md"),
                           lambda: render_report(read_journal(journal)))


def write_incident_report(app: RunbookApp) -> Path | None:
    """Write ``<journal>.incident.md`` over the incident that ends with the session's latest
    run (``pverunbook report --incident``'s rule; off the event loop) and say where."""
    journal = _latest_journal(app)
    if journal is None:
        return None
    from pverunbook.report_incident import collect, render_incident

    return _write_off_loop(app, journal.with_suffix(".incident.md"),
                           lambda: render_incident(collect(last=journal)))


def open_run_screen(app: RunbookApp) -> RunScreen | None:
    """The run screen in the app's screen stack (at most one: its id is "run")."""
    from pverunbook.ui.screens.run import RunScreen

    return next((s for s in app.screen_stack if isinstance(s, RunScreen)), None)


def open_run_id(app: RunbookApp) -> str | None:
    """The id of the run open on the run screen, once its engine exists."""
    screen = open_run_screen(app)
    return screen.engine.run_id if screen is not None and screen.engine is not None else None


def room_for_run(app: RunbookApp, run_id: str | None = None, what: str = "") -> bool:
    """Make way for another run (``what``: "resuming run ID", "starting X"), or for resuming
    ``run_id``; False when it must not start now (said on screen).

    A second run screen crashed the app (DuplicateIds: the palette offered the run open right
    now, whose journal has no end yet) and left that run's journal unended; closing an
    unfinished run's screen to start another cancels it without a word. So: the same run is
    shown again; a finished run's screen is closed first; an unfinished other run is never
    left behind without the operator quitting it."""
    from pverunbook.ui.screens.modals import ErrorModal

    screen = open_run_screen(app)
    if screen is None:
        return True
    open_id = open_run_id(app)
    if run_id is not None and open_id == run_id:
        while app.screen is not screen:
            app.pop_screen()
        app.notify(f"Run {run_id} is the one open here.", title="Resume run")
        return False
    if screen.state.finished is None:
        app.push_screen(ErrorModal(
            "Another run is open",
            f"Run {open_id or '(starting)'} of “{screen.runbook.title}” is not finished; "
            f"{what or f'resuming run {run_id}'} now would leave it behind.",
            "Finish it, or press q and quit it (it can be resumed later), then start "
            "the other from the start screen or the palette."))
        return False
    app.back_to_runbooks()
    return True
