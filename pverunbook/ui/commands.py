"""The command palette: the current screen's actions (the same as its keys) first, then the
session's (runbooks, journal, checkpoints, resume, shell, reset, quit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

PaletteCommand = tuple[str, str, Callable[[], object]]


@runtime_checkable
class HasPaletteCommands(Protocol):
    def palette_commands(self) -> list[PaletteCommand]: ...


class RunbookCommands(Provider):
    """Commands of the active screen (``palette_commands``): only those that make sense now."""

    def _commands(self) -> list[PaletteCommand]:
        out: list[PaletteCommand] = []
        screen = self.screen
        if isinstance(screen, HasPaletteCommands):
            out += screen.palette_commands()
        app = self.app
        if isinstance(app, HasPaletteCommands):
            seen = {name for name, _, _ in out}
            out += [c for c in app.palette_commands() if c[0] not in seen]
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
