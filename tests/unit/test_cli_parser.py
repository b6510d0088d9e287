"""A launch builds only the parser of the command it names; what it parses is the same."""

from __future__ import annotations

import argparse
import importlib

import pytest

from pverunbook.cli import COMMAND_MODULE, COMMAND_MODULES, build_parser, parser_modules


def registered(module: str) -> set[str]:
    """The commands ``pverunbook.commands.<module>`` adds to a parser."""
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"pverunbook.commands.{module}").register(sub)
    return set(sub.choices)


def test_every_command_maps_to_the_module_that_registers_it() -> None:
    for module in COMMAND_MODULES:
        for command in registered(module):
            assert COMMAND_MODULE.get(command) == module, (command, module)
    assert set(COMMAND_MODULE) == set().union(*(registered(m) for m in COMMAND_MODULES))


@pytest.mark.parametrize(("argv", "modules"), [
    ([], ()),
    (["--runbooks", "d"], ()),
    (["tui", "--local"], ("tui",)),
    (["--runbooks", "d", "--runbooks=e", "tui"], ("tui",)),
    (["journal", "list"], ("journal",)),
    (["validate", "x.toml"], ("runbooks",)),
    (["simulate", "--scenario", "nyc5"], ("sim",)),
    (["--help"], COMMAND_MODULES),
    (["--version"], COMMAND_MODULES),
    (["--runb", "d", "tui"], COMMAND_MODULES),  # argparse's abbreviation: the whole parser
    (["tiu"], COMMAND_MODULES),  # unknown: the whole parser names the commands
])
def test_parser_modules(argv: list[str], modules: tuple[str, ...]) -> None:
    assert parser_modules(argv) == modules


@pytest.mark.parametrize("argv", [
    [], ["--runbooks", "d"], ["tui"], ["tui", "--local", "--scenario", "nyc5"],
    ["--runbooks", "d", "tui", "--dry-run", "ui-test"], ["journal", "list"],
    ["validate", "a.toml", "b.toml"], ["simulate", "--scenario", "nyc5", "--reset"],
    ["run", "x", "--headless", "--set", "a=1"], ["checkpoints", "list"],
])
def test_the_command_parser_alone_parses_as_the_whole_one(argv: list[str]) -> None:
    alone = build_parser(parser_modules(argv)).parse_args(argv)
    whole = build_parser().parse_args(argv)
    assert vars(alone) == vars(whole)


def test_a_command_error_is_the_same_from_its_parser_alone(
        capsys: pytest.CaptureFixture[str]) -> None:
    def error(parser: argparse.ArgumentParser) -> str:
        with pytest.raises(SystemExit):
            parser.parse_args(["tui", "--bogus"])
        return capsys.readouterr().err

    assert error(build_parser(("tui",))) == error(build_parser())
    assert "unrecognized arguments: --bogus" in error(build_parser(("tui",)))
