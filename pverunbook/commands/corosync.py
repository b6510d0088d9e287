"""``pverunbook corosync check|set``: lint and safely edit a copy of corosync.conf.

The editor never writes a file real corosync would refuse, always bumps config_version and
shows the diff first, because a bad /etc/pve/corosync.conf is copied to every node at once.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.commands.exits import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from pverunbook.commands.files import atomic_write

if TYPE_CHECKING:
    from pverunbook.pve.corosync_conf import Problem

CHECK_EXITS = """\
exit status:
  0  no fatal problem and no error (warnings are advice)
  1  rejected: a fatal problem (corosync refuses the file) or an error (the
     cluster misbehaves); a file that does not parse or is empty too
  2  the file cannot be read (missing, not a file, not UTF-8 text)"""

SET_EXITS = """\
exit status:
  0  the edited file was written (-o) or printed
  1  the edit failed: `corosync check` rejects the result (nothing is written),
     or the -o file could not be written
  2  input error, nothing is written: an argument that is not KEY=VALUE, an
     unknown key, config_version, a value that is not of the key's type (a
     whole number, one of the allowed words), or a FILE that cannot be read,
     is empty or does not parse"""

#: An empty corosync.conf: what is wrong and what to do (check and set).
_EMPTY = ("the file is empty (or only whitespace): corosync needs a totem section and a "
          "nodelist; is it a truncated copy? compare it with /etc/pve/corosync.conf on a node "
          "whose /etc/pve answers")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corosync", help="check or edit a corosync.conf file")
    sub = parser.add_subparsers(dest="corosync_command", required=True)

    check = sub.add_parser("check", help="report problems corosync or the cluster would hit",
                           epilog=CHECK_EXITS,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_check)

    edit = sub.add_parser(
        "set",
        help="set totem keys (KEY= unsets), bump config_version, print the diff",
        description="Edit a copy, e.g. /etc/pve/corosync.conf.new, never the live file.",
        epilog=SET_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    edit.add_argument("file", type=Path)
    edit.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    edit.add_argument("-o", "--output", type=Path, help="write here (atomically) instead of stdout")
    edit.set_defaults(func=cmd_set)


def _read(path: Path) -> str:
    """The file's text; OSError (with a strerror that says what to do) for bytes corosync's
    parser would not read either: non-UTF-8 text, or a leading UTF-8 byte order mark."""
    import errno

    from pverunbook.runbook.readfile import read_capped

    try:
        raw = read_capped(path, 16 * 1024 * 1024, "corosync.conf")
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror}; give the path of a corosync.conf (a copy of "
                                 "/etc/pve/corosync.conf or /etc/corosync/corosync.conf)") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raise OSError(errno.EILSEQ, "starts with a UTF-8 byte order mark, which corosync reads "
                                    "as part of the first key; save the file without it")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise OSError(errno.EILSEQ, f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}"
                                    f"); save it as UTF-8") from exc


def cmd_check(args: argparse.Namespace) -> int:
    from pverunbook.pve.corosync_conf import CorosyncParseError, parse, validate

    try:
        text = _read(args.file)
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if not text.strip():  # said "totem.version must be 2" and three errors, none of them this
        print(f"{args.file}:1: fatal: {_EMPTY}")
        return EXIT_FAIL
    try:
        problems = validate(parse(text))
    except CorosyncParseError as exc:
        print(f"{args.file}:{exc.line}: fatal: {exc.message}")
        return 1
    for p in problems:
        print(f"{args.file}:{p.line or 1}: {p.severity}: {p.message}")
    # Warnings are advice; a fatal (corosync refuses it) or an error (the cluster misbehaves)
    # rejects the file, and `corosync set` never writes a file this rejects.
    return 1 if rejects(problems) else 0


def rejects(problems: list[Problem]) -> bool:
    """Whether ``corosync check`` rejects a file with these problems (any fatal or error)."""
    return any(p.severity in ("fatal", "error") for p in problems)


def _parse_assignments(items: list[str]) -> dict[str, str | None]:
    """``KEY=VALUE`` arguments as {key: value, or None to unset}; ValueError naming the
    argument for one that is not KEY=VALUE, names a key corosync does not know (with the
    nearest), config_version, or gives a value that is not of its key's type."""
    from pverunbook.pve.corosync_conf import check_settable

    changes: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"argument {item!r}: expected KEY=VALUE, or KEY= to unset "
                             "the key")
        try:
            path = check_settable(key.strip())
        except ValueError as exc:  # UnknownKeyError says the nearest key
            raise ValueError(f"argument {item!r}: {exc}") from None
        why = _value_problem(path, value.strip())
        if why:
            raise ValueError(f"argument {item!r}: {why}")
        changes[key.strip()] = value.strip() or None
    return changes


