"""What every verdict shares: findings, the names of the cluster's nodes, and failed reads.

A verdict must never judge the output of a command that failed to read its input: an empty
``cat`` of a hung ``/etc/pve`` is not "a corosync.conf without a nodelist". :func:`failed_read`
turns an exit status that means "the tool did not answer" into one clear finding instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["ok", "info", "warning", "critical"]
LEVELS: tuple[Level, ...] = ("ok", "info", "warning", "critical")


@dataclass(frozen=True)
class Finding:
    severity: Level
    title: str
    detail: str
    node: str | None = None
    evidence: str | None = None
    #: The node (name when known) the finding is about, for a node × node view; None if none.
    peer: str | None = None


def worst(findings: Iterable[Finding]) -> Level:
    """The most severe level among ``findings`` ("ok" for none)."""
    return max((f.severity for f in findings), key=LEVELS.index, default="ok")


@dataclass
class PeerNames:
    """Corosync node ids and ring addresses → node names, so findings name nodes, not ids.

    Seeded from the inventory (names and addresses, node ids where it lists them) and completed
    from outputs that tie the two together (:func:`pverunbook.pve.verdicts.learn`): the
    ``Local node ID`` of ``corosync-cfgtool -s`` on a named node, the membership of
    ``pvecm status``, a corosync.conf nodelist. Mutable on purpose: one object per run.
    """

    by_nodeid: dict[int, str] = field(default_factory=dict)
    by_addr: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, nodes: Iterable[tuple[str, Iterable[str], int | None]]) -> PeerNames:
        """From ``(name, addresses, nodeid or None)`` per inventory node."""
        out = cls()
        for name, addrs, nodeid in nodes:
            for addr in addrs:
                if addr:
                    out.by_addr.setdefault(addr, name)
            if nodeid is not None:
                out.by_nodeid[nodeid] = name
        return out

    @property
    def names(self) -> set[str]:
        return set(self.by_addr.values()) | set(self.by_nodeid.values())

    def name_of_id(self, nodeid: int | None) -> str | None:
        return None if nodeid is None else self.by_nodeid.get(nodeid)

    def node(self, nodeid: int | None) -> str:
        """``pve001 (nodeid 2)`` when the name is known, else ``nodeid 2``."""
        if nodeid is None:
            return "an unknown node"
        name = self.by_nodeid.get(nodeid)
        return f"{name} (nodeid {nodeid})" if name else f"nodeid {nodeid}"

    def addr(self, addr: str) -> str:
        """``pve001 (192.168.4.201)`` when the address is a known ring address, else as is."""
        name = self.by_addr.get(addr)
        return f"{name} ({addr})" if name and name != addr else addr

    def learn_id(self, nodeid: int, name_or_addr: str) -> None:
        """Tie a node id to a name (or to an address the inventory names)."""
        name = self.by_addr.get(name_or_addr, name_or_addr)
        if not name or _looks_like_addr(name):
            return
        self.by_nodeid.setdefault(nodeid, name)


def _looks_like_addr(text: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*", text))


@dataclass(frozen=True)
class VerdictInput:
    """One node's output of one step, with how the command ended.

    ``exit_status`` is None when the command never finished (timed out, killed); ``timed_out``
    says it was stopped by the step's timeout. ``stderr`` carries the tool's own complaint.
    """

    text: str = ""
    stderr: str = ""
    exit_status: int | None = 0
    timed_out: bool = False
    timeout_s: float | None = None


def fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _exit_meaning(status: int) -> tuple[str, str]:
    """(short reason for the title, longer explanation) of an exit status without an answer."""
    if status == 124:
        return ("the command hung and `timeout` stopped it",
                "reads under /etc/pve hang when pmxcfs is stuck or waits for quorum; check "
                "`systemctl status pve-cluster corosync` and `journalctl -b -u pve-cluster`")
    if status == 126:
        return "the command could not be executed", "check its permissions"
    if status == 127:
        return ("the command was not found", "it is not installed on this node, or not in PATH")
    if status > 128:
        return f"killed by signal {status - 128}", "something stopped the command"
    return "the command failed", "the tool reported an error instead of an answer"


def failed_read(what: str, inp: VerdictInput) -> Finding:
    """"could not read WHAT: why" for a command that ended without an answer.

    ``what`` names the input ("corosync.conf", "the quorum status"). The reason is the tool's
    last stderr line when it said one, else what the exit status means (124 = ``timeout``
    fired, 127 = not found, >128 = killed, None = the step's own timeout).
    """
    said = _last_line(inp.stderr)
    if inp.exit_status is None:
        limit = f" within {inp.timeout_s:g} s" if inp.timeout_s else ""
        short = f"the command did not finish{limit}"
        longer = ("it was stopped by the step's timeout" if inp.timed_out
                  else "it never returned an exit status")
        status = "no exit status"
    else:
        short, longer = _exit_meaning(inp.exit_status)
        status = f"exit status {inp.exit_status}"
    reason = said if said and inp.exit_status != 124 else short
    detail = (f"The command ended with {status} ({short}: {longer}). What it printed is not "
              f"{what}, so nothing was judged from it. Fix the read, then run the step again.")
    return Finding("warning", f"could not read {what}: {reason} ({status})", detail,
                   evidence=said or _last_line(inp.text) or None)


def not_understood(what: str, missing: str, text: str) -> Finding:
    """"could not read WHAT": the command answered, but not in a form this verdict knows."""
    n = len([ln for ln in text.splitlines() if ln.strip()])
    seen = f"{n} non-empty line(s), none of them {missing}" if n else "no output at all"
    return Finding(
        "warning",
        f"could not read {what}: {missing} not found",
        f"The output has {seen}, so nothing could be judged. Check that the command is the "
        "right one for this node's versions and that its output was not cut or reformatted.",
        evidence=_last_line(text) or None,
    )
