"""Verdicts: turn captured diagnostics into findings that explain what they mean.

Each finding says what was seen, why it matters for corosync/pmxcfs and where the evidence
is, so an operator under stress learns the reasoning instead of pattern-matching on colours.
Runbook steps name a verdict from :data:`VERDICTS` (one output) or
:data:`CROSS_NODE_VERDICTS` (one output per node).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pverunbook.pve import corosync_conf, outputs, peer_sections

Level = Literal["ok", "info", "warning", "critical"]

LOSS_BAD_PCT = 1.0  # corosync's token ring suffers from ~1% loss on the ring address


@dataclass(frozen=True)
class Finding:
    severity: Level
    title: str
    detail: str
    node: str | None = None
    evidence: str | None = None


def _fmt_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --- quorum -----------------------------------------------------------------------------


def verdict_quorum(text: str) -> list[Finding]:
    """``pvecm status`` / ``corosync-quorumtool -s``: is this node quorate, and why not."""
    st = outputs.parse_quorum_status(text)
    if st.error:
        return [
            Finding(
                "critical",
                "corosync is not running on this node",
                "The quorum tool could not reach corosync, so this node is not part of any "
                "cluster membership and /etc/pve is read-only. Check `systemctl status "
                "corosync` and `journalctl -b -u corosync` for why it stopped.",
                evidence=st.error,
            )
        ]
    if st.quorate is None:
        return [Finding("info", "no quorum information in the output", "Nothing to judge.")]
    members = ", ".join(f"{m.name} (id {m.nodeid})" for m in st.members) or "none listed"
    votes = f"{st.total_votes} of {st.expected_votes} expected votes, {st.quorum} needed"
    out: list[Finding] = []
    if st.quorate:
        out.append(
            Finding(
                "ok",
                f"quorate: {votes}",
                f"This partition holds a majority, so /etc/pve is writable. Members: {members}.",
                evidence=f"Quorate: Yes; Flags: {' '.join(st.flags)}",
            )
        )
        if st.expected_votes and st.total_votes is not None and st.total_votes < st.expected_votes:
            out.append(
                Finding(
                    "warning",
                    f"{st.expected_votes - st.total_votes} expected vote(s) missing",
                    "The cluster is quorate but not complete: one more failure may cost quorum.",
                )
            )
        return out
    detail = (
        f"This partition has {votes}, so votequorum blocks activity: /etc/pve is read-only "
        "and HA nodes with active services will be fenced by their watchdog. Members seen: "
        f"{members}. Fix the network between the nodes first. `pvecm expected 1` is a last "
        "resort on ONE side only - running it on both halves causes a split brain."
    )
    if st.expected_votes == 2 and "2Node" not in st.flags:
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
    return out


# --- links ------------------------------------------------------------------------------


def verdict_links(cfgtool_text: str) -> list[Finding]:
    """``corosync-cfgtool -s``: every knet link to every peer should be connected."""
    st = outputs.parse_cfgtool_status(cfgtool_text)
    if not st.links:
        return [Finding("info", "no link status in the output", "Nothing to judge.")]
    out: list[Finding] = []
    per_peer: dict[int, list[tuple[int, bool]]] = {}
    for link in st.links:
        for peer in link.peers:
            if peer.status.startswith("localhost"):
                continue
            per_peer.setdefault(peer.nodeid, []).append((link.link, peer.ok))
            if not peer.ok:
                out.append(
                    Finding(
                        "warning",
                        f"link {link.link} to node {peer.nodeid} is {peer.status}",
                        "knet gets no heartbeat replies from that node on this link "
                        f"(local address {link.addr}). Check the NIC, cabling, switch port and "
                        "firewall (UDP 5405-5412) on both sides.",
                        evidence=f"LINK ID {link.link}: nodeid {peer.nodeid}: {peer.status}",
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
                    f"no working link to node {nodeid}",
                    "Every configured link to this node is down, so corosync cannot include "
                    "it in the membership. With one link only, a single flaky network path "
                    "partitions the cluster: add a second link (ring1_addr + "
                    "interface { linknumber: 1 }).",
                    evidence=", ".join(f"link {lk}: down" for lk, _ in states),
                )
            )
    if len(st.links) == 1 and per_peer and not out:
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


# --- journal ----------------------------------------------------------------------------


def verdict_journal(text: str, window_s: float | None = None) -> list[Finding]:
    """Count the corosync log events that show an unstable cluster network."""
    s = outputs.parse_corosync_log(text, window_s)
    counts = s.counts
    span = s.span_s
    within = f" in {_fmt_duration(span)}" if span else ""
    out: list[Finding] = []

    def first_line(kind: str) -> str | None:
        for e in s.events:
            if e.kind == kind:
                return f"line {e.lineno}: {e.text}"
        return None

    for (host, link), n in sorted(s.link_downs().items()):
        out.append(
            Finding(
                "critical" if n >= 3 else "warning",
                f"link {link} to host {host} went down {n} time{'s' * (n != 1)}{within}",
                "knet declares a link down when its pings go unanswered for knet_ping_timeout "
                "(token/2 by default). A link that keeps flapping means packet loss or latency "
                "on that network path, not a corosync bug: measure it with ping/mtr on the "
                "ring address.",
                evidence=first_line("link_down"),
            )
        )
    if counts["processor_failed"] or counts["token_not_received"]:
        n_fail, n_warn = counts["processor_failed"], counts["token_not_received"]
        out.append(
            Finding(
                "critical" if n_fail else "warning",
                f"token lost {n_fail} time(s), token late {n_warn} time(s){within}",
                "'Token has not been received' is corosync's early warning (75% of the token "
                "timeout); 'A processor failed, forming new configuration' means the token "
                "timed out and the membership is rebuilt. Each rebuild pauses pmxcfs, which is "
                "why /etc/pve hangs. With corosync 3/knet this is how a lossy network shows; "
                "'Retransmit List' lines are rare.",
                evidence=first_line("processor_failed") or first_line("token_not_received"),
            )
        )
    if counts["members"]:
        sizes = [e.count for e in s.events if e.kind == "members" and e.count is not None]
        changes = sum(1 for a, b in zip(sizes, sizes[1:], strict=False) if a != b)
        out.append(
            Finding(
                "warning" if counts["members"] > 1 else "info",
                f"membership formed {counts['members']} time(s){within}, size changed "
                f"{changes} time(s)",
                "Every 'Members[N]' line is a new membership; in a healthy cluster they appear "
                "only when nodes start or stop.",
                evidence=first_line("members"),
            )
        )
    if counts["quorum_lost"]:
        out.append(
            Finding(
                "critical",
                f"quorum lost {counts['quorum_lost']} time(s){within}",
                "'non-primary component' means this node was in a minority partition: "
                "/etc/pve turned read-only and HA would have fenced it.",
                evidence=first_line("quorum_lost"),
            )
        )
    if counts["retransmit"]:
        out.append(
            Finding(
                "warning",
                f"{counts['retransmit']} 'Retransmit List' line(s){within}",
                "Messages had to be sent again because a node missed them - another sign of "
                "packet loss on the ring.",
                evidence=first_line("retransmit"),
            )
        )
    if counts["failed_to_receive"]:
        out.append(
            Finding(
                "critical",
                "FAILED TO RECEIVE",
                "A node could not receive multicast/ring messages at all and was expelled.",
                evidence=first_line("failed_to_receive"),
            )
        )
    if not out:
        out.append(
            Finding(
                "ok",
                f"no corosync instability in the log{within}",
                "No link flaps, token timeouts or membership changes were found.",
            )
        )
    return out


# --- network paths ------------------------------------------------------------------------


def verdict_mtr(text: str) -> list[Finding]:
    """Judge loss where it matters: at the destination, not at intermediate routers."""
    rep = outputs.parse_mtr(text)
    if not rep.hops:
        return [Finding("info", "no mtr hops in the output", "Nothing to judge.")]
    dest = rep.hops[-1]
    out: list[Finding] = []
    for hop in rep.hops[:-1]:
        if hop.loss_pct > dest.loss_pct and hop.loss_pct > 0:
            out.append(
                Finding(
                    "info",
                    f"loss at hop {hop.hop} ({hop.host}) only: ICMP rate limiting on the router, "
                    "not loss",
                    f"Hop {hop.hop} shows {hop.loss_pct:g}% but the destination only "
                    f"{dest.loss_pct:g}%. Loss that does not carry through to the final hop is "
                    "the router limiting its own 'time exceeded' replies; traffic passing "
                    "through it was not dropped.",
                    evidence=f"{hop.hop}. {hop.host} {hop.loss_pct:g}%",
                )
            )
    if len(rep.hops) > 1:
        out.append(
            Finding(
                "warning",
                f"{dest.host} is {len(rep.hops)} hops away",
                "Cluster nodes on one L2 segment reach each other in one hop. A router in the "
                "path means a wrong netmask, different VLANs/subnets or a policy route, and "
                "corosync traffic then competes with everything else on that gateway. Check "
                "`ip route get <peer>` and `ip -br addr` on both nodes.",
                evidence=" -> ".join(h.host for h in rep.hops),
            )
        )
    if dest.loss_pct >= LOSS_BAD_PCT:
        out.append(
            Finding(
                "critical",
                f"{dest.loss_pct:g}% loss to {dest.host}",
                f"Loss at the destination is real: {dest.loss_pct:g}% of {dest.sent} probes "
                "never came back. corosync's token ring needs a clean network; about 1% "
                "already causes token timeouts and membership changes.",
                evidence=f"{dest.hop}. {dest.host} {dest.loss_pct:g}%",
            )
        )
    elif dest.loss_pct > 0:
        out.append(
            Finding(
                "warning",
                f"{dest.loss_pct:g}% loss to {dest.host}",
                "Small but non-zero loss at the destination; run more cycles to be sure.",
            )
        )
    else:
        out.append(
            Finding("ok", f"no loss to {dest.host}", f"{dest.sent} probes, avg {dest.avg} ms.")
        )
    return out


def verdict_ping(text: str) -> list[Finding]:
    """``ping`` summary on a ring address: loss and jitter."""
    p = outputs.parse_ping(text)
    if p is None:
        return [Finding("info", "no ping summary in the output", "Nothing to judge.")]
    target = p.target or "the peer"
    ev = f"{p.transmitted} transmitted, {p.received} received, {p.loss_pct:g}% loss"
    if p.received == 0:
        return [
            Finding(
                "critical",
                f"{target} does not answer at all",
                "No reply to any ping: the address is wrong, the node is down, or the path "
                "(VLAN, firewall, cable) is broken.",
                evidence=ev,
            )
        ]
    out: list[Finding] = []
    if p.loss_pct >= LOSS_BAD_PCT:
        out.append(
            Finding(
                "critical",
                f"{p.loss_pct:g}% packet loss to {target}",
                "corosync's token ring needs a clean network; about 1% loss already causes "
                "token timeouts, link flaps and pmxcfs stalls.",
                evidence=ev,
            )
        )
    elif p.loss_pct > 0:
        out.append(
            Finding("warning", f"{p.loss_pct:g}% packet loss to {target}", "Minor loss.", None, ev)
        )
    if (
        p.rtt_avg is not None
        and p.rtt_mdev is not None
        and p.rtt_max is not None
        and (p.rtt_max > 10 or p.rtt_mdev > 2)
    ):
        out.append(
            Finding(
                "warning",
                f"high latency/jitter to {target}: avg {p.rtt_avg} ms, max {p.rtt_max} ms, "
                f"mdev {p.rtt_mdev} ms",
                "On a LAN, round trips should stay well under a few ms; spikes mean a busy "
                "link, a loaded router or a bad NIC, and eat into corosync's token budget.",
                evidence=f"rtt min/avg/max/mdev = {p.rtt_min}/{p.rtt_avg}/{p.rtt_max}/"
                f"{p.rtt_mdev} ms",
            )
        )
    if not out:
        out.append(Finding("ok", f"{target} answers without loss", ev, evidence=ev))
    return out


def verdict_route(text: str, peer: str | None = None) -> list[Finding]:
    """``ip route get <peer ring address>``: direct (one L2 segment) or via a gateway."""
    r = outputs.parse_ip_route_get(text)
    name = peer or r.dest or "the peer"
    if r.error:
        return [Finding("critical", f"no route to {name}", r.error, evidence=r.error)]
    if r.kind == "local":
        return [Finding("info", f"{name} is a local address", "The address belongs to this node.")]
    if r.via:
        return [
            Finding(
                "warning",
                f"reaches {name} through the gateway {r.via}: the nodes are not on one L2 segment",
                "Corosync traffic is routed instead of going straight across the switch. "
                "Usually a wrong netmask, different VLANs/subnets or a policy route; a busy "
                "home or office gateway in the path is a classic cause of token timeouts.",
                evidence=text.strip().splitlines()[0],
            )
        ]
    return [
        Finding(
            "ok",
            f"{name} is directly reachable on {r.dev}",
            "Same L2 segment, no router in between.",
            evidence=text.strip().splitlines()[0],
        )
    ]


# --- config -------------------------------------------------------------------------------


_CONF_LEVEL: dict[str, Level] = {"fatal": "critical", "error": "critical", "warning": "warning"}


def verdict_corosync_conf(text: str) -> list[Finding]:
    """Wrap corosync_conf.validate() so runbooks can judge a ``cat corosync.conf``."""
    try:
        conf = corosync_conf.parse(text)
    except corosync_conf.CorosyncParseError as exc:
        return [
            Finding(
                "critical",
                f"corosync cannot parse this file (line {exc.line})",
                f"{exc.message}. corosync refuses to start with it.",
                evidence=f"line {exc.line}",
            )
        ]
    problems = corosync_conf.validate(conf)
    out = [
        Finding(
            _CONF_LEVEL[p.severity],
            f"{p.severity}: {p.key}",
            p.message,
            evidence=f"line {p.line}" if p.line else None,
        )
        for p in problems
    ]
    if not out:
        out.append(
            Finding(
                "ok",
                f"corosync.conf is valid (config_version {conf.config_version})",
                f"Effective token {corosync_conf.effective_token(conf)} ms.",
            )
        )
    return out


def verdict_cmap_stats(text: str) -> list[Finding]:
    """``corosync-cmapctl -m stats``: knet per-link down counts and latency."""
    cmap = outputs.parse_cmapctl(text)
    out: list[Finding] = []
    for (node, link), st in sorted(outputs.knet_link_stats(cmap).items()):
        if st.get("connected", 1) == 0 and st.get("enabled", 0) == 1:
            out.append(
                Finding(
                    "warning",
                    f"knet link {link} to node {node} is not connected",
                    "knet has no heartbeat on this link right now.",
                    evidence=f"stats.knet.node{node}.link{link}.connected = 0",
                )
            )
        downs = st.get("down_count", 0)
        if downs > 1:
            out.append(
                Finding(
                    "warning",
                    f"knet link {link} to node {node} went down {downs} times since start",
                    "down_count counts link flaps since corosync started; more than one means "
                    "the path drops or delays packets.",
                    evidence=f"stats.knet.node{node}.link{link}.down_count = {downs}",
                )
            )
        samples = st.get("latency_samples", 0)
        latency = st.get("latency_ave")
        if samples and latency is not None and latency > 10_000:
            out.append(
                Finding(
                    "warning",
                    f"knet link {link} to node {node}: average latency {latency} us",
                    "More than 10 ms average between cluster nodes is far too slow for a LAN.",
                    evidence=f"stats.knet.node{node}.link{link}.latency_ave = {latency}",
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
    if not out:
        out.append(Finding("ok", "knet link counters look clean", "No flaps recorded."))
    return out


# --- cross-node -------------------------------------------------------------------------

_VERSION_RE = re.compile(r"config_version\s*:\s*(\d+)")  # pmxcfs's own regex


def verdict_config_versions(confs: dict[str, str]) -> list[Finding]:
    """All nodes must run the same corosync.conf; compare config_version like pmxcfs does."""
    versions: dict[str, int | None] = {}
    for node, text in confs.items():
        m = _VERSION_RE.search(text)
        versions[node] = int(m.group(1)) if m else None
    known = {v for v in versions.values() if v is not None}
    out: list[Finding] = []
    for node, v in versions.items():
        if v is None or v == 0:
            out.append(
                Finding(
                    "critical",
                    f"{node}: config_version missing or 0",
                    "pmxcfs treats a missing or zero config_version as unparsable.",
                    node=node,
                )
            )
    if len(known) > 1:
        listing = ", ".join(f"{n}={v}" for n, v in versions.items())
        hi, lo = max(known), min(known)
        out.append(
            Finding(
                "critical",
                f"config_version differs between nodes ({hi} vs {lo})",
                "The nodes run different corosync.conf files. pmxcfs copies /etc/pve's file "
                "to /etc/corosync only when its version is not lower; a node with an older or "
                "hand-edited local file keeps it. Make /etc/pve/corosync.conf correct with a "
                "higher version, or with no quorum edit /etc/corosync/corosync.conf "
                "identically on all nodes.",
                evidence=listing,
            )
        )
        return out
    texts = {t.strip() for t in confs.values()}
    if len(texts) > 1 and known:
        out.append(
            Finding(
                "warning",
                "same config_version but different contents",
                "Someone edited a file without bumping config_version; pmxcfs will not "
                "propagate it and the nodes disagree silently.",
                evidence=", ".join(confs),
            )
        )
    if not out:
        out.append(
            Finding(
                "ok",
                f"all {len(confs)} nodes have config_version {next(iter(known), '?')}",
                "Identical corosync.conf on every node.",
            )
        )
    return out


VERDICTS: dict[str, Callable[[str], list[Finding]]] = {
    "quorum": verdict_quorum,
    "links": verdict_links,
    "corosync-journal": verdict_journal,
    # Triage probes every peer in one step, one `### peer ADDR` section each.
    "mtr": peer_sections.per_peer(verdict_mtr),
    "ping": peer_sections.per_peer(verdict_ping),
    "route": peer_sections.per_peer(verdict_route),
    "corosync-conf": verdict_corosync_conf,
    "cmap-stats": verdict_cmap_stats,
}

CROSS_NODE_VERDICTS: dict[str, Callable[[dict[str, str]], list[Finding]]] = {
    "config-versions": verdict_config_versions,
}
