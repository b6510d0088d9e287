"""Network rules: routed paths, lossy/flapping knet links, UDP lost while ICMP gets through,
MTU mismatch, ping/mtr disagreement, and the node × node link matrix.

Sources: domain notes §7 (knet log strings) and §10 (reading the story's network evidence);
corosync-cfgtool(8); ip-route(8).
"""

from __future__ import annotations

from collections.abc import Sequence

from pverunbook.pve.diagnosis.measurement import LOSS_NOT_MEASURED, TRIAGE_ID
from pverunbook.pve.diagnosis.model import (
    LOSS_BAD_PCT,
    Confidence,
    Context,
    Fault,
    ManualFix,
    NextRunbook,
    PairFacts,
    directed,
    ev,
    findings_for,
    fmt,
    icmp_clears_loss,
    icmp_sample,
    loss_text,
    num,
    pair_facts,
    pairs,
    suggest_token,
    tuned_token,
)
from pverunbook.pve.facts import Fact, FactStore


def route_via_gateway(ctx: Context) -> list[Fault]:
    """A peer reached through a gateway: host route (asymmetric) or different subnets.

    Domain notes §10: nodes on one L2 segment reach each other in one hop; a routed path puts
    corosync behind a busy gateway. A host route for an on-link peer is stale or hand-made.
    """
    store = ctx.store
    findings = ctx.findings
    out = []
    for f in store.named("route.via"):
        if not f.value or f.node is None or f.peer is None:
            continue
        a, b, gw = f.node, f.peer, str(f.value)
        back = store.get(Fact("route.via", 0, b, a).key)
        host = store.get(Fact("route.host_route", 0, a, b).key)
        on_link = store.value("route.on_link", a, b)
        hops = store.get(Fact("mtr.hops", 0, a, b).key)
        pair = pair_facts(store, a, b)
        evidence = [ev(f, f"{a} reaches {b} via {gw}")]
        if host is not None:
            evidence.append(ev(host, f"host route on {a}: {host.value}"))
        if back is not None:
            evidence.append(ev(back, f"{b} reaches {a} " + (f"via {back.value}" if back.value
                                                              else "directly")))
        if hops is not None:
            evidence.append(ev(hops, f"mtr {a}→{b}: {hops.value} hops"))
        evidence += [ev(x) for x in pair.facts()]
        evidence += findings_for(findings, [f, *([hops] if hops else [])])
        # the routed path is the root cause of whatever the link does over it: loss of any
        # size, a link down now, link downs on record. Its rank must not hang on how many
        # probes the run sent (10 pings lose 1 where 50 lose 5, and only the second counted)
        lossy = pair.lossy or pair.flaps_now > 0 or pair.flaps > 0 or pair.lost > 0 \
            or bool(pair.disconnected or pair.unreachable)
        direct_back = back is not None and not back.value
        dest = str(host.value).split()[0] if host is not None else b
        if host is not None and on_link is not False:
            statement = (f"corosync traffic from {a} to {b} is routed through {gw} by a host "
                         "route" + (f"; {b} answers directly" if direct_back else ""))
            confidence: Confidence = "high"
            action = (f"Delete the host route on {a} so it reaches {b} on the local segment, "
                      "then find what adds it at boot (/etc/network/interfaces `up ip route "
                      "add`, a script, DHCP option 121) and remove it there too. Re-run "
                      "network-triage to confirm the link is clean.")
            if on_link is True:
                # a gateway hop usually means "not one subnet" (the route verdict says so);
                # the route table shows otherwise, and says which to believe
                on = store.get(Fact("route.on_link", 0, a, b).key)
                if on is not None:
                    evidence.insert(2, ev(on, f"{b}'s address is in a subnet {a} is attached "
                                              f"to: {on.evidence}"))
                action += (f" The netmask is not the problem: {b}'s address is in a subnet "
                           f"{a} is directly attached to, so a gateway hop between them can "
                           "only come from a more specific route.")
            manual = (ManualFix(a, f"ip route del {dest} via {gw}", "fix"),)
            # the route is known exactly: the runbook that deletes it (checkpoint, COMMIT or
            # self-rollback), not another measurement
            nxt = NextRunbook("route-fix", {"route_node": a, "destination": dest, "via": gw})
        else:
            statement = (f"corosync traffic from {a} to {b} goes through the gateway {gw}: the "
                         "nodes are not on one subnet" + (f" as {a} sees it ({b} answers "
                                                          "directly)" if direct_back else ""))
            confidence = "high" if direct_back or on_link is False else "medium"
            action = (f"Compare the netmask and VLAN of the cluster address on {a} and {b} "
                      "(`ip -br addr`); put both on one L2 segment. Do not tune corosync "
                      "around a routed path.")
            manual = (ManualFix(a, "ip -br addr; ip route", "look"),)
            nxt = NextRunbook("network-triage")
        if lossy:
            statement += ", and that path " + _trouble(pair)
        out.append(Fault("route-via-gateway", statement, "critical" if lossy else "warning",
                         confidence, action, tuple(evidence),
                         nxt, manual, (a, b),
                         weight=40 if lossy else 0))
    return out



def _trouble(p: PairFacts) -> str:
    """What the link over a routed path does: ``loses packets (ping 10% …)``, or its link
    downs when ICMP lost nothing."""
    if p.lost or p.lossy:
        return f"loses packets ({loss_text(p)})"
    if p.disconnected or p.unreachable:
        return "carries no corosync traffic now (the knet link is down)"
    return f"loses packets (knet took the link down {p.flaps or p.flaps_now} times)"


def link_loss(ctx: Context) -> list[Fault]:
    """Per node pair: a link losing packets NOW, a redundant link down, or history.

    corosync 3/knet shows a lossy link as link down/up and token loss (domain notes §7); knet's
    heartbeat is UDP on 5405+, which ICMP probes never measure. knet's ``down_count`` counts
    every link-down since corosync started (a peer's reboot included) and the journal keeps the
    last hour, so both are history; "now" is what the run measured: ICMP loss with enough lost
    probes (:data:`LOSS_BAD_PCT`), link downs *between two samples* of knet's counters
    (``knet.down_delta``) and links down at the moment of the check.
    """
    store = ctx.store
    findings = ctx.findings
    nodes = ctx.nodes
    faults: list[Fault] = []
    healthy = ctx.healthy
    routed = {(f.node, f.peer) for f in store.named("route.via") if f.value}
    token = suggest_token(store)
    tuned = tuned_token(store, len(nodes) or len(store.nodes()))
    for a, b in pairs(store, nodes):
        p = pair_facts(store, a, b)
        if not (p.ping or p.mtr or p.downs or p.disconnected or p.deltas or p.unreachable
                or directed(store, "knet.connected", a, b)):
            continue
        loss = p.icmp_loss
        evidence = tuple([ev(x) for x in p.facts()] + findings_for(findings, p.facts()))
        via_gw = (a, b) in routed or (b, a) in routed
        probes = sum(int(num(x.value) or 0) for x in directed(store, "ping.sent", a, b)
                     + directed(store, "mtr.sent", a, b))
        partly = _redundant_down(store, p)
        now = bool(p.flaps_now or p.disconnected or p.unreachable)
        loaded = config_loaded(store, p) if tuned else None
        if p.lossy:
            flap = f"; knet took the link down {p.flaps} times" if p.flaps else ""
            cause = " on the routed path through the gateway" if via_gw else ""
            raised = (f"; corosync already runs a raised token of {tuned} ms: the tuning "
                      "did not help" if tuned else "")
            faults.append(Fault(
                "lossy-link",
                f"the link between {a} and {b} loses packets{cause}: {loss_text(p)}{flap}"
                f"{raised}",
                "critical", "high" if p.flaps_now or p.flaps or len(p.ping + p.mtr) > 1
                else "medium",
                ("Remove the host route first (route-fix): this loss is on the routed path "
                 "through the gateway, which the fix takes out of the way; then measure the "
                 "direct link again (network-triage). Never tune corosync around a routed "
                 "path." if via_gw else
                 f"Fix the path first (cable, switch port, duplex, the gateway in between): "
                 f"{LOSS_BAD_PCT:g}% loss takes a knet link down about once a minute with the "
                 "default token. A longer token only rides out short bursts; a second knet "
                 "link on another NIC is the durable fix.")
                + (" The token is raised already: a longer one only delays noticing a dead "
                   "node; look at the NIC error counters on both ends (`ip -s link`)."
                   if tuned else ""),
                # on a routed path the route fault's runbook comes first: no tuning offered
                evidence, None if tuned or via_gw else
                NextRunbook("corosync-tuning", {"token": token}),
                tuple(ManualFix(n, "ip -s link", "look") for n in (a, b)) if tuned else (), (a, b),
                weight=20))
        elif partly:
            faults.append(Fault(
                "redundant-link-down",
                f"a redundant knet link between {a} and {b} is down ({partly}); another link "
                "carries the traffic", "warning", "high",
                "The cluster is not affected yet, but it has lost its redundancy: one more "
                "failure cuts the nodes off. Check the NIC, cable and switch port of that link "
                "(`corosync-cfgtool -n` shows its addresses).", evidence, None, (), (a, b)))
        elif loaded is not None and not now and loaded[0] == 0 and p.flaps:
            # corosync-tuning's token is in place and the journal shows the reload (or start)
            # that brought it: downs before it are the outage the tuning answered, not the link
            # of now, and tuning again would answer them twice
            faults.append(Fault(
                "link-flaps-history",
                f"history: the knet link between {a} and {b} went down {p.flaps} times, all "
                f"before corosync loaded the configuration it runs now ({loaded[1]}); none "
                f"since, with its raised token of {tuned} ms"
                + (f" ({loss_text(p)})" if loss is not None else ""),
                "info", "high",
                "Nothing to fix now: the tuning is in place and the link has not gone down "
                "under it. Run the check again later: a link down after that reload means "
                "the tuning did not help and the link itself needs fixing (network-triage), "
                "not a longer token.",
                evidence, None, (), (a, b)))
        elif now or (p.flaps >= 2 and not p.sampled):
            what = (f"went down {p.flaps_now} times during the check" if p.flaps_now else
                    "is down now" if p.disconnected or p.unreachable else
                    f"went down {p.flaps} times")
            if loss is not None and icmp_clears_loss(store, a, b):
                # without two samples (older runs) the counts may be history: say so
                healed = not p.sampled and up_now(store, a, b) and loss == 0
                caveat = ("; it is connected from both ends right now and knet's counters were "
                          "read once, so these counts may be history" if healed else "")
                caveat += _not_helped(tuned, loaded, p)
                faults.append(Fault(
                    "udp-lost-icmp-ok",
                    f"corosync's UDP between {a} and {b} is lost while ICMP gets through "
                    f"({loss_text(p)}, {probes} probes); the knet link {what}: a firewall, "
                    f"rate limit or MTU problem drops UDP 5405, which ping cannot show{caveat}",
                    "warning" if healed else "critical",
                    "low" if healed else ("high" if p.flaps_now or p.flaps >= 3 else "medium"),
                    ("Remove the host route first (route-fix): corosync's packets take the "
                     "routed path through the gateway, which may be what drops them. Never "
                     "tune corosync around a routed path. Then l" if via_gw else
                     "Read knet's counters twice, a few minutes apart (network-triage does, "
                     "with its knet-stats step): a down count that stays the same means the "
                     "link has healed. If it grows, l" if not p.sampled else "L")
                    + "ook for rules touching UDP 5405-5412 on both nodes (`nft list ruleset`, "
                    "`iptables-save`), rate limits or storm control on the switch port, and an "
                    "MTU below 1500 on the path (`ping -M do -s 1472 PEER`). "
                    + ("The token is raised already: a longer one only delays noticing a dead "
                       "node, it does not bring the packets back." if tuned else
                       "A longer token rides out short bursts meanwhile."),
                    # on a routed path the route fault's runbook comes first: no tuning
                    evidence, None if via_gw else NextRunbook(TRIAGE_ID, {}) if tuned else
                    NextRunbook("corosync-tuning", {"token": token}),
                    tuple(ManualFix(n, "nft list ruleset | grep -n -E '540[5-9]|541[0-2]'", "look")
                          for n in (a, b)), (a, b), weight=5 if healed else 15))
            else:
                sent, lost = icmp_sample(store, a, b)
                sample = (f"; ICMP lost packets too ({loss_text(p)}: {lost} of {sent} probes), "
                          "so the path itself may be losing them: too few probes to call it "
                          "lossy, too many lost to blame UDP alone" if lost and loss is not None
                          else f"; ping/mtr sent only {probes} probes, too few to see the loss"
                          if loss is not None else "; no ping/mtr measured on it")
                faults.append(Fault(
                    "flapping-link", f"the knet link between {a} and {b} {what}{sample}"
                    + _not_helped(tuned, loaded, p),
                    "critical", "high" if p.flaps_now or p.disconnected or p.unreachable
                    else "medium",
                    ("The link is down now, not only losing packets: measure whether the "
                     "peer answers at all (network-triage: ping and mtr from both ends), then "
                     "check the path between the two (cable, switch port, VLAN, firewall on "
                     "UDP 5405-5412). A node whose every link is down is cut off: look at its "
                     "own NIC and switch port first."
                     if (p.disconnected or p.unreachable) and not p.flaps_now else
                     "Measure the link again with more probes; corosync's own counters already "
                     "say it drops packets."), evidence,
                    NextRunbook("network-triage", {"ping_count": 100, "mtr_cycles": 100}),
                    (), (a, b), weight=15))
        elif p.flaps:
            faults.append(Fault(
                "link-flaps-history",
                f"history: the knet link between {a} and {b} went down {p.flaps} times (since "
                "corosync started, or in the journal's hour); it did not go down while the run "
                "sampled knet's counters and is connected now"
                + (f" ({loss_text(p)})" if loss is not None else ""),
                "info", "high",
                "Nothing to fix now. The counts include every reboot of a peer and outages that "
                "were already fixed. Run the triage again later: a down count that grows "
                "between its two samples is a link failing again.",
                evidence, None, (), (a, b)))
        elif loss is not None or directed(store, "knet.connected", a, b):
            healthy.append(f"link {a} ↔ {b}: " + ", ".join(fine_parts(store, p)))
    return faults


