"""The headless face of the engine: prints events as text, asks decisions on the terminal.

Same engine, same events as the TUI. Without a terminal (CI, scripts) decisions come only from
flags (``--confirm``); anything not answered by a flag is refused, which is the safe default.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pverunbook.engine import events as ev
from pverunbook.engine.prompts import NOT_DONE
from pverunbook.run_diagnosis import (
    next_command,
    not_kept,
    run_status_words,
    skipped_after,
    step_status_label,
    went_on_label,
)
from pverunbook.terminal_decider import LEFT, TerminalDecider
from pverunbook.termwrap import cells, columns_of, wrap

__all__ = ["LEFT", "EventPrinter", "JsonPrinter", "TerminalDecider"]

#: What a ``quiet`` printer holds back until the step ends: its header, commands, output,
#: failed expectations and findings (the summary and the diagnosis say the findings again).
_HELD = (ev.StepStarted, ev.CommandStarted, ev.OutputChunk, ev.CommandFinished,
         ev.ExpectationResult, ev.Finding)

SEVERITY_MARK = {"ok": "OK  ", "info": "INFO", "warning": "WARN", "critical": "CRIT"}

#: The diagnosis lines a terminal wraps, by their prefix (the text after it wraps under it):
#: a fault, what to do, its evidence, what is fine. Never its "fix:" and "next:" commands.
_WRAPPED_DIAGNOSIS = re.compile(r" \d+\. |      do:   |      - |   fine: ")


class EventPrinter:
    """Prints node output line by line as ``node | text`` and one line per notable event.

    On a terminal, long lines wrap at its width with continuation lines under the text
    (``termwrap``): ``columns`` None asks the terminal at each event, 0 never wraps (the
    default when ``out`` is not a terminal: pipes and files get whole lines)."""

    def __init__(self, out: TextIO | None = None, width: int = 0, runbook: Any = None,
                 names_by_addr: dict[str, str] | None = None,
                 columns: int | None = None) -> None:
        self.out = out or sys.stdout
        self.partial: dict[tuple[str, str], str] = {}
        self.width = width
        #: the terminal width to wrap at (None: asked at each event), and this event's
        self.columns = columns
        self._cols = 0
        #: written before the next event's first line that is not empty, once (``journal
        #: show``'s time stamp); an event that prints nothing prints no stamp either
        self.stamp = ""
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
        #: the subcommand the operator typed: after ``run --rehearsal`` a "next:" says
        #: ``run RUNBOOK --rehearsal``, not ``rehearse RUNBOOK``
        self.command = ""
        #: the run's diagnosis once it ended: how each finding reads now (history or not)
        self.judged: Any = None
        #: one short line per step, node output only for a step that did not end ok (``check
        #: --headless`` without ``--verbose``: every command's output was ~5,000 lines); the
        #: journal and the report keep all of it
        self.quiet = False
        self._held = io.StringIO()
        self._number: dict[str, int] = {}
        #: (runbook id, params) → the ``--confirm`` answers that runbook may ask for, when no
        #: terminal can answer them (set by the command); a "next:" line says to add them
        self.next_confirms: Callable[[str, dict[str, Any]], list[str]] | None = None

    def seed(self, earlier: list[ev.Event]) -> None:
        """Take in, without printing them, the events a resumed run journaled before it was
        stopped: its diagnosis, summary and exit status are the whole run's, as its report's
        are. A resumed triage said "run ok" and exited 0 while the findings made before the
        Ctrl-C were critical."""
        out, self.out = self.out, io.StringIO()
        try:
            for e in earlier:
                self.events.append(e)
                if not isinstance(e, ev.RunFinished):  # the end of the earlier session only
                    self._print(e)
            self._flush_partials()
        finally:
            self.out, self.stamp = out, ""

    def _p(self, text: str = "") -> None:
        # Not flushed here: __call__ flushes once per event, so a flood of output costs one
        # write+flush per coalesced chunk, not per line (a terminal still sees every event).
        if text.strip("\n") and self.stamp:  # after the blank lines that open a section
            blank = len(text) - len(text.lstrip("\n"))
            text, self.stamp = text[:blank] + self.stamp + text[blank:], ""
        self.out.write(text + "\n")

    def _w(self, prefix: str, text: str, keep_quoted: bool = True) -> None:
        """``prefix + text`` as one line, wrapped on a terminal under the text; a quoted
        span (typed text) is never broken unless ``keep_quoted`` is False (node output)."""
        self._p(wrap(prefix, text, self._cols, cells(self.stamp), keep_quoted) if self._cols
                else prefix + text)

    def _flush_partials(self, node: str | None = None) -> None:
        for key in list(self.partial):
            if node is None or key[0] == node:
                rest = self.partial.pop(key)
                if rest:
                    self._line(key[0], key[1], rest)

    def _line(self, node: str, stream: str, text: str) -> None:
        mark = "!" if stream == "stderr" else "|"
        self._w(f"{node:>{self.width}} {mark} ", text, keep_quoted=False)

    def __call__(self, e: ev.Event) -> None:
        self.events.append(e)
        self._cols = columns_of(self.out) if self.columns is None else self.columns
        if self.quiet and isinstance(e, _HELD):
            self._hold(e)
        else:
            self._print(e)
        self.stamp = ""
        self.out.flush()

    def _print(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self.mode = e.mode
            self.width = max([len(n) for n in e.nodes] + [5])
            what = "resuming" if e.resumed else "running"
            self._w("== ", f"{what} {e.runbook_title} [{e.mode}] on {e.cluster}: "
                    f"{', '.join(e.nodes)} (run {e.run_id})")
        elif isinstance(e, ev.StepStarted):
            self.steps[e.step_id] = (e.title, "running")
            mark = " [DESTRUCTIVE]" if e.destructive else ""
            again = f" (attempt {e.attempt})" if e.attempt > 1 else ""
            self._p()
            self._w(f"-- step {e.index + 1}: ", f"{e.title}{mark}{again} "
                    f"-> {', '.join(e.nodes) or 'operator'}")
        elif isinstance(e, ev.CommandStarted):
            self._w(f"{e.node:>{self.width}} $ ", e.command, keep_quoted=False)
        elif isinstance(e, ev.OutputChunk):
            key = (e.node, e.stream)
            text = self.partial.pop(key, "") + e.text
            *lines, rest = text.split("\n")
            if lines:
                prefix = f"{e.node:>{self.width}} {'!' if e.stream == 'stderr' else '|'} "
                if self._cols:
                    self.out.write("".join(f"{wrap(prefix, line, self._cols)}\n"
                                           for line in lines))
                else:
                    self.out.write("".join(f"{prefix}{line}\n" for line in lines))
            if rest:
                self.partial[key] = rest
        elif isinstance(e, ev.CommandFinished):
            self._flush_partials(e.node)
            self._p(f"{e.node:>{self.width}} = {e.outcome} ({e.duration:.1f}s)")
        elif isinstance(e, ev.ExpectationResult):
            if not e.ok:
                self._w(f"{e.node:>{self.width}} ✗ ", f"check failed: {e.description}"
                        + (f": {e.message}" if e.message else ""))
        elif isinstance(e, ev.Finding):
            self.findings.append(e)
            where = f"{e.node}: " if e.node else ""
            self._w(f"   {SEVERITY_MARK.get(e.severity, e.severity.upper())} ", where + e.title)
            if e.detail and e.severity in ("warning", "critical"):
                self._w("        ", e.detail)
        elif isinstance(e, ev.GuardResult):
            state = "ok" if e.ok else ("warning" if e.warn_only else "BLOCKED")
            self._w("   ", f"guard {e.check}: {state} — {e.message}")
        elif isinstance(e, ev.CheckpointRequested):
            parts = list(e.files) + [f"sqlite:{s}" for s in e.sqlite] + \
                [f"output:{o}" for o in e.outputs]
            self._w("   ", f"checkpoint before this step on {', '.join(e.nodes)}: "
                    f"{', '.join(parts)}")
        elif isinstance(e, ev.CheckpointTaken):
            if e.ok:
                self._w("   ", f"checkpoint {e.checkpoint_id} verified ({len(e.items)} parts) "
                        f"-> {e.path}")
            else:
                self._w("   ", f"checkpoint FAILED: {'; '.join(e.problems)}")
        elif isinstance(e, ev.ConfirmationGiven):
            verdict = "accepted" if e.accepted else "refused"
            self._w("   ", f"{e.what}: {verdict}" + (f" ({e.reason})" if e.reason else ""))
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
                self._w("-- ", f"skipped {e.step_id}: {e.reason}")
        elif isinstance(e, ev.ValueProposed):
            self._w("   ", f"proposed {e.param} = {e.value} ({e.reason})")
        elif isinstance(e, ev.StepFinished):
            if self.quiet:  # the held output: shown for a step that did not end ok only
                out, self.out = self.out, self._held
                self._flush_partials()
                self.out, held, self._held = out, self._held.getvalue(), io.StringIO()
                if e.status not in ("ok", "skipped") and held:
                    self.out.write(held)
            self._flush_partials()
            title = self.steps.get(e.step_id, (e.step_id, ""))[0]
            # an advisory manual step answered "not done" is the operator's to do, not a
            # step passed over: the summary said "skipped" (the TUI's says "not done")
            not_done = e.status == "skipped" and e.message.startswith(NOT_DONE.split(" (")[0])
            self.steps[e.step_id] = (title, "not done (left to you)" if not_done else e.status)
            self.node_status[e.step_id] = dict(e.node_status)
            msg = f": {e.message}" if e.message and e.status != "ok" else ""
            label = step_status_label(e.status, self._worst(e.step_id))
            if self.quiet and e.step_id in self._number:  # its one line says which step
                self._w("-- ", f"step {self._number[e.step_id]} {e.step_id} ({title}): "
                        f"{label}{msg}")
            else:
                self._w("-- ", f"{e.step_id}: {label}{msg}")
        elif isinstance(e, ev.NodeConnection) and e.state == "unreachable":
            self._w("   ", f"{e.node}: NOT reachable, no step reads it: {e.message}")
        elif isinstance(e, ev.NodeConnection):
            self._w("   ", f"{e.node}: connection {e.state} {e.message}".rstrip())
        elif isinstance(e, ev.Note):
            self._w(f"   [{e.level}] ", e.text)
        elif isinstance(e, ev.RollbackTimer):
            self._p(f"   rollback timer on {e.node}: {ev.rollback_state(e)}"
                    + (f" — {e.message.strip()}"
                    if e.message.strip() and e.state != "fired" else ""))
        elif isinstance(e, ev.RunFinished):
            self._flush_partials()
            self._diagnosis()
            self._summary()
            msg = f" — {e.message}" if e.message else ""
            crit = sum(1 for now, _f in self._distinct() if now == "critical")
            status = run_status_words(e.status)
            if status == "ok" and not_kept(self.events):
                status = "ok — a change was NOT kept (its rollback timers undo it; see the summary)"
            elif status == "ok" and crit:
                # every check passed, but what they saw is not fine: never a bare "ok"
                status = f"ok — findings ({crit} critical, see the diagnosis)"
            self._p(f"\n== run {status}{msg} ({e.duration:.1f}s)")

    def _hold(self, e: ev.Event) -> None:
        """Print ``e`` into the running step's held text (``quiet``); a step that does not
        end ok shows it when it ends (:meth:`_print`, ``StepFinished``)."""
        if isinstance(e, ev.StepStarted):
            self._number[e.step_id] = e.index + 1
        out, self.out = self.out, self._held
        try:
            self._print(e)
        finally:
            self.out = out

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
                                     command=self.command,
                                     no_fault=said, confirms=self.next_confirms):
            wrapped = _WRAPPED_DIAGNOSIS.match(line)
            if wrapped:  # never "fix:" or "next:": commands to type stay whole lines
                self._w(wrapped.group(0), line[wrapped.end():])
            else:
                self._p(line)

    def final_line(self) -> str:
        """What to type now, for the very end of the output (:func:`final_next_line`)."""
        try:
            return final_next_line(self.events, self.judged, self.mode, self.next_suffix,
                                   self.command)
        except Exception:  # noqa: BLE001 - the run's own summary is already printed
            return ""

    def _distinct(self) -> list[tuple[str, ev.Finding]]:
        """The findings with their severity now, each (node, title) once: two steps that see
        the same fault (cluster-health-check's mount and write probes both find a node's
        missing /etc/pve/nodes directory) listed it twice in the summary and counted it twice
        in "findings (N critical)". The worse severity of the two is kept."""
        rank = {"critical": 0, "warning": 1}
        seen: dict[tuple[str | None, str], tuple[str, ev.Finding]] = {}
        for f in self.findings:
            now, key = self._now(f), (f.node, f.title.strip().rstrip("."))
            if key not in seen or rank.get(now, 2) < rank.get(seen[key][0], 2):
                seen[key] = (now, f)
        return list(seen.values())

    def _summary(self) -> None:
        """What an operator needs after scrolling past everything: problems, worst first."""
        bad = [(sid, t, s) for sid, (t, s) in self.steps.items()
               if s not in ("ok", "planned", "running")]
        serious = [(now, f) for now, f in self._distinct()
                   if f.severity in ("critical", "warning")]
        undone = not_kept(self.events)
        if not bad and not serious and not self.left and not undone:
            return
        self._p("\n== summary")
        for line in undone:  # its steps read "ok": say it before anything else
            self._w("   NOT KEPT: ", line)
        for sid, _text in self.left:  # the instructions were printed at the step
            self._w("   ", f"{LEFT} step {self._title(sid)} (manual; not confirmed as done)")
        order = {"critical": 0, "warning": 1}
        for now, f in sorted(serious, key=lambda x: order.get(x[0], 2)):
            where = f"{f.node}: " if f.node else ""
            if now == "history":
                self._w(f"   {SEVERITY_MARK['info']} ", f"{where}{f.title} (earlier, now fine)")
            else:
                self._w(f"   {SEVERITY_MARK.get(now, now.upper())} ", f"{where}{f.title}")
        for sid, title, status in bad:
            self._w("   ", f"step {sid} ({title}): {step_status_label(status, self._worst(sid))}")


def format_diagnosis(diag: Any, mode: str = "", next_suffix: str = "",
                     check: bool = False, no_fault: str = "",
                     confirms: Callable[[str, dict[str, Any]], list[str]] | None = None,
                     command: str = "") -> list[str]:
    """Text lines of a diagnosis: faults ranked, each with what to do and what to run next.

    ``next_suffix`` ends each "next:" command line (``--scenario X --state-dir DIR`` when a
    rehearsal keeps its simulated cluster, so the suggestion continues on the same one).
    ``check``: the health check's diagnosis, which says so when the cluster is healthy and
    numbers the faults in the order to fix them (network, database, configs, certificates).
    ``confirms``: the ``--confirm`` answers a next runbook may ask for when no terminal can
    answer (:meth:`TerminalDecider.may_ask`); printed under its "next:" line, since the command
    as printed would stop at its first question. ``command``: the subcommand the operator
    typed, which a "next:" command echoes (``run X --rehearsal`` after ``run --rehearsal``).
    """
    from pverunbook.pve.diagnosis.check import phase_of
    from pverunbook.pve.diagnosis.model import numbered
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.run_diagnosis import runbook_stops

    lines: list[str] = []
    if not diag.faults and not diag.matrix and not check:
        return lines
    # the first runbook named, and a fault it would stop on that no runbook fixes
    step = next_step(diag.faults, runbook_stops())
    lines.append("\n== diagnosis")
    if not diag.faults:  # no_fault: what an empty diagnosis means for this run
        lines.append(f"   {no_fault}" if no_fault else
                     "   HEALTHY: the check found no fault on any node" if check else
                     "   no fault found in the collected evidence")
    for i, f in numbered(diag.faults):
        mark = SEVERITY_MARK.get(f.severity, f.severity.upper()).strip()
        phase = f" [{phase_of(f.rule)}]" if check else ""
        num = f"{i}." if i is not None else " ·"  # what is only noted: no number
        lines.append(f" {num} {mark}{phase} {f.statement} [confidence: {f.confidence}]")
        lines.append(f"      do:   {f.action}")
        for m in f.manual:  # "look:" a look-up, "fix:" a change; a here-document from col 1
            head = f"      {m.kind + ':':<5} on {m.node}:"
            lines += ([head, *m.command.split("\n")] if "\n" in m.command
                      else [f"{head} {m.command}"])
        if f.next_runbook is not None:
            nr = f.next_runbook
            start = start_command(nr, mode, command)
            lines.append(f"      next: {nr.label()}  ->  {start}{next_suffix}")
            if f is step.fault and step.blocked:
                lines.append(f"            {step.first_words()}")
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


def start_command(nr: Any, mode: str, command: str = "") -> str:
    """The command that starts the proposed runbook ``nr`` in ``mode``, as the operator typed
    the last one (``run X --rehearsal`` after ``run --rehearsal``)."""
    start = next_command(nr.runbook, dict(nr.params), mode)
    head = f"pverunbook rehearse {nr.runbook}"
    if command == "run" and start.startswith(head):
        start = f"pverunbook run {nr.runbook} --rehearsal{start[len(head):]}"
    return start


def final_next_line(events: list[ev.Event], diag: Any, mode: str, next_suffix: str,
                    command: str = "") -> str:
    """The last line of a headless run: what to type now. After the health check, the
    runbook its ``next_runbook`` names (``check --json``'s), or that nothing is left; after
    any other runbook that ran to its end, the check again, which says what is left."""
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.run_diagnosis import runbook_stops

    fin = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
    if fin is None:
        return ""
    if _is_check(events):
        if diag is None:
            return ""
        step = next_step(diag.faults, runbook_stops())
        if step.fault is not None and step.fault.next_runbook is not None:
            nr = step.fault.next_runbook
            first = (f" (first by hand: {', '.join(f'#{n}' for n, _ in step.by_hand)})"
                     if step.blocked else "")
            return (f"next: {nr.label()}{first}  ->  "
                    f"{start_command(nr, mode, command)}{next_suffix}")
        if diag.faults:
            return "next: no runbook fixes what is left: fix the faults above by hand, " \
                   "then run the check again"
        return "next: nothing to fix: the cluster is healthy"
    if fin.status not in ("ok", "completed_with_failures") or mode not in ("rehearsal", "live"):
        return ""
    where = " --cluster CLUSTER.toml" if mode == "live" else ""
    return f"next: the health check, to see what is left  ->  pverunbook check{where}" \
           f"{next_suffix}"


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
        from pverunbook.pve.diagnosis.reach import NOT_CHECKED

        found = any(f.rule != NOT_CHECKED for f in diag.faults)
        record["status"] = "faults" if found else "incomplete" if diag.faults else "healthy"
    return record


def _is_check(events: list[ev.Event]) -> bool:
    from pverunbook.pve.diagnosis.check import CHECK_ID

    first = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    return first is not None and first.runbook_id == CHECK_ID
