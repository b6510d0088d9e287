"""``pverunbook checkpoints list|show``, ``restore`` and ``report``: the safety rails' CLI.

Restore is the one command here that writes to nodes, so it shows what would change, asks for the
node (or cluster) name to be typed, checkpoints what it overwrites first, and exits 0 only when
the node's hashes match the checkpoint afterwards. Heavy modules load inside the handlers so
``pverunbook --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from pverunbook.commands.exits import err
from pverunbook.commands.files import atomic_write
from pverunbook.commands.inputs import nearest_run, state_dir_option


def register(subparsers: argparse._SubParsersAction) -> None:
    cp = subparsers.add_parser("checkpoints", help="list or inspect checkpoints taken before "
                                                   "destructive steps")
    sub = cp.add_subparsers(dest="checkpoints_command", required=True)
    ls = sub.add_parser("list", help="every checkpoint, oldest first")
    state_dir_option(ls)
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="the files, hashes and problems of one checkpoint")
    show.add_argument("id", help="checkpoint id or a unique prefix of one")
    state_dir_option(show)
    show.set_defaults(func=cmd_show)

    rs = subparsers.add_parser(
        "restore", help="write a checkpoint's files back to the nodes (shows the diff first)",
        description="Shows what would change, asks you to type the node name (or the cluster "
                    "name for several nodes), checkpoints the files it overwrites, writes them "
                    "back with their mode and owner, and verifies the hashes. A config.db is "
                    "never replaced live: it is staged beside the database with instructions. "
                    "A checkpoint taken in a rehearsal goes back to the simulated cluster it "
                    "was taken on (no --cluster or --local needed).")
    rs.add_argument("id", help="checkpoint id or a unique prefix of one")
    rs.add_argument("--node", help="restore only this node's files")
    rs.add_argument("--path", help="restore only this file (or the files under this directory)")
    where = rs.add_mutually_exclusive_group()
    where.add_argument("--cluster", type=Path, metavar="FILE",
                       help="inventory of the nodes to restore to (live, over SSH)")
    where.add_argument("--local", action="store_true",
                       help="restore on this machine (checkpoints taken with --local)")
    rs.add_argument("--yes-i-typed", metavar="TEXT", dest="typed",
                    help="the confirmation text, for non-interactive use (must still match)")
    rs.add_argument("--accept-new-host-keys", action="store_true",
                    help="trust and remember host keys of nodes seen for the first time")
    state_dir_option(rs)
    rs.set_defaults(func=cmd_restore)

    rp = subparsers.add_parser(
        "report", help="write a Markdown incident report from a run (or a whole incident)",
        epilog="--incident: the runs of the newest run's cluster (scenario, mode), back to the "
               "last health check that found it healthy (that check closed the previous "
               "incident; healthy checks at the end are kept): a timeline of what each run "
               "changed, the first check's faults, the last check's verdict, then each run. "
               "--since TIME takes every run of that cluster from TIME instead; several RUNs "
               "report those runs together.")
    rp.add_argument("run", nargs="*", metavar="RUN",
                    help="run id, a unique prefix of one, or a journal .jsonl path")
    rp.add_argument("--incident", action="store_true",
                    help="report every run of the latest incident (see below)")
    rp.add_argument("--since", metavar="TIME",
                    help="with --incident: the runs started at or after TIME "
                         "(YYYY-MM-DD HH:MM or HH:MM today, local time)")
    rp.add_argument("-o", "--output", type=Path, help="write here (atomically) instead of stdout")
    state_dir_option(rp)
    rp.set_defaults(func=cmd_report)


def _utc(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- checkpoints -----------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from pverunbook.engine.checkpoint_index import checkpoints_dir, list_checkpoints

    try:
        infos = list_checkpoints()
    except OSError as exc:
        return err("checkpoints", exc, f"check that {checkpoints_dir()} is readable")
    if not infos:
        print(f"no checkpoints in {checkpoints_dir()}")
        return 0
    # fits 80 columns: the ids set the first column, the nodes get what is left (at least 10)
    wid = max(len(c.id) for c in infos)
    print(f"{'ID':<{wid}}  {'CREATED (UTC)':<16}  {'ITEMS':>5}  {'STATUS':<11}  NODES")
    for c in infos:
        status = "verified" if c.ok else ("FAILED" if c.complete else "interrupted")
        print(f"{c.id:<{wid}}  {_utc(c.created)[:16]:<16}  {c.items:>5}  {status:<11}  "
              f"{_nodes(c.nodes, max(10, 80 - (wid + 40)))}")
    return 0


def _nodes(nodes: tuple[str, ...], width: int = 20) -> str:
    """The nodes as whole names: what does not fit in ``width`` is counted (``+2``), never
    cut into a name that may be another node's ("pve001,pve" of pve001 and pve002)."""
    shown = list(nodes)
    while len(shown) > 1 and len(",".join(shown)) + len(f" +{len(nodes) - len(shown)}") > width:
        shown.pop()
    rest = len(nodes) - len(shown)
    return ",".join(shown) + (f" +{rest}" if rest else "")


