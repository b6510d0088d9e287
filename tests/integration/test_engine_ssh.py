"""The engine over SSH against a real OpenSSH sshd: a dropped connection pauses that node's step,
is reported as "connection lost" (not as a failed command), reconnects with backoff when the
operator asks, and the step re-runs only on the operator's word; other nodes are undisturbed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import FailureChoice, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport
from tests.integration.sshd_fixture import Sshd, sshd
from tests.integration.test_ssh_openssh import make, node

__all__ = ["sshd"]


class Operator(ScriptedDecider):
    def __init__(self) -> None:
        super().__init__(reconnect=True)
        self.failures: list[str] = []

    async def after_failure(self, step, status):  # type: ignore[no-untyped-def]
        self.failures.append(status)
        return FailureChoice.RERUN if len(self.failures) == 1 else FailureChoice.ABORT


async def test_connection_loss_pauses_reconnects_and_reruns_on_request(
        sshd: Sshd, tmp_path: Path) -> None:
    book = load_text('''
id = "drop"
title = "Drop"
[[steps]]
id = "slow"
title = "Slow"
targets = ["n1", "local"]
timeout = 30
commands = ["sleep 2; echo finished-{{node}}"]
''')
    cluster = Cluster("lab", (node(sshd, name="n1"),))
    transport = make(sshd, tmp_path)
    decider = Operator()
    engine = Engine(book, cluster, transport, decider, run_id="r", local_transport=LocalTransport())
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    run = asyncio.create_task(engine.run())
    # Wait until the remote command is running, then drop every SSH connection the hard way.
    for _ in range(200):
        if any(isinstance(e, ev.CommandStarted) and e.node == "n1" for e in seen):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    sshd.kill_sessions()
    try:
        status = await asyncio.wait_for(run, 60)
    finally:
        await transport.close()
    lost = [e for e in seen if isinstance(e, ev.CommandFinished) and e.connection_lost]
    assert [e.node for e in lost] == ["n1"]
    assert lost[0].exit_status is None and lost[0].outcome == "connection lost"
    assert any(isinstance(e, ev.RunPaused) for e in seen)
    states = [e.state for e in seen if isinstance(e, ev.NodeConnection) and e.node == "n1"]
    assert states[:1] == ["lost"] and "connected" in states
    assert decider.failures == ["connection_lost"]
    # The local node finished its command untouched during the drop (once per attempt).
    local_done = [e for e in seen if isinstance(e, ev.CommandFinished) and e.node == "local"]
    assert local_done and all(e.exit_status == 0 for e in local_done)
    # Re-run only because the operator said so, and then it succeeded over the new connection.
    assert [e.attempt for e in seen if isinstance(e, ev.StepStarted)] == [1, 2]
    assert status == "ok"
    said = {(e.node, e.text.strip()) for e in seen if isinstance(e, ev.OutputChunk)}
    assert ("n1", "finished-n1") in said and ("local", "finished-local") in said
