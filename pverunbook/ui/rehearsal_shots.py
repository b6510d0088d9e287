"""Screenshots of the SHIPPED runbooks, rehearsed against the simulated cluster over SSH.

One launch, as an operator would do it (``pverunbook.ui.autopilot``), on the story's 2-node
outage: the start screen, network-triage while it runs, its summary with the diagnosis, a
shell on ryanrishi that removes the stale host route (the story's fix), then corosync-tuning's
parameter form and its first typed confirmation. A second launch on five nodes with one bad
link shows the run screen past two nodes. Every picture is taken twice: at 80×24
(``NAME-80x24.svg``, a crash cart or an IPMI console) and at 200×50 (``NAME.svg``).

Two runs write the same bytes. What is pinned for that: the simulated cluster runs on a
stepped clock from the story's evening (``pverunbook.sim.clock``: simulated time moves only
when a command waits, so link state, journal lines and ping samples do not depend on how fast
this machine is), its SSH keys are derived from fixed seeds, the journal and checkpoint
directories are relative to a temporary working directory, and the run ids, the operator's
name, the time zone (UTC) and the durations shown are fixed. A node's pane that follows its
output is anchored to its end (``OutputLog.at_tail``), so where its lines stand does not depend
on whether the last batch came before or after the layout that took a row from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from pverunbook.ui.app import RunbookApp

#: (file suffix, terminal size) for every picture, in the order taken: first the size the
#: app runs at (what happened is laid out and scrolled there), then the small console.
SIZES: tuple[tuple[str, tuple[int, int]], ...] = (("", (200, 50)), ("-80x24", (80, 24)))
#: The pictures, in the order they are taken.
SHOTS = ("start", "run-triage", "summary", "parameters", "confirmation", "run-5-nodes")
#: The story's real fix, typed in the shell on ryanrishi.
ROUTE_FIX = "ip route del 192.168.4.201"
#: 2024-11-19 21:40 UTC, the story's evening: where the stepped simulated clock starts.
STORY_EPOCH = 1732052400.0
#: The 5-node picture's scenario: five nodes, the link between the 2nd and 3rd is bad.
FIVE_NODES = "five-node-bad-link"


def _prepare(out: Path) -> Path:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _fixed_keys(state_dir: Path, names: list[str]) -> None:
    """SSH keys the simulator would otherwise make at random, derived from fixed seeds (the
    host key fingerprints are on screen). Only for screenshots: never a real cluster's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    kdir = state_dir / "keys"
    kdir.mkdir(parents=True, exist_ok=True)
    files = {f"ssh_host_ed25519_key.{n}": f"root@{n}" for n in names}
    files["rehearsal_ed25519"] = "pverunbook-rehearsal"
    for fname, comment in files.items():
        seed = hashlib.sha256(f"pverunbook screenshots {fname}".encode()).digest()
        key = Ed25519PrivateKey.from_private_bytes(seed)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
        pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH)
        (kdir / fname).write_bytes(pem)
        (kdir / fname).chmod(0o600)
        (kdir / f"{fname}.pub").write_bytes(pub + f" {comment}\n".encode())
    (kdir / "password").write_text("rehearse-screens\n")


