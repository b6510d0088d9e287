"""Parsers for the text that cluster diagnostics print (corosync tools, journal, mtr, ping, ip).

Pure functions over captured text, so the same code reads live SSH output, the rehearsal
cluster and the real captures in the tests. Formats follow domain.md section 6 and 7 and the
corosync 3.1.7 captures; every parser tolerates the older format generations it names.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# --- pvecm status / corosync-quorumtool ---------------------------------------------------


@dataclass(frozen=True)
class Member:
    nodeid: int
    votes: int
    name: str
    local: bool = False
    qdevice: str | None = None  # "A,V,NMW" column when a QDevice is configured


@dataclass
class QuorumStatus:
    cluster_name: str | None = None
    config_version: int | None = None
    transport: str | None = None
    secure_auth: str | None = None
    date: str | None = None
    provider: str | None = None
    nodes: int | None = None
    node_id: int | None = None
    ring_id: str | None = None
    quorate: bool | None = None
    expected_votes: int | None = None
    highest_expected: int | None = None
    total_votes: int | None = None
    quorum: int | None = None
    activity_blocked: bool = False
    flags: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    error: str | None = None  # e.g. "Cannot initialize CMAP service": corosync is down

    @property
    def has_qdevice(self) -> bool:
        return "Qdevice" in self.flags or any(m.nodeid == 0 for m in self.members)


_QD_FLAGS = re.compile(r"(?:N?A|N?V|N?MW|NR)(?:,(?:N?A|N?V|N?MW|NR))*")
_UNDERLINE = re.compile(r"^[-~]{3,}\s*$")


def _nodeid(token: str) -> int:
    return int(token, 16) if token.lower().startswith("0x") else int(token)


def _int_or_none(text: str) -> int | None:
    m = re.match(r"\s*(\d+)", text)
    return int(m.group(1)) if m else None


def _members(lines: list[str]) -> list[Member]:
    out: list[Member] = []
    qdevice_col = False
    for line in lines:
        tokens = line.split()
        if not tokens:
            continue
        if tokens[0] == "Nodeid":
            qdevice_col = "Qdevice" in tokens
            continue
        if not re.fullmatch(r"(0x[0-9a-fA-F]+|\d+)", tokens[0]) or len(tokens) < 3:
            continue
        if not tokens[1].isdigit():
            continue
        rest = tokens[2:]
        qd = None
        if qdevice_col and len(rest) >= 2 and _QD_FLAGS.fullmatch(rest[0]):
            qd, rest = rest[0], rest[1:]
        local = rest[-1] == "(local)"
        if local:
            rest = rest[:-1]
        out.append(Member(_nodeid(tokens[0]), int(tokens[1]), " ".join(rest), local, qd))
    return out


def parse_quorum_status(text: str) -> QuorumStatus:
    """Parse ``pvecm status``, ``corosync-quorumtool -s/-siH`` or ``pvecm nodes``/``-l``."""
    st = QuorumStatus()
    member_lines: list[str] = []
    in_members = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if "Cannot initialize" in line or "Cannot connect" in line:
            st.error = line.strip()
        if _UNDERLINE.match(line):
            continue
        if line.strip() == "Membership information":
            in_members = True
            continue
        if line.strip().endswith("information"):
            in_members = False
            continue
        if in_members:
            member_lines.append(line)
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Name":
            st.cluster_name = value
        elif key == "Config Version":
            st.config_version = _int_or_none(value)
        elif key == "Transport":
            st.transport = value
        elif key == "Secure auth":
            st.secure_auth = value
        elif key == "Date":
            st.date = value
        elif key == "Quorum provider":
            st.provider = value
        elif key == "Nodes":
            st.nodes = _int_or_none(value)
        elif key == "Node ID":
            st.node_id = _nodeid(value.split()[0]) if value else None
        elif key == "Ring ID":
            st.ring_id = value
        elif key == "Quorate":
            st.quorate = value.lower().startswith("yes")
        elif key == "Expected votes":
            st.expected_votes = _int_or_none(value)
        elif key == "Highest expected":
            st.highest_expected = _int_or_none(value)
        elif key == "Total votes":
            st.total_votes = _int_or_none(value)
        elif key == "Quorum":
            st.quorum = _int_or_none(value)
            st.activity_blocked = "Activity blocked" in value
        elif key == "Flags":
            st.flags = value.split()
    st.members = _members(member_lines)
    if st.quorate is None and st.flags:
        st.quorate = "Quorate" in st.flags  # docs excerpts that start at "Votequorum"
    return st


def parse_nodes(text: str) -> list[Member]:
    """``pvecm nodes`` / ``corosync-quorumtool -l``."""
    return parse_quorum_status(text).members


# --- corosync-cfgtool -s / -b / -n ---------------------------------------------------------


@dataclass(frozen=True)
class LinkPeer:
    nodeid: int
    status: str  # localhost | connected | disconnected | ... as printed

    @property
    def ok(self) -> bool:
        return self.status.startswith(("localhost", "connected"))


@dataclass
class LinkStatus:
    link: int
    addr: str | None = None
    transport: str | None = None  # "udp" on 3.1.5+ ("LINK ID 0 udp")
    peers: list[LinkPeer] = field(default_factory=list)
    brief: str | None = None  # -b: "n33", one character per node in nodelist order
    legacy_status: str | None = None  # corosync 2 "RING ID": "ring 0 active with no faults"


@dataclass
class CfgtoolStatus:
    local_nodeid: int | None = None
    transport: str | None = None
    links: list[LinkStatus] = field(default_factory=list)
    generation: str = "unknown"  # "3.0-3.1.0", "3.1.2-3.1.4", "3.1.5+", "corosync2", "brief"


_PEER = re.compile(r"^\s*nodeid:?\s+(\d+):\s*(.*\S)\s*$")


def parse_cfgtool_status(text: str) -> CfgtoolStatus:
    """Parse ``corosync-cfgtool -s`` (all three corosync 3 layouts, corosync 2 rings, ``-b``)."""
    out = CfgtoolStatus()
    cur: LinkStatus | None = None
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"Local node ID (\d+)(?:, transport (\S+))?", line)
        if m:
            out.local_nodeid = int(m.group(1))
            out.transport = m.group(2)
            continue
        m = re.match(r"(LINK|RING) ID (\d+)(?:\s+(\S+))?$", line)
        if m:
            cur = LinkStatus(int(m.group(2)), transport=m.group(3))
            out.links.append(cur)
            if m.group(1) == "RING":
                out.generation = "corosync2"
            continue
        if cur is None:
            continue
        m = re.match(r"(addr|id)\s*=\s*(\S+)", line)
        if m:
            cur.addr = m.group(2)
            continue
        m = re.match(r"status\s*=\s*(.+)$", line)
        if m:
            if out.generation == "corosync2":
                cur.legacy_status = m.group(1)
            else:
                cur.brief = m.group(1)
            continue
        m = _PEER.match(raw)
        if m:
            cur.peers.append(LinkPeer(int(m.group(1)), m.group(2)))
            if out.generation == "unknown":
                if re.match(r"\s*nodeid:\s{5,}", raw):
                    out.generation = "3.1.5+"
                elif re.match(r"\s*nodeid:", raw):
                    out.generation = "3.1.2-3.1.4"
                else:
                    out.generation = "3.0-3.1.0"
    if out.generation == "unknown" and any(lk.brief for lk in out.links):
        out.generation = "brief"
    return out


@dataclass(frozen=True)
class KnetLink:
    link: int
    src: str
    dst: str
    enabled: bool
    connected: bool
    mtu: int | None
    transport: str | None = None


@dataclass
class KnetNode:
    nodeid: int
    reachable: bool
    links: list[KnetLink] = field(default_factory=list)


_N_LINK = re.compile(
    r"LINK:\s*(\d+)\s+(?:(\w+)\s+)?\(([^)]*?)->([^)]*)\)\s*(.*?)(?:mtu:\s*(\d+))?\s*$"
)


def parse_cfgtool_nodes(text: str) -> list[KnetNode]:
    """Parse ``corosync-cfgtool -n`` (per-node reachability and knet link details)."""
    nodes: list[KnetNode] = []
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"nodeid:?\s+(\d+)\s+(\w+)", line)
        if m:
            nodes.append(KnetNode(int(m.group(1)), m.group(2) == "reachable"))
            continue
        m = _N_LINK.match(line)
        if m and nodes:
            words = m.group(5).split()
            nodes[-1].links.append(
                KnetLink(
                    int(m.group(1)),
                    m.group(3),
                    m.group(4),
                    "enabled" in words,
                    "connected" in words,
                    int(m.group(6)) if m.group(6) else None,
                    m.group(2),
                )
            )
    return nodes


# --- corosync-cmapctl -----------------------------------------------------------------------

_CMAP = re.compile(r"^(\S+) \((\w+)\) = ?(.*)$")


def parse_cmapctl(text: str) -> dict[str, str]:
    """``key (type) = value`` lines into a dict of strings."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _CMAP.match(line.strip())
        if m:
            out[m.group(1)] = m.group(3)
    return out


