"""The key footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Below this many columns the keys a lost operator needs most (leave, help, a shell) come
#: first: the footer shows its keys in order and cuts the last ones off, and those were the
#: last.
NARROW_BELOW = 80
#: Their actions: q (each screen's own quit, or the app's), F1, and $ (a shell on a node: what
#: is left when a runbook cannot do it; at 60 columns the run screen's footer had dropped it).
VITAL_ACTIONS = frozenset({"quit", "app.quit", "request_quit", "app.request_quit", "quit_run",
                           "help", "app.help", "shell"})
#: Their order: Quit, then Help, then Shell (whatever order the screen binds them in).
VITAL_ORDER = ("quit", "help", "shell")


def _rank(widget: object) -> int:
    """Where a key goes in a narrow footer: a vital one by :data:`VITAL_ORDER`, the others
    after them (the sort is stable: they keep their order)."""
    if not (isinstance(widget, FooterKey) and widget.action in VITAL_ACTIONS):
        return len(VITAL_ORDER)
    name = widget.action.removeprefix("app.")
    return next((i for i, v in enumerate(VITAL_ORDER) if v in name), 0)


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
        return shown, self.show_command_palette, self.compact, self._narrow

    #: The footer is narrower than ``NARROW_BELOW``: vital keys first.
    _narrow = False

    def compose(self) -> ComposeResult:
        self._queued = False
        if self._bindings_ready:
            self._shown = self._keys()
        widgets = list(super().compose())
        if self._narrow:
            # a stable sort: Quit, Help and Shell first, the others in their order after them
            widgets.sort(key=_rank)
        yield from widgets

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_BELOW
        if narrow != self._narrow:
            self._narrow = narrow
            if self._bindings_ready and self.is_attached:
                self.call_after_refresh(self.recompose)
                return
        for key in self.query(FooterKey):  # wider again: what was left out may fit now
            key.display = True
        self.call_after_refresh(self._leave_out_cut_keys)

    def on_mount(self) -> None:
        self.call_after_refresh(self._leave_out_cut_keys)

    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self._leave_out_cut_keys)

    def _leave_out_cut_keys(self) -> None:
        """Show only the keys that fit whole, in order: the footer cut the last one that did
        not ("m Ma▏", "o Jo▏ ^ppalette" at 60 columns), and squeezed the palette key. The keys
        left out are in F1 and the palette."""
        if not self.is_attached:
            return
        keys = [k for k in self.query(FooterKey) if not k.has_class("-command-palette")]
        palette = [k for k in self.query(FooterKey) if k.has_class("-command-palette")]
        room = self.region.width - sum(k.region.width + k.styles.margin.width + 1
                                       for k in palette)
        x = keys[0].styles.margin.left if keys else 0
        for key in keys:
            width = key.get_content_width(self.size, self.app.size) + \
                key.styles.gutter.width + key.styles.margin.width
            fits = x + width <= room
            if fits:
                x += width
            if key.display != fits:
                key.display = fits

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and (
                self._queued or (self._shown is not None and self._keys() == self._shown)):
            return
        super().bindings_changed(screen)
        self._queued = self._bindings_ready and bool(screen.app.app_focus) and \
            self.is_attached and screen is self.screen
