"""``pverunbook journal list|show``: the runs kept on this machine, and one run read back.

``show`` prints every readable event and names each damaged line (``file:line: why``) instead
of stopping at the first one: a journal torn by a crash is still evidence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pverunbook.commands.exits import EXIT_OK, err
from pverunbook.commands.inputs import nearest_run, state_dir_option


def register(sub: argparse._SubParsersAction) -> None:
    j = sub.add_parser("journal", help="inspect run journals")
    jsub = j.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    s = jsub.add_parser("list", help="list runs")
    state_dir_option(s)
    s.set_defaults(func=cmd_journal_list)
    s = jsub.add_parser("show", help="print a run's journal readably")
    s.add_argument("run", help="run id (or unique prefix) or journal path")
    s.add_argument("--json", action="store_true", help="raw JSON lines")
    state_dir_option(s)
    s.set_defaults(func=cmd_journal_show)


def cmd_journal_list(args: argparse.Namespace) -> int:
    import time

    from pverunbook.engine.journal import list_runs, runs_dir

    runs = list_runs()
    if not runs:
        print(f"no runs in {runs_dir()}")
        return EXIT_OK
    # a stopped run a later healthy check settled: the start screen lists it among the older
    # runs (o); here every run is listed, and such a run says which check settled it
    from pverunbook.stopped_runs import settled_runs, where

    settled = settled_runs(runs)
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
        status = _with_findings(r.status, r.path)
        line = f"{r.run_id}  {when}  {r.mode:<9} {status:<24} {r.runbook}"
        if r.cluster:  # which cluster, and which rehearsal scenario (all are "nyc")
            line += f"  on {where(r.cluster, r.scenario)}"
        if r.run_id in settled:
            line += f"  ({settled[r.run_id].settled_by()})"
        print(line)
    return EXIT_OK


def _with_findings(status: str, path: Path) -> str:
    """``ok — findings (CRIT)`` for a run whose steps passed but whose findings are critical
    now: a triage that found the outage is not "ok" in the list of runs; a health check that
    found the cluster healthy, with old link flaps in its logs, is (``worst_finding_now``)."""
    from pverunbook.engine.journal import JournalError, read_journal
    from pverunbook.run_diagnosis import run_status_words, step_status_label, worst_finding_now

    if status != "ok":
        return run_status_words(status)
    try:
        events = read_journal(path)
    except (JournalError, OSError):
        return status
    return step_status_label(status, worst_finding_now(events))


def cmd_journal_show(args: argparse.Namespace) -> int:
    from pverunbook.engine.journal import JournalError, find_run, iter_journal
    from pverunbook.headless import EventPrinter
    from pverunbook.runbook.readfile import open_regular

    try:
        path = find_run(args.run)
        if args.json:
            with open_regular(path, "run journal") as fh:
                while chunk := fh.read(1 << 20):
                    sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            return EXIT_OK
    except (FileNotFoundError, JournalError) as exc:
        return err("journal", nearest_run(args.run, exc))
    except OSError as exc:
        return err("journal", f"{args.run}: {exc.strerror or exc}")
    import time

    printer = EventPrinter()
    print(f"journal {path}")
    problems: list[str] = []
    count = 0
    try:
        for e in iter_journal(path, problems):
            count += 1
            stamp = time.strftime("%H:%M:%S", time.localtime(e.ts))
            if type(e).__name__ in ("OutputChunk",):
                printer(e)
                continue
            printer.stamp = f"[{stamp}] "  # before its first line (a terminal wraps after it)
            printer(e)
            if e.kind == "confirmation_given":
                d = e.to_dict()
                if d.get("typed"):  # a manual step or a button is answered, not typed
                    print(f"           typed {d['typed']!r} by {d.get('operator', '?')}")
                else:
                    print(f"           answered by {d.get('operator', '?')}")
    except JournalError as exc:
        return err("journal", str(exc))
    for p in problems[:20]:
        print(f"pverunbook: journal: {p}", file=sys.stderr)
    if len(problems) > 20:
        print(f"pverunbook: journal: ... and {len(problems) - 20} more damaged lines",
              file=sys.stderr)
    if not count:
        return err("journal", f"{path} holds no readable events",
                   "is this a pverunbook run journal? `pverunbook journal list` shows the runs")
    return EXIT_OK
