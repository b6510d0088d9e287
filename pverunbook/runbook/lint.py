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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.runbook.lint_advice import FIX
from pverunbook.runbook.model import Pos, Runbook, Step, StepKind
from pverunbook.runbook.shellwords import (
    _BACKUP_SUFFIX,
    _operands,
    _redirect_targets,
    _simple_commands,
    _split_unquoted,
    _under,
    _units,
    _words,
)


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


# -- the rules ---------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"\b(never|not|no|don'?t|do not|avoid|instead|wrong|rather than|refuses?|drops?|disables?|"
    r"fails?|mistake|dangerous|must not|forbidden|workaround|risky|warns?|warning|deprecated|"
    r"obsolete|old)\b", re.I)
_UDPU = re.compile(r"transport\s*[:=]\s*[\"']?(udpu?)\b", re.I)
_TOKEN_RETRANSMIT = re.compile(r"\btoken_retransmit\b\s*[:=]\s*\S")
_SIGKILL = {"-9", "-KILL", "-SIGKILL", "-s9", "--signal=9", "--signal=KILL", "--signal=SIGKILL"}


def _is_sigkill(words: list[str]) -> bool:
    for i, w in enumerate(words[1:], 1):
        if w in _SIGKILL:
            return True
        if w in ("-s", "--signal") and i + 1 < len(words) \
                and words[i + 1].upper().removeprefix("SIG") in ("9", "KILL"):
            return True
    return False


def _command_findings(command: str, state: dict[str, bool]) -> Iterator[tuple[str, str, str]]:
    """(code, offending text, detail) for one command line; updates the pmxcfs-running state."""
    if m := _UDPU.search(command):
        yield "PVR004", m.group(0), ""
    if m := _TOKEN_RETRANSMIT.search(command):
        yield "PVR008", m.group(0), ""
    for target in _redirect_targets(command):
        if target.strip("'\"") == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
            yield "PVR007", f"> {target}", ""
        if target.strip("'\"") == "/etc/pve/corosync.conf":
            yield "PVR010", f"> {target}", ""
        if _under(target) and not _BACKUP_SUFFIX.search(target):
            yield "PVR009", f"> {target}", "redirects output into a cluster file"
    for words in _simple_commands(command):
        yield from _simple_findings(words, state)


