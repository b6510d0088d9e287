"""While a run goes, Python's cycle collector leaves the objects that were there before it alone.

Why: a flooding node makes the engine, the journal and the panes allocate fast, so the cycle
collector runs often, and a full (generation 2) collection walks every object the app holds —
screens, widgets, styles, the runbook catalogue: 20-50 ms with the event loop stopped, the
longest single stall measured while two nodes flooded output. ``gc.freeze()`` moves the objects
that exist now into a permanent generation the collector skips (Python docs, ``gc.freeze``;
CPython ``Modules/gcmodule.c``); ``gc.unfreeze()`` gives them back at the run's end, so a
screen closed since is collected then and nothing is kept for good. Reference counting still
frees every object as usual in between.
"""

from __future__ import annotations

import gc


def hold_old_objects() -> None:
    """Exempt every object alive now from cycle collection until :func:`release_old_objects`."""
    gc.freeze()


def release_old_objects() -> None:
    """Return the exempted objects to the collector (the oldest generation)."""
    gc.unfreeze()
