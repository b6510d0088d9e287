"""``pverunbook`` command line: argument parsing and wiring only; heavy imports stay lazy.

With no arguments it opens the TUI in rehearsal mode (a simulated broken cluster), so a first run
on a fresh machine needs nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

#: 0 all steps ok; 1 the run stopped (failure, refusal, abort); 2 usage or input error;
#: 3 the run reached its end but some checks failed (routed with on_failure = "continue").
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CHECKS = 0, 1, 2, 3

#: Modules that add their own subcommands through ``register(subparsers)``.
COMMAND_MODULES = ("corosync", "vmconfig", "sim", "safety", "screenshots")


def err(what: str, why: str, todo: str = "") -> int:
    print(f"pverunbook: {what}: {why}" + (f"; {todo}" if todo else ""), file=sys.stderr)
    return EXIT_USAGE


def parse_sets(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r} must look like NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pverunbook",
        description="Step-by-step recovery runbooks for Proxmox VE clusters. With no command, "
                    "opens the app in rehearsal mode against a simulated broken cluster.")
    p.add_argument("--runbooks", action="append", type=Path, default=[], metavar="DIR",
                   help="extra folder of runbooks (repeatable)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="list built-in runbooks and those in --runbooks DIR")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("validate", help="check runbook files (exit 2 on any error)")
    s.add_argument("files", nargs="+", type=Path)
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("schema", help="print the runbook JSON Schema")
    s.set_defaults(func=cmd_schema)

    s = sub.add_parser("plan", help="dry-run plan: what would run where; executes nothing")
    s.add_argument("runbook")
    s.add_argument("--cluster", type=Path, help="cluster inventory TOML (default: the story's "
                   "nyc cluster)")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter value")
    s.set_defaults(func=cmd_plan)

    for name, helptext in (("run", "run a runbook (TUI, or --headless)"),
                           ("rehearse", "run a runbook against the built-in simulated cluster")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("runbook", nargs="?", help="runbook id or file (not needed with --resume)")
        s.add_argument("--headless", action="store_true", help="no TUI: print output, ask on "
                       "the terminal")
        s.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter value")
        s.add_argument("--confirm", metavar="TEXT", action="append",
                       help="answer a typed confirmation that asks for exactly TEXT (repeatable: "
                            "--confirm nyc --confirm pve001); with any --confirm and no "
                            "terminal, manual steps count as done")
        s.add_argument("--journal", type=Path, metavar="PATH", help="journal file (default: "
                       "a new file under the state directory)")
        s.add_argument("--json", action="store_true", help="with --headless: print events as "
                       "JSON lines and finally the diagnosis (facts and faults); prompts go to "
                       "stderr")
        if name == "run":
            mode = s.add_mutually_exclusive_group()
            mode.add_argument("--local", action="store_true", help="target this machine")
            mode.add_argument("--cluster", type=Path, help="cluster inventory TOML (live)")
            mode.add_argument("--dry-run", action="store_true", help="execute nothing")
            mode.add_argument("--rehearsal", action="store_true", help="simulated cluster")
            s.add_argument("--dry-run-cluster", type=Path, help=argparse.SUPPRESS)
            s.add_argument("--resume", metavar="RUN", help="continue an interrupted run")
            s.add_argument("--accept-changed-runbook", action="store_true",
                           help="with --resume: go on although the runbook file changed since "
                                "the run started (the diff is shown)")
            s.add_argument("--accept-new-host-keys", action="store_true",
                           help="trust SSH host keys not yet in known_hosts (never changed ones)")
        s.add_argument("--scenario", default="nyc-outage", help="rehearsal scenario")
        s.set_defaults(func=cmd_run, rehearse=(name == "rehearse"))

    j = sub.add_parser("journal", help="inspect run journals")
    jsub = j.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    s = jsub.add_parser("list", help="list runs")
    s.set_defaults(func=cmd_journal_list)
    s = jsub.add_parser("show", help="print a run's journal readably")
    s.add_argument("run", help="run id (or unique prefix) or journal path")
    s.add_argument("--json", action="store_true", help="raw JSON lines")
    s.set_defaults(func=cmd_journal_show)

    s = sub.add_parser("tui", help="open the app (default when no command is given)")
    tmode = s.add_mutually_exclusive_group()
    tmode.add_argument("--cluster", type=Path, help="live mode against this inventory")
    tmode.add_argument("--dry-run", action="store_true")
    tmode.add_argument("--local", action="store_true")
    s.add_argument("--scenario", default="nyc-outage")
    s.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="rehearsal: keep the simulated cluster's state here between launches "
                        "(default: a per-user directory; reset it from the palette)")
    s.add_argument("--accept-new-host-keys", action="store_true")
    s.add_argument("--resume", metavar="RUN", help="continue an interrupted run (id or journal)")
    s.add_argument("runbook", nargs="?")
    s.set_defaults(func=cmd_tui)

    for mod in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"pverunbook.commands.{mod}")
        except ImportError:
            continue
        module.register(sub)
    return p


# -- list / validate / schema ---------------------------------------------------------------

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
            first = e.error.errors[0] if e.error else "unreadable"
            print(f"{e.path.stem:<28} INVALID  {first}")
            for more in (e.error.errors if e.error else []):
                print(str(more), file=sys.stderr)
            continue
        rb = e.runbook
        tags = f" [{', '.join(rb.tags)}]" if rb.tags else ""
        print(f"{rb.id:<28} {rb.title}{tags}  ({origin})")
        if rb.summary:
            print(f"{'':<28} {rb.summary}")
    if invalid:
        return err("list", f"{invalid} runbook(s) are invalid (shown above)",
                   "fix them; `pverunbook validate FILE` lists every error")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from pverunbook.runbook.lint import lint
    from pverunbook.runbook.loader import RunbookError, load_file

    bad = 0
    for f in args.files:
        try:
            rb = load_file(f)
        except RunbookError as exc:
            bad += 1
            for e in exc.errors:
                print(str(e), file=sys.stderr)
            continue
        issues = lint(rb)
        for issue in issues:
            print(f"{issue.pos}: {issue.code} {issue.message}", file=sys.stderr)
        if issues:
            bad += 1
        else:
            print(f"{f}: ok ({len(rb.steps)} steps)")
    return EXIT_USAGE if bad else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from pverunbook.runbook.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


# -- plan -----------------------------------------------------------------------------------

def _load_runbook(name: str, dirs: list[Path]) -> Any:
    from pverunbook.runbook.catalog import find
    from pverunbook.runbook.loader import load_file

    return load_file(find(name, dirs))


def cmd_plan(args: argparse.Namespace) -> int:
    from pverunbook.engine.targets import TargetError, plan
    from pverunbook.inventory import InventoryError, load_cluster
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.runbook.params import ParamValueError, resolve
    from pverunbook.session import _default_cluster

    try:
        rb = _load_runbook(args.runbook, args.runbooks)
        cluster = load_cluster(args.cluster) if args.cluster else _default_cluster()
        values, missing = resolve(rb, parse_sets(args.set), nodes=cluster.names)
        steps = plan(rb, cluster, {**{m: f"<{m}>" for m in missing}, **values})
    except RunbookError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except (InventoryError, FileNotFoundError, ParamValueError, TargetError, ValueError) as exc:
        return err("plan", str(exc))
    from pverunbook.engine.redaction import Redactor
    from pverunbook.runbook.params import secret_values

    redactor = Redactor(secret_values(rb, values))
    out = sys.stdout
    out.write(f"PLAN (dry-run, nothing is executed): {rb.title}\n")
    out.write(f"runbook {rb.id} v{rb.version} ({rb.path})\n")
    out.write(f"cluster {cluster.name}: {', '.join(cluster.names)}\n")
    if rb.params:
        out.write("parameters:\n")
        for p in rb.params:
            v = "***" if p.secret and p.name in values else values.get(p.name, "<asked at run>")
            out.write(f"  {p.name} = {_shown(v)}\n")
    for ps in steps:
        st = ps.step
        flags = []
        if st.destructive:
            flags.append("DESTRUCTIVE")
        if not ps.runs:
            flags.append(f"SKIPPED: condition '{st.when}' is false")
        elif ps.pending:
            flags.append(f"ONLY IF '{st.when}'" if st.when and "decided" in ps.pending
                         else "node chosen later")
        out.write(f"\n{ps.index + 1}. [{st.kind.value}] {st.title} ({st.id})"
                  + (f"  <{'; '.join(flags)}>" if flags else "") + "\n")
        if st.kind.value in ("run", "check", "action"):
            out.write(f"   timeout {st.timeout:g}s per command; ok exit: "
                      f"{', '.join(map(str, st.ok_exit))}; on failure: {st.on_failure}\n")
        for g in st.guards:
            out.write(f"   guard: {g.check.value}{' (warn only)' if g.warn else ''}\n")
        for node, cmds in ps.commands.items():
            for c in cmds:
                out.write(f"   {node}: {redactor.text(c)}\n")
        for e in st.expect:
            out.write(f"   expect: {e.describe()}\n")
        if st.verdict:
            out.write(f"   verdict: {st.verdict}\n")
        if st.destructive:
            if st.backup.empty:
                out.write(f"   checkpoint: NONE ({st.no_backup_reason})\n")
            for node, items in ps.backup.items():
                for item in items:
                    out.write(f"   checkpoint {node}: {item}\n")
        if ps.pending:
            out.write(f"   {ps.pending}\n")
        if ps.confirm:
            out.write(f"   confirmation: operator must type {ps.confirm!r}\n")
        if st.kind.value == "manual":
            out.write(f"   manual: {st.instructions.strip().splitlines()[0]}\n")
        if st.kind.value == "input":
            out.write(f"   asks for: {', '.join(st.params)}\n")
    return EXIT_OK


# -- run / rehearse -------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from pverunbook.session import Mode, SessionConfig

    if args.rehearse:
        mode = Mode.REHEARSAL
    elif args.local:
        mode = Mode.LOCAL
    elif args.dry_run:
        mode = Mode.DRY_RUN
    elif args.rehearsal:
        mode = Mode.REHEARSAL
    elif args.resume and not args.cluster:
        mode = _mode_of_run(args.resume)
        if mode is None:
            return err("run", f"cannot read run {args.resume!r}", "`pverunbook journal list` "
                       "shows the runs; pass --cluster FILE to resume a live run")
        if mode is Mode.LIVE:
            return err("run", "this was a live run", "resume it with --cluster FILE (the same "
                       "inventory)")
    elif args.cluster:
        mode = Mode.LIVE
    else:
        return err("run", "no target given", "use --local, --cluster FILE (live), --dry-run, "
                   "--rehearsal, or `pverunbook rehearse`")
    config = SessionConfig(mode=mode, cluster_file=getattr(args, "cluster", None),
                           journal_path=args.journal, scenario=args.scenario,
                           accept_new_host_keys=getattr(args, "accept_new_host_keys", False))
    if not args.headless:
        from pverunbook.ui.app import make_app

        runbook = None
        problem = _tui_preflight(args)
        if problem is not None:
            return problem
        if args.runbook:
            from pverunbook.runbook.catalog import find

            runbook = find(args.runbook, args.runbooks)
        app = make_app(config, runbook_dirs=args.runbooks, runbook=runbook,
                       params=parse_sets(args.set), resume=getattr(args, "resume", None))
        app.run()
        return int(getattr(app, "return_code", 0) or 0)
    if not args.runbook and not getattr(args, "resume", None):
        if not args.rehearse:
            return err("run", "which runbook?", "name one (see `pverunbook list`) or use "
                       "--resume RUN")
        return cmd_list(args)
    try:
        return asyncio.run(_stopped_by_signals(_run_headless(args, config)))
    except KeyboardInterrupt:
        print("\npverunbook: interrupted; the journal has everything up to here. Continue with "
              "`pverunbook run --resume RUN`.", file=sys.stderr)
        return 130


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
              "killed and the journal has everything up to here. Continue with `pverunbook run "
              "--resume RUN`.", file=sys.stderr)
        return 128 + got[0]
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)


async def _run_headless(args: argparse.Namespace, config: Any) -> int:
    from pverunbook.engine.targets import TargetError
    from pverunbook.headless import EventPrinter, JsonPrinter, TerminalDecider
    from pverunbook.inventory import InventoryError
    from pverunbook.run_diagnosis import cluster_addresses
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.runbook.params import ParamValueError, resolve
    from pverunbook.session import Mode, Session
    from pverunbook.transport.base import TransportError

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
            rb = _runbook_of_run(started, args.runbooks)
            refused = _accept_runbook_change(args, started, rb)
            if refused is not None:
                return refused
            given = {k: v for k, v in started.params.items() if v != "[REDACTED]"}
            need = missing_secrets(rb, started)
            sets = parse_sets(args.set)
            lacking = [n for n in need if n not in sets]
            if lacking:
                return err("resume", f"secret parameter(s) {', '.join(lacking)} are not kept in "
                           "the journal", "pass them again with --set NAME=VALUE")
            given.update(sets)
            if started.mode == Mode.LOCAL.value:
                config.mode = Mode.LOCAL
            elif started.mode == "dry-run":
                config.mode = Mode.DRY_RUN
        else:
            rb = _load_runbook(args.runbook, args.runbooks)
            given = parse_sets(args.set)
        values, missing = resolve(rb, given)
    except RunbookError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ParamValueError, ValueError) as exc:  # OSError: journal unreadable
        return err("run", str(exc))
    asked_later = {n for s in rb.steps for n in s.params}
    unasked = [m for m in missing if m not in asked_later]
    if unasked:
        return err("run", f"no value for parameter(s) {', '.join(unasked)}",
                   "pass --set NAME=VALUE (see `pverunbook plan` for what they mean)")
    if config.mode is Mode.REHEARSAL:
        from pverunbook.sim.scenarios import get as scenario

        try:
            scenario(config.scenario)
        except KeyError as exc:
            return err(str(args.command), str(exc.args[0]), "pick one of those with --scenario")
    session = Session(config)
    try:
        await session.start()
        assert session.cluster is not None
        as_json = bool(getattr(args, "json", False))
        decider = TerminalDecider(confirm_text=args.confirm,
                                  out=sys.stderr if as_json else None)
        # Connect before the engine (and its journal) exists: a run that cannot start at all
        # (no node answers) leaves no journal behind.
        unreachable = await session.connect()
        for name, why in unreachable.items():
            print(f"pverunbook: node {name} is unreachable: {why}; read-only steps go on "
                  "without it, destructive steps that target it are refused", file=sys.stderr)
        engine = session.engine(rb, decider, values, run_id=run_id, resume=resume,
                                journal_path=journal_path)
        addrs = cluster_addresses(session.cluster)
        engine.subscribe(JsonPrinter(runbook=rb, names_by_addr=addrs) if as_json else
                         EventPrinter(runbook=rb, names_by_addr=addrs))
        status = await engine.run()
        info = sys.stderr if as_json else sys.stdout
        print(f"journal: {engine.journal_path}", file=info)
        print(f"report:  pverunbook report {engine.run_id}", file=info)
    except (InventoryError, TargetError, ValueError) as exc:
        return err("run", str(exc))
    except TransportError as exc:
        return err("run", f"node {exc.node}: {exc.message}", exc.hint or "check the node and "
                   "your SSH setup, then run again")
    finally:
        await session.close()
    if status == "completed_with_failures":
        return EXIT_CHECKS
    return EXIT_OK if status in ("ok", "planned") else EXIT_FAIL


def _runbook_of_run(started: Any, dirs: list[Path]) -> Any:
    """The runbook a run was started with: its file (absolute path), else by id in ``dirs``."""
    from pverunbook.runbook.loader import load_file

    if started.runbook_path and Path(started.runbook_path).is_file():
        return load_file(started.runbook_path)
    return _load_runbook(started.runbook_id, dirs)


def _accept_runbook_change(args: argparse.Namespace, started: Any, rb: Any) -> int | None:
    """Show what changed in the runbook since the run started; None when resume may go on.

    A resumed run must not silently follow different steps than the ones it began with: the
    diff is shown, and the operator accepts it (typing ``yes`` on a terminal, or
    ``--accept-changed-runbook``), else resume stops with exit 2.
    """
    from pverunbook.engine.resume import runbook_change

    change = runbook_change(started, rb)
    if not change:
        return None
    print(f"pverunbook: the runbook changed since run {started.run_id} started:\n{change}",
          file=sys.stderr)
    if getattr(args, "accept_changed_runbook", False):
        return None
    if sys.stdin.isatty():
        try:
            answer = input("Resume with the changed runbook? Type 'yes' to go on: ")
        except EOFError:
            answer = ""
        if answer.strip() == "yes":
            return None
    return err("resume", "the runbook changed since the run started (diff above)",
               "check the diff; to go on with the changed runbook, resume again with "
               "--accept-changed-runbook")


def _mode_of_run(run: str) -> Any:
    """The mode an interrupted run was started in, from its journal's first RunStarted."""
    from pverunbook.engine.events import RunStarted
    from pverunbook.engine.journal import find_run, iter_journal
    from pverunbook.session import Mode

    try:
        for e in iter_journal(find_run(run)):
            if isinstance(e, RunStarted):
                return Mode(e.mode) if e.mode in {m.value for m in Mode} else None
    except OSError:  # FileNotFoundError, JournalError
        return None
    return None


