"""``pverunbook screenshots [--out DIR] [--only NAME]``: regenerate the README screenshots (SVG).

Rehearses the SHIPPED runbooks against the simulated cluster (over real SSH on 127.0.0.1;
``pverunbook.ui.rehearsal_shots``): the start screen, network-triage on the story's two nodes
and its summary with the diagnosis, corosync-tuning's parameter form and typed confirmation
after the route fix in a shell, and network-triage on five nodes. Each screen is saved at
80×24 (``NAME-80x24.svg``) and at 200×50 (``NAME.svg``). Two runs write the same bytes (the
simulated cluster runs on a stepped clock; keys, paths, ids and durations are pinned).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

#: The screen names, also in ``pverunbook.ui.rehearsal_shots.SHOTS`` (kept here so that
#: ``--help`` does not import Textual).
NAMES = ("start", "run-triage", "summary", "parameters", "confirmation", "run-5-nodes")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "screenshots", help="regenerate the TUI screenshots (SVG) from a rehearsal of the "
                            "shipped runbooks",
        description="Rehearse the nyc outage with the shipped runbooks against the simulated "
                    "cluster and save SVG screenshots of each screen at 80x24 and 200x50. "
                    "The same inputs give the same files.")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="directory for the SVG files (default: screenshots/)")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help="take only this screen (repeatable; stops as soon as they are "
                             f"taken): {', '.join(NAMES)}")
    parser.set_defaults(func=cmd_screenshots)


def cmd_screenshots(args: argparse.Namespace) -> int:
    from pverunbook.ui.autopilot import AutopilotStuck
    from pverunbook.ui.rehearsal_shots import take_rehearsal_screenshots

    try:
        saved = asyncio.run(take_rehearsal_screenshots(args.out, only=args.only))
    except AutopilotStuck as exc:
        print(f"pverunbook screenshots: the rehearsal did not go through: {exc}; run the "
              "same runbooks with `pverunbook` to see where it stops", file=sys.stderr)
        return 1
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"pverunbook screenshots: {exc}", file=sys.stderr)
        return 1
    for p in saved:
        print(p)
    return 0
