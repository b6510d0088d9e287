"""Fact rules over network probes: ping and mtr per peer, ``ip route get`` and the route table.

Sources: iputils ping(8), mtr(8), ip-route(8); how to read them: domain notes §10.
"""

from __future__ import annotations

import ipaddress

from pverunbook.pve import outputs, peer_sections
from pverunbook.pve.facts.model import Fact, Observation


def facts_ping(obs: Observation) -> list[Fact]:
    """``ping`` per peer (``### peer ADDR`` sections): loss % and round trip in ms.

    Source: iputils ping(8) summary lines.
    """
    out: list[Fact] = []
    for addr, text in peer_sections.peers(obs.text):
        p = outputs.parse_ping(text)
        if p is None:
            continue
        peer = obs.name_of(addr or p.target or "?")
        ev = f"{p.transmitted} packets transmitted, {p.received} received, {p.loss_pct:g}% loss"
        out.append(Fact("ping.loss_pct", float(p.loss_pct), obs.node, peer, evidence=ev))
        out.append(Fact("ping.sent", p.transmitted, obs.node, peer, evidence=ev))
        if p.rtt_avg is not None:
            rtt = f"rtt min/avg/max/mdev = {p.rtt_min}/{p.rtt_avg}/{p.rtt_max}/{p.rtt_mdev} ms"
            out.append(Fact("ping.rtt_avg_ms", float(p.rtt_avg), obs.node, peer, evidence=rtt))
            if p.rtt_max is not None:
                out.append(Fact("ping.rtt_max_ms", float(p.rtt_max), obs.node, peer,
                                evidence=rtt))
    return out


def facts_mtr(obs: Observation) -> list[Fact]:
    """``mtr --report`` per peer: loss at the destination (the loss that counts), hops, rtt."""
    out: list[Fact] = []
    for addr, text in peer_sections.peers(obs.text):
        rep = outputs.parse_mtr(text)
        if not rep.hops:
            continue
        dest = rep.hops[-1]
        peer = obs.name_of(addr or dest.host)
        ev = f"{dest.hop}.|-- {dest.host} Loss% {dest.loss_pct:g} Snt {dest.sent}"
        out.append(Fact("mtr.loss_pct", float(dest.loss_pct), obs.node, peer, evidence=ev))
        out.append(Fact("mtr.sent", dest.sent, obs.node, peer, evidence=ev))
        out.append(Fact("mtr.hops", len(rep.hops), obs.node, peer,
                        evidence=" -> ".join(h.host for h in rep.hops)))
        worst = max(rep.hops[:-1], key=lambda h: h.loss_pct, default=None)
        if worst is not None and worst.loss_pct > dest.loss_pct:
            out.append(Fact("mtr.hop_loss_pct", float(worst.loss_pct), obs.node, peer,
                            evidence=f"{worst.hop}.|-- {worst.host} Loss% {worst.loss_pct:g}"))
        if dest.avg is not None:
            out.append(Fact("mtr.rtt_avg_ms", float(dest.avg), obs.node, peer, evidence=ev))
    return out


def _route_table(text: str) -> list[tuple[str, str | None, bool, str]]:
    """``ip route`` lines as (destination, gateway or None, scope link?, line)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        tokens = line.split()
        if not tokens or tokens[0] in ("cache", "local", "broadcast"):
            continue
        if tokens[0] in ("unreachable", "blackhole", "prohibit"):
            tokens = tokens[1:]
            if not tokens:
                continue
        via = tokens[tokens.index("via") + 1] if "via" in tokens[:-1] else None
        out.append((tokens[0], via, "link" in tokens and "scope" in tokens, line))
    return out


def _contains(prefix: str, addr: str) -> bool:
    try:
        net = ipaddress.ip_network(prefix if prefix != "default" else "0.0.0.0/0", strict=False)
        return ipaddress.ip_address(addr) in net
    except ValueError:
        return False


def facts_route(obs: Observation) -> list[Fact]:
    """``ip route get PEER`` per peer, and the route table (``### route-table`` section).

    ``route.via[a→b]`` is the gateway the kernel picks for b's ring address ("" = direct).
    From the table: ``route.host_route[a→b]`` is a route for b's address alone (``ADDR via
    GW`` or ``ADDR/32``), and ``route.on_link[a→b]`` says b's address is inside a subnet this
    node is directly attached to (``scope link``) — a gateway for an on-link peer is a stale
    or hand-made route, not a netmask problem. Source: ip-route(8).
    """
    out: list[Fact] = []
    for addr, text in peer_sections.peers(obs.text):
        r = outputs.parse_ip_route_get(text)
        if r.error or r.kind == "local":
            continue
        target = addr or r.dest
        if not target:
            continue
        line = next((x.strip() for x in text.splitlines() if x.strip()), "")
        peer = obs.name_of(target)
        out.append(Fact("route.via", r.via or "", obs.node, peer, evidence=line))
        if r.dev:
            out.append(Fact("route.dev", r.dev, obs.node, peer, evidence=line))
    table_text = peer_sections.section(obs.text, "route-table")
    if table_text is None:
        return out
    table = _route_table(table_text)
    own = {a for a, n in obs.names_by_addr.items() if n == obs.node}
    for addr, name in obs.names_by_addr.items():
        if name == obs.node or addr in own:
            continue
        host = next(((d, via, line) for d, via, _s, line in table
                     if d in (addr, f"{addr}/32", f"{addr}/128")), None)
        if host is not None:
            out.append(Fact("route.host_route", host[2], obs.node, name,
                            evidence=host[2]))
        on_link = next((line for d, via, scope, line in table
                        if via is None and scope and "/" in d and _contains(d, addr)), None)
        out.append(Fact("route.on_link", on_link is not None, obs.node, name,
                        evidence=on_link or "no directly attached subnet holds this address"))
    return out