def cmd_show(args: argparse.Namespace) -> int:
    from pverunbook.engine.checkpoint_index import load_checkpoint

    try:
        cp = load_checkpoint(args.id)
    except (FileNotFoundError, OSError) as exc:  # the message names the checkpoint and folder
        return err("checkpoints show", _nearest_checkpoint(args.id, exc))
    from pverunbook.engine.checkpoint_verify import verify

    m = cp.manifest
    untrusted = verify(cp)  # seal, declared paths, where copies are, their hashes
    status = "FAILED" if not cp.ok else ("NOT verified: the manifest does not check out"
                                         if untrusted else "verified")
    print(f"checkpoint {cp.id}: {status}")
    print(f"  run {m.get('run_id')}, step {m.get('step_id')}, created "
          f"{_utc(float(m.get('created', 0)))}, nodes {', '.join(cp.nodes)}")
    print(f"  stored in {cp.path}")
    for it in cp.items:
        mark = "ok " if it.get("ok") else "BAD"
        sha = str(it.get("sha256_local") or "")[:16]
        meta = ""
        if it.get("mode"):
            meta = f" {it.get('mode')} {it.get('owner')}:{it.get('group')}"
        print(f"  [{mark}] {it.get('node')} {it.get('kind'):<7} {it.get('path')}"
              f"{meta} {it.get('size', '')}B {sha}"
              + (f"  -- {it.get('problem')}" if it.get("problem") else ""))
    for p in m.get("problems", []):
        print(f"  problem: {p}")
    for p in untrusted:
        print(f"  not verified: {p}")
    return 0


def _nearest_checkpoint(given: str, exc: OSError) -> str:
    """The message of a checkpoint that could not be loaded; for a mistyped id, the nearest
    ids kept ("no checkpoint 'X' (did you mean Y?) in DIR; ...")."""
    from pverunbook.engine.checkpoint_index import list_checkpoints
    from pverunbook.runbook.suggest import did_you_mean

    said, head = str(exc), f"no checkpoint '{given}'"
    if not said.startswith(head):
        return said
    try:
        near = did_you_mean(given, [c.id for c in list_checkpoints()])
    except OSError:
        return said
    return f"{head} ({near}){said[len(head):]}" if near else said


# -- restore ---------------------------------------------------------------------------------
def cmd_restore(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_restore(args))
    except KeyboardInterrupt:
        print("\npverunbook: restore: interrupted; run `pverunbook checkpoints list` to see "
              "the pre-restore checkpoint, if one was taken", file=sys.stderr)
        return 2


async def _restore(args: argparse.Namespace) -> int:
    from pverunbook.engine.checkpoints import CheckpointStore, load_checkpoint
    from pverunbook.engine.journal import Journal, find_run
    from pverunbook.engine.restore import restore
    from pverunbook.inventory import Cluster, InventoryError, local_cluster
    from pverunbook.transport.base import Transport, TransportError

    try:
        cp = load_checkpoint(args.id)
    except (FileNotFoundError, OSError) as exc:  # the message names the checkpoint and folder
        return err("restore", _nearest_checkpoint(args.id, exc))
    rehearsal: tuple[Path, str] | None = None
    if not args.local and args.cluster is None:
        found = _rehearsal_of(str(cp.manifest.get("run_id", "")), cp.id)
        if isinstance(found, int):
            return found
        if found is None:
            return err("restore", "no target given",
                       "pass --cluster FILE (the nodes' inventory) or --local")
        rehearsal = found
    session: Any = None
    transport: Transport
    cluster: Cluster
    if args.local:
        from pverunbook.transport.local import LocalTransport

        transport, cluster = LocalTransport(), local_cluster()
    else:
        from pverunbook.session import Mode, Session, SessionConfig

        if rehearsal is not None:
            from pverunbook.commands.tui import state_dir_problem

            where, scenario = rehearsal
            problem = state_dir_problem(args, where, scenario)
            if problem is not None:
                return problem
            config = SessionConfig(mode=Mode.REHEARSAL, scenario=scenario, sim_state_dir=where)
        else:
            config = SessionConfig(mode=Mode.LIVE, cluster_file=args.cluster,
                                   accept_new_host_keys=args.accept_new_host_keys)
        session = Session(config)
        try:
            await session.start()
        except (InventoryError, ValueError, OSError, TransportError) as exc:
            # a rehearsal's cluster (its state dir busy, say) has no inventory to fix
            return err("restore", exc, "" if rehearsal is not None
                       else "fix the --cluster inventory and retry")
        assert session.transport is not None and session.cluster is not None
        transport, cluster = session.transport, session.cluster

    journal: Journal | None = None
    try:
        journal = Journal(find_run(str(cp.manifest.get("run_id", ""))))
    except (FileNotFoundError, OSError):
        journal = None  # the run's journal is gone; the restore is still checkpointed

    async def confirm(summary: str, expected: str) -> str | None:
        print(summary)
        print(f"\nType {expected!r} to write these files back (anything else cancels).")
        if args.typed is not None:
            print(f"(taken from --yes-i-typed: {args.typed!r})")
            return str(args.typed)
        if not sys.stdin.isatty():
            print(f"no terminal to ask on; pass --yes-i-typed {expected} (having read the "
                  "diff above) to write them back", file=sys.stderr)
            return None
        try:
            return await asyncio.to_thread(input, "> ")
        except EOFError:
            return None

    try:
        result = await restore(cp, transport, cluster, node=args.node, path=args.path,
                               confirm=confirm, store=CheckpointStore(),
                               emit=journal)
    except (TransportError, OSError) as exc:
        return err("restore", exc, "check the node is reachable and retry; nothing was "
                                     "verified")
    finally:
        if journal is not None:
            journal.flush_sync()
            journal.close()
        if session is not None:
            await session.close()
    if not result.summary and not result.problems:
        print("nothing to restore")
    if result.pre_checkpoint_id:
        print(f"pre-restore checkpoint: {result.pre_checkpoint_id}")
    for w in result.written:
        print(f"restored and verified: {w}")
    if result.unchanged and not result.written:
        print(f"{len(result.unchanged)} file(s) already identical to the checkpoint")
    if result.instructions:
        print("\nTo finish (run on the node by hand; the live database was NOT touched):")
        print("\n".join(f"  {line}" for line in result.instructions))
    for p in result.problems:
        print(f"pverunbook: restore: {p}", file=sys.stderr)
    if result.ok:
        nodes = {w.split(":", 1)[0] for w in result.written + result.unchanged}
        print("restore verified: " + (f"the hashes on all {len(nodes)} nodes match"
                                      if len(nodes) > 1 else "the node's hashes match")
              + " the checkpoint")
        return 0
    return 1


