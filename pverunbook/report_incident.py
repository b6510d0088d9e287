"""The report of a whole incident: every run from the first check to the last, in one file.

A recovery is many runs (check, triage, route-fix, tuning, configs, certificates, checks); the
single-run report (:mod:`pverunbook.report`) describes one of them. This one puts them in the
order they ran: a timeline of what each run changed, the faults the first health check found
and what the last one says now, then each run's own report (the same renderer, headings one
level down), redacted again as a whole.

Which runs are the incident (:func:`incident_runs`), unless named or given a start time: the
runs of the newest run's cluster, scenario and mode, going back from the newest and stopping
at a health check that found the cluster healthy — that check closed the previous incident. The
healthy checks at the very end are this incident's closing checks and are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.journal import Redactor, RunSummary

#: a run's events, read when needed (a journal path or a test's list)
Loader = Callable[[RunSummary], list[ev.Event]]


def _check_id() -> str:
    from pverunbook.pve.diagnosis.check import CHECK_ID

    return CHECK_ID


@dataclass(frozen=True)
class IncidentRun:
    summary: RunSummary
    events: list[ev.Event]


def _same_place(a: RunSummary, b: RunSummary) -> bool:
    return (a.cluster, a.scenario, a.mode) == (b.cluster, b.scenario, b.mode)


def incident_runs(runs: Sequence[RunSummary], healthy: Callable[[RunSummary], bool], *,
                  since: float | None = None) -> list[RunSummary]:
    """The runs of the newest run's incident, oldest first (rule in the module docstring).

    ``since``: every run of that cluster, scenario and mode started at or after it instead.
    ``healthy(run)``: a health check that found no fault.
    """
    ordered = sorted(runs, key=lambda r: (r.started, r.run_id))
    if not ordered:
        return []
    newest = ordered[-1]
    mine = [r for r in ordered if _same_place(r, newest)]
    if since is not None:
        return [r for r in mine if r.started >= since]
    picked: list[RunSummary] = []
    closing = True  # the healthy checks that end the incident
    for r in reversed(mine):
        is_healthy = r.runbook == _check_id() and healthy(r)
        if closing and is_healthy:
            picked.append(r)
            continue
        closing = False
        if is_healthy:
            break
        picked.append(r)
    return list(reversed(picked))


def check_faults(events: list[ev.Event]) -> list[str] | None:
    """A health check's faults, one line each ("" none), or None when it is no whole check."""
    from pverunbook.run_diagnosis import diagnose_run

    first = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    if first is None or first.runbook_id != _check_id():
        return None
    if not any(isinstance(e, ev.RunFinished) and e.status == "ok" for e in events):
        return None
    _, diag = diagnose_run(events)
    out = []
    for f in diag.faults:
        line = f"{f.severity}: {f.statement}"
        if f.next_runbook is not None:
            line += f" (runbook `{f.next_runbook.runbook}`)"
        out.append(line)
    return out


def changes(events: list[ev.Event]) -> str:
    """What a run changed, in a few words: destructive steps that ran commands, checkpoints,
    COMMITs kept and changes the nodes rolled back; "nothing" for a read-only run."""
    from pverunbook.run_diagnosis import not_kept_by_step

    destructive = {e.step_id for e in events if isinstance(e, ev.StepStarted) and e.destructive}
    ran = sorted({e.step_id for e in events
                  if isinstance(e, ev.CommandStarted) and e.step_id in destructive})
    cps = [e for e in events if isinstance(e, ev.CheckpointTaken)]
    commits = sorted({e.step_id for e in events if isinstance(e, ev.ConfirmationGiven)
                      and (e.to_dict().get("typed") or "") == "COMMIT"})
    undone = not_kept_by_step(events)
    parts = []
    if ran:
        parts.append("destructive: " + ", ".join(ran))
    if cps:
        bad = sum(1 for c in cps if not c.ok)
        parts.append(f"{len(cps)} checkpoint(s)" + (f", {bad} FAILED" if bad else ""))
    if commits:
        parts.append("COMMIT: " + ", ".join(commits))
    if undone:
        parts.append("rolled back: " + ", ".join(sorted(undone)))
    return "; ".join(parts) or "nothing"


