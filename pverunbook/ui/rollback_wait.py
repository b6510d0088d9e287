"""The run screen's status line while the nodes' rollback timers restore a checkpoint.

After the COMMIT question is gone (the operator chose "Roll back now", or its countdown ran
out) the engine waits for every node's timer to report (engine/rollback.py ``_fire_now`` and
``_await_fired``). The question's "type COMMIT" status line is stale then; this says instead
what the nodes do and how long is left, refreshed each second, until every node reported
(a ``RollbackTimer`` event ``fired``, ``failed`` or ``unknown``) or the run ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pverunbook.engine import events as ev

#: The states that end a node's wait (engine/rollback.py ``_await_fired``).
SETTLED = ("fired", "failed", "unknown")


@dataclass
class RollbackWait:
    """One step's uncommitted change being put back by its nodes."""

    step_id: str
    checkpoint_id: str
    nodes: tuple[str, ...]
    #: When the timers fire on their own (this machine's clock); "now" fires them at once.
    deadline: float
    now: bool
    reported: dict[str, str] = field(default_factory=dict)

    def saw(self, e: ev.Event) -> bool:
        """Take ``e`` into account; True once every node has reported."""
        if isinstance(e, ev.RollbackTimer) and e.step_id == self.step_id \
                and e.state in SETTLED:
            self.reported[e.node] = e.state
        return self.finished

    @property
    def finished(self) -> bool:
        return all(n in self.reported for n in self.nodes)

    def text(self, at: float | None = None) -> str:
        at = time.time() if at is None else at
        waiting = [n for n in self.nodes if n not in self.reported]
        cp = f"checkpoint {self.checkpoint_id}" if self.checkpoint_id else "the checkpoint"
        on = ", ".join(waiting or self.nodes)
        left = self.deadline - at
        if self.now:
            head = f"Rolling back (your choice): {on} restore {cp} now"
        elif left > 0:
            return (f"Not committed: {on} restore {cp} in {int(left) // 60}:"
                    f"{int(left) % 60:02d} (their timers; nothing to type)")
        else:
            head = f"Not committed: the timers fired; {on} restore {cp}"
        return f"{head} — waiting for {'them' if len(waiting) > 1 else 'it'} to report"
