"""A run's diagnosis from its events: collect the facts, hand them to :mod:`pve.diagnosis`.

Headless, the report and the TUI summary all diagnose the same way from the same events (live
or read back from the journal). Facts come from the engine's journaled facts events when the
run has them; for runs (and journals) without, they are read again from each step's captured
output with the same fact rules, so the answer does not depend on which version wrote the
journal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.pve import facts as pvefacts
from pverunbook.pve.diagnosis import Diagnosis, diagnose
from pverunbook.pve.diagnosis.check import CHECK_ID, check_diagnose
from pverunbook.pve.facts import Fact, FactStore, Observation

_SRC = re.compile(r"\bsrc (\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]+)\b")
_KNET_SRC = re.compile(r"\((\S+?)->(\S+?)\)")


def _journaled_facts(events: Iterable[ev.Event]) -> list[Fact]:
    """Facts the engine journaled (any event carrying a ``facts`` list of Fact records)."""
    out: list[Fact] = []
    for e in events:
        raw = getattr(e, "facts", None)
        if not raw:
            continue
        for item in raw:
            if isinstance(item, Fact):
                out.append(item)
            elif isinstance(item, Mapping):
                try:
                    out.append(Fact.from_json(item))
                except ValueError:
                    continue
    return out


def learn_addresses(outputs: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Each node's own addresses, read from its outputs: ``src`` of ``ip route get`` and the
    left side of ``corosync-cfgtool -n``'s ``(a->b)``; for journals without an inventory."""
    out: dict[str, str] = {}
    for (_step, node), text in outputs.items():
        for m in _SRC.finditer(text):
            out.setdefault(m.group(1), node)
        for m in _KNET_SRC.finditer(text):
            out.setdefault(m.group(1), node)
    return out


def facts_from_outputs(events: Sequence[ev.Event], verdicts: Mapping[str, str],
                       names_by_addr: Mapping[str, str] | None = None) -> list[Fact]:
    """Run the fact rules over each (step, node)'s captured stdout and stderr.

    ``verdicts`` maps step id → the step's verdict name. The exit status given to the rules is
    the first non-zero one of the step's commands on that node (None when one never finished).
    """
    texts: dict[tuple[str, str], list[str]] = {}
    errs: dict[tuple[str, str], list[str]] = {}
    status: dict[tuple[str, str], int | None] = {}
    for e in events:
        if isinstance(e, ev.OutputChunk) and e.step_id in verdicts:
            key = (e.step_id, e.node)
            texts.setdefault(key, [])
            (texts if e.stream == "stdout" else errs).setdefault(key, []).append(e.text)
        elif isinstance(e, ev.CommandFinished) and e.step_id in verdicts:
            key = (e.step_id, e.node)
            texts.setdefault(key, [])
            if e.dry_run:
                texts.pop(key, None)
                continue
            done = e.exit_status if not (e.timed_out or e.connection_lost or e.cancelled) \
                else None
            prev = status.get(key, 0)
            if key not in status or prev == 0:
                status[key] = done
    joined = {k: "".join(v) for k, v in texts.items()}
    addrs = dict(learn_addresses(joined))
    addrs.update(names_by_addr or {})
    out: list[Fact] = []
    for (step_id, node), text in joined.items():
        obs = Observation(node, text, status.get((step_id, node), 0), addrs,
                          stderr="".join(errs.get((step_id, node), [])))
        try:
            found = pvefacts.extract(verdicts[step_id], obs)
        except Exception:  # noqa: BLE001 - a parser bug must not cost the operator the summary
            continue
        out += [Fact(f.name, f.value, f.node, f.peer, f.evidence, f.step_id or step_id)
                for f in found]
    return out


def _verdicts_of(runbook: Any) -> dict[str, str]:
    return {s.id: s.verdict for s in getattr(runbook, "steps", ()) if getattr(s, "verdict", None)}


def _runbook_from(events: Sequence[ev.Event]) -> Any:
    for e in events:
        if isinstance(e, ev.RunStarted) and e.runbook_path:
            try:
                from pverunbook.runbook.loader import load_file

                # read to interpret a past run, not to run it: no lint refusal
                return load_file(Path(e.runbook_path), lint=False)
            except Exception:  # noqa: BLE001 - the runbook may have moved since the run
                return None
    return None