@contextlib.contextmanager
def _pinned(tmp: Path) -> Iterator[None]:
    """Everything that would make two captures differ, fixed for the duration."""
    old_env = {k: os.environ.get(k) for k in ("PVERUNBOOK_STATE_DIR", "PVERUNBOOK_DATA_DIR",
                                                "TZ")}
    # Relative to the working directory below: the paths shown are the same in every run.
    os.environ["PVERUNBOOK_STATE_DIR"] = "state"
    os.environ["PVERUNBOOK_DATA_DIR"] = "data"
    os.environ["TZ"] = "UTC"
    time.tzset()
    cwd = Path.cwd()
    from pverunbook.runbook import catalog

    shipped = catalog.builtin_dir()
    os.chdir(tmp)
    # The shipped runbooks as ./runbooks: the start screen shows a runbook's path, and the
    # checkout's or the install's absolute one made every capture depend on where it ran.
    with contextlib.suppress(FileExistsError):
        Path("runbooks").symlink_to(shipped, target_is_directory=True)
    counter = itertools.count(1)
    from textual.widgets import Input

    original_init = Input.__init__

    def steady_cursor(self: Input, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.cursor_blink = False

    patches: list[Any] = [
        mock.patch("pverunbook.engine.journal.new_run_id",  # session imports it per run
                   lambda: f"20241119-2140{next(counter):02d}-rehear"),
        mock.patch("pverunbook.engine.engine._whoami", lambda: "root"),
        mock.patch("pverunbook.ui.model.fmt_duration", lambda s: "4m 12s"),
        mock.patch("pverunbook.ui.widgets.output.fmt_duration", lambda s: "1.2s"),
        mock.patch.object(Input, "__init__", steady_cursor),
        mock.patch.object(catalog, "builtin_dir", lambda: Path("runbooks")),
    ]
    try:
        for p in patches:
            p.start()
        yield
    finally:
        for p in reversed(patches):
            p.stop()
        os.chdir(cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        time.tzset()


class _Camera:
    """Takes the pictures of one app into ``out``; knows which are still wanted."""

    def __init__(self, out: Path, wanted: Collection[str]) -> None:
        self.out = out
        self.wanted = [s for s in SHOTS if s in wanted]
        self.saved: list[Path] = []

    @property
    def done(self) -> bool:
        taken = {p.stem.removesuffix("-80x24") for p in self.saved}
        return all(s in taken for s in self.wanted)

    def wants(self, name: str) -> bool:
        return name in self.wanted and not any(p.stem == name for p in self.saved)

    async def shot(self, pilot: Pilot[Any], app: RunbookApp, name: str) -> None:
        if not self.wants(name):
            return
        app.clear_notifications()
        big = SIZES[0][1]
        for suffix, (w, h) in SIZES:
            if app.size != (w, h):
                await pilot.resize_terminal(w, h)
            await self.settle(pilot)
            path = app.save_screenshot(f"{name}{suffix}.svg", path=str(self.out))
            self.saved.append(Path(path))
        await pilot.resize_terminal(*big)
        await self.settle(pilot)

    @staticmethod
    async def settle(pilot: Pilot[Any]) -> None:
        """Let every pending message, refresh and after-refresh call run, then put the
        findings at their newest one (where the run screen scrolls them; done here again
        because its scroll can land before a long batch of findings is laid out), so the
        picture does not depend on how fast this machine drew it."""
        from textual.containers import VerticalScroll

        for _ in range(3):
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
        for scroll in pilot.app.screen.query("#findings-scroll").results(VerticalScroll):
            scroll.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()


def _config(tmp: Path, scenario: str, time_scale: float) -> Any:
    from pverunbook.session import Mode, SessionConfig
    from pverunbook.sim.scenarios import get

    sc = get(scenario)
    state = tmp / "rehearsal" / scenario
    names = [n.name for n in sc.nodes] + ([sc.qnetd[0]] if sc.qnetd else [])
    _fixed_keys(state, names)
    return SessionConfig(mode=Mode.REHEARSAL, scenario=scenario, sim_state_dir=state,
                         time_scale=time_scale, sim_stepped_from=STORY_EPOCH)


async def _story(cam: _Camera, tmp: Path, time_scale: float) -> None:
    """The 2-node outage: start, triage, its summary, the fix, corosync-tuning's form and
    confirmation (stops as soon as the wanted pictures are taken)."""
    from pverunbook.ui.app import make_app
    from pverunbook.ui.autopilot import AutopilotStuck, drive_run, start_from_list, until
    from pverunbook.ui.screens.modals import ConfirmModal
    from pverunbook.ui.screens.params import ParamsScreen
    from pverunbook.ui.screens.run import RunScreen
    from pverunbook.ui.screens.start import StartScreen

    app = make_app(_config(tmp, "nyc-outage", time_scale))
    app.animation_level = "none"
    async with app.run_test(size=SIZES[0][1]) as pilot:
        try:
            await until(pilot, lambda: app.session.cluster is not None
                        and isinstance(app.screen, StartScreen), "the rehearsal cluster")
            await pilot.pause()
            await cam.shot(pilot, app, "start")
            if cam.done:
                return

            async def after_ping(run: RunScreen) -> None:
                last = run.state.last_finished
                if last is not None and last.id == "ping":
                    await cam.shot(pilot, app, "run-triage")

            await start_from_list(pilot, app, "network-triage")
            await drive_run(pilot, app, after_ping)
            await pilot.pause()
            await cam.shot(pilot, app, "summary")
            if cam.done:
                return
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, StartScreen), "the list")

            app.open_shell("ryanrishi", command=ROUTE_FIX)
            await until(pilot, lambda: app.shells, "the shell")

            await start_from_list(pilot, app, "corosync-tuning")
            await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.pause()
            await cam.shot(pilot, app, "parameters")
            if cam.done:
                return
            await pilot.press("ctrl+s")
            # The first typed confirmation of corosync-tuning (its destructive edit).
            await until(pilot, lambda: isinstance(app.screen, RunScreen), "the run")
            for _ in range(100):
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal) or (
                    isinstance(app.screen, RunScreen) and app.screen.decider.is_waiting),
                    "the first confirmation")
                if isinstance(app.screen, ConfirmModal):
                    break
                await pilot.press("n")
            else:
                raise AutopilotStuck("corosync-tuning asked for no confirmation")
            modal = app.screen
            # drawn, and taking keys (the Escape below is pressed after it was shown)
            await until(pilot, lambda: isinstance(modal, ConfirmModal) and modal.taking_keys,
                        "the confirmation drawn")
            await pilot.pause()
            await cam.shot(pilot, app, "confirmation")
            await pilot.press("escape")
        finally:
            await app.session.close()


