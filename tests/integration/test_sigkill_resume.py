"""SIGKILL the real CLI at random moments, resume, repeat: the journal must stay valid and only
grow, and no step may run twice without the operator saying so.

Each step appends its id to a marker file, so any double execution is visible. The engine makes
``command_started`` durable before it runs a command, so a step's marker count can never exceed
its journaled starts.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.engine.resume import load_resume

KILLS = 25
BUDGET = 150.0  # seconds for the whole test, whatever the machine
STEPS = ("s1", "s2", "s3", "s4", "s5", "s6")
REPO = Path(__file__).resolve().parents[2]


def runbook(marker: Path, precious: Path) -> str:
    steps = []
    for sid in STEPS:
        cmds = [f"echo {sid} >> {marker}; sleep 0.12"]
        extra = ""
        if sid == "s3":  # destructive, with a checkpoint, confirmed by --confirm local
            extra = f'destructive = true\n\n[steps.backup]\nfiles = ["{precious}"]\n'
        if sid == "s5":  # two commands: a kill between them leaves a half-run step
            cmds.append(f"echo {sid} >> {marker}.second; sleep 0.12")
        steps.append(f'[[steps]]\nid = "{sid}"\ntitle = "Step {sid}"\n'
                     f"commands = {json.dumps(cmds)}\n{extra}")
    return 'id = "sigkill"\ntitle = "SIGKILL test"\n\n' + "\n".join(steps)


class Campaign:
    def __init__(self, tmp: Path, n: int) -> None:
        self.dir = tmp / f"c{n}"
        self.dir.mkdir()
        self.marker = self.dir / "marker"
        precious = self.dir / "precious.cfg"
        precious.write_text("keep me\n")
        self.rb = self.dir / "rb.toml"
        self.rb.write_text(runbook(self.marker, precious))
        self.journal = self.dir / "run.jsonl"
        self.env = dict(os.environ, PVERUNBOOK_STATE_DIR=str(self.dir / "state"),
                        PVERUNBOOK_DATA_DIR=str(self.dir / "data"), PYTHONPATH=str(REPO))
        self.snapshot = b""
        self.first = True

    def command(self) -> list[str]:
        base = [sys.executable, "-m", "pverunbook", "run"]
        if self.first:
            return base + [str(self.rb), "--local", "--headless", "--confirm", "local",
                           "--journal", str(self.journal)]
        # The runbook argument is required by argparse; --resume reads the path from the journal.
        return base + [str(self.rb), "--resume", str(self.journal), "--headless", "--confirm",
                       "local"]

    def start(self, stdin: int) -> subprocess.Popen[bytes]:
        log = open(self.dir / "out.log", "ab")  # noqa: SIM115 - closed by the child's exit
        try:
            return subprocess.Popen(self.command(), stdin=stdin, stdout=log,
                                    stderr=subprocess.STDOUT, env=self.env, cwd=REPO)
        finally:
            log.close()

    def check_journal(self) -> None:
        """Valid JSON lines except maybe a torn last one; earlier bytes never change."""
        data = self.journal.read_bytes() if self.journal.exists() else b""
        complete = self.snapshot[: self.snapshot.rfind(b"\n") + 1]
        assert data.startswith(complete), "journal lines were lost or rewritten between kills"
        lines = data.split(b"\n")
        for i, line in enumerate(lines[:-1]):
            try:
                json.loads(line)
            except ValueError as exc:
                raise AssertionError(f"{self.journal} line {i + 1} is not JSON: {line[:120]!r}"
                                     ) from exc
        self.snapshot = data

    def finished_ok(self) -> bool:
        if not self.journal.exists():
            return False
        runs = [e for e in read_journal(self.journal)
                if isinstance(e, ev.RunStarted | ev.RunFinished)]
        return bool(runs) and isinstance(runs[-1], ev.RunFinished) and runs[-1].status == "ok"

    def markers(self) -> list[str]:
        return self.marker.read_text().split() if self.marker.exists() else []


def wait_for_orphans(directory: Path, limit: float = 10.0) -> None:
    """A SIGKILLed pverunbook cannot stop the local shell it had just started (its own session,
    by design, so timeouts can kill the whole group); let such an orphan finish before the next
    run reads the marker file, or its late write would look like a re-run."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        found = subprocess.run(["pgrep", "-f", str(directory)], capture_output=True, text=True)
        if not found.stdout.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"processes for {directory} still running after {limit}s")


