"""The checkpoint line names what is taken with its placeholders filled: headless printed
``output:ip route get {{destination}}`` (a placeholder must never reach the operator)."""

from __future__ import annotations

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.dryrun import DryRunTransport
from pverunbook.transport.local import LocalTransport

BOOK = load_text("""
id = "x"
title = "X"
[[params]]
name = "destination"
type = "str"
[[steps]]
id = "fix"
title = "Fix"
destructive = true
commands = ["true"]
[steps.backup]
files = ["/etc/pve/nodes/{{node}}/x.conf"]
outputs = ["ip route", "ip route get {{destination}}"]
""")

CLUSTER = Cluster(name="nyc", nodes=(Node(name="ryanrishi", host="127.0.0.1"),
                                     Node(name="pve001", host="127.0.0.1")))


async def test_the_checkpoint_request_carries_filled_placeholders() -> None:
    engine = Engine(BOOK, CLUSTER, DryRunTransport(), ScriptedDecider(),
                    params={"destination": "192.168.4.201"}, run_id="r1",
                    local_transport=LocalTransport())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    await engine.run()
    asked = [e for e in seen if isinstance(e, ev.CheckpointRequested)]
    assert asked
    assert asked[0].outputs == ("ip route", "ip route get 192.168.4.201")
    assert asked[0].files == ("/etc/pve/nodes/ryanrishi/x.conf", "/etc/pve/nodes/pve001/x.conf")
