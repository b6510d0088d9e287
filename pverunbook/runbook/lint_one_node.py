"""Commands that may run on one node at a time: the findings of PVR006/PVR013/PVR015/PVR016.

Wiping cluster state (pvecm.adoc "Separate a Node Without Reinstalling"), restarting the
membership services and `pvecm expected 1` are each right on one node and a disaster on
several. This module says what a command wipes or whom it takes out of the membership, and how
far a step reaches (its targets); :mod:`pverunbook.runbook.lint` puts the two together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pverunbook.runbook.model import Step
from pverunbook.runbook.shellwords import (
    _BACKUP_SUFFIX,
    _operands,
    _redirect_targets,
    _simple_commands,
    _under,
    _units,
)

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


def wipe_findings(command: str, state: dict[str, bool]) -> Iterator[tuple[str, str]]:
    """(offending text, why) for each part of ``command`` that wipes cluster state."""
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


def membership_restarts(command: str) -> Iterator[str]:
    """`systemctl stop|restart ... corosync|pve-cluster`: the node leaves the membership."""
    for words in _simple_commands(command):
        if len(words) > 2 and words[0] == "systemctl" and words[1] in _LEAVING_VERBS \
                and _MEMBERSHIP_UNITS & set(_units(words)):
            yield " ".join(words)


def where_many(step: Step) -> str | None:
    """How the step reaches more than one node, or None when it is bounded to one."""
    if "all" in step.targets:
        return 'targets = "all": every node'
    if len(step.targets) > 1:
        return f"targets = {list(step.targets)}: several nodes"
    if "{{" in step.targets[0] and step.max_targets != 1:
        return (f"targets = \"{step.targets[0]}\" is chosen by a parameter and the step has "
                "no max_targets = 1")
    return None


def expected_one_proven(step: Step) -> bool:
    """Whether the step's ``when`` reads, over every node, that no node is quorate and on how
    many nodes corosync runs (``not any(quorum.quorate)`` and ``count(corosync.running)``):
    the only evidence that a lone node is not merely cut off from a quorate majority."""
    if step.condition is None:
        return False
    quants = step.condition.quantifiers()
    return ("any", "quorum.quorate") in quants and any(
        name == "corosync.running" for fn, name in quants if fn in ("count", "all"))


def multi_node(step: Step) -> bool:
    """Whether the step names several nodes or all of them (a parameter names exactly one)."""
    return len(step.targets) > 1 or step.targets[0] == "all"
