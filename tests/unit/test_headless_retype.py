"""A typo in a headless typed confirmation is asked again, as the app's dialog asks until the
text matches: one wrong letter in a node name aborted the whole run, with no word of how to go
on. After the last try the refusal says which command continues the run."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path

from pverunbook.engine.decisions import ConfirmRequest
from pverunbook.runbook.loader import load_text
from pverunbook.terminal_decider import TRIES, TerminalDecider

ROOT = Path(__file__).resolve().parents[2]
STEP = load_text('id = "x"\ntitle = "X"\n[[steps]]\nid = "a"\ntitle = "A"\ncommands = ["true"]\n'
                 ).steps[0]


class Typist(TerminalDecider):
    def __init__(self, answers: list[str | None]) -> None:
        super().__init__(interactive=True, out=io.StringIO())
        self.answers = answers
        self.asked: list[str] = []
        self.resume_with = "pverunbook rehearse --resume R1 --headless"

    async def _ask(self, prompt: str) -> str | None:
        self.asked.append(prompt)
        return self.answers.pop(0)


def _request(what: str = "destructive", expected: str = "pve001") -> ConfirmRequest:
    return ConfirmRequest(step=STEP, what=what, prompt="p", expected=expected, nodes=("pve001",))


async def test_a_typo_is_asked_again_saying_what_was_expected() -> None:
    d = Typist(["pve01", "pve001"])
    assert await d.confirm(_request()) == "pve001"
    assert len(d.asked) == 2
    said = d.out.getvalue()  # type: ignore[attr-defined]
    assert "you typed 'pve01', expected 'pve001': nothing was run" in said, said
    assert f"{TRIES - 1} more tries" in said, said


async def test_refused_after_the_last_try_says_how_to_go_on() -> None:
    d = Typist(["pve01", "", "pve0001"])
    assert await d.confirm(_request()) == "pve0001"  # the engine journals it, refused
    assert len(d.asked) == TRIES
    said = d.out.getvalue()  # type: ignore[attr-defined]
    assert "Enter alone never confirms (expected 'pve001')" in said, said
    assert f"refused after {TRIES} tries" in said, said
    assert "`pverunbook rehearse --resume R1 --headless` asks again" in said, said


async def test_a_refused_commit_says_the_timer_rolls_it_back() -> None:
    d = Typist(["comit", "COMIT", "commit"])
    assert await d.confirm(_request("commit", "COMMIT")) == "commit"
    said = d.out.getvalue()  # type: ignore[attr-defined]
    assert "rolled back when its timer fires" in said and "--resume" not in said, said


CUT = ('id = "cut"\ntitle = "Cut"\n'
       '[[steps]]\nid = "cut"\ntitle = "Cut"\ncommands = ["true"]\ndestructive = true\n'
       'confirm = "cluster"\nno_backup_reason = "a test"\n')


class Terminal:
    """The run's terminal: what it wrote so far, read up to a text (a generous bound only
    against a hang); each wait looks only past what the last one found."""

    def __init__(self, fd: int) -> None:
        self.fd, self.text, self.pos = fd, "", 0

    def _more(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the other end closed
            chunk = b""
        self.text += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def wait_for(self, text: str) -> None:
        while text not in self.text[self.pos:]:
            assert self._more(120), f"no {text!r}:\n" + self.text[-3000:]
        self.pos = self.text.index(text, self.pos) + len(text)

    def to_the_end(self) -> str:
        """Everything until the run closes the terminal (it exits)."""
        while self._more(120):
            pass
        return self.text


def _run(tmp_path: Path, typed: list[str], stdout: Path | None = None) -> tuple[int, str, Path]:
    """The run at a terminal (stdin, stderr, and stdout unless it goes to the file
    ``stdout``), answering each typed confirmation with the next of ``typed``."""
    rb = tmp_path / "cut.toml"
    rb.write_text(CUT, encoding="utf-8")
    env = dict(os.environ, PVERUNBOOK_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(ROOT),
               TMPDIR=str(tmp_path), COLUMNS="200")
    env.pop("PYTHONWARNINGS", None)
    master, slave = os.openpty()
    out = stdout.open("w") if stdout is not None else None
    proc = subprocess.Popen([sys.executable, "-m", "pverunbook", "rehearse", str(rb),
                             "--headless"], env=env, stdin=slave, stderr=slave,
                            stdout=slave if out is None else out, start_new_session=True)
    os.close(slave)
    if out is not None:
        out.close()
    term = Terminal(master)
    try:
        for answer in typed:
            term.wait_for("to go ahead: ")
            os.write(master, answer.encode() + b"\n")
        out = term.to_the_end()
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
        os.close(master)
    (journal,) = (tmp_path / "state" / "runs").glob("*.jsonl")
    return code, out, journal


def test_a_retyped_name_goes_on(tmp_path: Path) -> None:
    code, out, journal = _run(tmp_path, ["nyx", "nyc"])
    assert "you typed 'nyx', expected 'nyc'" in out, out
    assert code == 0, out
    given = [r for r in map(json.loads, journal.read_text().splitlines())
             if r["kind"] == "confirmation_given"]
    assert [(g["accepted"], g["typed"]) for g in given] == [(True, "nyc")]


def test_refused_after_three_tries_names_the_resume(tmp_path: Path) -> None:
    code, out, journal = _run(tmp_path, ["nyx", "nyz", "ny"])
    assert code == 1, out
    assert "refused after 3 tries" in out, out
    assert f"`pverunbook rehearse --resume {journal.stem} --headless` asks again" in out, out


def test_with_stdout_redirected_the_question_is_asked_on_the_terminal(tmp_path: Path) -> None:
    """``> file``: the question went into the file and the run waited silently."""
    log = tmp_path / "out.txt"
    code, said, _ = _run(tmp_path, ["nyc"], stdout=log)
    assert code == 0, said + log.read_text()
    assert "type 'nyc' to go ahead" in said, said
    out = log.read_text()
    assert "to go ahead" not in out, out
    assert "== run ok" in out and "report:" in out, out  # the run's output stays on stdout