# -- journal --------------------------------------------------------------------------------

def cmd_journal_list(args: argparse.Namespace) -> int:
    import time

    from pverunbook.engine.journal import list_runs, runs_dir

    runs = list_runs()
    if not runs:
        print(f"no runs in {runs_dir()}")
        return EXIT_OK
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
        print(f"{r.run_id}  {when}  {r.mode:<9} {r.status:<24} {r.runbook}")
    return EXIT_OK


def cmd_journal_show(args: argparse.Namespace) -> int:
    from pverunbook.engine.journal import JournalError, find_run, iter_journal
    from pverunbook.headless import EventPrinter

    try:
        path = find_run(args.run)
        if args.json:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            return EXIT_OK
    except (FileNotFoundError, JournalError) as exc:
        return err("journal", str(exc))
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
            sys.stdout.write(f"[{stamp}] ")
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


# -- TUI --------------------------------------------------------------------------------------

def cmd_tui(args: argparse.Namespace) -> int:
    from pverunbook.session import Mode, SessionConfig, default_rehearsal_dir
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
    state = getattr(args, "state_dir", None)
    if mode is Mode.REHEARSAL and state is None:
        state = default_rehearsal_dir(scenario)
    config = SessionConfig(mode=mode, cluster_file=getattr(args, "cluster", None),
                           scenario=scenario, sim_state_dir=state,
                           accept_new_host_keys=getattr(args, "accept_new_host_keys", False))
    runbook = None
    problem = _tui_preflight(args)
    if problem is not None:
        return problem
    if getattr(args, "runbook", None):
        from pverunbook.runbook.catalog import find

        runbook = find(args.runbook, args.runbooks)
    app = make_app(config, runbook_dirs=args.runbooks, runbook=runbook,
                   resume=getattr(args, "resume", None))
    app.run()
    return int(getattr(app, "return_code", 0) or 0)


def _tui_preflight(args: argparse.Namespace) -> int | None:
    """Check the TUI's inputs on the terminal before the app takes the screen.

    A bad runbook, inventory or journal named on the command line is reported here like any
    other command's input error (exit 2), instead of inside an app that then has nothing to show.
    """
    from pverunbook.inventory import InventoryError, load_cluster
    from pverunbook.runbook.loader import RunbookError

    command = str(args.command)
    try:
        if getattr(args, "runbook", None):
            _load_runbook(args.runbook, args.runbooks)
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
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return cmd_tui(args)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("\npverunbook: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a message, never a traceback
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


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if value == "" else str(value)


if __name__ == "__main__":
    sys.exit(main())
