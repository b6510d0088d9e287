"""``pverunbook check --json``: the health check as ONE JSON document, for scripts.

``--json`` used to print the run's event stream as JSON lines with the diagnosis as the last
line, where ``healthy`` was the list of things found fine; a consumer wanting "is the cluster
healthy, and what do I run next" had to find the last line and guess what a list meant. The
document printed now (format 1)::

    {
      "kind": "health_check", "format": 1,
      "healthy": false,                  # true: no fault on any node
      "status": "faults",                # "healthy" | "faults" | "incomplete" (stopped early,
                                         # or a node not reached, and nothing found in what
                                         # it read: never healthy)
      "unchecked": {"pve002": "cannot connect to ...: connection refused"},  # not read
      "next_runbook": {"runbook": "network-triage", "params": {"ping_count": 100}} | null,
      "first_by_hand": [1],              # "#N" of faults no runbook fixes that next_runbook
                                         # would stop on: fix them by hand first
      "faults": [{                       # in the order to fix them
          "order": 1, "phase": "network",   # rollbacks, network, database, configs, certificates
          "number": 1,                      # the "#N" every view shows; null: only noted (info)
          "rule": "route-via-gateway", "statement": "...", "severity": "critical",
          "confidence": "high", "action": "...", "nodes": ["ryanrishi"],
          "next_runbook": {"runbook": ..., "params": {...}} | null,
          "manual": [{"node": ..., "command": ...,     # commands to type where no runbook fits
                      "kind": "look" | "fix"}],        # look: only reads; fix: changes the node
          "evidence": [{"what": ..., "node": ..., "step_id": ..., "line": ...}]}],
      "fine": ["..."],                   # what was measured and found fine
      "matrix": [["", "pve001", ...], ...],   # link health, row measures column
      "facts": [{"name": ..., "value": ..., ...}],
      "steps": {"quorum": "ok", ...},   # each check step's status (failed: evidence missing)
      "run": {"run_id": ..., "journal": ..., "status": ..., "mode": ..., "cluster": ...,
              "nodes": [...]}
    }

``next_runbook`` at the top is the first fault's runbook (what "Run next" proposes); run it with
``pverunbook rehearse|run RUNBOOK --set NAME=VALUE …`` from its ``params``. ``--json-events``
keeps the event stream (the journal's records, one per line) and prints this document as its
last line. Prompts and the journal's path go to stderr, so stdout is only JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from pverunbook.engine import events as ev

FORMAT = 1


def check_document(events: list[ev.Event], runbook: Any = None,
                   names_by_addr: dict[str, str] | None = None,
                   journal: str = "") -> dict[str, Any]:
    """The health check's document (see the module docstring) from a check run's events."""
    from pverunbook.pve.diagnosis.check import phase_of
    from pverunbook.pve.diagnosis.model import numbered
    from pverunbook.pve.diagnosis.next_step import next_step
    from pverunbook.pve.diagnosis.reach import NOT_CHECKED
    from pverunbook.run_diagnosis import collected_all, diagnose_run, runbook_stops, unchecked_nodes

    store, diag = diagnose_run(events, runbook, names_by_addr)
    shown = {id(f): n for n, f in numbered(diag.faults)}
    faults: list[dict[str, Any]] = []
    for i, f in enumerate(diag.faults, 1):  # the diagnosis's order, as format 1 always had
        faults.append({"order": i, "number": shown.get(id(f)), "phase": phase_of(f.rule),
                       **f.to_json()})
    first = next((f.next_runbook for f in diag.faults if f.next_runbook is not None), None)
    step = next_step(diag.faults, runbook_stops())
    # what comes by hand before that runbook (the app's "First by hand: #N")
    by_hand = [n for n, _ in step.by_hand] if step.fault is not None \
        and step.fault.next_runbook == first else []
    started = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    finished = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
    steps: dict[str, str] = {}
    for e in events:
        if isinstance(e, ev.StepFinished):
            steps[e.step_id] = e.status
        elif isinstance(e, ev.StepSkipped) and not e.after:  # failed, then skipped: failed
            steps[e.step_id] = "skipped"
    run: dict[str, Any] = {"run_id": started.run_id if started else "", "journal": journal,
                           "status": finished.status if finished else "unfinished",
                           "mode": started.mode if started else "",
                           "cluster": started.cluster if started else "",
                           "nodes": list(started.nodes) if started else []}
    # a check stopped before its end, or that could not read a node, proves no health
    missing = unchecked_nodes(events)
    whole = collected_all(events) and not missing
    found = [f for f in diag.faults if f.rule != NOT_CHECKED]
    return {"kind": "health_check", "format": FORMAT, "healthy": not diag.faults and whole,
            "status": "faults" if found else "healthy" if whole else "incomplete",
            "unchecked": missing,
            "next_runbook": first.to_json() if first is not None else None,
            "first_by_hand": by_hand,
            "faults": faults, "fine": list(diag.healthy),
            "matrix": [list(r) for r in diag.matrix], "facts": store.to_json(),
            "steps": steps, "run": run}


class CheckJsonPrinter:
    """Prints :func:`check_document` once the run finishes; with ``events``, every event
    before it as a JSON line (``--json-events``)."""

    def __init__(self, out: TextIO | None = None, runbook: Any = None,
                 names_by_addr: dict[str, str] | None = None, events: bool = False) -> None:
        self.out = out or sys.stdout
        self.runbook = runbook
        self.names_by_addr = names_by_addr or {}
        self.stream = events
        self.events: list[ev.Event] = []
        self.journal = ""  # set once the engine (and its journal) exists
        self.next_suffix = ""  # the text printer's; the document carries runbook and params

    def _write(self, record: dict[str, Any], indent: int | None = None) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False, default=str, indent=indent)
                       + "\n")
        self.out.flush()

    def __call__(self, e: ev.Event) -> None:
        self.events.append(e)
        if self.stream:
            self._write(e.to_dict())
        if isinstance(e, ev.RunFinished):
            doc = check_document(self.events, self.runbook, self.names_by_addr, self.journal)
            # one line in a stream of lines; on its own, indented for a reader
            self._write(doc, indent=None if self.stream else 2)
