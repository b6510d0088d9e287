"""Guards against nodes played by LocalTransport: each node gets its own PATH of tiny fake tools
(fed with real corosync 3.1.7 captures) and its own corosync.conf. That double stands in for the
node, not for the guard code, which runs unchanged.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.guards import COROSYNC_CONF, ProxmoxGuards, ha_activity
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.base import CommandResult, OutputCallback
from pverunbook.transport.local import LocalTransport

# Our own captures from the test bed (tests/data/corosync-3.1.7/README.md), so a fresh checkout
# without ../shared runs these tests too.
CAPTURES = Path(__file__).resolve().parents[1] / "data" / "corosync-3.1.7"
NODES = (Node("pve1", "pve1"), Node("pve2", "pve2"))
CLUSTER = Cluster("nyc", NODES)

HA_STATUS = """quorum OK
master pve1 (active, Wed Nov 25 10:30:00 2026)
lrm pve1 (active, Wed Nov 25 10:30:01 2026)
lrm pve2 (idle, Wed Nov 25 10:30:02 2026)
service vm:108 (pve1, started)
service ct:200 (pve2, ignored)
"""


class FakeNodes(LocalTransport):
    """Runs each node's commands with ``<root>/<node>/bin`` first on PATH and reads its
    corosync.conf from ``<root>/<node>/corosync.conf``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def tool(self, node: str, name: str, script: str) -> None:
        bin_dir = self.root / node / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        bin_dir = shlex.quote(str(self.root / node.name / "bin"))
        return await super().run(node, f"export PATH={bin_dir}:$PATH; {command}",
                                 timeout=timeout, on_output=on_output)

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        if path == COROSYNC_CONF:
            path = str(self.root / node.name / "corosync.conf")
        return await super().read_file(node, path, timeout=timeout)


def capture(name: str) -> str:
    text = (CAPTURES / name).read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("exit="))


def printing(text: str, exit_status: int = 0, stream: str = "1") -> str:
    return f"cat >&{stream} <<'EOF'\n{text}\nEOF\nexit {exit_status}\n"


def make_engine(fake: FakeNodes, guards: str, command: str = "true") -> Engine:
    text = f"""
id = "g"
title = "Guards"
[[steps]]
id = "act"
title = "Act"
commands = ["{command}"]
{guards}
"""
    return Engine(load_text(text), CLUSTER, fake, ScriptedDecider(confirm_text="nyc"),
                  run_id="20260101-000000-abcdef", guards=ProxmoxGuards())


async def check(fake: FakeNodes, guards: str) -> list[ev.GuardResult]:
    engine = make_engine(fake, guards)
    step = engine.runbook.steps[0]
    return await ProxmoxGuards().check(engine, step, list(NODES))


def guard(kind: str, **extra: object) -> str:
    lines = ["[[steps.guards]]", f'check = "{kind}"']
    for k, v in extra.items():
        lines.append(f"{k} = {v!r}".replace("'", '"') if isinstance(v, str)
                     else f"{k} = {str(v).lower()}")
    return "\n".join(lines)


@pytest.fixture
def fake(tmp_path: Path) -> FakeNodes:
    return FakeNodes(tmp_path)


async def test_quorate_from_real_captures(fake: FakeNodes) -> None:
    fake.tool("pve1", "corosync-quorumtool", printing(capture("quorumtool-siH_2node-quorate.txt")))
    fake.tool("pve2", "corosync-quorumtool",
              printing(capture("quorumtool-siH_2node-partitioned.txt"), 2))
    (res,) = await check(fake, guard("quorate"))
    assert not res.ok and res.check == "quorate"
    assert "pve1: Quorate: Yes (2 votes, 2 needed)" in res.message
    assert "pve2: Quorate: No (1 votes, 2 needed)" in res.message
    assert "pvecm expected 1" in res.message  # what to do, and where it splits the cluster
    assert "every peer is powered off" in res.message and "merely cut off" in res.message
    (res,) = await check(fake, guard("not-quorate"))
    assert not res.ok and "pve1: Quorate: Yes" in res.message


