"""pverunbook's own rollback timers, as the health check finds them on the nodes.

A step with ``commit_within`` arms a timer on each node that restores the checkpointed files
unless COMMIT is typed (engine/rollback_script.py). Two states matter after the app is gone
(killed, the laptop closed, the SSH session lost):

- **pending**: the timer still waits. The change is live now and will be undone at the
  deadline; the operator must decide before then (resume the run and COMMIT, or let it go).
- **stale**: ``state`` still says ``armed`` but no process waits (the node rebooted, the
  ``sleep`` was killed): nothing will keep or undo the change. The copies are still there.
- **interrupted**: ``state`` says ``firing`` but the process that claimed the restore is gone
  (a reboot or a kill during the restore): some files may be put back and others not, and
  nothing will finish it.

A ``ROLLBACK FAILED`` line in the node's rollback log stays a finding of the step itself.
Pure: no I/O.
"""

from __future__ import annotations

import re

from pverunbook.pve.diagnosis.model import (
    Context,
    Evidence,
    Fault,
    ManualFix,
    NextRunbook,
    ev,
    num,
)
from pverunbook.pve.facts import Fact

#: Where the engine keeps each armed node's copies and timer (engine/rollback_script.py
#: ``ROOT``; pve/ sits below the engine and cannot import it, a test keeps the two equal).
ROLLBACK_ROOT = "/var/lib/pverunbook/rollback"
#: The runbook that keeps or undoes a stale timer's change on every node of its checkpoint.
SETTLE_RUNBOOK = "rollback-settle"


def rollback_timers(ctx: Context) -> list[Fault]:
    """Faults ``rollback-pending`` (warning), ``rollback-stale`` and ``rollback-interrupted``
    (critical) per node."""
    store = ctx.store
    out: list[Fault] = []
    pending: dict[str, list[tuple[str, int | None]]] = {}
    firing: dict[str, list[tuple[str, int | None]]] = {}
    stale: dict[str, list[tuple[str, int | None]]] = {}
    interrupted: dict[str, list[tuple[str, int | None]]] = {}
    evidence: dict[str, list[Evidence]] = {}
    for f in store.named("rollback.alive"):
        if not f.node or not f.peer:
            continue
        left_fact = store.get(Fact("rollback.seconds_left", 0, f.node, f.peer).key)
        left = num(left_fact.value) if left_fact is not None else None
        fired = store.get(Fact("rollback.firing", True, f.node, f.peer).key) is not None
        alive = f.value is True
        (interrupted if fired and not alive else stale if not alive
         else firing if fired or (left is not None and left < 0)
         else pending).setdefault(f.node, []).append(
            (f.peer, int(left) if left is not None else None))
        evidence.setdefault(f.node, []).append(ev(f, f"{f.node}: {f.evidence}"))
    for node, timers in pending.items():
        when = "; ".join(f"{tag}: {_left(s)}" for tag, s in timers)
        out.append(Fault(
            "rollback-pending",
            f"a pverunbook rollback timer is armed on {node} ({when}): at its deadline it "
            "puts back the files its step changed", "warning", "high",
            "The change is live now and will be undone by itself. To keep it, resume the run "
            "that armed the timer and type COMMIT (`pverunbook journal list`, then "
            "`pverunbook run --resume ID`); to let it roll back, wait for the deadline and "
            "check again.", tuple(evidence[node]), None,
            tuple(ManualFix(node, f"cat {ROLLBACK_ROOT}/{tag}/armed {ROLLBACK_ROOT}/{tag}/log",
                            "look")
                  for tag, _ in timers), (node,), weight=30))
    for node, timers in firing.items():
        # past its deadline: COMMIT comes too late and "wait for the deadline" is no advice
        when = "; ".join(f"{tag}: {_left(s)}" for tag, s in timers)
        fired = all(store.get(Fact("rollback.firing", True, node, tag).key) is not None
                    for tag, _ in timers)
        out.append(Fault(
            "rollback-pending",
            f"a pverunbook rollback timer on {node} "
            + ("has fired and is putting back" if fired else
               "is past its deadline and puts back, any moment now,")
            + f" the files its step changed ({when})", "warning", "high",
            "The change is being undone now; it can no longer be kept with COMMIT. Let the "
            "timer finish (its log: /var/log/pverunbook-rollback.log; a corosync.conf it puts "
            "back into /etc/pve waits there until pmxcfs accepts writes, up to 300 s), then "
            "check again. To have the change after all, run its runbook again once the "
            "cluster is settled.", tuple(evidence[node]), None,
            tuple(ManualFix(node, f"cat {ROLLBACK_ROOT}/{tag}/state; tail "
                                  "/var/log/pverunbook-rollback.log", "look") for tag, _ in timers),
            (node,), weight=30))
    for node, timers in stale.items():
        tags = ", ".join(tag for tag, _ in timers)
        checkpoint = checkpoint_of(timers[0][0], node)
        out.append(Fault(
            "rollback-stale",
            f"a pverunbook rollback timer on {node} was armed and its process is gone ({tags}): "
            "the change it guards was neither kept (COMMIT) nor undone", "critical", "high",
            stale_action(node, [tag for tag, _ in timers]),
            tuple(evidence[node]),
            NextRunbook(SETTLE_RUNBOOK, {"checkpoint": checkpoint}) if checkpoint else None,
            tuple(ManualFix(node, diff_command(tag), "look") for tag, _ in timers),
            (node,), weight=30))
    for node, timers in interrupted.items():
        tags = ", ".join(tag for tag, _ in timers)
        checkpoint = checkpoint_of(timers[0][0], node)
        out.append(Fault(
            "rollback-interrupted",
            f"restore interrupted on {node} ({tags}): a pverunbook rollback timer was putting "
            "the files back and its process is gone (a reboot or a kill): files may be half "
            "restored", "critical", "high",
            interrupted_action(node, [tag for tag, _ in timers]),
            tuple(evidence[node]),
            NextRunbook(SETTLE_RUNBOOK, {"checkpoint": checkpoint}) if checkpoint else None,
            tuple(ManualFix(node, diff_command(tag), "look") for tag, _ in timers),
            (node,), weight=30))
    return out


