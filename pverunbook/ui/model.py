"""What the run screen shows, computed from engine events alone (no Textual here).

The screen feeds every event into :class:`RunState`; widgets render from it. Keeping this pure
means the bookkeeping (step states, per-node results, checkpoints, confirmations, the summary) is
testable without an app, and the same events replayed from a journal give the same picture.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.model import Diagnosis
from pverunbook.run_diagnosis import not_kept_by_step, skipped_after, went_on_label
from pverunbook.runbook.model import Runbook, Step

#: Lines of output kept per node and step for the comparison and plots (the journal has all).
KEEP_LINES = 5000

#: Engine step statuses plus the UI's own ("pending", "running", "needs_you", "next").
STATE_LABELS: dict[str, str] = {
    "pending": "pending",
    "next": "next",
    "running": "running",
    "needs_you": "needs you",
    "ok": "ok",
    "planned": "planned",
    "failed": "failed",
    "skipped": "skipped",
    "timed_out": "timed out",
    "cancelled": "cancelled",
    "connection_lost": "conn. lost",
    "blocked": "blocked",
    "declined": "declined",
    "aborted": "aborted",
    "unknown": "unknown",
    # shown, never an engine status: a step the run went past without running it (a jump, a
    # runbook's on_failure route): the word the summary and the report use for it
    "not_reached": "not reached",
}

STATE_GLYPHS: dict[str, str] = {
    "pending": "·", "next": "▸", "running": "▶", "needs_you": "?", "ok": "✔", "planned": "○",
    "failed": "✘", "skipped": "↷", "timed_out": "✘", "cancelled": "■", "connection_lost": "✘",
    "blocked": "■", "declined": "✋", "aborted": "■", "unknown": "?", "not_reached": "»",
}

BAD_STATES = {"failed", "timed_out", "cancelled", "connection_lost", "blocked", "declined",
              "aborted"}


class LineSplitter:
    """Turns output chunks into whole lines per (node, stream); partial lines wait."""

    def __init__(self) -> None:
        self._partial: dict[tuple[str, str], str] = {}

    def feed(self, node: str, stream: str, text: str) -> list[str]:
        key = (node, stream)
        data = self._partial.pop(key, "") + text
        lines = data.split("\n")
        rest = lines.pop()
        if rest:
            self._partial[key] = rest
        if "\r" not in data:  # the usual case; a flood is mostly this loop otherwise
            return lines
        return [line.rstrip("\r") for line in lines]

    def flush(self, node: str) -> list[str]:
        """Whatever is left for ``node`` (at the end of a command)."""
        out: list[str] = []
        for key in [k for k in self._partial if k[0] == node]:
            out.append(self._partial.pop(key).rstrip("\r"))
        return out


@dataclass
class NodeResult:
    node: str
    status: str = "waiting"
    exit_status: int | None = None
    duration: float = 0.0
    outcome: str = ""
    commands: list[str] = field(default_factory=list)
    #: When the command now running started (its event's time); None between commands.
    running_since: float | None = None

    @property
    def done(self) -> bool:
        return self.status not in ("waiting", "running")

    def elapsed(self, now: float | None = None) -> float:
        """Time spent so far: the commands that ended, plus the one running until ``now``
        (a 60 s sample reads 0:42 while it runs, not the 0.1 s of the command before it)."""
        if self.status != "running" or self.running_since is None:
            return self.duration
        return self.duration + max((time.time() if now is None else now)
                                   - self.running_since, 0.0)


@dataclass
class FindingItem:
    step_id: str
    node: str | None
    severity: str
    title: str
    detail: str = ""


@dataclass
class StepView:
    step: Step
    index: int
    state: str = "pending"
    message: str = ""
    attempt: int = 0
    nodes: tuple[str, ...] = ()
    duration: float = 0.0
    skip_reason: str = ""
    results: dict[str, NodeResult] = field(default_factory=dict)
    output: dict[str, deque[str]] = field(default_factory=dict)
    #: The engine's last word on this step (StepFinished/StepSkipped), "" until then. A
    #: confirmation asked after the step ended (COMMIT once its checks passed) shows the step
    #: as "needs you" for a moment, then it goes back to this: one step, one final state.
    ended: str = ""
    #: How the step ended on each node (StepFinished.node_status).
    node_status: dict[str, str] = field(default_factory=dict)
    #: The step failed (this status) and the operator skipped it to go on: it ran, so it
    #: keeps its failed state and is never counted as "skipped".
    went_on: str = ""

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def label(self) -> str:
        """The step's state in words; a failed-then-skipped step says where it ran, where it
        failed, and that the operator went on."""
        if self.went_on:
            return went_on_label(self.went_on, self.node_status)
        return STATE_LABELS.get(self.state, self.state)

    def lines(self, node: str) -> list[str]:
        return list(self.output.get(node, ()))


@dataclass
class Confirmation:
    step_id: str
    what: str
    accepted: bool
    typed: str
    operator: str
    reason: str = ""


@dataclass
class Summary:
    status: str
    message: str
    done: list[str]
    failed: list[str]
    skipped: list[tuple[str, str]]
    not_reached: list[str]
    checkpoints: list[tuple[str, str, str]]
    risky: list[str]
    duration: float
    #: Who stopped a run that did not reach its end: "operator", "guard", "checkpoint",
    #: "failure" ("" when it finished).
    stopped_by: str = ""
    #: Steps the operator declined (a refused confirmation, a manual step not done): they
    #: did not run, so they are not failures (the report counts them apart too).
    declined: list[str] = field(default_factory=list)
    #: ``commit_within`` changes that were NOT kept (report_rollback.not_kept): their steps
    #: read "ok", so the summary must say it before anything else.
    not_kept: list[str] = field(default_factory=list)


class RunState:
    def __init__(self, runbook: Runbook) -> None:
        self.runbook = runbook
        self.steps: list[StepView] = [StepView(s, i) for i, s in enumerate(runbook.steps)]
        self._by_id = {s.id: s for s in self.steps}
        self.current: str | None = None
        self.waiting_index: int | None = None
        #: Where the run stands: the index of the step it waits before or runs (None before
        #: the first). Steps before it that never ran were passed over (:meth:`shown_state`).
        self.at: int | None = None
        self.started: ev.RunStarted | None = None
        #: A resumed run: the journal's first ``RunStarted``, when the run began (``restore``).
        self.first_started: ev.RunStarted | None = None
        self.finished: ev.RunFinished | None = None
        self.findings: list[FindingItem] = []
        self.checkpoints: list[tuple[str, str, str]] = []
        self.confirmations: list[Confirmation] = []
        self.notes: list[ev.Event] = []
        #: The events that tell whether a ``commit_within`` change was kept.
        self.commit_events: list[ev.Event] = []
        #: A resumed run: the last step the earlier run ran with something to show (its
        #: output, kept from the journal, or its results), where the operator left off.
        self.left_off: str | None = None

    def step(self, step_id: str) -> StepView:
        return self._by_id[step_id]

    def awaiting(self, index: int) -> None:
        """The engine waits for the operator before step ``index``."""
        self.waiting_index = self.at = index

    def shown_state(self, sv: StepView) -> str:
        """``sv``'s state as the step list shows it: "next" for the step the run waits
        before, "not_reached" for a step the run went past without running it (a jump with
        j, a runbook's on_failure route; the summary and the report say "not reached" too),
        else its own state. A jump back makes such a step ahead again: pending."""
        if sv.state != "pending":
            return sv.state
        if self.waiting_index == sv.index:
            return "next"
        if self.at is not None and sv.index < self.at:
            return "not_reached"
        return sv.state

    @property
    def running_step(self) -> StepView | None:
        if self.current is None:
            return None
        sv = self._by_id[self.current]
        return sv if sv.state in ("running", "needs_you") else None

    @property
    def command_running(self) -> bool:
        sv = self.running_step
        return sv is not None and any(r.status == "running" for r in sv.results.values())

    @property
    def last_finished(self) -> StepView | None:
        done = [s for s in self.steps if s.attempt and s.state not in ("running", "needs_you")]
        return max(done, key=lambda s: s.index) if done else None

    def add_lines(self, step_id: str, node: str, lines: list[str]) -> None:
        sv = self._by_id.get(step_id)
        if sv is None:
            return
        sv.output.setdefault(node, deque(maxlen=KEEP_LINES)).extend(lines)

    def apply(self, e: ev.Event) -> None:
        if isinstance(e, ev.StepStarted | ev.RollbackTimer) or (
                isinstance(e, ev.ConfirmationRequested | ev.ConfirmationGiven)
                and e.what == "commit"):
            self.commit_events.append(e)
        if isinstance(e, ev.RunStarted):
            self.started = e
        elif isinstance(e, ev.StepStarted):
            sv = self._by_id[e.step_id]
            sv.state, sv.attempt, sv.nodes, sv.message = "running", e.attempt, e.nodes, ""
            sv.ended = ""
            sv.results = {n: NodeResult(n) for n in e.nodes}
            sv.output = {}
            self.current = e.step_id
            self.waiting_index = None
            self.at = sv.index
        elif isinstance(e, ev.CommandStarted):
            r = self._result(e.step_id, e.node)
            r.status = "running"
            r.commands.append(e.command)
            # no exit status until this command has one (not the previous command's)
            r.exit_status, r.running_since = None, e.ts
        elif isinstance(e, ev.CommandFinished):
            r = self._result(e.step_id, e.node)
            r.exit_status, r.running_since = e.exit_status, None
            r.duration += e.duration
            r.outcome = e.outcome
            if e.dry_run:
                r.status = "planned"
            elif e.connection_lost:
                r.status = "connection_lost"
            elif e.timed_out:
                r.status = "timed_out"
            elif e.cancelled:
                r.status = "cancelled"
            elif e.error or e.exit_status not in self._by_id[e.step_id].step.ok_exit:
                r.status = "failed"
            else:
                r.status = "ok"
                if e.exit_status:
                    # a non-zero exit the step lists in ok_exit: say so, not a bare "exit 2"
                    r.outcome = f"{e.outcome} (allowed)"
        elif isinstance(e, ev.Finding):
            self.findings.append(FindingItem(e.step_id, e.node, e.severity, e.title, e.detail))
            # the command ran as allowed, but what it printed is critical (quorumtool's exit
            # 2 is "not quorate"): the node's pane and strip say what, never "✔ ok". A finding
            # the step's own expectations declare (a read-only check whose output shows a
            # fault) marks the node whatever its severity; a verdict's warning is often
            # standing advice (no QDevice) and does not.
            found = self._by_id.get(e.step_id)
            res = found.results.get(e.node) if found is not None and e.node else None
            if (res is not None and res.status == "ok" and found is not None
                    and (e.severity == "critical" or declared_finding(found.step, e.title))):
                res.status = "findings"
                code = res.outcome.removesuffix(" (allowed)")
                res.outcome = (f"finding: {e.title}" if code == "exit 0"
                               else f"{code}, finding: {e.title}")
        elif isinstance(e, ev.ExpectationResult):
            if not e.ok:
                self.findings.append(FindingItem(e.step_id, e.node, "warning",
                                                 e.message or f"check failed: {e.description}",
                                                 e.description))
                # exit 0 but the check failed: the node's pane and strip must not say ✔ ok
                checked = self._by_id.get(e.step_id)
                res = checked.results.get(e.node) if checked is not None else None
                if res is not None and res.status == "ok":
                    res.status = "failed"
                    why = e.message or e.description
                    res.outcome = (f"{res.outcome}, check failed: {why}" if res.outcome
                                   else f"check failed: {why}")
        elif isinstance(e, ev.GuardResult):
            if not e.ok:
                self.findings.append(FindingItem(e.step_id, None,
                                                 "warning" if e.warn_only else "critical",
                                                 f"guard {e.check}: {e.message}"))
        elif isinstance(e, ev.ConfirmationRequested):
            if e.step_id in self._by_id:
                self._by_id[e.step_id].state = "needs_you"
        elif isinstance(e, ev.ConfirmationGiven):
            self.confirmations.append(Confirmation(e.step_id, e.what, e.accepted, e.typed,
                                                   e.operator, e.reason))
            given = self._by_id.get(e.step_id)
            if given is not None and given.state == "needs_you":
                # COMMIT of a step that already ended: back to how it ended, not "running"
                given.state = given.ended or "running"
        elif isinstance(e, ev.CheckpointTaken):
            if e.ok:
                self.checkpoints.append((e.step_id, e.checkpoint_id, e.path))
        elif isinstance(e, ev.StepFinished):
            sv = self._by_id[e.step_id]
            sv.state = e.status if e.status in STATE_LABELS else "unknown"
            sv.ended = sv.state
            sv.message, sv.duration = e.message, e.duration
            sv.node_status, sv.went_on = dict(e.node_status), ""
            if e.status == "skipped":  # an advisory manual step the operator did not do
                sv.skip_reason = e.message
            for r in sv.results.values():
                if r.status == "running":
                    r.status = "cancelled" if e.status == "cancelled" else "unknown"
        elif isinstance(e, ev.StepSkipped):
            sv = self._by_id[e.step_id]
            after = skipped_after(e)
            if after and sv.ended and sv.ended not in ("ok", "planned", "skipped"):
                # it ran and failed; the operator went on: it stays failed, never "skipped"
                sv.went_on, sv.skip_reason = after, e.reason
                sv.state = sv.ended
            else:
                sv.state, sv.skip_reason = "skipped", e.reason
                sv.ended = "skipped"
            if self.waiting_index == sv.index:
                self.waiting_index = None
        elif isinstance(e, ev.RunFinished):
            self.finished = e
            self.waiting_index = None
            for sv in self.steps:
                if sv.state in ("running", "needs_you"):
                    # the run is over: a step the engine ended keeps how it ended; one it
                    # never ended (died mid-step) is unknown, never "running" in a summary
                    sv.state = sv.ended or "unknown"
        else:
            self.notes.append(e)

    def restore(self, events: Iterable[ev.Event], statuses: dict[str, str],
                asked_again: str | None = None) -> None:
        """Before a resumed run: replay the earlier run's events, then take ``statuses`` (from
        ``load_resume``) as the truth, so done steps show done and the step that was running
        when it died shows "unknown" — except ``asked_again``, a step that died at its typed
        confirmation: nothing ran (``load_resume`` proved it), so it is pending and asks
        again. Nothing is current or waiting afterwards. The journaled output is kept per
        step as a live run keeps it (the last ``KEEP_LINES`` lines of each node), and
        ``left_off`` names the step whose output the run screen shows first."""
        split = LineSplitter()
        started: list[str] = []
        for e in events:
            if isinstance(e, ev.RunStarted) and self.first_started is None:
                self.first_started = e
            step_id = getattr(e, "step_id", None)
            if step_id and step_id not in self._by_id:
                continue  # the runbook changed since: ignore steps it no longer has
            if isinstance(e, ev.OutputChunk):
                self.add_lines(e.step_id, e.node, split.feed(e.node, e.stream, e.text))
                continue
            if isinstance(e, ev.RunStarted | ev.RunFinished):
                continue
            if isinstance(e, ev.CommandFinished | ev.StepStarted):
                # a command's last line without a newline, and what a dead run left cut
                for node in (e.node,) if isinstance(e, ev.CommandFinished) else e.nodes:
                    self.add_lines(self.current or e.step_id, node, split.flush(node))
            if isinstance(e, ev.StepStarted):
                started.append(e.step_id)
            self.apply(e)
        if started:  # the run died in the middle of a line
            for node in self._by_id[started[-1]].nodes:
                self.add_lines(started[-1], node, split.flush(node))
        for step_id, status in statuses.items():
            sv = self._by_id.get(step_id)
            if sv is not None and not (sv.went_on and status == "skipped"):
                sv.state = status if status in STATE_LABELS else "unknown"
        for sv in self.steps:
            if sv.step.id == asked_again:
                sv.state = "pending"
                sv.results.clear()
            if sv.state in ("running", "needs_you"):
                sv.state = "unknown"
            sv.ended = "" if sv.state in ("pending", "next") else sv.state
            for r in sv.results.values():
                if r.status in ("running", "waiting"):
                    r.status = "unknown"
        self.current = None
        self.waiting_index = None
        self.finished = None
        self.left_off = next((sid for sid in reversed(started)
                              if self._by_id[sid].output or self._by_id[sid].results), None)

    def _result(self, step_id: str, node: str) -> NodeResult:
        sv = self._by_id[step_id]
        return sv.results.setdefault(node, NodeResult(node))

    def worst_finding(self, step_id: str, judged: Diagnosis | None = None, *,
                      whole: bool = False) -> str:
        """``critical``, ``warning`` or "" — a step that ran fine may still have found trouble.

        With the run's diagnosis (``judged``; ``whole``: the health check's, which read the
        whole cluster now), each finding reads as the diagnosis judged it
        (:meth:`Diagnosis.finding_now`): ``history`` when the worst it saw is a problem the
        cluster had earlier and no longer has."""
        sev = {judged.finding_now(f.step_id, f.node, f.severity, whole=whole)
               if judged is not None else f.severity
               for f in self.findings if f.step_id == step_id}
        return next((x for x in ("critical", "warning", "history") if x in sev), "")

    def summary(self) -> Summary:
        undone = not_kept_by_step(self.commit_events)
        # a change the nodes roll back ran "ok", but it is not done: say so on its line
        done = [s.step.title + (" — ran, NOT kept (the nodes roll it back)"
                                if s.id in undone else "")
                for s in self.steps if s.state in ("ok", "planned")]
        failed = [f"{s.step.title} ({s.label})" + _operator_reason(s) for s in self.steps
                  if (s.state in BAD_STATES or s.state == "unknown") and s.state != "declined"]
        declined = [f"{s.step.title} — {s.message}" if s.message else s.step.title
                    for s in self.steps if s.state == "declined"]
        skipped = [(s.step.title, s.skip_reason) for s in self.steps if s.state == "skipped"]
        not_reached = [s.step.title for s in self.steps if s.state in ("pending", "next")]
        risky: list[str] = []
        for s in self.steps:
            if s.step.destructive and s.attempt:
                typed = [c for c in self.confirmations if c.step_id == s.id]
                how = "; ".join(f"{c.what}: {'accepted' if c.accepted else 'refused'}"
                                + (f" (typed {c.typed!r} by {c.operator})" if c.typed else "")
                                for c in typed) or "no confirmation recorded"
                risky.append(f"{s.step.title} — {s.label}; {how}")
        for c in self.confirmations:
            if c.what == "checkpoint override" and c.accepted:
                risky.append(f"{self._by_id[c.step_id].step.title} — ran WITHOUT a verified "
                             f"backup (override typed by {c.operator})")
            if c.what == "guard override" and c.accepted:
                risky.append(f"{self._by_id[c.step_id].step.title} — guard SKIPPED by "
                             f"override (typed by {c.operator}: {c.reason})")
            if c.what == "contradicts facts" and c.accepted:
                risky.append(f"{self._by_id[c.step_id].step.title} — a value the run's facts "
                             f"contradict was USED DESPITE THE FACTS (typed by {c.operator})")
        fin = self.finished
        return Summary(stopped_by=self.stopped_by(),
                       status=fin.status if fin else "unfinished",
                       message=fin.message if fin else "", done=done, failed=failed,
                       skipped=skipped, not_reached=not_reached,
                       checkpoints=list(self.checkpoints), risky=risky,
                       duration=self._duration(), declined=declined,
                       not_kept=list(undone.values()))


    def _duration(self) -> float:
        """The run's time: from its journal's first start, as the report's Duration
        (report.py, ``end - rs.ts``) — a resumed run's own ``duration`` is its last part."""
        fin = self.finished
        if fin is None:
            return 0.0
        if self.first_started is not None:
            return max(fin.ts - self.first_started.ts, fin.duration)
        return fin.duration

    def stopped_by(self) -> str:
        """Who ended a run early, read off the last step's state and the engine's message:
        a guard or a failed checkpoint block a step ("blocked"), a refused confirmation or a
        "not done" manual step declines it (the operator), a failure routed to stop is
        "failure", everything else that aborts is the operator's choice."""
        fin = self.finished
        if fin is None or fin.status not in ("aborted", "failed"):
            return ""
        if fin.status == "failed":
            return "failure"
        last = next((s for s in reversed(self.steps) if s.state in ("blocked", "declined")),
                    None)
        if last is not None and last.state == "blocked":
            return "checkpoint" if "checkpoint" in last.message else "guard"
        return "operator"


