"""What the keep-or-undo question of rollback-settle says about each node's timer.

rollback-settle's first step reads every node's timer of one checkpoint (``rollback.timer``
facts, pve/facts/health.py); its input step then asks "keep or undo?". The question named no
node: an operator could not tell, where it was asked, that one node's timer still counted down,
another's had fired already and a third's was committed — and keep and undo change only the
nodes whose timer is stale (armed, its process gone) or whose restore was interrupted. The
engine now says, before it asks, each node's state and what the answer does there; the TUI
shows it in the question (an input step's notes) and a headless run prints it above it.
"""

from __future__ import annotations

from pverunbook.pve.facts import FactStore

#: ``rollback.timer`` value → what it means here, and what keep / undo does on that node.
_SAID = {
    "gone": "armed, its process gone (stale): nothing keeps or undoes the change there "
            "unless you answer; keep marks it committed, undo restores the checkpoint",
    "interrupted": "fired, its restore interrupted (files may be half restored): keep leaves "
                   "the files as they are now, undo runs the restore again",
    "firing": "fired, restoring now: undo waits for it, keep leaves it to finish",
    "fired": "fired: the checkpoint's files are back (neither answer changes them)",
    "failed": "fired, its restore FAILED (neither answer changes it: see its log)",
    "committed": "committed: the change stays (neither answer changes it)",
    "none": "no timer of this checkpoint",
}


def timer_states(facts: FactStore) -> str:
    """One sentence naming every node's timer as rollback-settle's first step found it, ""
    when no such step ran in this run."""
    timers = [f for f in facts.named("rollback.timer") if f.node]
    if not timers:
        return ""
    parts = []
    for f in timers:
        word = str(f.value)
        if word == "counting":
            left = facts.value("rollback.timer_seconds_left", f.node)
            when = f"in {left} s" if isinstance(left, int) and left > 0 else "at its deadline"
            said = (f"armed and counting: it restores the checkpoint by itself {when}; keep "
                    "marks it committed now, undo restores now")
        else:
            said = _SAID.get(word, f"state {word!r}: look at its log before you answer")
        parts.append(f"{f.node}: {said}")
    return "Each node's rollback timer of this checkpoint — " + "; ".join(parts) + "."