def interrupted_action(node: str, tags: list[str]) -> str:
    """The way out of a restore cut short: run it again (each step of the script is safe to
    repeat: ``cp`` + ``mv`` of a copy, a corosync.conf that already holds the restored copy is
    left as it is), or keep what is there after checking it."""
    ways = "; ".join(
        f"for {tag}: undo `rm -rf {ROLLBACK_ROOT}/{tag}/claim; echo armed > "
        f"{ROLLBACK_ROOT}/{tag}/state; sh {ROLLBACK_ROOT}/{tag}/rollback.sh fire`, or keep "
        f"`echo committed > {ROLLBACK_ROOT}/{tag}/state`" for tag in tags)
    return (f"Nothing will finish it by itself: decide now, on {node}. The log "
            "(/var/log/pverunbook-rollback.log) names what was put back before it stopped; the "
            "fix below shows what still differs from the copies. Usually the way out is to "
            f"run the restore again: the runbook {SETTLE_RUNBOOK} does that on every node of "
            "the checkpoint (undo), or marks the timers committed (keep) once you have "
            "confirmed the files as they are now are what the cluster should run. "
            f"By hand: {ways}.")


def checkpoint_of(tag: str, node: str) -> str:
    """The checkpoint a node's timer belongs to: its directory is ``<checkpoint>-<node>``
    (engine/rollback.py ``_tag``, every character outside ``[A-Za-z0-9._-]`` made ``_``).
    "" when the tag does not end with the node's name (a timer copied by hand): the settle
    runbook, which finds each node's timer by that name, could not find it."""
    suffix = "-" + re.sub(r"[^A-Za-z0-9._-]", "_", node)
    if tag.endswith(suffix) and len(tag) > len(suffix):
        return tag[: -len(suffix)]
    return ""


def diff_command(tag: str) -> str:
    """What the timer would put back against the live files (``diff -u live copy``): the
    copies sit under ``restore/<absolute path>`` (engine/rollback_script.py)."""
    return (f"cd {ROLLBACK_ROOT}/{tag} && cat armed; find restore -type f | while read -r f; "
            'do diff -u "${f#restore}" "$f"; done')


def stale_action(node: str, tags: list[str]) -> str:
    """The way out of a stale timer, with the exact commands: keep the change (what COMMIT
    writes, rollback_script.disarm_command) or undo it (the node's own rollback script, as
    the timer would have run it: rollback_script.script restores every copy, reloads corosync
    for a corosync.conf, and logs)."""
    ways = "; ".join(
        f"for {tag}: keep `echo committed > {ROLLBACK_ROOT}/{tag}/state`, or undo "
        f"`sh {ROLLBACK_ROOT}/{tag}/rollback.sh fire`" for tag in tags)
    return (f"Nothing will keep or undo it by itself: decide now, on {node}. The runbook "
            f"{SETTLE_RUNBOOK} shows what each node's timer would put back, asks keep or undo "
            "and does it on every node of the checkpoint, with a typed confirmation. By hand: "
            "the fix below "
            "shows what the timer would put back against the live files (a corosync.conf "
            "copy carries a config_version above the checkpoint's, so that line always "
            "differs; if nothing else differs, the change was never made or is already "
            f"undone, and keeping is the safe choice). Then {ways}. Undoing restores every "
            "copy, reloads corosync when corosync.conf is among them and logs to "
            "/var/log/pverunbook-rollback.log; do the same on every node whose timer has the "
            "same name up to the node (one checkpoint), so the nodes stay alike.")


def _left(seconds: int | None) -> str:
    if seconds is None:
        return "deadline unknown"
    if seconds >= 0:
        return f"fires in {seconds} s"
    return f"{-seconds} s past its deadline"
