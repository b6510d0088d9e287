"""``pverunbook list``, ``validate`` and ``schema``: the runbooks on offer and whether they load.

``validate`` exits 2 on any load error or lint finding, each printed as ``file:line:col``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.commands.exits import EXIT_FAIL, EXIT_OK, EXIT_USAGE, err

if TYPE_CHECKING:
    from pverunbook.runbook.catalog import Entry
    from pverunbook.runbook.model import Runbook


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("list", help="list built-in runbooks and those in --runbooks DIR")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("validate", help="check runbook files (exit 2 on any error)")
    s.add_argument("files", nargs="*", type=Path,
                   help="runbook files (default: the built-in runbooks and those in --runbooks "
                        "DIR, e.g. to check an installed copy)")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("schema", help="print the runbook JSON Schema")
    s.set_defaults(func=cmd_schema)


def cmd_list(args: argparse.Namespace) -> int:
    from pverunbook.runbook.catalog import discover

    entries = discover(args.runbooks)
    if not entries:
        print("no runbooks found")
        return EXIT_FAIL
    invalid = 0
    for e in entries:
        origin = "built-in" if e.builtin else str(e.path.parent)
        if e.runbook is None:
            invalid += 1
            _print_invalid(e)
            continue
        rb = e.runbook
        tags = f" [{', '.join(rb.tags)}]" if rb.tags else ""
        print(f"{rb.id:<28} {rb.title}{tags}  ({origin})")
        if rb.summary:
            print(f"{'':<28} {rb.summary}")
    if invalid:
        return err("list", f"{invalid} runbook(s) are invalid (shown above)",
                   "fix them (a lint finding may instead be accepted with lint_ok where its "
                   "message allows it); `pverunbook validate FILE` lists every error")
    return EXIT_OK


def _print_invalid(e: Entry) -> None:
    """One ``INVALID`` line with the first error on stdout; the rest of it (a TOML syntax
    error's excerpt), the other errors and what to do on stderr: each error said once."""
    from pverunbook.runbook.lint_gate import RunbookLintError

    errors = e.error.errors if e.error else []
    print(f"{e.path.stem:<28} INVALID  {errors[0].headline if errors else 'unreadable'}")
    rest = [errors[0].excerpt] if errors and errors[0].excerpt else []
    rest += [str(more) for more in errors[1:]]
    if isinstance(e.error, RunbookLintError):
        rest.append(e.error.advice)
    for text in rest:
        print(text, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from pverunbook.runbook.lint import lint
    from pverunbook.runbook.loader import RunbookError, load_file

    files = list(args.files)
    if not files:
        from pverunbook.runbook.catalog import discover

        files = [e.path for e in discover(args.runbooks)]
        if not files:
            return err("validate", "no runbooks found", "give runbook files to check")
    bad = 0
    for f in files:
        try:
            rb = load_file(f, lint=False)
        except RunbookError as exc:
            bad += 1
            for e in exc.errors:
                print(str(e), file=sys.stderr)
            _lint_partial(f, exc.partial)
            continue
        issues = lint(rb)
        for issue in issues:
            print(f"{issue.pos}: {issue.code} {issue.message}", file=sys.stderr)
        if issues:
            bad += 1
        else:
            print(f"{f}: ok ({len(rb.steps)} steps)")
    return EXIT_USAGE if bad else EXIT_OK


def _lint_partial(file: Path, partial: Runbook | None) -> None:
    """Lint what parsed of a file with schema errors, and say that it is partial: a file with a
    typo and ``rm ... config.db*`` showed no PVR001 until the typo was fixed."""
    from pverunbook.runbook.lint import lint

    issues = None
    if partial is not None and partial.steps:
        try:
            issues = lint(partial)
        except Exception:  # noqa: BLE001 - a half-built runbook: say lint waits, never crash
            issues = None
    if issues is None:
        print(f"{file}: not linted yet: the lint of dangerous patterns runs once the errors "
              "above are fixed; validate again then", file=sys.stderr)
        return
    for issue in issues:
        print(f"{issue.pos}: {issue.code} {issue.message}", file=sys.stderr)
    found = f"the lint above ({len(issues)} finding(s)) covers" if issues else \
        "the lint found nothing in"
    print(f"{file}: {found} only the steps that parsed despite the errors above; fix those and "
          "validate again for the whole lint", file=sys.stderr)


def cmd_schema(args: argparse.Namespace) -> int:
    from pverunbook.runbook.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK
