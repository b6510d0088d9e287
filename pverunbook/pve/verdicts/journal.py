"""The corosync journal: which events show an unstable cluster network, and which are start-up.

A healthy start-up logs ``host: host: 2 has no active links`` before the peer's first heartbeat
arrives, and a first membership change as the peer joins: neither is a fault. The same "no
active links" after a link to that host was up (or with no start-up in sight) means this node
was cut off from the peer completely.
"""

from __future__ import annotations

import re

from pverunbook.pve import outputs
from pverunbook.pve.verdicts.base import Finding, PeerNames, fmt_duration, not_understood
from pverunbook.pve.verdicts.pmxcfs_log import pmxcfs_findings

#: How long after corosync starts a peer may stay unreachable before that is a finding, seconds.
STARTUP_GRACE_S = 30.0


def startup_lines(text: str) -> list[int]:
    """Line numbers (1-based, in ``outputs.clean(text)``) that are normal start-up noise.

    These are knet's ``host: host: N has no active links`` lines logged after corosync started
    and before that peer's first heartbeat, for peers whose link then came up. A runbook's
    ``absent = 'has no active links'`` must not fail a healthy start-up on them; a real cut-off
    (after the link was up, or a peer that never answers) is never in this list.
    """
    s = outputs.parse_corosync_log(text)
    return sorted({e.lineno for h in outputs.peer_links(s).values() for e in h.startup_answered})