def _value_problem(path: str, value: str) -> str:
    """Why ``value`` cannot be ``path``'s (the words of ``corosync check``), "" when it can or
    unsets it: a whole number in range for a number key, an allowed word for the others."""
    from pverunbook.pve.corosync_conf.keys import ENUMS, UINT_KEYS, UINT_LIMITS
    from pverunbook.pve.digits import is_uint

    if not value:
        return ""
    if path in UINT_KEYS:
        limit = UINT_LIMITS.get(path, 2**32 - 1)
        if not is_uint(value) or int(value) > limit:
            return f"{path} must be a whole number 0..{limit}, not {value!r}"
    if path in ENUMS and value not in ENUMS[path]:
        return f"{path} is {value!r}; corosync only accepts {', '.join(ENUMS[path])}"
    return ""


def cmd_set(args: argparse.Namespace) -> int:
    """Exit 2 for input errors (the arguments, a FILE it cannot read or parse), 1 when the edit
    fails (``corosync check`` rejects the result, the -o file cannot be written): SET_EXITS."""
    from pverunbook.pve.corosync_conf import (
        CorosyncParseError,
        parse,
        set_totem,
        unified_diff,
        validate,
    )

    try:  # the arguments first, as argparse checks them
        changes = _parse_assignments(args.assignments)
    except ValueError as exc:
        print(f"pverunbook: corosync set: {exc} (nothing was written)", file=sys.stderr)
        return EXIT_USAGE
    try:
        text = _read(args.file)
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    if not text.strip():
        print(f"{args.file}:1: fatal: {_EMPTY}; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    try:
        old = parse(text)
    except CorosyncParseError as exc:
        print(f"{args.file}:{exc.line}: fatal: {exc.message}; nothing was written: fix the "
              f"file first (`pverunbook corosync check {shlex.quote(str(args.file))}`)",
              file=sys.stderr)
        return EXIT_USAGE
    new = set_totem(old, changes)  # the keys were checked with the arguments
    new_text = new.dump()
    problems = validate(new, previous=old)
    diff = unified_diff(text, new_text, str(args.file))
    out = sys.stderr if args.output is None else sys.stdout
    print(diff, end="", file=out)
    for p in problems:
        print(f"{args.file}:{p.line or 1}: {p.severity}: {p.message}", file=sys.stderr)
    if rejects(problems):
        why = ("corosync would not start with this file" if any(
            p.severity == "fatal" for p in problems) else
            "`corosync check` rejects the result (see the errors above)")
        print(f"pverunbook: corosync set: refusing to write: {why}; change the values and "
              "run it again", file=sys.stderr)
        return EXIT_FAIL
    if args.output is None:
        sys.stdout.write(new_text)
    else:
        try:
            atomic_write(args.output, new_text)
        except OSError as exc:
            print(f"pverunbook: corosync set -o {args.output}: {exc.strerror}; nothing was "
                  "written; choose a writable path (its folder must exist)", file=sys.stderr)
            return EXIT_FAIL
        print(f"wrote {args.output} (config_version {new.config_version})", file=sys.stderr)
    return EXIT_OK
