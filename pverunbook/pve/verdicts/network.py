"""The path to a peer: ``mtr``, ``ping`` and ``ip route get`` on the ring address.

Thresholds: pve-docs pvecm.adoc ("Cluster Network": corosync needs LAN latency, under 5 ms
round trip); loss as :data:`LOSS_BAD_PCT` says. Latency and jitter are
judged as well as loss: 130 ms to a peer is far outside what corosync wants, loss or not.
"""

from __future__ import annotations

from pverunbook.pve import outputs
from pverunbook.pve.verdicts.base import Finding, PeerNames, VerdictInput, not_understood

#: Loss that counts (the diagnosis's rule, pve/diagnosis/model.py): at least this many percent
#: with at least LOSS_MIN_LOST probes lost. knet pings every token/4 and drops a link after
#: token/2 without a pong (corosync totemconfig.c), about once a minute at 5% one-way loss;
#: one lost echo of 50 (2%) is no evidence of that on its own.
LOSS_BAD_PCT = 5.0
LOSS_MIN_LOST = 3
RTT_WARN_MS = 5.0  # pvecm.adoc: cluster network latency must stay under 5 ms
RTT_CRIT_MS = 50.0  # a WAN-like path: token budget eaten, pmxcfs writes crawl
#: Round-trip variation (mtr's StDev, ping's mdev) as large as the whole LAN budget above.
#: 2 ms warned on a healthy switched LAN of three nodes under CPU load: 5 probes, one of them
#: 4.6 ms, gave StDev 2.0 (mtr's StDev of a handful of probes is one spike). knet's pong
#: timeout is token/2 (1.5 s by default, corosync totemconfig.c): jitter that moves it is
#: hundreds of ms, and an average or worst round trip out of the LAN's range is judged above.
JITTER_WARN_MS = 5.0

#: ping exits 1 when no reply came back (iputils ping(8)); that is an answer.
PING_ANSWERS = frozenset({0, 1})


def _latency(host: str, avg: float | None, worst: float | None, jitter: float | None,
             evidence: str, jitter_name: str = "StDev") -> list[Finding]:
    if avg is None:
        return []
    out: list[Finding] = []
    worst_s = f", worst {worst:g} ms" if worst is not None else ""
    if avg >= RTT_WARN_MS or (worst is not None and worst >= 10 * RTT_WARN_MS):
        out.append(Finding(
            "critical" if avg >= RTT_CRIT_MS else "warning",
            f"{avg:g} ms average round trip to {host}{worst_s}",
            f"corosync wants LAN latency (under {RTT_WARN_MS:g} ms, pvecm.adoc). Slow round "
            "trips eat into the token timeout, make every /etc/pve write wait for the slowest "
            "node, and usually mean the traffic crosses a WAN, VPN, busy router or congested "
            "link. Put the cluster network on a dedicated, switched LAN.",
            evidence=evidence,
        ))
    if jitter is not None and jitter >= JITTER_WARN_MS:
        out.append(Finding(
            "warning",
            f"high jitter to {host}: {jitter_name} {jitter:g} ms",
            "Round trips vary a lot: queues fill and drain on the path (congestion, a busy "
            "gateway, bufferbloat). Spikes are what push knet over its ping timeout and make "
            "links flap even without loss.",
            evidence=evidence,
        ))
    return out


def verdict_mtr(text: str, names: PeerNames | None = None) -> list[Finding]:
    """Loss where it matters (the destination, not intermediate routers), latency and jitter."""
    names = names or PeerNames()
    rep = outputs.parse_mtr(text)
    if not rep.hops:
        missing = rep.error or "a hop row ('1.|-- host  0.0%  10 ...')"
        return [not_understood("the mtr report", missing, text)]
    dest = rep.hops[-1]
    host = names.addr(dest.host)
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
                f"{host} is {len(rep.hops)} hops away",
                "Cluster nodes on one L2 segment reach each other in one hop. A router in the "
                "path means a wrong netmask, different VLANs/subnets or a policy route, and "
                "corosync traffic then competes with everything else on that gateway. Check "
                "`ip route get <peer>` and `ip -br addr` on both nodes.",
                evidence=" -> ".join(h.host for h in rep.hops),
            )
        )
    row = (f"{dest.hop}. {dest.host} {dest.loss_pct:g}% Snt {dest.sent} Avg {dest.avg} "
           f"Wrst {dest.worst} StDev {dest.stdev}")
    lost = round(dest.loss_pct * dest.sent / 100)
    if dest.loss_pct >= LOSS_BAD_PCT and lost >= LOSS_MIN_LOST:
        out.append(
            Finding(
                "critical",
                f"{dest.loss_pct:g}% loss to {host}",
                f"Loss at the destination is real: {dest.loss_pct:g}% of {dest.sent} probes "
                f"never came back. At {LOSS_BAD_PCT:g}% knet takes a link down about once a "
                "minute with the default token (token timeouts, membership changes).",
                evidence=row,
            )
        )
    elif dest.loss_pct > 0:
        out.append(
            Finding(
                "warning",
                f"{dest.loss_pct:g}% loss to {host} ({lost} of {dest.sent} probes)",
                "Some loss at the destination, too little to call the link lossy on its own: "
                "run more cycles, and read knet's own counters (sampled twice) and the journal.",
                evidence=row,
            )
        )
    out += _latency(host, dest.avg, dest.worst, dest.stdev, row)
    if not any(f.severity in ("warning", "critical") for f in out):
        out.append(Finding("ok", f"no loss to {host}",
                           f"{dest.sent} probes, avg {dest.avg} ms.", evidence=row))
    return out


