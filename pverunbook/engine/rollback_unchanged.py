"""A ``commit_within`` step that failed: did it change anything its rollback timers would undo?

The timers are armed before the step's commands run. When the step then fails (corosync-tuning's
apply refusing at its version check, say), the run used to wait the whole commit window (420 s)
for timers that could only put back what was already there. Now the engine asks each armed node
right after the failure, before the failure question, whether what its timer restores is still
as the checkpoint holds it:

- every checkpointed file has the checkpoint's sha256 (a file the checkpoint recorded as absent
  is still absent), and
- a rollback that ``record``\\ s what it re-creates (route-fix's route) records the same lines.

If so on every node, the timer has nothing to undo (what it would write is what is there), so the
timers are stopped at once, as COMMIT stops them, and the run ends (or re-runs) without waiting.
Otherwise — a file differs, a node cannot be asked, a part the engine cannot compare (a
directory tree, a symlink, a ``reload`` without ``record``) — the timers stay armed and a note
says what differs where and what the operator must do. One decision, made here, that the TUI and
the headless run both show (the notes and ``RollbackTimer`` events).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine import rollback_probe
from pverunbook.engine.remote_files import run_collect
from pverunbook.engine.rollback import Armed, Pending, _disarm_all, _state
from pverunbook.engine.rollback_gone import undo_words
from pverunbook.runbook.model import Step
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine

#: The reason the ``disarmed`` events of timers stopped this way carry (a state of its own: the
#: report and ``journal show`` said "COMMIT: timer stopped" for them, though nothing was kept).
NOTHING_CHANGED = ev.ROLLBACK_NOTHING_CHANGED


async def after_failed_step(engine: Engine, step: Step, status: str) -> None:
    """Called with a destructive step's status: when it is not ok and the step armed rollback
    timers, stop them if nothing changed, else say plainly that they stay armed."""
    pending = _state(engine).get(step.id)
    if pending is None or engine.dry_run or status in ("ok", "planned", "skipped"):
        return
    answers = await asyncio.gather(*(_difference(engine, step, pending, a)
                                     for a in pending.armed))
    differs = {a.node: why for a, why in zip(pending.armed, answers, strict=True) if why}
    nodes = ", ".join(a.node for a in pending.armed)
    left = max(pending.local_deadline - time.time(), 0.0)
    if differs:
        engine.emit(ev.Note(step_id=step.id, level="error", text=(
            f"'{step.id}' {status} after it may have changed the nodes: "
            + "; ".join(f"on {n}, {why}" for n, why in differs.items())
            + f". Its rollback timers stay armed on {nodes}: COMMIT is not asked (the change "
            f"did not prove itself), and in {left:.0f} s every node "
            f"{undo_words(pending.armed, pending.checkpoint_id)} by itself. Let them: do not "
            f"re-run '{step.id}' or change "
            "these files before they have reported (the run waits for them and says what they "
            "restored; if it is stopped, they still fire: run cluster-health-check afterwards)")))
        await engine.durable()
        return
    engine.emit(ev.Note(step_id=step.id, level="warning", text=(
        f"'{step.id}' {status} before it changed anything: on {nodes} what its rollback "
        f"timers would restore is as checkpoint {pending.checkpoint_id} holds it, so the timers "
        "are stopped now instead of waited for (nothing to restore); the step's output says why "
        f"it {status} and what to do before it runs again")))
    await engine.durable()
    stopped = await asyncio.gather(*(_disarm_all(engine, step, [a], reason=NOTHING_CHANGED,
                                                 state="disarmed")
                                     for a in pending.armed))
    still = [a for a, ok in zip(pending.armed, stopped, strict=True) if not ok]
    if still:  # those restore at their deadline (the same content): the run waits for them
        pending.armed = still
    else:
        del _state(engine)[step.id]


async def _difference(engine: Engine, step: Step, pending: Pending, a: Armed) -> str:
    """"" when what ``a``'s timer restores on its node is as the checkpoint holds it, else
    what differs (or why that cannot be told), for the operator."""
    from pverunbook.engine.checkpoint_index import load_checkpoint

    root = getattr(engine.checkpointer, "root", None)
    try:
        cp = load_checkpoint(pending.checkpoint_id, root)
    except Exception as exc:  # noqa: BLE001 - any reason means: cannot compare
        return f"checkpoint {pending.checkpoint_id} cannot be read to compare ({exc})"
    want: dict[str, str] = {}  # path -> sha256, or "absent"
    for item in cp.items:
        if item.get("node") != a.node or item.get("kind") == "output":
            continue
        kind, path = item.get("kind"), str(item.get("path"))
        if kind == "file" and item.get("ok") and item.get("sha256_local"):
            want[path] = str(item["sha256_local"])
        elif kind == "absent":
            want[path] = "absent"
        else:
            return f"{path} ({kind}) cannot be compared with the checkpoint"
    node = engine.cluster.node(a.node)
    transport = engine.transport_for(node)
    if want:
        cmd = "; ".join(
            f"if h=$(timeout 10 sha256sum -- {shlex.quote(p)} 2>/dev/null); then "
            f"echo \"{i} ${{h%% *}}\"; elif ! test -e {shlex.quote(p)} && "
            f"! test -L {shlex.quote(p)}; then echo '{i} absent'; fi"
            for i, p in enumerate(want))
        try:
            _, out, _ = await run_collect(transport, node, cmd, 30.0)
        except TransportError as exc:
            return f"it cannot be asked ({exc.message})"
        got = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        changed = [p for i, (p, h) in enumerate(want.items())
                   if got.get(str(i), "").strip().lstrip("\\") != h]
        if changed:
            verb = "differs" if len(changed) == 1 else "differ"
            return f"{', '.join(changed)} {verb} from checkpoint {pending.checkpoint_id}"
    if step.rollback.record:
        from pverunbook.runbook.template import render

        values = engine.values_for(node)
        try:
            _, out, _ = await run_collect(transport, node, render(step.rollback.record, values),
                                          30.0)
        except TransportError as exc:
            return f"it cannot be asked ({exc.message})"
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if rollback_probe.reload_commands(step.rollback.reload, values, lines) != list(a.reload):
            return ("what its rollback puts back is no longer there as recorded when the timer "
                    "was armed")
    elif step.rollback.reload:
        return ("its rollback runs commands ("
                + "; ".join(a.reload or step.rollback.reload)
                + ") whose effect cannot be compared with the checkpoint")
    return ""