def render_incident(runs: Sequence[IncidentRun], redactor: Redactor | None = None) -> str:
    """One Markdown report over ``runs`` (oldest first)."""
    from pverunbook.report import render_report
    from pverunbook.report_text import cell, dur, ts

    if not runs:
        return "# Incident report\n\nNo run to report.\n"
    first, last = runs[0].summary, runs[-1].summary
    end = max((e.ts for r in runs for e in r.events[-1:]), default=last.started)
    where = first.cluster + (f" (scenario {first.scenario})" if first.scenario else "")
    out = [f"# Incident report: cluster {where}, {len(runs)} run(s)", "",
           "_Draft generated by pverunbook from the journals of the runs below. Check it, add "
           "what happened outside the tool, and remove anything you would not share._", "",
           f"From {ts(first.started)} to {ts(end)} ({dur(end - first.started)}), "
           f"mode {first.mode}.", "", "## Timeline", "",
           "| # | Run | Runbook | Started | Ended | Outcome | Changed |",
           "|---|---|---|---|---|---|---|"]
    faults = [check_faults(r.events) for r in runs]
    for i, r in enumerate(runs, 1):
        s = r.summary
        fin = next((e for e in reversed(r.events) if isinstance(e, ev.RunFinished)), None)
        found = faults[i - 1]
        outcome = s.status if found is None else (
            f"{s.status}: {len(found)} fault(s)" if found else f"{s.status}: healthy")
        out.append(f"| {i} | `{s.run_id}` | {cell(s.runbook)} | {ts(s.started)} | "
                   f"{ts(fin.ts) if fin else 'not recorded'} | {cell(outcome)} | "
                   f"{cell(changes(r.events))} |")
    out.append("")
    checks = [(r, f) for r, f in zip(runs, faults, strict=True) if f is not None]
    out += ["## Faults found and what the cluster looks like now", ""]
    if not checks:
        out += ["No whole health check among these runs: run `pverunbook check`.", ""]
    else:
        (r0, f0), (rn, fn) = checks[0], checks[-1]
        out += [f"First health check (`{r0.summary.run_id}`): "
                + (f"{len(f0)} fault(s)" if f0 else "no fault") + ".", ""]
        out += [f"- {line}" for line in f0] + ([""] if f0 else [])
        if rn is not r0:
            out += [f"Last health check (`{rn.summary.run_id}`): "
                    + (f"{len(fn)} fault(s) remain" if fn else "**healthy**, no fault") + ".",
                    ""]
            out += [f"- {line}" for line in fn] + ([""] if fn else [])
        if rn is not runs[-1]:
            out += ["Runs came after the last health check: run `pverunbook check` to see "
                    "the cluster now.", ""]
    out += ["## Each run", ""]
    for i, r in enumerate(runs, 1):
        lines = demoted(render_report(r.events, redactor).splitlines())
        if lines and lines[0].startswith("### "):
            lines[0] = f"### Run {i}: " + lines[0][4:].removeprefix("Incident report: ")
        out += [*lines, ""]
    text = "\n".join(out).rstrip("\n") + "\n"
    return (redactor or Redactor()).text(text)


def demoted(lines: list[str]) -> list[str]:
    """Markdown headings two levels down (``#`` → ``###``), leaving fenced output alone: a
    command's ``# comment`` is no heading."""
    out: list[str] = []
    fence = ""
    for ln in lines:
        if fence:
            if ln.strip() == fence:
                fence = ""
        elif ln.startswith("```"):
            fence = ln[:len(ln) - len(ln.lstrip("`"))]
        elif ln.startswith("#"):
            ln = "##" + ln
        out.append(ln)
    return out


def collect(run_ids: Sequence[str] = (), since: float | None = None, *,
            last: Path | None = None) -> list[IncidentRun]:
    """The incident's runs read from the state directory: ``run_ids`` (ids, prefixes or
    journal paths) when given, else :func:`incident_runs` over every kept run — up to the
    run whose journal is ``last`` when given (the TUI's latest run; later runs of another
    process are not its incident)."""
    from pverunbook.engine.journal import find_run, list_runs, read_journal

    runs = list_runs()
    cache: dict[Path, list[ev.Event]] = {}

    def events(r: RunSummary) -> list[ev.Event]:
        if r.path not in cache:
            cache[r.path] = read_journal(r.path)
        return cache[r.path]

    def healthy(r: RunSummary) -> bool:
        try:
            return check_faults(events(r)) == []
        except Exception:  # noqa: BLE001 - an unreadable check closes nothing
            return False

    if run_ids:
        by_path = {r.path.resolve(): r for r in runs}
        picked = []
        for rid in run_ids:
            path = find_run(rid).resolve()
            summary = by_path.get(path) or _summary_of(path, events)
            if summary is not None and summary not in picked:
                picked.append(summary)
        chosen = sorted(picked, key=lambda r: (r.started, r.run_id))
    else:
        end = next((r for r in runs if last is not None and r.path.resolve() == last.resolve()),
                   None)
        if end is None and last is not None:  # a journal kept elsewhere (--journal PATH)
            end = _summary_of(last, events)
            runs = runs + ([end] if end is not None else [])
        if end is not None:
            runs = [r for r in runs if (r.started, r.run_id) <= (end.started, end.run_id)]
        chosen = incident_runs(runs, healthy, since=since)
    return [IncidentRun(r, events(r)) for r in chosen]


def _summary_of(path: Path, events: Loader) -> RunSummary | None:
    """A journal outside the state directory, named by its path."""
    probe = RunSummary(path.stem, path, "", "", 0.0, "unfinished")
    evs = events(probe)
    rs = next((e for e in evs if isinstance(e, ev.RunStarted)), None)
    if rs is None:
        return None
    fin = [e for e in evs if isinstance(e, ev.RunFinished)]
    return RunSummary(rs.run_id or path.stem, path, rs.runbook_id, rs.mode, rs.ts,
                      fin[-1].status if fin else "unfinished", rs.cluster, rs.scenario)

