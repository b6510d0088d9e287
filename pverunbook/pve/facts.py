"""Facts: typed values read off a step's output, for `when` conditions and the diagnosis.

A verdict explains an output to a person (findings); a fact states one value a program can test
(``quorum.quorate = true`` on ryanrishi). Both come from the same parsers in :mod:`outputs`, so
they cannot disagree. Rules here are pure functions over one node's captured output; the engine
only calls them and journals what they return.

Naming (documented for runbook authors in ``runbooks/README.md``):

- ``name`` is dotted and lower case, e.g. ``quorum.quorate``, ``link.loss_pct``, ``db.integrity``.
- A fact is observed on one ``node`` (or on none, for cluster-wide facts derived from several
  nodes) and may be about one ``peer`` (a link, a route). Its :attr:`Fact.key` is
  ``name``, ``name[node]`` or ``name[node→peer]``.
- Values are ``bool``, ``int``, ``float`` or ``str`` — JSON scalars, so the journal holds them as
  they are and resume sees the same values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from pverunbook.pve import outputs, peer_sections

FactValue = bool | int | float | str


@dataclass(frozen=True)
class Fact:
    """One value observed on one node (``node=None``: cluster-wide), optionally about a peer."""

    name: str
    value: FactValue
    node: str | None = None
    peer: str | None = None
    evidence: str = ""  # the output line the value was read from, for the diagnosis
    step_id: str = ""  # filled in by the engine

    @property
    def key(self) -> str:
        if self.node is None:
            return self.name
        if self.peer is None:
            return f"{self.name}[{self.node}]"
        return f"{self.name}[{self.node}→{self.peer}]"

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "node": self.node, "peer": self.peer,
                "evidence": self.evidence, "step_id": self.step_id}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fact:
        """Inverse of :meth:`to_json`; raises ValueError on a malformed record (journal)."""
        name, value = data.get("name"), data.get("value")
        node, peer = data.get("node"), data.get("peer")
        if not isinstance(name, str) or not isinstance(value, bool | int | float | str):
            raise ValueError(f"not a fact record: {dict(data)!r:.200}")
        if node is not None and not isinstance(node, str):
            raise ValueError(f"fact {name}: node must be a string")
        if peer is not None and not isinstance(peer, str):
            raise ValueError(f"fact {name}: peer must be a string")
        return cls(name, value, node, peer, str(data.get("evidence") or ""),
                   str(data.get("step_id") or ""))


@dataclass(frozen=True)
class Observation:
    """What a fact rule sees: one node's output of one step, and how to name other nodes.

    ``exit_status`` is None when the command never finished (timeout, lost node). Rules must not
    read facts off the output of a command that failed to read its input (a hung ``/etc/pve``).
    ``names_by_addr`` / ``names_by_nodeid`` turn addresses and corosync node ids into node names.
    """

    node: str
    text: str
    exit_status: int | None = 0
    names_by_addr: Mapping[str, str] = field(default_factory=dict)
    names_by_nodeid: Mapping[int, str] = field(default_factory=dict)

    def name_of(self, addr_or_id: str | int) -> str:
        if isinstance(addr_or_id, int):
            return self.names_by_nodeid.get(addr_or_id, f"nodeid {addr_or_id}")
        return self.names_by_addr.get(addr_or_id, addr_or_id)


class FactStore:
    """Every fact of a run, latest value per key; what `when` conditions and the diagnosis read."""

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._by_key: dict[str, Fact] = {}
        for f in facts:
            self.add(f)

    def add(self, fact: Fact) -> None:
        self._by_key.pop(fact.key, None)  # keep insertion order = observation order
        self._by_key[fact.key] = fact

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Fact | None:
        return self._by_key.get(key)

    def named(self, name: str) -> list[Fact]:
        """Every observation of ``name`` (all nodes, all peers), in observation order."""
        return [f for f in self._by_key.values() if f.name == name]

    def value(self, name: str, node: str | None = None, peer: str | None = None,
              ) -> FactValue | None:
        """The latest value of ``name[node→peer]``, or None when it was never observed."""
        f = self.get(Fact(name, 0, node, peer).key)
        return None if f is None else f.value

    def nodes(self) -> list[str]:
        """Every node some fact was observed on, in first-seen order."""
        return list(dict.fromkeys(f.node for f in self if f.node is not None))

    def named_peers(self) -> FactStore:
        """A copy whose ``nodeid N`` peers carry node names, from ``corosync.nodeid`` facts.

        Rules that read corosync's own outputs (cfgtool, cmap, the journal) know peers only by
        node id; ``pvecm status`` on each node says which id that node has. Ids nobody claimed
        stay ``nodeid N``.
        """
        names = {int(f.value): f.node for f in self.named("corosync.nodeid")
                 if f.node is not None and isinstance(f.value, int)}
        out = FactStore()
        for f in self:
            if f.peer and f.peer.startswith("nodeid "):
                tail = f.peer.removeprefix("nodeid ")
                if tail.isdigit() and int(tail) in names:
                    f = replace(f, peer=names[int(tail)])
            out.add(f)
        return out

    def to_json(self) -> list[dict[str, object]]:
        return [f.to_json() for f in self]




# --- rules --------------------------------------------------------------------------------
#
# One function per verdict name (a step's ``verdict``), each pure over one node's output. Peers
# are named by node name where the output says an address or node id the run knows
# (Observation.name_of); ``nodeid N`` otherwise, which FactStore.named_peers resolves later.


def _first_line_with(text: str, needle: str) -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return ""


def facts_quorum(obs: Observation) -> list[Fact]:
    """``pvecm status`` / ``corosync-quorumtool -s``: quorate, votes, members, QDevice.

    Source of the format: corosync-quorumtool(8); pve-docs pvecm chapter (QDevice flags
    ``A/NA`` alive, ``V/NV`` voting, ``MW/NMW`` master wins).
    """
    st = outputs.parse_quorum_status(obs.text)
    node = obs.node
    if st.error:
        return [Fact("corosync.running", False, node, evidence=st.error)]
    if st.quorate is None and not st.members and obs.exit_status not in (0, 2, None):
        # corosync down: the error goes to stderr and pvecm prints only its "Cluster
        # information" block from corosync.conf, then exits non-zero (exit 2 = not quorate)
        return [Fact("corosync.running", False, node,
                     evidence=f"no quorum information, exit {obs.exit_status}")]
    out: list[Fact] = []
    if st.quorate is not None:
        out.append(Fact("corosync.running", True, node))
        out.append(Fact("quorum.quorate", st.quorate, node,
                        evidence=f"Quorate: {'Yes' if st.quorate else 'No'}"))
    if st.node_id is not None:
        out.append(Fact("corosync.nodeid", st.node_id, node,
                        evidence=f"Node ID: 0x{st.node_id:08x}"))
    if st.expected_votes is not None:
        out.append(Fact("quorum.expected_votes", st.expected_votes, node,
                        evidence=f"Expected votes: {st.expected_votes}"))
    if st.total_votes is not None:
        out.append(Fact("quorum.total_votes", st.total_votes, node,
                        evidence=f"Total votes: {st.total_votes}"))
    if st.config_version is not None:
        out.append(Fact("corosync.config_version", st.config_version, node,
                        evidence=f"Config Version: {st.config_version}"))
    real = [m for m in st.members if m.nodeid != 0]
    if real:
        names = [obs.name_of(m.name) if m.name else obs.name_of(m.nodeid) for m in real]
        out.append(Fact("quorum.members", " ".join(names), node,
                        evidence=f"Membership: {', '.join(m.name for m in real)}"))
        out.append(Fact("quorum.member_count", len(real), node))
    if st.has_qdevice:
        out.append(Fact("qdevice.configured", True, node, evidence="Flags: " + " ".join(st.flags)))
        own = next((m for m in real if m.local), real[0] if real else None)
        if own is not None and own.qdevice:
            flags = own.qdevice.split(",")
            out.append(Fact("qdevice.voting", "V" in flags, node,
                            evidence=f"Qdevice flags {own.qdevice} ({own.name})"))
            out.append(Fact("qdevice.alive", "A" in flags, node,
                            evidence=f"Qdevice flags {own.qdevice} ({own.name})"))
    return out


def facts_links(obs: Observation) -> list[Fact]:
    """``corosync-cfgtool -s``: per peer, are all knet links connected, and how many are down.

    Source: corosync-cfgtool(8); the three corosync 3 layouts are parsed by outputs.
    """
    text = obs.text
    stopped = re.search(r"Cannot initiali[sz]e|Could not initiali[sz]e corosync", text)
    if stopped:
        return [Fact("corosync.running", False, obs.node,
                     evidence=_first_line_with(text, stopped.group(0)))]
    st = outputs.parse_cfgtool_status(text)
    if not st.links and obs.exit_status not in (0, None):
        return [Fact("corosync.running", False, obs.node,
                     evidence=f"no link status, exit {obs.exit_status}")]
    per_peer: dict[int, list[tuple[int, str]]] = {}
    for link in st.links:
        for p in link.peers:
            if p.status.startswith("localhost"):
                continue
            per_peer.setdefault(p.nodeid, []).append((link.link, p.status))
    out: list[Fact] = []
    if st.links:
        out.append(Fact("corosync.running", True, obs.node))
        out.append(Fact("knet.links", len(st.links), obs.node))
    for nodeid, states in per_peer.items():
        peer = obs.name_of(nodeid)
        down = [(lk, s) for lk, s in states if not s.startswith("connected")]
        ev = ", ".join(f"LINK ID {lk}: nodeid {nodeid}: {s}" for lk, s in states)
        out.append(Fact("knet.connected", not down, obs.node, peer, evidence=ev))
        out.append(Fact("knet.links_down", len(down), obs.node, peer, evidence=ev))
    return out


def facts_knet_nodes(obs: Observation) -> list[Fact]:
    """``corosync-cfgtool -n``: per peer, reachability and the smallest knet link MTU.

    knet's MTU is the payload it can send after its own headers and crypto (PMTUd), so two
    nodes reporting different values for one link point at an MTU mismatch on the path.
    """
    out: list[Fact] = []
    for kn in outputs.parse_cfgtool_nodes(obs.text):
        peer = obs.name_of(kn.nodeid)
        if kn.links:
            dst = kn.links[0].dst
            if dst in obs.names_by_addr:
                peer = obs.names_by_addr[dst]
        state = "reachable" if kn.reachable else "unreachable"
        out.append(Fact("knet.reachable", kn.reachable, obs.node, peer,
                        evidence=f"nodeid: {kn.nodeid} {state}"))
        mtus = [(lk.link, lk.mtu) for lk in kn.links if lk.mtu is not None]
        if mtus:
            lk, mtu = min(mtus, key=lambda x: x[1] or 0)
            out.append(Fact("knet.mtu", mtu or 0, obs.node, peer,
                            evidence=f"LINK: {lk} ({kn.links[0].src}->{kn.links[0].dst}) "
                                     f"mtu: {mtu}"))
    return out


def facts_cmap_stats(obs: Observation) -> list[Fact]:
    """``corosync-cmapctl -m stats``: knet ``down_count`` and latency per peer, the token.

    ``stats.knet.node<N>.link<L>.down_count`` counts link flaps since corosync started.
    Latency is in microseconds (libknet ``latency_ave``).
    """
    cmap = outputs.parse_cmapctl(obs.text)
    out: list[Fact] = []
    by_peer: dict[int, dict[str, int]] = {}
    ev: dict[int, str] = {}
    for (nodeid, link), st in sorted(outputs.knet_link_stats(cmap).items()):
        if "down_count" not in st and "latency_ave" not in st:
            continue
        if st.get("enabled", 1) == 0:
            continue
        if st.get("latency_samples", 1) == 0 and "down_count" not in st:
            continue
        agg = by_peer.setdefault(nodeid, {"down_count": 0, "latency_ave": 0})
        agg["down_count"] += st.get("down_count", 0)
        agg["latency_ave"] = max(agg["latency_ave"], st.get("latency_ave", 0))
        ev[nodeid] = (f"stats.knet.node{nodeid}.link{link}.down_count = "
                      f"{st.get('down_count', 0)}")
    local_ids = {nid for nid, st in by_peer.items() if st["down_count"] == 0
                 and st["latency_ave"] == 0}
    for nodeid, agg in by_peer.items():
        if nodeid in local_ids and len(by_peer) > 1:
            continue  # the local node's own entry: no link to itself
        peer = obs.name_of(nodeid)
        out.append(Fact("knet.down_count", agg["down_count"], obs.node, peer, evidence=ev[nodeid]))
        if agg["latency_ave"]:
            out.append(Fact("knet.latency_us", agg["latency_ave"], obs.node, peer,
                            evidence=f"stats.knet.node{nodeid}.*.latency_ave = "
                                     f"{agg['latency_ave']}"))
    token = cmap.get("runtime.config.totem.token")
    if token is not None and token.isdigit():
        out.append(Fact("corosync.token_ms", int(token), obs.node,
                        evidence=f"runtime.config.totem.token = {token}"))
    return out


def facts_journal(obs: Observation) -> list[Fact]:
    """corosync's journal counted by message kind, per peer where the line names one.

    Message texts: corosync exec/totemsrp.c, vsf_quorum.c and libknet (domain notes §7).
    """
    s = outputs.parse_corosync_log(obs.text)
    counts = s.counts
    out: list[Fact] = []

    def first(kind: str, host: int | None = None) -> str:
        for e in s.events:
            if e.kind == kind and (host is None or e.host == host):
                return f"line {e.lineno}: {e.text}"
        return ""

    downs: dict[int, int] = {}
    for (host, _link), n in s.link_downs().items():
        downs[host] = downs.get(host, 0) + n
    for host, n in sorted(downs.items()):
        out.append(Fact("journal.link_down", n, obs.node, obs.name_of(host),
                        evidence=first("link_down", host)))
    no_links: dict[int, int] = {}
    for e in s.events:
        if e.kind == "no_active_links" and e.host is not None:
            no_links[e.host] = no_links.get(e.host, 0) + 1
    for host, n in sorted(no_links.items()):
        out.append(Fact("journal.no_active_links", n, obs.node, obs.name_of(host),
                        evidence=first("no_active_links", host)))
    for name, kind in (("journal.token_lost", "processor_failed"),
                       ("journal.token_late", "token_not_received"),
                       ("journal.retransmits", "retransmit"),
                       ("journal.quorum_lost", "quorum_lost"),
                       ("journal.memberships", "members")):
        out.append(Fact(name, counts[kind], obs.node, evidence=first(kind)))
    if s.span_s is not None:
        out.append(Fact("journal.span_s", round(s.span_s), obs.node))
    return out


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


def facts_pve_write(obs: Observation) -> list[Fact]:
    """``timeout 5 touch /etc/pve/...``: does pmxcfs accept writes, refuse them, or hang?

    Exit 124 comes from timeout(1): the write was still blocked after the limit, which is how
    a pmxcfs waiting for a stable corosync membership looks. Any other failure is a refusal
    (no quorum: ``Permission denied``).
    """
    if obs.exit_status is None:
        return [Fact("pmxcfs.write_hung", True, obs.node, evidence="command did not finish")]
    ok = obs.exit_status == 0
    ev = f"exit {obs.exit_status}" + (f": {obs.text.strip().splitlines()[-1]}"
                                      if obs.text.strip() else "")
    return [Fact("pmxcfs.writable", ok, obs.node, evidence=ev),
            Fact("pmxcfs.write_hung", obs.exit_status == 124, obs.node, evidence=ev)]


def facts_pve_read(obs: Observation) -> list[Fact]:
    """``timeout 5 ls /etc/pve``: does pmxcfs answer reads (exit 124 = hung, not just r/o)."""
    if obs.exit_status is None:
        return [Fact("pmxcfs.readable", False, obs.node, evidence="command did not finish")]
    ev = f"exit {obs.exit_status}"
    if "Transport endpoint is not connected" in obs.text:
        ev = _first_line_with(obs.text, "Transport endpoint")
    return [Fact("pmxcfs.readable", obs.exit_status == 0, obs.node, evidence=ev)]


_NOT_AFTER = re.compile(r"notAfter=(.+)$", re.M)


def facts_cert(obs: Observation) -> list[Fact]:
    """``openssl x509 -noout -enddate [-checkend N] -in pve-ssl.pem``: is the node cert there.

    ``cert.not_after`` is the ``notAfter`` date as printed (GMT); the diagnosis compares it with
    the time of the run. ``Certificate will expire`` comes from ``-checkend``. Source:
    openssl-x509(1); the node certificate is ``/etc/pve/nodes/<node>/pve-ssl.pem``.
    """
    text = obs.text
    missing = re.search(r"No such file|Could not open file|[Uu]nable to load certificate|"
                        r"Could not read certificate", text)
    if missing:
        return [Fact("cert.present", False, obs.node, evidence=_first_line_with(text,
                                                                              missing.group(0)))]
    m = _NOT_AFTER.search(text)
    out: list[Fact] = []
    if m:
        out.append(Fact("cert.present", True, obs.node, evidence=m.group(0).strip()))
        out.append(Fact("cert.not_after", m.group(1).strip(), obs.node,
                        evidence=m.group(0).strip()))
    if "Certificate will expire" in text:
        out.append(Fact("cert.expiring", True, obs.node, evidence="Certificate will expire"))
    elif "Certificate will not expire" in text:
        out.append(Fact("cert.expiring", False, obs.node, evidence="Certificate will not expire"))
    return out


def facts_db_integrity(obs: Observation) -> list[Fact]:
    """``sqlite3 config.db 'PRAGMA integrity_check'``: ``ok``, ``damaged`` or ``missing``.

    SQLite prints ``ok`` for a sound file; anything else (``database disk image is
    malformed``, ``file is not a database``, a list of problems) is damage. A missing file is
    not damage: pmxcfs recreates an empty one (domain notes §4).
    """
    lines = [x.strip() for x in obs.text.splitlines() if x.strip()]
    if any(re.search(r"unable to open database|No such file", x) for x in lines):
        return [Fact("db.integrity", "missing", obs.node,
                     evidence=next(x for x in lines if re.search(r"unable to open|No such", x)))]
    if any(x == "ok" for x in lines) and not any(
            re.search(r"malformed|not a database|corrupt|\*\*\* in database", x) for x in lines):
        return [Fact("db.integrity", "ok", obs.node, evidence="ok")]
    bad = next((x for x in lines if re.search(r"malformed|not a database|corrupt|"
                                              r"\*\*\* in database|Error", x)), None)
    if bad is None:
        return []
    return [Fact("db.integrity", "damaged", obs.node, evidence=bad)]


def facts_config_versions(obs: Observation) -> list[Fact]:
    r"""``cat corosync.conf``: the file's ``config_version`` the way pmxcfs reads it.

    Named ``corosync_conf.config_version`` (the file) apart from ``corosync.config_version``
    (what the running corosync reports in ``pvecm status``).

    pmxcfs's regex ``config_version\s*:\s*(\d+)``; 0 counts as unparsable (dcdb.c).
    """
    m = re.search(r"config_version\s*:\s*(\d+)", obs.text)
    if not m:
        return []
    return [Fact("corosync_conf.config_version", int(m.group(1)), obs.node,
                 evidence=m.group(0).strip())]


_SAMPLE = re.compile(r"^sample \d+:\s*Quorate:\s*(\S+)", re.M)


def facts_quorum_samples(obs: Observation) -> list[Fact]:
    """Quorum sampled several times (``sample N: Quorate: Yes`` lines): is it *steady*?

    One ``pvecm status`` can catch a brief quorate moment on a flapping link, so runbooks that
    act on "not quorate" sample it (corosync-tuning: 6 samples over 18 s). ``quorum.steady`` is
    true when every sample said ``Yes``; a sample that timed out or failed counts as not
    quorate (``Quorate: unknown``). No samples: no facts (the condition stays undecided).
    """
    answers = _SAMPLE.findall(obs.text)
    if not answers:
        return []
    yes = sum(1 for a in answers if a == "Yes")
    evidence = f"quorate in {yes} of {len(answers)} samples"
    return [Fact("quorum.samples", len(answers), obs.node, evidence=evidence),
            Fact("quorum.quorate_samples", yes, obs.node, evidence=evidence),
            Fact("quorum.steady", yes == len(answers), obs.node, evidence=evidence)]


#: Fact rules by verdict name: a step with ``verdict = "quorum"`` yields findings *and* facts.
#: Names without a verdict of their own (``knet-nodes``, ``pve-write``…) only yield facts.
FACT_RULES: dict[str, Callable[[Observation], list[Fact]]] = {
    "quorum": facts_quorum,
    "quorum-samples": facts_quorum_samples,
    "links": facts_links,
    "knet-nodes": facts_knet_nodes,
    "cmap-stats": facts_cmap_stats,
    "corosync-journal": facts_journal,
    "ping": facts_ping,
    "mtr": facts_mtr,
    "route": facts_route,
    "pve-write": facts_pve_write,
    "pve-read": facts_pve_read,
    "cert": facts_cert,
    "db-integrity": facts_db_integrity,
    "corosync-conf": facts_config_versions,
    "config-versions": facts_config_versions,
}


def extract(verdict: str, obs: Observation) -> list[Fact]:
    """Facts of one node's output for the step's verdict; [] for a verdict without fact rules."""
    rule = FACT_RULES.get(verdict)
    return rule(obs) if rule else []
