"""``pverunbook tui`` (and no command at all): the app, with its inputs checked first.

A bad runbook, inventory or journal named on the command line is reported on the terminal
(exit 2) before the app takes the screen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pverunbook.commands.exits import EXIT_USAGE, err
from pverunbook.commands.inputs import load_runbook, parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("tui", help="open the app (default when no command is given)")
    tmode = s.add_mutually_exclusive_group()
    tmode.add_argument("--cluster", type=Path, help="live mode against this inventory")
    tmode.add_argument("--dry-run", action="store_true",
                       help="show every command a runbook would run, execute nothing")
    tmode.add_argument("--local", action="store_true",
                       help="run the commands on this machine (a node's console)")
    s.add_argument("--scenario", default="nyc-outage",
                   help="rehearsal: which simulated cluster (nyc-outage, three-node-bad-link, "
                        "five-node, …; `--scenario list`: each with what it is)")
    s.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="rehearsal: keep the simulated cluster's state here between launches "
                        "(default: a per-user directory; reset it from the palette)")
    s.add_argument("--accept-new-host-keys", action="store_true",
                   help="live: trust SSH host keys not yet in known_hosts (never changed ones)")
    s.add_argument("--resume", metavar="RUN", help="continue an interrupted run (id or journal)")
    s.add_argument("runbook", nargs="?", help="open this runbook (id or file) straight away")
    s.set_defaults(func=cmd_tui)


def cmd_tui(args: argparse.Namespace) -> int:
    from pverunbook.session import Mode, SessionConfig
    from pverunbook.statedir import rehearsal_cluster_dir
    from pverunbook.ui.app import make_app

    if getattr(args, "cluster", None):
        mode = Mode.LIVE
    elif getattr(args, "dry_run", False):
        mode = Mode.DRY_RUN
    elif getattr(args, "local", False):
        mode = Mode.LOCAL
    else:
        mode = Mode.REHEARSAL
    scenario = getattr(args, "scenario", "nyc-outage")
    state = None
    if mode is Mode.REHEARSAL:  # --state-dir DIR, else kept per scenario (the CLI's rule too)
        state = rehearsal_cluster_dir(scenario)
        problem = state_dir_problem(args, state, scenario)
        if problem is not None:
            return problem
    config = SessionConfig(mode=mode, cluster_file=getattr(args, "cluster", None),
                           scenario=scenario, sim_state_dir=state,
                           accept_new_host_keys=getattr(args, "accept_new_host_keys", False))
    runbook = None
    problem = tui_preflight(args)
    if problem is not None:
        return problem
    if getattr(args, "runbook", None):
        from pverunbook.runbook.catalog import find

        runbook = find(args.runbook, args.runbooks)
    app = make_app(config, runbook_dirs=args.runbooks, runbook=runbook,
                   resume=getattr(args, "resume", None), cli_args=args)
    return run_app(app, args)


def run_app(app: Any, args: argparse.Namespace) -> int:
    """Run the app; once it has exited, say on the terminal which run it leaves to resume
    (:func:`left_to_resume`): the id was only in the quit question, gone with the app."""
    app.run()
    for line in left_to_resume(app, args):
        print(line, file=sys.stderr)
    return int(getattr(app, "return_code", 0) or 0)


def left_to_resume(app: Any, args: argparse.Namespace) -> list[str]:
    """For each run of the app's session that can be resumed (it did not reach its end:
    left interrupted, aborted, failed; the latest of its runbook only, as the runbook list
    offers it), its id and the command that resumes it: the one the headless CLI prints
    (``resume_command``). Empty when there is nothing to resume."""
    from pverunbook.commands.run_resume import ENDED
    from pverunbook.resume_hint import resume_run_command

    lines: list[str] = []
    seen: set[str] = set()
    runs = list(getattr(app, "session_runs", {}).items())
    for run_id, (runbook_id, title, status, journal) in reversed(runs):
        if runbook_id in seen:
            continue  # a later run of the same runbook supersedes it
        seen.add(runbook_id)
        if status in ENDED:
            continue
        how = "is left interrupted, not finished" if status in ("unfinished", "interrupted") \
            else f"stopped before its end ({status})"
        lines = [f"pverunbook: run {run_id} ({title}) {how}; the journal keeps every step "
                 "so far.", f"Resume it with: {resume_run_command(args, run_id, journal)}", *lines]
    return lines


def state_dir_problem(args: argparse.Namespace, state: Path, scenario: str) -> int | None:
    """Exit 2 with what and what to do when ``state`` cannot hold ``scenario``'s rehearsal
    (another scenario's cluster, an unreadable world.json), checked before anything starts;
    None when it can. Shared by the TUI and the headless ``rehearse --state-dir``."""
    from pverunbook.commands.inputs import state_dir_damage
    from pverunbook.sim.state import SimStateError, check_state_dir

    damage = state_dir_damage(state)  # wrong types, a garbage key, a node dir that is a file
    if damage:
        return err(str(getattr(args, "command", None) or "tui"), damage)
    try:
        check_state_dir(state, scenario)
    except SimStateError as exc:
        return err(str(getattr(args, "command", None) or "tui"), str(exc))
    return None


def tui_preflight(args: argparse.Namespace) -> int | None:
    """Check the TUI's inputs on the terminal before the app takes the screen.

    A bad runbook, inventory or journal named on the command line is reported here like any
    other command's input error (exit 2), instead of inside an app that then has nothing to show.
    """
    try:
        parse_sets(getattr(args, "set", None))
    except ValueError as exc:
        return err(f"{args.command} --set", str(exc))
    if not any(getattr(args, k, None) for k in ("runbook", "cluster", "resume")):
        return _terminal_problem(args)  # the loader is not imported before the first frame
    from pverunbook.inventory import InventoryError, load_cluster
    from pverunbook.runbook.loader import RunbookError

    command = str(args.command)
    try:
        if getattr(args, "runbook", None):
            load_runbook(args.runbook, args.runbooks)
        if getattr(args, "cluster", None):
            load_cluster(args.cluster)
        if getattr(args, "resume", None):
            from pverunbook.engine.journal import find_run
            from pverunbook.engine.resume import load_resume

            load_resume(find_run(args.resume))
    except RunbookError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except (InventoryError, OSError, ValueError) as exc:
        return err(command, str(exc))
    return _terminal_problem(args)


def has_terminal() -> bool:
    """stdin and stdout are both a terminal: the full-screen app can draw and read keys."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _terminal_problem(args: argparse.Namespace) -> int | None:
    """Exit 2 when the app has no terminal: `pverunbook check > out.txt` (or from cron, or
    with stdin from /dev/null) drew the full-screen app's escape codes into the file and then
    waited for keys that never come."""
    if has_terminal():
        return None
    which = "stdout" if sys.stdin.isatty() else "stdin"
    command = str(getattr(args, "command", None) or "")
    todo = ("add --headless (or --json) to print the output instead of opening the app"
            if command in ("run", "rehearse", "check") else
            "run it in a terminal, or use a headless command: `pverunbook check --headless`, "
            "`pverunbook rehearse RUNBOOK --headless`")
    return err(command or "tui", f"the app needs a terminal and {which} is not one",
               todo)
