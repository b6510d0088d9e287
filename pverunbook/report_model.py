"""The incident report's picture of a run: its steps, commands, confirmations and notes,
gathered from the journal's events in one pass (``report.render_report`` lays it out).

Kept apart from the layout so each stays small; nothing here writes Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pverunbook.engine import events as ev
from pverunbook.run_diagnosis import skipped_after, went_on_label

#: Notes that record a checkpoint's restore start with this (engine/restore.py).
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
        """Steps in runbook order. A step that never started (skipped by its ``when``, or
        by the operator before it ran) has no ``StepStarted`` index: its place and title come
        from the runbook text the run journaled, so it is never numbered after the last step
        and given a number another step has (the report had two "### 20.")."""
        order, titles = _runbook_order(self.runs[0].runbook_text if self.runs else "")
        for s in self.steps.values():
            if s.index is None and s.step_id in order:
                s.index = order[s.step_id]
            if not s.title:
                s.title = titles.get(s.step_id, "")
        return sorted(self.steps.values(),
                      key=lambda s: (s.index if s.index is not None else 10**6,
                                     _first_ts(s)))


def _runbook_order(text: str) -> tuple[dict[str, int], dict[str, str]]:
    """Step id → position (0-based) and title, from a runbook's TOML text; empty when there is
    none or it does not parse (an old journal, a hand-edited one)."""
    import tomllib

    try:
        steps = tomllib.loads(text).get("steps", []) if text else []
    except tomllib.TOMLDecodeError:
        return {}, {}
    order: dict[str, int] = {}
    titles: dict[str, str] = {}
    for i, st in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(st, dict) and isinstance(st.get("id"), str):
            order.setdefault(st["id"], i)
            if isinstance(st.get("title"), str):
                titles.setdefault(st["id"], st["title"])
    return order, titles


def _first_ts(s: _Step) -> float:
    stamps = [e.ts for e in (*s.attempts, *s.skipped, *s.finished)]
    return min(stamps) if stamps else 0.0


def _overrides(s: _Step, what: str = "checkpoint override") -> list[ev.ConfirmationGiven]:
    return [c for c in s.confirmations if c.what == what and c.accepted]
