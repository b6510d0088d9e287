"""Diagnosis: from a run's facts and findings to a ranked list of faults and what to do next.

Verdicts explain one output; a diagnosis is the expert's synthesis across steps and nodes:
"corosync traffic from ryanrishi to pve001 is routed through 192.168.4.1 by a host route;
pve001 answers directly". Each :class:`Fault` carries the evidence it rests on (finding or fact
→ node → step → output line), a confidence, what to do, and either the next runbook with its
parameters filled in or the exact manual command when no runbook fits.

Everything here is pure: :func:`diagnose` reads a :class:`~pverunbook.pve.facts.FactStore` and
the findings (anything shaped like the engine's Finding event) and returns data. The sources of
the rules are the domain notes (corosync 3/knet behaviour, pmxcfs, votequorum), cited per rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from pverunbook.pve.facts import Fact, FactStore, FactValue

Severity = Literal["critical", "warning", "info"]
Confidence = Literal["high", "medium", "low"]

LOSS_BAD_PCT = 1.0  # about 1% loss on the ring address already costs corosync its token
#: ICMP probes (ping + mtr, both directions) below which "no loss" says little about a link
ICMP_PROBES_ENOUGH = 40
_SEV_WEIGHT = {"critical": 100, "warning": 50, "info": 10}
_CONF_WEIGHT = {"high": 30, "medium": 20, "low": 10}


class FindingLike(Protocol):
    """What the diagnosis reads of a finding (the engine's Finding event has these fields)."""

    @property
    def step_id(self) -> str: ...
    @property
    def node(self) -> str | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def evidence(self) -> str: ...


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: what it says, on which node, from which step, the output line."""

    what: str
    node: str | None
    step_id: str
    line: str

    def to_json(self) -> dict[str, object]:
        return {"what": self.what, "node": self.node, "step_id": self.step_id,
                "line": self.line}


@dataclass(frozen=True)
class NextRunbook:
    """The runbook to run next, with parameter values the diagnosis already knows."""

    runbook: str
    params: Mapping[str, bool | int | float | str] = field(default_factory=dict)

    def label(self) -> str:
        """``corosync-tuning (token=5000)``: how the UI and headless name the action."""
        if not self.params:
            return self.runbook
        return f"{self.runbook} ({', '.join(f'{k}={v}' for k, v in self.params.items())})"

    def to_json(self) -> dict[str, object]:
        return {"runbook": self.runbook, "params": dict(self.params)}


@dataclass(frozen=True)
class ManualFix:
    """A command to type on one node when no runbook does the job."""

    node: str
    command: str

    def to_json(self) -> dict[str, object]:
        return {"node": self.node, "command": self.command}


@dataclass(frozen=True)
class Fault:
    rule: str  # which rule found it, e.g. "route-via-gateway"
    statement: str  # one line, as a sysadmin would write it in the ticket
    severity: Severity
    confidence: Confidence
    action: str  # what to do, in a sentence or two
    evidence: tuple[Evidence, ...] = ()
    next_runbook: NextRunbook | None = None
    manual: tuple[ManualFix, ...] = ()
    nodes: tuple[str, ...] = ()
    weight: int = 0  # extra rank for a root cause that explains other faults

    @property
    def score(self) -> int:
        return _SEV_WEIGHT[self.severity] + _CONF_WEIGHT[self.confidence] + self.weight

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "statement": self.statement, "severity": self.severity,
                "confidence": self.confidence, "action": self.action,
                "evidence": [e.to_json() for e in self.evidence],
                "next_runbook": self.next_runbook.to_json() if self.next_runbook else None,
                "manual": [m.to_json() for m in self.manual], "nodes": list(self.nodes)}


@dataclass(frozen=True)
class Diagnosis:
    faults: tuple[Fault, ...]  # ranked, most important first
    healthy: tuple[str, ...] = ()  # what was measured and is fine ("other links are clean")
    matrix: tuple[tuple[str, ...], ...] = ()  # node × node table of link health, header first

    def to_json(self) -> dict[str, object]:
        return {"faults": [f.to_json() for f in self.faults], "healthy": list(self.healthy),
                "matrix": [list(r) for r in self.matrix]}


# --- helpers over the fact store ------------------------------------------------------------


#: How a fact reads as evidence, by name: "{a}", "{b}" (node, peer) and "{v}" (value).
_SAYS = {
    "ping.loss_pct": "ping {a}→{b}: {v}% loss",
    "mtr.loss_pct": "mtr {a}→{b}: {v}% loss at the destination",
    "journal.link_down": "journal on {a}: the link to {b} went down {v} times",
    "knet.down_count": "knet on {a}: link to {b} down_count {v}",
    "knet.connected": "cfgtool on {a}: link to {b} connected: {v}",
    "knet.mtu": "knet on {a}: MTU to {b} {v}",
    "quorum.quorate": "{a}: quorate: {v}",
    "quorum.members": "{a} sees members: {v}",
    "pmxcfs.write_hung": "{a}: /etc/pve write hung: {v}",
    "pmxcfs.readable": "{a}: /etc/pve readable: {v}",
    "corosync.config_version": "{a}: running config_version {v}",
    "corosync_conf.config_version": "{a}: corosync.conf config_version {v}",
}


def _ev(f: Fact, what: str | None = None) -> Evidence:
    says = _SAYS.get(f.name)
    text = what or (says.format(a=f.node, b=f.peer, v=_fmt(f.value)) if says
                    else f"{f.key} = {_fmt(f.value)}")
    return Evidence(text, f.node, f.step_id, f.evidence)


def _fmt(v: FactValue) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _num(v: FactValue | None) -> float | None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return None
    return float(v)


def _pairs(store: FactStore, nodes: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered node pairs some directed fact is about, in inventory order."""
    rank = {n: i for i, n in enumerate(nodes)}
    seen: dict[tuple[str, str], None] = {}
    for f in store:
        if f.node is None or f.peer is None or f.peer == f.node:
            continue
        a, b = sorted((f.node, f.peer), key=lambda n: (rank.get(n, len(rank)), n))
        seen[(a, b)] = None
    return list(seen)


def _directed(store: FactStore, name: str, a: str, b: str) -> list[Fact]:
    return [f for f in (store.get(Fact(name, 0, a, b).key), store.get(Fact(name, 0, b, a).key))
            if f is not None]


def _findings_for(findings: Iterable[FindingLike], facts: Iterable[Fact]) -> list[Evidence]:
    """Warning/critical findings of the same steps and nodes as ``facts``, as evidence."""
    where = {(f.step_id, f.node) for f in facts if f.step_id}
    out = []
    for x in findings:
        if x.severity in ("warning", "critical") and (x.step_id, x.node) in where:
            out.append(Evidence(x.title, x.node, x.step_id, x.evidence or ""))
    return out


@dataclass
class _Pair:
    """Everything measured about one link between two nodes, both directions."""

    a: str
    b: str
    ping: list[Fact] = field(default_factory=list)
    mtr: list[Fact] = field(default_factory=list)
    downs: list[Fact] = field(default_factory=list)  # journal.link_down + knet.down_count
    disconnected: list[Fact] = field(default_factory=list)

    @property
    def icmp_loss(self) -> float | None:
        vals = [v for f in self.ping + self.mtr if (v := _num(f.value)) is not None]
        return max(vals) if vals else None

    @property
    def flaps(self) -> int:
        return max((int(_num(f.value) or 0) for f in self.downs), default=0)

    def facts(self) -> list[Fact]:
        return self.ping + self.mtr + self.downs + self.disconnected


def _pair_facts(store: FactStore, a: str, b: str) -> _Pair:
    p = _Pair(a, b)
    p.ping = _directed(store, "ping.loss_pct", a, b)
    p.mtr = _directed(store, "mtr.loss_pct", a, b)
    p.downs = [f for f in _directed(store, "journal.link_down", a, b)
               + _directed(store, "knet.down_count", a, b) if (_num(f.value) or 0) > 0]
    p.disconnected = [f for f in _directed(store, "knet.connected", a, b) if f.value is False]
    return p


def _loss_text(p: _Pair) -> str:
    """``ping 14% ryanrishi→pve001, 26% back; mtr 2% ryanrishi→pve001``: loss by tool."""
    out = []
    for tool, facts in (("ping", p.ping), ("mtr", p.mtr)):
        if not facts:
            continue
        parts = [f"{_fmt(f.value)}% {f.node}→{f.peer}" if i == 0 else f"{_fmt(f.value)}% back"
                 for i, f in enumerate(facts)]
        out.append(f"{tool} " + ", ".join(parts))
    return "; ".join(out)


def _suggest_token(store: FactStore) -> int:
    tokens = [int(v) for f in store.named("corosync.token_ms") if (v := _num(f.value))]
    current = max(tokens, default=3000)
    return 5000 if current < 5000 else min(current * 2, 10000)


# --- rules ---------------------------------------------------------------------------------


def _rule_routes(store: FactStore, findings: Sequence[FindingLike],
                 nodes: Sequence[str]) -> list[Fault]:
    """A peer reached through a gateway: host route (asymmetric) or different subnets.

    Domain notes §10: nodes on one L2 segment reach each other in one hop; a routed path puts
    corosync behind a busy gateway. A host route for an on-link peer is stale or hand-made.
    """
    out = []
    for f in store.named("route.via"):
        if not f.value or f.node is None or f.peer is None:
            continue
        a, b, gw = f.node, f.peer, str(f.value)
        back = store.get(Fact("route.via", 0, b, a).key)
        host = store.get(Fact("route.host_route", 0, a, b).key)
        on_link = store.value("route.on_link", a, b)
        hops = store.get(Fact("mtr.hops", 0, a, b).key)
        pair = _pair_facts(store, a, b)
        evidence = [_ev(f, f"{a} reaches {b} via {gw}")]
        if host is not None:
            evidence.append(_ev(host, f"host route on {a}: {host.value}"))
        if back is not None:
            evidence.append(_ev(back, f"{b} reaches {a} " + (f"via {back.value}" if back.value
                                                              else "directly")))
        if hops is not None:
            evidence.append(_ev(hops, f"mtr {a}→{b}: {hops.value} hops"))
        evidence += [_ev(x) for x in pair.facts()]
        evidence += _findings_for(findings, [f, *([hops] if hops else [])])
        lossy = (pair.icmp_loss or 0) >= LOSS_BAD_PCT or pair.flaps > 0
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
            manual = (ManualFix(a, f"ip route del {dest} via {gw}"),)
        else:
            statement = (f"corosync traffic from {a} to {b} goes through the gateway {gw}: the "
                         "nodes are not on one subnet" + (f" as {a} sees it ({b} answers "
                                                          "directly)" if direct_back else ""))
            confidence = "high" if direct_back or on_link is False else "medium"
            action = (f"Compare the netmask and VLAN of the cluster address on {a} and {b} "
                      "(`ip -br addr`); put both on one L2 segment. Do not tune corosync "
                      "around a routed path.")
            manual = (ManualFix(a, "ip -br addr; ip route"),)
        if lossy:
            statement += f", and that path loses packets ({_loss_text(pair) or 'link flaps'})"
        out.append(Fault("route-via-gateway", statement, "critical" if lossy else "warning",
                         confidence, action, tuple(evidence),
                         NextRunbook("network-triage"), manual, (a, b),
                         weight=40 if lossy else 0))
    return out


def _rule_links(store: FactStore, findings: Sequence[FindingLike],
                nodes: Sequence[str]) -> tuple[list[Fault], list[str]]:
    """Per node pair: lossy/flapping knet link, or ICMP clean while corosync's UDP is lost.

    corosync 3/knet shows a lossy link as link down/up and token loss (domain notes §7);
    knet's heartbeat is UDP on 5405+, which ICMP probes never measure.
    """
    faults: list[Fault] = []
    healthy: list[str] = []
    routed = {(f.node, f.peer) for f in store.named("route.via") if f.value}
    token = _suggest_token(store)
    for a, b in _pairs(store, nodes):
        p = _pair_facts(store, a, b)
        if not p.ping and not p.mtr and not p.downs and not p.disconnected and not \
                _directed(store, "knet.connected", a, b):
            continue
        loss = p.icmp_loss
        evidence = tuple([_ev(x) for x in p.facts()] + _findings_for(findings, p.facts()))
        via_gw = (a, b) in routed or (b, a) in routed
        if loss is not None and loss >= LOSS_BAD_PCT:
            flap = f"; knet took the link down {p.flaps} times" if p.flaps else ""
            cause = " on the routed path through the gateway" if via_gw else ""
            faults.append(Fault(
                "lossy-link",
                f"the link between {a} and {b} loses packets{cause}: {_loss_text(p)}{flap}",
                "critical", "high" if p.flaps or len(p.ping + p.mtr) > 1 else "medium",
                "Fix the path first (cable, switch port, duplex, the gateway in between): "
                "about 1% loss already costs corosync its token. A longer token only rides out "
                "short bursts; a second knet link on another NIC is the durable fix.",
                evidence, NextRunbook("corosync-tuning", {"token": token}), (), (a, b),
                weight=20))
        elif p.flaps >= 2 or p.disconnected:
            what = (f"went down {p.flaps} times" if p.flaps else "is disconnected now")
            probes = sum(int(_num(x.value) or 0) for x in _directed(store, "ping.sent", a, b)
                         + _directed(store, "mtr.sent", a, b))
            if loss is not None and probes >= ICMP_PROBES_ENOUGH:
                faults.append(Fault(
                    "udp-lost-icmp-ok",
                    f"corosync's UDP between {a} and {b} is lost while ICMP gets through "
                    f"({_loss_text(p)}, {probes} probes); the knet link {what}: a firewall, "
                    "rate limit or MTU problem drops UDP 5405, which ping cannot show",
                    "critical", "high" if p.flaps >= 3 else "medium",
                    "Look for rules touching UDP 5405-5412 on both nodes (`nft list ruleset`, "
                    "`iptables-save`), rate limits or storm control on the switch port, and an "
                    "MTU below 1500 on the path (`ping -M do -s 1472 PEER`).",
                    evidence, None,
                    tuple(ManualFix(n, "nft list ruleset | grep -n -E '540[5-9]|541[0-2]'")
                          for n in (a, b)), (a, b), weight=15))
            else:
                sample = (f"; ping/mtr sent only {probes} probes, too few to see the loss"
                          if loss is not None else "; no ping/mtr measured on it")
                faults.append(Fault(
                    "flapping-link", f"the knet link between {a} and {b} {what}{sample}",
                    "critical", "medium",
                    "Measure the link again with more probes; corosync's own counters already "
                    "say it drops packets.", evidence,
                    NextRunbook("network-triage", {"ping_count": 100, "mtr_cycles": 100}),
                    (), (a, b), weight=15))
        elif loss is not None or _directed(store, "knet.connected", a, b):
            healthy.append(f"link {a} ↔ {b}: no loss"
                           + (f" ({_loss_text(p)})" if loss is not None else "")
                           + ", no link flaps")
    return faults, healthy


def _rule_contradictions(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """When ping and mtr disagree, say which to trust and why (domain notes §10)."""
    out = []
    for f in store.named("ping.loss_pct"):
        if f.node is None or f.peer is None:
            continue
        m = store.get(Fact("mtr.loss_pct", 0, f.node, f.peer).key)
        pv, mv = _num(f.value), _num(m.value if m else None)
        if m is None or pv is None or mv is None:
            continue
        if (pv >= LOSS_BAD_PCT) == (mv >= LOSS_BAD_PCT) and abs(pv - mv) < 10:
            continue  # both say lossy (or both clean) and roughly agree
        ps = _num(store.value("ping.sent", f.node, f.peer)) or 0
        ms = _num(store.value("mtr.sent", f.node, f.peer)) or 0
        flaps = _pair_facts(store, f.node, f.peer).flaps
        why = []
        if flaps:
            why.append(f"the link flaps ({flaps} downs), so loss comes in bursts and two "
                       "samples taken at different moments differ")
        if ps != ms:
            why.append(f"they sent different numbers of probes (ping {ps:g}, mtr {ms:g})")
        hop = store.get(Fact("mtr.hop_loss_pct", 0, f.node, f.peer).key)
        if hop is not None:
            why.append(f"mtr's {_fmt(hop.value)}% at an intermediate hop is the router "
                       "rate-limiting ICMP replies, not loss")
        trust = ("the worse figure" if flaps else
                 ("ping" if ps > ms else "mtr") + " (more probes)")
        statement = (f"ping and mtr disagree on {f.node}→{f.peer} ({_fmt(f.value)}% vs "
                     f"{_fmt(m.value)}%): trust {trust}, and knet's own counters over both")
        out.append(Fault("ping-mtr-disagree", statement, "info", "medium",
                         "Both are ICMP samples of seconds; "
                         + ("; ".join(why) or "small samples") + ". knet's link down counts "
                         "and the journal measure corosync's own traffic over the whole hour.",
                         (_ev(f), _ev(m)), None, (), (f.node, f.peer)))
    return out


def _rule_mtu(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """knet link MTU differing between the two ends, or between pairs (PMTUd found a limit)."""
    out = []
    mtus = store.named("knet.mtu")
    for a, b in _pairs(store, nodes):
        both = _directed(store, "knet.mtu", a, b)
        vals = {int(_num(x.value) or 0) for x in both}
        if len(vals) > 1:
            out.append(Fault(
                "mtu-mismatch",
                f"knet sees different MTUs on the link between {a} and {b} "
                f"({', '.join(f'{x.node}: {_fmt(x.value)}' for x in both)}): an interface or "
                "switch on the path has a smaller MTU",
                "warning", "medium",
                "Compare `ip link` MTUs of the cluster NIC and bridge on both nodes and the "
                "switch ports; make them equal (1500, or jumbo frames everywhere).",
                tuple(_ev(x) for x in both), None,
                tuple(ManualFix(n, "ip link show | grep mtu") for n in (a, b)), (a, b)))
    values = {int(_num(x.value) or 0) for x in mtus}
    if len(values) > 1 and not out:
        low = min(mtus, key=lambda x: _num(x.value) or 0)
        out.append(Fault(
            "mtu-mismatch",
            f"knet link MTUs differ between node pairs (lowest {_fmt(low.value)} on "
            f"{low.node}→{low.peer})", "warning", "low",
            "A smaller path MTU on one pair means a different interface or switch setting "
            "there; compare `ip link` MTUs.", tuple(_ev(x) for x in mtus), None, (),
            tuple(n for n in (low.node, low.peer) if n)))
    return out


def _rule_quorum(store: FactStore, findings: Sequence[FindingLike],
                 nodes: Sequence[str]) -> list[Fault]:
    """Partition and who has quorum (votequorum.5; pve-docs pvecm "Quorum")."""
    quorate = {f.node: f for f in store.named("quorum.quorate") if f.node}
    lost = [f for f in store.named("journal.quorum_lost") if (_num(f.value) or 0) > 0]
    if lost and (not quorate or all(f.value is True for f in quorate.values())):
        names = [str(f.node) for f in lost]
        span = max((int(_num(f.value) or 0) for f in store.named("journal.span_s")), default=0)
        within = f" in the last {round(span / 60)} min" if span else ""
        times = max(int(_num(f.value) or 0) for f in lost)
        return [Fault(
            "quorum-lost-recently",
            f"quorum was lost up to {times} times{within} on {', '.join(names)}"
            + (" (quorate at the moment of the check)" if quorate else ""),
            "critical", "high",
            "Each loss made /etc/pve read-only and would fence HA nodes: the membership is "
            "unstable. Fix the link faults; the cluster only looks healthy between flaps.",
            tuple(_ev(f, f"{f.node}: non-primary component {_fmt(f.value)} times")
                  for f in lost), None, (), tuple(names), weight=10)]
    if not quorate or all(f.value is True for f in quorate.values()):
        return []
    yes = [n for n, f in quorate.items() if f.value is True]
    no = [n for n, f in quorate.items() if f.value is False]
    groups: dict[str, list[str]] = {}
    for n in quorate:
        members = store.value("quorum.members", n)
        groups.setdefault(str(members or n), []).append(n)
    expected = max((int(_num(f.value) or 0) for f in store.named("quorum.expected_votes")),
                   default=0)
    evidence = [_ev(f) for f in quorate.values()]
    evidence += [_ev(f) for f in store.named("quorum.members")]
    evidence += _findings_for(findings, quorate.values())
    sides = " | ".join(", ".join(g) for g in groups.values())
    if yes:
        statement = (f"the cluster is partitioned ({sides}): {', '.join(yes)} "
                     f"{'has' if len(yes) == 1 else 'have'} quorum; {', '.join(no)} "
                     f"{'is' if len(no) == 1 else 'are'} cut off")
        action = (f"Fix the links from {', '.join(no)} to the quorate side; /etc/pve is "
                  f"read-only on {', '.join(no)} until they rejoin. Never `pvecm expected 1` "
                  "on the cut-off side.")
    else:
        statement = (f"no node has quorum ({sides}"
                     + (f"; {expected} votes expected" if expected else "") + ")")
        action = ("Fix the network between the nodes first. `pvecm expected 1` on ONE node "
                  "only is a last resort to make /etc/pve writable there; on both halves it "
                  "causes a split brain.")
        if expected == 2 and not store.named("qdevice.configured"):
            statement += ": a 2-node cluster without a QDevice loses quorum with either node"
            action += " A QDevice on a third machine is the durable fix (qdevice-setup)."
    has_qd = bool(store.named("qdevice.configured"))
    next_rb = NextRunbook("qdevice-setup") if expected == 2 and not has_qd else None
    return [Fault("partition", statement, "critical", "high", action, tuple(evidence),
                  next_rb, (), tuple(yes + no), weight=10)]


def _rule_corosync_down(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    down = [f for f in store.named("corosync.running") if f.value is False and f.node]
    if not down:
        return []
    names = list(dict.fromkeys(f.node for f in down if f.node))
    return [Fault(
        "corosync-not-running",
        f"corosync is not running on {', '.join(names)}",
        "critical", "high",
        "Read why it stopped (`journalctl -b -u corosync`), fix that (often a corosync.conf "
        "error or a missing authkey), then start it. The node is outside every membership and "
        "its /etc/pve is read-only until then.",
        tuple(_ev(f, f"{f.node}: {f.evidence or 'corosync not running'}") for f in down), None,
        tuple(ManualFix(n, "journalctl -b -u corosync --no-pager | tail -n 50; "
                           "systemctl start corosync") for n in names), tuple(names), weight=30)]


def _rule_pmxcfs(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """/etc/pve writes hang (exit 124) or are refused; reads hang = pmxcfs itself is stuck."""
    hung = [f for f in store.named("pmxcfs.write_hung") if f.value is True and f.node]
    refused = [f for f in store.named("pmxcfs.writable") if f.value is False and f.node
               and store.value("pmxcfs.write_hung", f.node) is not True]
    unread = [f for f in store.named("pmxcfs.readable") if f.value is False and f.node]
    out = []
    if hung or unread:
        names = list(dict.fromkeys(f.node for f in hung + unread if f.node))
        churn = any((_num(f.value) or 0) > 1 for f in store.named("journal.memberships")) or \
            any((_num(f.value) or 0) > 0 for f in store.named("journal.link_down"))
        stuck = [n for n in names if store.value("quorum.quorate", n) is True and not churn]
        why = ("pmxcfs waits for a stable corosync membership" if not stuck else
               f"pmxcfs hangs on {', '.join(stuck)} although it is quorate and the membership "
               "is steady: pmxcfs itself is stuck")
        out.append(Fault(
            "pmxcfs-blocked",
            f"/etc/pve {'reads and writes' if unread else 'writes'} hang on {', '.join(names)}: "
            f"{why}", "critical", "high",
            "Fix corosync's membership first (the link and quorum faults above); pmxcfs "
            "resumes by itself. If it stays hung on a quorate node, `systemctl restart "
            "pve-cluster` - never `kill -9 pmxcfs` or `umount -l /etc/pve`.",
            tuple(_ev(f) for f in hung + unread), None, (), tuple(names)))
    if refused:
        names = list(dict.fromkeys(f.node for f in refused if f.node))
        out.append(Fault(
            "pmxcfs-read-only", f"/etc/pve refuses writes on {', '.join(names)} (no quorum)",
            "warning", "high", "Restore quorum (see the partition fault); do not force it.",
            tuple(_ev(f) for f in refused), None, (), tuple(names)))
    return out


def _rule_config_version(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """config_version must agree on every node (pmxcfs dcdb.c: lower versions are not copied)."""
    out = []
    for name, where in (("corosync.config_version", "running corosync"),
                        ("corosync_conf.config_version", "corosync.conf")):
        facts = [f for f in store.named(name) if f.node]
        values = {f.value for f in facts}
        if len(values) < 2:
            continue
        hi = max(facts, key=lambda f: _num(f.value) or 0)
        lo = [f for f in facts if f.value != hi.value]
        listing = ", ".join(f"{f.node}={_fmt(f.value)}" for f in facts)
        out.append(Fault(
            "config-version-mismatch",
            f"the nodes run different corosync configurations ({where} config_version: "
            f"{listing})", "critical", "high",
            f"Make /etc/pve/corosync.conf right with a config_version above {_fmt(hi.value)} so "
            "pmxcfs copies it everywhere; without quorum, edit /etc/corosync/corosync.conf "
            f"identically on every node. Then `corosync-cfgtool -R`.",
            tuple(_ev(f) for f in facts), None,
            tuple(ManualFix(str(f.node), "grep -n config_version /etc/corosync/corosync.conf "
                                         "/etc/pve/corosync.conf") for f in lo),
            tuple(str(f.node) for f in facts), weight=20))
        break
    return out


_CERT_FORMATS = ("%b %d %H:%M:%S %Y %Z", "%b %d %H:%M:%S %Y GMT", "%b %d %H:%M:%S %Y")


def _parse_not_after(text: str) -> datetime | None:
    cleaned = " ".join(text.split())
    for fmt in _CERT_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _rule_certs(store: FactStore, nodes: Sequence[str], now: datetime | None) -> list[Fault]:
    """Missing or expired node certificate (pvecm updatecerts, domain notes §5)."""
    out = []
    for f in store.named("cert.present"):
        if f.value is False and f.node:
            out.append(Fault(
                "cert-missing", f"{f.node} has no node certificate (pve-ssl.pem)",
                "critical", "high",
                f"Regenerate it on {f.node} with `pvecm updatecerts` (needs quorum), then "
                "restart pveproxy.", (_ev(f, f"{f.node}: {f.evidence}"),),
                NextRunbook("certificate-regeneration", {"force": False}), (), (f.node,)))
    for f in store.named("cert.not_after"):
        if not f.node:
            continue
        when = _parse_not_after(str(f.value))
        expiring = store.value("cert.expiring", f.node) is True
        expired = when is not None and now is not None and when <= now
        soon = when is not None and now is not None and (when - now).days < 30
        if expired or soon or expiring:
            state = "expired" if expired else "expires soon"
            out.append(Fault(
                "cert-expired", f"the node certificate of {f.node} {state} ({f.value})",
                "critical" if expired else "warning", "high",
                f"Renew it on {f.node}: `pvecm updatecerts --force`, then restart pveproxy.",
                (_ev(f, f"{f.node}: notAfter={f.value}"),),
                NextRunbook("certificate-regeneration", {"force": True}), (), (f.node,)))
    return out


def _rule_qdevice(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """A QDevice that is registered but not voting (flags NV) adds no vote (pvecm.adoc)."""
    bad = [f for f in store.named("qdevice.voting") if f.value is False and f.node]
    if not bad:
        return []
    names = [str(f.node) for f in bad]
    return [Fault(
        "qdevice-not-voting",
        f"the QDevice is configured but not voting (seen from {', '.join(names)}): losing one "
        "more node now loses quorum", "critical", "high",
        "Check corosync-qdevice on the nodes (`corosync-qdevice-tool -sv`) and that the QNetd "
        "host answers on TCP 5403 (`systemctl status corosync-qnetd` there).",
        tuple(_ev(f, f"{f.node}: {f.evidence}") for f in bad), None,
        tuple(ManualFix(n, "corosync-qdevice-tool -sv; systemctl status corosync-qdevice")
              for n in names), tuple(names))]


def _rule_db(store: FactStore, nodes: Sequence[str]) -> list[Fault]:
    """config.db damaged on one node (resync from peers) vs on all (restore a backup)."""
    facts = [f for f in store.named("db.integrity") if f.node]
    bad = [f for f in facts if f.value == "damaged"]
    if not bad:
        return []
    good = [f for f in facts if f.value == "ok"]
    evidence = tuple(_ev(f, f"{f.node}: integrity {f.value}") for f in facts)
    if good:
        names = [str(f.node) for f in bad]
        nxt = NextRunbook("cluster-db-reset", {"damaged_node": names[0]}) \
            if len(names) == 1 else None
        return [Fault(
            "db-damaged-one",
            f"config.db is damaged on {', '.join(names)}; "
            f"{', '.join(str(f.node) for f in good)} {'has' if len(good) == 1 else 'have'} a "
            "sound copy", "critical", "high",
            "Back the damaged database up, move it aside and let the node resync from its "
            "peers (a quorate cluster is needed).", evidence, nxt, (), tuple(names), weight=20)]
    return [Fault(
        "db-damaged-all", "config.db is damaged on every node: there is no sound peer to "
        "resync from", "critical", "high",
        "Do NOT delete config.db anywhere. Restore the newest backup "
        "(/var/lib/pve-cluster/backup/config-*.sql.gz) as pmxcfs.adoc 'Recovery' describes.",
        evidence, NextRunbook("vm-config-recovery", {"source": "dump"}), (),
        tuple(str(f.node) for f in bad), weight=20)]


# --- the matrix and the entry point ------------------------------------------------------------


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
            ping = _num(store.value("ping.loss_pct", a, b))
            mtr = _num(store.value("mtr.loss_pct", a, b))
            downs = max(int(_num(store.value("journal.link_down", a, b)) or 0),
                        int(_num(store.value("knet.down_count", a, b)) or 0))
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


def diagnose(facts: FactStore | Iterable[Fact], findings: Sequence[FindingLike] = (),
             nodes: Sequence[str] = (), now: datetime | None = None) -> Diagnosis:
    """Rank the faults the facts and findings show; ``nodes`` gives the inventory order.

    ``now`` (UTC) is when the evidence was taken, for certificate expiry; without it only
    ``openssl -checkend`` results count. Returns an empty diagnosis when nothing is wrong.
    """
    store = facts if isinstance(facts, FactStore) else FactStore(facts)
    store = store.named_peers()
    order = list(nodes) or store.nodes()
    link_faults, healthy = _rule_links(store, findings, order)
    faults = [
        *_rule_routes(store, findings, order),
        *link_faults,
        *_rule_corosync_down(store, order),
        *_rule_quorum(store, findings, order),
        *_rule_pmxcfs(store, order),
        *_rule_config_version(store, order),
        *_rule_mtu(store, order),
        *_rule_qdevice(store, order),
        *_rule_certs(store, order, now),
        *_rule_db(store, order),
        *_rule_contradictions(store, order),
    ]
    ranked = sorted(enumerate(faults), key=lambda x: (-x[1].score, x[0]))
    has_links = any(f.name in ("ping.loss_pct", "mtr.loss_pct", "knet.connected")
                    for f in store)
    matrix = link_matrix(store, order) if has_links and len(order) > 1 else ()
    return Diagnosis(tuple(f for _, f in ranked), tuple(healthy), matrix)
