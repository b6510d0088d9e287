"""The key footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's ``Footer``, without rebuilding itself for nothing.

    Why: ``Footer`` recomposes on every ``bindings_updated`` signal (Textual 8.2,
    ``widgets/_footer.py``, ``Footer.bindings_changed``), and the screen publishes that signal
    for every ``refresh_bindings()`` and focus change, whether or not a key changed. Each
    recompose mounts a new widget per key and costs a full layout of the screen; the new keys'
    first size update asks for a second one. While two nodes flood output, a step starting and
    its commands starting on each node rebuilt the footer several times with the same keys, and
    those layouts were the longest stalls of the event loop. Here the footer compares what it
    would show — each shown binding, whether it is enabled, its tooltip, and the palette key —
    with what it shows, and recomposes only when they differ.
    """

    _shown: tuple[object, ...] | None = None
    #: A recompose is queued: it will show the keys as they are then, so another
    #: ``bindings_updated`` before it runs needs no second one.
    _queued = False

    def _keys(self) -> tuple[object, ...]:
        """What ``compose`` would show now: ``(key, binding, enabled, tooltip)`` per shown
        binding in order, then the palette setting and the compact style."""
        shown = tuple((key, ab.binding, ab.enabled, ab.tooltip)
                      for key, ab in self.screen.active_bindings.items() if ab.binding.show)
        return shown, self.show_command_palette, self.compact

    def compose(self) -> ComposeResult:
        self._queued = False
        if self._bindings_ready:
            self._shown = self._keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and (
                self._queued or (self._shown is not None and self._keys() == self._shown)):
            return
        super().bindings_changed(screen)
        self._queued = self._bindings_ready and bool(screen.app.app_focus) and \
            self.is_attached and screen is self.screen
