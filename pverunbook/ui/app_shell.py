"""The app's shell on a node ($, the palette, the error modals' "open a shell"): pick the
node, hand the terminal to ``ssh`` while the event loop keeps running, then journal that a
shell was used (never what was typed). Split from :mod:`pverunbook.ui.app`, which builds on it;
the errors' modal (:meth:`NodeShellApp.show_error`) lives here because the shell is its first
user below the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from pverunbook.ui.errors import explain

if TYPE_CHECKING:
    from pverunbook.session import Session


class NodeShellApp(App[int]):
    """The part of the app that opens shells on nodes; :class:`RunbookApp` is the rest."""

    session: Session
    #: Shell sessions of this session, oldest first: (node, exit status).
    shells: list[tuple[str, int]]

    def show_error(self, exc: BaseException) -> None:
        """``exc`` as a modal: what happened, where, what to do (:func:`explain`), never a
        traceback."""
        from pverunbook.ui.screens.modals import ErrorModal

        e = explain(exc)
        self.push_screen(ErrorModal(e.title, e.message, e.hint))

    def choose_node(self, then: Callable[[str], object], title: str = "Open a shell on…") \
            -> None:
        """Ask which node (an option list); ``then(node)`` runs with the answer."""
        from pverunbook.ui.screens.modals import PickModal

        cluster = self.session.cluster
        if cluster is None:
            self.notify("Not connected to a cluster yet.", title="Shell")
            return
        if len(cluster.nodes) == 1:
            then(cluster.nodes[0].name)
            return

        def done(node: str | None) -> None:
            if node:
                then(node)

        self.push_screen(PickModal(title, [(n.name, f"{n.name}  ({n.host}"
                                            + (f":{n.port}" if n.port else "") + ")")
                                           for n in cluster.nodes]), done)

    def open_shell(self, node: str | None = None, command: str | None = None) -> None:
        """Suspend the TUI and open an interactive ``ssh`` session on ``node`` (asked for when
        None); on return, journal that a shell was used (never what was typed).

        ``command``: run just this in the session instead of an interactive login (what a
        script or a test types into the shell); it is not journaled either."""
        if node is None:
            self.choose_node(self.open_shell)
            return
        from pverunbook.shell import ShellUnavailable
        from pverunbook.ui.screens.modals import ErrorModal

        try:
            plan = self.session.shell(node)
        except (ShellUnavailable, ValueError, RuntimeError, KeyError) as exc:
            self.push_screen(ErrorModal(f"No shell on {node}", str(exc),
                                        "Open a shell from a terminal with ssh instead."))
            return
        self._shell(node, list(plan.argv) + ([command] if command else []), command is None)

    @work(exclusive=True, group="shell", exit_on_error=False, name="shell",
          description="interactive shell on a node")
    async def _shell(self, node: str, argv: list[str], interactive: bool) -> None:
        # The event loop keeps running while ssh has the terminal: the rehearsal cluster's
        # SSH servers live in it, so the child is awaited, never waited for synchronously.
        # Nothing may be painted meanwhile: Textual's suspend stops the thread that writes
        # to the terminal but not its bounded queue (textual/drivers/_writer_thread.py,
        # 30 writes), so a screen that ticks (a COMMIT countdown, a running step's clock)
        # would fill it in half a minute and block the event loop for good, the rehearsal
        # nodes' SSH server and the shell with it. batch_update holds every repaint until
        # the shell ends; the screen is painted whole when the batch ends.
        from textual.app import SuspendNotSupported

        started = time.monotonic()
        try:
            with self.batch_update(), self.suspend():
                print(f"pverunbook: shell on {node} ({self.session.config.mode.value}); exit "
                      "the shell (Ctrl+D or 'exit') to return to pverunbook.", flush=True)
                proc = await asyncio.create_subprocess_exec(*argv)
                status = await proc.wait()
        except SuspendNotSupported as exc:
            if interactive:  # a headless or web driver cannot hand over the terminal
                self.show_error(exc)
                return
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            status = await proc.wait()
        except Exception as exc:  # noqa: BLE001 - no ssh client, no terminal
            self.show_error(exc)
            return
        self.record_shell(node, time.monotonic() - started, status)

    def record_shell(self, node: str, seconds: float, status: int) -> None:
        """Journal a shell session: in the running run's journal (and its activity log), or
        the session's latest journal between runs."""
        from pverunbook.engine import events as ev
        from pverunbook.shell import shell_note

        self.shells.append((node, status))
        text = shell_note(node, seconds, status)
        from pverunbook.ui.screens.run import RunScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, RunScreen) and screen.engine is not None \
                    and screen.state.finished is None:
                screen.engine.emit(ev.Note(text=text))
                break
        else:
            with contextlib.suppress(OSError):
                self.session.note(text)
        self.notify(f"Back from the shell on {node}. The journal notes that a shell was used "
                    "(not what was typed).", title="Shell")
