"""A resumed run and its rollback timers (``commit_within``): which are still armed, which fired.

Split from :mod:`pverunbook.engine.rollback` (arm, commit, fire): the journal says which timers
were armed and never committed or fired; each node says how long each has left.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pverunbook.engine import events as ev
from pverunbook.engine import rollback_script as rs
from pverunbook.engine.remote_files import run_collect
from pverunbook.engine.rollback import (
    Armed,
    Pending,
    _ask_commit,
    _await_fired,
    _emit,
    _log,
    _root,
    _state,
    _undoes,
)
from pverunbook.engine.rollback_gone import never_fires_text
from pverunbook.engine.rollback_orphans import unjournaled
from pverunbook.pve.diagnosis.rollbacks import SETTLE_RUNBOOK
from pverunbook.transport.base import TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine
    from pverunbook.runbook.model import Step


async def on_resume(engine: Engine) -> str:
    """A resumed run: the timers its journal says were armed and never committed or fired —
    ask each node how long it has left; still armed ones wait for COMMIT again.

    Returns "" to go on, or why the resumed run stops: COMMIT was refused (or not typed in
    time) again, or a timer restored the checkpoint while pverunbook was away. Either way the
    change is not in place, and the steps after it were written for a cluster that has it, so
    the run stops as it does when COMMIT is refused during a run (:func:`after_step`)."""
    if engine.resume is None or engine.journal_path is None or engine.dry_run:
        return ""
    from pverunbook.engine.journal import iter_journal

    armed: dict[tuple[str, str], ev.RollbackTimer] = {}
    run_id = ""
    known: set[str] = set()  # timer directories the journal mentions
    checkpoint: dict[str, str] = {}  # step id -> its last checkpoint
    ran_after: set[str] = set()  # checkpoints a command of their step followed
    for e in iter_journal(engine.journal_path):
        if isinstance(e, ev.RunStarted):
            run_id = run_id or e.run_id
        elif isinstance(e, ev.CheckpointTaken):
            checkpoint[e.step_id] = e.checkpoint_id
        elif isinstance(e, ev.CommandStarted) and e.step_id in checkpoint:
            ran_after.add(checkpoint[e.step_id])
        if isinstance(e, ev.RollbackTimer):
            if e.dir:
                known.add(e.dir.rsplit("/", 1)[-1])
            if e.state == "armed":
                armed[(e.step_id, e.node)] = e
            elif e.state in ("committed", "disarmed", "fired", "failed", "arm_failed"):
                armed.pop((e.step_id, e.node), None)
    # timers armed on the nodes whose "armed" event never reached the journal (rollback_orphans)
    for e in await unjournaled(engine, run_id or engine.run_id, known, ran_after):
        armed[(e.step_id, e.node)] = e
    by_step: dict[str, list[ev.RollbackTimer]] = {}
    undone: dict[str, str] = {}
    for (sid, _), e in armed.items():
        by_step.setdefault(sid, []).append(e)
    for sid, events in by_step.items():
        try:
            step = engine.runbook.step(sid)
        except KeyError:
            continue
        live: list[Armed] = []
        settling: list[Armed] = []
        no_timer: list[str] = []  # armed, its process gone: never fires (never_fires_text)
        for e in events:
            tag = e.dir.rsplit("/", 1)[-1]
            node = engine.cluster.node(e.node)
            try:
                result, out, _ = await run_collect(engine.transport_for(node), node,
                                                   rs.status_command([tag], _root(engine)), 20.0)
            except TransportError as exc:
                engine.emit(ev.Note(step_id=sid, level="warning", text=(
                    f"{e.node}: cannot ask about the rollback timer of '{sid}': {exc.message}")))
                continue
            words = (out.strip().splitlines() or [""])[-1].split()
            try:
                state, deadline, now, alive = words[1], float(words[2]), float(words[3]), \
                    words[4]
                if len(words) != 5 or words[0] != tag:
                    raise ValueError(out)
            except (IndexError, ValueError):
                # never silent: the timer may still restore files at its deadline
                _emit(engine, step, e.node, "unknown", dir=e.dir, files=e.files,
                      message=f"cannot read the rollback timer's state on {e.node} (it answered "
                              f"{out.strip()[-200:]!r}): it may still restore "
                              f"{', '.join(e.files) or 'the checkpointed files'} at its "
                              f"deadline; look at {e.dir} and {_log(engine)} on {e.node}")
                continue
            if state == "armed" and alive == "1":
                left = deadline - now
                live.append(Armed(e.node, tag, deadline,
                                  time.time() + left * engine.node_time_scale, e.method, e.files))
                _emit(engine, step, e.node, "pending", checkpoint_id=e.checkpoint_id,
                      deadline=deadline, dir=e.dir, method=e.method, files=e.files,
                      message=f"still armed: {undoes_armed(engine, step, e)} in "
                              f"{left:.0f} s "
                              "unless COMMIT")
            elif state in ("done", "failed"):
                undone.setdefault(sid, f"the rollback timers of '{sid}' restored its "
                                  "checkpoint while pverunbook was away: the change is not "
                                  "in place; run the runbook again from its start")
                _emit(engine, step, e.node, "fired" if state == "done" else "failed",
                      dir=e.dir, files=e.files, message=f"the timer fired while pverunbook "
                      f"was away (state {state}); see {_log(engine)} on {e.node}")
            elif state == "firing":
                # restoring right now (the /etc/pve write may wait for quorum): wait for it,
                # as long as its process runs (the wait asks, as the health check does)
                settling.append(Armed(e.node, tag, deadline, time.time(), e.method, e.files))
            elif state == "armed":  # its process is gone: it will never fire
                no_timer.append(e.node)
                text = never_fires_text(e.node, e.checkpoint_id, e.files, _log(engine))
                _emit(engine, step, e.node, "unknown", dir=e.dir, files=e.files, message=text)
                engine.emit(ev.Note(step_id=sid, level="error", text=text))
                undone[sid] = (f"the rollback timer of '{sid}' on {e.node} will never fire (its "
                               "process is gone): the change is neither kept nor undone; run "
                               f"the runbook {SETTLE_RUNBOOK} with checkpoint={e.checkpoint_id}"
                               ", then resume this run (keep) or run this runbook again from "
                               "its start (undo)")
            elif state == "committed":  # COMMIT, or rollback-settle's keep, on the node
                _emit(engine, step, e.node, "committed", dir=e.dir, files=e.files,
                      message="the timer was committed on the node (COMMIT, or rollback-settle "
                              "keep) while pverunbook was away: the change stays")
            else:
                _emit(engine, step, e.node, "unknown", dir=e.dir, files=e.files,
                      message=f"timer state {state!r} (not armed, firing, done or failed), "
                              f"its process {'running' if alive == '1' else 'gone'}: what it "
                              f"did is not known; see {e.dir}/log and {_log(engine)} on "
                              f"{e.node}, then run cluster-health-check")
        if settling:
            waited = Pending(step, events[0].checkpoint_id, settling, [])
            stuck = await _await_fired(engine, waited)
            if waited.gone:  # its process gone: nothing finishes it (rollback_gone)
                undone[sid] = (f"the rollback timers of '{sid}' fired while pverunbook was "
                               f"away and their restore was interrupted on "
                               f"{', '.join(waited.gone)}: files may be half restored; run "
                               f"the runbook {SETTLE_RUNBOOK} with checkpoint="
                               f"{waited.checkpoint_id} (undo or keep), then the health check")
            elif stuck:  # never "restored" for a timer still restoring when the wait gave up
                undone[sid] = unfinished_text(sid, stuck, _log(engine))
            else:
                undone.setdefault(sid, f"the rollback timers of '{sid}' restored its "
                                  "checkpoint while pverunbook was away: the change is not in "
                                  "place; run the runbook again from its start")
        if live:
            remaining = [c for c in step.commit_checks
                         if engine.statuses.get(c) != "ok"]
            passed = [c for c in step.commit_checks if c not in remaining]
            pending = Pending(step, events[0].checkpoint_id, live, remaining, passed,
                              no_timer=no_timer)
            _state(engine)[sid] = pending
            if not remaining:
                if await _ask_commit(engine, pending):
                    _state(engine).pop(sid, None)
                    if no_timer:  # every node has the change now; the dead timer stays
                        undone[sid] = (
                            f"'{sid}' was committed on {', '.join(a.node for a in live)}; on "
                            f"{', '.join(no_timer)} its rollback timer was already gone, so "
                            "the change stayed there too: every node keeps it. Run the "
                            f"runbook {SETTLE_RUNBOOK} with checkpoint="
                            f"{events[0].checkpoint_id} (keep) to clear the dead timer on "
                            f"{', '.join(no_timer)}, then resume this run")
                elif no_timer:  # the live timers restore; the dead ones' nodes keep it
                    undone[sid] = (
                        f"'{sid}' was not committed: the rollback timers restore the "
                        f"checkpoint on {', '.join(a.node for a in live)}; on "
                        f"{', '.join(no_timer)} the timer is gone and the change stays: run "
                        f"the runbook {SETTLE_RUNBOOK} with checkpoint="
                        f"{events[0].checkpoint_id} (undo) to put it back there too")
                else:  # left pending: at_end waits for the timers and journals them
                    undone[sid] = (f"'{sid}' was not committed: the rollback restores the "
                                   "checkpoint")
    await engine.durable()
    return "; ".join(undone.values())


def unfinished_text(sid: str, nodes: list[str], log: str) -> str:
    """Why a resumed run stops when a node's timer was still restoring (``firing``) after the
    wait: the resume said "the rollback timers restored its checkpoint" of a timer stuck
    waiting for /etc/pve, and nobody knew what was in place there."""
    return (f"the rollback timers of '{sid}' fired while pverunbook was away, and on "
            f"{', '.join(nodes)} had not finished restoring its checkpoint when the wait gave "
            f"up (see {log} there): what is in place on those nodes is unknown; run the "
            "health check, then the runbook again from its start")


def undoes_armed(engine: Engine, step: Step, armed: ev.RollbackTimer) -> str:
    """What the timer armed by ``armed`` undoes, as its ``armed`` record said it (with the
    lines ``record`` printed then: route-fix's ``ip route replace 10.0.0.0/24 via …``);
    a resumed run showed the runbook's template instead ("ip route replace <each line
    `record` printed when the timer was armed>"). A timer the journal never saw armed is
    described from the runbook, the recorded lines in plain words."""
    from pverunbook.engine.rollback_probe import RECORDED_PROSE

    said, sep, _ = armed.message.rpartition(" in ")
    if sep and said.startswith(("undoes the change", "restores ")):
        return said
    return _undoes(engine, step, armed.node, armed.files).replace(
        RECORDED_PROSE, f"what was recorded on {armed.node} when the timer was armed")
