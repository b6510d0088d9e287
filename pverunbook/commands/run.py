"""``pverunbook run`` and ``rehearse``: one runbook run, in the TUI or headless, and resume.

Headless runs print events (or JSON lines) and ask on the terminal; SIGTERM / SIGHUP stop a run
like Ctrl-C (journal ends ``interrupted``, exit 128 + signal), and a resumed run refuses a
changed runbook unless the operator accepts the diff.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import sys
from pathlib import Path
from typing import Any

from pverunbook.commands.exits import EXIT_CHECKS, EXIT_FAIL, EXIT_OK, EXIT_USAGE, err
from pverunbook.commands.inputs import SET_HINT, load_runbook, nearest_run, parse_sets
from pverunbook.commands.run_resume import (
    accept_runbook_change,
    ended,
    runbook_of_run,
)
from pverunbook.resume_hint import resume_command
from pverunbook.statedir import chosen_args

#: ``--state-dir`` and ``--reset`` of ``rehearse``/``run``/``check``: where the cluster is kept.
STATE_DIR_HELP = ("rehearsal: start from the simulated cluster kept in DIR and keep it there "
                  "afterwards, so the next runbook (or the TUI with the same --state-dir) "
                  "continues where this run left it; the run's journal and checkpoints are kept "
                  "in DIR too (DIR/runs, DIR/checkpoints). Default: the cluster kept per "
                  "scenario under the state directory ($PVERUNBOOK_STATE_DIR/rehearsal/SCENARIO, "
                  "else the per-user one), the same one the TUI uses")
CONFIRM_HELP = (
    "without a terminal, answer what asks for exactly TEXT (repeatable: --confirm nyc "
    "--confirm pve001): a typed confirmation asking for that cluster or node name; "
    "--confirm COMMIT keeps a change whose checks passed (commit_within), without it the "
    "nodes roll the change back when the timer fires; --confirm STEP_ID records that manual "
    "step as done. A manual step not answered so is left for the operator (listed at the end) "
    "when nothing destructive follows it, and stops the run when destructive steps follow it "
    "or it needs a person at the nodes (needs_person: only at a terminal)")
RESET_HELP = ("rehearsal: start the scenario's simulated cluster afresh (its broken state) "
              "before this run; the journals and checkpoints of earlier runs stay")


def rehearsal_args(scenario: str, cluster_dir: Path) -> str:
    """`` --scenario X`` and `` --state-dir DIR`` as needed for the commands a rehearsal tells
    the operator to type next to find the same simulated cluster: the default place
    (``statedir.rehearsal_cluster_dir``) needs no --state-dir — unless that place is under a
    ``--state-dir`` given to this command, which the next command must be given too (it
    said ``rehearse network-triage`` and the operator landed on another, fresh cluster)."""
    from pverunbook.statedir import chosen_args, rehearsal_cluster_dir

    suffix = f" --scenario {shlex.quote(scenario)}" if scenario != "nyc-outage" else ""
    if Path(cluster_dir).absolute() != rehearsal_cluster_dir(scenario).absolute():
        suffix += f" --state-dir {shlex.quote(str(cluster_dir))}"
    else:
        suffix += chosen_args()
    return suffix


def register(sub: argparse._SubParsersAction) -> None:
    for name, helptext in (("run", "run a runbook (TUI, or --headless)"),
                           ("rehearse", "run a runbook against the built-in simulated cluster")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("runbook", nargs="?", help="runbook id or file (not needed with --resume)")
        s.add_argument("--headless", action="store_true", help="no TUI: print output, ask on "
                       "the terminal")
        s.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter value")
        s.add_argument("--confirm", metavar="TEXT", action="append", help=CONFIRM_HELP)
        s.add_argument("--override-checkpoint", metavar="PHRASE",
                       help="without a terminal: go on past a destructive step whose "
                            "checkpoint failed, if PHRASE is exactly the override phrase "
                            "(e.g. a missing CA that updatecerts will recreate); anything else "
                            "aborts as without the flag")
        s.add_argument("--override-guard", metavar="STEP_ID=REASON", action="append",
                       help="without a terminal: go past the failed step STEP_ID that guards "
                            "later destructive steps, for REASON (journaled, in the report, "
                            "and said again by every later confirmation); without it such a "
                            "failure stops the run")
        s.add_argument("--journal", type=Path, metavar="PATH", help="journal file (default: "
                       "a new file under the state directory)")
        s.add_argument("--json", action="store_true", help="headless (implies --headless): print "
                       "events as JSON lines and finally the diagnosis (facts and faults); "
                       "prompts go to stderr")
        if name == "run":
            mode = s.add_mutually_exclusive_group()
            mode.add_argument("--local", action="store_true", help="target this machine")
            mode.add_argument("--cluster", type=Path, help="cluster inventory TOML (live)")
            mode.add_argument("--dry-run", action="store_true", help="execute nothing")
            mode.add_argument("--rehearsal", action="store_true", help="simulated cluster")
            s.add_argument("--dry-run-cluster", type=Path, help=argparse.SUPPRESS)
        s.add_argument("--resume", metavar="RUN", help="continue an interrupted run" + (
            " (a rehearsal: on the simulated cluster it ran on; the same as `run --resume`)"
            if name == "rehearse" else ""))
        s.add_argument("--accept-changed-runbook", action="store_true",
                       help="with --resume: go on although the runbook file changed since "
                            "the run started (the diff is shown)")
        if name == "run":
            s.add_argument("--accept-new-host-keys", action="store_true",
                           help="trust SSH host keys not yet in known_hosts (never changed ones)")
        s.add_argument("--scenario", default="nyc-outage", help="rehearsal scenario "
                       "(`--scenario list`: each with what it is)")
        s.add_argument("--state-dir", type=Path, metavar="DIR",
                       help=STATE_DIR_HELP)
        s.add_argument("--reset", action="store_true", help=RESET_HELP)
        s.set_defaults(func=cmd_run, rehearse=(name == "rehearse"))


def cmd_run(args: argparse.Namespace) -> int:
    from pverunbook.commands.run_journal import _mode_of_run, _rehearsal_cluster_of
    from pverunbook.session import Mode, SessionConfig

    if getattr(args, "resume", None) and getattr(args, "reset", False):
        return err(f"{args.command} --reset",
                   "a resumed run goes on on the simulated cluster it changed",
                   "resume without --reset, or start the runbook anew with --reset")
    if getattr(args, "resume", None):
        done = ended(args.resume, str(args.command))
        if done is not None:
            return done
    if args.rehearse and args.resume:
        # ``rehearse --resume RUN`` is ``run --resume RUN`` (the quit dialog and --help offered
        # it), for a rehearsal run only: a live or local run is not resumed on a simulation
        mode, why = _mode_of_run(args.resume)
        if mode is None:
            return err("rehearse --resume", why)
        if mode is not Mode.REHEARSAL:
            return err("rehearse --resume", f"run {args.resume} was a {mode.value} run, not a "
                       "rehearsal", f"resume it with `pverunbook run --resume {args.resume}`"
                       + (" --cluster FILE" if mode is Mode.LIVE else ""))
    elif args.rehearse:
        mode = Mode.REHEARSAL
    elif args.local:
        mode = Mode.LOCAL
    elif args.dry_run:
        mode = Mode.DRY_RUN
    elif args.rehearsal:
        mode = Mode.REHEARSAL
    elif args.resume and not args.cluster:
        mode, why = _mode_of_run(args.resume)
        if mode is None:
            return err("run --resume", why)
        if mode is Mode.LIVE:
            return err("run", "this was a live run", "resume it with --cluster FILE (the same "
                       "inventory)")
    elif args.cluster:
        mode = Mode.LIVE
    else:
        return err("run", "no target given", "use --local, --cluster FILE (live), --dry-run, "
                   "--rehearsal, or `pverunbook rehearse`")
    state = getattr(args, "state_dir", None)
    if state is not None and mode is not Mode.REHEARSAL:
        return err(str(args.command), "--state-dir keeps a simulated cluster",
                   "use it with `pverunbook rehearse` or `run --rehearsal`")
    if getattr(args, "reset", False) and mode is not Mode.REHEARSAL:
        return err(f"{args.command} --reset", "it starts a rehearsal's simulated cluster afresh",
                   "use it with `pverunbook rehearse`, `check` or `run --rehearsal`")
    if state is None and mode is Mode.REHEARSAL and getattr(args, "resume", None):
        kept = _rehearsal_cluster_of(args.resume, str(args.command))
        if isinstance(kept, int):
            return kept
        state, args.scenario = kept
    elif mode is Mode.REHEARSAL and getattr(args, "resume", None):
        from pverunbook.sim import SimCluster

        # a resumed run goes on the simulated cluster it changed: the scenario --state-dir
        # holds, not --scenario's default (the resume hint printed after Ctrl-C gave no
        # --scenario, and following it was refused: "holds a rehearsal of 'three-node-wiped',
        # not 'nyc-outage'")
        if state is not None:
            args.scenario = SimCluster.saved_scenario(Path(state)) or args.scenario
    elif mode is Mode.REHEARSAL:
        from pverunbook.statedir import rehearsal_cluster_dir

        # kept between runs like the app's (one rule: statedir.rehearsal_cluster_dir)
        state = rehearsal_cluster_dir(args.scenario)
    if state is not None:
        from pverunbook.commands.tui import state_dir_problem

        if getattr(args, "reset", False):
            from pverunbook.session import reset_state_dir

            reset_state_dir(state)  # the scenario afresh; journals and keys stay

        problem = state_dir_problem(args, state, args.scenario)
        if problem is not None:
            return problem
    config = SessionConfig(mode=mode, cluster_file=getattr(args, "cluster", None),
                           journal_path=args.journal, scenario=args.scenario,
                           sim_state_dir=state,
                           accept_new_host_keys=getattr(args, "accept_new_host_keys", False))
    if getattr(args, "json", False):
        args.headless = True  # JSON lines are for scripts; the full-screen app has no stdout
    if not args.headless:
        from pverunbook.ui.app import make_app

        runbook = None
        from pverunbook.commands.tui import tui_preflight

        problem = tui_preflight(args)
        if problem is not None:
            return problem
        if args.runbook:
            from pverunbook.runbook.catalog import find

            runbook = find(args.runbook, args.runbooks)
        app = make_app(config, runbook_dirs=args.runbooks, runbook=runbook,
                       params=parse_sets(args.set), resume=getattr(args, "resume", None),
                       cli_args=args)
        from pverunbook.commands.tui import run_app

        return run_app(app, args)
    if not args.runbook and not getattr(args, "resume", None):
        if not args.rehearse:
            return err("run", "which runbook?", "name one (see `pverunbook list`) or use "
                       "--resume RUN")
        from pverunbook.commands.runbooks import cmd_list

        return cmd_list(args)
    try:
        return asyncio.run(_stopped_by_signals(run_headless(args, config)))
    except KeyboardInterrupt:
        print(f"\npverunbook: interrupted; {_continue_with()}", file=sys.stderr)
        return 130


#: The command that continues the headless run in progress (``resume_command``: the
#: subcommand typed, the run's id plus ``--state-dir DIR`` when one was given, its journal's
#: path when ``--journal`` put it elsewhere): the line a Ctrl-C or a signal prints names it.
#: It said ``--resume RUN`` and the operator had to scroll back through every node's output
#: for the id; then ``run --resume`` to one who had typed ``rehearse``.
_RESUME_WHICH: list[str] = []


def _continue_with() -> str:
    """The end of the line printed when a headless run is stopped by Ctrl-C or a signal."""
    if not _RESUME_WHICH:
        return "the run had not started: nothing ran and there is nothing to resume."
    return f"the journal has everything up to here. Continue with `{_RESUME_WHICH[-1]}`."


async def _stopped_by_signals(work: Any) -> int:
    """Run ``work``; SIGTERM or SIGHUP stop it like Ctrl-C would: the running step is cancelled
    (its local commands killed, its remote ones stopped), the journal ends with
    ``run_finished: interrupted``, and the exit status is 128 + the signal's number.
    (SIGKILL cannot be caught: transport/reaper.py kills the local commands then.)"""
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    got: list[int] = []

    def stop(sig: int) -> None:
        got.append(sig)
        if task is not None:
            task.cancel()

    sigs = (signal.SIGTERM, signal.SIGHUP)
    for sig in sigs:
        loop.add_signal_handler(sig, stop, sig)
    try:
        return int(await work)
    except asyncio.CancelledError:
        if not got:
            raise
        print(f"\npverunbook: stopped by {signal.Signals(got[0]).name}; local commands were "
              f"killed; {_continue_with()}", file=sys.stderr)
        return 128 + got[0]
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)


async def run_headless(args: argparse.Namespace, config: Any) -> int:
    """A headless run, holding its journal's lock from before the journal is read.

    ``--resume`` decides what already ran from the journal, so the lock is taken before that
    read: a run still being written by another process is refused with who holds it instead of
    running its destructive step a second time (engine/runlock.py)."""
    from pverunbook.engine.journal import find_run
    from pverunbook.engine.runlock import LockHeld, hold

    lock = None
    try:
        if getattr(args, "resume", None):
            with contextlib.suppress(OSError):  # an unknown run is reported below
                lock = hold(find_run(args.resume), "journal")
        elif getattr(args, "journal", None):
            lock = hold(Path(args.journal), "journal")
    except LockHeld as exc:
        return err(str(getattr(args, "command", None) or "run"), str(exc))
    except OSError:
        pass  # an unwritable --journal is reported where the journal is opened
    try:
        return await _run_headless(args, config)
    finally:
        if lock is not None:
            lock.release()


async def _run_headless(args: argparse.Namespace, config: Any) -> int:
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.runbook.params import ParamValueError, resolve
    from pverunbook.session import Mode

    cmd = str(getattr(args, "command", None) or "run")  # what the operator typed
    resume = None
    run_id = None
    journal_path = args.journal
    given: dict[str, Any] = {}
    try:
        if getattr(args, "resume", None):
            from pverunbook.engine.journal import find_run
            from pverunbook.engine.resume import load_resume, missing_secrets

            journal_path = find_run(args.resume)
            started, resume = load_resume(journal_path)
            run_id = started.run_id
            _RESUME_WHICH.append(resume_command(args, shlex.quote(str(args.resume))
                                                + chosen_args()))
            rb = runbook_of_run(started, args.runbooks)
            refused = accept_runbook_change(args, started, rb)
            if refused is not None:
                return refused
            given = {k: v for k, v in started.params.items() if v != "[REDACTED]"}
            need = missing_secrets(rb, started)
            sets = parse_sets(args.set)
            lacking = [n for n in need if n not in sets]
            if lacking:
                return err(f"{cmd} --resume", f"secret parameter(s) {', '.join(lacking)} are "
                           "not kept in the journal", "pass them again with --set NAME=VALUE")
            given.update(sets)
            if started.mode == Mode.LOCAL.value:
                config.mode = Mode.LOCAL
            elif started.mode == "dry-run":
                config.mode = Mode.DRY_RUN
        else:
            rb = load_runbook(args.runbook, args.runbooks)
            given = parse_sets(args.set)
        values, missing = resolve(rb, given)
    except RunbookError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ParamValueError as exc:
        return err(f"{cmd} --set", str(exc), SET_HINT)
    except (OSError, ValueError) as exc:  # OSError: journal unreadable
        return err(cmd, nearest_run(str(getattr(args, "resume", None) or ""), exc))
    asked_later = {n for s in rb.steps for n in s.params}
    unasked = [m for m in missing if m not in asked_later]
    if unasked:
        return err(cmd, f"no value for parameter(s) {', '.join(unasked)}",
                   "pass --set NAME=VALUE (see `pverunbook plan` for what they mean)")
    if config.mode is Mode.REHEARSAL:
        from pverunbook.sim.scenarios import get as scenario

        try:
            scenario(config.scenario)
        except KeyError as exc:
            return err(str(args.command), str(exc.args[0]), "pick one of those with --scenario")
    from pverunbook.termout import background_stdio

    with background_stdio():  # a slow terminal must never stall the engine
        return await _run_session(args, config, cmd, rb, values, run_id, resume, journal_path)


def parse_guard_overrides(given: list[str] | None, rb: Any) -> tuple[dict[str, str], str]:
    """``--override-guard STEP_ID=REASON`` values: ({step id: reason}, "") or ({}, what is
    wrong). The id must name a step that guards a destructive one (engine/guard_skip.py) and
    the reason must not be empty: the override is journaled with it."""
    from pverunbook.engine.guard_skip import guarded_by

    out: dict[str, str] = {}
    for item in given or []:
        sid, _, reason = item.partition("=")
        sid, reason = sid.strip(), " ".join(reason.split())
        if not reason:
            return {}, f"{item!r} has no reason"
        index = next((i for i, s in enumerate(rb.steps) if s.id == sid), None)
        if index is None:
            return {}, f"{rb.id} has no step {sid!r}"
        if not guarded_by(rb, index):
            return {}, f"step {sid!r} guards no destructive step: there is nothing to override"
        out[sid] = reason
    return out, ""


async def _run_session(args: argparse.Namespace, config: Any, cmd: str, rb: Any,
                       values: dict[str, Any], run_id: str | None, resume: Any,
                       journal_path: Any) -> int:
    """Start the session, run the engine with the headless printers, print where the
    journal and report are; the exit status."""
    from pverunbook.engine.journal import JournalWriteError
    from pverunbook.engine.runlock import LockHeld
    from pverunbook.engine.targets import TargetError
    from pverunbook.headless import EventPrinter, JsonPrinter, TerminalDecider
    from pverunbook.inventory import InventoryError
    from pverunbook.run_diagnosis import cluster_addresses
    from pverunbook.session import Mode, Session
    from pverunbook.transport.base import TransportError

    guard_overrides, bad = parse_guard_overrides(getattr(args, "override_guard", None), rb)
    if bad:
        return err(f"{cmd} --override-guard", bad,
                   "give STEP_ID=REASON with the id of a step that guards a destructive step "
                   "(`pverunbook plan` lists the steps) and why going past it is safe")
    session = Session(config)
    try:
        await session.start()
        assert session.cluster is not None
        as_json = bool(getattr(args, "json", False))
        decider = TerminalDecider(confirm_text=args.confirm,
                                  out=sys.stderr if as_json else None,
                                  override=getattr(args, "override_checkpoint", None),
                                  guard_overrides=guard_overrides)
        # Connect before the engine (and its journal) exists: a run that cannot start at all
        # (no node answers) leaves no journal behind.
        unreachable = await session.connect()
        for name, why in unreachable.items():
            print(f"pverunbook: node {name} is unreachable: {why}; read-only steps go on "
                  "without it, destructive steps that target it are refused", file=sys.stderr)
        decider.runbook, decider.dry_run = rb, config.mode is Mode.DRY_RUN
        earlier = _earlier_events(journal_path) if resume is not None else []
        engine = session.engine(rb, decider, values, run_id=run_id, resume=resume,
                                journal_path=journal_path)
        # a journal outside the state directory is found by its path, not by its run id
        which = shlex.quote(str(engine.journal_path)) if journal_path else \
            engine.run_id + chosen_args()  # a run under --state-dir DIR is found in DIR
        resumed = getattr(args, "resume", None)  # as the operator named it
        _RESUME_WHICH.append(resume_command(args, shlex.quote(str(resumed)) + chosen_args()
                                            if resumed else which))
        decider.resume_with = _RESUME_WHICH[-1]
        decider.context = dict(engine.params, cluster=session.cluster.name,
                               run_id=engine.run_id)
        decider.announce(session.cluster, dict(engine.params))
        addrs = cluster_addresses(session.cluster)
        printer: Any
        if as_json and getattr(args, "check_json", False):
            from pverunbook.check_json import CheckJsonPrinter

            printer = CheckJsonPrinter(runbook=rb, names_by_addr=addrs,
                                       events=bool(getattr(args, "json_events", False)))
            printer.journal = str(engine.journal_path)
        elif as_json:
            printer = JsonPrinter(runbook=rb, names_by_addr=addrs)
        else:
            printer = EventPrinter(runbook=rb, names_by_addr=addrs)
        if isinstance(printer, EventPrinter):  # "next:" echoes the subcommand typed
            printer.command = str(getattr(args, "command", None) or "")
            printer.quiet = bool(getattr(args, "quiet_steps", False))
        if config.sim_state_dir is not None:  # "next:" continues the same simulated cluster
            printer.next_suffix = rehearsal_args(config.scenario, config.sim_state_dir)
        if isinstance(printer, EventPrinter):  # headless now: the next one headless too
            printer.next_suffix = " --headless" + printer.next_suffix
        if isinstance(printer, EventPrinter):
            printer.seed(earlier)
        else:  # the JSON diagnosis is the whole run's too
            printer.events.extend(earlier)
        if isinstance(printer, EventPrinter) and not decider.interactive:
            printer.next_confirms = _confirms_of(args.runbooks, session.cluster)
        engine.subscribe(printer)
        status = await engine.run()
        info = sys.stderr if as_json else sys.stdout
        print(f"journal: {engine.journal_path}", file=info)
        print(f"report:  pverunbook report {which}", file=info)
        if isinstance(printer, EventPrinter) and (last := printer.final_line()):
            print(f"\n{last}")  # the one line to read after scrolling: what to type now
    except (InventoryError, TargetError, ValueError, LockHeld, JournalWriteError) as exc:
        return err(cmd, str(exc))
    except TransportError as exc:
        return err(cmd, f"node {exc.node}: {exc.message}", exc.hint or "check the node and "
                   "your SSH setup, then run again")
    finally:
        await session.close()
    if status == "completed_with_failures":
        return EXIT_CHECKS
    if status == "ok" and _found_critical(rb, printer):
        return EXIT_CHECKS
    return EXIT_OK if status in ("ok", "planned") else EXIT_FAIL


def _earlier_events(journal_path: Any) -> list[Any]:
    """What a resumed run journaled before it was stopped (read before the engine appends to
    it): the findings made then count in the diagnosis and exit status as in its report."""
    from pverunbook.engine.journal import iter_journal

    try:
        return list(iter_journal(journal_path))
    except (OSError, ValueError):  # load_resume read it: a damaged tail is not fatal here
        return []


def _confirms_of(dirs: Any, cluster: Any) -> Any:
    """(runbook id, params) → the ``--confirm`` answers that runbook may ask for on
    ``cluster`` (``TerminalDecider.may_ask``), for the "next:" lines of a run without a
    terminal; [] when the runbook cannot be loaded (the line then stands alone)."""
    from pverunbook.headless import TerminalDecider
    from pverunbook.runbook.loader import RunbookError

    def confirms(runbook_id: str, params: dict[str, Any]) -> list[str]:
        try:
            decider = TerminalDecider(interactive=False)
            decider.runbook = load_runbook(runbook_id, dirs)
            values = {p.name: p.default for p in decider.runbook.params}
            values.update(params)
            return list(dict.fromkeys(v for v, _ in decider.may_ask(cluster, values)))
        except (RunbookError, OSError, ValueError, KeyError):
            return []

    return confirms


def _found_critical(rb: Any, printer: Any) -> bool:
    """A read-only runbook (a triage, the health check) whose steps all ran but whose
    diagnosis still holds a critical finding: exit 3, "the run reached its end but found
    problems", as the README promises. Its checks mark the node instead of failing the step,
    so the run's status alone said "ok". A runbook that changes something keeps the status
    alone: its exit says whether the change went through."""
    from pverunbook.run_diagnosis import worst_finding_now

    if any(s.destructive for s in rb.steps):
        return False
    return worst_finding_now(getattr(printer, "events", [])) == "critical"
