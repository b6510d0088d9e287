"""The session's own palette entries and its report command, kept out of the app class
(``RunbookApp`` delegates to them) so the app module stays a readable size."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.session import Mode
from pverunbook.ui.commands import PaletteCommand

if TYPE_CHECKING:
    from pverunbook.ui.app import RunbookApp


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

    with contextlib.suppress(OSError):
        for r in interrupted_runs():
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
    cmds.append(("Quit", "Leave pverunbook (asks first with a cluster)", app.request_quit))
    return cmds


def write_report(app: RunbookApp) -> Path | None:
    """Write ``<journal>.report.md`` for the session's latest run and say where."""
    journal = next((j for _t, _s, j in reversed(app.history) if j is not None), None)
    if journal is None or not journal.is_file():
        app.notify("No run in this session yet: run a runbook first.", title="Report",
                    severity="warning")
        return None
    from pverunbook.engine.journal import read_journal
    from pverunbook.report import render_report

    out = journal.with_suffix(".report.md")
    try:
        out.write_text(render_report(read_journal(journal)), encoding="utf-8")
    except OSError as exc:
        app.notify(f"Cannot write {out}: {exc.strerror or exc}", title="Report",
                    severity="error")
        return None
    app.notify(f"Written: {out}", title="Report")
    return out
