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
from pverunbook.engine.rollback import AT_END_WAIT, PROGRESS

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
    #: node → the last thing its restore said while it went on (engine ``progress_note``)
    progress: dict[str, str] = field(default_factory=dict)

    def saw(self, e: ev.Event) -> bool:
        """Take ``e`` into account; True once every node has reported."""
        if isinstance(e, ev.RollbackTimer) and e.step_id == self.step_id \
                and e.state in (*SETTLED, "disarmed"):
            self.reported[e.node] = e.state
        elif isinstance(e, ev.Note) and e.step_id == self.step_id and PROGRESS in e.text:
            node, _, said = e.text.partition(PROGRESS)
            if node in self.nodes:
                self.progress[node] = said
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
        said = "; ".join(f"{n}: {self.progress[n]}" for n in waiting if n in self.progress)
        return (f"{head} — waiting for {'them' if len(waiting) > 1 else 'it'} to report"
                + (f" ({said})" if said else ""))


@dataclass
class ArmedTimers:
    """The run's timers not committed yet, from its ``RollbackTimer`` events: when the engine
    says it waits for them at the end of the run (a commit check failed or never ran, so no
    question was asked, engine/rollback.py ``at_end``), :meth:`saw` gives the wait to show."""

    #: step id → (checkpoint id, nodes, this machine's deadline)
    steps: dict[str, tuple[str, list[str], float]] = field(default_factory=dict)

    def saw(self, e: ev.Event, at: float | None = None) -> RollbackWait | None:
        at = time.time() if at is None else at
        if isinstance(e, ev.RollbackTimer):
            if e.state in ("armed", "pending"):
                cp, nodes, deadline = self.steps.get(e.step_id, (e.checkpoint_id, [], 0.0))
                when = at + e.seconds if e.seconds else e.deadline  # pending: the node's clock
                self.steps[e.step_id] = (cp or e.checkpoint_id, [*nodes, e.node],
                                         min(deadline, when) if deadline else when)
            elif e.state in ("committed", *SETTLED):
                self.steps.pop(e.step_id, None)
            elif e.state == "disarmed" and e.step_id in self.steps:
                # stopped on this node alone (its step changed nothing there): the others'
                # timers may still run and be waited for
                cp, nodes, deadline = self.steps[e.step_id]
                left = [n for n in nodes if n != e.node]
                if left:
                    self.steps[e.step_id] = (cp, left, deadline)
                else:
                    del self.steps[e.step_id]
        elif isinstance(e, ev.Note) and e.step_id in self.steps and AT_END_WAIT in e.text:
            cp, nodes, deadline = self.steps[e.step_id]
            return RollbackWait(e.step_id, cp, tuple(nodes), deadline, False)
        return None
