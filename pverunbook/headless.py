"""The headless face of the engine: prints events as text, asks decisions on the terminal.

Same engine, same events as the TUI. Without a terminal (CI, scripts) decisions come only from
flags (``--confirm``); anything not answered by a flag is refused, which is the safe default.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    GUARD_OVERRIDE_PHRASE,
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    CheckpointFailure,
    ConfirmRequest,
    FailureChoice,
    GuardFailure,
    Refusal,
    StepAction,
    StepDecision,
)
from pverunbook.run_diagnosis import (
    next_command,
    not_kept,
    run_status_words,
    skipped_after,
    step_status_label,
    went_on_label,
)
from pverunbook.runbook.model import Param, Step, StepKind
from pverunbook.runbook.template import render_plain

#: How the reason of an advisory manual step skipped headless begins (the summary lists them).
LEFT = "left for the operator:"

SEVERITY_MARK = {"ok": "OK  ", "info": "INFO", "warning": "WARN", "critical": "CRIT"}


class EventPrinter:
    """Prints node output line by line as ``node | text`` and one line per notable event."""

    def __init__(self, out: TextIO | None = None, width: int = 0, runbook: Any = None,
                 names_by_addr: dict[str, str] | None = None) -> None:
        self.out = out or sys.stdout
        self.partial: dict[tuple[str, str], str] = {}
        self.width = width
        self.steps: dict[str, tuple[str, str]] = {}
        #: each step's result per node (step_finished), for a failed-then-skipped step's line
        self.node_status: dict[str, dict[str, str]] = {}
        self.findings: list[ev.Finding] = []
        #: every event of the run, for the diagnosis at the end
        self.events: list[ev.Event] = []
        #: (step id, instructions) of manual steps left for the operator (headless)
        self.left: list[tuple[str, str]] = []
        self.runbook = runbook
        self.names_by_addr = names_by_addr or {}
        self.mode = ""
        #: appended to every "next:" command (a rehearsal's --scenario/--state-dir)
        self.next_suffix = ""
        #: the run's diagnosis once it ended: how each finding reads now (history or not)
        self.judged: Any = None
        #: (runbook id, params) → the ``--confirm`` answers that runbook may ask for, when no
        #: terminal can answer them (set by the command); a "next:" line says to add them
        self.next_confirms: Callable[[str, dict[str, Any]], list[str]] | None = None

    def _p(self, text: str = "") -> None:
        # Not flushed here: __call__ flushes once per event, so a flood of output costs one
        # write+flush per coalesced chunk, not per line (a terminal still sees every event).
        self.out.write(text + "\n")

    def _flush_partials(self, node: str | None = None) -> None:
        for key in list(self.partial):
            if node is None or key[0] == node:
                rest = self.partial.pop(key)
                if rest:
                    self._line(key[0], key[1], rest)

    def _line(self, node: str, stream: str, text: str) -> None:
        mark = "!" if stream == "stderr" else "|"
        self._p(f"{node:>{self.width}} {mark} {text}")

    def __call__(self, e: ev.Event) -> None:
        self.events.append(e)
        self._print(e)
        self.out.flush()

    def _print(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self.mode = e.mode
            self.width = max([len(n) for n in e.nodes] + [5])
            what = "resuming" if e.resumed else "running"
            self._p(f"== {what} {e.runbook_title} [{e.mode}] on {e.cluster}: "
                    f"{', '.join(e.nodes)} (run {e.run_id})")
        elif isinstance(e, ev.StepStarted):
            self.steps[e.step_id] = (e.title, "running")
            mark = " [DESTRUCTIVE]" if e.destructive else ""
            again = f" (attempt {e.attempt})" if e.attempt > 1 else ""
            self._p(f"\n-- step {e.index + 1}: {e.title}{mark}{again} "
                    f"-> {', '.join(e.nodes) or 'operator'}")
        elif isinstance(e, ev.CommandStarted):
            self._p(f"{e.node:>{self.width}} $ {e.command}")
        elif isinstance(e, ev.OutputChunk):
            key = (e.node, e.stream)
            text = self.partial.pop(key, "") + e.text
            *lines, rest = text.split("\n")
            if lines:
                prefix = f"{e.node:>{self.width}} {'!' if e.stream == 'stderr' else '|'} "
                self.out.write("".join(f"{prefix}{line}\n" for line in lines))
            if rest:
                self.partial[key] = rest
        elif isinstance(e, ev.CommandFinished):
            self._flush_partials(e.node)
            self._p(f"{e.node:>{self.width}} = {e.outcome} ({e.duration:.1f}s)")
        elif isinstance(e, ev.ExpectationResult):
            if not e.ok:
                self._p(f"{e.node:>{self.width}} ✗ check failed: {e.description}"
                        + (f": {e.message}" if e.message else ""))
        elif isinstance(e, ev.Finding):
            self.findings.append(e)
            where = f"{e.node}: " if e.node else ""
            self._p(f"   {SEVERITY_MARK.get(e.severity, e.severity.upper())} {where}{e.title}")
            if e.detail and e.severity in ("warning", "critical"):
                self._p(f"        {e.detail}")
        elif isinstance(e, ev.GuardResult):
            state = "ok" if e.ok else ("warning" if e.warn_only else "BLOCKED")
            self._p(f"   guard {e.check}: {state} — {e.message}")
        elif isinstance(e, ev.CheckpointRequested):
            parts = list(e.files) + [f"sqlite:{s}" for s in e.sqlite] + \
                [f"output:{o}" for o in e.outputs]
            self._p(f"   checkpoint before this step on {', '.join(e.nodes)}: {', '.join(parts)}")
        elif isinstance(e, ev.CheckpointTaken):
            if e.ok:
                self._p(f"   checkpoint {e.checkpoint_id} verified ({len(e.items)} parts) "
                        f"-> {e.path}")
            else:
                self._p(f"   checkpoint FAILED: {'; '.join(e.problems)}")
        elif isinstance(e, ev.ConfirmationGiven):
            verdict = "accepted" if e.accepted else "refused"
            self._p(f"   {e.what}: {verdict}" + (f" ({e.reason})" if e.reason else ""))
        elif isinstance(e, ev.StepSkipped):
            if e.reason.startswith(LEFT):
                self.left.append((e.step_id, e.reason.removeprefix(LEFT).strip()))
                self._p(f"-- {e.step_id}: {LEFT[:-1]}")
            elif skipped_after(e):  # it ran and failed: never "skipped"
                label = went_on_label(skipped_after(e), self.node_status.get(e.step_id, {}))
                title = self.steps.get(e.step_id, (e.step_id, ""))[0]
                self.steps[e.step_id] = (title, label)
                self._p(f"-- {e.step_id}: {label}")
            else:
                self._p(f"-- skipped {e.step_id}: {e.reason}")
        elif isinstance(e, ev.ValueProposed):
            self._p(f"   proposed {e.param} = {e.value} ({e.reason})")
        elif isinstance(e, ev.StepFinished):
            self._flush_partials()
            title = self.steps.get(e.step_id, (e.step_id, ""))[0]
            self.steps[e.step_id] = (title, e.status)
            self.node_status[e.step_id] = dict(e.node_status)
            msg = f": {e.message}" if e.message and e.status != "ok" else ""
            self._p(f"-- {e.step_id}: {step_status_label(e.status, self._worst(e.step_id))}"
                    f"{msg}")
        elif isinstance(e, ev.NodeConnection):
            self._p(f"   {e.node}: connection {e.state} {e.message}".rstrip())
        elif isinstance(e, ev.Note):
            self._p(f"   [{e.level}] {e.text}")
        elif isinstance(e, ev.RollbackTimer):
            self._p(f"   rollback timer on {e.node}: {e.state}" + (f" — {e.message.strip()}"
                    if e.message.strip() and e.state != "fired" else ""))
        elif isinstance(e, ev.RunFinished):
            self._flush_partials()
            self._diagnosis()
            self._summary()
            msg = f" — {e.message}" if e.message else ""
            crit = sum(1 for f in self.findings if self._now(f) == "critical")
            status = run_status_words(e.status)
            if status == "ok" and not_kept(self.events):
                status = "ok — a change was NOT kept (its rollback timers undo it; see the summary)"
            elif status == "ok" and crit:
                # every check passed, but what they saw is not fine: never a bare "ok"
                status = f"ok — findings ({crit} critical, see the diagnosis)"
            self._p(f"\n== run {status}{msg} ({e.duration:.1f}s)")

    def _title(self, step_id: str) -> str:
        """``id (Title)`` of a step, from the runbook when it never started."""
        steps = getattr(self.runbook, "steps", None) or []
        title = next((s.title for s in steps if s.id == step_id), "")
        return f"{step_id} ({title})" if title else step_id

    def _now(self, f: ev.Finding) -> str:
        """``f``'s severity as the run's diagnosis judged it (``history``: earlier, now
        fine); its own before the diagnosis is known."""
        if self.judged is None:
            return f.severity
        return str(self.judged.finding_now(f.step_id, f.node, f.severity,
                                           whole=_is_check(self.events)))

    def _worst(self, step_id: str) -> str:
        sev = {self._now(f) for f in self.findings if f.step_id == step_id}
        return next((s for s in ("critical", "warning") if s in sev), "")

    def _diagnosis(self) -> None:
        """The expert's synthesis before the list of problems: faults, ranked, with next steps."""
        from pverunbook.run_diagnosis import diagnose_run

        try:
            _, diag = diagnose_run(self.events, self.runbook, self.names_by_addr)
        except Exception as exc:  # noqa: BLE001 - never lose the summary to a diagnosis bug
            self._p(f"\n== diagnosis unavailable: {exc}")
            return
        self.judged = diag
        from pverunbook.run_diagnosis import no_fault_text

        check = _is_check(self.events)
        said = no_fault_text(self.events, self.runbook, check)
        if said.startswith("The cluster is healthy"):
            said = "HEALTHY: the check found no fault on any node"
        for line in format_diagnosis(diag, self.mode, self.next_suffix, check=check,
                                     no_fault=said, confirms=self.next_confirms):
            self._p(line)

    def _summary(self) -> None:
        """What an operator needs after scrolling past everything: problems, worst first."""
        bad = [(sid, t, s) for sid, (t, s) in self.steps.items()
               if s not in ("ok", "planned", "running")]
        serious = [(self._now(f), f) for f in self.findings
                   if f.severity in ("critical", "warning")]
        undone = not_kept(self.events)
        if not bad and not serious and not self.left and not undone:
            return
        self._p("\n== summary")
        for line in undone:  # its steps read "ok": say it before anything else
            self._p(f"   NOT KEPT: {line}")
        for sid, _text in self.left:  # the instructions were printed at the step
            self._p(f"   {LEFT} step {self._title(sid)} (manual; not confirmed as done)")
        order = {"critical": 0, "warning": 1}
        for now, f in sorted(serious, key=lambda x: order.get(x[0], 2)):
            where = f"{f.node}: " if f.node else ""
            if now == "history":
                self._p(f"   {SEVERITY_MARK['info']} {where}{f.title} (earlier, now fine)")
            else:
                self._p(f"   {SEVERITY_MARK.get(now, now.upper())} {where}{f.title}")
        for sid, title, status in bad:
            self._p(f"   step {sid} ({title}): {step_status_label(status, self._worst(sid))}")


