"""``pverunbook screenshots [--out DIR]``: regenerate the README screenshots (SVG).

Drives the TUI through a deterministic rehearsal of the story's outage (``pverunbook.ui.demo``:
scripted output from both nodes, no machine touched) and saves the start, parameters, run (ping
mid-step with both nodes streaming; mtr), confirmation and summary screens at 140×40.
Running it twice gives the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "screenshots", help="regenerate the TUI screenshots (SVG) from a scripted rehearsal",
        description="Drive the app through a deterministic rehearsal of the nyc outage and "
                    "save SVG screenshots of each screen.")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="directory for the SVG files (default: screenshots/)")
    parser.set_defaults(func=cmd_screenshots)


def cmd_screenshots(args: argparse.Namespace) -> int:
    from pverunbook.ui.demo import take_screenshots

    try:
        saved = asyncio.run(take_screenshots(args.out))
    except (RuntimeError, OSError) as exc:
        print(f"pverunbook screenshots: {exc}", file=sys.stderr)
        return 1
    for p in saved:
        print(p)
    return 0
