"""What a rollback timer whose process is gone means, in the words every part of the engine uses.

A timer's ``state`` file outlives its process: a reboot or a kill leaves ``armed`` (the sleep is
gone: it will never fire) or ``firing`` (the restore was cut short: some files may be back,
others not). Whether the process still runs is decided by ``rollback_script.timer_alive_sh``,
as the health check decides it (``rollback-stale`` / ``rollback-interrupted``). Either way
nothing on the node finishes the job by itself; the rollback-settle runbook does (undo runs the
restore again, keep marks the timer committed with the files as they are).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pverunbook.pve.diagnosis.rollbacks import SETTLE_RUNBOOK


def _settle(checkpoint_id: str) -> str:
    cp = f" with checkpoint={checkpoint_id}" if checkpoint_id else ""
    return (f"run the runbook {SETTLE_RUNBOOK}{cp} to decide: undo (restore the checkpoint "
            "again) or keep (the files as they are now)")


def interrupted_text(node: str, checkpoint_id: str, files: Sequence[str], log: str) -> str:
    """A timer found ``firing`` whose restoring process is gone."""
    what = ", ".join(files) or "the checkpointed files"
    return (f"{node}: the rollback restoring checkpoint {checkpoint_id or '(unknown)'} was "
            f"interrupted: its state says 'firing' but no process restores any more (a reboot "
            f"or a kill ended it), so {what} may be half restored on {node} and nothing will "
            f"finish it by itself; see {log} there, then {_settle(checkpoint_id)}")


def never_fires_text(node: str, checkpoint_id: str, files: Sequence[str], log: str) -> str:
    """A timer found ``armed`` whose process is gone."""
    what = ", ".join(files) or "the checkpointed files"
    return (f"{node}: the rollback timer of checkpoint {checkpoint_id or '(unknown)'} will never "
            f"fire: its state says 'armed' but its process is gone (a reboot or a kill), so "
            f"nothing will restore {what} on {node} and the step's changes stay as they are; "
            f"see {log} there, then {_settle(checkpoint_id)}")


def gone_text(state: str, node: str, checkpoint_id: str, files: Sequence[str], log: str) -> str:
    """:func:`interrupted_text` for ``firing``, :func:`never_fires_text` for ``armed``."""
    text = interrupted_text if state == "firing" else never_fires_text
    return text(node, checkpoint_id, files, log)


def commit_left_live(request: Any, now: float | None = None) -> str:
    """What stopping at an open COMMIT question leaves on the nodes, in the quit dialog's
    words: the change is live, the timers still roll it back (in about N s, at HH:MM:SS),
    unless the run is resumed and COMMIT typed before then. ``request``: the question's
    ``ConfirmRequest`` (its ``deadline`` is the last moment to answer; the timers fire
    ``MARGIN`` later). Ctrl-C at the headless question said only "interrupted"."""
    import time

    from pverunbook.engine.rollback import MARGIN  # rollback imports this module's words

    fires = request.deadline + MARGIN
    left = max(fires - (time.time() if now is None else now), 0)
    at = time.strftime("%H:%M:%S", time.localtime(fires))
    nodes = ", ".join(request.nodes)
    roll = "rolls" if len(request.nodes) == 1 else "roll"  # "ryanrishi rolls it back"
    return (f"⚠ COMMIT is pending: the change of “{request.step.title}” is live on {nodes}, "
            f"and stopping does not stop the timers: in about {left:.0f} s (at {at}) {nodes} "
            f"{roll} it back, unless the run is resumed and {request.expected} typed before "
            "then.")


def undo_words(armed: Sequence[Any], checkpoint_id: str, plural: bool = False) -> str:
    """What the armed timers do when they fire, as a verb phrase: "restores checkpoint X", or,
    for a rollback that puts back what it recorded before the change and restores no file
    (route-fix: ``ip route replace`` of the recorded route), "puts back what it recorded
    before the change (ip route replace …)". ``armed``: objects with ``files`` and ``reload``
    (``rollback.Armed``); ``plural``: the verb for "the nodes …". The COMMIT question said
    "restores checkpoint" of a route-fix, whose timer restores no file at all."""
    reloads = sorted({line for a in armed for line in getattr(a, "reload", ())})
    if reloads and not any(getattr(a, "files", ()) for a in armed):
        shown = "; ".join(reloads[:2]) + ("; …" if len(reloads) > 2 else "")
        return (f"{'put' if plural else 'puts'} back what "
                f"{'they' if plural else 'it'} recorded before the change ({shown})")
    return f"{'restore' if plural else 'restores'} checkpoint {checkpoint_id}"