def config_loaded(store: FactStore, p: PairFacts) -> tuple[int, str] | None:
    """``(link downs since, where)``: the downs the journal of each end shows after corosync
    last loaded its configuration (``journal.link_down_since_config``, the most of both ends)
    and the line that says so; None when an end with journal downs shows no such line (its
    configuration is older than the journal's window) or no journal was read.

    knet's ``down_count`` counts since corosync started, reloads included (libknet links.c),
    so it cannot tell before from after a reload: only the journal's order can.
    """
    ends = [f for f in directed(store, "journal.link_down", p.a, p.b) if (num(f.value) or 0)]
    if not ends:
        return None
    since, where = 0, []
    for f in ends:
        cut = store.get(Fact("journal.config_loaded", 0, f.node).key)
        if cut is None:
            return None
        after = num(store.value("journal.link_down_since_config", f.node, f.peer))
        since = max(since, int(after or 0))
        where.append(f"{cut.value} on {f.node}, {cut.evidence}")
    return since, "; ".join(where)


def _not_helped(tuned: int, loaded: tuple[int, str] | None, p: PairFacts) -> str:
    """The clause that says corosync-tuning is in place and the link fails under it."""
    if not tuned:
        return ""
    if loaded is not None and loaded[0]:
        when = (f"it went down {loaded[0]} times after corosync loaded that configuration "
                f"({loaded[1]})")
    elif p.flaps_now:
        when = f"it went down {p.flaps_now} times between two samples of knet's counters"
    elif p.disconnected or p.unreachable:
        when = "the link is down now"
    else:
        when = "the journal shows no reload or start in its window, so its downs all came under it"
    return (f"; corosync already runs a raised token of {tuned} ms and {when}: the tuning did "
            "not help, the link itself needs fixing")