def verdict_journal(text: str, window_s: float | None = None,
                    names: PeerNames | None = None) -> list[Finding]:
    """Count the corosync log events that show an unstable cluster network.

    ``names`` turns knet host ids into node names. A log with no corosync lines at all gives a
    "could not read" finding; journalctl's ``-- No entries --`` is an honest "nothing logged".
    """
    names = names or PeerNames()
    s = outputs.parse_corosync_log(text, window_s)
    counts = s.counts
    span = s.span_s
    within = f" in {fmt_duration(span)}" if span else ""
    out: list[Finding] = []

    def first_line(*kinds: str, host: int | None = None) -> str | None:
        for e in s.events:
            if e.kind in kinds and (host is None or e.host == host):
                return f"line {e.lineno}: {e.text}"
        return None

    hosts = outputs.peer_links(s)
    for host, h in sorted(hosts.items()):
        who = names.node(host)
        if h.cut_offs:
            back = ("; links came back later in the log" if h.recovered
                    else "; no link came back before the log ends")
            out.append(Finding(
                "critical",
                f"no active link to {who}: this node was cut off from it "
                f"{h.cut_offs} time{'s' * (h.cut_offs != 1)}{within}",
                "knet had no working link to that node at all: every configured link failed at "
                f"once{back}. corosync drops the node from the membership, and in a 2-node "
                "cluster both sides lose quorum. One link only, or all links through the same "
                "switch/gateway, turns any glitch there into a cut-off: add a second, "
                "independent link.",
                evidence=f"line {h.first_cut.lineno}: {h.first_cut.text}" if h.first_cut else None,
                peer=names.name_of_id(host),
            ))
        elif h.startup_waits and not h.up_since_start and h.last_wait is not None:
            waited = (s.last - h.last_wait.time).total_seconds() if (
                s.last and h.last_wait.time) else None
            if waited is not None and waited > STARTUP_GRACE_S:
                out.append(Finding(
                    "warning",
                    f"{who} never became reachable after corosync started "
                    f"({fmt_duration(waited)} without a link)",
                    "At start-up knet has no link to a peer until its first heartbeat arrives; "
                    "that normally takes a second or two. This peer never answered: it is down, "
                    "or UDP 5405 is blocked between the nodes, or its address in corosync.conf "
                    "is wrong.",
                    evidence=f"line {h.last_wait.lineno}: {h.last_wait.text}",
                    peer=names.name_of_id(host),
                ))

    links_of: dict[int, set[int]] = {}
    for e in s.events:
        if e.host is not None and e.link is not None and e.kind in (
                "link_down", "link_up", "best_link"):
            links_of.setdefault(e.host, set()).add(e.link)
    for (host, link), n in sorted(s.link_downs().items()):
        hl = hosts.get(host)
        others = sorted(links_of.get(host, set()) - {link})
        # Severity follows what the node lost: with another link to the same peer and no
        # "has no active links" for it, knet kept the traffic on that link (libknet picks the
        # best remaining link), so the membership never noticed.
        redundant = bool(others) and (hl is None or not hl.cut_offs)
        carried = (f" Link {', '.join(map(str, others))} to the same node stayed up and carried "
                   "the traffic (no 'has no active links' for it), so the membership was not "
                   "affected: the redundancy is degraded, not the cluster.") if redundant else ""
        out.append(
            Finding(
                "warning" if redundant or n < 3 else "critical",
                f"link {link} to {names.node(host)} went down {n} time{'s' * (n != 1)}{within}"
                + (" (a redundant link)" if redundant else ""),
                "knet declares a link down when its pings go unanswered for knet_ping_timeout "
                "(token/2 by default). A link that keeps flapping means packet loss or latency "
                "on that network path, not a corosync bug: measure it with ping/mtr on the "
                "ring address." + carried,
                evidence=first_line("link_down", host=host),
                peer=names.name_of_id(host),
            )
        )
    faulty = {e.link for e in s.events if e.kind == "ring_faulty" and e.link is not None}
    for link in sorted(faulty):
        out.append(Finding(
            "critical",
            f"ring {link} marked FAULTY (corosync 2)",
            "corosync 2's redundant ring protocol stopped using this ring after losing packets "
            "on it. `corosync-cfgtool -r` re-enables it once the network is fixed.",
            evidence=first_line("ring_faulty"),
        ))
    early = outputs.startup_token_warnings(s)
    n_early = sum(e.repeats for e in early)
    if counts["processor_failed"] or counts["token_not_received"] > n_early:
        n_fail, n_warn = counts["processor_failed"], counts["token_not_received"] - n_early
        out.append(
            Finding(
                "critical" if n_fail else "warning",
                f"token lost {n_fail} time(s), token late {n_warn} time(s){within}",
                "'Token has not been received' is corosync's early warning (75% of the token "
                "timeout); 'A processor failed, forming new configuration' means the token "
                "timed out and the membership is rebuilt. Each rebuild pauses pmxcfs, which is "
                "why /etc/pve hangs. With corosync 3/knet this is how a lossy network shows; "
                "'Retransmit List' lines are rare.",
                evidence=first_line("processor_failed") or next(
                    (f"line {e.lineno}: {e.text}" for e in s.events
                     if e.kind == "token_not_received" and e not in early), None),
            )
        )
    elif early:
        out.append(Finding(
            "info",
            f"token late {n_early} time(s) while the first membership formed after start-up",
            "corosync started alone and the peers joined it: while the new membership formed "
            "the token warning timer, which counts from the last token of the one-node ring, "
            "ran past 75% of the token timeout. No token was lost and the membership formed; "
            "a busy host at start-up does this. Not a network fault.",
            evidence=f"line {early[0].lineno}: {early[0].text}",
        ))
    out += _admin_shutdowns(s, names)
    out += _membership(s, names, within)
    if counts["quorum_lost"]:
        regained = any(
            e.kind == "quorum_regained"
            and e.lineno > max(x.lineno for x in s.events if x.kind == "quorum_lost")
            for e in s.events
        )
        out.append(
            Finding(
                "critical",
                f"quorum lost {counts['quorum_lost']} time(s){within}",
                "'non-primary component' means this node was in a minority partition: "
                "/etc/pve turned read-only and HA would have fenced it. "
                + ("Quorum came back later in the log." if regained
                   else "Quorum did not come back before the log ends."),
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
    if counts["not_scheduled"]:
        out.append(Finding(
            "warning",
            f"corosync was not scheduled in time {counts['not_scheduled']} time(s){within}",
            "'Corosync main process was not scheduled for N ms' means the corosync process "
            "itself did not get the CPU (host overload, a paused VM, swapping, a stalled disk "
            "for its logs): the token is lost without any network fault. Look at load, memory "
            "pressure and I/O on this node before blaming the network.",
            evidence=first_line("not_scheduled"),
        ))
    out += _startup(s, hosts, names)
    out += _rejoin(s, names)
    out += pmxcfs_findings(s, text)
    out += _reading_notes(s)
    if not any(f.severity in ("warning", "critical") for f in out):
        if not s.corosync_lines and not s.pmxcfs_lines and not s.no_entries:
            return [not_understood("the corosync log", "a corosync log line", text)] + out
        if s.no_entries and not s.events:
            out.append(Finding("ok", "no corosync log entries in the window",
                               "journalctl found nothing logged by corosync in that time."))
        elif s.corosync_lines or not s.pmxcfs_lines:
            out.append(
                Finding(
                    "ok",
                    f"no corosync instability in the log{within}",
                    "No link flaps, token timeouts, cut-offs or members leaving were found.",
                )
            )
        elif not any(f.severity == "ok" for f in out):
            # only pmxcfs's lines (journalctl -u pve-cluster): say nothing about corosync
            out.append(Finding("ok", f"no pmxcfs trouble in the log{within}",
                               "pmxcfs logged no lost quorum, failed sends, resync trouble or "
                               "database errors."))
    return out


def _admin_shutdowns(s: outputs.JournalSummary, names: PeerNames) -> list[Finding]:
    """A peer shut down cleanly by its admin: its leave and link downs are expected, say so."""
    out: list[Finding] = []
    for e in s.events:
        if e.kind != "admin_shutdown" or e.host is None:
            continue
        out.append(Finding(
            "info",
            f"{names.node(e.host)} shut corosync down cleanly ('was shut down by sysadmin')",
            "corosync on that node asked to leave (`corosync-cfgtool -H`, a service stop, or "
            "pacemaker stopping the stack after that node was fenced), so its leaving the "
            "membership and its knet links going down right after are expected, not a network "
            "fault. Quorum now counts without its vote(s).",
            evidence=f"line {e.lineno}: {e.text}",
            peer=names.name_of_id(e.host),
        ))
    for e in s.events:
        if e.kind != "new_membership":
            continue
        for host in e.left:
            if not s.left_cleanly(e, host) or s.shut_down_at(host, e.lineno) is not None:
                continue  # a token loss, or already told by its "shut down by sysadmin"
            out.append(Finding(
                "info",
                f"{names.node(host)} left the membership cleanly (its corosync stopped)",
                "No token was lost and no 'Failed to receive the leave message' names it: "
                "corosync on that node sent its leave message as it stopped (a service stop "
                "or restart, a reboot, SIGTERM; totemsrp.c memb_leave_message_send). Its knet "
                "links going down right after are expected, not a network fault; a node cut "
                "off by the network makes the token time out first.",
                evidence=f"line {e.lineno}: {e.text}",
                peer=names.name_of_id(host),
            ))
    return out


def _membership(s: outputs.JournalSummary, names: PeerNames, within: str) -> list[Finding]:
    """Members leaving is instability; members joining (start-up, a peer booting) is not."""
    changes = [e for e in s.events if e.kind in ("new_membership", "members", "failed_leave")]
    if not changes:
        return []
    # "Failed to receive the leave message. failed: 1" comes with the membership that lists
    # the same node as left (and is what remains when a cut line hid "Members left: 1"):
    # count each node once per moment.
    seen: set[tuple[object, int]] = set()
    left: dict[int, int] = {}
    by_admin: set[int] = set()
    hidden = sum(e.repeats for e in s.events if e.kind == "failed_leave" and not e.left)
    for e in s.events:
        if e.kind in ("new_membership", "failed_leave"):
            for nid in e.left:
                if s.shut_down_at(nid, e.lineno) is not None or (
                        e.kind == "new_membership" and s.left_cleanly(e, nid)):
                    by_admin.add(nid)  # it left because its corosync was stopped
                    continue
                if (e.time or e.lineno, nid) not in seen:
                    seen.add((e.time or e.lineno, nid))
                    left[nid] = left.get(nid, 0) + e.repeats
    # a smaller membership that no line names a leaver of (corosync 2, cut lines); named
    # leavers are counted above. Only within one run of corosync: this node's own stop and
    # start (Members[3] ... exiting, starting up ... Members[1]) is no shrink.
    shrinks, size, named = 0, None, False
    for e in s.events:
        if e.kind in ("startup", "shutdown"):
            size = None
        elif e.kind in ("new_membership", "failed_leave") and e.left:
            named = True
        elif e.kind == "members" and e.count is not None:
            if size is not None and e.count < size and not named:
                shrinks += 1
            size, named = e.count, False
    n_forms = s.counts["members"] or s.counts["new_membership"]
    lost = [e for e in s.events if e.kind in ("quorum_lost", "failed_to_receive")]
    if not left and not shrinks and not hidden and lost and not by_admin:
        # corosync 2 logs "Members[1]: 3" after a loss without naming who left; the loss
        # itself shows the membership shrank, so "only joined" would be wrong.
        return [Finding(
            "warning",
            f"membership changed {n_forms} time(s){within}; which members left is not in "
            "these lines",
            "The same lines show this node losing members (quorum lost or FAILED TO RECEIVE), "
            "but no 'Members left:' names them. Read the membership before and after in the "
            "full journal (`journalctl -u corosync`) or `pvecm status` on each node.",
            evidence=f"line {lost[0].lineno}: {lost[0].text}",
        )]
    if not left and not shrinks and not hidden and by_admin:
        who = ", ".join(names.node(n) for n in sorted(by_admin))
        return [Finding(
            "info",
            f"membership formed {n_forms} time(s){within}; only nodes that shut corosync down "
            f"left ({who})",
            "No member left the membership unexpectedly.",
            evidence=next((f"line {e.lineno}: {e.text}" for e in changes), None),
        )]
    if not left and not shrinks and not hidden:
        return [Finding(
            "info",
            f"membership formed {n_forms} time(s){within}, members only joined",
            "Every 'Members[N]' line is a new membership. Members joining (corosync starting, "
            "a peer booting) is normal; members leaving is what shows instability.",
            evidence=next((f"line {e.lineno}: {e.text}" for e in changes), None),
        )]
    n_left = (sum(left.values()) + hidden) or shrinks
    parts = [f"{names.node(n)} {c}x" for n, c in sorted(left.items())]
    if hidden:
        parts.append(f"{hidden} node(s) whose id a line cut at the terminal width hid")
    who = ", ".join(parts) or f"{shrinks} shrink(s) of the membership"
    first = next((e for e in s.events if e.left), None) or changes[0]
    return [Finding(
        "critical" if n_left >= 3 else "warning",
        f"members left the membership {n_left} time(s){within}: {who}",
        "A member leaves when corosync stops on it, it reboots, or the token cannot reach it "
        "(network). Repeated leaves and re-joins are membership churn: every change pauses "
        "pmxcfs and can cost quorum.",
        evidence=f"line {first.lineno}: {first.text}",
        peer=names.name_of_id(next(iter(left))) if len(left) == 1 else None,
    )]


def _reading_notes(s: outputs.JournalSummary) -> list[Finding]:
    out: list[Finding] = []
    if s.unreadable_cut:
        lines = ", ".join(str(n) for n in s.unreadable_cut[:5])
        out.append(Finding(
            "info",
            f"{len(s.unreadable_cut)} line(s) cut at the terminal width before they said what "
            "they report",
            "These lines were cut (ending in '>' or '…') too early to tell which event they "
            "are; they were not counted. Capture with `journalctl --no-pager -u corosync` "
            "(or `systemctl status -l --no-pager corosync`) for whole lines.",
            evidence=f"line(s) {lines}",
        ))
    if s.suppressed:
        out.append(Finding(
            "warning",
            f"journald dropped {s.suppressed} corosync message(s) (rate limit)",
            "corosync logged faster than journald's rate limit allows; the counts here are "
            "lower bounds. A flood of corosync messages is itself a sign of trouble.",
        ))
    return out


def _startup(s: outputs.JournalSummary, hosts: dict[int, outputs.PeerLinks],
             names: PeerNames) -> list[Finding]:
    """Name a start-up whose "has no active links" lines are waits, not cut-offs.

    A log pulled with ``journalctl -p warning`` keeps knet's start-up waits (warning) but drops
    the "starting up" line and the links coming up (notice/info); the watchdog's and systemd's
    start-up lines that remain still date the start (outputs.journal TEMPLATES).
    """
    # only peers whose link never came up in these lines: with the link-up line there, the
    # start-up explains itself and needs no finding
    waits = {h: p for h, p in hosts.items()
             if p.startup_waits and not p.cut_offs and not p.up_since_start}
    if not waits or not any(e.kind == "startup" for e in s.events):
        return []
    who = ", ".join(names.node(h) for h in sorted(waits))
    first = next(e for e in s.events if e.kind == "startup")
    filtered = (" The links coming up are not in these lines (knet logs them below warning "
                "priority, e.g. a log taken with `journalctl -p warning`): check `corosync-"
                "cfgtool -s` now." if not any(
                    e.kind == "startup" and re.search(r"Service engine loaded|starting up|"
                                                      r"\): started", e.text)
                    for e in s.events) else "")
    return [Finding(
        "info",
        f"corosync started here; knet waited for the first heartbeat of {who}",
        "At start-up knet has no link to a peer until that peer's first heartbeat arrives, and "
        "logs 'has no active links' meanwhile: that is a start-up, not an outage." + filtered,
        evidence=f"line {first.lineno}: {first.text}",
    )]


def _rejoin(s: outputs.JournalSummary, names: PeerNames) -> list[Finding]:
    """Quorum regained as several peers join at once, with no start-up in sight: this node had
    been alone (or in a minority) without quorum before these lines — an isolation that ended.

    vsf_quorum.c logs "within the primary component" when quorum comes (back); pmxcfs's
    status.c "node has quorum". A start-up regains quorum the same way, so a log with a
    start-up is left to the start-up finding.
    """
    if any(e.kind == "startup" for e in s.events) or s.counts["quorum_lost"]:
        return []
    back = next((e for e in s.events if e.kind in ("quorum_regained", "pmxcfs_quorum_ok")),
                None)
    joins = [e for e in s.events if e.kind == "new_membership" and len(e.joined) >= 2]
    if back is None or not joins:
        return []
    who = ", ".join(names.node(n) for n in joins[0].joined)
    return [Finding(
        "warning",
        f"this node rejoined the cluster: {who} joined at once and quorum came back",
        "Several peers joining in one membership while this node regains quorum means it had "
        "been cut off from them, without quorum (and /etc/pve read-only), before these lines "
        "begin. Look at the journal before them for the cause, and at the network between the "
        "nodes.",
        evidence=f"line {joins[0].lineno}: {joins[0].text}; line {back.lineno}: {back.text}",
    )]
