"""``pverunbook screenshots [--out DIR]``: regenerate the README screenshots (SVG).

Rehearses the story's outage with the SHIPPED runbooks against the simulated cluster (over real
SSH on 127.0.0.1; ``pverunbook.ui.rehearsal_shots``): network-triage, the route fix in a shell,
corosync-tuning, vm-config-recovery, certificate-regeneration. Each screen is saved at 80×24
(``NAME-80x24.svg``) and at 200×50 (``NAME.svg``). ``--demo`` draws the older scripted demo
instead (``pverunbook.ui.demo``: no simulator, byte-for-byte the same every time).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "screenshots", help="regenerate the TUI screenshots (SVG) from a rehearsal of the "
                            "shipped runbooks",
        description="Rehearse the nyc outage with the shipped runbooks against the simulated "
                    "cluster and save SVG screenshots of each screen at 80x24 and 200x50.")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="directory for the SVG files (default: screenshots/)")
    parser.add_argument("--demo", action="store_true",
                        help="the scripted demo runbook instead (no simulator)")
    parser.set_defaults(func=cmd_screenshots)


def cmd_screenshots(args: argparse.Namespace) -> int:
    from pverunbook.ui.autopilot import AutopilotStuck

    try:
        if getattr(args, "demo", False):
            from pverunbook.ui.demo import take_screenshots

            saved = asyncio.run(take_screenshots(args.out))
        else:
            from pverunbook.ui.rehearsal_shots import take_rehearsal_screenshots

            saved = asyncio.run(take_rehearsal_screenshots(args.out))
    except AutopilotStuck as exc:
        print(f"pverunbook screenshots: the rehearsal did not go through: {exc}; run the "
              "same runbooks with `pverunbook` to see where it stops", file=sys.stderr)
        return 1
    except (RuntimeError, OSError) as exc:
        print(f"pverunbook screenshots: {exc}", file=sys.stderr)
        return 1
    for p in saved:
        print(p)
    return 0