def knet_link_stats(cmap: dict[str, str]) -> dict[tuple[int, int], dict[str, int]]:
    """``stats.knet.nodeN.linkM.X`` counters grouped by (nodeid, link)."""
    out: dict[tuple[int, int], dict[str, int]] = {}
    for key, value in cmap.items():
        m = re.fullmatch(r"stats\.knet\.node(\d+)\.link(\d+)\.(\w+)", key)
        if m and re.fullmatch(r"-?\d+", value):
            out.setdefault((int(m.group(1)), int(m.group(2))), {})[m.group(3)] = int(value)
    return out


# --- corosync journal / log -----------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_SYSLOG_TS = re.compile(r"^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s")
_ISO_TS = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s"
)
_BASE_YEAR = 2000  # leap year, so "Feb 29" parses; syslog lines carry no year


def parse_timestamp(line: str, year: int = _BASE_YEAR) -> datetime | None:
    """Timestamp at the start of a syslog/journal line (``Nov 25 10:33:02`` or ISO 8601)."""
    m = _SYSLOG_TS.match(line)
    if m and m.group(1) in _MONTHS:
        micro = int((m.group(6) or "0")[:6].ljust(6, "0"))
        return datetime(
            year,
            _MONTHS[m.group(1)],
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            micro,
        )
    m = _ISO_TS.match(line)
    if m:
        ts = m.group(1).replace(",", ".").replace(" ", "T")
        ts = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", ts).replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            return None
        if parsed.tzinfo is not None:  # compare as naive UTC; syslog stamps carry no zone
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    return None


