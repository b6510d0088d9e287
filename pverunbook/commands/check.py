"""``pverunbook check``: the cluster health check, in rehearsal by default like ``rehearse``.

It runs the read-only ``cluster-health-check`` runbook (every node's evidence for every fault of
the outage) and prints its diagnosis: each fault with evidence, confidence, meaning, the runbook
that fixes it with its parameters, and the order to fix them in. ``--cluster FILE`` checks real
nodes (live), ``--scenario`` picks the rehearsal cluster, ``--state-dir`` continues one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pverunbook.commands.run import RESET_HELP

CHECK_RUNBOOK = "cluster-health-check"

JSON_HELP = """\
--json prints one JSON object on stdout (prompts and the journal's path go to
stderr):
  kind          "health_check"; format: 1
  healthy       true when no fault was found on any node (and every step ran)
  status        "healthy" | "faults" | "incomplete" (the check stopped before
                its end, or could not reach a node, and found no fault in what
                it read: not a clean bill of health)
  unchecked     {node: why} of the nodes the check could not reach (connection
                refused, timed out, ...): each is also a fault
                "node-not-checked"; never healthy
  next_runbook  {"runbook": ID, "params": {NAME: VALUE}} to run now (the first
                fault's), or null
  first_by_hand the numbers of faults no runbook fixes that next_runbook would
                stop on: fix those by hand first ([] when none)
  faults        in the order to fix them, each: order, number (the #N shown;
                null when only noted), phase (network,
                database, configs, certificates), rule, statement, severity,
                confidence, action, nodes, next_runbook (or null),
                manual [{node, command}], evidence [...]
  fine          what was measured and found fine (text lines)
  matrix        link health, node x node (row measures column)
  facts         every fact read off the nodes' output (name, node, value, ...)
  steps         {step id: status} of the check's steps (a failed one: evidence
                missing)
  run           run_id, journal, status, mode, cluster, nodes
Run a proposed runbook with `pverunbook rehearse|run ID --set NAME=VALUE ...`
from its params.
Exit status: 0 the check ran (read `healthy` for the verdict), 3 some check
steps failed (their evidence is missing), a node could not be reached (status
"incomplete"), or a critical fault was found; 2 a usage or input error, 1 the
run stopped.
"""


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("check", help="cluster health check: every fault, in order, with the "
                                     "runbook that fixes it (rehearsal unless --cluster)",
                       # raw (the epilog keeps its columns): lines of at most 79 by hand
                       description="Runs the read-only cluster-health-check runbook on every "
                                   "node and prints each\nfault with its evidence, the order "
                                   "to fix them in and the runbook (with\n--set values) that "
                                   "fixes each.",
                       epilog=JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--headless", action="store_true", help="no TUI: print the evidence and "
                   "the diagnosis")
    # one output shape at a time: given both, --json-events won silently
    shape = s.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="headless; print ONE JSON document "
                       "(keys below: healthy, status, next_runbook, faults, fine, ...)")
    shape.add_argument("--json-events", action="store_true", help="headless; every event as a "
                       "JSON line (the journal's records), then the --json document as the "
                       "last line")
    s.add_argument("--verbose", action="store_true", help="headless: print every command and "
                   "its output (default: one line per step, the output of a step that did not "
                   "end ok only; the journal and the report keep all of it)")
    s.add_argument("--cluster", type=Path, help="cluster inventory TOML: check real nodes (live)")
    s.add_argument("--scenario", default="nyc-outage", help="rehearsal scenario "
                   "(`--scenario list`: each with what it is)")
    s.add_argument("--state-dir", type=Path, metavar="DIR", help="rehearsal: check the "
                   "simulated cluster kept in DIR (as left by `rehearse --state-dir DIR`); "
                   "the check's journal is kept in DIR/runs (default: the cluster kept per "
                   "scenario under the state directory, the one `rehearse` and the TUI use)")
    s.add_argument("--reset", action="store_true", help=RESET_HELP)
    s.add_argument("--journal", type=Path, metavar="PATH", help="journal file (default: a new "
                   "file under the state directory)")
    s.add_argument("--accept-new-host-keys", action="store_true",
                   help="live: trust SSH host keys not yet in known_hosts (never changed ones)")
    s.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Run the check through ``run``/``rehearse``'s own path (same modes, journal, printers)."""
    from pverunbook.commands.run import cmd_run

    live = args.cluster is not None
    if live and args.state_dir is not None:
        from pverunbook.commands.exits import err

        return err("check", "--state-dir keeps a simulated cluster, --cluster checks real nodes",
                   "use one of them")
    ns = argparse.Namespace(**vars(args))
    ns.json = bool(args.json or args.json_events)
    ns.check_json = True  # the health check's document, not the run's JSON lines
    ns.runbook = CHECK_RUNBOOK
    ns.rehearse = not live
    ns.set = None
    ns.confirm = None
    ns.local = False
    ns.dry_run = False
    ns.rehearsal = False
    ns.resume = None
    ns.accept_changed_runbook = False
    ns.dry_run_cluster = None
    ns.quiet_steps = not args.verbose  # one line per step on the console
    return cmd_run(ns)