async def test_corosync_down_and_pvecm_fallback(fake: FakeNodes) -> None:
    fake.tool("pve1", "corosync-quorumtool",
              printing("Cannot initialize QUORUM service", 1, stream="2"))
    # pve2 has no corosync-quorumtool at all: pvecm status is used instead.
    fake.tool("pve2", "corosync-quorumtool", "exit 127\n")
    fake.tool("pve2", "pvecm", printing(capture("quorumtool-siH_2node-partitioned.txt"), 2))
    (res,) = await check(fake, guard("not-quorate"))
    assert res.ok, res.message
    assert "pve1: corosync is not running" in res.message
    assert "pve2: Quorate: No" in res.message


async def test_hung_quorumtool_times_out(fake: FakeNodes) -> None:
    for n in ("pve1", "pve2"):
        fake.tool(n, "corosync-quorumtool", "sleep 30\n")
    start = time.monotonic()
    (res,) = await check(fake, guard("quorate", within=1))
    assert time.monotonic() - start < 6
    assert not res.ok and "no answer within 1s" in res.message


async def test_pve_writable_hung_readonly_and_ok(fake: FakeNodes) -> None:
    fake.tool("pve1", "touch", "sleep 30\n")  # pmxcfs blocked: the write never returns
    fake.tool("pve2", "touch", "echo \"touch: cannot touch '$1': Permission denied\" >&2; "
                               "exit 1\n")
    start = time.monotonic()
    (res,) = await check(fake, guard("pve-writable", within=1))
    assert time.monotonic() - start < 8
    assert not res.ok
    assert "pve1: a write to /etc/pve hung for 1s" in res.message
    assert "pve2: /etc/pve is not writable: touch: cannot touch" in res.message
    assert "Permission denied" in res.message
    for n in ("pve1", "pve2"):
        # each node probes a name of its own (one replicated /etc/pve for all nodes)
        fake.tool(n, "touch", "case \"$1\" in /etc/pve/.pverunbook-probe-20260101-000000-abcdef-"
                              f"{n}) exit 0;; esac; exit 9\n")
    (res,) = await check(fake, guard("pve-writable", within=2))
    assert res.ok, res.message


async def test_corosync_running(fake: FakeNodes) -> None:
    fake.tool("pve1", "systemctl", "echo active\n")
    fake.tool("pve2", "systemctl", "echo inactive; exit 3\n")
    (res,) = await check(fake, guard("corosync-running"))
    assert not res.ok
    assert "pve1: corosync active" in res.message and "pve2: corosync inactive" in res.message
    assert "systemctl start corosync" in res.message


async def test_same_config_version(fake: FakeNodes, tmp_path: Path) -> None:
    conf = "totem {\n  cluster_name: nyc\n  config_version: %d\n}\n"
    (tmp_path / "pve1").mkdir()
    (tmp_path / "pve2").mkdir()
    (tmp_path / "pve1" / "corosync.conf").write_text(conf % 6)
    (tmp_path / "pve2" / "corosync.conf").write_text(conf % 5)
    (res,) = await check(fake, guard("same-config-version"))
    assert not res.ok
    assert "pve1: config_version 6" in res.message
    assert "pve2: config_version 5 (behind 6)" in res.message
    (tmp_path / "pve2" / "corosync.conf").write_text(conf % 6)
    (res,) = await check(fake, guard("same-config-version"))
    assert res.ok, res.message
    (tmp_path / "pve2" / "corosync.conf").write_text(conf % 0)  # pmxcfs: 0 is unparsable
    (res,) = await check(fake, guard("same-config-version"))
    assert not res.ok and "pve2: no usable config_version" in res.message
    (tmp_path / "pve2" / "corosync.conf").unlink()
    (res,) = await check(fake, guard("same-config-version"))
    assert not res.ok and "pve2: cannot read" in res.message


