"""knet links: ``corosync-cfgtool -s`` (any layout) and ``corosync-cmapctl -m stats`` counters.

``corosync-cfgtool -s`` exits 1 when a link is faulty (corosync-cfgtool(8)) and when it cannot
reach corosync ("Could not initialize corosync configuration API"), so both 0 and 1 carry an
answer; the text tells which.
"""

from __future__ import annotations

from pverunbook.pve import outputs
from pverunbook.pve.verdicts.base import Finding, PeerNames, VerdictInput, not_understood

ANSWERS = frozenset({0, 1})
#: Heartbeat samples after which knet's latency_ave is judged (about a minute of pings at the
#: default interval, token/4 (corosync totemconfig.c); knet keeps up to 2048, KNET_PING_PRECISION)
LATENCY_SETTLED_SAMPLES = 64


def corosync_down(inp: VerdictInput) -> list[Finding] | None:
    st = outputs.parse_cfgtool_status(inp.text + "\n" + inp.stderr)
    return [_down(st.error)] if st.error and not st.links else None


def _down(error: str) -> Finding:
    return Finding(
        "critical",
        "corosync is not running on this node",
        "corosync-cfgtool could not reach corosync, so this node has no knet links at all. "
        "Check `systemctl status corosync` and `journalctl -b -u corosync`.",
        evidence=error,
    )


def verdict_links(cfgtool_text: str, names: PeerNames | None = None) -> list[Finding]:
    """``corosync-cfgtool -s``: every knet link to every peer should be connected."""
    names = names or PeerNames()
    st = outputs.parse_cfgtool_status(cfgtool_text)
    if not st.links:
        if st.error:
            return [_down(st.error)]
        return [not_understood("the link status", "a 'LINK ID' or 'RING ID' block", cfgtool_text)]
    out: list[Finding] = []
    per_peer: dict[int, list[tuple[int, bool]]] = {}
    by_index = st.generation.startswith("3.0.0")  # "node 0:" is a nodelist index, not an id

    def label(nodeid: int) -> str:
        return f"node index {nodeid} (corosync 3.0.0 lists no ids)" if by_index \
            else names.node(nodeid)

    for link in st.links:
        if link.legacy_status is not None:
            out += _legacy(link)
        for peer in link.peers:
            if peer.status.startswith("localhost") or (
                    not by_index and peer.nodeid == st.local_nodeid):
                continue
            who = label(peer.nodeid)
            per_peer.setdefault(peer.nodeid, []).append((link.link, peer.ok))
            if not peer.ok:
                out.append(
                    Finding(
                        "warning",
                        f"link {link.link} to {who} is {peer.status}",
                        "knet gets no heartbeat replies from that node on this link "
                        f"(local address {link.addr}). Check the NIC, cabling, switch port and "
                        "firewall (UDP 5405-5412) on both sides.",
                        evidence=f"LINK ID {link.link}: nodeid {peer.nodeid}: {peer.raw}",
                        peer=names.name_of_id(peer.nodeid),
                    )
                )
        if link.brief:
            digits = [c for c in link.brief if c.isdigit()]
            if any(c != "3" for c in digits):
                out.append(
                    Finding(
                        "warning",
                        f"link {link.link} brief status {link.brief}",
                        "Each digit is one node: 3 = enabled and connected, anything else means "
                        "a node on this link is down or disabled.",
                        evidence=f"status = {link.brief}",
                    )
                )
    for nodeid, states in per_peer.items():
        if states and not any(ok for _, ok in states):
            out.append(
                Finding(
                    "critical",
                    f"no working link to {label(nodeid)}",
                    "Every configured link to this node is down, so corosync cannot include "
                    "it in the membership. With one link only, a single flaky network path "
                    "partitions the cluster: add a second link (ring1_addr + "
                    "interface { linknumber: 1 }).",
                    evidence=", ".join(f"link {lk}: down" for lk, _ in states),
                    peer=names.name_of_id(nodeid),
                )
            )
    if not per_peer and not any(lk.legacy_status or lk.brief for lk in st.links):
        out.append(Finding(
            "warning",
            "no peer listed on any link: this node sees no other node",
            "corosync-cfgtool lists only this node. Either the cluster has one node, or "
            "corosync has not loaded the other nodes from corosync.conf (a nodelist with one "
            "node, a config that was not reloaded, or a corosync bug such as corosync issue "
            "643). Compare `corosync-cmapctl -b nodelist` with /etc/corosync/corosync.conf.",
            evidence=f"LINK ID {st.links[0].link}: only the local node",
        ))
    if len(st.links) == 1 and (per_peer or st.links[0].legacy_status) and not out:
        out.append(
            Finding(
                "info",
                "only one corosync link is configured",
                "All peers are connected now, but there is no redundant path: knet can fail "
                "over between links only if there is a second one.",
            )
        )
    if not out:
        out.append(Finding("ok", "all corosync links connected", "knet sees every peer."))
    return out


