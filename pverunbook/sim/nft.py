"""The simulated ``nft``: firewall rules an operator (or a test) adds on a node, and what they
drop between the nodes.

The real-pmxcfs lab breaks corosync's links with nftables in each node's network namespace
(``ip daddr <peer> udp dport 5405 [numgen random mod 100 < P] drop`` in an output chain); the
simulator understands the same commands, so one command breaks both the same way and the
simulator can be held to the lab. Only what a rule's match says about traffic between cluster
nodes has an effect: ``ip daddr``/``ip saddr`` of a node, optionally ``udp dport`` and a
``numgen random mod 100 < P`` share, and the verdict ``drop``. Other rules are kept and listed
but change nothing (they would not touch the cluster's traffic in the simulator's model).

Grammar taken from nft(8): ``add table <family> <name>``, ``add chain <family> <table> <chain>
{ type filter hook <hook> priority <n>; policy <p>; }``, ``add rule <family> <table> <chain>
<statement>``, ``delete table <family> <name>``, ``flush ruleset``, ``list ruleset``,
``list table <family> <name>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: corosync's knet port (corosync.conf(5) ``totem.interface.mcastport``/knet default 5405)
COROSYNC_PORT = 5405
_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_RULE = re.compile(
    r"^ip (?P<dir>daddr|saddr) (?P<addr>\S+)"
    r"(?: (?P<proto>udp|tcp) dport (?P<port>\d+))?"
    r"(?: numgen random mod 100 < (?P<pct>\d+(?:\.\d+)?))?"
    r" (?P<verdict>drop|accept|reject)$")


class NftError(Exception):
    """What nft prints on stderr (``Error: ...``), exit status 1."""


@dataclass
class Chain:
    name: str
    hook: str = ""  # "" = a regular chain (no hook): never sees traffic by itself
    rules: list[str] = field(default_factory=list)


@dataclass
class Table:
    family: str
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """One drop rule's effect: traffic from ``src`` to ``dst`` (node addresses), all of it or
    UDP/TCP to ``port`` only, ``pct`` percent of the matching packets."""

    src: str
    dst: str
    port: int | None
    proto: str | None
    pct: float


class Ruleset:
    """One node's nftables ruleset (``nft list ruleset``)."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], Table] = {}

    # -- the command -------------------------------------------------------------------------
    def run(self, words: list[str]) -> str:
        """Run ``nft <words>`` (already split); returns stdout or raises :class:`NftError`."""
        text = " ".join(words)
        if not words or words == ["list", "ruleset"]:
            return self.listing()
        if words == ["flush", "ruleset"]:
            self.tables.clear()
            return ""
        verb, *rest = words
        if verb in ("add", "create", "delete", "list", "flush") and rest:
            obj, *args = rest
            if obj == "table" and len(args) == 2 and args[0] in _FAMILIES:
                key = (args[0], args[1])
                if verb in ("add", "create"):
                    if verb == "create" and key in self.tables:
                        raise NftError(f"Error: Could not process rule: File exists\n{text}")
                    self.tables.setdefault(key, Table(*key))
                    return ""
                if key not in self.tables:
                    raise NftError("Error: Could not process rule: No such file or directory\n"
                                   f"{text}")
                if verb == "delete":
                    del self.tables[key]
                    return ""
                if verb == "flush":
                    for chain in self.tables[key].chains.values():
                        chain.rules.clear()
                    return ""
                return self.listing([self.tables[key]])
            if obj == "chain" and len(args) >= 3 and verb in ("add", "create"):
                table = self._table(args[0], args[1], text)
                spec = " ".join(args[3:])
                hook = re.search(r"\bhook (\w+)", spec)
                table.chains.setdefault(args[2], Chain(args[2], hook.group(1) if hook else ""))
                return ""
            if obj == "rule" and len(args) >= 4 and verb == "add":
                table = self._table(args[0], args[1], text)
                target = table.chains.get(args[2])
                if target is None:
                    raise NftError("Error: Could not process rule: No such file or directory\n"
                                   f"{text}")
                target.rules.append(" ".join(args[3:]))
                return ""
        raise NftError(f"Error: syntax error, unexpected or unsupported command\n{text}")

    def _table(self, family: str, name: str, text: str) -> Table:
        table = self.tables.get((family, name))
        if table is None:
            raise NftError(f"Error: Could not process rule: No such file or directory\n{text}")
        return table

    def listing(self, tables: list[Table] | None = None) -> str:
        out = []
        for t in tables if tables is not None else list(self.tables.values()):
            out.append(f"table {t.family} {t.name} {{")
            for c in t.chains.values():
                out.append(f"\tchain {c.name} {{")
                if c.hook:
                    out.append(f"\t\ttype filter hook {c.hook} priority filter; policy accept;")
                out += [f"\t\t{r}" for r in c.rules]
                out.append("\t}")
            out.append("}")
        return "".join(line + "\n" for line in out)

    # -- what it does to the cluster's traffic ----------------------------------------------
    def drops(self, own_addr: str) -> list[Drop]:
        """The drop rules of hooked output/input chains, as traffic between addresses."""
        found = []
        for t in self.tables.values():
            if t.family not in ("ip", "inet"):
                continue
            for c in t.chains.values():
                if c.hook not in ("output", "input"):
                    continue
                for rule in c.rules:
                    m = _RULE.match(rule)
                    if m is None or m["verdict"] == "accept":
                        continue
                    if (c.hook == "output") != (m["dir"] == "daddr"):
                        continue  # saddr in output / daddr in input: not another node's traffic
                    peer = m["addr"]
                    src, dst = (own_addr, peer) if c.hook == "output" else (peer, own_addr)
                    found.append(Drop(src, dst, int(m["port"]) if m["port"] else None,
                                      m["proto"], float(m["pct"]) if m["pct"] else 100.0))
        return found

    # -- persistence --------------------------------------------------------------------------
    def to_json(self) -> list[dict[str, object]]:
        return [{"family": t.family, "name": t.name,
                 "chains": [{"name": c.name, "hook": c.hook, "rules": list(c.rules)}
                            for c in t.chains.values()]} for t in self.tables.values()]

    @classmethod
    def from_json(cls, data: object) -> Ruleset:
        rs = cls()
        for t in data if isinstance(data, list) else []:
            table = Table(str(t["family"]), str(t["name"]))
            for c in t.get("chains", []):
                table.chains[str(c["name"])] = Chain(str(c["name"]), str(c.get("hook", "")),
                                                     [str(r) for r in c.get("rules", [])])
            rs.tables[(table.family, table.name)] = table
        return rs


def loss_between(a_addr: str, a_rules: Ruleset, b_addr: str, b_rules: Ruleset,
                 corosync_only: bool) -> float:
    """Percent of the packets between two nodes that their rulesets drop, the worse direction
    (knet's link needs both). ``corosync_only``: count rules that drop corosync's UDP as well
    as rules on all traffic; otherwise only rules on all traffic (what ping and mtr see)."""
    worst = 0.0
    for drop in a_rules.drops(a_addr) + b_rules.drops(b_addr):
        if {drop.src, drop.dst} != {a_addr, b_addr}:
            continue
        if drop.port is not None and not (corosync_only and drop.proto == "udp"
                                          and drop.port == COROSYNC_PORT):
            continue
        worst = max(worst, drop.pct)
    return worst
