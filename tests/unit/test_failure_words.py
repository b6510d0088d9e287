"""The re-run question after a failed step, in words: a timeout says after how long (trial: the
dialog said "timed out" and offered a re-run that would time out again), and the runbook's
own answer says what it does ("[f]ollow runbook (continue)" meant nothing to a newcomer)."""

from __future__ import annotations

import io

from pverunbook.engine.decisions import FailureChoice
from pverunbook.engine.outcomes import ended_words
from pverunbook.runbook.loader import load_text
from pverunbook.terminal_decider import TerminalDecider

RB = load_text("""
id = "x"
title = "X"
[[steps]]
id = "ping"
title = "ping"
commands = ["true"]
timeout = 600
on_failure = "continue"
[[steps]]
id = "b"
title = "B"
commands = ["true"]
on_failure = "goto:ping"
[[steps]]
id = "c"
title = "C"
commands = ["true"]
""")


class Typist(TerminalDecider):
    asked: list[str]

    async def _ask(self, prompt: str) -> str | None:
        self.asked.append(prompt)
        return ""


def test_a_timeout_says_after_how_long() -> None:
    said = ended_words(RB.steps[0], "timed_out")
    assert said.startswith("timed out after 600 s")
    assert "same limit" in said
    assert ended_words(RB.steps[0], "connection_lost") == "connection lost"


async def test_the_headless_question_says_the_timeout_and_what_f_does() -> None:
    d = Typist(interactive=True, out=io.StringIO())
    d.asked = []
    assert await d.after_failure(RB.steps[0], "timed_out") is FailureChoice.FOLLOW_RUNBOOK
    await d.after_failure(RB.steps[1], "failed")
    await d.after_failure(RB.steps[2], "failed")
    first, second, third = d.asked
    assert "'ping' timed out after 600 s" in first
    assert "[f] go on with the next step" in first
    assert "follow runbook" not in first
    assert "[f] go to step 'ping'" in second
    assert "[f] stop the run here" in third
