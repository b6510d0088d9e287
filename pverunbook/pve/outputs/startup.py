"""What a start-up logs that is not a fault, told apart from what is.

A healthy start of corosync (and of pmxcfs before it) logs lines that, anywhere else, would mean
trouble: knet's ``has no active links`` before a peer's first heartbeat, a token warning while
the first membership forms, pmxcfs's ``cpg_initialize failed`` before corosync runs. Each rule
here reads the order of events in a parsed log (:class:`~pverunbook.pve.outputs.journal.
JournalSummary`) and says which lines belong to a start-up; pure functions, never raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pverunbook.pve.outputs.journal import JournalSummary, LogEvent, _last_index


def pmxcfs_connected_at_end(s: JournalSummary) -> bool:
    """pmxcfs reached corosync after its last failure to (``cpg/quorum/cmap_initialize
    failed``): a CPG membership (``members: 1/1234, ...``), ``node has quorum`` or a resync
    comes later in the log.

    pve-cluster.service is ordered ``Before=corosync.service`` (debian/pve-cluster.service:
    pmxcfs writes /etc/corosync/corosync.conf from /etc/pve), so every boot of a cluster node
    logs those failures; pmxcfs retries each service every 5 s (loop.c service_start_job) and
    connects once corosync is up. True also when the log has no such failure.
    """
    return _last_index(s, "pmxcfs_members", "pmxcfs_quorum_ok", "pmxcfs_sync", "pmxcfs_synced",
                       "pmxcfs_verified") > _last_index(s, "pmxcfs_no_corosync")


@dataclass
class PeerLinks:
    """What the log says about the knet links to one peer (one corosync nodeid).

    knet logs ``host: host: N has no active links`` both when every link to N failed (a
    cut-off) and at start-up, before N's first heartbeat arrived. The two are told apart by
    order: after a ``startup`` event, a peer whose link was never up yet is only waiting.
    """

    up_since_start: bool = False  # a link to the peer was up since the last start-up
    cut_offs: int = 0  # "no active links" after a link was up (or with no start-up logged)
    startup_waits: int = 0  # "no active links" while waiting for the first heartbeat
    first_cut: LogEvent | None = None
    recovered: bool = False  # a link came up again after the last cut-off
    last_wait: LogEvent | None = None
    #: start-up "no active links" lines that the peer's first heartbeat later answered
    startup_answered: list[LogEvent] = field(default_factory=list)
    startup_pending: list[LogEvent] = field(default_factory=list)
    #: The peer was shut down by its admin ("Node N was shut down by sysadmin") and no link came
    #: up since; its "no active links" lines then are expected, counted here, not as cut-offs.
    shut_down: bool = False
    shut_down_waits: int = 0


def local_nodeids(summary: JournalSummary) -> set[int]:
    """The node id(s) of the node that wrote the log: the one member of a ``Members[1]: N``
    line (only this node can be alone in its own membership: corosync forms that at every
    start and after every cut-off). knet adds the local host too and may log ``host: host: N
    has no active links`` for it at start, before its loopback link is set up: never a peer."""
    out: set[int] = set()
    for e in summary.events:
        if e.kind == "members" and e.count == 1:
            m = re.search(r"Members\[1\]:\s*(\d{1,10})\b", e.text)
            if m:
                out.add(int(m.group(1)))
    return out


def peer_links(summary: JournalSummary) -> dict[int, PeerLinks]:
    """Per peer nodeid: cut-offs versus start-up waits, in log order (this node's own id left
    out, :func:`local_nodeids`). Never raises."""
    peers: dict[int, PeerLinks] = {}
    started = False
    local = local_nodeids(summary)
    stopping = False  # this node's own corosync is on its way out (knet tears links down)
    for e in summary.events:
        if e.kind == "startup":
            started, stopping = True, False
            for p in peers.values():
                p.up_since_start = False
            continue
        if e.kind == "stopping":
            stopping = True
        if stopping:
            continue
        if e.kind == "new_membership":
            for host in e.left:  # a peer whose corosync stopped: not cut off (left_cleanly)
                if summary.left_cleanly(e, host):
                    peers.setdefault(host, PeerLinks()).shut_down = True
            continue
        if e.host is None or e.host in local:
            continue
        p = peers.setdefault(e.host, PeerLinks())
        if e.kind == "link_up":
            p.shut_down = False
            p.up_since_start = True
            p.startup_answered += p.startup_pending
            p.startup_pending = []
            if p.cut_offs:
                p.recovered = True
        elif e.kind == "link_down":
            p.up_since_start = True  # it was up, or it could not go down
        elif e.kind == "admin_shutdown":
            p.shut_down = True
        elif e.kind == "no_active_links":
            if p.shut_down:
                p.shut_down_waits += e.repeats
            elif started and not p.up_since_start:
                p.startup_waits += e.repeats
                p.last_wait = e
                p.startup_pending.append(e)
            else:
                p.cut_offs += e.repeats
                p.first_cut = p.first_cut or e
                p.recovered = False
    return peers


#: A token warning this close to the start, or to the last knet link that came up since, seconds,
#: belongs to the first membership's merge: the merge waits for the join messages of the peers
#: whose links just came up, at most the consensus timeout (1.2 x token) and the token itself.
STARTUP_MEMBERSHIP_S = 30.0
MERGE_AFTER_LINK_UP_S = 15.0


def startup_token_warnings(summary: JournalSummary) -> list[LogEvent]:
    """``Token has not been received`` lines that belong to a start-up, not to the network.

    When peers first join a node that started alone (``Members[1]``), totemsrp leaves its
    one-node ring for gather and commit; the token warning timer measures from the last token
    the node received (totemsrp.c ``timer_function_orf_token_warning``: now minus
    ``stats.token[latest_token].rx``), so a merge that takes longer than ``token_warning`` % of
    the token timeout (75 % by default) logs the line once while the membership forms, on a
    loaded host especially. Such a line is start-up when it comes after a start-up, before the
    first membership with more than one member (``Members[N]``, N > 1), with no ``A processor
    failed`` (a lost token) in between, and, when the log has times, within
    :data:`STARTUP_MEMBERSHIP_S` of the start or :data:`MERGE_AFTER_LINK_UP_S` of the last
    knet link that came up (a node booted long before its peers merges when their links come
    up). Returns those lines in log order; never raises.
    """
    out: list[LogEvent] = []
    started: LogEvent | None = None
    link_up: LogEvent | None = None
    pending: list[LogEvent] = []

    def merging(w: LogEvent) -> bool:
        if w.time is None or started is None or started.time is None:
            return True
        if (w.time - started.time).total_seconds() <= STARTUP_MEMBERSHIP_S:
            return True
        return (link_up is not None and link_up.time is not None
                and 0 <= (w.time - link_up.time).total_seconds() <= MERGE_AFTER_LINK_UP_S)

    for e in summary.events:
        if e.kind == "startup":
            if started is None:
                started, link_up, pending = e, None, []
            continue
        if started is None:
            continue
        if e.kind == "link_up":
            link_up = e
        elif e.kind == "token_not_received":
            if merging(e):
                pending.append(e)
        elif e.kind in ("processor_failed", "shutdown"):
            started, pending = None, []
        elif e.kind == "members" and (e.count or 0) > 1:
            out += pending
            started, pending = None, []
    return out
