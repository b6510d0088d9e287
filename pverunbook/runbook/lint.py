"""Reject the dangerous recovery patterns of the original outage (shared/domain.md section 8).

``lint(runbook)`` returns :class:`LintIssue` objects, each with a stable code (``PVR001``...), a
slug, the position in the runbook file and a message that says why the pattern is dangerous and
what to do instead. ``pverunbook validate`` prints them as ``FILE:LINE:COL: CODE message``.

What is scanned: every command, every ``[steps.backup] outputs`` command, every guard command and
every string in an action's ``args`` (and the ``args`` structure itself for corosync edits); for
``transport: udp/udpu`` also the prose (``summary``, ``explain``, ``hint``, ``instructions``),
unless the sentence warns against it.

A rule that matches is an error unless the step is ``destructive = true``, has a non-empty
``[steps.backup]``, has an ``explain`` and lists the code in ``lint_ok``: a reviewed, documented,
backed-up exception. ``PVR009`` (a destructive-looking command in a step not marked destructive)
is resolved by marking the step destructive, which brings the checkpoint and the confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.runbook.lint_advice import FIX
from pverunbook.runbook.lint_commands import UDPU, command_findings, touches_pve_untimed
from pverunbook.runbook.lint_one_node import (
    expected_one_proven,
    membership_restarts,
    multi_node,
    where_many,
    wipe_findings,
)
from pverunbook.runbook.model import GUARD_COMPARES, GuardKind, Pos, Runbook, Step, StepKind
from pverunbook.runbook.shellwords import _under


@dataclass(frozen=True)
class Rule:
    code: str
    slug: str
    summary: str
    severity: str = "error"


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("PVR001", "rm-config-db",
         "deletes the pmxcfs database (config.db*) or /var/lib/pve-cluster"),
    Rule("PVR002", "sigkill-pmxcfs", "kills pmxcfs with SIGKILL (pkill/kill/killall -9)"),
    Rule("PVR003", "lazy-umount-pve", "lazy-unmounts /etc/pve (umount -l)"),
    Rule("PVR004", "transport-udpu", "uses or recommends transport udp/udpu on corosync 3"),
    Rule("PVR005", "unit-twice", "names the same systemd unit twice in one systemctl call"),
    Rule("PVR006", "expected-one-many", "runs `pvecm expected 1` on more than one node"),
    Rule("PVR007", "local-corosync-edit",
         "writes /etc/corosync/corosync.conf while pmxcfs runs"),
    Rule("PVR008", "token-retransmit", "sets token_retransmit explicitly"),
    Rule("PVR009", "undeclared-destructive",
         "destructive-looking command in a step not marked destructive"),
    Rule("PVR010", "corosync-conf-in-place",
         "edits /etc/pve/corosync.conf in place instead of via a .new copy"),
    Rule("PVR011", "pve-no-timeout",
         "touches /etc/pve without `timeout`: a hung pmxcfs would hang the run",
         severity="warning"),
    Rule("PVR012", "unknown-lint-ok", "lint_ok names a code that does not exist"),
    Rule("PVR013", "wipe-cluster-state-many",
         "wipes or dissolves cluster state on more than one node (or on a node a parameter "
         "chooses without max_targets = 1)"),
    Rule("PVR014", "commit-window-short",
         "gives less time to COMMIT (commit_within) than its commit checks may take",
         severity="warning"),
    Rule("PVR015", "expected-one-unproven",
         "runs `pvecm expected 1` without a `when` that proves the node is alone with the rest "
         "of the cluster down"),
    Rule("PVR016", "membership-restart-many",
         "stops or restarts corosync or pve-cluster on several nodes at once"),
    Rule("PVR017", "guard-compares-one-node",
         "is a guard that compares only the step's own nodes, on a step bounded to one node: "
         "it compares that node with itself and checks nothing"),
    Rule("PVR018", "expectations-unreachable",
         "always fails, so the step's expectations are never checked and their messages "
         "never shown", severity="warning"),
    Rule("PVR019", "all-nodes-inventory-unchecked",
         "acts on every inventory node without an `inventory-complete` guard",
         severity="warning"),
)}


@dataclass(frozen=True)
class LintIssue:
    pos: Pos
    code: str
    message: str
    slug: str = ""
    step_id: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.pos}: {self.code} {self.message}"


# -- prose: a sentence that warns against udp/udpu is no recommendation -------------------------

_NEGATION = re.compile(
    r"\b(never|not|no|don'?t|do not|avoid|instead|wrong|rather than|refuses?|drops?|disables?|"
    r"fails?|mistake|dangerous|must not|forbidden|workaround|risky|warns?|warning|deprecated|"
    r"obsolete|old)\b", re.I)


# -- positions -------------------------------------------------------------------------------

class _Locator:
    """Points an issue at the line of the offending text, falling back to the step."""

    def __init__(self, runbook: Runbook) -> None:
        self.file = str(runbook.path) if runbook.path else "<runbook>"
        self.lines: list[str] = []
        if runbook.path is not None:
            try:
                self.lines = Path(runbook.path).read_text(encoding="utf-8").splitlines()
            except OSError:
                self.lines = []
        starts = [s.pos.line for s in runbook.steps if s.pos is not None]
        self.step_starts = sorted(starts)

    def find(self, step: Step | None, needle: str) -> Pos:
        base = step.pos if step is not None and step.pos is not None else Pos(self.file, 1, 1)
        if not self.lines:
            return base
        first = base.line if step is not None else 1
        later = [s for s in self.step_starts if s > first]
        last = (later[0] - 1) if (step is not None and later) else len(self.lines)
        for probe in _probes(needle):
            for n in range(first, last + 1):
                col = self.lines[n - 1].find(probe)
                if col >= 0:
                    return Pos(base.file, n, col + 1)
        return base


def _probes(needle: str) -> list[str]:
    out = [needle.strip()]
    words = needle.split()
    if len(words) > 1:
        out.append(" ".join(words[:2]))
    out += [w for w in words if len(w) > 3]
    return [p for p in out if p]


# -- driver ---------------------------------------------------------------------------------

#: Never accepted by lint_ok: no review makes these right.
_UNSILENCEABLE = {"PVR013"}


def _silenced(step: Step, code: str) -> bool:
    if code not in step.lint_ok or code in _UNSILENCEABLE:
        return False
    if RULES[code].severity == "warning":
        return True
    return step.destructive and not step.backup.empty and bool(step.explain.strip())


def _prose_recommends_udpu(text: str) -> str | None:
    for m in UDPU.finditer(text):
        start = max(text.rfind(".", 0, m.start()), text.rfind("\n\n", 0, m.start()), 0)
        ends = [i for i in (text.find(". ", m.end()), text.find("\n\n", m.end())) if i >= 0]
        sentence = text[start: min(ends) if ends else len(text)]
        if not _NEGATION.search(sentence):
            return m.group(0)
    return None


def _walk(value: Any, key: str = "args") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{key}[{i}]")



def lint(runbook: Runbook) -> list[LintIssue]:
    """Every dangerous pattern in ``runbook``, in file order."""
    loc = _Locator(runbook)
    issues: list[LintIssue] = []
    state = {"pmxcfs": True}

    def add(step: Step | None, code: str, needle: str, detail: str = "") -> None:
        if step is not None and _silenced(step, code):
            return
        rule = RULES[code]
        what = f"`{needle.strip()}`" if needle.strip() else rule.summary
        extra = f" ({detail})" if detail else ""
        where = f"step '{step.id}': " if step is not None else ""
        msg = f"{where}{rule.slug}: {what} {rule.summary}{extra}: {FIX[code]}"
        if step is not None and RULES[code].severity == "error" and code not in (
                "PVR009", "PVR012", *_UNSILENCEABLE):
            msg += (f". If this is truly intended, mark the step destructive with a "
                    f"[steps.backup] and an explain, and add lint_ok = [\"{code}\"]")
        issues.append(LintIssue(loc.find(step, needle), code, msg, rule.slug,
                                step.id if step else None, rule.severity))

    for field_name, text in (("summary", runbook.summary), ("explain", runbook.explain)):
        hit = _prose_recommends_udpu(text)
        if hit:
            add(None, "PVR004", hit, f"in the runbook {field_name}")

    for step in runbook.steps:
        seen: set[tuple[str, str]] = set()

        def once(code: str, needle: str, detail: str = "", step: Step = step,
                 seen: set[tuple[str, str]] = seen) -> None:
            if (code, needle) not in seen:
                seen.add((code, needle))
                add(step, code, needle, detail)

        for code in step.lint_ok:
            if code not in RULES:
                once("PVR012", code, f"lint_ok = [\"{code}\"]")

        runs = [*step.commands, *[g.command for g in step.guards if g.command]]
        many = where_many(step)
        wipe_state: dict[str, bool] = {}
        for command in step.commands:
            for needle, why in wipe_findings(command, wipe_state):
                if many:
                    once("PVR013", needle, f"{why}; {many}")
            for needle in membership_restarts(command):
                if many:
                    once("PVR016", needle, many)
        for command in runs:
            for code, needle, detail in command_findings(command, state):
                if code == "PVR009" and step.destructive:
                    continue
                if code == "PVR006" and not multi_node(step):
                    if not expected_one_proven(step):
                        once("PVR015", needle, detail)
                    continue
                once(code, needle, detail)
            if touches_pve_untimed(command) and step.kind is not StepKind.MANUAL:
                once("PVR011", command)
        # Backup outputs run before the step: they must be read-only and bounded too.
        for command in step.backup.outputs:
            for code, needle, detail in command_findings(command, dict(state)):
                once(code, needle, detail or "in a backup output command")
            if touches_pve_untimed(command):
                once("PVR011", command)

        for field_name, text in (("explain", step.explain), ("hint", step.hint),
                                 ("instructions", step.instructions), ("title", step.title)):
            hit = _prose_recommends_udpu(text)
            if hit:
                once("PVR004", hit, f"in {field_name}")

        if step.expect:
            for command in step.commands:
                if _always_fails(command, step.ok_exit):
                    once("PVR018", command)
        if many is None:
            for g in step.guards:
                if GUARD_COMPARES.get(g.check) == "targets":
                    once("PVR017", f'check = "{g.check.value}"',
                         f"targets = {list(step.targets)}")
        if _acts_on_every_node(step) and not any(
                g.check is GuardKind.INVENTORY_COMPLETE and not g.warn for g in step.guards):
            once("PVR019", 'targets = "all"', "a destructive or confirmed step")
        if step.action:
            _lint_args(step, state, once)
        if step.commit_within is not None and step.commit_checks:
            needed = _commit_span(runbook, step)
            if needed + 30 > step.commit_within:
                once("PVR014", f"commit_within = {step.commit_within}",
                     f"the steps up to its last commit check may take {needed:g} s")
    issues.sort(key=lambda i: (i.pos.line, i.pos.col, i.code))
    return issues


def _acts_on_every_node(step: Step) -> bool:
    """A step that changes every inventory node (``targets = "all"``, commands or an action)
    and says so: destructive, or asking a typed confirmation. "all" means the inventory's
    nodes, so only an ``inventory-complete`` guard on the step itself (a guard of an earlier
    step may not have run: skipped, or its ``when`` false) proves no cluster node is left out
    and different from the others (PVR019)."""
    return "all" in step.targets and step.kind in (StepKind.RUN, StepKind.ACTION) \
        and (step.destructive or step.confirm is not None)


def _always_fails(command: str, ok_exit: Collection[int]) -> bool:
    """Whether ``command`` is one that can only fail: ``false`` or ``exit N`` with N not an
    accepted status. The engine checks a step's expectations only when every command exited
    with an accepted status (engine/node_commands.py), so after one of these the expectations'
    messages — the advice the step exists to give — are never shown (cluster-db-reset's
    all-damaged step printed REFUSED, then `false`: the operator saw 'exit status 1')."""
    c = command.strip()
    if c in ("false", "/bin/false", "/usr/bin/false"):
        return 1 not in ok_exit
    m = re.fullmatch(r"exit\s+(\d+)", c)
    return m is not None and int(m.group(1)) not in ok_exit


def _commit_span(runbook: Runbook, step: Step) -> float:
    """Seconds the steps after ``step`` up to its last commit check may take (timeouts)."""
    ids = [s.id for s in runbook.steps]
    start = ids.index(step.id)
    end = max(ids.index(c) for c in step.commit_checks if c in ids)
    return sum(s.timeout * max(1, len(s.commands)) for s in runbook.steps[start + 1:end + 1])


def _lint_args(step: Step, state: dict[str, bool], once: Any) -> None:
    args = step.args
    for key, value in _walk(args):
        if UDPU.search(f"{key.rsplit('.', 1)[-1]}: {value}") and key.endswith("transport"):
            once("PVR004", f"transport = \"{value}\"", f"in {key}")
        elif UDPU.search(value):
            once("PVR004", value, f"in {key}")
    if step.action == "corosync-edit":
        changes = args.get("set", {})
        if isinstance(changes, dict):
            for k, v in changes.items():
                name = str(k).rsplit(".", 1)[-1]
                if name == "token_retransmit" and v not in ("", None):
                    once("PVR008", f"token_retransmit = \"{v}\"", "in args.set")
                if name == "transport" and str(v).lower() in ("udp", "udpu"):
                    once("PVR004", f"transport = \"{v}\"", "in args.set")
        source = str(args.get("source", "/etc/pve/corosync.conf"))
        dest = str(args.get("dest", source + ".new"))
        if dest == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
            once("PVR007", f"dest = \"{dest}\"", "corosync-edit writing the local copy")
        if dest == "/etc/pve/corosync.conf":
            once("PVR010", f"dest = \"{dest}\"", "corosync-edit writing in place")
        if not step.destructive and (dest == source or not dest.endswith(".new")) \
                and _under(dest):
            once("PVR009", f"dest = \"{dest}\"", "corosync-edit overwriting a live file")
    elif step.action in ("vm-config-rebuild", "pmxcfs-restore"):
        if args.get("overwrite") is True and not step.destructive:
            dest = str(args.get("dest_dir", args.get("dest", "/etc/pve")))
            if _under(dest):
                once("PVR009", "overwrite = true", f"{step.action} replacing files in {dest}")
        if step.action == "pmxcfs-restore" and not args.get("list_only") \
                and not step.destructive and _under(str(args.get("dest", "/etc/pve"))):
            once("PVR009", str(args.get("dest", "/etc/pve")), "pmxcfs-restore writes into "
                 "/etc/pve")
        if step.action == "vm-config-rebuild" and not step.destructive \
                and _under(str(args.get("dest_dir", "/etc/pve/qemu-server"))):
            once("PVR009", str(args.get("dest_dir", "/etc/pve/qemu-server")),
                 "vm-config-rebuild writes into /etc/pve")
    elif step.action == "vm-config-install" and not step.destructive \
            and _under(str(args.get("dest_dir", "/etc/pve/qemu-server"))):
        once("PVR009", str(args.get("dest_dir", "/etc/pve/qemu-server")),
             "vm-config-install writes into /etc/pve")


def describe_rules() -> str:
    """One line per rule, for docs and `--help`."""
    return "\n".join(f"{r.code} {r.slug}: {r.summary}" for r in RULES.values())
