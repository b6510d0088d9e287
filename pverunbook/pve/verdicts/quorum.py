"""``pvecm status`` / ``corosync-quorumtool -s``: quorate or not, why, and how close to losing it.

Exit statuses (corosync-quorumtool(8)): 0 quorate, 2 not quorate (``-s`` only), 1 any error —
"Cannot initialize CMAP service" on stderr means corosync is not running. QDevice flags per
member (votequorum_qdevice(8), pvecm.adoc "Corosync External Vote Support"): A/NA alive,
V/NV voting, MW/NMW master wins, NR not registered.
"""

from __future__ import annotations

from pverunbook.pve import outputs
from pverunbook.pve.verdicts.base import Finding, Level, PeerNames, VerdictInput, not_understood

#: Exit statuses of ``corosync-quorumtool -s`` / ``pvecm status`` that carry an answer.
ANSWERS = frozenset({0, 2})


def corosync_down(inp: VerdictInput) -> list[Finding] | None:
    """The tool's own word that corosync is not running (exit 1, message on stderr)."""
    st = outputs.parse_quorum_status(inp.text + "\n" + inp.stderr)
    return [_down(st.error)] if st.error else None


def _down(error: str) -> Finding:
    return Finding(
        "critical",
        "corosync is not running on this node",
        "The quorum tool could not reach corosync, so this node is not part of any cluster "
        "membership and /etc/pve is read-only. Check `systemctl status corosync` and "
        "`journalctl -b -u corosync` for why it stopped.",
        evidence=error,
    )


def _label(m: outputs.Member, names: PeerNames) -> str:
    name = names.by_addr.get(m.name)
    if name is None and m.nodeid in names.by_nodeid:
        name = names.by_nodeid[m.nodeid]
    return f"{name} ({m.name})" if name and name != m.name else m.name


def _qdevice(st: outputs.QuorumStatus, names: PeerNames) -> list[Finding]:
    nodes = st.nodes_members
    qd_row = st.qdevice_member
    not_voting = [m for m in nodes if "NV" in m.qdevice_flags]
    not_alive = [m for m in nodes if "NA" in m.qdevice_flags]
    not_registered = [m for m in nodes if "NR" in m.qdevice_flags]
    row_silent = qd_row is not None and qd_row.votes == 0
    if not (not_voting or not_alive or not_registered or row_silent):
        return []
    total, quorum = st.total_votes, st.quorum
    node_votes = max((m.votes for m in nodes), default=1)
    margin = ""
    if st.quorate and total is not None and quorum is not None and total - node_votes < quorum:
        margin = (f" With {total} vote(s) and {quorum} needed, losing any one node now loses "
                  "quorum: the QDevice was added to prevent exactly that.")
    flags = ", ".join(f"{_label(m, names)}: {m.qdevice}" for m in nodes if m.qdevice)
    if not_alive or not_registered:
        who = ", ".join(_label(m, names) for m in (not_alive or not_registered))
        title = f"QDevice daemon not running or not registered on {who}"
        cause = ("NA/NR means corosync-qdevice is not running (or not registered with "
                 "votequorum) on those nodes: `systemctl status corosync-qdevice` there.")
    else:
        title = "QDevice is registered but NOT voting"
        cause = ("Every node's corosync-qdevice is alive (A) but the QDevice gives no vote (NV): "
                 "qnetd is unreachable from the nodes (TCP 5403), its certificates do not match "
                 "the cluster's, or qnetd is down.")
    detail = (
        f"{cause}{margin} Check `corosync-qdevice-tool -sv` on the nodes and, on the QNetd host, "
        "`systemctl status corosync-qnetd` and `corosync-qnetd-tool -lv`. If the QNetd host "
        "was reinstalled, `pvecm qdevice remove` and `pvecm qdevice setup <addr>` again."
    )
    parts = [flags] if flags else []
    if qd_row is not None:
        configured = (f" of {st.qdevice_configured_votes} configured"
                      if st.qdevice_configured_votes is not None else "")
        parts.append(f"Qdevice row votes {qd_row.votes}{configured}")
    severity: Level = "critical" if st.quorate is False else "warning"
    return [Finding(severity, title, detail, evidence="; ".join(parts) or None)]


def _votes(st: outputs.QuorumStatus) -> str:
    """"T of E expected votes, Q needed", or what is missing when a paste lost the
    ``Votequorum information`` block (corosync-quorumtool prints ``Quorate:`` in the block
    before it, so a trimmed paste can say quorate without saying why)."""
    if st.total_votes is None and st.expected_votes is None and st.quorum is None:
        return "vote counts not in this output (no 'Votequorum information' block)"

    def show(n: int | None) -> str:
        return "?" if n is None else str(n)

    return (f"{show(st.total_votes)} of {show(st.expected_votes)} expected votes, "
            f"{show(st.quorum)} needed")