def format_diagnosis(diag: Any, mode: str = "", next_suffix: str = "",
                     check: bool = False, no_fault: str = "",
                     confirms: Callable[[str, dict[str, Any]], list[str]] | None = None
                     ) -> list[str]:
    """Text lines of a diagnosis: faults ranked, each with what to do and what to run next.

    ``next_suffix`` ends each "next:" command line (``--scenario X --state-dir DIR`` when a
    rehearsal keeps its simulated cluster, so the suggestion continues on the same one).
    ``check``: the health check's diagnosis, which says so when the cluster is healthy and
    numbers the faults in the order to fix them (network, database, configs, certificates).
    ``confirms``: the ``--confirm`` answers a next runbook may ask for when no terminal can
    answer (:meth:`TerminalDecider.may_ask`); printed under its "next:" line, since the command
    as printed would stop at its first question.
    """
    from pverunbook.pve.diagnosis.check import phase_of

    lines: list[str] = []
    if not diag.faults and not diag.matrix and not check:
        return lines
    lines.append("\n== diagnosis")
    if not diag.faults:  # no_fault: what an empty diagnosis means for this run
        lines.append(f"   {no_fault}" if no_fault else
                     "   HEALTHY: the check found no fault on any node" if check else
                     "   no fault found in the collected evidence")
    for i, f in enumerate(diag.faults, 1):
        mark = SEVERITY_MARK.get(f.severity, f.severity.upper()).strip()
        phase = f" [{phase_of(f.rule)}]" if check else ""
        lines.append(f" {i}. {mark}{phase} {f.statement} [confidence: {f.confidence}]")
        lines.append(f"      do:   {f.action}")
        for m in f.manual:
            lines.append(f"      fix:  on {m.node}: {m.command}")
        if f.next_runbook is not None:
            nr = f.next_runbook
            lines.append(f"      next: {nr.label()}  ->  "
                         f"{next_command(nr.runbook, dict(nr.params), mode)}{next_suffix}")
            asks = confirms(nr.runbook, dict(nr.params)) if confirms is not None else []
            if asks:  # not added to the command: each is a decision to read first
                lines.append("            (no terminal answers its questions: add "
                             + " ".join(f"--confirm {a}" for a in asks)
                             + " for those you agree to, or run it at a terminal)")
        for e in f.evidence[:6]:
            where = "/".join(x for x in (e.node or "", e.step_id) if x)
            line = f": {e.line}" if e.line and e.line not in e.what else ""
            lines.append(f"      - {e.what} ({where}){line}"[:220])
        if len(f.evidence) > 6:
            lines.append(f"      - … {len(f.evidence) - 6} more in the report")
    if diag.matrix:
        lines.append("\n   links (row measures column; ↓N = times the knet link went down):")
        widths = [max(len(r[i]) for r in diag.matrix) for i in range(len(diag.matrix[0]))]
        for row in diag.matrix:
            lines.append("   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                         .rstrip())
    for h in diag.healthy:
        lines.append(f"   fine: {h}")
    return lines


class JsonPrinter:
    """``--json``: one JSON object per event (the journal's format), then one ``diagnosis``
    object holding the run's facts and ranked faults, for automation."""

    def __init__(self, out: TextIO | None = None, runbook: Any = None,
                 names_by_addr: dict[str, str] | None = None) -> None:
        self.out = out or sys.stdout
        self.events: list[ev.Event] = []
        self.runbook = runbook
        self.names_by_addr = names_by_addr or {}
        self.next_suffix = ""  # the text printer's; JSON carries the runbook and params

    def _write(self, record: dict[str, Any]) -> None:
        import json

        self.out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def __call__(self, e: ev.Event) -> None:
        self.events.append(e)
        self._write(e.to_dict())
        if isinstance(e, ev.RunFinished):
            self._write(diagnosis_record(self.events, self.runbook, self.names_by_addr))


def diagnosis_record(events: list[ev.Event], runbook: Any = None,
                     names_by_addr: dict[str, str] | None = None) -> dict[str, Any]:
    """``{"kind": "diagnosis", "facts": [...], "faults": [...], "healthy": [...],
    "matrix": [...]}`` of a run (the shape ``--json`` prints last)."""
    from pverunbook.run_diagnosis import diagnose_run

    store, diag = diagnose_run(events, runbook, names_by_addr)
    record: dict[str, Any] = {"kind": "diagnosis", "facts": store.to_json(), **diag.to_json()}
    if _is_check(events):
        from pverunbook.pve.diagnosis.check import phase_of

        # the health check: each fault's phase (the order to fix in), and a verdict a script
        # can test without reading every fault
        for i, f in enumerate(record["faults"]):
            f["phase"] = phase_of(str(f["rule"]))
            f["order"] = i + 1
        record["status"] = "healthy" if not diag.faults else "faults"
    return record


def _is_check(events: list[ev.Event]) -> bool:
    from pverunbook.pve.diagnosis.check import CHECK_ID

    first = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    return first is not None and first.runbook_id == CHECK_ID


class TerminalDecider:
    """Asks on the terminal when there is one; otherwise answers only from flags."""

    def __init__(self, confirm_text: str | list[str] | None = None,
                 interactive: bool | None = None, out: TextIO | None = None,
                 override: str | None = None,
                 guard_overrides: dict[str, str] | None = None) -> None:
        #: ``--override-checkpoint``: typed for the operator when a checkpoint fails and no
        #: terminal can ask (the engine still checks it against the phrase)
        self.override = override
        #: ``--override-guard STEP_ID=REASON``: go past that failed guard (guard_skip.py)
        self.guard_overrides = dict(guard_overrides or {})
        texts = [confirm_text] if isinstance(confirm_text, str) else list(confirm_text or [])
        self.confirm_texts = texts
        self.confirm_text = texts[0] if texts else None
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.out = out or sys.stdout
        #: the runbook being run (set by the command): which manual steps gate destructive ones
        self.runbook: Any = None
        #: the values a manual step's instructions are filled with (parameters, cluster)
        self.context: dict[str, Any] = {}
        self.dry_run = False
        #: ids of the advisory manual steps left for the operator (no terminal)
        self.left: list[str] = []

    async def _ask(self, prompt: str) -> str | None:
        if not self.interactive:
            return None
        self.out.write(prompt)
        self.out.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        return None if line == "" else line.rstrip("\n")

    async def before_step(self, step: Step, index: int) -> StepDecision:
        """Without a terminal, an advisory manual step (nothing destructive after it, no
        person needed) is left for the operator, reported, and the run goes on: a read-only
        triage no longer ends "aborted" at its "check the cables" step. Given ``--confirm
        STEP_ID`` it is recorded as done instead (:meth:`manual_done`)."""
        if (step.kind is not StepKind.MANUAL or self.interactive or self.dry_run
                or step.needs_person or step.id in self.confirm_texts
                or self.runbook is None or self.gated_by(index)):  # unknown: not advisory
            return StepDecision()
        text = render_plain(step.instructions, self.context).strip()
        self.out.write(f"\n   MANUAL: {text}\n   (no terminal to confirm it: left for the "
                       "operator, and nothing destructive in this runbook depends on it; "
                       f"add --confirm {step.id} to record it as done)\n")
        self.left.append(step.id)
        return StepDecision(StepAction.SKIP, reason=f"{LEFT} {' '.join(text.split())}")

    def gated_by(self, index: int) -> list[str]:
        """The destructive steps after step ``index``: a manual step before them gates them
        (its work must be done before they run), so headless it needs an explicit answer."""
        steps = self.runbook.steps if self.runbook is not None else []
        return [s.id for s in steps[index + 1:] if s.destructive]

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.out.write(f"\n   {request.prompt}\n")
        if request.checkpoint_id:
            self.out.write(f"   checkpoint taken: {request.checkpoint_id}\n")
        elif request.checkpoint is not None:
            self.out.write("   the checkpoint is being taken now; the step runs only once it "
                           "is verified\n")
        if request.what == "commit" and (self.confirm_texts or not self.interactive) \
                and request.expected not in self.confirm_texts:
            # Refused, typing nothing: another confirmation's --confirm answer is not the
            # operator's answer to COMMIT (the journal said "typed 'nyc'" at the COMMIT).
            self.out.write(f"   (no --confirm {request.expected} was given, so this is "
                           "refused; the change is rolled back when its timer fires: to "
                           f"answer it headless, add --confirm {request.expected})\n")
            return Refusal(f"no --confirm {request.expected} was given")
        if self.confirm_texts:
            # Only text the operator gave on the command line is ever typed for them; a
            # confirmation asking for anything else gets the first one and is refused.
            typed = request.expected if request.expected in self.confirm_texts \
                else self.confirm_texts[0]
            self.out.write(f"   (answered by --confirm: {typed!r})\n")
            if typed != request.expected:
                then = ("; the change is rolled back when its timer fires"
                        if request.what == "commit" else "")
                self.out.write(f"   (no --confirm {request.expected} was given, so this is "
                               f"refused{then}: to answer it headless, add --confirm "
                               f"{request.expected})\n")
            return typed
        if not self.interactive:
            self.out.write(f"   (no terminal to type it: to answer it headless, add --confirm "
                           f"{request.expected})\n")
            return None
        return await self._ask(f"   type {request.expected!r} to go ahead: ")

    async def manual_done(self, step: Step, instructions: str) -> bool:
        """A manual step reached without a terminal is done only on ``--confirm STEP_ID``
        (never on a cluster or node name given for a typed confirmation), and never for a
        step that needs a person at the nodes (``needs_person``): those stop the run, to be
        resumed at a terminal. Advisory ones never get here headless (:meth:`before_step`)."""
        self.out.write(f"\n   MANUAL: {instructions.strip()}\n")
        if not self.interactive:
            if step.needs_person:
                self.out.write(f"   '{step.id}' needs a person: --confirm does not answer it. "
                               "Do the work above, then resume this run at a terminal "
                               f"(`{self.resume_command()}`) "
                               "(without --confirm) and confirm it there.\n")
                return False
            if step.id in self.confirm_texts:
                self.out.write(f"   (done: answered by --confirm {step.id})\n")
                return True
            gated = self.gated_by(self.index_of(step))
            why = (f"it comes before the destructive step(s) {', '.join(gated)}" if gated
                   else "nothing tells whether later steps depend on it")
            self.out.write(f"   (no terminal to confirm it and no --confirm {step.id}, and "
                           f"{why}: the run stops here; do the work above, then "
                           f"`{self.resume_command()} --confirm {step.id}`, or resume at a "
                           "terminal)\n")
            return False
        answer = await self._ask("   confirm, done? [y/N] ")
        return (answer or "").strip().lower() in ("y", "yes")

    def may_ask(self, cluster: Any, values: dict[str, Any]) -> list[tuple[str, str]]:
        """Every ``--confirm`` answer this runbook may ask for, as (flag value, step id), in
        step order: a typed confirmation (the node or cluster name it will ask for, or its
        phrase), COMMIT for a ``commit_within`` step, the id of a manual step that gates a
        destructive one. Without a terminal they used to be found one failed run at a time.

        Mirrors the engine's own choice (``engine.targets.confirm_expected``, the engine's
        ``_run_step``): a target known only once an earlier step ran is shown as ``NODE``."""
        from pverunbook.engine.targets import TargetError, confirm_expected, resolve_targets

        out: list[tuple[str, str]] = []
        steps = self.runbook.steps if self.runbook is not None else []
        for i, step in enumerate(steps):
            if step.kind is StepKind.MANUAL and not step.needs_person and self.gated_by(i):
                out.append((step.id, step.id))
            if step.destructive or step.confirm is not None:
                try:
                    nodes = resolve_targets(step, cluster, values)
                    expected = confirm_expected(step, cluster, nodes)
                except TargetError:
                    expected = cluster.name if step.confirm == "cluster" else \
                        step.confirm if step.confirm not in (None, "node") else "NODE"
                default = cluster.name if step.destructive else "yes"
                out.append((expected or default, step.id))
            if step.commit_within is not None:
                out.append(("COMMIT", step.id))
        return out

    def announce(self, cluster: Any, values: dict[str, Any]) -> None:
        """Without a terminal, say once before the first step which ``--confirm`` answers the
        run may need and which of them were not given (a run that reaches an unanswered one
        stops there or leaves it to the operator)."""
        if self.interactive or self.dry_run:
            return
        asks = self.may_ask(cluster, values)
        missing = [(v, s) for v, s in asks if v not in self.confirm_texts]
        if not missing:
            return
        steps: dict[str, list[str]] = {}
        for v, s in missing:
            steps.setdefault(v, []).append(s)
        listed = ", ".join(f"--confirm {v} (step{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
                           for v, ids in steps.items())
        node = " (NODE: the name of the node it targets, known once an earlier step chose " \
            "it)" if any(v == "NODE" for v, _ in missing) else ""
        self.out.write(f"this run may ask for: {listed}; no terminal can answer them, so add "
                       f"those you agree to{node}\n")

    def resume_command(self) -> str:
        """``pverunbook run --resume RUN`` (with ``--state-dir`` when one is in force): the
        command that continues this run, for the messages that say to resume it."""
        from pverunbook.statedir import chosen_args

        return f"pverunbook run --resume {self.context.get('run_id') or 'RUN'}{chosen_args()}"

    def index_of(self, step: Step) -> int:
        steps = self.runbook.steps if self.runbook is not None else []
        return next((i for i, s in enumerate(steps) if s.id == step.id), len(steps))

    async def ask_params(self, step: Step, params: list[Param],
                         current: dict[str, Any]) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for p in params:
            have = current.get(p.name, p.default)
            if not self.interactive:
                if have is None:
                    self.out.write(f"   no value for '{p.name}': pass --set {p.name}=VALUE\n")
                    return None
                values[p.name] = have
                continue
            shown = "" if have is None else f" [{'***' if p.secret else have}]"
            answer = await self._ask(f"   {p.prompt}{shown}: ")
            if answer is None:
                return None
            values[p.name] = answer if answer != "" else have
        return values

    async def after_failure(self, step: Step, status: str) -> FailureChoice:
        if not self.interactive:
            if step.id in self.guard_overrides:
                return FailureChoice.SKIP
            later = self.guarded(step)
            if later and step.on_failure.action.value == "stop":
                self.out.write(f"   '{step.id}' guards the destructive step(s) "
                               f"{', '.join(later)}: the run stops here. Fix what it found "
                               "and resume; to go past it anyway (never on a real cluster "
                               f"without checking by hand): --override-guard {step.id}=REASON\n")
            return FailureChoice.FOLLOW_RUNBOOK
        answer = await self._ask(f"   '{step.id}' {status}. [f]ollow runbook ({step.on_failure}), "
                                 "[r]e-run, [s]kip, [a]bort? ")
        return {"r": FailureChoice.RERUN, "s": FailureChoice.SKIP,
                "a": FailureChoice.ABORT}.get((answer or "f")[:1].lower(),
                                              FailureChoice.FOLLOW_RUNBOOK)

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        self.out.write("   the checkpoint failed, so the destructive step is blocked:\n")
        for p in failure.problems:
            self.out.write(f"     - {p}\n")
        if not self.interactive and self.override is not None:
            self.out.write("   (override typed by --override-checkpoint)\n")
            return Answer(CheckpointChoice.OVERRIDE, text=self.override)
        answer = await self._ask("   [r]etry, [a]bort, or [o]verride? ")
        choice = (answer or "a")[:1].lower()
        if choice == "r":
            return Answer(CheckpointChoice.RETRY)
        if choice == "o":
            typed = await self._ask(f"   type '{OVERRIDE_PHRASE}': ")
            return Answer(CheckpointChoice.OVERRIDE, text=typed or "")
        return Answer(CheckpointChoice.ABORT)

    def guarded(self, step: Step) -> list[str]:
        """The destructive steps ``step`` guards (engine/guard_skip.py), by id."""
        from pverunbook.engine.guard_skip import guarded_by

        if self.runbook is None:
            return []
        return [s.id for s in guarded_by(self.runbook, self.index_of(step))]

    async def guard_failed(self, failure: GuardFailure) -> Answer | None:
        """Going past a failed guard: ``--override-guard STEP_ID=REASON`` without a terminal,
        else the phrase and a reason typed here; nothing (None) goes back."""
        step = failure.step
        self.out.write(f"   ⚠ '{step.id}' {failure.status} and guards the destructive step(s) "
                       f"{', '.join(failure.guarded)}: going past it needs the phrase "
                       f"'{GUARD_OVERRIDE_PHRASE}' and a reason (journaled, in the report)\n")
        if not self.interactive:
            reason = self.guard_overrides.get(step.id)
            if reason is None:
                self.out.write(f"   (no --override-guard {step.id}=REASON: not skipped)\n")
                return None
            self.out.write(f"   (override typed by --override-guard {step.id}: {reason})\n")
            return Answer(CheckpointChoice.OVERRIDE, text=GUARD_OVERRIDE_PHRASE, reason=reason)
        typed = await self._ask(f"   type '{GUARD_OVERRIDE_PHRASE}' (anything else: back): ")
        if (typed or "").strip() != GUARD_OVERRIDE_PHRASE:
            return None
        reason = await self._ask("   why is it safe to go on without it? ")
        return Answer(CheckpointChoice.OVERRIDE, text=(typed or "").strip(), reason=reason or "")

    async def unknown_outcome(self, step: Step) -> FailureChoice:
        self.out.write(f"   step '{step.id}' was running when the last run stopped; its outcome "
                       "is unknown.\n")
        answer = await self._ask("   [r]e-run it, [s]kip it, or [a]bort? ")
        if answer is None:
            self.out.write("   no terminal to ask: stopping here (nothing re-run).\n")
            return FailureChoice.ABORT
        return {"r": FailureChoice.RERUN, "s": FailureChoice.SKIP}.get(
            answer[:1].lower(), FailureChoice.ABORT)

    async def connection_lost(self, node: str, step: Step) -> bool:
        answer = await self._ask(f"   connection to {node} lost. Reconnect? [Y/n] ")
        return answer is not None and answer.strip().lower() in ("", "y", "yes")