async def _five_nodes(cam: _Camera, tmp: Path, time_scale: float) -> None:
    """network-triage on five nodes, pictured after its ping step."""
    from pverunbook.ui.app import make_app
    from pverunbook.ui.autopilot import AutopilotStuck, drive_run, start_from_list, until
    from pverunbook.ui.screens.run import RunScreen
    from pverunbook.ui.screens.start import StartScreen

    app = make_app(_config(tmp, FIVE_NODES, time_scale))
    app.animation_level = "none"
    async with app.run_test(size=SIZES[0][1]) as pilot:
        try:
            await until(pilot, lambda: app.session.cluster is not None
                        and isinstance(app.screen, StartScreen), "the rehearsal cluster")
            await start_from_list(pilot, app, "network-triage")

            async def after_ping(run: RunScreen) -> None:
                last = run.state.last_finished
                if last is not None and last.id == "ping":
                    await cam.shot(pilot, app, "run-5-nodes")
                    raise _Enough

            with contextlib.suppress(_Enough):
                await drive_run(pilot, app, after_ping)
                raise AutopilotStuck("network-triage on five nodes ended before its ping step")
        finally:
            await app.session.close()


class _Enough(Exception):
    """The wanted picture is taken; the run need not go on."""


async def take_rehearsal_screenshots(out: Path, time_scale: float = 0.002,
                                     only: Collection[str] | None = None) -> list[Path]:
    """Rehearse the shipped runbooks and write the ``SHOTS`` pictures (those in ``only``, if
    given) at every ``SIZES`` size into ``out`` (created). Returns the files, in order.
    Raises :class:`~pverunbook.ui.autopilot.AutopilotStuck` if the rehearsal does not get
    to every wanted picture, ValueError for a name not in ``SHOTS``."""
    from pverunbook.ui.autopilot import AutopilotStuck

    unknown = sorted(set(only or ()) - set(SHOTS))
    if unknown:
        raise ValueError(f"no screenshot named {', '.join(unknown)}; the names are "
                         + ", ".join(SHOTS))
    cam = _Camera(await asyncio.to_thread(_prepare, out), only or SHOTS)
    with tempfile.TemporaryDirectory(prefix="pverunbook-shots-") as tmp, _pinned(Path(tmp)):
        if set(cam.wanted) - {"run-5-nodes"}:
            await _story(cam, Path(tmp), time_scale)
        if cam.wants("run-5-nodes"):
            await _five_nodes(cam, Path(tmp), time_scale)
    if not cam.done:
        taken = sorted({p.stem for p in cam.saved})
        raise AutopilotStuck(f"the rehearsal ended with only {taken or 'no pictures'} taken")
    return cam.saved