def fine_parts(store: FactStore, p: PairFacts) -> list[str]:
    """What was measured fine on a link, both ends' evidence together, and what was not
    measured said so: a triage stopped after its first steps said "no loss, no link flaps"
    for a link whose loss and link downs nobody had read yet."""
    seen = directed(store, "knet.connected", p.a, p.b)
    out = []
    if up_now(store, p.a, p.b):
        out.append("connected from both ends now")
    elif seen and all(f.value is True for f in seen):
        out.append(f"connected as {seen[0].node} sees it")
    out.append(f"no loss ({loss_text(p)})" if p.icmp_loss is not None else
               LOSS_NOT_MEASURED)
    counted = directed(store, "knet.down_count", p.a, p.b) + \
        directed(store, "journal.link_down", p.a, p.b)
    # corosync's journal read on both nodes (facts_journal counts every kind on every node it
    # reads) and no link down in it: read, and none — not "not read"
    read = all(store.get(Fact("journal.token_lost", 0, n).key) is not None for n in (p.a, p.b))
    out.append("no link flaps" if counted and not p.flaps else
               f"{p.flaps} link downs on record" if p.flaps else
               "no link down in corosync's journal" if read else "link downs not read")
    return out


def _redundant_down(store: FactStore, p: PairFacts) -> str:
    """``"1 of 2 links"`` when some but not all knet links between the pair are down now and
    nothing else is wrong on it now (no downs while sampled, no ICMP loss); "" otherwise."""
    if p.flaps_now or p.unreachable:
        return ""
    parts = []
    for f in directed(store, "knet.links_down", p.a, p.b):
        total = num(store.value("knet.links", f.node))
        down = num(f.value)
        if total and down and 0 < down < total:
            parts.append(f"{int(down)} of {int(total)} links seen from {f.node}")
    return "; ".join(parts)


