"""No output a node prints can hold a run: verdicts run off the event loop with a time limit.

A verdict parses node output; a parser that is slow on some text (a backtracking regular
expression: ``parse_mtr`` took hours on a 40-digit line) used to hold the event loop, so the
run froze and neither Ctrl-C nor SIGTERM stopped it. Now the verdict runs in a helper process
(engine/offloop.py): past its time limit the node gets "could not judge in time" and the run
goes on; a stopped run kills the helper.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine import findings, offloop
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import Cluster, Node
from pverunbook.runbook.loader import load_text
from pverunbook.transport.local import LocalTransport

REPO = Path(__file__).resolve().parents[2]
TWO = Cluster("nyc", (Node("pve001", "localhost", addr="10.0.0.1"),
                      Node("pve002", "localhost", addr="10.0.0.2")))
#: The line that froze runs: mtr's "numbers only" pattern tried every cut of the digits.
FORTY_DIGITS = "x\\n 3 1 " + "9" * 40 + "node3\\n"
#: The regular expression parse_mtr had (nested quantifiers): exponential on FORTY_DIGITS.
_BACKTRACKING = re.compile(r"^\s*(?:\d{1,9}(?:\.\d{0,6})?\s*)+$")


def judge_slowly(verdict, inputs, names, ok_exit):  # type: ignore[no-untyped-def]
    """A verdict as slow as the old mtr parser: the backtracking regex on each output line.

    Runs in the helper process; writes its pid to $SLOW_VERDICT_MARK first, so a test knows the
    verdict is running (and can check the helper is gone after)."""
    mark = os.environ.get("SLOW_VERDICT_MARK")
    if mark:
        Path(mark).write_text(str(os.getpid()))
    for inp in inputs.values():
        for line in inp.text.splitlines():
            _BACKTRACKING.match(line)
    return findings.judge_findings(verdict, inputs, names, ok_exit)


def book(tmp: Path):  # type: ignore[no-untyped-def]
    return load_text(textwrap.dedent(f'''
        id = "m"
        title = "M"
        [[steps]]
        id = "probe"
        title = "mtr to the peers"
        kind = "check"
        targets = "all"
        verdict = "mtr"
        commands = ["printf '{FORTY_DIGITS}'"]
        [[steps]]
        id = "after"
        title = "after"
        targets = "all"
        commands = ["echo after > {tmp}/after-{{{{node}}}}"]
    '''), "m.toml")


async def _run(tmp: Path, limit: float | None = None) -> tuple[str, list[ev.Event]]:
    engine = Engine(book(tmp), TWO, LocalTransport(), ScriptedDecider(), run_id="r")
    if limit is not None:
        engine.verdict_time_limit = limit
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    return await engine.run(), seen


async def test_a_forty_digit_mtr_line_is_judged_and_the_run_goes_on(tmp_path: Path) -> None:
    status, seen = await _run(tmp_path)
    assert status == "ok"
    found = [e for e in seen if isinstance(e, ev.Finding) and e.step_id == "probe"]
    assert {e.node for e in found} == {"pve001", "pve002"}
    assert not any("in time" in e.title for e in found), found
    assert (tmp_path / "after-pve001").exists() and (tmp_path / "after-pve002").exists()


async def test_a_verdict_past_its_time_limit_says_could_not_judge_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(findings, "JUDGE", judge_slowly)
    killed: list[object] = []
    kill = offloop._WORKER.kill

    def recording_kill(proc=None):  # type: ignore[no-untyped-def]
        killed.append(proc)
        kill(proc)

    monkeypatch.setattr(offloop._WORKER, "kill", recording_kill)
    status, seen = await _run(tmp_path, limit=1.0)
    found = [e for e in seen if isinstance(e, ev.Finding) and e.step_id == "probe"]
    assert {e.node for e in found} == {"pve001", "pve002"}
    assert all(e.title.startswith("could not judge the output in time") for e in found), found
    assert status == "ok"
    assert (tmp_path / "after-pve001").exists() and (tmp_path / "after-pve002").exists()
    # the stuck helper was killed, not left running (the facts then ran in a fresh one)
    assert killed and all(p.poll() is not None for p in killed), killed  # type: ignore[attr-defined]


async def test_the_helper_is_started_again_after_a_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(findings, "JUDGE", judge_slowly)
    await _run(tmp_path, limit=0.5)
    monkeypatch.setattr(findings, "JUDGE", findings.judge_findings)
    status, seen = await _run(tmp_path)
    found = [e for e in seen if isinstance(e, ev.Finding) and e.step_id == "probe"]
    assert found and not any("in time" in e.title for e in found)


_STOPPED_RUN = """
import asyncio, sys
from pathlib import Path
from pverunbook.commands.run import _stopped_by_signals
from pverunbook.engine import findings
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.transport.local import LocalTransport
import test_verdict_time_limit as t

findings.JUDGE = t.judge_slowly
tmp = Path(sys.argv[1])

async def main() -> int:
    engine = Engine(t.book(tmp), t.TWO, LocalTransport(), ScriptedDecider(), run_id="r")
    engine.verdict_time_limit = 3600
    return 0 if await engine.run() == "ok" else 1

try:
    sys.exit(asyncio.run(_stopped_by_signals(main())))
except KeyboardInterrupt:  # as commands/run.py does for Ctrl-C
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


@pytest.mark.parametrize(("sig", "status", "says"), [
    (signal.SIGTERM, 128 + signal.SIGTERM, "stopped by SIGTERM"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_sigterm_or_ctrl_c_during_a_slow_verdict_ends_the_run(
        tmp_path: Path, sig: int, status: int, says: str) -> None:
    mark = tmp_path / "verdict-started"
    env = dict(os.environ, SLOW_VERDICT_MARK=str(mark),
               PYTHONPATH=os.pathsep.join([str(REPO), str(Path(__file__).parent)]))
    proc = subprocess.Popen([sys.executable, "-c", _STOPPED_RUN, str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a hang guard, not a measurement
        while not (mark.exists() and mark.read_text()) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mark.exists(), proc.communicate(timeout=5)
        helper = int(mark.read_text())
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)  # hang guard: the run ends on its own
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, (out, err)
    assert says in err
    assert not (tmp_path / "after-pve001").exists()  # stopped: the next step never ran
    # the helper that was stuck in the regex is gone too
    for _ in range(100):
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            break
        stat = Path(f"/proc/{helper}/stat")
        if stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"):
            break  # killed, waiting to be reaped by init
        time.sleep(0.1)
    else:
        pytest.fail(f"the verdict helper {helper} outlived the run")
    json.dumps(out)  # the output is text, not a traceback's bytes
