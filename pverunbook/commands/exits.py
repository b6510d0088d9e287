"""Exit statuses and the one error line every command prints: what, why, what to do.

0 all steps ok; 1 the run stopped (failure, refusal, abort); 2 usage or input error; 3 the run
reached its end but some checks failed (routed with ``on_failure = "continue"``), or a
read-only runbook's diagnosis holds a critical finding (a triage that found problems).
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CHECKS = 0, 1, 2, 3


def err(what: str, why: object, todo: str = "") -> int:
    """Print ``pverunbook: <what>: <why>; <todo>`` on stderr and return EXIT_USAGE (2).

    ``what`` names the command or the input (a path, ``file:line``, a node); ``why`` may already
    say what to do, then ``todo`` stays empty.
    """
    print(f"pverunbook: {what}: {why}" + (f"; {todo}" if todo else ""), file=sys.stderr)
    return EXIT_USAGE