def _legacy(link: outputs.LinkStatus) -> list[Finding]:
    """corosync 2 (PVE ≤ 5) ring status: ``ring 0 active with no faults`` or ``FAULTY``."""
    if not link.legacy_faulty:
        return []
    return [
        Finding(
            "critical",
            f"ring {link.link} is FAULTY (corosync 2 redundant ring)",
            "corosync 2 marked this ring faulty after losing packets on it and stopped using "
            "it; with one ring left there is no redundancy. Fix the network, then "
            "`corosync-cfgtool -r` re-enables the ring. corosync 2 is PVE 5 or older: plan "
            "the upgrade to corosync 3 / knet.",
            evidence=f"RING ID {link.link}: status = {link.legacy_status}",
        )
    ]


#: Link downs since corosync started (beyond the link's own start) that one sample cannot tell
#: from peers' restarts: up to this many are told as history (info), more as a warning.
HISTORY_DOWNS = 2


def verdict_cmap_stats(text: str, names: PeerNames | None = None) -> list[Finding]:
    """``corosync-cmapctl -m stats``: knet per-link down counts and latency."""
    names = names or PeerNames()
    cmap = outputs.parse_cmapctl(text)
    if not cmap:
        return [not_understood("the corosync counters", "a 'key (type) = value' line", text)]
    out: list[Finding] = []
    for (node, link), st in sorted(outputs.knet_link_stats(cmap).items()):
        who = names.node(node)
        peer = names.name_of_id(node)
        if st.get("connected", 1) == 0 and st.get("enabled", 0) == 1:
            out.append(
                Finding(
                    "warning",
                    f"knet link {link} to {who} is not connected",
                    "knet has no heartbeat on this link right now.",
                    evidence=f"stats.knet.node{node}.link{link}.connected = 0",
                    peer=peer,
                )
            )
        # down_count counts the link's start too (libknet links.c knet_link_set_enable:
        # enabling a link not yet connected is a down): a healthy link reads 1
        downs = st.get("down_count", 0) - 1
        if downs > 0:
            # a count since start is history, not what the link does now: a peer's own
            # restart or reboot (its corosync stopped, the link went down until it was back)
            # counts one too, so one or two say nothing about the path by themselves; the
            # journal tells a clean leave from a loss, the next sample whether it goes on
            few = downs <= HISTORY_DOWNS
            out.append(
                Finding(
                    "info" if few else "warning",
                    f"knet link {link} to {who} went down {downs} times since start",
                    "down_count counts link downs since corosync started, one of them the "
                    "link's start. "
                    + ("One or two more are also what a peer's own restart or reboot leaves "
                       "(the link is down until it is back): the corosync journal says whether "
                       "that peer left cleanly or the token was lost; a second sample says "
                       "whether it still goes down." if few else
                       "More than that means the path drops or delays packets."),
                    evidence=f"stats.knet.node{node}.link{link}.down_count = {downs}",
                    peer=peer,
                )
            )
        samples = st.get("latency_samples", 0)
        latency = st.get("latency_ave")
        # latency_ave is a running mean over the samples since the link came up (libknet
        # threads_heartbeat.c); right after corosync starts a few slow first pongs dominate it
        # (tens of ms for the first tens of seconds), so it is judged once it has settled
        if samples and latency is not None and latency > 10_000 \
                and samples < LATENCY_SETTLED_SAMPLES:
            out.append(Finding(
                "info",
                f"knet link {link} to {who}: average latency {latency} us over only {samples} "
                "samples (start-up, not settled yet)",
                "The link came up moments ago; its average still carries the first heartbeats. "
                "Read the counters again in a minute.",
                evidence=f"stats.knet.node{node}.link{link}.latency_samples = {samples}",
                peer=peer,
            ))
        elif samples and latency is not None and latency > 10_000:
            out.append(
                Finding(
                    "warning",
                    f"knet link {link} to {who}: average latency {latency} us",
                    "More than 10 ms average between cluster nodes is far too slow for a LAN.",
                    evidence=f"stats.knet.node{node}.link{link}.latency_ave = {latency}",
                    peer=peer,
                )
            )
    token = cmap.get("runtime.config.totem.token")
    if token is not None:
        out.append(
            Finding(
                "info",
                f"effective token timeout {token} ms",
                "runtime.config.totem.token includes token_coefficient for 3+ nodes; "
                "consensus defaults to 1.2 times this.",
            )
        )
    if not any(k.startswith("stats.knet.") for k in cmap):
        # corosync-cmapctl(8): without `-m stats` it prints the icmap (config and runtime keys);
        # the knet counters live in the stats map only. Never call that "clean".
        kinds = sorted({k.split(".", 1)[0] for k in cmap})
        out.append(Finding(
            "warning", "no knet link counters in this output",
            "This is corosync's configuration map (" + ", ".join(f"{k}.*" for k in kinds[:6])
            + "), not its statistics: knet's per-link down_count, latency and packet counters "
            "are in the stats map, which `corosync-cmapctl` prints only with `-m stats`. Run "
            "`corosync-cmapctl -m stats | grep knet` to judge the links.",
            evidence=f"{len(cmap)} keys, none under stats.knet."))
    elif not out:
        out.append(Finding("ok", "knet link counters look clean", "No flaps recorded."))
    return out