def _simple_findings(words: list[str], state: dict[str, bool]) -> Iterator[tuple[str, str, str]]:
    cmd = words[0]
    text = " ".join(words)
    ops = _operands(words)
    if cmd == "rm":
        if any(re.search(r"(^|/)config\.db", o) or o.rstrip("/*") == "/var/lib/pve-cluster"
               for o in ops):
            yield "PVR001", text, ""
        if any(not _under(o, ("/tmp", "/var/tmp")) for o in ops):
            yield "PVR009", text, "deletes files"
    elif cmd in ("pkill", "killall", "kill"):
        if "pmxcfs" in text and _is_sigkill(words):
            yield "PVR002", text, ""
        if "pmxcfs" in text or "corosync" in text:
            yield "PVR009", text, "kills a cluster process"
    elif cmd == "umount" or cmd == "fusermount":
        lazy = any(re.fullmatch(r"-[a-zA-Z]*[lz][a-zA-Z]*|--lazy", w) for w in words[1:])
        if lazy and any(o.rstrip("/") == "/etc/pve" for o in ops):
            yield "PVR003", text, ""
        if any(o.rstrip("/") == "/etc/pve" for o in ops):
            yield "PVR009", text, "unmounts /etc/pve"
    elif cmd == "systemctl":
        verb = ops[0] if ops else ""
        units = _units(words)
        dup = sorted({u for u in units if units.count(u) > 1})
        if dup:
            yield "PVR005", text, ", ".join(dup)
        cluster_units = {"corosync", "pve-cluster"}
        if verb in ("stop", "restart", "kill", "disable", "mask", "try-restart",
                    "reload-or-restart") and cluster_units & set(units):
            yield "PVR009", text, "stops or restarts cluster services"
        if verb in ("reboot", "poweroff", "halt", "kexec"):
            yield "PVR009", text, "reboots or powers off the node"
        if "pve-cluster" in units:
            if verb in ("stop", "kill", "mask"):
                state["pmxcfs"] = False
            elif verb in ("start", "restart", "try-restart", "reload-or-restart"):
                state["pmxcfs"] = True
    elif cmd == "pmxcfs":
        state["pmxcfs"] = True
        yield "PVR009", text, "starts pmxcfs by hand"
    elif cmd in ("reboot", "poweroff", "shutdown", "halt"):
        yield "PVR009", text, "reboots or powers off the node"
    elif cmd in ("qm", "pct") and ops and ops[0] in ("destroy", "rollback", "delsnapshot"):
        yield "PVR009", text, f"{cmd} {ops[0]}"
    elif cmd == "pvecm" and ops:
        if ops[0] == "expected" and len(ops) > 1 and ops[1] == "1":
            yield "PVR006", text, ""
        if ops[0] in ("expected", "delnode", "add", "create", "qdevice", "updatecerts"):
            yield "PVR009", text, f"pvecm {ops[0]} changes the cluster"
    elif cmd == "corosync-quorumtool" and re.search(r"(^|\s)-e\s*1\b", text):
        yield "PVR006", text, ""
        yield "PVR009", text, "changes expected votes"
    elif cmd == "truncate" and _pmxcfs_refuses_size(words):
        pass  # pmxcfs refuses the size before changing anything (see _pmxcfs_refuses_size)
    elif cmd in ("mv", "cp", "install", "tee", "dd", "truncate", "ln"):
        dests = [w[3:] for w in words if w.startswith("of=")] if cmd == "dd" else (
            ops if cmd in ("tee", "truncate") else ops[-1:])
        if cmd == "mv":
            dests = ops  # moving a cluster file away is as destructive as overwriting one
        for d in dests:
            d = d.strip("'\"")
            if d == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if d == "/etc/pve/corosync.conf" and cmd in ("tee", "dd", "truncate"):
                yield "PVR010", text, ""
            if _under(d) and (cmd == "mv" or not _BACKUP_SUFFIX.search(d)):
                yield "PVR009", text, f"{cmd} over {d}"
    elif cmd in ("sed", "perl") and any(w.startswith("-i") or w == "--in-place" for w in words):
        for o in ops:
            o = o.strip("'\"")
            if o == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if o == "/etc/pve/corosync.conf":
                yield "PVR010", text, ""
            if _under(o):
                yield "PVR009", text, f"edits {o} in place"
    elif cmd in ("vi", "vim", "nano", "editor", "emacs", "ed"):
        for o in ops:
            if o == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if o == "/etc/pve/corosync.conf":
                yield "PVR010", text, ""
    elif cmd == "sqlite3" and any("config.db" in w for w in words) and re.search(
            r"\.restore|\.import|\b(delete|update|insert|drop|replace)\b", text, re.I):
        yield "PVR009", text, "writes to the pmxcfs database"


#: pmxcfs's largest file (pve-cluster memdb.h MEMDB_MAX_FILE_SIZE, 1 MiB).
_PMXCFS_MAX_FILE = 1024 * 1024


def _pmxcfs_refuses_size(words: list[str]) -> bool:
    """``truncate --no-create -s N FILE…`` under /etc/pve with N above pmxcfs's file limit.

    pmxcfs refuses such a size change with EFBIG before it changes anything: memdb.c
    memdb_pwrite checks ``offset + count > MEMDB_MAX_FILE_SIZE`` before it raises the version
    or touches the file, on every node the write is replicated to (verified on pmxcfs 9.1.6:
    config.db's version unchanged). network-triage asks exactly this to learn whether pmxcfs
    accepts writes without writing anything. Without ``--no-create`` a missing file would be
    created, so that form still counts as a write.
    """
    if "-c" not in words and "--no-create" not in words:
        return False
    size = None
    for i, w in enumerate(words):
        if w == "-s" and i + 1 < len(words):
            size = words[i + 1]
        elif w.startswith("--size="):
            size = w.split("=", 1)[1]
    files = [w for w in _operands(words) if w != size]
    return (size is not None and size.isdigit() and int(size) > _PMXCFS_MAX_FILE
            and bool(files) and all(w.strip("'\"").startswith("/etc/pve/") for w in files))


#: Cluster state whose removal on a node separates it from the cluster (pvecm.adoc "Separate a
#: Node Without Reinstalling") or loses /etc/pve (config.db): once per node, never everywhere.
_CLUSTER_STATE = re.compile(
    r"^(/etc/corosync(/.*)?|/etc/pve/corosync\.conf|/var/lib/corosync(/.*)?|"
    r"/var/lib/pve-cluster(/.*)?|.*(^|/)config\.db.*)$")


def _cluster_state(path: str) -> bool:
    p = path.strip("'\"")
    return bool(_CLUSTER_STATE.match(p)) and not _BACKUP_SUFFIX.search(p.rstrip("*"))


