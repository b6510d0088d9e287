"""A deterministic rehearsal of the story's outage, for screenshots and demos.

``DemoTransport`` "runs" commands by emitting scripted output taken from the outage behind
pverunbook (the nyc cluster: ryanrishi and pve001): a knet link that flaps, 2% and 15% ping loss
between the nodes, mtr showing 84% at the router but 2% at the peer, ``pvecm status`` not quorate
and ``config_version`` 6 on one node and 5 on the other. Nothing touches a machine, and the same
inputs always give the same screens, so ``pverunbook screenshots`` regenerates identical SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pverunbook.engine.decisions import Decider
from pverunbook.engine.engine import CheckpointOutcome, Engine, ResumeInfo
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.model import Runbook, Step
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.sim.scenarios import COROSYNC_CONF as _STORY_CONF
from pverunbook.transport.base import CommandResult, OutputCallback, Transport

CLUSTER = Cluster(name="nyc", source="demo", nodes=(
    Node(name="ryanrishi", host="192.168.4.200", addr="192.168.4.200", gateway="192.168.4.1"),
    Node(name="pve001", host="192.168.4.201", addr="192.168.4.201", gateway="192.168.4.1"),
))

RUNBOOK_FILE = "nyc-outage-rehearsal.toml"

RUNBOOK = '''
id = "nyc-outage-rehearsal"
title = "Rehearsal: /etc/pve hangs on nyc — find the lossy link, then tune totem"
version = "1"
tags = ["rehearsal", "corosync", "network", "story"]
summary = """
The outage behind pverunbook: writes to /etc/pve hang and VMs vanish from the UI. Collect link, \\
loss and quorum evidence from both nodes, compare their corosync config, then raise the totem \\
timeouts (destructive: edits /etc/pve/corosync.conf, with a checkpoint first)."""

[[params]]
name = "token"
type = "int"
prompt = "Totem token timeout (ms)"
default = 5000
min = 1000
max = 30000
help = "How long corosync waits for the token before declaring a node lost (default 3000). \
consensus and token_retransmit follow it unless set by hand."

[[steps]]
id = "links"
title = "knet link state per peer (corosync-cfgtool -s)"
kind = "check"
commands = ["corosync-cfgtool -s"]
verdict = "links"
explain = "Each node lists every peer per knet link. `disconnected` means that link is down now."
hint = "A link is healthy only if each node sees the other as connected."

[[steps]]
id = "ping"
title = "Ping the peer's ring address (50 packets)"
kind = "check"
commands = ["ping -c 50 -i 0.2 {{peer_addr}}"]
timeout = 30
verdict = "ping"
explain = """
corosync's token ring suffers from about 1% loss on the ring address. Both directions are \\
measured at once, one pane per node."""
hint = "2% one way and 15% the other points at one NIC, cable or switch port."

[[steps]]
id = "mtr"
title = "mtr to the peer: which hop loses packets?"
kind = "check"
commands = ["mtr --report --report-cycles=50 {{peer_addr}}"]
timeout = 90
verdict = "mtr"
explain = """
Destination loss is the loss that counts: a router rate-limits the ICMP replies it generates \\
itself, so 84% at the gateway with 2% at the peer means 2% real loss. And two nodes on one \\
segment should reach each other in one hop."""
hint = "Read the last hop first."

[[steps]]
id = "quorum"
title = "Quorum on each node (pvecm status)"
kind = "check"
commands = ["pvecm status"]
ok_exit = [0, 2]
verdict = "quorum"
explain = "Without quorum pmxcfs makes /etc/pve read-only: that is why writes hang."

[[steps]]
id = "config-version"
title = "Compare corosync config_version and token"
kind = "check"
commands = ["corosync-cmapctl -g totem.config_version -g totem.token"]
explain = "Both nodes must run the same corosync.conf; a lower config_version is stale."

[[steps]]
id = "edit"
title = "Write /etc/pve/corosync.conf.new with the new token (diff + validation)"
kind = "action"
action = "corosync-edit"
targets = "first"
explain = """
pverunbook copies the cluster's corosync.conf to `.new`, sets `token`, drops a hand-set \
`token_retransmit`/`consensus` so they follow the token, bumps `config_version` and validates \
the result the way corosync would. Nothing is applied yet."""
hint = "Read the diff: token changed, config_version one higher, nothing else."

[steps.args]
unset = ["token_retransmit", "consensus"]

