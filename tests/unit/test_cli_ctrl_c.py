"""ctrl+c by reflex in the first second or two of `pverunbook` (the app's imports) printed a
Python traceback, exit 1: "KeyboardInterrupt" inside a Textual module, or "RuntimeError:
Error calling __set_name__ on 'BorderProperty' …". It is one line and exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pverunbook import cli

ROOT = Path(__file__).resolve().parents[2]


def _raise(exc: BaseException) -> None:
    raise exc


def _wrapped() -> RuntimeError:
    """What Python 3.11 raises when ctrl+c lands in a descriptor's ``__set_name__``."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise RuntimeError("Error calling __set_name__ on 'BorderProperty'") from inner
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), _wrapped()],
                         ids=["KeyboardInterrupt", "RuntimeError-from-ctrl-c"])
def test_ctrl_c_while_the_app_loads_is_one_line_and_130(
        exc: BaseException, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("pverunbook.commands.tui.cmd_tui", lambda args: _raise(exc))
    assert cli.main([]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "pverunbook: interrupted", err


def test_another_error_is_not_taken_for_ctrl_c(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("pverunbook.commands.tui.cmd_tui",
                        lambda args: _raise(RuntimeError("something else")))
    with pytest.raises(RuntimeError, match="something else"):
        cli.main([])


def test_sigint_during_the_imports_of_the_app(tmp_path: Path) -> None:
    """A real process: SIGINT once it is importing Textual (``-X importtime`` prints each
    import as it completes). No timing: whatever stage the signal meets, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PVERUNBOOK_STATE_DIR": str(tmp_path / "s"),
           "PVERUNBOOK_DATA_DIR": str(tmp_path / "d"), "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "pverunbook"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "textual" in line:
            break
    proc.send_signal(signal.SIGINT)
    try:
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    lines = [x for x in (*seen, *rest.splitlines(keepends=True))
             if not x.startswith("import time:")]
    text = "".join(lines)
    assert "Traceback" not in text, text
    assert any("textual" in x for x in seen), "".join(seen)[-2000:]
    if proc.returncode == 130:
        assert text.strip() == "pverunbook: interrupted", text