def _operator_reason(sv: StepView) -> str:
    """`` — <reason>`` the operator typed when going on after the step failed (the run screen
    puts it before the engine's own "(operator skipped after …)"), else ""."""
    if not sv.went_on:
        return ""
    why = sv.skip_reason.split(" (operator skipped after", 1)[0].strip()
    return "" if not why or why.startswith("operator skipped after") else f" — {why}"


def declared_finding(step: Step, title: str) -> bool:
    """``title`` is the message of one of ``step``'s expectations with a severity: the
    runbook says this output is a fault (runbooks/README.md, ``[[steps.expect]]``)."""
    return any(x.severity and x.message == title for x in step.expect)


def marked(sv: StepView) -> bool:
    """A node of the step was marked with a finding (the step list and the step's header say
    "ok—findings" for it, never a plain ✔)."""
    return any(r.status == "findings" for r in sv.results.values())


def fmt_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    m, s = divmod(int(seconds), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


@dataclass(frozen=True)
class NodeRow:
    """One row of the run screen's node strip: one node, or several whose output is the same
    (``identical``) and whose result is the same."""

    nodes: tuple[str, ...]
    status: str
    exit_status: int | None
    duration: float
    last_line: str
    identical: bool = False


def node_rows(sv: StepView | None, nodes: list[str], now: float | None = None) -> list[NodeRow]:
    """The strip's rows for step ``sv`` over ``nodes`` (in cluster order): nodes that printed
    exactly the same lines and ended the same way share a row; a node the step does not
    target shows as "idle". Grouped rows keep the position of their first node."""
    if sv is None:
        return [NodeRow((n,), "idle", None, 0.0, "") for n in nodes]
    groups: dict[tuple[object, ...], list[str]] = {}
    order: list[tuple[object, ...]] = []
    for n in nodes:
        r = sv.results.get(n)
        lines = tuple(sv.output.get(n, ()))
        if r is None:
            key: tuple[object, ...] = ("idle", n)
        elif lines and r.done:
            key = ("same", r.status, r.exit_status, lines)
        else:
            key = ("one", n)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(n)
    rows = []
    for key in order:
        members = groups[key]
        first = members[0]
        r = sv.results.get(first)
        out = sv.output.get(first)
        last = next((x for x in reversed(out or ()) if x.strip()), "")
        if r is None:
            rows.append(NodeRow((first,), "idle", None, 0.0, ""))
            continue
        duration = max(sv.results[m].elapsed(now) for m in members)
        rows.append(NodeRow(tuple(members), r.status, r.exit_status, duration, last,
                            identical=len(members) > 1))
    return rows
