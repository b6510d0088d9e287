"""An unknown SSH host key in the TUI: the operator sees the fingerprint and decides; the
default is no. Against a real OpenSSH sshd on loopback (skipped without root/sshd)."""

from __future__ import annotations

from pathlib import Path

from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.transport.ssh import SSHTransport
from pverunbook.ui.app import make_app
from pverunbook.ui.screens.modals import ChoiceModal, ErrorModal
from pverunbook.ui.screens.run import RunScreen
from tests.integration.sshd_fixture import Sshd, sshd
from tests.ui.conftest import until

__all__ = ["sshd"]

BOOK = load_text('''
id = "hello"
title = "Hello"
[[steps]]
id = "hello"
title = "Say hello"
commands = ["echo hello-from-$(hostname)"]
''')


async def run_with_answer(sshd: Sshd, tmp_path: Path, key: str) -> tuple[str, Path, str]:
    """The question comes when the app connects to the nodes (before any run, as the headless
    CLI connects first); after the answer, run the runbook. Returns the step's state ("" when
    the app refused to start it), known_hosts, and the question's text."""
    known = tmp_path / "known_hosts"
    session = Session(SessionConfig(mode=Mode.LIVE, journal_path=tmp_path / "j.jsonl"))
    session.cluster = Cluster("lab", (Node("n1", "127.0.0.1", port=sshd.port, user=sshd.user),))
    app = make_app(session.config, session=session)
    session.transport = SSHTransport(known_hosts=known, client_keys=[str(sshd.client_key)],
                                     config_paths=[], hash_known_hosts=False,
                                     accept_new_host_key=app.ask_host_key)
    shown = ""
    state = ""
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "host key question",
                    tries=1500)
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        shown = modal.body
        await pilot.press(key)
        await until(pilot, lambda: app.nodes_tried, "connected", tries=1500)
        await pilot.pause()
        if isinstance(app.screen, ErrorModal):  # refused: no node answers, nothing can run
            assert "unknown host key" in app.screen.message
            return "", known, shown
        app.start_run(BOOK, {})
        await until(pilot, lambda: isinstance(app.screen, RunScreen)
                    and app.screen.decider.is_waiting, "next")
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("n")
        await until(pilot, lambda: screen.state.step("hello").state not in ("running", "next",
                                                                             "pending"),
                    "the step to end", tries=1500)
        state = screen.state.step("hello").state
    await session.transport.close()
    return state, known, shown


async def test_trusting_an_unknown_key_records_it_and_runs(sshd: Sshd, tmp_path: Path) -> None:
    state, known, shown = await run_with_answer(sshd, tmp_path, "t")
    assert sshd.fingerprint in shown and "n1" in shown
    assert state == "ok"
    assert sshd.host_key_line.split()[1] in known.read_text()


async def test_refusing_an_unknown_key_runs_nothing(sshd: Sshd, tmp_path: Path) -> None:
    state, known, shown = await run_with_answer(sshd, tmp_path, "n")
    assert sshd.fingerprint in shown
    assert state != "ok"
    assert not known.exists() or sshd.host_key_line.split()[1] not in known.read_text()
