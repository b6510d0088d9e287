"""Parsers for the text that cluster diagnostics print (corosync tools, journal, mtr, ping, ip).

Pure functions over captured text, so the same code reads live SSH output, the rehearsal
cluster, real captures in the tests and outputs pasted from forums or mail. One module per thing
read: :mod:`.quorum` (pvecm status / corosync-quorumtool), :mod:`.links` (corosync-cfgtool,
cmapctl), :mod:`.journal` (corosync log lines), :mod:`.network` (mtr, ping, ip route) and
:mod:`.text` (undoing what pasting does to text). Parsers never raise on odd text: what they
cannot read stays None/empty, and the verdicts say so.
"""

from pverunbook.pve.outputs.journal import (
    PMXCFS_KINDS,
    TEMPLATES,
    JournalSummary,
    LogEvent,
    classify,
    parse_corosync_log,
    parse_timestamp,
    pmxcfs_synced_at_end,
)
from pverunbook.pve.outputs.links import (
    CfgtoolStatus,
    KnetLink,
    KnetNode,
    LinkPeer,
    LinkStatus,
    cmap_nodelist,
    knet_link_stats,
    parse_cfgtool_nodes,
    parse_cfgtool_status,
    parse_cmapctl,
)
from pverunbook.pve.outputs.network import (
    MtrHop,
    MtrReport,
    PingSummary,
    RouteInfo,
    parse_ip_route_get,
    parse_mtr,
    parse_ping,
)
from pverunbook.pve.outputs.quorum import Member, QuorumStatus, parse_nodes, parse_quorum_status
from pverunbook.pve.outputs.startup import (
    PeerLinks,
    local_nodeids,
    peer_links,
    pmxcfs_connected_at_end,
    startup_token_warnings,
)
from pverunbook.pve.outputs.text import clean, cut_at_width

__all__ = [
    "TEMPLATES",
    "CfgtoolStatus",
    "PMXCFS_KINDS",
    "JournalSummary",
    "KnetLink",
    "KnetNode",
    "LinkPeer",
    "LinkStatus",
    "LogEvent",
    "Member",
    "MtrHop",
    "MtrReport",
    "PeerLinks",
    "PingSummary",
    "QuorumStatus",
    "RouteInfo",
    "classify",
    "clean",
    "cmap_nodelist",
    "cut_at_width",
    "knet_link_stats",
    "parse_cfgtool_nodes",
    "parse_cfgtool_status",
    "parse_cmapctl",
    "parse_corosync_log",
    "parse_ip_route_get",
    "parse_mtr",
    "parse_nodes",
    "parse_ping",
    "parse_quorum_status",
    "parse_timestamp",
    "local_nodeids",
    "peer_links",
    "startup_token_warnings",
    "pmxcfs_connected_at_end",
    "pmxcfs_synced_at_end",
]