def up_now(store: FactStore, a: str, b: str) -> bool:
    """True when ``corosync-cfgtool -s`` on both nodes shows the link to the other connected."""
    seen = directed(store, "knet.connected", a, b)
    return len(seen) == 2 and all(f.value is True for f in seen)


def ping_mtr_disagree(ctx: Context) -> list[Fault]:
    """When ping and mtr disagree, say which to trust and why (domain notes §10)."""
    store = ctx.store
    out = []
    for f in store.named("ping.loss_pct"):
        if f.node is None or f.peer is None:
            continue
        m = store.get(Fact("mtr.loss_pct", 0, f.node, f.peer).key)
        pv, mv = num(f.value), num(m.value if m else None)
        if m is None or pv is None or mv is None:
            continue
        if (pv >= LOSS_BAD_PCT) == (mv >= LOSS_BAD_PCT) and abs(pv - mv) < 10:
            continue  # both say lossy (or both clean) and roughly agree
        ps = num(store.value("ping.sent", f.node, f.peer)) or 0
        ms = num(store.value("mtr.sent", f.node, f.peer)) or 0
        flaps = pair_facts(store, f.node, f.peer).flaps
        why = []
        if flaps:
            why.append(f"the link flaps ({flaps} downs), so loss comes in bursts and two "
                       "samples taken at different moments differ")
        if ps != ms:
            why.append(f"they sent different numbers of probes (ping {ps:g}, mtr {ms:g})")
        hop = store.get(Fact("mtr.hop_loss_pct", 0, f.node, f.peer).key)
        if hop is not None:
            why.append(f"mtr's {fmt(hop.value)}% at an intermediate hop is the router "
                       "rate-limiting ICMP replies, not loss")
        trust = ("the worse figure" if flaps else
                 ("ping" if ps > ms else "mtr") + " (more probes)")
        statement = (f"ping and mtr disagree on {f.node}→{f.peer} ({fmt(f.value)}% vs "
                     f"{fmt(m.value)}%): trust {trust}, and knet's own counters over both")
        out.append(Fault("ping-mtr-disagree", statement, "info", "medium",
                         "Both are ICMP samples of seconds; "
                         + ("; ".join(why) or "small samples") + ". knet's link down counts "
                         "and the journal measure corosync's own traffic over the whole hour.",
                         (ev(f), ev(m)), None, (), (f.node, f.peer)))
    return out