async def test_same_config_version_on_one_node_compares_nothing(fake: FakeNodes,
                                                                 tmp_path: Path) -> None:
    """A one-node inventory: the guard passed ("pve1: config_version 6"), as if the nodes
    agreed. It says there is nothing to compare now: a warning, neither a pass nor a block."""
    (tmp_path / "pve1").mkdir()
    (tmp_path / "pve1" / "corosync.conf").write_text("totem {\n  config_version: 6\n}\n")
    engine = make_engine(fake, guard("same-config-version"))
    engine.cluster = Cluster("nyc", NODES[:1])
    (res,) = await ProxmoxGuards().check(engine, engine.runbook.steps[0], list(NODES[:1]))
    assert not res.ok and res.warn_only, res
    assert "pve1: config_version 6, the only node compared" in res.message, res.message
    assert "does not show that the cluster's nodes agree" in res.message, res.message
    assert "one-node inventory compares nothing" in res.message, res.message
    assert "identical on all nodes" not in res.message, res.message


async def test_no_ha_resources(fake: FakeNodes) -> None:
    for n in ("pve1", "pve2"):
        fake.tool(n, "ha-manager", printing(HA_STATUS))
    (res,) = await check(fake, guard("no-ha-resources", warn=True))
    assert not res.ok and res.warn_only
    assert "vm:108 (pve1, started)" in res.message and "ct:200" not in res.message
    assert "active LRM on pve1" in res.message
    assert "self-fences after ~60 s" in res.message and "pve-ha-lrm then pve-ha-crm" in \
        res.message
    for n in ("pve1", "pve2"):
        fake.tool(n, "ha-manager", printing("quorum OK\nmaster pve1 (idle, x)\n"))
    (res,) = await check(fake, guard("no-ha-resources"))
    assert res.ok, res.message


def test_ha_activity_parser() -> None:
    services, lrms = ha_activity(HA_STATUS)
    assert services == ["vm:108 (pve1, started)"] and lrms == ["pve1"]


async def test_command_guard_renders_placeholders(fake: FakeNodes, tmp_path: Path) -> None:
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "pve1").write_text("ready\n")
    cmd = f"grep -q ready {tmp_path}/flags/{{{{node}}}}"
    (res,) = await check(fake, guard("command", command=cmd, message="the node is not ready"))
    assert not res.ok
    assert res.message.startswith("the node is not ready")
    assert "pve1: `grep -q ready" in res.message and "exit 0" in res.message
    assert "pve2: `grep -q ready" in res.message and "exit 2" in res.message


async def test_failed_guard_blocks_the_step_warn_guard_does_not(fake: FakeNodes,
                                                                tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for n in ("pve1", "pve2"):
        fake.tool(n, "systemctl", "echo failed; exit 3\n")
        fake.tool(n, "ha-manager", printing(HA_STATUS))
    engine = make_engine(fake, guard("corosync-running"), command=f"touch {marker}")
    events: list[ev.Event] = []
    engine.subscribe(events.append)
    assert await engine.run() == "aborted"
    assert not marker.exists()
    (finished,) = [e for e in events if isinstance(e, ev.StepFinished)]
    assert finished.status == "blocked" and "corosync failed" in finished.message
    engine = make_engine(fake, guard("no-ha-resources", warn=True), command=f"touch {marker}")
    assert await engine.run() == "ok"
    assert marker.exists()


async def test_same_config_version_on_a_one_node_step_compares_every_inventory_node(
        fake: FakeNodes, tmp_path: Path) -> None:
    # A step on "first" probes one target; the guard still reads every inventory node, so the
    # node behind is found (comparing pve1 with itself would pass).
    conf = "totem {\n  cluster_name: nyc\n  config_version: %d\n}\n"
    for name, version in (("pve1", 6), ("pve2", 5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "corosync.conf").write_text(conf % version)
    engine = make_engine(fake, guard("same-config-version"))
    (res,) = await ProxmoxGuards().check(engine, engine.runbook.steps[0], [NODES[0]])
    assert not res.ok
    assert "pve2: config_version 5 (behind 6)" in res.message