def collect_facts(events: Sequence[ev.Event], runbook: Any = None,
                  names_by_addr: Mapping[str, str] | None = None) -> FactStore:
    """Every fact of the run: journaled ones, or else re-read from the outputs."""
    journaled = _journaled_facts(events)
    if journaled:
        return FactStore(journaled)
    rb = runbook if runbook is not None else _runbook_from(events)
    verdicts = _verdicts_of(rb)
    if not verdicts:
        return FactStore()
    return FactStore(facts_from_outputs(events, verdicts, names_by_addr))


def diagnose_run(events: Sequence[ev.Event], runbook: Any = None,
                 names_by_addr: Mapping[str, str] | None = None,
                 runbook_dirs: Sequence[Path] = (),
                 ) -> tuple[FactStore, Diagnosis]:
    """Facts and diagnosis of one run, nodes in the order the run listed them;
    ``runbook_dirs`` = the ``--runbooks`` folders whose runbooks order a health check's
    proposals (:func:`runbook_stops`)."""
    store = collect_facts(events, runbook, names_by_addr).named_peers()
    nodes: tuple[str, ...] = ()
    started = 0.0
    for e in events:
        if isinstance(e, ev.RunStarted):
            nodes, started = e.nodes, e.ts
            break
    findings = [e for e in events if isinstance(e, ev.Finding)]
    now = datetime.fromtimestamp(started, UTC) if started else None
    first = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    missing = unchecked_nodes(events)
    if first is not None and first.runbook_id == CHECK_ID:
        # the health check orders every fault and may take over triage's measurement
        from pverunbook.check_history import earlier_runs

        history = earlier_runs(first)
        return store, check_diagnose(store, findings, nodes, now, history.measured,
                                     history.past, history.last, missing,
                                     history.path_change,
                                     runbook_stops(tuple(runbook_dirs)))
    return store, diagnose(store, findings, nodes, now, missing)


def runbook_stops(runbook_dirs: tuple[Path, ...] = ()) -> dict[str, frozenset[str]]:
    """Each runbook's id → the diagnosis's fault ids it would stop on before it fixes
    anything: the health check proposes a runbook only after the faults it would stop on
    (:func:`check.runnable_first`), and says what comes by hand before it
    (``pve.diagnosis.next_step``). Read once per process and runbook folder (a folder of its
    own: a test's, a wheel's); a runbook that does not load stops on nothing here
    (``pverunbook list`` names its error).

    Its stops are the faults its expectations declare (``faults = [...]`` on an expectation
    without a severity) and those that make one of its guards fail before its first
    destructive step (:func:`guard_stops.guard_stops`, :data:`guard_stops.GUARD_FAULTS`).

    ``runbook_dirs`` are the ``--runbooks`` folders; an id is read from the runbook that
    :func:`pverunbook.runbook.catalog.find` opens for it, so the stops are those of the
    runbook that "Run next" starts: the shipped one first, then the folders in their order.
    A user runbook that reuses a shipped id is therefore not read (``find`` opens the shipped
    one), and one with an id of its own only matters if the diagnosis proposes that id, which
    it does only for shipped runbooks. No caller passes the folders today: the health check's
    diagnosis is made from the run's events (:func:`diagnose_run`, ``runbook_dirs``), and the
    TUI summary and start screen, the headless printers, ``report`` and the check history
    call it (or this) without the app's folders.
    """
    from pverunbook.runbook.catalog import builtin_dir

    out: dict[str, frozenset[str]] = {}
    for folder in (builtin_dir(), *runbook_dirs):
        for rid, ids in _stops_in(folder).items():
            out.setdefault(rid, ids)  # catalog.find opens the first runbook of an id
    return {rid: ids for rid, ids in out.items() if ids}


