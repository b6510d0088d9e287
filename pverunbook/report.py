"""The incident report: a Markdown post-mortem draft rebuilt from a run's journal.

Operators write these by hand after an outage (see the story this tool was born from); most of
what they need is already in the journal: what ran where and when, what it printed, what was
checked, backed up, confirmed or overridden. The draft lays that out in the order a reviewer
reads it — summary, timeline, steps, open items, follow-ups — and is redacted once more as a
whole, so a secret that slipped into any event never reaches the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pverunbook import report_rollback
from pverunbook.engine import events as ev
from pverunbook.engine.journal import Redactor
from pverunbook.report_text import cell as _cell
from pverunbook.report_text import clock as _clock
from pverunbook.report_text import code as _code
from pverunbook.report_text import dur as _dur
from pverunbook.report_text import effective_params as _effective_params
from pverunbook.report_text import fence as _fence
from pverunbook.report_text import trim_output, value_text
from pverunbook.report_text import ts as _ts
from pverunbook.report_text import where as _where
from pverunbook.run_diagnosis import (
    not_kept,
    skipped_after,
    step_status_label,
    went_on_label,
)

if TYPE_CHECKING:
    from pverunbook.pve.diagnosis import Diagnosis

OK_STATUSES = ("ok", "planned", "skipped")
SEVERITY_ORDER = ("critical", "error", "warning", "info")
RESTORE_PREFIX = "restore of checkpoint "


@dataclass
class _Command:
    started: ev.CommandStarted
    finished: ev.CommandFinished | None = None
    output: list[str] = field(default_factory=list)


@dataclass
class _Step:
    step_id: str
    title: str = ""
    index: int | None = None
    destructive: bool = False
    attempts: list[ev.StepStarted] = field(default_factory=list)
    finished: list[ev.StepFinished] = field(default_factory=list)
    skipped: list[ev.StepSkipped] = field(default_factory=list)
    commands: dict[str, list[_Command]] = field(default_factory=dict)
    stray_output: dict[str, list[str]] = field(default_factory=dict)
    expectations: list[ev.ExpectationResult] = field(default_factory=list)
    findings: list[ev.Finding] = field(default_factory=list)
    guards: list[ev.GuardResult] = field(default_factory=list)
    checkpoints: list[ev.CheckpointTaken] = field(default_factory=list)
    requested: list[ev.CheckpointRequested] = field(default_factory=list)
    confirmations: list[ev.ConfirmationGiven] = field(default_factory=list)
    notes: list[ev.Note] = field(default_factory=list)
    params: list[ev.ParamsSet] = field(default_factory=list)

    @property
    def went_on(self) -> str:
        """The status the step ended with before the operator skipped it to go on ("" if
        the last word on it is not such a skip): it ran, so it is not "skipped"."""
        if self.skipped and self.finished and self.skipped[-1].ts >= self.finished[-1].ts \
                and (not self.attempts or self.attempts[-1].ts <= self.finished[-1].ts):
            return skipped_after(self.skipped[-1])
        return ""

    @property
    def label(self) -> str:
        """The status for a heading: a failed-then-skipped step says where it ran and failed."""
        if self.went_on:
            return went_on_label(self.went_on, self.finished[-1].node_status)
        return self.status

    @property
    def status(self) -> str:
        if self.attempts and (not self.finished or self.finished[-1].ts < self.attempts[-1].ts):
            if self.skipped and self.skipped[-1].ts > self.attempts[-1].ts:
                return "skipped"
            return "unknown (interrupted)"
        if self.went_on:
            return self.finished[-1].status
        if self.finished and (not self.skipped or self.finished[-1].ts >= self.skipped[-1].ts):
            return self.finished[-1].status
        if self.skipped:
            return "skipped"
        return "not reached"


class _Run:
    def __init__(self, events: Iterable[ev.Event]) -> None:
        self.events = list(events)
        self.started: ev.RunStarted | None = None
        self.runs: list[ev.RunStarted] = []
        self.finished: list[ev.RunFinished] = []
        self.steps: dict[str, _Step] = {}
        self.connections: list[ev.NodeConnection] = []
        self.pauses: list[ev.RunPaused] = []
        self.restores: list[ev.Note] = []
        self.run_notes: list[ev.Note] = []
        current: dict[tuple[str, str], _Command] = {}
        for e in self.events:
            if isinstance(e, ev.RunStarted):
                self.started = self.started or e
                self.runs.append(e)
            elif isinstance(e, ev.RunFinished):
                self.finished.append(e)
            elif isinstance(e, ev.NodeConnection):
                self.connections.append(e)
            elif isinstance(e, ev.RunPaused):
                self.pauses.append(e)
            elif isinstance(e, ev.Note) and e.text.startswith(RESTORE_PREFIX):
                self.restores.append(e)
            elif isinstance(e, ev.Note) and not e.step_id:
                self.run_notes.append(e)
            step_id = getattr(e, "step_id", None)
            if not step_id:
                continue
            s = self.steps.setdefault(step_id, _Step(step_id))
            if isinstance(e, ev.StepStarted):
                s.title, s.index, s.destructive = e.title, e.index, e.destructive
                s.attempts.append(e)
            elif isinstance(e, ev.StepFinished):
                s.finished.append(e)
            elif isinstance(e, ev.StepSkipped):
                s.skipped.append(e)
            elif isinstance(e, ev.CommandStarted):
                cmd = _Command(e)
                s.commands.setdefault(e.node, []).append(cmd)
                current[(step_id, e.node)] = cmd
            elif isinstance(e, ev.OutputChunk):
                running = current.get((step_id, e.node))
                if running is not None:
                    running.output.append(e.text)
                else:
                    s.stray_output.setdefault(e.node, []).append(e.text)
            elif isinstance(e, ev.CommandFinished):
                running = current.pop((step_id, e.node), None)
                if running is not None:
                    running.finished = e
            elif isinstance(e, ev.ExpectationResult):
                s.expectations.append(e)
            elif isinstance(e, ev.Finding):
                s.findings.append(e)
            elif isinstance(e, ev.GuardResult):
                s.guards.append(e)
            elif isinstance(e, ev.CheckpointTaken):
                s.checkpoints.append(e)
            elif isinstance(e, ev.CheckpointRequested):
                s.requested.append(e)
            elif isinstance(e, ev.ConfirmationGiven):
                s.confirmations.append(e)
            elif isinstance(e, ev.ParamsSet):
                s.params.append(e)
            elif isinstance(e, ev.Note) and not e.text.startswith(RESTORE_PREFIX):
                s.notes.append(e)

    @property
    def final(self) -> ev.RunFinished | None:
        if not self.finished:
            return None
        last_start = self.runs[-1].ts if self.runs else 0.0
        return self.finished[-1] if self.finished[-1].ts >= last_start else None

    def ordered_steps(self) -> list[_Step]:
        return sorted(self.steps.values(),
                      key=lambda s: (s.index if s.index is not None else 10**6,
                                     _first_ts(s)))


def _first_ts(s: _Step) -> float:
    stamps = [e.ts for e in (*s.attempts, *s.skipped, *s.finished)]
    return min(stamps) if stamps else 0.0


def _overrides(s: _Step, what: str = "checkpoint override") -> list[ev.ConfirmationGiven]:
    return [c for c in s.confirmations if c.what == what and c.accepted]


def render_report(events: list[ev.Event], redactor: Redactor | None = None) -> str:
    """A Markdown post-mortem draft for the run recorded in ``events``."""
    from pverunbook.run_diagnosis import diagnose_run

    try:
        _, diag = diagnose_run(events)
    except Exception as exc:  # noqa: BLE001 - the rest of the report is still worth having
        diag = None
        problem = str(exc)
    run = _Run(_as_judged(events, diag) if diag is not None else events)
    out: list[str] = []
    _header(run, out)
    if diag is None:
        out += ["## Diagnosis", "", f"Not available: {problem}", ""]
    else:
        _diagnosis(events, diag, out)
    _timeline(run, out)
    _steps(run, out)
    _restores(run, out)
    report_rollback.section(events, out)
    _open_items(run, out)
    _lessons(run, out)
    text = "\n".join(out).rstrip("\n") + "\n"
    return (redactor or Redactor()).text(text)


def _header(run: _Run, out: list[str]) -> None:
    rs = run.started
    if rs is None:
        out += ["# Incident report (incomplete journal)", "",
                "The journal has no `run_started` event; only the events below are known.", ""]
        return
    out += [f"# Incident report: {rs.runbook_title} on cluster {rs.cluster}", "",
            f"_Draft generated by pverunbook from the journal of run `{rs.run_id}`. Check it, "
            "add what happened outside the tool, and remove anything you would not share._", ""]
    final = run.final
    end = final.ts if final else (run.events[-1].ts if run.events else rs.ts)
    if final is not None:
        status = f"**{final.status}**" + (f" — {final.message}" if final.message else "")
    else:
        status = "**unfinished** — the journal ends without `run_finished` (the process " \
                 "was killed or is still running)"
    steps = run.ordered_steps()
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    cps = [c for s in steps for c in s.checkpoints]
    params = _effective_params(rs.params, steps)
    out += ["## Summary", "", "| | |", "|---|---|",
            f"| Runbook | {rs.runbook_title} (`{rs.runbook_id}`"
            + (f", {_code(rs.runbook_path)}" if rs.runbook_path else "") + ") |",
            f"| Cluster | {rs.cluster} (nodes: {', '.join(rs.nodes) or 'none'}) |",
            f"| Mode | {rs.mode} |",
            f"| Operator | {rs.operator or 'unknown'} |",
            f"| Started | {_ts(rs.ts)} |",
            f"| Ended | {_ts(end) if final else 'not recorded (last event ' + _ts(end) + ')'} |",
            f"| Duration | {_dur(end - rs.ts)} |",
            f"| Final status | {status} |",
            f"| Parameters | {params} |", ""]
    # A change whose COMMIT was not typed: its step reads "ok" below, the nodes undo it
    out += [f"**{line}**" for line in not_kept(run.events)]
    if out[-1] != "":
        out.append("")
    if len(run.runs) > 1:
        out += [f"The run was resumed {len(run.runs) - 1} time(s): "
                + ", ".join(_ts(r.ts) for r in run.runs[1:]) + ".", ""]
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    narrative = f"{len(steps)} step(s) were reached ({', '.join(parts) or 'none'}). "
    if cps:
        bad = [c for c in cps if not c.ok]
        narrative += (f"{len(cps)} checkpoint(s) were taken"
                      + (f", {len(bad)} of them FAILED verification. " if bad
                         else ", all verified. "))
    overrides = [c for s in steps for c in _overrides(s)]
    if overrides:
        narrative += (f"**A destructive step ran without a verified backup {len(overrides)} "
                      "time(s)** (checkpoint override typed by the operator). ")
    skipped_guards = [s.step_id for s in steps if _overrides(s, "guard override")]
    if skipped_guards:
        narrative += (f"**A guard of destructive steps was SKIPPED by override: "
                      f"{', '.join(skipped_guards)}** (phrase and reason typed by the "
                      "operator). ")
    findings = [f for s in steps for f in s.findings]
    if findings:
        sev: dict[str, int] = {}
        for f in findings:
            sev[f.severity] = sev.get(f.severity, 0) + 1
        narrative += "Findings: " + ", ".join(f"{n} {k}" for k, n in sev.items()) + "."
    out += [narrative.strip(), ""]
    if run.run_notes:
        # outside any step: a shell session on a node (the story's route fix was typed in
        # one), notes between runs — the operator's actions the steps do not show
        out += ["**Outside the runbook's steps**", ""]
        out += [f"- {_clock(n.ts)} {n.level}: {n.text}" for n in run.run_notes]
        out.append("")


def _is_check(events: list[ev.Event]) -> bool:
    from pverunbook.pve.diagnosis.check import CHECK_ID

    return any(isinstance(e, ev.RunStarted) and e.runbook_id == CHECK_ID for e in events)


def _as_judged(events: list[ev.Event], diag: Diagnosis) -> list[ev.Event]:
    """``events`` with each finding's severity as the diagnosis judged it
    (:meth:`Diagnosis.finding_now`): after a recovery the health check's journal step still
    sees the outage's token losses (critical to its verdict) while the check finds the
    cluster healthy; the report tells them as history, not as critical findings now."""
    whole = _is_check(events)
    out: list[ev.Event] = []
    for e in events:
        if isinstance(e, ev.Finding):
            now = diag.finding_now(e.step_id, e.node, e.severity, whole=whole)
            if now == "history":
                e = dataclasses.replace(e, severity="info",
                                        title=f"{e.title} (earlier, now fine)")
            elif now != e.severity:
                e = dataclasses.replace(e, severity=now)
        out.append(e)
    return out


def _diagnosis(events: list[ev.Event], diag: Diagnosis, out: list[str]) -> None:
    """What is wrong and what to do next, with the evidence each fault rests on."""
    from pverunbook.run_diagnosis import next_command, no_fault_text

    check = _is_check(events)
    if not diag.faults and not diag.matrix and not check:
        return
    mode = next((e.mode for e in events if isinstance(e, ev.RunStarted)), "")
    out += ["## Diagnosis", ""]
    if not diag.faults:
        out += [no_fault_text(events, check=check), ""]
    for i, f in enumerate(diag.faults, 1):
        out += [f"### {i}. {f.statement}", "",
                f"Severity **{f.severity}**, confidence **{f.confidence}**. {f.action}", ""]
        for m in f.manual:
            out.append(f"- Fix on **{m.node}**: {_code(m.command)}")
        if f.next_runbook is not None:
            nr = f.next_runbook
            cmd = next_command(nr.runbook, dict(nr.params), mode)
            out.append(f"- Run next: **{nr.label()}** — {_code(cmd)}")
        if f.manual or f.next_runbook is not None:
            out.append("")
        if f.evidence:
            out += ["| Evidence | Node | Step | Output line |", "|---|---|---|---|"]
            for e in f.evidence:
                out.append(f"| {_cell(e.what)} | {e.node or ''} | "
                           f"{'`' + e.step_id + '`' if e.step_id else ''} | "
                           f"{_code(_cell(e.line[:200])) if e.line else ''} |")
            out.append("")
    if diag.matrix:
        header, *rows = diag.matrix
        out += ["**Links** (row measures column; ↓N = times the knet link went down)", "",
                "| " + " | ".join(_cell(c) for c in header) + " |",
                "|" + "---|" * len(header)]
        out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
        out.append("")
    if diag.healthy:
        out += [f"- fine: {h}" for h in diag.healthy] + [""]


def _timeline(run: _Run, out: list[str]) -> None:
    out += ["## Timeline", "", "All times UTC.", ""]
    for e in run.events:
        line = _timeline_line(e)
        if line:
            out.append(f"- `{_ts(e.ts)}` {line}")
    out.append("")


def _timeline_line(e: ev.Event) -> str:
    if isinstance(e, ev.RunStarted):
        return (f"Run {'resumed' if e.resumed else 'started'} ({e.mode}) by "
                f"{e.operator or 'unknown'} on {e.cluster}")
    if isinstance(e, ev.StepStarted):
        att = f", attempt {e.attempt}" if e.attempt > 1 else ""
        return f"Step {e.index + 1} `{e.step_id}` started: {e.title} ({_where(e.nodes)}{att})"
    if isinstance(e, ev.StepFinished):
        ok = [n for n, st in e.node_status.items() if st == "ok"]
        also = f"; ok on {', '.join(ok)}" if ok and e.status != "ok" else ""
        return f"Step `{e.step_id}` finished: **{e.status}**" + (
            f" — {e.message}" if e.message else "") + also + f" ({_dur(e.duration)})"
    if isinstance(e, ev.StepSkipped) and skipped_after(e):
        return f"Step `{e.step_id}`: the operator went on after it {skipped_after(e)}"
    if isinstance(e, ev.StepSkipped):
        return f"Step `{e.step_id}` skipped{' by the operator' if e.by_operator else ''}: " \
               f"{e.reason}"
    if isinstance(e, ev.CheckpointTaken):
        return (f"Checkpoint `{e.checkpoint_id or '(none)'}` for `{e.step_id}`: "
                + ("verified" if e.ok else f"**FAILED** ({len(e.problems)} problem(s))"))
    if isinstance(e, ev.ConfirmationGiven):
        return _confirmation(e)
    if isinstance(e, ev.GuardResult) and not e.ok:
        return f"Guard {e.check} on `{e.step_id}` " \
               f"{'warned' if e.warn_only else 'BLOCKED'}: {e.message}"
    if isinstance(e, ev.CommandFinished) and e.outcome != "exit 0":
        return f"`{e.step_id}` on {e.node}: {_code(e.command)} → {e.outcome}"
    if isinstance(e, ev.Finding) and e.severity in ("critical", "error", "warning"):
        return f"Finding ({e.severity}) in `{e.step_id}`" + (
            f" on {e.node}" if e.node else "") + f": {e.title}"
    if isinstance(e, ev.NodeConnection):
        return f"Connection to {e.node}: {e.state}" + (f" — {e.message}" if e.message else "")
    if isinstance(e, ev.RunPaused):
        return f"Run paused at `{e.step_id}`: {e.reason}"
    if isinstance(e, ev.Note) and (e.level != "info" or e.text.startswith(RESTORE_PREFIX)):
        return f"{e.level.capitalize()}: {e.text}"
    if isinstance(e, ev.RollbackTimer):
        return report_rollback.timeline_line(e)
    if isinstance(e, ev.RunFinished):
        return f"Run finished: **{e.status}**" + (f" — {e.message}" if e.message else "")
    return ""


def _confirmation(c: ev.ConfirmationGiven) -> str:
    who = c.operator or "the operator"
    typed = f"typed {_code(c.typed)}" if c.typed else "typed nothing"
    verdict = "accepted" if c.accepted else "refused"
    text = f"Confirmation ({c.what}) for `{c.step_id}`: {who} {typed} — {verdict}"
    if c.reason:
        text += f" ({c.reason})"
    if c.what == "checkpoint override" and c.accepted:
        text = f"**⚠ OVERRIDE: {text}; the step ran WITHOUT a verified backup**"
    if c.what == "guard override" and c.accepted:
        text = f"**⚠ GUARD SKIPPED: {text}; the destructive steps after it ran unguarded**"
    return text


def _steps(run: _Run, out: list[str]) -> None:
    out += ["## Steps", ""]
    for n, s in enumerate(run.ordered_steps(), 1):
        num = s.index + 1 if s.index is not None else n
        flag = " (destructive)" if s.destructive else ""
        worst = next((x for x in ("critical", "warning")
                      if any(f.severity == x for f in s.findings)), "")
        out += [f"### {num}. {s.title or s.step_id} (`{s.step_id}`){flag} — "
                f"{step_status_label(s.label, worst)}", ""]
        facts: list[str] = []
        if s.attempts:
            facts.append(f"Started {_ts(s.attempts[0].ts)} {_where(s.attempts[-1].nodes)}")
            if len(s.attempts) > 1:
                facts.append(f"{len(s.attempts)} attempts")
        if s.finished:
            last = s.finished[-1]
            facts.append(f"took {_dur(last.duration)}")
            if last.message:
                facts.append(f"result: {last.message}")
        for sk in s.skipped:
            facts.append(f"skipped{' by the operator' if sk.by_operator else ''}: {sk.reason}")
        if facts:
            out += ["; ".join(facts) + ".", ""]
        for p in s.params:
            vals = ", ".join(f"`{k}` = {_code(value_text(v))}" for k, v in p.values.items())
            out += [f"Parameters set: {vals or 'none'}.", ""]
        if s.guards:
            out += ["**Guards**", ""]
            for g in s.guards:
                mark = "✅" if g.ok else ("⚠️ warning" if g.warn_only else "❌ blocked")
                out.append(f"- {mark} `{g.check}`: {g.message}")
            out.append("")
        for req in s.requested:
            declared = [*(f"file {p}" for p in req.files), *(f"sqlite {p}" for p in req.sqlite),
                        *(f"output of {_code(c)}" for c in req.outputs)]
            if declared:
                out += ["**Backup declared**: " + "; ".join(declared), ""]
        for cp in s.checkpoints:
            _checkpoint(cp, out)
        if s.confirmations:
            out += ["**Confirmations**", ""]
            for c in s.confirmations:
                out.append(f"- {_clock(c.ts)} {_confirmation(c)}")
            out.append("")
        for node in sorted(set(s.commands) | set(s.stray_output)):
            out += [f"#### On {node}", ""]
            for cmd in s.commands.get(node, []):
                _command(cmd, out)
            stray = "".join(s.stray_output.get(node, []))
            if stray.strip():
                out += [_fence(trim_output(stray)), ""]
            exps = [x for x in s.expectations if x.node == node]
            if exps:
                out += ["Expectations:", ""]
                for x in exps:
                    out.append(f"- {'✅' if x.ok else '❌'} {x.description}"
                               + (f" — {x.message}" if x.message and not x.ok else ""))
                out.append("")
        if s.findings:
            out += ["**Findings**", ""]
            for f in sorted(s.findings, key=lambda f: _sev_rank(f.severity)):
                where = f" on {f.node}" if f.node else ""
                out.append(f"- **{f.severity}**{where}: {f.title}"
                           + (f" — {f.detail}" if f.detail else ""))
                if f.evidence:
                    out.append(f"  - evidence: {_code(f.evidence[:300])}")
            out.append("")
        notes = [x for x in s.notes if x.text]
        if notes:
            out += ["**Notes**", ""]
            out += [f"- {_clock(x.ts)} {x.level}: {x.text}" for x in notes]
            out.append("")


def _sev_rank(sev: str) -> int:
    return SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _checkpoint(cp: ev.CheckpointTaken, out: list[str]) -> None:
    state = "verified" if cp.ok else "**FAILED**"
    out += [f"**Checkpoint** `{cp.checkpoint_id or '(none)'}` — {state}"
            + (f", stored in {_code(cp.path)}" if cp.path else ""), ""]
    if cp.items:
        out += ["| Node | Kind | Path | Size | Mode | sha256 | Verified |",
                "|---|---|---|---|---|---|---|"]
        for it in cp.items:
            sha = str(it.get("sha256_local") or it.get("sha256_remote") or "")
            ok = "yes" if it.get("ok") else f"no: {it.get('problem', '')}"
            out.append(f"| {it.get('node', '')} | {it.get('kind', '')} | "
                       f"{_code(str(it.get('path', '')))} | {it.get('size', '')} | "
                       f"{it.get('mode', '')} | {_code(sha) if sha else ''} | "
                       f"{ok.replace('|', '/')} |")
        out.append("")
    if cp.problems:
        out += ["Problems:", ""] + [f"- {p}" for p in cp.problems] + [""]


def _command(cmd: _Command, out: list[str]) -> None:
    f = cmd.finished
    if f is None:
        result = "**no result recorded** (interrupted while running: outcome unknown)"
    else:
        result = f"{f.outcome} in {_dur(f.duration)}"
    out += [f"- {_clock(cmd.started.ts)} {_code(cmd.started.command)} → {result}", ""]
    text = "".join(cmd.output)
    if text.strip():
        out += [_fence(trim_output(text)), ""]


def _restores(run: _Run, out: list[str]) -> None:
    if not run.restores:
        return
    out += ["## Restores", ""]
    out += [f"- `{_ts(r.ts)}` {r.text}" for r in run.restores]
    out.append("")


def _open_items(run: _Run, out: list[str]) -> None:
    items: list[str] = []
    if run.started is not None and run.final is None:
        items.append("The run did not finish: resume it with `pverunbook run --resume "
                     f"{run.started.run_id}` or record why it was abandoned.")
    for s in run.ordered_steps():
        st = s.status
        if st.startswith("unknown"):
            items.append(f"Step `{s.step_id}` was running when the journal ends: check on the "
                         "nodes whether its commands took effect before re-running it.")
        elif st not in OK_STATUSES and st != "not reached":
            msg = s.finished[-1].message if s.finished else ""
            items.append(f"Step `{s.step_id}` ({s.title}) ended **{st}**"
                         + (f": {msg}" if msg else "") + ".")
        for cp in s.checkpoints:
            if not cp.ok:
                items.append(f"Checkpoint `{cp.checkpoint_id or '(none)'}` for `{s.step_id}` "
                             "failed: " + "; ".join(cp.problems[:3]))
        for c in _overrides(s):
            items.append(f"`{s.step_id}` ran without a verified backup (override by "
                         f"{c.operator or 'the operator'} at {_ts(c.ts)}): take a backup of "
                         "the affected nodes now.")
        for c in _overrides(s, "guard override"):
            items.append(f"Guard `{s.step_id}` ({s.title}) was skipped by override "
                         f"({c.operator or 'the operator'}: {c.reason}): check by hand what "
                         "it checks, on every node.")
        for g in s.guards:
            if not g.ok:
                items.append(f"Guard `{g.check}` at `{s.step_id}`: {g.message}")
        for f in s.findings:
            if f.severity in ("critical", "error"):
                items.append(f"Unresolved {f.severity} finding: {f.title}"
                             + (f" ({f.node})" if f.node else ""))
    for conn in run.connections:
        if conn.state == "down":
            items.append(f"Node {conn.node} was unreachable: {conn.message}")
    for r in run.restores:
        if "NOT verified" in r.text or "refused" in r.text or "blocked" in r.text:
            items.append(f"Restore not completed: {r.text}")
    out += ["## Still failing / open items", ""]
    out += [f"- [ ] {i}" for i in dict.fromkeys(items)] or ["- None recorded."]
    out.append("")


def _lessons(run: _Run, out: list[str]) -> None:
    lessons: list[str] = []
    findings = sorted((f for s in run.ordered_steps() for f in s.findings),
                      key=lambda f: _sev_rank(f.severity))
    for f in findings:
        if f.severity == "info":
            continue
        lessons.append(f"{f.title}" + (f" — {f.detail}" if f.detail else "")
                       + f" _(finding, {f.severity})_")
    steps = run.ordered_steps()
    if any(_overrides(s) for s in steps):
        lessons.append("A destructive step ran without a verified backup — the exact failure "
                       "that lost every VM config in the original outage. Make the backup "
                       "possible (free disk, reachable nodes, quorum) before the next attempt.")
    if any(not cp.ok for s in steps for cp in s.checkpoints):
        lessons.append("A checkpoint failed: find out why (missing path, hung /etc/pve, disk "
                       "space) and keep regular off-node backups of /etc/pve and config.db.")
    timed_out = [c for s in steps for cmds in s.commands.values() for c in cmds
                 if c.finished is not None and c.finished.timed_out]
    if timed_out:
        lessons.append(f"{len(timed_out)} command(s) timed out; if they touched /etc/pve, "
                       "pmxcfs was blocked — monitor quorum and corosync link health.")
    if run.connections and any(c.state in ("lost", "down") for c in run.connections):
        lessons.append("Connections to nodes dropped during the run: check the management "
                       "network and consider a separate corosync link.")
    out += ["## Lessons / follow-ups", ""]
    out += [f"- {x}" for x in dict.fromkeys(lessons)] or [
        "- Nothing derived from the run; add your own."]
    out.append("")
