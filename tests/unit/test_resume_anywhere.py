"""Resume works from any directory: the journal records the runbook's absolute path and its hash,
and a runbook that changed since the run started is shown (as a diff) and must be accepted.

Kind (found by fuzzing the CLI): a runbook given as a relative path was stored relative to the
directory the run started in, so ``run --resume`` from anywhere else could not find it. Further
real inputs of the kind: a pipeline whose resume failed when started with a relative work dir
(https://github.com/glennhickey/progressiveCactus/pull/105) and a resume script that only worked
from one working directory (https://github.com/gemini-cli-extensions/conductor/pull/184).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine import events as ev
from pverunbook.engine.journal import list_runs, read_journal

BOOK = '''id = "resumable"
title = "Resumable"

[[steps]]
id = "first"
title = "First"
kind = "check"
targets = "local"
commands = "echo first >> {log}"

[[steps]]
id = "second"
title = "Second"
kind = "check"
targets = "local"
commands = "test -f {mark} && echo second >> {log}"
'''


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path, str]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    log, mark = tmp_path / "log", tmp_path / "mark"
    book = a / "book.toml"
    book.write_text(BOOK.format(log=log, mark=mark))
    monkeypatch.chdir(a)
    assert main(["run", "book.toml", "--local", "--headless"]) == 1  # "second" fails: no mark
    (run,) = list_runs()
    started = next(e for e in read_journal(run.path) if isinstance(e, ev.RunStarted))
    assert started.runbook_path == str(book.resolve())
    assert started.runbook_sha256 == hashlib.sha256(book.read_bytes()).hexdigest()
    mark.write_text("")
    monkeypatch.chdir(b)
    return book, log, mark, run.run_id


def test_resume_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _book, log, _mark, run_id = _setup(tmp_path, monkeypatch)
    assert main(["run", "--resume", run_id, "--headless"]) == 0
    assert log.read_text().split() == ["first", "second"]  # "first" was not run again


def test_a_changed_runbook_is_shown_and_must_be_accepted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    book, log, _mark, run_id = _setup(tmp_path, monkeypatch)
    book.write_text(book.read_text().replace("echo second", "echo CHANGED"))
    capsys.readouterr()
    assert main(["run", "--resume", run_id, "--headless"]) == 2
    err = capsys.readouterr().err
    assert "the runbook changed since run" in err
    assert "-commands = \"test -f" in err and "echo CHANGED" in err  # the diff is shown
    assert "--accept-changed-runbook" in err
    assert log.read_text().split() == ["first"]  # nothing ran
    assert main(["run", "--resume", run_id, "--headless", "--accept-changed-runbook"]) == 0
    assert log.read_text().split() == ["first", "CHANGED"]
