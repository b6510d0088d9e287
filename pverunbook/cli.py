"""``pverunbook`` command line: argument parsing and wiring only; heavy imports stay lazy.

With no arguments it opens the TUI in rehearsal mode (a simulated broken cluster), so a first run
on a fresh machine needs nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pverunbook.commands.exits import EXIT_CHECKS, EXIT_FAIL, EXIT_OK, EXIT_USAGE, err
from pverunbook.commands.inputs import parse_sets

__all__ = ["EXIT_CHECKS", "EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "build_parser", "err", "main",
           "parse_args", "parse_sets"]

#: Modules under ``commands/`` that add their subcommands through ``register(subparsers)``,
#: in the order ``--help`` lists them.
COMMAND_MODULES = ("runbooks", "plan", "run", "check", "journal", "tui", "corosync", "vmconfig",
                   "sim", "safety", "screenshots")

#: The module that registers each command. A launch that names one builds only that command's
#: parser (``parser_modules``): the parser is built on every launch, the app's too, and the
#: other ten modules' parsers cost the app's first frame about a tenth of a bare Textual
#: app's start. ``tests/unit/test_cli_parser.py`` checks this against what the modules register.
COMMAND_MODULE: dict[str, str] = {
    "list": "runbooks", "validate": "runbooks", "schema": "runbooks", "plan": "plan",
    "run": "run", "rehearse": "run", "check": "check", "journal": "journal", "tui": "tui",
    "corosync": "corosync", "vm-config": "vmconfig", "pmxcfs": "vmconfig", "simulate": "sim",
    "checkpoints": "safety", "restore": "safety", "report": "safety",
    "screenshots": "screenshots",
}


def parser_modules(argv: list[str]) -> tuple[str, ...]:
    """The command modules whose parsers ``argv`` needs: the one of the command it names, none
    when it names no command (the app), every one for anything else (``--help``,
    ``--version``, an unknown or abbreviated word), so help and errors are the whole parser's."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--runbooks":
            i += 2
        elif word.startswith("--runbooks="):
            i += 1
        elif word.startswith("-"):
            return COMMAND_MODULES
        else:
            module = COMMAND_MODULE.get(word)
            return (module,) if module is not None else COMMAND_MODULES
    return ()


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose "invalid choice" (a mistyped command, ``journal lsit``) names
    the nearest choices before the whole list: ``invalid choice: 'rehersae' (did you mean
    rehearse?)``. Its subcommands' parsers are of this class too (``add_subparsers``)."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        from pverunbook.runbook.suggest import did_you_mean

        near = did_you_mean(str(value), [str(c) for c in choices])
        listed = ", ".join(map(repr, choices))
        raise argparse.ArgumentError(action, f"invalid choice: {value!r}"
                                     + (f"; {near}" if near else "")
                                     + f" (choose from {listed})")


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    p = _Parser(
        prog="pverunbook",
        description="Step-by-step recovery runbooks for Proxmox VE clusters. With no command, "
                    "opens the app in rehearsal mode against a simulated broken cluster.")
    p.add_argument("--version", action=_Version, nargs=0,
                   help="print the version, the commit it was built from, the Python and the "
                        "libraries' versions, and exit")
    p.add_argument("--runbooks", action="append", type=Path, default=[], metavar="DIR",
                   help="extra folder of runbooks (repeatable)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in modules:
        importlib.import_module(f"pverunbook.commands.{mod}").register(sub)
    for name, command in sub.choices.items():
        if name in RUNBOOKS_AFTER:
            command.add_argument("--runbooks", dest="runbooks_after", action="append",
                                 type=Path, default=[], metavar="DIR",
                                 help="extra folder of runbooks (repeatable; the same as "
                                      "--runbooks DIR before the command)")
    return p


#: Commands that read runbooks take ``--runbooks DIR`` after their name too, as the README
#: writes it (``pverunbook list [--runbooks DIR]``), not only before it.
RUNBOOKS_AFTER = ("list", "validate", "plan", "run", "rehearse", "tui")


def parse_args(words: list[str]) -> argparse.Namespace:
    """``words`` parsed by the parser of the command they name; ``--runbooks`` given before
    and after the command are one list, ``args.runbooks``, in the order given."""
    args = build_parser(parser_modules(words)).parse_args(words)
    args.runbooks = [*args.runbooks, *getattr(args, "runbooks_after", [])]
    if hasattr(args, "runbooks_after"):
        del args.runbooks_after
    return args


class _Version(argparse.Action):
    """``--version``: several lines (see ``pverunbook.about``), so not argparse's own action."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from pverunbook.about import version_text

        sys.stdout.write(version_text())
        parser.exit(EXIT_OK)


def main(argv: list[str] | None = None) -> int:
    """The command line; ctrl+c anywhere before a command handles it (the app's imports take
    a second or two) is one line and exit 130, never a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        if not _by_ctrl_c(exc):
            raise
        return _interrupted()


def _by_ctrl_c(exc: BaseException) -> bool:
    """ctrl+c while a class body was set up: Python 3.11 reports it as "RuntimeError: Error
    calling __set_name__ …" (Objects/typeobject.c, set_names), the KeyboardInterrupt its
    cause."""
    return isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)