def _wipes(words: list[str], state: dict[str, bool]) -> str | None:
    """Why this simple command wipes or dissolves cluster state, or None.

    ``state["local_mode"]`` is set by ``pmxcfs -l`` earlier in the same step: a write to
    /etc/pve in local mode bypasses quorum and is replicated nowhere (pmxcfs.adoc).
    """
    cmd, ops = words[0], _operands(words)
    if cmd in ("rm", "unlink", "shred", "truncate") and any(_cluster_state(o) for o in ops):
        return "deletes " + ", ".join(o for o in ops if _cluster_state(o))
    if cmd == "find" and ("-delete" in words or "-exec" in words) \
            and any(_cluster_state(o) for o in words[1:] if o.startswith("/")):
        return "deletes files under " + next(o for o in words[1:] if _cluster_state(o))
    if cmd == "mv" and any(_cluster_state(o) for o in ops[:-1]):
        return "moves " + ", ".join(o for o in ops[:-1] if _cluster_state(o)) + " away"
    if cmd == "pvecm" and ops[:1] == ["delnode"]:
        return "removes a node from the cluster"
    if cmd == "sqlite3" and any("config.db" in w for w in words) and re.search(
            r"\b(delete|drop|update|insert|replace)\b|\.restore|\.import", " ".join(words),
            re.I):
        return "edits the pmxcfs database (config.db) by hand"
    if cmd == "pmxcfs" and ("-l" in words or "--local" in words):
        state["local_mode"] = True
    elif state.get("local_mode") and (
            (cmd in ("rm", "mv", "cp", "tee", "truncate", "install", "ln")
             and any(_under(o, ("/etc/pve",)) for o in ops))
            or (cmd in ("sed", "perl") and "-i" in " ".join(words))):
        return "writes /etc/pve in pmxcfs local mode (`pmxcfs -l`)"
    return None


def _wipe_findings(command: str, state: dict[str, bool]) -> Iterator[tuple[str, str]]:
    for target in _redirect_targets(command):
        if state.get("local_mode") and _under(target, ("/etc/pve",)):
            yield f"> {target}", "writes /etc/pve in pmxcfs local mode (`pmxcfs -l`)"
    for words in _simple_commands(command):
        why = _wipes(words, state)
        if why:
            yield " ".join(words), why


_MEMBERSHIP_UNITS = frozenset(("corosync", "pve-cluster"))
_LEAVING_VERBS = frozenset(("stop", "restart", "try-restart", "reload-or-restart",
                            "try-reload-or-restart", "kill"))


def _membership_restarts(command: str) -> Iterator[str]:
    """`systemctl stop|restart ... corosync|pve-cluster`: the node leaves the membership."""
    for words in _simple_commands(command):
        if len(words) > 2 and words[0] == "systemctl" and words[1] in _LEAVING_VERBS \
                and _MEMBERSHIP_UNITS & set(_units(words)):
            yield " ".join(words)


def _where_many(step: Step) -> str | None:
    """How the step reaches more than one node, or None when it is bounded to one."""
    if "all" in step.targets:
        return 'targets = "all": every node'
    if len(step.targets) > 1:
        return f"targets = {list(step.targets)}: several nodes"
    if "{{" in step.targets[0] and step.max_targets != 1:
        return (f"targets = \"{step.targets[0]}\" is chosen by a parameter and the step has "
                "no max_targets = 1")
    return None


#: POSIX reserved words that can start a simple command's segment (XCU 2.4)
_RESERVED = frozenset(("if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!",
                       "{", "}"))


def _pve_glob_unquoted(part: str) -> bool:
    """An unquoted /etc/pve path with a glob (`ls /etc/pve/nodes/*/qemu-server/`).

    The shell expands a glob itself, reading the directories under /etc/pve *before* it runs
    `timeout`, so `timeout 5 ls /etc/pve/nodes/*/...` still hangs with a hung pmxcfs (a
    readdir through FUSE waits like any other access). Inside `timeout 5 sh -c '...'` the
    glob is quoted and expanded by the bounded shell.
    """
    quote = ""
    word: list[str] = []
    globbed = False
    for ch in part + " ":
        if quote:
            if ch == quote:
                quote = ""
            word.append(ch)
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch.isspace():
            text = "".join(word).lstrip("$(`")
            if globbed and text.startswith("/etc/pve"):
                return True
            word, globbed = [], False
        else:
            globbed = globbed or ch in "*?["
            word.append(ch)
    return False