[steps.args.set]
token = "{{token}}"

[[steps]]
id = "tune"
title = "Apply: keep corosync.conf.bak, move corosync.conf.new into place"
kind = "run"
targets = "first"
max_targets = 1
destructive = true
confirm = "cluster"  # runs on one node, changes the whole cluster's corosync.conf
commands = [
  "timeout 10 cp /etc/pve/corosync.conf /etc/pve/corosync.conf.bak",
  "timeout 10 mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf",
]
explain = """
The documented way (pve-docs, "Edit corosync.conf"): pmxcfs copies /etc/pve/corosync.conf to \
every node and corosync reloads it; the token changes live."""
hint = "A checkpoint of both corosync.conf copies is taken before this runs."

[steps.backup]
files = ["/etc/pve/corosync.conf", "/etc/corosync/corosync.conf"]
'''

BROKEN_FILE = "old-recovery-notes.toml"
BROKEN_RUNBOOK = '''
id = "old-recovery-notes"
title = "Old recovery notes"

[[steps]]
id = "wipe"
title = "Clear the cluster database"
kind = "run"
destrutive = true
commands = ["rm -rf /var/lib/pve-cluster/config.db*"]
'''


def _ping(peer: str, lost: set[int], rtts: list[float], count: int = 50) -> list[str]:
    lines = [f"PING {peer} ({peer}) 56(84) bytes of data."]
    got: list[float] = []
    for seq in range(1, count + 1):
        if seq in lost:
            continue
        t = rtts[(seq - 1) % len(rtts)]
        got.append(t)
        lines.append(f"64 bytes from {peer}: icmp_seq={seq} ttl=64 time={t:.3f} ms")
    loss = round(100 * len(lost) / count)
    avg = sum(got) / len(got)
    lines += ["", f"--- {peer} ping statistics ---",
              f"{count} packets transmitted, {count - len(lost)} received, {loss}% packet loss, "
              "time 9846ms",
              f"rtt min/avg/max/mdev = {min(got):.3f}/{avg:.3f}/{max(got):.3f}/0.912 ms"]
    return lines


_RTT_A = [0.412, 0.389, 0.455, 0.398, 1.92, 0.401, 0.433, 0.47, 0.392, 0.51, 2.6, 0.44]
_RTT_B = [0.52, 3.1, 0.61, 7.8, 0.49, 2.4, 0.58, 11.2, 0.66, 0.55, 4.9, 0.6, 1.7]

_QUORUM = """Cluster information
-------------------
Name:             nyc
Config Version:   {version}
Transport:        knet
Secure auth:      on

Quorum information
------------------
Date:             Wed Nov 25 10:34:18 2026
Quorum provider:  corosync_votequorum
Nodes:            1
Node ID:          0x0000000{nodeid}
Ring ID:          {nodeid}.29
Quorate:          No

Votequorum information
----------------------
Expected votes:   2
Highest expected: 2
Total votes:      1
Quorum:           2 Activity blocked
Flags:{space}

Membership information
----------------------
    Nodeid      Votes Name
0x0000000{nodeid}          1 {addr} (local)"""

#: command substring → node → (stdout lines, exit status, seconds the command "took").
SCRIPTS: dict[str, dict[str, tuple[list[str], int, float]]] = {
    "corosync-cfgtool -s": {
        "ryanrishi": (["Local node ID 1, transport knet", "LINK ID 0 udp",
                       "\taddr\t= 192.168.4.200", "\tstatus:",
                       "\t\tnodeid:          1:\tlocalhost",
                       "\t\tnodeid:          2:\tdisconnected"], 0, 0.08),
        "pve001": (["Local node ID 2, transport knet", "LINK ID 0 udp",
                    "\taddr\t= 192.168.4.201", "\tstatus:",
                    "\t\tnodeid:          1:\tconnected",
                    "\t\tnodeid:          2:\tlocalhost"], 0, 0.07),
    },
    "ping ": {
        "ryanrishi": (_ping("192.168.4.201", {17}, _RTT_A), 0, 9.9),
        "pve001": (_ping("192.168.4.200", {4, 9, 10, 22, 23, 31, 40, 47}, _RTT_B), 0, 10.2),
    },
    "mtr ": {
        "ryanrishi": (["Start: 2026-11-25T10:31:02-0500",
                       "HOST: ryanrishi           Loss%   Snt   Last   Avg  Best  Wrst StDev",
                       "  1.|-- 192.168.4.1        84.0%    50    0.1   0.2   0.1   0.5   0.1",
                       "  2.|-- pve001              2.0%    50    1.7   1.5   0.4   2.1   0.4"],
                      0, 49.6),
        "pve001": (["Start: 2026-11-25T10:31:02-0500",
                    "HOST: pve001              Loss%   Snt   Last   Avg  Best  Wrst StDev",
                    "  1.|-- ryanrishi          16.0%    50    0.6   2.9   0.3  41.2   7.1"],
                   0, 49.8),
    },
    "pvecm status": {
        "ryanrishi": (_QUORUM.format(version=6, nodeid=1, addr="192.168.4.200",
                                     space=" ").splitlines(), 2, 0.31),
        "pve001": (_QUORUM.format(version=5, nodeid=2, addr="192.168.4.201",
                                  space=" ").splitlines(), 2, 0.29),
    },
    "corosync-cmapctl": {
        "ryanrishi": (["totem.cluster_name (str) = nyc", "totem.config_version (u64) = 6",
                       "totem.token (u32) = 3000", "totem.token_retransmits_before_loss_const "
                       "(u32) = 4"], 0, 0.02),
        "pve001": (["totem.cluster_name (str) = nyc", "totem.config_version (u64) = 5",
                    "totem.token (u32) = 3000", "totem.token_retransmits_before_loss_const "
                    "(u32) = 4"], 0, 0.02),
    },
    "cp /etc/pve/corosync.conf": {"ryanrishi": ([], 0, 0.05)},
    "mv /etc/pve/corosync.conf.new": {"ryanrishi": ([], 0, 0.05)},
}


#: The story's cluster config as the nodes had it (the simulator's copy, one version on).
COROSYNC_CONF = _STORY_CONF.replace("config_version: 5", "config_version: 6")


class DemoTransport(Transport):
    """Scripted per-node output; commands matching ``hold`` stop half-way until ``gate``."""

    mode = "rehearsal"

    def __init__(self, hold: tuple[str, ...] = ()) -> None:
        self.hold = hold
        self.files: dict[str, bytes] = {}
        self.gate = asyncio.Event()
        self.streaming = asyncio.Event()

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        lines: list[str] = [f"(the demo has no output for: {command})"]
        code, took = 0, 0.01
        for key, per_node in SCRIPTS.items():
            if key in command and node.name in per_node:
                lines, code, took = per_node[node.name]
                break
        held = any(h in command for h in self.hold)
        first = lines[: len(lines) * 2 // 5] if held else lines
        for line in first:
            on_output("stdout", line + "\n")
        if held:
            self.streaming.set()
            await self.gate.wait()
            for line in lines[len(first):]:
                on_output("stdout", line + "\n")
        return CommandResult(code, took)

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        return self.files.get(path, COROSYNC_CONF.encode())

    async def write_file(self, node: Node, path: str, data: bytes, *, mode: int | None = None,
                         timeout: float) -> None:
        self.files[path] = data


class DemoCheckpointer:
    """Pretends to copy the step's backup files: a fixed id, so screenshots are stable."""

    async def take(self, engine: Engine, step: Step, nodes: list[Node]) -> CheckpointOutcome:
        cid = f"ckpt-20261125-103802-{step.id}"
        items = [{"node": n.name, "file": f} for n in nodes for f in step.backup.files]
        return CheckpointOutcome(True, cid, path=f"checkpoints/{cid}", items=items)


class DemoSession(Session):
    """A started session on the demo cluster and transport, with the demo checkpointer."""

    def __init__(self, transport: DemoTransport, journal_path: Path) -> None:
        super().__init__(SessionConfig(mode=Mode.REHEARSAL, journal_path=journal_path,
                                       scenario="nyc-outage-demo"))
        self.cluster = CLUSTER
        self.transport = transport

    async def start(self) -> None:
        return None

    def engine(self, runbook: Runbook, decider: Decider, params: Mapping[str, Any], *,
               run_id: str | None = None, resume: ResumeInfo | None = None,
               journal_path: Path | None = None, operator: str | None = None) -> Engine:
        engine = super().engine(runbook, decider, params, run_id=run_id or "demo-run",
                                resume=resume, journal_path=journal_path,
                                operator=operator or "operator")
        engine.checkpointer = DemoCheckpointer()
        return engine


def write_runbooks(directory: Path) -> Path:
    """Write the demo runbook (and an invalid one, to show how errors look); returns the demo's
    path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / BROKEN_FILE).write_text(BROKEN_RUNBOOK, encoding="utf-8")
    path = directory / RUNBOOK_FILE
    path.write_text(RUNBOOK, encoding="utf-8")
    return path


SCREEN_SIZE = (140, 40)
SHOTS = ("start", "parameters", "run-ping", "run-mtr", "confirmation", "summary")


def _prepare_dir(out: Path) -> Path:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


async def take_screenshots(out: Path) -> list[Path]:
    """Drive the app through the demo rehearsal and save one SVG per screen into ``out``."""
    import contextlib
    import os
    import tempfile
    from unittest import mock

    from pverunbook.runbook.catalog import Entry
    from pverunbook.runbook.loader import RunbookError, load_file
    from pverunbook.ui.app import make_app
    from pverunbook.ui.screens.modals import ConfirmModal
    from pverunbook.ui.screens.params import ParamsScreen
    from pverunbook.ui.screens.run import RunScreen
    from pverunbook.ui.screens.start import StartScreen
    from pverunbook.ui.screens.summary import SummaryScreen

    out = await asyncio.to_thread(_prepare_dir, out)
    saved: list[Path] = []
    transport = DemoTransport(hold=("ping ",))
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="pverunbook-demo-") as tmp, contextlib.ExitStack() \
            as stack:
        os.chdir(tmp)
        stack.callback(os.chdir, cwd)
        # Wall-clock time is the one thing a scripted run cannot pin; the summary shows this.
        stack.enter_context(mock.patch("pverunbook.ui.model.fmt_duration",
                                       lambda s: "4m 12s"))
        from textual.widgets import Input

        original_init = Input.__init__

        def steady_cursor(self: Input, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self.cursor_blink = False  # a blinking cursor would make captures differ

        stack.enter_context(mock.patch.object(Input, "__init__", steady_cursor))
        rb_dir = Path("runbooks")
        demo_path = write_runbooks(rb_dir)
        entries: list[Entry] = []
        for p in (rb_dir / RUNBOOK_FILE, rb_dir / BROKEN_FILE):
            try:
                entries.append(Entry(p, True, load_file(p), None))
            except RunbookError as exc:
                entries.append(Entry(p, True, None, exc))
        session = DemoSession(transport, Path("journal.jsonl"))
        app = make_app(session.config, session=session)
        app.catalog = entries
        app.animation_level = "none"  # no tab-underline or scroll animations mid-capture

        async def until(pilot: Any, cond: Any, what: str) -> None:
            for _ in range(1000):
                if cond():
                    return
                await pilot.pause(0.01)
            raise RuntimeError(f"screenshots: timed out waiting for {what}")

        def shot(name: str) -> None:
            app.clear_notifications()
            saved.append(Path(app.save_screenshot(f"{name}.svg", path=str(out))))

        async with app.run_test(size=SCREEN_SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, StartScreen), "start screen")
            await pilot.pause()
            shot("start")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ParamsScreen), "parameters")
            await pilot.pause()
            shot("parameters")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
            run = app.screen
            assert isinstance(run, RunScreen)

            async def next_step() -> None:
                await until(pilot, lambda: run.decider.is_waiting, "the engine")
                await pilot.press("n")

            await next_step()  # links
            await next_step()  # ping: held half-way, both nodes streaming
            await until(pilot, lambda: transport.streaming.is_set()
                        and len(run.state.step("ping").lines("pve001")) > 12, "ping output")
            await pilot.pause(0.6)
            await pilot.pause()
            shot("run-ping")
            transport.gate.set()
            await next_step()  # mtr
            await until(pilot, lambda: run.decider.is_waiting, "mtr to finish")
            await pilot.pause(0.6)
            shot("run-mtr")
            await next_step()  # quorum
            await next_step()  # config-version
            await next_step()  # edit: corosync.conf.new with the diff
            await next_step()  # tune: checkpoint, then the typed confirmation
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "confirmation")
            await pilot.press(*"nyk", "enter")
            await pilot.pause()
            shot("confirmation")
            modal = app.screen
            assert isinstance(modal, ConfirmModal)
            modal.query_one("#confirm-input", Input).value = ""
            await pilot.press(*"nyc", "enter")
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "summary")
            await pilot.pause()
            shot("summary")
            await app.workers.wait_for_complete()
        del demo_path
    return saved