def _interrupted() -> int:
    print("\npverunbook: interrupted", file=sys.stderr)
    return 130


def _main(argv: list[str] | None) -> int:
    from pverunbook.about import quiet_known_warnings

    quiet_known_warnings()  # before any command imports asyncssh
    words = sys.argv[1:] if argv is None else argv
    args = parse_args(words)
    if getattr(args, "scenario", None) == "list":  # simulate, rehearse, check, run, the app
        from pverunbook.commands.sim import print_scenarios

        return print_scenarios()
    for folder in args.runbooks:
        if not folder.is_dir():
            why = "is a file, not a folder" if folder.exists() else "no such folder"
            return err(f"--runbooks {folder}", why, "give a folder of runbook .toml files (one "
                       "runbook file is given as the RUNBOOK argument itself)")
    from pverunbook.statedir import chosen

    problem = _state_dir_problem(args)
    if problem is not None:
        return problem
    # --state-dir DIR: the journal, checkpoints, reports' inputs and the rehearsal cluster of
    # this command all go under DIR (one resolver: pverunbook/statedir.py)
    with chosen(getattr(args, "state_dir", None)):
        if args.command is None:
            from pverunbook.commands.tui import cmd_tui

            return cmd_tui(args)
        return _dispatch(args)


def _state_dir_problem(args: argparse.Namespace) -> int | None:
    """Exit 2 when the state directory this command reads or writes is not a directory: every
    command that takes ``--state-dir`` (and the app) checks it here, with one function
    (``statedir.unusable``), before anything starts; the environment's
    ``$PVERUNBOOK_STATE_DIR`` / ``$PVERUNBOOK_DATA_DIR`` when no ``--state-dir`` is given."""
    import os

    from pverunbook.statedir import named_unusable

    if args.command is not None and not hasattr(args, "state_dir"):
        return None  # list, validate, plan, …: nothing is read from a state directory
    command = " ".join(str(a) for a in (args.command or "tui",
                                         *_subcommand(args)) if a)
    given = getattr(args, "state_dir", None)
    if given is not None:
        why = named_unusable(given)
        return err(f"{command} --state-dir", f"{why} (state directory unusable)", "give a "
                   "directory: an existing one, or a new one in an existing writable directory "
                   "(it is created)") if why else None
    for var in ("PVERUNBOOK_STATE_DIR", "PVERUNBOOK_DATA_DIR"):
        why = named_unusable(Path(os.environ[var])) if os.environ.get(var) else None
        if why:
            return err(command, f"state directory unusable: ${var}={why}", f"set {var} to a "
                       "writable directory (or unset it for the per-user one), or pass "
                       "--state-dir DIR")
    return None


def _subcommand(args: argparse.Namespace) -> list[str]:
    """``list`` of ``journal list`` / ``checkpoints list``: the error names the whole command."""
    return [str(v) for k, v in vars(args).items() if k.endswith("_command") and v]


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:  # the last line of defence: a message, never a traceback
        if _by_ctrl_c(exc):
            return _interrupted()
        return _internal_error(args, exc)


def _internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    """Say what failed and keep the traceback in a file for a bug report (exit 2).

    Every known kind of bad input has its own message; reaching this means an input kind nobody
    handled yet. The operator still gets what (the command and the error), where (the arguments)
    and what to do, and the details are kept instead of scrolling the console away.
    """
    import traceback

    from pverunbook.engine.journal import state_dir

    command = " ".join(str(a) for a in sys.argv[1:]) or str(args.command)
    where = ""
    try:
        d = state_dir() / "crashes"
        d.mkdir(parents=True, exist_ok=True)
        import time

        path = d / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.command}.txt"
        path.write_text(f"pverunbook {command}\n\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)), encoding="utf-8")
        where = f" (details in {path})"
    except OSError:
        pass
    what = f"{type(exc).__name__}: {exc}"[:500]
    return err(str(args.command), f"could not handle this input: {what}{where}",
               "check the files you passed; if they look right, please report this with the "
               "details file")


if __name__ == "__main__":
    sys.exit(main())