@cache
def _stops_in(folder: Path) -> dict[str, frozenset[str]]:
    """Every runbook id in ``folder`` (the first file of an id, by name) → its stops, empty
    ones included: a later folder's runbook of the same id must not be read in its place."""
    from pverunbook.pve.diagnosis.guard_stops import guard_stops
    from pverunbook.runbook.loader import load_file

    out: dict[str, frozenset[str]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.toml")):
        try:
            rb = load_file(path, lint=False)
        except Exception:  # noqa: BLE001 - one broken runbook must not cost the diagnosis
            continue
        out.setdefault(rb.id, frozenset(i for s in rb.steps for e in s.expect if not e.severity
                                        for i in e.faults) | guard_stops(rb.steps))
    return out


def unchecked_nodes(events: Sequence[ev.Event]) -> dict[str, str]:
    """Nodes the run could not read, name → why: ``unreachable`` when it started (or before a
    destructive step), or ``down`` once reconnecting gave up, and not ``connected`` again
    since (the engine's ``NodeConnection`` events)."""
    out: dict[str, str] = {}
    for e in events:
        if isinstance(e, ev.NodeConnection):
            if e.state in ("unreachable", "down"):
                out[e.node] = e.message or out.get(e.node, "") or e.state
            elif e.state == "connected":
                out.pop(e.node, None)
    return out


def no_fault_text(events: Sequence[ev.Event], runbook: Any = None, check: bool = False) -> str:
    """What an empty diagnosis means for this run: healthy (a whole health check), nothing
    found (a run that collected all its evidence), or nothing found in the part that ran.

    A triage stopped at step 3 of 12 said "No fault found in the collected evidence", which
    reads as a clean bill; the steps that never ran measured nothing."""
    rb = runbook if runbook is not None else _runbook_from(events)
    total = len(rb.steps) if rb is not None else 0
    ran = {e.step_id for e in events if isinstance(e, ev.StepFinished)
           and e.status not in ("skipped", "planned")}
    status = next((e.status for e in reversed(events) if isinstance(e, ev.RunFinished)), "")
    if status == "planned":
        return "Dry run: nothing was measured, so nothing can be judged yet."
    if collected_all(events):
        if not check and not_kept(list(events)):
            # the evidence predates the rollback: never read as "fixed" (see the summary)
            return ("No fault found in the collected evidence, but a change of this run was "
                    "NOT kept (its rollback timers put it back): what it fixed is undone.")
        failed = "" if check else failed_step_text(events)
        if failed:  # routed on with on_failure = "continue": still what the run found
            return f"{failed} No fault found in the rest of the collected evidence."
        return ("The cluster is healthy: the health check found no fault on any node." if check
                else "No fault found in the collected evidence.")
    of = f" of {total}" if total else ""
    how = f"the run {status}" if status else "the run stopped"
    why = next((e.message for e in reversed(events) if isinstance(e, ev.RunFinished)), "")
    if status == "failed" and why:
        # why it failed, up here: a COMMIT typed while one node's rollback timer was gone
        # failed the run, and its reason (run rollback-settle) was two screens further down
        how = f"{how}: {why.rstrip('.')}"
    steps = "steps" if total or len(ran) != 1 else "step"
    failed = failed_step_text(events)
    if failed:
        # a verify that failed is the run's finding: never lead with "no fault found"
        return (f"{failed} The diagnosis has no rule for it and found no fault in the "
                f"{len(ran)}{of} {steps} that ran ({how}), which is not a clean bill of health: "
                "read that step's output and explanation before going on.")
    return (f"No fault found in what was collected, but only {len(ran)}{of} {steps} ran "
            f"({how}): what the other steps look at was not measured, so this is not a "
            "clean bill of health.")


#: Step statuses that mean the step did not do or prove what it is for.
_FAILED = ("failed", "timed_out", "connection_lost", "blocked", "unknown")


def failed_step_text(events: Sequence[ev.Event]) -> str:
    """``Step “The peer is reached directly and answers” (verify) failed: …; what it checks
    is NOT so.`` for the last step of the run that failed, or "".

    A route-fix whose ``verify`` failed ended with "No fault found in what was collected":
    the diagnosis reads facts, and the failed check produced none, so the one thing the run
    found — the change did not do what it was for — was not said at all."""
    titles = {e.step_id: e.title for e in events if isinstance(e, ev.StepStarted)}
    # a failure that a later attempt of the same step (Re-run) turned into ok is not the
    # run's finding: it was said above "✔ Finished: every step succeeded"
    passed_later: set[str] = set()
    last = None
    for e in reversed(events):
        if not isinstance(e, ev.StepFinished):
            continue
        if e.status == "ok":
            passed_later.add(e.step_id)
        elif e.status in _FAILED and e.step_id not in passed_later:
            last = e
            break
    if last is None:
        return ""
    what = f"Step “{titles.get(last.step_id, last.step_id)}” ({last.step_id}) " \
           f"{last.status.replace('_', ' ')}"
    why = f": {last.message.rstrip('.')}" if last.message else ""
    # what the runbook says of the failure (its expectations' messages, once each, from the
    # step's last attempt): "ryanrishi: failed; pve001: failed" alone left the operator with
    # no word on what to do (trial 14: corosync-tuning's second link without addr1)
    said: list[str] = []
    for e in reversed(events[:events.index(last)]):
        if isinstance(e, ev.StepStarted) and e.step_id == last.step_id:
            break
        if isinstance(e, ev.ExpectationResult) and e.step_id == last.step_id and not e.ok \
                and e.message and e.message not in said and e.message not in why:
            said.insert(0, e.message)
    told = "".join(f" {m.rstrip()}" if m.rstrip().endswith((".", "!", "?")) else f" {m}."
                   for m in said[:2])
    return f"{what}{why}.{told} What it checks is NOT confirmed."


def collected_all(events: Sequence[ev.Event]) -> bool:
    """True when the run reached its end (ok or completed_with_failures: the steps it did not
    run were skipped by its own conditions or jumps), so an empty diagnosis means nothing was
    found, not that nothing was looked at (a run aborted, failed or interrupted on the way)."""
    status = next((e.status for e in reversed(events) if isinstance(e, ev.RunFinished)), "")
    return status in ("ok", "completed_with_failures")


def worst_finding_now(events: Sequence[ev.Event]) -> str:
    """``critical``, ``warning`` or "" — the worst finding of a finished run as its diagnosis
    judges it now (``Diagnosis.finding_now``), the way the run's own summary labelled it.

    ``journal list`` took every journaled finding at its face value, so a health check that
    said "healthy" while its corosync journal held old link flaps was listed as
    "ok — findings (CRIT)": findings that are history no longer are."""
    findings = [e for e in events if isinstance(e, ev.Finding)
                and e.severity in ("critical", "warning")]
    if not findings:
        return ""
    first = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    whole = first is not None and first.runbook_id == CHECK_ID
    try:
        _, diag = diagnose_run(events)
        now = {diag.finding_now(f.step_id, f.node, f.severity, whole=whole) for f in findings}
    except Exception:  # noqa: BLE001 - a list of runs never fails on one run's diagnosis
        now = {f.severity for f in findings}
    return next((s for s in ("critical", "warning") if s in now), "")


def cluster_addresses(cluster: Any) -> dict[str, str]:
    """``{ring address: node name}`` of an inventory (ring0 and ring1)."""
    out: dict[str, str] = {}
    for n in getattr(cluster, "nodes", ()):
        for addr in (getattr(n, "ring_addr", ""), getattr(n, "addr1", "")):
            if addr:
                out[addr] = n.name
    return out


def step_status_label(status: str, worst_finding: str) -> str:
    """``ok — findings`` for a step whose checks passed but whose verdict found a problem.

    A plain "ok" next to a CRIT finding reads as "all clear"; the step ran fine, what it saw
    is not.
    """
    if status == "ok" and worst_finding == "critical":
        return "ok — findings (CRIT)"
    if status == "ok" and worst_finding == "warning":
        return "ok — findings (WARN)"
    return status


#: How a run's end status reads to a person (``journal list``, the summaries); the README's
#: exit statuses say the same: 3 = "the run reached its end but some checks failed".
RUN_STATUS_WORDS = {
    "completed_with_failures": "finished, with failures",
    "ok": "ok",
}


def run_status_words(status: str) -> str:
    """A run's status in words, never a raw token such as ``completed_with_failures``."""
    return RUN_STATUS_WORDS.get(status, status.replace("_", " "))


def skipped_after(e: ev.StepSkipped) -> str:
    """The status a step had when the operator skipped it and went on ("" if it never ran).

    Older journals have no ``after`` field; the engine's reason says the same."""
    if e.after:
        return e.after
    prefix = "operator skipped after "
    if not (e.by_operator and e.reason.startswith(prefix)):
        return ""
    return e.reason[len(prefix):].split(",", 1)[0].strip()


def went_on_label(after: str, node_status: Mapping[str, str]) -> str:
    """A step that ran, failed (on some nodes), and that the operator then skipped to go on:
    ``ran on ryanrishi (ok) and failed on pve001, then the operator went on``.

    It is never plain "skipped": on the nodes where it succeeded it changed things (the
    vm-config-recovery write that wrote 108.conf on one node and failed on the other)."""
    ok = [n for n, st in node_status.items() if st == "ok"]
    bad: dict[str, list[str]] = {}
    for n, st in node_status.items():
        if st != "ok":
            bad.setdefault(st.replace("_", " "), []).append(n)
    parts = [f"{st} on {', '.join(nodes)}" for st, nodes in bad.items()]
    if not parts:
        parts = [(after or "failed").replace("_", " ")]
    if ok:
        parts.insert(0, f"ran on {', '.join(ok)} (ok)")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"{text}, then the operator went on"


def next_command(runbook: str, params: dict[str, Any], mode: str) -> str:
    """The command line that starts ``runbook`` with ``params`` in the same mode as this run."""
    import shlex

    sets = "".join(f" --set {shlex.quote(f'{k}={_param_text(v)}')}" for k, v in params.items())
    if mode == "rehearsal":
        return f"pverunbook rehearse {runbook}{sets}"
    if mode == "live":
        return f"pverunbook run {runbook} --cluster CLUSTER.toml{sets}"
    if mode == "local":
        return f"pverunbook run {runbook} --local{sets}"
    return f"pverunbook run {runbook} --dry-run{sets}"


def _param_text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def not_kept(events: list[ev.Event]) -> list[str]:
    """The sentences of :func:`not_kept_by_step`, in the order the changes were undone."""
    return list(not_kept_by_step(events).values())


def _why_not_kept(e: ev.ConfirmationGiven) -> str:
    """Why a COMMIT answer said no, as the journal recorded it (engine/rollback.py
    ``_ask_commit``): refused on purpose ("Roll back now", no ``--confirm COMMIT``), or the
    countdown ran out. A journal from before reasons were recorded says neither."""
    from pverunbook.engine.decisions import NO_ANSWER

    if e.reason == NO_ANSWER:
        return "COMMIT was not typed in time"
    if e.reason:
        return f"COMMIT was refused: {e.reason}"
    if e.typed:
        return "COMMIT was refused"
    return "COMMIT was not typed"


def not_kept_by_step(events: list[ev.Event]) -> dict[str, str]:
    """Step id → one plain sentence, per ``commit_within`` step whose change was NOT kept:
    its COMMIT was refused or not typed in time (the last ``commit`` answer of the step says
    no, and which of the two), or a node's timer fired. Its checks passed, so the step reads
    "ok"; without this sentence a run summary said "every step succeeded" while the nodes were
    putting the change back.

    The nodes and checkpoint are the COMMIT question's (engine/rollback.py ``_ask_commit``);
    "restored" once every one of those nodes reported its timer ``fired``, "restore" before
    (the timers run on the nodes, whatever the app shows)."""
    titles: dict[str, str] = {}
    asked: dict[str, ev.ConfirmationRequested] = {}
    answer: dict[str, bool] = {}
    refusal: dict[str, ev.ConfirmationGiven] = {}
    last: dict[tuple[str, str], ev.RollbackTimer] = {}
    order: list[str] = []
    for e in events:
        if isinstance(e, ev.StepStarted):
            titles[e.step_id] = e.title
        elif isinstance(e, ev.ConfirmationRequested) and e.what == "commit":
            asked[e.step_id] = e
        elif isinstance(e, ev.ConfirmationGiven) and e.what == "commit":
            answer[e.step_id] = e.accepted
            refusal[e.step_id] = e
            if not e.accepted and e.step_id not in order:
                order.append(e.step_id)
        elif isinstance(e, ev.RollbackTimer):
            last[(e.step_id, e.node)] = e
            if e.state == "fired" and e.step_id not in order:
                order.append(e.step_id)
    out: dict[str, str] = {}
    for sid in order:
        timers = {node: t for (s, node), t in last.items() if s == sid}
        fired = [n for n, t in timers.items() if t.state == "fired"]
        if answer.get(sid) and not fired:
            continue  # refused once, then committed on a resumed run: kept
        q = asked.get(sid)
        nodes = list(q.nodes if q is not None and q.nodes else timers)
        cp = (q.checkpoint_id if q is not None else "") or next(
            (t.checkpoint_id for t in timers.values() if t.checkpoint_id), "")
        what = f"checkpoint {cp}" if cp else "the checkpoint"
        why = _why_not_kept(refusal[sid]) if answer.get(sid) is False else "its timers fired"
        title = titles.get(sid, sid)
        on = ", ".join(nodes) or "its nodes"
        hand = [n for n, t in timers.items() if t.state in ev.ROLLBACK_NEEDS_HAND]
        # A timer that needs a hand (found armed with its process gone on resume: "unknown")
        # restores nothing by itself: it is not among those said to.
        waiting = [n for n in nodes if n not in hand]
        if nodes and all(n in fired for n in nodes):
            how = f"the rollback timers on {on} restored {what}"
        elif waiting or not nodes:
            how = (f"the rollback timers on {', '.join(waiting) or on} restore {what} by "
                   "themselves")
        else:
            how = f"{what} is neither kept nor restored"
        tail = (f"; the rollback on {', '.join(hand)} needs a hand: run the cluster health "
                "check, which names what is left on each node (a timer whose process is "
                "gone: its Run next, rollback-settle, keeps or undoes the change)"
                if hand else "")
        out[sid] = f"The change of step “{title}” ({sid}) was NOT kept ({why}): {how}{tail}."
    return out
