"""Resuming a run that stopped at a manual step (its "Done / Not done" question open): the
outcome-unknown question said "its commands were stopped part-way", and a manual step has no
commands. It now says the operator had not yet said whether the work by hand was done."""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine.decisions import FailureChoice, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.outcomes import unknown_why
from pverunbook.engine.resume import load_resume
from pverunbook.inventory import local_cluster
from pverunbook.runbook.loader import load_text
from pverunbook.runbook.model import Step
from pverunbook.transport.local import LocalTransport
from tests.unit.test_resume import RUNBOOK, _asked, started, step, write


class _Why(ScriptedDecider):
    def __init__(self) -> None:
        super().__init__(unknown=FailureChoice.ABORT)
        self.why: list[str] = []

    async def unknown_outcome(self, step: Step, why: str = "") -> FailureChoice:
        self.why.append(why)
        return await super().unknown_outcome(step, why)


def test_the_words_for_a_manual_step_name_no_commands() -> None:
    for stopped in ("run cancelled", ""):
        why = unknown_why(stopped, manual=True)
        assert "commands were stopped" not in why and "nobody knows" not in why
        assert "manual step was done" in why and "runs no commands" in why
    assert "(run cancelled: Ctrl+C" in unknown_why("run cancelled", manual=True)


async def test_a_resumed_manual_step_is_asked_about_in_its_own_words(tmp_path: Path) -> None:
    rb = load_text(RUNBOOK.replace('id = "b"\ntitle = "B"\ncommands = ["echo b >> {{marker}}"]',
                                   'id = "b"\ntitle = "B"\nkind = "manual"\n'
                                   'instructions = "Replace the cable."'))
    assert rb.steps[1].kind.value == "manual"
    events = [started(), *step("a", 0), *_asked("b", 1, what="manual")]
    _, info = load_resume(write(tmp_path / "j.jsonl", events))
    decider = _Why()
    engine = Engine(rb, local_cluster(), LocalTransport(), decider,
                    params={"password": "pw", "vmid": 1, "marker": str(tmp_path / "m")},
                    run_id="r1", resume=info)
    await engine.run()
    assert decider.asked[0] == "unknown:b"
    (why,) = decider.why
    assert "manual step was done" in why and "commands were stopped" not in why, why
