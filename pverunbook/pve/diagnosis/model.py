"""The diagnosis's vocabulary: faults, evidence, the next runbook, and helpers over facts.

A :class:`Fault` carries the evidence it rests on (finding or fact → node → step → output line),
a confidence, what to do, and either the next runbook with its parameters filled in or the exact
manual command when no runbook fits. The rules (one module per domain beside this one) read a
:class:`Context` and return faults; :func:`pverunbook.pve.diagnosis.diagnose` ranks them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from pverunbook.pve.facts import Fact, FactStore, FactValue
from pverunbook.pve.paramtext import params_text

Severity = Literal["critical", "warning", "info"]
Confidence = Literal["high", "medium", "low"]

#: ICMP loss on the ring address from which a link is called lossy, when at least
#: :data:`LOSS_MIN_LOST` probes were lost. Source: corosync totemconfig.c sets knet's ping
#: interval to token/4 and its ping timeout to token/2 (knet_pong_count 2), so a link goes down
#: when about two heartbeat round trips in a row are lost. With one-way loss p a round trip is
#: lost with q = 1-(1-p)^2 and a link-down comes about every interval/q^2: at 5% that is about
#: once a minute with the default token (the capture in tests/data/corosync-3.1.7 flapped within
#: a minute at 15%), at 2% once in 8 minutes. One lost echo of 50 (2%) is not evidence of that.
LOSS_BAD_PCT = 5.0
#: Lost probes below which a loss figure is noise: 1 of 50 is consistent with almost no loss.
LOSS_MIN_LOST = 3
#: ICMP probes (ping + mtr, both directions) below which "no loss" says little about a link
ICMP_PROBES_ENOUGH = 40
#: Confidence of the upper bound on a link's ICMP loss rate (:func:`icmp_clears_loss`), chosen
#: so that 37 or more probes without a loss clear the path (0 of 40, the count that alone
#: cleared it before: bound 4.6%) and 36 do not (5.1%). The short samples of the
#: real-corosync tests (20 pings and 5 mtr cycles each way: 0 of 50 lost, 3.7%) clear it; the
#: trial's 4 lost of 40 (17%) does not.
ICMP_BOUND_CONFIDENCE = 0.85
#: Token (ms) corosync-tuning raises corosync's to after a lossy link (story.md step 1); a
#: configured token at or above it means the tuning is in place.
TUNED_TOKEN_MS = 5000
#: corosync.conf(5) ``token_coefficient``: with 3+ nodes in the nodelist the running token is
#: ``token + (nodes - 2) * token_coefficient`` (totemconfig.c totem_volatile_config_read).
TOKEN_COEFFICIENT_MS = 650
SEV_WEIGHT = {"critical": 100, "warning": 50, "info": 10}
CONF_WEIGHT = {"high": 30, "medium": 20, "low": 10}


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
        """``corosync-tuning (token = 5000)``: how the UI, headless and the report name the
        action (values as in TOML: ``force = false``, not Python's ``False``)."""
        if not self.params:
            return self.runbook
        return f"{self.runbook} ({params_text(self.params)})"

    def to_json(self) -> dict[str, object]:
        return {"runbook": self.runbook, "params": dict(self.params)}


#: What a manual command does: ``look`` only reads (ls, cat, grep, journalctl, ip route…) and
#: changes nothing, ``fix`` changes the node (restart, mv, write a file, delete a route).
ManualKind = Literal["look", "fix"]


@dataclass(frozen=True)
class ManualFix:
    """A command to type on one node when no runbook does the job. ``kind``: whether it only
    looks (``look on NODE:``) or changes something (``fix on NODE:``), said by the rule that
    makes it. ``command`` may span lines (a here-document): shown as is, never re-indented."""

    node: str
    command: str
    kind: ManualKind

    @property
    def label(self) -> str:
        """``look on`` / ``fix on``, the words before the node."""
        return f"{self.kind} on"

    def to_json(self) -> dict[str, object]:
        return {"node": self.node, "command": self.command, "kind": self.kind}


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
        return SEV_WEIGHT[self.severity] + CONF_WEIGHT[self.confidence] + self.weight

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

    def finding_now(self, step_id: str, node: str | None, severity: str, *,
                    whole: bool = False) -> str:
        """How a step's finding reads once this diagnosis has judged the run: its severity,
        or ``history`` for a problem the cluster had earlier and no longer has.

        A verdict reads one output: a corosync journal with the token lost twelve times in
        the last hour is critical to it whether the link is broken now or was fixed ten
        minutes ago. The diagnosis also reads the state now (links connected from both ends,
        every node quorate) and names only what is wrong now. So a finding a fault rests on
        (evidence of the same step and node) reads at most as that fault's severity. When
        the diagnosis read the ``whole`` cluster now (the health check, whose empty
        diagnosis means healthy), a critical finding no fault rests on, while nothing
        critical is wrong, is history ("earlier, now fine") — never a current critical
        finding next to "healthy". Another runbook's diagnosis may simply have no rule for
        what its verdict saw, so there it stays critical. Warnings no fault rests on stay
        warnings: standing advice (no QDevice, one link).
        """
        if severity not in ("critical", "warning"):
            return severity
        cited = [f.severity for f in self.faults
                 if any(e.step_id == step_id and e.node == node for e in f.evidence)]
        if cited:
            worst = max(cited, key=lambda s: SEV_WEIGHT[s])
            return severity if SEV_WEIGHT[severity] <= SEV_WEIGHT[worst] else worst
        if whole and severity == "critical" and all(f.severity != "critical"
                                                    for f in self.faults):
            return "history"
        return severity


def numbered(faults: Sequence[Fault]) -> list[tuple[int | None, Fault]]:
    """The faults as every view shows them: those to fix numbered 1..N in their order, then
    what is only noted (info), unnumbered. A check listing a link's history first read
    "4 faults" numbered 2, 3, 4, 5 and "Noted … 1."; "#N" anywhere means this number."""
    todo = [f for f in faults if f.severity != "info"]
    return ([(n, f) for n, f in enumerate(todo, 1)]
            + [(None, f) for f in faults if f.severity == "info"])


@dataclass
class Context:
    """What every rule reads: the facts (peers named), the findings, the inventory order and
    when the evidence was taken (UTC, for certificate expiry; None = unknown). Rules append
    what they measured and found fine to ``healthy``. ``unchecked``: nodes the run could not
    read (name → the transport's error), whose facts are missing, not fine. ``inventory``:
    the inventory's node names as the caller gave them (``nodes`` falls back to the nodes
    observed; this does not), compared with the cluster's own nodelist."""

    store: FactStore
    findings: Sequence[FindingLike] = ()
    nodes: Sequence[str] = ()
    now: datetime | None = None
    healthy: list[str] = field(default_factory=list)
    unchecked: Mapping[str, str] = field(default_factory=dict)
    inventory: Sequence[str] = ()


@dataclass(frozen=True)
class Rule:
    """One diagnosis rule: the function, and every fault id (``Fault.rule``) it can report.

    The ids are declared so that tooling (the rule table in runbooks/README.md, the test that
    every rule has a test on real output and on the simulator) can enumerate them.
    """

    check: Callable[[Context], list[Fault]]
    faults: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.check.__name__


# --- helpers over the fact store ------------------------------------------------------------


#: How a fact reads as evidence, by name: "{a}", "{b}" (node, peer) and "{v}" (value).
SAYS = {
    "ping.loss_pct": "ping {a}→{b}: {v}% loss",
    "mtr.loss_pct": "mtr {a}→{b}: {v}% loss at the destination",
    "journal.link_down": "journal on {a}: the link to {b} went down {v} times",
    "knet.down_count": "knet on {a}: link to {b} down_count {v}",
    "knet.connected": "cfgtool on {a}: link to {b} connected: {v}",
    "knet.mtu": "knet on {a}: MTU to {b} {v}",
    "knet.down_delta": "knet on {a}: link to {b} went down {v} times between two samples",
    "knet.reachable": "cfgtool -n on {a}: {b} reachable: {v}",
    "quorum.quorate": "{a}: quorate: {v}",
    "quorum.members": "{a} sees members: {v}",
    "pmxcfs.write_hung": "{a}: /etc/pve write hung: {v}",
    "pmxcfs.readable": "{a}: /etc/pve readable: {v}",
    "corosync.config_version": "{a}: running config_version {v}",
    "corosync_conf.config_version": "{a}: corosync.conf config_version {v}",
}


def ev(f: Fact, what: str | None = None) -> Evidence:
    says = SAYS.get(f.name)
    text = what or (says.format(a=f.node, b=f.peer, v=fmt(f.value)) if says
                    else f"{f.key} = {fmt(f.value)}")
    return Evidence(text, f.node, f.step_id, f.evidence)


def fmt(v: FactValue) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def num(v: FactValue | None) -> float | None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return None
    return float(v)


def pairs(store: FactStore, nodes: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered node pairs some directed fact is about, in inventory order."""
    rank = {n: i for i, n in enumerate(nodes)}
    seen: dict[tuple[str, str], None] = {}
    for f in store:
        if f.node is None or f.peer is None or f.peer == f.node:
            continue
        a, b = sorted((f.node, f.peer), key=lambda n: (rank.get(n, len(rank)), n))
        seen[(a, b)] = None
    return list(seen)


def directed(store: FactStore, name: str, a: str, b: str) -> list[Fact]:
    return [f for f in (store.get(Fact(name, 0, a, b).key), store.get(Fact(name, 0, b, a).key))
            if f is not None]


def findings_for(findings: Iterable[FindingLike], facts: Iterable[Fact]) -> list[Evidence]:
    """Warning/critical findings of the same steps and nodes as ``facts``, as evidence."""
    where = {(f.step_id, f.node) for f in facts if f.step_id}
    out = []
    for x in findings:
        if x.severity in ("warning", "critical") and (x.step_id, x.node) in where:
            out.append(Evidence(x.title, x.node, x.step_id, x.evidence or ""))
    return out


@dataclass
class PairFacts:
    """Everything measured about one link between two nodes, both directions."""

    a: str
    b: str
    ping: list[Fact] = field(default_factory=list)
    mtr: list[Fact] = field(default_factory=list)
    downs: list[Fact] = field(default_factory=list)  # journal.link_down + knet.down_count
    disconnected: list[Fact] = field(default_factory=list)
    #: knet.down_delta: link downs between two samples of knet's counters (now, not history)
    deltas: list[Fact] = field(default_factory=list)
    lost: int = 0  # the most probes one ICMP measurement (one tool, one direction) lost
    unreachable: list[Fact] = field(default_factory=list)  # knet.reachable false (cfgtool -n)

    @property
    def icmp_loss(self) -> float | None:
        vals = [v for f in self.ping + self.mtr if (v := num(f.value)) is not None]
        return max(vals) if vals else None

    @property
    def lossy(self) -> bool:
        """ICMP loss that counts: at least LOSS_BAD_PCT with at least LOSS_MIN_LOST lost."""
        return (self.icmp_loss or 0) >= LOSS_BAD_PCT and self.lost >= LOSS_MIN_LOST

    @property
    def flaps(self) -> int:
        """Link downs on record: since corosync started (knet) or in the journal's window."""
        return max((int(num(f.value) or 0) for f in self.downs), default=0)

    @property
    def sampled(self) -> bool:
        """knet's counters were read twice, so "now" can be told from "since start"."""
        return bool(self.deltas)

    @property
    def flaps_now(self) -> int:
        return max((int(num(f.value) or 0) for f in self.deltas), default=0)

    def facts(self) -> list[Fact]:
        return (self.ping + self.mtr + self.downs + self.disconnected + self.unreachable
                + [f for f in self.deltas if (num(f.value) or 0) > 0])


def pair_facts(store: FactStore, a: str, b: str) -> PairFacts:
    p = PairFacts(a, b)
    p.ping = directed(store, "ping.loss_pct", a, b)
    p.mtr = directed(store, "mtr.loss_pct", a, b)
    p.downs = [f for f in directed(store, "journal.link_down", a, b)
               + directed(store, "knet.down_count", a, b) if (num(f.value) or 0) > 0]
    p.disconnected = [f for f in directed(store, "knet.connected", a, b) if f.value is False]
    p.deltas = directed(store, "knet.down_delta", a, b)
    p.unreachable = [f for f in directed(store, "knet.reachable", a, b) if f.value is False]
    for tool in ("ping", "mtr"):
        for f in directed(store, f"{tool}.loss_pct", a, b):
            sent = num(store.value(f"{tool}.sent", f.node, f.peer))
            pct = num(f.value)
            if sent and pct:
                p.lost = max(p.lost, round(pct * sent / 100))
            elif pct and pct >= 100:
                p.lost = max(p.lost, LOSS_MIN_LOST)
    return p


def icmp_sample(store: FactStore, a: str, b: str) -> tuple[int, int]:
    """``(sent, lost)``: every ICMP probe ping and mtr sent on the link, both directions
    pooled (one path: a probe lost either way is a round trip lost)."""
    sent = lost = 0
    for tool in ("ping", "mtr"):
        for f in directed(store, f"{tool}.loss_pct", a, b):
            n = int(num(store.value(f"{tool}.sent", f.node, f.peer)) or 0)
            pct = num(f.value)
            if n and pct is not None:
                sent += n
                lost += round(pct * n / 100)
    return sent, lost


def loss_upper_bound(lost: int, sent: int, confidence: float = ICMP_BOUND_CONFIDENCE) -> float:
    """The one-sided Clopper-Pearson upper bound (percent) on a loss rate of which ``lost``
    of ``sent`` probes were seen lost: the highest rate still likely (``1 - confidence``) to
    lose that few. At the default confidence (:data:`ICMP_BOUND_CONFIDENCE`) 0 of 10 leaves
    up to 17%, 0 of 40 about 4.6%, 1 of 100 about 3.3%; no probe at all leaves 100%."""
    if sent <= 0:
        return 100.0
    if lost >= sent:
        return 100.0
    alpha = 1 - confidence

    def at_most(p: float) -> float:  # P(X <= lost) for X ~ Binomial(sent, p), in logs
        if p >= 1:
            return 0.0
        return sum(math.exp(math.lgamma(sent + 1) - math.lgamma(i + 1)
                            - math.lgamma(sent - i + 1) + i * math.log(p)
                            + (sent - i) * math.log1p(-p)) if p > 0 else float(i == 0)
                   for i in range(lost + 1))

    lo, hi = lost / sent, 1.0
    for _ in range(60):  # at_most falls as p grows: bisect for at_most(p) = alpha
        mid = (lo + hi) / 2
        if at_most(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi * 100


def icmp_clears_loss(store: FactStore, a: str, b: str) -> bool:
    """ICMP got through well enough to rule out a lossy path: the upper bound on the link's
    pooled ICMP loss rate (:func:`loss_upper_bound`) stays below :data:`LOSS_BAD_PCT`, the
    loss at which knet links go down by themselves, and no single measurement (one tool, one
    direction) lost that much itself. Only then do link downs point at something that drops
    corosync's UDP and not ICMP. ICMP that lost packets itself (the trial's 1 of 10 pings each
    way, 2 of 10 mtr cycles) or too few probes (0 of 30 still allows 6%) cannot tell UDP-only
    loss from a path losing everything; 0 of 40 or more, or 1 of 100, can."""
    sent, lost = icmp_sample(store, a, b)
    if loss_upper_bound(lost, sent) >= LOSS_BAD_PCT:
        return False
    return all((num(f.value) or 0) < LOSS_BAD_PCT
               for tool in ("ping", "mtr") for f in directed(store, f"{tool}.loss_pct", a, b))


def loss_text(p: PairFacts) -> str:
    """``ping 14% ryanrishi→pve001, 26% back; mtr 2% ryanrishi→pve001``: loss by tool."""
    out = []
    for tool, facts in (("ping", p.ping), ("mtr", p.mtr)):
        if not facts:
            continue
        parts = [f"{fmt(f.value)}% {f.node}→{f.peer}" if i == 0 else f"{fmt(f.value)}% back"
                 for i, f in enumerate(facts)]
        out.append(f"{tool} " + ", ".join(parts))
    return "; ".join(out)


def suggest_token(store: FactStore) -> int:
    tokens = [int(v) for f in store.named("corosync.token_ms") if (v := num(f.value))]
    current = max(tokens, default=3000)
    return 5000 if current < 5000 else min(current * 2, 10000)


def steady_now(ctx: Context) -> bool:
    """Nothing is failing now: knet's counters were sampled twice with no link down between
    the samples, no link is down or unreachable, and no ICMP loss counts (model.LOSS_BAD_PCT)."""
    store = ctx.store
    if not store.named("knet.down_delta"):
        return False  # one reading of history cannot tell "now" from "since start"
    if any((num(f.value) or 0) > 0 for f in store.named("knet.down_delta")):
        return False
    if any(f.value is False for f in store.named("knet.connected")) or \
            any(f.value is False for f in store.named("knet.reachable")):
        return False
    return not any(pair_facts(store, a, b).lossy for a, b in pairs(store, ctx.nodes))


def tuned_token(store: FactStore, nodes: int) -> int:
    """The running token (ms) when corosync-tuning's raise is in place, else 0.

    In place = ``token`` in corosync.conf (``conf.token_ms``) at least :data:`TUNED_TOKEN_MS`
    and corosync running with it (``runtime.config.totem.token`` = the configured token plus
    ``(nodes - 2) * token_coefficient`` for 3+ nodes, so never below the configured one);
    without corosync.conf read, the running token at least the tuned one plus that share.
    A ``token_retransmit`` set by hand (the story's 1000 ms beside token 5000) is what the
    tuning removes, so with it the tuning is not in place.
    """
    if store.named("conf.token_retransmit_ms"):
        return 0
    running = max((int(v) for f in store.named("corosync.token_ms") if (v := num(f.value))),
                  default=0)
    configured = min((int(v) for f in store.named("conf.token_ms") if (v := num(f.value))),
                     default=0)
    if configured:
        if configured < TUNED_TOKEN_MS or (running and running < configured):
            return 0
        return running or configured
    extra = max(0, nodes - 2) * TOKEN_COEFFICIENT_MS
    return running if running >= TUNED_TOKEN_MS + extra else 0