def run_to_end(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("a resumed run hung") from None


def test_sigkill_and_resume_never_lose_lines_or_rerun_silently(tmp_path: Path) -> None:
    seed = int(os.environ.get("PVERUNBOOK_KILL_SEED", time.time()))
    rng = random.Random(seed)
    print(f"seed {seed} (set PVERUNBOOK_KILL_SEED to replay)")
    deadline = time.monotonic() + BUDGET
    kills = 0
    campaigns: list[Campaign] = []
    refused_unknown = 0
    while kills < KILLS and time.monotonic() < deadline:
        c = Campaign(tmp_path, len(campaigns))
        campaigns.append(c)
        while not c.finished_ok() and time.monotonic() < deadline:
            unknown = False
            if not c.first:
                _, info = load_resume(c.journal)
                unknown = info.unknown_step
            if unknown:
                # Without a terminal nobody can answer: the run must stop, re-running nothing.
                before = c.markers()
                rc = run_to_end(c.start(subprocess.DEVNULL))
                c.check_journal()
                assert rc != 0 and c.markers() == before, "unknown step re-run without asking"
                last = [e for e in read_journal(c.journal) if isinstance(e, ev.ConfirmationGiven)]
                assert last and last[-1].what == "unknown outcome" and not last[-1].accepted
                refused_unknown += 1
                # The operator's word, typed on a terminal: re-run it.
                master, slave = os.openpty()
                os.write(master, b"r\n")
                proc = c.start(slave)
                os.close(slave)
            else:
                proc = c.start(subprocess.DEVNULL)
            delay = rng.uniform(0.05, 1.4)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                wait_for_orphans(c.dir)
            if unknown:
                os.close(master)
            c.check_journal()
            if c.journal.exists() and any(isinstance(e, ev.RunStarted)
                                          for e in read_journal(c.journal)):
                c.first = False
        verify_campaign(c)
    assert kills >= 10, f"only {kills} kills within the time budget"
    assert sum(c.finished_ok() for c in campaigns) >= len(campaigns) - 1
    print(f"{kills} kills over {len(campaigns)} runs; {refused_unknown} unknown outcomes "
          "refused without a terminal")


def verify_campaign(c: Campaign) -> None:
    """Nothing ran more often than the journal allows, and every re-run was confirmed."""
    if not c.journal.exists():
        return
    events = read_journal(c.journal)
    ran = c.markers()
    for sid in STEPS:
        started = [e for e in events if isinstance(e, ev.CommandStarted) and e.step_id == sid
                   and e.index == 0]
        finished = [e for e in events if isinstance(e, ev.CommandFinished) and e.step_id == sid
                    and e.index == 0 and e.exit_status == 0]
        assert len(finished) <= ran.count(sid) <= len(started), (sid, ran, len(started))
    last_start: dict[str, int] = {}
    done: set[str] = set()
    for i, e in enumerate(events):
        if isinstance(e, ev.StepStarted):
            assert e.step_id not in done, f"finished step {e.step_id} was started again"
            if e.step_id in last_start:
                between = events[last_start[e.step_id]:i]
                # Killed while its confirmation was open: nothing of it ran (no command, no
                # rollback timer journaled), so it starts again and asks again, saying so.
                untouched = not any(isinstance(x, ev.CommandStarted | ev.RollbackTimer)
                                    and x.step_id == e.step_id for x in between)
                asked_again = untouched and any(
                    isinstance(x, ev.Note) and x.step_id == e.step_id
                    and "waiting for its confirmation" in x.text for x in between)
                assert asked_again or any(
                    isinstance(x, ev.ConfirmationGiven) and x.step_id == e.step_id
                    and x.what == "unknown outcome" and x.accepted for x in between), \
                    f"step {e.step_id} re-ran without the operator's word"
            last_start[e.step_id] = i
        elif isinstance(e, ev.StepFinished) and e.status == "ok":
            done.add(e.step_id)
    if c.finished_ok():
        assert done == set(STEPS)