def verdict_quorum(text: str, names: PeerNames | None = None) -> list[Finding]:
    """``pvecm status`` / ``corosync-quorumtool -s``: is this node quorate, and why not.

    ``names`` turns member addresses into node names. Unreadable text gives a "could not read"
    finding, never an empty OK.
    """
    names = names or PeerNames()
    st = outputs.parse_quorum_status(text)
    if st.error:
        return [_down(st.error)]
    if st.quorate is None:
        # A membership list alone (`pvecm nodes`, `corosync-quorumtool -l`, or a paste cut to its
        # last block) cannot say whether the node is quorate, but its QDevice column still can
        # say that the QDevice is not voting: report both, never an empty OK.
        unread = not_understood("the quorum status", "a 'Quorate:' or 'Flags:' line", text)
        return [unread] + (_qdevice(st, names) if st.has_qdevice else [])
    members = ", ".join(
        f"{_label(m, names)} (id {m.nodeid})" for m in st.nodes_members
    ) or "none listed"
    votes = _votes(st)
    out: list[Finding] = []
    qdevice = _qdevice(st, names) if st.has_qdevice else []
    if st.quorate:
        out.append(
            Finding(
                "ok",
                f"quorate: {votes}",
                f"This partition holds a majority, so /etc/pve is writable. Members: {members}.",
                evidence="Quorate: Yes" + (f"; Flags: {' '.join(st.flags)}" if st.flags
                                           else ""),
            )
        )
        if (not qdevice and st.expected_votes and st.total_votes is not None
                and st.total_votes < st.expected_votes):
            seen = {names.by_addr.get(m.name, m.name) for m in st.nodes_members}
            seen |= {names.by_nodeid[m.nodeid] for m in st.nodes_members
                     if m.nodeid in names.by_nodeid}
            missing = sorted(n for n in set(names.by_addr.values()) if n not in seen)
            who = f" ({', '.join(missing)} not in the membership)" if missing and seen else ""
            spare = st.total_votes - st.quorum if st.quorum is not None else None
            margin = ("one more failure may cost quorum." if spare is None else
                      "no vote to spare: losing any one more vote (a node or the QDevice) loses "
                      "quorum." if spare <= 0 else
                      f"it can lose {spare} more vote(s) before quorum is lost.")
            out.append(
                Finding(
                    "warning",
                    f"{st.expected_votes - st.total_votes} expected vote(s) missing{who}",
                    f"The cluster is quorate but not complete: {margin}",
                    evidence=f"Total votes: {st.total_votes}; Expected votes: "
                    f"{st.expected_votes}",
                )
            )
        return out + qdevice + _vote_setup(st)
    detail = (
        f"This partition has {votes}, so votequorum blocks activity: /etc/pve is read-only "
        "and HA nodes with active services will be fenced by their watchdog. Members seen: "
        f"{members}. Fix the network between the nodes first. `pvecm expected 1` is a last "
        "resort for a node whose every peer is powered off or has corosync stopped: on a "
        "node merely cut off, while the others may be quorate, or on both halves, it makes "
        "a second quorate partition (split brain; votequorum.c)."
    )
    if st.expected_votes == 2 and "2Node" not in st.flags and not st.has_qdevice:
        detail += (
            " In a 2-node cluster without a QDevice, losing either node always loses quorum;"
            " a QDevice is the durable fix."
        )
    out.append(
        Finding(
            "critical",
            f"NOT quorate: {votes}",
            detail,
            evidence=f"Quorate: No; Quorum: {st.quorum}"
            + (" Activity blocked" if st.activity_blocked else ""),
        )
    )
    return out + qdevice + _vote_setup(st)


def two_node_with_more_votes(st: outputs.QuorumStatus) -> bool:
    """``Flags: 2Node`` while 3 or more votes are expected: ``two_node: 1`` left behind.

    votequorum.c: with two_node set, quorum is forced to 1 whenever only two nodes' votes
    remain, so a later split between the last two leaves both halves quorate.
    """
    return "2Node" in st.flags and (st.expected_votes or 0) >= 3


def no_vote_to_spare(st: outputs.QuorumStatus) -> bool:
    """A quorate 2-node cluster without QDevice or two_node: either node's loss costs quorum."""
    return bool(st.quorate and st.expected_votes == 2 and "2Node" not in st.flags
                and not st.has_qdevice and st.quorum == 2)


def _vote_setup(st: outputs.QuorumStatus) -> list[Finding]:
    """Vote settings that are fine today and fail on the next outage (votequorum(5))."""
    out: list[Finding] = []
    if two_node_with_more_votes(st):
        out.append(Finding(
            "warning",
            f"`two_node: 1` is set in a cluster of {st.expected_votes} expected votes: a latent "
            "split brain",
            "Flags shows 2Node although more than two votes are expected: `two_node: 1` was left "
            "in corosync.conf (from when the cluster had two nodes). votequorum then forces the "
            "quorum to 1 once only two members remain, so if those two are later split from "
            "each other, BOTH halves stay quorate and may both write /etc/pve and run HA "
            "guests. Remove `two_node` from the quorum section of /etc/pve/corosync.conf "
            "(raise config_version) now, while the cluster is healthy.",
            evidence=f"Flags: {' '.join(st.flags)}; Expected votes: {st.expected_votes}"))
    if no_vote_to_spare(st):
        out.append(Finding(
            "warning",
            "2-node cluster without a QDevice: no vote to spare",
            "Quorum needs both votes, so losing either node (a reboot, a link flap) makes "
            "/etc/pve read-only on the survivor. A QDevice on a third machine (runbook "
            "qdevice-setup) gives the vote that lets one node carry on.",
            evidence=f"Expected votes: {st.expected_votes}; Quorum: {st.quorum}; "
                     f"Flags: {' '.join(st.flags)}"))
    return out
