"""A two-line fix pasted into the run screen's ``$`` shell on a rehearsal node runs both lines,
the second after the first ends, as on a real node (OpenSSH and bash keep what is typed
ahead). The rehearsal shell read the second line while the first ran and threw it away.

The app hands the terminal to OpenSSH's ``ssh`` (the TUI suspends); under the headless driver
there is no terminal to hand over, so the test's suspend gives ``ssh`` a pty of its own, as the
real one gives it the operator's: the test is the person typing at it. Nothing waits for a
time: every step waits for what the shell printed or for the app's state."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
from collections.abc import Iterator
from pathlib import Path

from pverunbook.session import Mode, SessionConfig
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.autopilot import start_from_list
from pverunbook.ui.screens.modals import PickModal
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import to_run_screen, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
#: The fix's first line runs until the test touches /tmp/go on the node.
FIRST = "while ! test -e /tmp/go; do sleep 1; done; echo $((20+1))"
SECOND = "echo $((30+2))"


class Terminal:
    """A pty for the shell: ``suspend`` gives its far end to the app's child processes (fds 0,
    1 and 2, which the child inherits) and takes it back; ``out`` is what was shown on it."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        os.set_blocking(self.master, False)
        self.out = b""
        self.handed: list[bool] = []

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self.out += os.read(self.master, 65536)

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        saved = [os.dup(fd) for fd in (0, 1, 2)]
        loop = asyncio.get_running_loop()
        loop.add_reader(self.master, self._read)
        try:
            for fd in (0, 1, 2):
                os.dup2(self.slave, fd)
            self.handed.append(True)
            yield
        finally:
            for fd, old in zip((0, 1, 2), saved, strict=True):
                os.dup2(old, fd)
                os.close(old)
            self.handed.append(False)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


async def test_a_pasted_two_line_fix_runs_both_lines(tmp_path: Path) -> None:
    config = SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=tmp_path / "rehearsal",
                           time_scale=0.01)
    app: RunbookApp = make_app(config, runbook_dirs=[SHIPPED])
    app.animation_level = "none"
    term = Terminal()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.session.cluster is not None
                        and isinstance(app.screen, StartScreen), "the rehearsal cluster")
            await start_from_list(pilot, app, "network-triage")
            await to_run_screen(pilot, app)
            assert isinstance(app.screen, RunScreen)
            app.suspend = term.suspend  # type: ignore[method-assign]
            await pilot.press("dollar_sign")
            await until(pilot, lambda: isinstance(app.screen, PickModal), "which node")
            await pilot.press("enter")  # the first node: ryanrishi
            await until(pilot, lambda: b"root@ryanrishi:~# " in term.out, "the shell's prompt")
            term.type(f"{FIRST}\r{SECOND}\r")  # one paste
            # the first line runs (the second waits unseen for the next prompt, as bash's
            # readline leaves it)
            await until(pilot, lambda: f"{FIRST}\r\n".encode() in term.out, "the first line")
            cluster = app.session.cluster
            assert cluster is not None and app.session.transport is not None
            await app.session.transport.run(cluster.node("ryanrishi"), "touch /tmp/go",
                                            timeout=30, on_output=lambda _s, _t: None)
            await until(pilot, lambda: b"\r\n32\r\n" in term.out, "the second line's output")
            assert term.out.index(b"\r\n21\r\n") < term.out.index(
                f"# {SECOND}\r\n32\r\n".encode())
            term.type("exit\r")
            await until(pilot, lambda: app.shells, "back from the shell")
            assert app.shells == [("ryanrishi", 0)]
            assert term.handed == [True, False]
    finally:
        term.close()