def _touches_pve_untimed(command: str) -> bool:
    """A simple command with an /etc/pve path operand that is not wrapped in `timeout`, or
    one whose /etc/pve glob the shell expands before `timeout` runs."""
    for part in _split_unquoted(command):
        if _pve_glob_unquoted(part):
            return True
        words = _words(part)
        # assignments and the shell's reserved words (`if timeout 5 test ...; then ...`)
        # come before the command itself
        while words and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
                         or words[0] in _RESERVED):
            sub = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\$\((\S+)", words[0])
            # `x=$(timeout 5 ls /etc/pve/...)`: the command substitution is the command
            words = [sub.group(1), *words[1:]] if sub else words[1:]
        if not words:
            continue
        uses_pve = any(_under(w, ("/etc/pve",)) for w in words[1:]) or any(
            _under(t, ("/etc/pve",)) for t in _redirect_targets(part))
        if uses_pve and words[0].rsplit("/", 1)[-1] not in ("timeout", "test", "[") \
                and words[0] not in ("echo", "printf"):
            return True
        if uses_pve and words[0] in ("test", "["):
            return True
    return False


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
    for m in _UDPU.finditer(text):
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


def _expected_one_proven(step: Step) -> bool:
    """Whether the step's ``when`` reads, over every node, that no node is quorate and on how
    many nodes corosync runs (``not any(quorum.quorate)`` and ``count(corosync.running)``):
    the only evidence that a lone node is not merely cut off from a quorate majority."""
    if step.condition is None:
        return False
    quants = step.condition.quantifiers()
    return ("any", "quorum.quorate") in quants and any(
        name == "corosync.running" for fn, name in quants if fn in ("count", "all"))


def _multi_node(step: Step) -> bool:
    return len(step.targets) > 1 or step.targets[0] == "all"


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
        many = _where_many(step)
        wipe_state: dict[str, bool] = {}
        for command in step.commands:
            for needle, why in _wipe_findings(command, wipe_state):
                if many:
                    once("PVR013", needle, f"{why}; {many}")
            for needle in _membership_restarts(command):
                if many:
                    once("PVR016", needle, many)
        for command in runs:
            for code, needle, detail in _command_findings(command, state):
                if code == "PVR009" and step.destructive:
                    continue
                if code == "PVR006" and not _multi_node(step):
                    if not _expected_one_proven(step):
                        once("PVR015", needle, detail)
                    continue
                once(code, needle, detail)
            if _touches_pve_untimed(command) and step.kind is not StepKind.MANUAL:
                once("PVR011", command)
        # Backup outputs run before the step: they must be read-only and bounded too.
        for command in step.backup.outputs:
            for code, needle, detail in _command_findings(command, dict(state)):
                once(code, needle, detail or "in a backup output command")
            if _touches_pve_untimed(command):
                once("PVR011", command)

        for field_name, text in (("explain", step.explain), ("hint", step.hint),
                                 ("instructions", step.instructions), ("title", step.title)):
            hit = _prose_recommends_udpu(text)
            if hit:
                once("PVR004", hit, f"in {field_name}")

        if step.action:
            _lint_args(step, state, once)
        if step.commit_within is not None and step.commit_checks:
            needed = _commit_span(runbook, step)
            if needed + 30 > step.commit_within:
                once("PVR014", f"commit_within = {step.commit_within}",
                     f"the steps up to its last commit check may take {needed:g} s")
    issues.sort(key=lambda i: (i.pos.line, i.pos.col, i.code))
    return issues


def _commit_span(runbook: Runbook, step: Step) -> float:
    """Seconds the steps after ``step`` up to its last commit check may take (timeouts)."""
    ids = [s.id for s in runbook.steps]
    start = ids.index(step.id)
    end = max(ids.index(c) for c in step.commit_checks if c in ids)
    return sum(s.timeout * max(1, len(s.commands)) for s in runbook.steps[start + 1:end + 1])


def _lint_args(step: Step, state: dict[str, bool], once: Any) -> None:
    args = step.args
    for key, value in _walk(args):
        if _UDPU.search(f"{key.rsplit('.', 1)[-1]}: {value}") and key.endswith("transport"):
            once("PVR004", f"transport = \"{value}\"", f"in {key}")
        elif _UDPU.search(value):
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


def describe_rules() -> str:
    """One line per rule, for docs and `--help`."""
    return "\n".join(f"{r.code} {r.slug}: {r.summary}" for r in RULES.values())
