"""From a step's output to facts, and from facts to the values an input step proposes.

The engine calls these after a step's verdict and before an input step asks; they decide what
is observed and proposed, the engine emits the events and keeps the store. The fact rules
themselves are pure functions in ``pve/facts/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from pverunbook.engine import events as ev
from pverunbook.inventory import Cluster
from pverunbook.pve.facts import Fact, FactStore, Observation, extract
from pverunbook.runbook.loader import selector
from pverunbook.runbook.model import Step
from pverunbook.runbook.when import Undecided, compare
from pverunbook.transport.base import CommandResult


def observe_facts(step: Step, runs: Sequence[tuple[str, str, str, CommandResult]],
                  cluster: Cluster) -> tuple[list[Fact], list[ev.Note]]:
    """Facts of ``(node, stdout, stderr, last command's result)`` for ``step.verdict``.

    The rules see stderr as well: that is where the tools say a read failed (``Cannot
    initialize CMAP service``, openssl's ``Could not open file``, ``touch``'s ``Permission
    denied``), and a fact read off stdout alone would miss it or guess.

    The rules see the exit status of the last command that ran (None when it timed out or
    errored), so that they read nothing off the output of a command that failed to read its
    input; addresses and corosync nodeids of the inventory name nodes. Each fact gets
    ``step_id``. A rule that raises is reported as a warning note, never fatal.
    """
    if not step.verdict:
        return [], []
    by_addr: dict[str, str] = {}
    for n in cluster.nodes:
        for addr in (n.host, n.addr, n.addr1):
            if addr:
                by_addr[addr] = n.name
    by_id = {n.nodeid: n.name for n in cluster.nodes if n.nodeid is not None}
    found: list[Fact] = []
    notes: list[ev.Note] = []
    for node, stdout, stderr, last in runs:
        exit_status = None if last.error or last.timed_out else last.exit_status
        obs = Observation(node=node, text=stdout, exit_status=exit_status,
                          names_by_addr=by_addr, names_by_nodeid=by_id, stderr=stderr)
        try:
            facts = extract(step.verdict, obs)
        except Exception as exc:  # a rule bug must not kill a recovery run
            notes.append(ev.Note(step_id=step.id, level="warning",
                                 text=f"facts of '{step.verdict}' could not be read on {node}: "
                                      f"{exc}"))
            continue
        found += [dataclasses.replace(f, step_id=step.id) for f in facts]
    return found, notes


def propose_values(step: Step, facts: FactStore, params: Mapping[str, object]
                   ) -> tuple[dict[str, str], list[ev.Event]]:
    """Values an input step proposes (``propose``), and the events that journal why.

    A node is proposed only when exactly one node's fact matches the selector
    (``ValueProposed``: "pve001: db.integrity[pve001] = damaged: <evidence> — suggested").
    Several matching nodes are named in a warning instead (e.g. every node's database is
    damaged: nothing to resync from). A value the operator already gave is kept, with a
    warning when the facts point elsewhere.
    """
    out: dict[str, str] = {}
    events: list[ev.Event] = []
    for name, text in step.propose.items():
        sel = selector(text)
        matched: list[Fact] = []
        for fact in facts.named(sel.name):
            try:
                hit = bool(fact.value) if sel.op is None else compare(sel.op, fact.value,
                                                                      sel.value)
            except Undecided:
                continue
            if hit and fact.node and fact.node not in [m.node for m in matched]:
                matched.append(fact)
        if len(matched) != 1:
            looked_for = _wanted(sel.name, sel.op, sel.value)
            seen = _said(facts.named(sel.name))
            which = ", ".join(str(m.node) for m in matched)
            note = (f"{len(matched)} nodes are {looked_for} ({which}): no value proposed "
                    f"for {name}; {seen}" if matched else
                    f"no node is {looked_for} ({seen or 'not checked in this run'}): no value "
                    f"proposed for {name}")
            events.append(ev.Note(step_id=step.id, level="warning" if matched else "info",
                                  text=note))
            continue
        fact = matched[0]
        node = str(fact.node)
        evidence = f" ({fact.evidence})" if fact.evidence and fact.evidence != str(
            fact.value) else ""
        reason = f"{_said([fact])}{evidence} — suggested"
        events.append(ev.ValueProposed(step_id=step.id, param=name, value=node, reason=reason))
        given = params.get(name)
        if given is not None and given != node:
            events.append(ev.Note(step_id=step.id, level="warning",
                                  text=f"{name} was given as {given!r}, but {reason}"))
            continue
        out[name] = node
    return out, events


def contradictions(step: Step, facts: FactStore, values: Mapping[str, object]) -> list[str]:
    """Values given for an input step that the facts of this run contradict: the node typed
    for ``damaged_node = "db.integrity == damaged"`` was observed, and none of its facts
    matches (``db.integrity[pve001] = ok``). A node whose fact was never observed is no
    contradiction: nothing is known about it."""
    out: list[str] = []
    for name, text in step.propose.items():
        given = values.get(name)
        if given is None:
            continue
        sel = selector(text)
        mine = [f for f in facts.named(sel.name) if f.node == str(given)]
        if not mine:
            continue
        hits = 0
        for fact in mine:
            try:
                hits += bool(fact.value) if sel.op is None else compare(sel.op, fact.value,
                                                                         sel.value)
            except Undecided:
                hits += 1  # undecided is not a contradiction
        if not hits:
            out.append(f"{name} = {given!r}, but {_said(mine)}: it is not "
                       f"{_wanted(sel.name, sel.op, sel.value)}")
    return out


#: How an operator reads a fact, by name and value ("*": any other value): ``{node}`` and
#: ``{value}`` are filled in. A fact not listed reads as its rule does (``name[node] = value``).
_WORDS: dict[str, dict[str, str]] = {
    "db.integrity": {
        "ok": "the database passed its integrity check on {node}",
        "damaged": "the database failed its integrity check on {node}",
        "missing": "the database is missing on {node}",
        "*": "the database check on {node} said {value}",
    },
}
#: How an input step's ``propose`` selector reads: (fact, op, value) → the node it looks for.
_WANTED: dict[tuple[str, str | None, str | None], str] = {
    ("db.integrity", "!=", "ok"): "a node whose database failed its integrity check "
                                  "(damaged or missing)",
    ("db.integrity", "==", "damaged"): "a node whose database failed its integrity check",
    ("db.integrity", "==", "missing"): "a node whose database is missing",
}


def _said(facts: Sequence[Fact]) -> str:
    """The facts in words ("the database failed its integrity check on pve001; …")."""
    out: list[str] = []
    for f in facts:
        words = _WORDS.get(f.name, {})
        text = words.get(_show(f.value), words.get("*"))
        out.append(text.format(node=f.node, value=_show(f.value)) if text
                   else f"{f.key} = {_show(f.value)}")
    return "; ".join(out)


def _wanted(name: str, op: str | None, value: object) -> str:
    """What a ``propose`` selector looks for, in words (its rule text when none are known)."""
    shown = None if value is None else _show(value)
    words = _WANTED.get((name, op, shown))
    if words is not None:
        return words
    return f"a node where {name} {op} {shown}" if op else f"a node where {name} holds"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