def mtu_mismatch(ctx: Context) -> list[Fault]:
    """knet link MTU differing between the two ends, or between pairs (PMTUd found a limit).

    knet's path MTU discovery (``corosync-cfgtool -n`` ``mtu:``) settles each link on what the
    path carries; when every small link has one node in common, that node's interface or
    switch port is the one set differently.
    """
    store = ctx.store
    nodes = ctx.nodes
    out = []
    mtus = store.named("knet.mtu")
    for a, b in pairs(store, nodes):
        both = directed(store, "knet.mtu", a, b)
        vals = {int(num(x.value) or 0) for x in both}
        if len(vals) > 1:
            out.append(Fault(
                "mtu-mismatch",
                f"knet sees different MTUs on the link between {a} and {b} "
                f"({', '.join(f'{x.node}: {fmt(x.value)}' for x in both)}): an interface or "
                "switch on the path has a smaller MTU",
                "warning", "medium",
                "Compare `ip link` MTUs of the cluster NIC and bridge on both nodes and the "
                "switch ports; make them equal (1500, or jumbo frames everywhere).",
                tuple(ev(x) for x in both), None,
                tuple(ManualFix(n, "ip link show | grep mtu", "look") for n in (a, b)), (a, b)))
    values = {int(num(x.value) or 0) for x in mtus}
    if len(values) > 1 and not out:
        lowest = min(values)
        small = [x for x in mtus if int(num(x.value) or 0) == lowest]
        # the node at one end of every small link is the one whose NIC or port differs
        common = set.intersection(*({x.node, x.peer} for x in small)) - {None}
        others = sorted(v for v in values if v != lowest)
        if len(common) == 1 and len(small) > 1:
            node = str(next(iter(common)))
            out.append(Fault(
                "mtu-mismatch",
                f"every knet link to {node} has a smaller MTU ({lowest}) than the others "
                f"({', '.join(map(str, others))}): {node}'s cluster NIC, bridge or switch port "
                "has a smaller MTU", "warning", "medium",
                f"Compare `ip link` MTUs of the cluster NIC and bridge on {node} with the other "
                "nodes and check its switch port; make them equal (1500, or jumbo frames "
                "everywhere). knet copes by sending smaller packets; other traffic on that "
                "network (migration, storage) may not.",
                tuple(ev(x) for x in mtus), None,
                (ManualFix(node, "ip link show | grep mtu", "look"),),
                (node,)))
        else:
            low = small[0]
            out.append(Fault(
                "mtu-mismatch",
                f"knet link MTUs differ between node pairs (lowest {fmt(low.value)} on "
                f"{low.node}→{low.peer})", "warning", "low",
                "A smaller path MTU on one pair means a different interface or switch setting "
                "there; compare `ip link` MTUs.", tuple(ev(x) for x in mtus), None, (),
                tuple(n for n in (low.node, low.peer) if n)))
    return out



def link_matrix(store: FactStore, nodes: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Node × node table: row = measuring node, column = peer; loss and flaps per cell.

    A cell reads ``ping 20% mtr 2% ↓72`` (↓ = link down count from the journal or knet), ``ok``
    when measured and clean, ``·`` on the diagonal and ``?`` when nothing was measured.
    """
    names = list(nodes) or store.nodes()
    rows: list[tuple[str, ...]] = [("from \\ to", *names)]
    for a in names:
        row = [a]
        for b in names:
            if a == b:
                row.append("·")
                continue
            parts = []
            ping = num(store.value("ping.loss_pct", a, b))
            mtr = num(store.value("mtr.loss_pct", a, b))
            downs = max(int(num(store.value("journal.link_down", a, b)) or 0),
                        int(num(store.value("knet.down_count", a, b)) or 0))
            via = store.value("route.via", a, b)
            connected = store.value("knet.connected", a, b)
            if ping is not None and ping > 0:
                parts.append(f"ping {ping:g}%")
            if mtr is not None and mtr > 0:
                parts.append(f"mtr {mtr:g}%")
            if downs:
                parts.append(f"↓{downs}")
            if connected is False:
                parts.append("down")
            if via:
                parts.append(f"via {via}")
            measured = any(v is not None for v in (ping, mtr, connected, via)) or downs
            row.append(" ".join(parts) if parts else ("ok" if measured else "?"))
        rows.append(tuple(row))
    return tuple(rows)