@dataclass(frozen=True)
class LogEvent:
    kind: str
    time: datetime | None
    lineno: int
    text: str
    host: int | None = None
    link: int | None = None
    count: int | None = None  # members in "Members[N]", ms in "Token has not been received"


_EVENTS: list[tuple[str, re.Pattern[str]]] = [
    ("token_not_received", re.compile(r"Token has not been received in (\d+) ms")),
    ("processor_failed", re.compile(r"A processor failed, forming new configuration")),
    ("link_down", re.compile(r"link: host: (\d+) link: (\d+) is down")),
    ("link_up", re.compile(r"(?:rx|heartbeat): host: (\d+) link: (\d+) is up")),
    ("no_active_links", re.compile(r"host: host: (\d+) has no active links")),
    ("members", re.compile(r"\[QUORUM\] Members\[(\d+)\]:")),
    ("retransmit", re.compile(r"Retransmit List:")),
    ("new_membership", re.compile(r"A new membership \(([0-9a-f.:]+)\) was formed")),
    ("quorum_lost", re.compile(r"non-primary component and will NOT provide any services")),
    ("quorum_regained", re.compile(r"within the primary component and will provide service")),
    ("failed_to_receive", re.compile(r"FAILED TO RECEIVE")),
]


@dataclass
class JournalSummary:
    events: list[LogEvent] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    @property
    def counts(self) -> Counter[str]:
        return Counter(e.kind for e in self.events)

    def link_downs(self) -> Counter[tuple[int, int]]:
        """How often each (host, link) went down."""
        return Counter(
            (e.host, e.link)
            for e in self.events
            if e.kind == "link_down" and e.host is not None and e.link is not None
        )

    @property
    def span_s(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return (self.last - self.first).total_seconds()


def parse_corosync_log(text: str, window_s: float | None = None) -> JournalSummary:
    """Classify corosync log/journal lines; with ``window_s`` keep only the last N seconds.

    The window ends at the newest timestamp in the text (the moment it was captured), which
    keeps the function pure. Syslog stamps have no year: a month going backwards is read as a
    new year so December-to-January logs stay in order.
    """
    raw_events: list[LogEvent] = []
    year, last_month = _BASE_YEAR, 0
    stamps: list[datetime] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        ts = parse_timestamp(line, year)
        if ts is not None and _SYSLOG_TS.match(line):
            if ts.month < last_month:
                year += 1
                ts = ts.replace(year=year)
            last_month = ts.month
        if ts is not None:
            stamps.append(ts)
        for kind, rx in _EVENTS:
            m = rx.search(line)
            if not m:
                continue
            host = link = count = None
            if kind in ("link_down", "link_up"):
                host, link = int(m.group(1)), int(m.group(2))
            elif kind == "no_active_links":
                host = int(m.group(1))
            elif kind in ("members", "token_not_received"):
                count = int(m.group(1))
            raw_events.append(LogEvent(kind, ts, lineno, line.strip(), host, link, count))
            break
    summary = JournalSummary()
    if not stamps:
        summary.events = raw_events
        return summary
    end = max(stamps)
    start = end - timedelta(seconds=window_s) if window_s is not None else min(stamps)
    summary.events = [e for e in raw_events if e.time is None or e.time >= start]
    summary.first = start if window_s is not None else min(stamps)
    summary.last = end
    return summary


# --- mtr --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MtrHop:
    hop: int
    host: str
    loss_pct: float
    sent: int
    last: float | None = None
    avg: float | None = None
    best: float | None = None
    worst: float | None = None
    stdev: float | None = None


@dataclass
class MtrReport:
    src: str | None = None
    dst: str | None = None
    hops: list[MtrHop] = field(default_factory=list)


_MTR_ROW = re.compile(
    r"^\s*(\d+)\.\s*\|--\s+(\S+)\s+([\d.]+)%\s+(\d+)"
    r"(?:\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+))?"
)


def _f(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_mtr(text: str) -> MtrReport:
    """``mtr --report`` text or ``mtr --json``."""
    stripped = text.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped)["report"]
        rep = MtrReport(data.get("mtr", {}).get("src"), data.get("mtr", {}).get("dst"))
        for hub in data.get("hubs", []):
            rep.hops.append(
                MtrHop(
                    int(hub["count"]),
                    str(hub["host"]),
                    float(hub["Loss%"]),
                    int(hub["Snt"]),
                    _f(hub.get("Last")),
                    _f(hub.get("Avg")),
                    _f(hub.get("Best")),
                    _f(hub.get("Wrst")),
                    _f(hub.get("StDev")),
                )
            )
        return rep
    rep = MtrReport()
    for line in text.splitlines():
        m = re.match(r"\s*HOST:\s+(\S+)", line)
        if m:
            rep.src = m.group(1)
            continue
        m = _MTR_ROW.match(line)
        if m:
            nums = [_f(g) for g in m.groups()[4:]]
            rep.hops.append(
                MtrHop(int(m.group(1)), m.group(2), float(m.group(3)), int(m.group(4)), *nums)
            )
    if rep.hops:
        rep.dst = rep.hops[-1].host
    return rep


# --- ping / ip route get ----------------------------------------------------------------


@dataclass(frozen=True)
class PingSummary:
    target: str | None
    transmitted: int
    received: int
    loss_pct: float
    errors: int = 0
    duplicates: int = 0
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_max: float | None = None
    rtt_mdev: float | None = None


def parse_ping(text: str) -> PingSummary | None:
    """The summary lines of iputils/busybox ``ping``; None if there is no summary."""
    target = None
    m = re.search(r"^--- (\S+) ping statistics ---", text, re.M)
    if m:
        target = m.group(1)
    m = re.search(
        r"(\d+) packets transmitted, (\d+) (?:packets )?received(.*?)([\d.]+)% packet loss", text
    )
    if not m:
        return None
    extra = m.group(3)
    errors = re.search(r"\+(\d+) errors", extra)
    dups = re.search(r"\+(\d+) duplicates", extra)
    rtt = re.search(r"(?:rtt|round-trip) min/avg/max(?:/(?:mdev|stddev))? = ([\d./]+) ms", text)
    values = [float(v) for v in rtt.group(1).split("/")] if rtt else []
    values += [None] * (4 - len(values))  # type: ignore[list-item]
    return PingSummary(
        target,
        int(m.group(1)),
        int(m.group(2)),
        float(m.group(4)),
        int(errors.group(1)) if errors else 0,
        int(dups.group(1)) if dups else 0,
        *values[:4],
    )


@dataclass(frozen=True)
class RouteInfo:
    dest: str | None
    via: str | None = None
    dev: str | None = None
    src: str | None = None
    kind: str = "unicast"  # or local, unreachable, blackhole, prohibit, ...
    error: str | None = None


def parse_ip_route_get(text: str) -> RouteInfo:
    """First route of ``ip route get ADDR`` (``via`` present means the peer is routed)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line == "cache" or line.startswith("cache "):
            continue
        if "RTNETLINK" in line or line.lower().startswith("error"):
            return RouteInfo(None, error=line)
        tokens = line.split()
        kind = "unicast"
        if tokens[0] in ("local", "broadcast", "unreachable", "prohibit", "blackhole", "multicast"):
            kind = tokens.pop(0)
        dest = tokens[0] if tokens else None
        opts: dict[str, str] = {}
        for i in range(1, len(tokens) - 1):
            if tokens[i] in ("via", "dev", "src"):
                opts[tokens[i]] = tokens[i + 1]
        via = opts.get("via")
        if via and re.fullmatch(r"inet6?", via) and "via" in tokens:
            via = tokens[tokens.index("via") + 2]
        return RouteInfo(dest, via, opts.get("dev"), opts.get("src"), kind)
    return RouteInfo(None, error="no route in output")
