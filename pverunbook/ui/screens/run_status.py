"""The run screen's status line: what the run needs now and the keys that act on it.

Split from :mod:`pverunbook.ui.screens.run` (past 600 lines): the line's text, its keys (shown
only while they act, the same test as F1 and the footer), and the rollback wait that replaces
a COMMIT question once it is gone (:mod:`pverunbook.ui.rollback_wait`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from pverunbook.ui.fit import show_fitted
from pverunbook.ui.screens.run_layout import RunLayout

if TYPE_CHECKING:
    from pverunbook.ui.rollback_wait import RollbackWait


class RunStatus(RunLayout):
    """The status line of :class:`~pverunbook.ui.screens.run.RunScreen`."""

    _rollback_wait: RollbackWait | None = None

    def _status(self, text: str, *, bad: bool = False, waiting: bool = False,
                keys: tuple[tuple[str, str], ...] = ()) -> None:
        """The status line: ``text``, then the keys that act now — ``keys`` are (action,
        what it does here) and each shows with its binding's key only while ``check_action``
        lets it act, the same test F1's key list and the footer use; re-rendered whenever
        that may answer differently (:meth:`refresh_bindings`), so the line, F1 and the
        footer never disagree about a key."""
        self._status_text, self._status_keys = text, keys
        s = self.query_one("#run-status", Static)
        s.set_class(bad, "-bad")
        s.set_class(waiting, "-waiting")
        self._render_status()

    def status_keys(self) -> list[tuple[str, str]]:
        """(key, what it does) of the status line's keys that act now."""
        out: list[tuple[str, str]] = []
        for action, verb in getattr(self, "_status_keys", ()):
            binding = next((b for bs in self._bindings.key_to_bindings.values() for b in bs
                            if b.action == action and b.show), None) or \
                next((b for bs in self._bindings.key_to_bindings.values() for b in bs
                      if b.action == action), None)
            if binding is not None and self.check_action(action, ()):
                out.append((self.app.get_key_display(binding), verb))
        return out

    def _render_status(self) -> None:
        if not self.is_mounted or not self.query("#run-status"):  # gone while the screen closes
            return
        hints = " · ".join(f"{k} {v}" for k, v in self.status_keys())
        text = getattr(self, "_status_text", "")
        show_fitted(self.query_one("#run-status", Static),  # a long step title gives way
                    f"{text} · {hints}" if text and hints else text or hints,
                    self._titles().values())

    def refresh_bindings(self) -> None:
        super().refresh_bindings()
        self._render_status()

    def rollback_waiting(self, wait: RollbackWait | None) -> None:
        """The COMMIT question is gone and the nodes restore the checkpoint: the status line
        says so, with the time left, instead of the stale "type COMMIT" (ui/rollback_wait)."""
        self._rollback_wait = wait
        if wait is not None:
            self._status(wait.text(), waiting=True)

    def set_status(self, text: str, *, waiting: bool = False,
                   keys: tuple[tuple[str, str], ...] = ()) -> None:
        """The status line, for the decider (a question folded away says how to get it back)."""
        self._status(text, waiting=waiting, keys=keys)

    def _titles(self) -> dict[str, str]:
        return {s.id: s.title for s in self.runbook.steps}

