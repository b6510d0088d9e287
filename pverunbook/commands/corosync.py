"""``pverunbook corosync check|set``: lint and safely edit a copy of corosync.conf.

The editor never writes a file real corosync would refuse, always bumps config_version and
shows the diff first, because a bad /etc/pve/corosync.conf is copied to every node at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.commands.files import atomic_write

if TYPE_CHECKING:
    from pverunbook.pve.corosync_conf import Problem


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corosync", help="check or edit a corosync.conf file")
    sub = parser.add_subparsers(dest="corosync_command", required=True)

    check = sub.add_parser("check", help="report problems corosync or the cluster would hit")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_check)

    edit = sub.add_parser(
        "set",
        help="set totem keys (KEY= unsets), bump config_version, print the diff",
        description="Edit a copy, e.g. /etc/pve/corosync.conf.new, never the live file.",
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
        print(f"{args.file}:1: fatal: the file is empty (or only whitespace): corosync needs "
              "a totem section and a nodelist; is it a truncated copy? compare it with "
              "/etc/pve/corosync.conf on a node whose /etc/pve answers")
        return 1
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
    changes: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        changes[key.strip()] = value.strip() or None
    return changes


def cmd_set(args: argparse.Namespace) -> int:
    from pverunbook.pve.corosync_conf import (
        CorosyncParseError,
        UnknownKeyError,
        parse,
        set_totem,
        unified_diff,
        validate,
    )

    try:
        text = _read(args.file)
        changes = _parse_assignments(args.assignments)
        old = parse(text)
        new = set_totem(old, changes)
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except CorosyncParseError as exc:
        print(f"{args.file}:{exc.line}: fatal: {exc.message}", file=sys.stderr)
        return 1
    except UnknownKeyError as exc:
        print(f"error: corosync set: on the command line: {exc} Nothing was written.",
              file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: corosync set: {exc}; nothing was written", file=sys.stderr)
        return 1
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
        print(f"refusing to write: {why}; change the values and run it again",
              file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(new_text)
    else:
        try:
            atomic_write(args.output, new_text)
        except OSError as exc:
            print(f"error: corosync set -o {args.output}: {exc.strerror}; nothing was written; "
                  "choose a writable path (its folder must exist)", file=sys.stderr)
            return 2
        print(f"wrote {args.output} (config_version {new.config_version})", file=sys.stderr)
    return 0