def _rehearsal_of(run_id: str, checkpoint: str) -> tuple[Path, str] | int | None:
    """The simulated cluster a rehearsal checkpoint was taken on (its state directory and
    scenario), where ``restore`` with no ``--cluster``/``--local`` puts it back; None when the
    checkpoint's run was not a rehearsal (or its journal is gone: the target must be given);
    an exit status when that cluster was not kept. Restore told a rehearsal's operator to
    pass --cluster or --local, neither of which reaches the simulated nodes."""
    from pverunbook.commands.run_journal import kept_cluster
    from pverunbook.engine.events import RunStarted
    from pverunbook.engine.journal import find_run, iter_journal

    try:
        started = next((e for e in iter_journal(find_run(run_id))
                        if isinstance(e, RunStarted)), None)
    except OSError:
        return None
    if started is None or started.mode != "rehearsal":
        return None
    where, saved = kept_cluster(started)
    if where is None or saved is None:
        return err("restore", f"checkpoint {checkpoint} was taken in a rehearsal whose "
                   f"simulated cluster was not kept ({where or 'a temporary cluster'})",
                   "there is no node to put it back on; rehearse again with a kept cluster "
                   "(`pverunbook rehearse RUNBOOK`, the default)")
    return where, saved


# -- report ----------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from pverunbook.engine.journal import find_run, read_journal
    from pverunbook.report import render_report

    if args.incident or args.since or len(args.run) > 1:
        return _incident_report(args)
    if not args.run:
        return err("report", "which run?",
                   "name a RUN (`pverunbook journal list` shows them) or use --incident")
    problems: list[str] = []
    try:
        path = find_run(args.run[0])
        events = read_journal(path, problems)
    except (FileNotFoundError, OSError) as exc:  # the message names the run or the path
        return err("report", nearest_run(args.run[0], exc))
    if not events:
        # The first damaged line says where and why ("FILE:LINE: not UTF-8 ..."), else the file.
        why = (problems[0].removesuffix("; skipped") + "; the file holds no readable events"
               if problems else f"{path} holds no readable events")
        return err("report", why,
                     "is it a pverunbook run journal? `pverunbook journal list` shows the runs")
    return _write_report(args, render_report(events))


def _since(text: str) -> float | None:
    from datetime import datetime

    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            pass
    try:
        t = datetime.strptime(text, "%H:%M").time()
    except ValueError:
        return None
    return datetime.combine(datetime.now().date(), t).timestamp()


def _incident_report(args: argparse.Namespace) -> int:
    from pverunbook.engine.journal import JournalError
    from pverunbook.report_incident import collect, render_incident

    since = None
    if args.since:
        since = _since(args.since)
        if since is None:
            return err("report", f"--since {args.since}: not a time",
                       "write it as YYYY-MM-DD HH:MM or HH:MM (today), local time")
    try:
        runs = collect(args.run, since)
    except (FileNotFoundError, OSError, JournalError) as exc:
        return err("report", nearest_run(args.run[0] if args.run else "", exc))
    if not runs:
        return err("report", "no run to report",
                   "`pverunbook journal list` shows the runs kept here")
    return _write_report(args, render_incident(runs))


def _write_report(args: argparse.Namespace, text: str) -> int:
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write(args.output, text)
    except OSError as exc:
        return err(f"report -o {args.output}", exc.strerror or exc,
                     "choose a writable location")
    print(f"report written to {args.output}", file=sys.stderr)
    return 0
