"""UI test fixtures: isolation, a scripted two-node transport and an injected session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Input

from pverunbook.inventory import Cluster, Node
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.base import CommandResult, OutputCallback, Transport
from pverunbook.ui.app import RunbookApp, make_app

CLUSTER = Cluster(name="nyc", nodes=(
    Node(name="ryanrishi", host="192.168.4.200", addr="192.168.4.200", gateway="192.168.4.1"),
    Node(name="pve001", host="192.168.4.201", addr="192.168.4.201", gateway="192.168.4.1"),
))

#: Five nodes: the run screen's grid, strip and grouping of identical outputs.
CLUSTER5 = Cluster(name="lab", nodes=tuple(
    Node(name=f"pve{i}", host=f"10.0.0.{i}", addr=f"10.0.0.{i}", gateway="10.0.0.254")
    for i in range(1, 6)))


def _ping(peer: str, loss: int, rtts: list[float]) -> list[str]:
    lines = [f"PING {peer} ({peer}) 56(84) bytes of data."]
    lines += [f"64 bytes from {peer}: icmp_seq={i + 1} ttl=64 time={t} ms"
              for i, t in enumerate(rtts)]
    received = 20 - round(20 * loss / 100)
    return lines + ["", f"--- {peer} ping statistics ---",
                    f"20 packets transmitted, {received} received, {loss}% packet loss, "
                    "time 3804ms",
                    f"rtt min/avg/max/mdev = {min(rtts)}/{sum(rtts) / len(rtts):.3f}/"
                    f"{max(rtts)}/0.120 ms"]


#: command substring → node → (lines, exit status). Different per node on purpose.
SCRIPTS: dict[str, dict[str, tuple[list[str], int]]] = {
    "ping": {
        "ryanrishi": (_ping("192.168.4.201", 10, [0.41, 0.39, 0.52, 0.44, 1.9, 0.40]), 0),
        "pve001": (_ping("192.168.4.200", 15, [0.45, 3.2, 0.61, 7.8, 0.5, 2.4]), 0),
        # pve1..pve3 print the same; pve4 and pve5 lose packets.
        **{f"pve{i}": (_ping("10.0.0.9", 0, [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]), 0)
           for i in (1, 2, 3)},
        "pve4": (_ping("10.0.0.9", 25, [0.4, 9.1, 0.5, 12.3, 0.4, 0.6]), 0),
        "pve5": (_ping("10.0.0.9", 60, [0.5, 31.0, 0.7, 44.2]), 0),
    },
    "config_version": {
        "ryanrishi": (["totem.cluster_name (str) = nyc", "config_version: 6",
                       "token: 5000"], 0),
        "pve001": (["totem.cluster_name (str) = nyc", "config_version: 5",
                    "token: 3000"], 0),
    },
    "echo token": {
        "ryanrishi": (["token set"], 0),
        "pve001": (["token set"], 0),
    },
}

RUNBOOK = """
id = "ui-test"
title = "UI test: triage the corosync link, then tune"
summary = "Ping the peer, compare config_version, then change the token timeout."
tags = ["test", "network"]

[[params]]
name = "token"
type = "int"
prompt = "Totem token timeout (ms)"
default = 5000
min = 1000
max = 30000
help = "corosync waits this long for the token before declaring a node lost."

[[params]]
name = "api_secret"
type = "str"
prompt = "API token secret"
default = "s3cr3t-value"
secret = true

[[steps]]
id = "ping"
title = "Ping the peer's ring address"
kind = "check"
commands = ["ping -c 20 -i 0.2 {{peer_addr}}"]
verdict = "ping"
explain = "Loss on the ring address is what makes corosync lose its token."
hint = "Compare both directions: 2% one way and 15% the other points at one NIC or cable."

[[steps]]
id = "config"
title = "Compare config_version on every node"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version"]
explain = "Nodes must agree on `config_version`; a node with an older one rejoins badly."

[[steps]]
id = "tune"
title = "Raise the totem token timeout"
kind = "run"
destructive = true
no_backup_reason = "test transport: nothing to back up"
commands = ["echo token={{token}}"]
explain = "Writes the new token timeout on every node."
"""

INVALID_RUNBOOK = """
id = "broken"
title = "Broken runbook"

