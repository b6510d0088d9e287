"""The report's account of rollback timers (``commit_within`` steps): armed, committed,
disarmed (the step failed before changing anything), fired.

Kept beside ``report.py``: one timeline line per timer event and a "Rollback timers" section
that says, per step and node, whether the change was kept (COMMIT) or put back by the node, what
was restored, and which rollbacks need a hand (failed, could not be stopped, outcome unknown),
with where the node's own log is.
"""

from __future__ import annotations

from pverunbook.engine import events as ev

_WORDS = {
    "armed": "timer armed", "arm_failed": "timer NOT armed", "committed": "COMMIT: timer stopped",
    "disarm_failed": "timer could NOT be stopped", "pending": "still armed (resumed run)",
    "fired": "timer fired: checkpoint restored", "failed": "ROLLBACK FAILED",
    "unknown": "rollback outcome unknown",
    "disarmed": "disarmed: nothing changed, nothing restored",
}
NEEDS_HAND = ev.ROLLBACK_NEEDS_HAND


def timeline_line(e: ev.RollbackTimer) -> str:
    what = _WORDS.get(ev.rollback_state(e), e.state)
    extra = ""
    if e.state == "armed":
        # a rollback restoring no file (route-fix's route) says what it undoes instead
        undoes = e.message.rsplit(" in ", 1)[0] if e.message.startswith("undoes ") else ""
        restores = f"restores {', '.join(e.files)}" if e.files else \
            undoes or "no restored file recorded"
        extra = f" ({e.seconds:g} s, {restores})"
    return f"Rollback of `{e.step_id}` on {e.node}: {what}{extra}"


def section(events: list[ev.Event], out: list[str]) -> None:
    timers = [e for e in events if isinstance(e, ev.RollbackTimer)]
    if not timers:
        return
    last: dict[tuple[str, str], ev.RollbackTimer] = {}
    for e in timers:
        last[(e.step_id, e.node)] = e
    out += ["## Rollback timers", "", "| Step | Node | Outcome | Files | Node log |",
            "|---|---|---|---|---|"]
    for (step, node), e in last.items():
        files = ", ".join(e.files) or "—"
        log = f"{e.dir}/log" if e.dir else "/var/log/pverunbook-rollback.log"
        what = _WORDS.get(ev.rollback_state(e), e.state)
        out.append(f"| `{step}` | {node} | {what} | {files} | {log} |")
    out.append("")
    for (step, node), e in last.items():
        if e.state in NEEDS_HAND:
            out.append(f"- [ ] **{node}: {_WORDS[e.state]}** for `{step}`: "
                       f"{e.message.strip().splitlines()[-1] if e.message.strip() else ''}")
    out.append("")