def verdict_ping(text: str, names: PeerNames | None = None) -> list[Finding]:
    """``ping`` summary on a ring address: loss, latency and jitter."""
    names = names or PeerNames()
    p = outputs.parse_ping(text)
    if p is None:
        return [not_understood("the ping result", "a 'packets transmitted' summary", text)]
    target = names.addr(p.target) if p.target else "the peer"
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
    lost = p.transmitted - p.received
    if p.loss_pct >= LOSS_BAD_PCT and lost >= LOSS_MIN_LOST:
        out.append(
            Finding(
                "critical",
                f"{p.loss_pct:g}% packet loss to {target}",
                f"At {LOSS_BAD_PCT:g}% knet takes a link down about once a minute with the "
                "default token: token timeouts, link flaps and pmxcfs stalls.",
                evidence=ev,
            )
        )
    elif p.loss_pct > 0:
        out.append(
            Finding("warning", f"{p.loss_pct:g}% packet loss to {target} ({lost} of "
                               f"{p.transmitted} probes)",
                    "Some loss, too little to call the link lossy on its own: send more probes "
                    "and read knet's own counters (sampled twice) and the journal.", None, ev)
        )
    rtt = (f"rtt min/avg/max/mdev = {p.rtt_min}/{p.rtt_avg}/{p.rtt_max}/{p.rtt_mdev} ms")
    lat = _latency(target, p.rtt_avg, p.rtt_max, p.rtt_mdev, rtt, "mdev")
    if not lat and p.rtt_max is not None and p.rtt_max > 10:
        lat = [Finding(
            "warning",
            f"latency spikes to {target}: max {p.rtt_max:g} ms (avg {p.rtt_avg} ms)",
            "On a LAN, round trips should stay well under a few ms; spikes mean a busy link, "
            "a loaded router or a bad NIC, and eat into corosync's token budget.",
            evidence=rtt,
        )]
    out += lat
    if not out:
        out.append(Finding("ok", f"{target} answers without loss", ev, evidence=ev))
    return out


def route_error(inp: VerdictInput) -> list[Finding] | None:
    """``ip route get`` exits 2 with ``RTNETLINK answers: …`` on stderr when the kernel has no
    route: that is the answer (no route), not a failed read."""
    r = outputs.parse_ip_route_get(inp.stderr + "\n" + inp.text)
    if r.error and "RTNETLINK" in r.error:
        return [Finding("critical", "no route to the peer", r.error, evidence=r.error)]
    return None


def verdict_route(text: str, peer: str | None = None,
                  names: PeerNames | None = None) -> list[Finding]:
    """``ip route get <peer ring address>``: direct (one L2 segment) or via a gateway."""
    names = names or PeerNames()
    r = outputs.parse_ip_route_get(text)
    name = peer or (names.addr(r.dest) if r.dest else "the peer")
    if r.error:
        if r.error == "no route in output":
            return [not_understood("the route", "a line of `ip route get` output", text)]
        return [Finding("critical", f"no route to {name}", r.error, evidence=r.error)]
    first = text.strip().splitlines()[0] if text.strip() else ""
    if r.kind == "unicast" and r.dev is None:
        # `ip route get` names the interface on every route it prints; a first line without
        # "dev" is something else (an error page, a shell message), not a route to judge.
        return [not_understood("the route", "a route with 'dev <interface>' (`ip route get`)",
                               text)]
    if r.kind == "local":
        return [Finding("info", f"{name} is a local address", "The address belongs to this node.")]
    if r.kind != "unicast":
        return [Finding("critical", f"{name} is {r.kind}",
                        f"The kernel answers the route lookup with '{r.kind}': packets to this "
                        "address are dropped or refused. Check `ip route` and policy rules.",
                        evidence=first)]
    if r.via:
        return [
            Finding(
                "warning",
                f"reaches {name} through the gateway {r.via}: the nodes are not on one L2 segment",
                "Corosync traffic is routed instead of going straight across the switch. "
                "Usually a wrong netmask, different VLANs/subnets or a policy route; a busy "
                "home or office gateway in the path is a classic cause of token timeouts.",
                evidence=first,
            )
        ]
    return [
        Finding(
            "ok",
            f"{name} is directly reachable on {r.dev}",
            "Same L2 segment, no router in between.",
            evidence=first,
        )
    ]
