"""Pure helpers for the run screen's comparison and plots (no Textual here).

* :func:`compare_outputs` groups nodes whose output for a step is identical and shows, for the
  others, the lines that differ and ``key: value`` pairs whose values disagree (the outage's
  ``config_version: 6`` on one node and ``5`` on the other).
* :func:`network_stats` pulls loss and latency out of ping and mtr output per node.
* :func:`link_matrix` and :func:`output_matrix` put the same as node × node tables: which link
  loses packets (from the run's facts), which nodes printed the same thing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pverunbook.pve import outputs as pve_outputs
from pverunbook.pve.facts import FactStore

_KV = re.compile(r"^\s*([A-Za-z][\w .()/-]{0,40}?)\s*[:=]\s*(\S.*?)\s*$")
_RTT = re.compile(r"\btime[=<]\s*([\d.]+)\s*ms\b")


@dataclass
class Comparison:
    #: Nodes with identical output, and how many lines that output has.
    groups: list[tuple[list[str], int]] = field(default_factory=list)
    #: Keys whose value differs between nodes: (key, {node: value}).
    keys: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: Line diff between the first group and each other group: (a, b, ["- x", "+ y", ...]).
    diffs: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return len(self.groups) <= 1


def _pairs(lines: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        m = _KV.match(line)
        if m and m.group(1).strip() not in out:
            out[m.group(1).strip()] = m.group(2)
    return out


def compare_outputs(outputs: Mapping[str, Sequence[str]], max_diff_lines: int = 200
                    ) -> Comparison:
    cmp = Comparison()
    by_text: dict[tuple[str, ...], list[str]] = {}
    for node, lines in outputs.items():
        by_text.setdefault(tuple(lines), []).append(node)
    cmp.groups = [(nodes, len(text)) for text, nodes in by_text.items()]
    if len(by_text) <= 1:
        return cmp
    pairs = {node: _pairs(lines) for node, lines in outputs.items()}
    keys: list[str] = []
    for p in pairs.values():
        keys += [k for k in p if k not in keys]
    for k in keys:
        values = {n: p[k] for n, p in pairs.items() if k in p}
        if len(values) == len(pairs) and len(set(values.values())) > 1:
            cmp.keys.append((k, values))
    texts = list(by_text.items())
    base_text, base_nodes = texts[0]
    for text, nodes in texts[1:]:
        diff = [line.rstrip("\n") for line in difflib.unified_diff(
            list(base_text), list(text), lineterm="", n=0)]
        body = [d for d in diff if not d.startswith(("---", "+++"))]
        if len(body) > max_diff_lines:
            body = body[:max_diff_lines] + [f"… {len(body) - max_diff_lines} more diff lines"]
        cmp.diffs.append((", ".join(base_nodes), ", ".join(nodes), body))
    return cmp


@dataclass
class Hop:
    host: str
    loss_pct: float
    avg_ms: float | None


@dataclass
class NodeNet:
    node: str
    target: str | None = None
    loss_pct: float | None = None
    rtt_avg: float | None = None
    rtts: list[float] = field(default_factory=list)
    mtr_target: str | None = None
    hops: list[Hop] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.loss_pct is None and not self.rtts and not self.hops


def network_stats(outputs: Mapping[str, Sequence[str]]) -> list[NodeNet]:
    """Loss/latency per node from ping summaries, per-packet times and mtr reports."""
    out: list[NodeNet] = []
    for node, lines in outputs.items():
        text = "\n".join(lines)
        nn = NodeNet(node)
        ping = pve_outputs.parse_ping(text)
        if ping is not None:
            nn.target, nn.loss_pct, nn.rtt_avg = ping.target, ping.loss_pct, ping.rtt_avg
        nn.rtts = [float(m.group(1)) for m in _RTT.finditer(text)]
        if "|--" in text:
            try:
                rep = pve_outputs.parse_mtr(text)
            except (ValueError, KeyError):
                rep = None
            if rep is not None:
                nn.mtr_target = rep.dst
                nn.hops = [Hop(h.host, h.loss_pct, h.avg) for h in rep.hops]
        if not nn.empty:
            out.append(nn)
    return out


def loss_bar(pct: float, width: int = 20) -> str:
    filled = max(0, min(width, round(pct / 100 * width)))
    if pct > 0 and filled == 0:
        filled = 1
    return "█" * filled + "░" * (width - filled)


# -- node × node matrices -------------------------------------------------------------------------


@dataclass
class Matrix:
    """A node × node table: ``cells[(row, col)]`` is short enough for 8 columns in 80; ``bad``
    marks the cells that need a look; ``notes`` say in full what the short cells abbreviate."""

    title: str
    nodes: list[str]
    cells: dict[tuple[str, str], str] = field(default_factory=dict)
    bad: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    legend: str = ""


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def link_matrix(facts: FactStore, nodes: Sequence[str]) -> Matrix | None:
    """Row = the node that measured, column = its peer, from the run's facts so far
    (``ping.loss_pct``, ``mtr.loss_pct``, ``knet.connected``, ``knet.down_count``,
    ``journal.link_down``, ``route.via``; see ``pverunbook.pve.facts``). A cell is the worse
    loss in percent, ``↓N`` (times the knet link went down), ``down`` (disconnected now),
    ``gw`` (routed through a gateway), ``ok`` when measured and clean, ``?`` when nothing was
    measured. None until some link fact exists."""
    store = facts.named_peers()
    names = ("ping.loss_pct", "mtr.loss_pct", "knet.connected", "knet.down_count",
             "journal.link_down", "route.via")
    if not any(store.named(n) for n in names):
        return None
    mx = Matrix("Links (row measured column)", list(nodes),
                legend="N% loss · ↓N times down · down: disconnected now · gw: routed via a "
                       "gateway · ?: not measured")
    for a in nodes:
        for b in nodes:
            if a == b:
                mx.cells[(a, b)] = "·"
                continue
            ping = _num(store.value("ping.loss_pct", a, b))
            mtr = _num(store.value("mtr.loss_pct", a, b))
            downs = int(max(_num(store.value("journal.link_down", a, b)) or 0,
                            _num(store.value("knet.down_count", a, b)) or 0))
            connected = store.value("knet.connected", a, b)
            via = store.value("route.via", a, b)
            short: list[str] = []
            full: list[str] = []
            losses = [x for x in (ping, mtr) if x is not None and x > 0]
            if losses:
                short.append(f"{max(losses):g}%")
            if ping:
                full.append(f"ping {ping:g}% loss")
            if mtr:
                full.append(f"mtr {mtr:g}% loss")
            if downs:
                short.append(f"↓{downs}")
                full.append(f"knet link down {downs} times")
            if connected is False:
                short.append("down")
                full.append("disconnected now")
            if via:
                short.append("gw")
                full.append(f"routed via {via}")
            measured = bool(downs) or any(v is not None for v in (ping, mtr, connected, via))
            mx.cells[(a, b)] = " ".join(short) if short else ("ok" if measured else "?")
            if short:
                mx.bad.add((a, b))
                mx.notes.append(f"{a} → {b}: " + ", ".join(full))
    return mx


def output_matrix(outputs: Mapping[str, Sequence[str]], nodes: Sequence[str],
                  step_title: str = "") -> Matrix | None:
    """Which nodes printed the same thing for one step: ``=`` identical, ``≠N`` N lines
    differ (added plus removed, by ``difflib``). None with fewer than two outputs."""
    shown = [n for n in nodes if n in outputs]
    if len(shown) < 2:
        return None
    title = "Output of this step" + (f": {step_title}" if step_title else "")
    mx = Matrix(title, shown, legend="=: identical output · ≠N: N lines differ")
    for a in shown:
        for b in shown:
            if a == b:
                mx.cells[(a, b)] = "·"
                continue
            la, lb = list(outputs[a]), list(outputs[b])
            if la == lb:
                mx.cells[(a, b)] = "="
                continue
            body = list(difflib.unified_diff(la, lb, lineterm="", n=0))[2:]  # no ---/+++
            changed = sum(1 for d in body if d[:1] in "+-")
            mx.cells[(a, b)] = f"≠{changed}"
            mx.bad.add((a, b))
    groups = compare_outputs({n: outputs[n] for n in shown}).groups
    mx.notes = [f"{', '.join(g)}: identical ({count} lines)" for g, count in groups
                if len(g) > 1]
    return mx