[[steps]]
id = "x"
title = "typo"
kind = "check"
destrutive = true
commands = ["true"]
"""


class ScriptTransport(Transport):
    """Emits scripted per-node output; ``hold`` makes commands wait on ``gate`` half-way."""

    mode = "rehearsal"

    def __init__(self, hold: tuple[str, ...] = ()) -> None:
        self.gate = asyncio.Event()
        self.hold = hold
        self.ran: list[tuple[str, str]] = []
        self.cancelled: list[tuple[str, str]] = []
        self.streaming = asyncio.Event()

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        self.ran.append((node.name, command))
        lines, code = ["(no script for this command)"], 0
        for key, per_node in SCRIPTS.items():
            if key in command:
                lines, code = per_node.get(node.name, lines)
                break
        held = any(h in command for h in self.hold)
        first = lines[: len(lines) // 2] if held else lines
        try:
            for line in first:
                on_output("stdout", line + "\n")
            if held:
                self.streaming.set()
                await self.gate.wait()
                for line in lines[len(first):]:
                    on_output("stdout", line + "\n")
        except asyncio.CancelledError:
            self.cancelled.append((node.name, command))
            raise
        return CommandResult(code, 1.25 if node.name == "ryanrishi" else 2.5)


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own state/data dirs, no built-in runbooks, fixed clocks, no cursor blink."""
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))
    empty = tmp_path / "builtin"
    empty.mkdir()
    monkeypatch.setattr("pverunbook.runbook.catalog.builtin_dir", lambda: empty)
    # The summary's "time spent" is wall-clock; pin it so snapshots are stable.
    monkeypatch.setattr("pverunbook.ui.model.fmt_duration", lambda s: "1m 05s")
    # A running command's time in the strip ticks with the wall clock: the strip's clock
    # stands before every event here, so a running command reads 0.0s in every snapshot.
    monkeypatch.setattr("pverunbook.ui.model.time", SimpleNamespace(time=lambda: 0.0))
    monkeypatch.setattr("pverunbook.engine.engine._whoami", lambda: "operator")
    monkeypatch.chdir(tmp_path)
    original = Input.__init__

    def no_blink(self: Input, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        self.cursor_blink = False

    monkeypatch.setattr(Input, "__init__", no_blink)


@pytest.fixture
def runbook_dir(_isolate: None) -> Path:
    """Relative to the test's own cwd, so paths shown on screen are the same every run."""
    d = Path("runbooks")
    d.mkdir()
    (d / "ui-test.toml").write_text(RUNBOOK, encoding="utf-8")
    (d / "broken.toml").write_text(INVALID_RUNBOOK, encoding="utf-8")
    return d


def make_session(transport: Transport, mode: Mode = Mode.REHEARSAL,
                 cluster: Cluster = CLUSTER) -> Session:
    session = Session(SessionConfig(mode=mode, journal_path=Path("journal.jsonl")))
    session.cluster = cluster
    session.transport = transport
    return session


@pytest.fixture
def build_app(runbook_dir: Path) -> Callable[..., RunbookApp]:
    def build(transport: Transport | None = None, *, mode: Mode = Mode.REHEARSAL,
              runbook: Path | None = None, params: dict[str, str] | None = None,
              cluster: Cluster = CLUSTER) -> RunbookApp:
        session = make_session(transport or ScriptTransport(), mode, cluster)
        app = make_app(session.config, runbook_dirs=[runbook_dir], runbook=runbook,
                       params=params, session=session)
        app.animation_level = "none"
        return app

    return build


async def until(pilot: object, cond: Callable[[], object], what: str = "condition",
                tries: int = 3000) -> None:
    """Let the app process messages until ``cond()`` holds (bounded; no fixed sleeps)."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.01)  # type: ignore[attr-defined]
    raise AssertionError(f"timed out waiting for {what}")


def confirm_ready(app: RunbookApp) -> bool:
    """A typed confirmation (or COMMIT) is shown and takes keys: a key pressed before it was
    drawn is not typed into it (``TypedInput``), so a test types once this holds."""
    from pverunbook.ui.screens.modals import ConfirmModal

    return isinstance(app.screen, ConfirmModal) and app.screen.taking_keys


def form_ready(app: RunbookApp) -> bool:
    """The parameter screen is shown and composed: its buttons are mounted. The screen is the
    app's screen a moment before its children are (under load, long enough for a query to
    find nothing: ``NoMatches '#params-later'``, ``'#params-start'``)."""
    from pverunbook.ui.screens.params import ParamsScreen

    return isinstance(app.screen, ParamsScreen) and bool(app.screen.query("#params-start"))


def start_ready(app: RunbookApp) -> bool:
    """The start screen is shown with its runbook list filled. The app finds the runbooks after
    the first frame (the start screen says it is finding them until then): a key pressed on
    the list before that finds no entry (under load: ``timed out waiting for error`` after
    Enter on an empty list)."""
    from pverunbook.ui.screens.start import StartScreen

    return isinstance(app.screen, StartScreen) and not app.screen.finding


def summary_ready(app: RunbookApp) -> bool:
    """The summary screen is shown and composed (its text is mounted): as with the parameter
    form (``form_ready``), the screen is the app's a moment before its children are (under
    load: ``NoMatches '#summary-text'``)."""
    from pverunbook.ui.screens.summary import SummaryScreen

    return isinstance(app.screen, SummaryScreen) and bool(app.screen.query("#summary-text"))


async def to_run_screen(pilot: object, app: RunbookApp) -> None:
    """From a params screen (app built with ``runbook=``): start, wait for "next"."""
    from pverunbook.ui.screens.run import RunScreen

    await until(pilot, lambda: form_ready(app), "params screen")
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, RunScreen)
                and app.screen.decider.is_waiting, "the engine to wait for next")
