"""A node that is down, or that accepts TCP but never speaks SSH, must not stop the run: read-only
steps run on the nodes that answer and name the missing one every time; a destructive step that
targets it is refused; a run where no node answers never starts and leaves no journal.

Real parts: OpenSSH sshd on loopback for the node that answers, a plain TCP listener that accepts
and stays silent (a node whose sshd hangs before its banner, or a firewall/proxy that accepts), and
a loopback port nobody listens on. Kind: asyncssh waits for the server's identification string
(without a timeout, forever: https://github.com/ronf/asyncssh/issues/260), and tarpits such as
endlessh accept SSH connections and never send a banner
(https://github.com/skeeto/endlessh/issues/48).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.journal import read_journal, runs_dir
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.base import TransportError
from pverunbook.transport.ssh import SSHTransport
from tests.integration.sshd_fixture import Sshd, sshd
from tests.integration.test_ssh_openssh import node

__all__ = ["sshd"]

BOOK = load_text('''
id = "partial"
title = "Partial"
[[steps]]
id = "look"
title = "Look"
kind = "check"
targets = "all"
commands = "echo hello-from-{{node}}"
[[steps]]
id = "only-silent"
title = "Only the silent node"
kind = "check"
targets = ["silent"]
on_failure = "continue"
commands = "echo never"
[[steps]]
id = "look-again"
title = "Look again"
kind = "check"
targets = "all"
commands = "echo again-{{node}}"
[[steps]]
id = "change"
title = "Change"
targets = "all"
destructive = true
no_backup_reason = "test"
confirm = "cluster"
commands = "echo changed-{{node}}"
''')


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """Accepts TCP connections and never sends a byte (no SSH banner)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for w in held:
        w.close()
    server.close()
    await server.wait_closed()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when we return: nobody listens


def _transport(sshd: Sshd, tmp_path: Path) -> SSHTransport:
    return SSHTransport(client_keys=[str(sshd.client_key)], config_paths=[], connect_timeout=2,
                        known_hosts=tmp_path / "known_hosts", hash_known_hosts=False)


def _session(tmp_path: Path, cluster: Cluster, transport: object) -> Session:
    s = Session(SessionConfig(mode=Mode.LIVE))
    s.cluster = cluster
    s.transport = transport  # type: ignore[assignment]
    return s


async def test_read_only_steps_go_on_without_the_silent_node(sshd: Sshd, tmp_path: Path,
                                                             silent_port: int) -> None:
    transport = _transport(sshd, tmp_path)
    cluster = Cluster("lab", (node(sshd, name="good"),
                              Node("silent", "127.0.0.1", port=silent_port, user=sshd.user),
                              Node("down", "127.0.0.1", port=_closed_port(), user=sshd.user)))
    session = _session(tmp_path, cluster, transport)
    try:
        unreachable = await asyncio.wait_for(session.connect(), 30)
        assert set(unreachable) == {"silent", "down"}
        assert "timed out" in unreachable["silent"]
        engine = session.engine(BOOK, ScriptedDecider(confirm_text="lab"), {}, run_id="p1")
        seen: list[ev.Event] = []
        engine.subscribe(seen.append)
        status = await asyncio.wait_for(engine.run(), 60)
    finally:
        await session.close()
    said = "".join(e.text for e in seen if isinstance(e, ev.OutputChunk))
    assert "hello-from-good" in said and "again-good" in said
    assert "changed" not in said and "never" not in said
    finished = {e.step_id: e for e in seen if isinstance(e, ev.StepFinished)}
    # Every step names the missing nodes.
    for step in ("look", "look-again"):
        assert finished[step].status == "ok"
        assert "silent" in finished[step].message and "down" in finished[step].message
    assert finished["only-silent"].status == "failed"
    assert "unreachable" in finished["only-silent"].message
    assert finished["change"].status == "blocked"
    assert "refused" in finished["change"].message and "silent" in finished["change"].message
    assert status == "aborted"
    journal = read_journal(engine.journal_path)  # type: ignore[arg-type]
    assert journal[-1].kind == "run_finished"


async def test_no_node_answers_no_run_no_journal(sshd: Sshd, tmp_path: Path,
                                                 silent_port: int) -> None:
    transport = _transport(sshd, tmp_path)
    cluster = Cluster("lab", (Node("silent", "127.0.0.1", port=silent_port, user=sshd.user),
                              Node("down", "127.0.0.1", port=_closed_port(), user=sshd.user)))
    session = _session(tmp_path, cluster, transport)
    try:
        with pytest.raises(TransportError):
            await asyncio.wait_for(session.connect(), 30)
    finally:
        await session.close()
    assert not runs_dir().exists() or not list(runs_dir().iterdir())


async def test_an_engine_that_never_ran_leaves_no_journal(tmp_path: Path) -> None:
    from pverunbook.transport.local import LocalTransport

    session = _session(tmp_path, Cluster("lab", (Node("a", "localhost"),)), LocalTransport())
    engine = session.engine(BOOK, ScriptedDecider(), {}, run_id="never")
    await session.close()
    assert engine.journal_path is not None and not engine.journal_path.exists()


async def test_destructive_step_probes_its_nodes_without_a_session(sshd: Sshd,
                                                                   tmp_path: Path) -> None:
    """The TUI runs the engine without connecting up front: a destructive step still refuses a
    node that does not answer, before changing the ones that do."""
    from pverunbook.engine.engine import Engine

    book = load_text('''
id = "d"
title = "D"
[[steps]]
id = "change"
title = "Change"
targets = "all"
destructive = true
no_backup_reason = "test"
confirm = "cluster"
commands = "echo changed-{{node}}"
''')
    transport = _transport(sshd, tmp_path)
    cluster = Cluster("lab", (node(sshd, name="good"),
                              Node("down", "127.0.0.1", port=_closed_port(), user=sshd.user)))
    engine = Engine(book, cluster, transport, ScriptedDecider(confirm_text="lab"), run_id="d")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    try:
        status = await asyncio.wait_for(engine.run(), 60)
    finally:
        await transport.close()
    assert status == "aborted"
    (finished,) = [e for e in seen if isinstance(e, ev.StepFinished)]
    assert finished.status == "blocked" and "down" in finished.message
    assert not any(isinstance(e, ev.CommandStarted) for e in seen)  # nothing ran anywhere
