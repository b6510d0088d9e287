"""While the ``$`` shell has the terminal, the app paints nothing: Textual's suspend stops
the thread that writes to the terminal but not its bounded queue, so a screen that ticks (the
start screen's COMMIT countdown, the run screen's clock) would fill it and block the event
loop for good: the shell on a rehearsal node (whose SSH server runs in that loop) froze, and
the app never came back from it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

from textual.screen import Screen

from pverunbook.ui.app import RunbookApp
from tests.ui.conftest import until


async def test_nothing_is_painted_while_the_shell_has_the_terminal(
        build_app: Callable[..., RunbookApp], tmp_path: Path) -> None:
    app = build_app()
    flag = tmp_path / "shell-may-end"
    suspended: list[bool] = []
    painted_meanwhile: list[str] = []

    @contextlib.contextmanager
    def suspend() -> Iterator[None]:
        # What App.suspend does to the terminal cannot happen under the headless driver:
        # only note that the terminal belongs to the shell now.
        suspended.append(True)
        try:
            yield
        finally:
            suspended.append(False)

    real_display = app._display

    def display(screen: Screen[object], renderable: object) -> None:
        if suspended and suspended[-1] and renderable is not None:
            painted_meanwhile.append(type(screen).__name__)
        real_display(screen, renderable)  # type: ignore[arg-type]

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.suspend = suspend  # type: ignore[method-assign]
        app._display = display  # type: ignore[method-assign]
        app.session.shell = lambda node: SimpleNamespace(  # type: ignore[method-assign]
            argv=("sh", "-c"))
        app.open_shell("pve001", command=f"while ! test -e {flag}; do sleep 0.02; done")
        await until(pilot, lambda: suspended, "the shell to start")
        for _ in range(5):  # what a ticking screen does every second
            app.screen.refresh(layout=True)
            await pilot.pause()
        flag.touch()
        await until(pilot, lambda: app.shells, "the shell to end")
        assert app.shells == [("pve001", 0)]
        assert painted_meanwhile == []
        assert app._batch_count == 0  # painting again once the shell is over
