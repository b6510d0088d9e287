"""Every ``--help`` fits an 80-column console (a crash cart, an IPMI console): ``check
--help`` opened with a 180-column line and its JSON key table ran to 96, ``simulate --help``
listed the scenarios as one 245-column ``{a,b,…}``; the terminal wrapped them mid-word."""

from __future__ import annotations

import pytest

from pverunbook.cli import main

COMMANDS = ["", "list", "validate", "schema", "plan", "run", "check", "rehearse", "simulate",
            "journal", "report", "checkpoints", "restore", "corosync", "vm-config", "pmxcfs",
            "screenshots", "tui"]


@pytest.mark.parametrize("command", COMMANDS, ids=[c or "pverunbook" for c in COMMANDS])
def test_help_fits_80_columns(command: str, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as done:
        main([*([command] if command else []), "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.strip()
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert wide == [], "\n".join(wide)
