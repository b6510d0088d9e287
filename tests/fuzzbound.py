"""Per-input time bound for fuzz campaigns, and the count of inputs each campaign ran.

Hypothesis' own ``deadline`` is checked only after a call returns, so an input that makes a
parser backtrack for hours would hang the suite rather than fail it. :func:`bounded` arms a
real-time alarm instead: SIGALRM's handler raises :class:`TooSlow`, and the ``re`` module checks
for signals while it matches, so even a regular expression stuck in C is interrupted. The bound
is generous (seconds for inputs of a few KiB that linear code reads in milliseconds): it is a
guard against super-linear behaviour, not a measurement. The pytest summary prints how many
inputs each campaign ran (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from hypothesis import strategies as st

#: Seconds one input may take. A 40-digit line took hours in the old mtr parser.
BOUND_S = 5.0

#: campaign → [inputs run, slowest input in seconds]
CAMPAIGNS: dict[str, list[float]] = {}


class TooSlow(AssertionError):
    """An input took longer than the bound: something is super-linear on it."""


@contextlib.contextmanager
def bounded(campaign: str, what: object = "", seconds: float = BOUND_S) -> Iterator[None]:
    """Run the body under a hard time bound; count it as one input of ``campaign``."""
    import time

    stats = CAMPAIGNS.setdefault(campaign, [0, 0.0])
    stats[0] += 1
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TooSlow(f"{campaign}: one input took more than {seconds:g} s (super-linear?): "
                      f"{str(what)[:200]!r}")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        stats[1] = max(stats[1], time.perf_counter() - started)


#: Pieces that make regular expressions backtrack when repeated: digit runs, numbers with
#: dots, blanks, separators, brackets, the words the parsers look for.
UNITS = ["9", "1.", " 9", "9 ", "1.1", "1.2.3", " ", "\t", ".", "-", ",", ":", "x", "a ", "0x1 ",
         "[", "]", "(", ")", "{", "}", "|--", "%", "> ", "\\[", "node ", "AS1 ", "=", "\"",
         "'", "#", "1,", "A,", "==", "${", "$(", "-id ", "file=", "if=", "\u00b9", "\u0663"]


def pumped(prefixes: list[str], suffixes: list[str] | None = None,
           max_repeat: int = 3000) -> st.SearchStrategy[str]:
    """prefix + unit × n + suffix: the shape of inputs that expose catastrophic backtracking."""
    suffixes = suffixes or ["", "x", "\n", "!", "node3", "%", " ms", "]", ")", "}"]
    return st.builds(
        lambda p, u, n, s: p + u * n + s,
        st.sampled_from(prefixes), st.sampled_from(UNITS), st.integers(1, max_repeat),
        st.sampled_from(suffixes))
