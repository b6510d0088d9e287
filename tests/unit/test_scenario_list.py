"""``--scenario list``: every scenario with a line saying what it is (``simulate --help``
listed 19 bare names), on every command that takes ``--scenario``."""

from __future__ import annotations

import pytest

from pverunbook.cli import main
from pverunbook.sim.scenarios import ALIASES, SCENARIOS


@pytest.mark.parametrize("argv", [["simulate"], ["rehearse"], ["check"], ["tui"],
                                  ["run", "network-triage", "--rehearsal"]])
def test_every_scenario_is_listed_with_its_description(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--scenario", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(SCENARIOS) + len(ALIASES)
    by_name = {ln.split()[0]: ln for ln in lines}
    for name, scenario in SCENARIOS.items():
        assert by_name[name].split(None, 1)[1].startswith(scenario.title), name
    assert by_name["nyc-outage"].endswith("(the default)")
    assert by_name["nyc3"].endswith("= three-node-bad-link")


def test_help_says_how_to_list_them(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("simulate", "rehearse", "check", "tui"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--scenario list" in " ".join(capsys.readouterr().out.split()), command
