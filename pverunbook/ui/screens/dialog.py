"""The base of every modal question: its own footer, F1 help, ctrl+c, and a focused field
kept in view on a resize (see :class:`Dialog`)."""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen

R = TypeVar("R")


class Dialog(ModalScreen[R]):
    """A modal with its own footer (its keys stay visible on any console, 80×24 included) and
    F1 help that says what it asks and what each answer does.

    Layout contract (``app.tcss``): the title is docked at the top of ``.dialog`` and the
    ``.dialog-buttons`` row at its bottom, and the rest scrolls between them, so no button is
    ever below the fold whatever the text."""

    #: A modal screen stops the app's keys: F1 is bound here again, so it works on top.
    BINDINGS = [Binding("f1", "app.help", "Help", id="dialog.help",
                        tooltip="What this asks, and what each answer does"),
                Binding("ctrl+c", "ctrl_c", "Quit?", show=False, id="dialog.ctrl_c")]
    #: F1: what this dialog asks and what each answer does (``help_text`` may say more).
    HELP = ""

    def help_text(self) -> str:
        return self.HELP

    def action_ctrl_c(self) -> None:
        """ctrl+c copies selected text (Textual's own use of it); with nothing selected it
        does what it does on any screen: the quit question while a run is going, else
        Textual's "ctrl+q to quit". A modal stops the app's keys, so at a question (a manual
        step's Done / Not done, a confirmation) it did nothing at all."""
        if self.get_selected_text():
            self.action_copy_text()
            return
        self.app.action_help_quit()

    def on_screen_resume(self) -> None:
        # The footer fills itself on a bindings update; a dialog pushed while nothing in it
        # takes the focus would otherwise show an empty footer until the first key.
        self.call_after_refresh(self.refresh_bindings)

    def on_resize(self) -> None:
        # A dialog's text scrolls: after a shrink the focused field (a confirmation's input,
        # a skip reason) was left scrolled out of view, the operator typing into it blind.
        self.call_after_refresh(self._focused_into_view)

    def _focused_into_view(self) -> None:
        if self.focused is not None and self.is_attached:
            self.focused.scroll_visible(animate=False, immediate=True)
