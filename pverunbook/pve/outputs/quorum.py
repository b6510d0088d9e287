"""``pvecm status`` / ``corosync-quorumtool -s|-siH|-l`` and ``pvecm nodes``.

Format: corosync tools/corosync-quorumtool.c and pve-docs pvecm.adoc (domain.md section 6).
``pvecm status`` prints a ``Cluster information`` block and then execs
``corosync-quorumtool -siH``. pve-docs samples underline with ``~~~``, the programs with dashes.
Corosync 2 printed the ring id as a number (``1928`` or ``1/348``), corosync 3 as ``rep.seq`` hex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.outputs.text import clean

#: QDevice flags per member (votequorum.5): A/NA alive, V/NV voting, MW/NMW master wins, NR not
#: registered. corosync-quorumtool.c prints exactly ``A|NA,V|NV,MW|NMW`` or ``NR``; ``MNW`` is how
#: pcs's own test fixtures (pcs_test/tier0/lib/corosync/test_live.py) spell NMW, read the same.
_QD_FLAG = r"(?:N?A|N?V|N?MW|MNW|NR)"
_QD_FLAGS = re.compile(rf"{_QD_FLAG}(?:,{_QD_FLAG})*")
_UNDERLINE = re.compile(r"^\s*[-~=]{3,}\s*$")
_NODEID = re.compile(r"0x[0-9a-fA-F]{1,8}|\d{1,10}")


@dataclass(frozen=True)
class Member:
    nodeid: int
    votes: int
    name: str  # node name (pvecm nodes) or ring address (pvecm status = quorumtool -siH)
    local: bool = False
    qdevice: str | None = None  # "A,V,NMW" column when a QDevice is configured

    @property
    def qdevice_flags(self) -> frozenset[str]:
        """The QDevice column as a set: {"A", "NV", "NMW"}; empty without a QDevice column."""
        if not self.qdevice:
            return frozenset()
        return frozenset("NMW" if f == "MNW" else f for f in self.qdevice.split(","))

    @property
    def is_qdevice(self) -> bool:
        """The ``0x00000000 ... Qdevice`` row: the QDevice's own votes, not a node."""
        return self.nodeid == 0


@dataclass
class QuorumStatus:
    cluster_name: str | None = None
    config_version: int | None = None
    transport: str | None = None
    secure_auth: str | None = None
    date: str | None = None
    provider: str | None = None
    nodes: int | None = None
    node_id: int | None = None
    ring_id: str | None = None
    quorate: bool | None = None
    expected_votes: int | None = None
    highest_expected: int | None = None
    total_votes: int | None = None
    quorum: int | None = None
    activity_blocked: bool = False
    flags: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    error: str | None = None  # e.g. "Cannot initialize CMAP service": corosync is down
    #: Votes the QDevice is configured to give (``Qdevice (votes 1)``), when the row says so.
    qdevice_configured_votes: int | None = None

    @property
    def has_qdevice(self) -> bool:
        return "Qdevice" in self.flags or any(m.is_qdevice for m in self.members)

    @property
    def nodes_members(self) -> list[Member]:
        """Members that are cluster nodes (the QDevice row left out)."""
        return [m for m in self.members if not m.is_qdevice]

    @property
    def qdevice_member(self) -> Member | None:
        return next((m for m in self.members if m.is_qdevice), None)


def _nodeid(token: str) -> int | None:
    if not _NODEID.fullmatch(token):
        return None
    return int(token, 16) if token.lower().startswith("0x") else int(token)


def _int_or_none(text: str) -> int | None:
    m = re.match(r"\s*(\d{1,12})", text)
    return int(m.group(1)) if m else None


def _members(lines: list[str]) -> tuple[list[Member], int | None]:
    out: list[Member] = []
    configured: int | None = None
    qdevice_col = False
    for line in lines:
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] == "Nodeid":
            qdevice_col = "Qdevice" in tokens
            continue
        nodeid = _nodeid(tokens[0])
        if nodeid is None or len(tokens) < 3 or not re.fullmatch(r"\d{1,6}", tokens[1]):
            continue
        rest = tokens[2:]
        qd = None
        if qdevice_col and len(rest) >= 2 and _QD_FLAGS.fullmatch(rest[0]):
            qd, rest = rest[0], rest[1:]
        local = rest[-1] == "(local)"
        if local:
            rest = rest[:-1]
        name = " ".join(rest)
        if nodeid == 0:
            m = re.match(r"Qdevice\s*\(votes\s+(\d{1,6})\)", name)
            if m:
                configured, name = int(m.group(1)), "Qdevice"
        out.append(Member(nodeid, int(tokens[1]), name, local, qd))
    return out, configured


def parse_quorum_status(text: str) -> QuorumStatus:
    """Parse ``pvecm status``, ``corosync-quorumtool -s/-siH`` or ``pvecm nodes``/``-l``.

    Fields that are absent stay None; the parser never raises on odd text. ``error`` holds the
    tool's own complaint when it could not reach corosync (it prints that on stderr: pass
    stdout and stderr together to see it).
    """
    st = QuorumStatus()
    member_lines: list[str] = []
    in_members = False
    for raw in clean(text).splitlines():
        line = raw.rstrip()
        if "Cannot initialize" in line or "Cannot connect" in line:
            st.error = line.strip()
        if _UNDERLINE.match(line):
            continue
        if line.strip() == "Membership information":
            in_members = True
            continue
        if line.strip().endswith("information"):
            in_members = False
            continue
        if in_members:
            member_lines.append(line)
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Name":
            st.cluster_name = value
        elif key == "Config Version":
            st.config_version = _int_or_none(value)
        elif key == "Transport":
            st.transport = value
        elif key == "Secure auth":
            st.secure_auth = value
        elif key == "Date":
            st.date = value
        elif key == "Quorum provider":
            st.provider = value
        elif key == "Nodes":
            st.nodes = _int_or_none(value)
        elif key == "Node ID":
            st.node_id = _nodeid(value.split()[0]) if value else None
        elif key == "Ring ID":
            st.ring_id = value
        elif key == "Quorate":
            st.quorate = value.lower().startswith("yes")
        elif key == "Expected votes":
            st.expected_votes = _int_or_none(value)
        elif key == "Highest expected":
            st.highest_expected = _int_or_none(value)
        elif key == "Total votes":
            st.total_votes = _int_or_none(value)
        elif key == "Quorum":
            st.quorum = _int_or_none(value)
            st.activity_blocked = "Activity blocked" in value
        elif key == "Flags":
            st.flags = value.split()
    st.members, st.qdevice_configured_votes = _members(member_lines)
    if st.quorate is None and st.flags:
        st.quorate = "Quorate" in st.flags  # docs excerpts that start at "Votequorum"
    if st.quorate is None and st.activity_blocked:
        # corosync-quorumtool.c prints "Activity blocked" after the quorum exactly when the
        # node is not quorate: a paste trimmed to the votequorum lines still says so.
        st.quorate = False
    return st


def parse_nodes(text: str) -> list[Member]:
    """``pvecm nodes`` / ``corosync-quorumtool -l``."""
    return parse_quorum_status(text).members
