"""``pverunbook check``: the cluster health check, in rehearsal by default like ``rehearse``.

It runs the read-only ``cluster-health-check`` runbook (every node's evidence for every fault of
the outage) and prints its diagnosis: each fault with evidence, confidence, meaning, the runbook
that fixes it with its parameters, and the order to fix them in. ``--cluster FILE`` checks real
nodes (live), ``--scenario`` picks the rehearsal cluster, ``--state-dir`` continues one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHECK_RUNBOOK = "cluster-health-check"


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("check", help="cluster health check: every fault, in order, with the "
                                     "runbook that fixes it (rehearsal unless --cluster)")
    s.add_argument("--headless", action="store_true", help="no TUI: print the evidence and "
                   "the diagnosis")
    s.add_argument("--json", action="store_true", help="headless, JSON lines; the last line is "
                   "the diagnosis (faults with next_runbook and params, healthy)")
    s.add_argument("--cluster", type=Path, help="cluster inventory TOML: check real nodes (live)")
    s.add_argument("--scenario", default="nyc-outage", help="rehearsal scenario (see "
                   "`pverunbook simulate --help`)")
    s.add_argument("--state-dir", type=Path, metavar="DIR", help="rehearsal: check the "
                   "simulated cluster kept in DIR (as left by `rehearse --state-dir DIR`); "
                   "the check's journal is kept in DIR/runs")
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
    return cmd_run(ns)
