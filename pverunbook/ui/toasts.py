"""Notices (toasts) and dialogs: a toast is news for the screen it was shown on. At 80×24 the
notices of the run screen ("Read-only steps / Paused before step N…", "Step failed") lay over
the dialog that opened next, stacked (two identical ones at times), and hid part of a
confirmation's command list (trial 14). A dialog opening clears them; a notice identical to
one still shown replaces it instead of stacking under it."""

from __future__ import annotations

import time
from typing import Any

from textual.app import App
from textual.notifications import Notification
from textual.screen import ModalScreen, Screen
from textual.widgets._toast import ToastRack


def forget_same(app: App[Any], notification: Notification) -> None:
    """Before ``notification`` is shown (the app's Notify handler, which Textual's own then
    adds): drop the shown ones with the same title, words and severity."""
    shown = app._notifications
    for old in list(shown):
        if (old.title, old.message, old.severity) == \
                (notification.title, notification.message, notification.severity):
            del shown[old]


def watch_dialogs(app: App[Any]) -> None:
    """Clear the notices raised before a dialog (a modal screen) came on top, once the
    messages already queued are handled: a notice posted just before the dialog opened (the
    step's failure, then its question) goes too; one raised after it opened stays (back from
    the $ shell at the dialog)."""

    def changed(screen: Screen[Any]) -> None:
        if isinstance(screen, ModalScreen):
            app.call_later(clear_under, screen, time.time())

    def clear_under(screen: Screen[Any], opened: float) -> None:
        if app.screen is not screen:  # closed meanwhile
            return
        old = [n for n in app._notifications if n.raised_at <= opened]
        for n in old:
            app._unnotify(n, refresh=False)
        app._refresh_notifications()
        # The dialog's rack may be mounting one of them right now (its Toast not yet in the
        # DOM, so the rack's own update does not find it to remove it): take those down too.
        gone = {ToastRack._toast_id(n) for n in old}
        for rack in screen.query(ToastRack):
            for holder in list(rack.children):
                if holder.id in gone:
                    holder.remove()

    app.screen_change_signal.subscribe(app, changed, immediate=True)
