"""Print ``pverunbook --help`` and every command's ``--help`` for the man page.

Run by build_dist.py inside the built pex (``PEX_INTERPRETER=1``), so the page describes exactly
what is packed. Output: blocks of ``title`` newline ``help text``, each ended by a form feed.
"""

import argparse
import sys

from pverunbook.cli import build_parser

parser = build_parser()
sys.stdout.write("Options\n" + parser.format_help() + "\f\n")
for action in parser._actions:
    if isinstance(action, argparse._SubParsersAction):
        for name, sub in action.choices.items():
            sys.stdout.write(f"pverunbook {name}\n" + sub.format_help() + "\f\n")
