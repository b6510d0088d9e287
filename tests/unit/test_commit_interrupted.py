"""Ctrl-C at the headless COMMIT question says the change is live and that the nodes' timers
roll it back in about N s (it exited 130 with "interrupted" only); and a resumed run says what
a route-fix timer undoes with the lines recorded when it was armed, not the runbook's
template ("ip route replace <each line `record` printed when the timer was armed>")."""

from __future__ import annotations

import asyncio
import io
import time
from types import SimpleNamespace

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.engine.rollback_gone import commit_left_live
from pverunbook.engine.rollback_probe import RECORDED_PROSE
from pverunbook.engine.rollback_resume import undoes_armed
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.terminal_decider import TerminalDecider

STEP = load_file(builtin_dir() / "route-fix.toml").step("delete")


def _commit(deadline: float) -> ConfirmRequest:
    return ConfirmRequest(step=STEP, what="commit", prompt="Type COMMIT", expected="COMMIT",
                          nodes=("ryanrishi",), deadline=deadline)


def test_the_words_say_the_change_is_live_and_when_it_is_rolled_back() -> None:
    words = commit_left_live(_commit(1000.0), now=900.0)  # the timers fire 5 s after it
    assert f"the change of “{STEP.title}” is live on ryanrishi" in words, words
    assert "in about 105 s" in words and "ryanrishi rolls it back" in words, words
    assert "unless the run is resumed and COMMIT typed before then" in words, words


def test_two_nodes_roll_it_back() -> None:
    two = ConfirmRequest(step=STEP, what="commit", prompt="Type COMMIT", expected="COMMIT",
                         nodes=("ryanrishi", "pve001"), deadline=1000.0)
    assert "ryanrishi, pve001 roll it back" in commit_left_live(two, now=900.0)


async def test_ctrl_c_at_the_commit_question_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    asked = asyncio.Event()

    class Waiting(TerminalDecider):
        async def _ask(self, prompt: str) -> str | None:
            asked.set()
            await asyncio.Event().wait()  # the operator types nothing
            return None

    d = Waiting(interactive=True, out=io.StringIO())
    task = asyncio.ensure_future(d.confirm(_commit(time.time() + 60)))
    await asked.wait()
    task.cancel()  # what Ctrl-C does to the run
    with pytest.raises(asyncio.CancelledError):
        await task
    err = capsys.readouterr().err
    assert "⚠ COMMIT is pending" in err and "is live on ryanrishi" in err, err
    assert "ryanrishi rolls it back, unless the run is resumed" in err, err


async def test_a_cancelled_node_name_question_says_nothing_of_timers(
        capsys: pytest.CaptureFixture[str]) -> None:
    asked = asyncio.Event()

    class Waiting(TerminalDecider):
        async def _ask(self, prompt: str) -> str | None:
            asked.set()
            await asyncio.Event().wait()
            return None

    d = Waiting(interactive=True, out=io.StringIO())
    request = ConfirmRequest(step=STEP, what="destructive", prompt="p", expected="ryanrishi",
                             nodes=("ryanrishi",))
    task = asyncio.ensure_future(d.confirm(request))
    await asked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "COMMIT" not in capsys.readouterr().err


def _no_node(name: str) -> object:
    raise KeyError(name)


ENGINE = SimpleNamespace(cluster=SimpleNamespace(node=_no_node), values_for=_no_node)


def test_a_resumed_timer_says_the_recorded_lines_it_puts_back() -> None:
    armed = ev.RollbackTimer(step_id="delete", node="ryanrishi", state="armed",
                             message="undoes the change (ip route replace 192.168.4.201 via "
                                     "192.168.4.1 dev vmbr0) in 120 s unless COMMIT")
    said = undoes_armed(ENGINE, STEP, armed)  # type: ignore[arg-type]
    assert said == "undoes the change (ip route replace 192.168.4.201 via 192.168.4.1 dev vmbr0)"


def test_a_timer_the_journal_never_saw_armed_shows_no_template() -> None:
    armed = ev.RollbackTimer(step_id="delete", node="ryanrishi", state="armed")
    said = undoes_armed(ENGINE, STEP, armed)  # type: ignore[arg-type]
    assert RECORDED_PROSE not in said and "<" not in said, said
    assert "what was recorded on ryanrishi when the timer was armed" in said, said
