"""The path between nodes: ``mtr`` (report, JSON, interactive screen), ``ping``, ``ip route``.

Formats: mtr 0.9x (``mtr --report``, ``--json`` and the curses screen people copy from their
terminal), iputils and busybox ``ping`` summaries, iproute2 ``ip route get``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from pverunbook.pve.outputs.text import clean


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
    #: "report", "json" or "screen" (the interactive display); None when nothing was read.
    layout: str | None = None
    error: str | None = None  # why the text could not be read (e.g. broken JSON)


#: A number as mtr prints it: fixed-width columns cut "1105.3" to "1105." (mtr issues #196, #234).
_NUM = r"\d{1,9}(?:\.\d{0,6})?"
#: "  2.|-- host  2.0%  50 ..." (report) or " 2. host ..." (screen); a 100% row drops the "%"
#: ("???  100.0  10"), and ``mtr -z`` puts the AS number before the host ("AS15169  8.8.8.8").
_MTR_ROW = re.compile(
    rf"^\s*(\d{{1,3}})\.\s*(\|--\s+)?(?:AS(?:\d{{1,10}}|\?\?\?)\s+)?(\S.*?)\s+({_NUM})%?"
    rf"\s+(\d{{1,9}})((?:\s+{_NUM}){{0,12}})\s*$"
)
#: Numbers only (what a wrapped row leaves on its own line). The same text as
#: ``(?:{_NUM}\s*)+`` but with one way to match each character: that nested form tried every way
#: to cut a run of digits into numbers, doubling its time per digit (a 40-digit line: hours).
_ONLY_NUMBERS = re.compile(r"^\s*\d(?:\d|(?<=\d)\.|\s)*$")
#: A web page that dropped the line breaks runs the rows together: "... 0.0 2.|-- host ...".
_ROW_START = re.compile(r"\s(?=\d{1,3}\.\|--\s)")
#: The screen's second line before mtr 0.95 names only the source and the date (ISO since 0.87,
#: ctime before): "R2 (::)     Sun Nov 29 15:30:58 2015" (mtr 0.85), "vagrant (10.0.2.15)
#: 2021-12-03T21:07:54+0000" (0.93); Junos' mtr 0.69 adds "(tos=0x0 psize=64 ...)".
_SCREEN_SRC = re.compile(
    r"^\s*(\S+)\s+\([^)]*\)(?:\([^)]*\))?\s{2,}"
    r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d)"
)


def _f(value: object) -> float | None:
    """A finite float, or None for anything else (mtr prints ``-nan`` sometimes)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _i(value: object) -> int | None:
    f = _f(value)
    return int(f) if f is not None and f.is_integer() and abs(f) < 1e12 else None


def _parse_mtr_json(stripped: str) -> MtrReport:
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        return MtrReport(error=f"not valid mtr JSON ({exc})")
    report = data.get("report") if isinstance(data, dict) else None
    if not isinstance(report, dict):
        return MtrReport(error="JSON without a 'report' object (not `mtr --json` output)")
    meta_raw = report.get("mtr")
    meta: dict[str, object] = meta_raw if isinstance(meta_raw, dict) else {}
    rep = MtrReport(str(meta.get("src")) if meta.get("src") is not None else None,
                    str(meta.get("dst")) if meta.get("dst") is not None else None,
                    layout="json")
    hubs = report.get("hubs")
    for hub in hubs if isinstance(hubs, list) else []:
        if not isinstance(hub, dict):
            continue
        count, loss, sent = _i(hub.get("count")), _f(hub.get("Loss%")), _i(hub.get("Snt"))
        if count is None or loss is None or sent is None:
            continue
        rep.hops.append(MtrHop(count, str(hub.get("host")), loss, sent, _f(hub.get("Last")),
                               _f(hub.get("Avg")), _f(hub.get("Best")), _f(hub.get("Wrst")),
                               _f(hub.get("StDev"))))
    return rep


def parse_mtr(text: str) -> MtrReport:
    """``mtr --report`` text, ``mtr --json``, or the interactive screen copied from a terminal.

    Rows are ``  2.|-- host  2.0%  50  1.7  1.5  0.4  2.1  0.4`` (report) or
    `` 2. host  2.0%  50 ...`` (screen); a row a mail client wrapped before its last numbers is
    joined again. Never raises: unreadable text gives an empty report (``error`` says why for
    broken JSON).
    """
    stripped = clean(text).strip()
    if stripped.startswith("{"):
        return _parse_mtr_json(stripped)
    rep = MtrReport()
    lines = [part for line in stripped.splitlines() for part in _ROW_START.split(line)]
    lines = [part for line in lines for part in re.split(r"\s(?=HOST:\s)", line)]
    joined: list[str] = []
    for line in lines:
        if joined and _ONLY_NUMBERS.match(line) and _MTR_ROW.match(joined[-1] + " " + line):
            prev = _MTR_ROW.match(joined[-1])
            if prev is None or len(prev.group(6).split()) < 5:
                joined[-1] = joined[-1].rstrip() + " " + line.strip()
                continue
        joined.append(line)
    for line in joined:
        m = re.match(r"\s*HOST:\s+(\S+)", line)
        if m:
            rep.src = m.group(1)
            continue
        m = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+->\s+(\S+)", line)  # screen: "a (ip) -> b (ip)"
        if m and rep.src is None:
            rep.src, rep.dst = m.group(1), m.group(3)
            continue
        m = _SCREEN_SRC.match(line)  # mtr <= 0.94 screen: "host (ip)   <date>", no target
        if m and rep.src is None and not rep.hops:
            rep.src = m.group(1)
            continue
        m = _MTR_ROW.match(line)
        if not m:
            continue
        nums = [_f(x) for x in m.group(6).split()]
        nums += [None] * (5 - len(nums))
        loss, sent = _f(m.group(4)), _i(m.group(5))
        if loss is None or sent is None:
            continue
        rep.hops.append(MtrHop(int(m.group(1)), m.group(3), loss, sent, *nums[:5]))
        if rep.layout is None:
            rep.layout = "report" if m.group(2) else "screen"
    if rep.hops and (rep.dst is None or rep.layout == "report"):
        rep.dst = rep.hops[-1].host
    return rep


# --- ping -----------------------------------------------------------------------------------


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
    text = clean(text)
    target = None
    m = re.search(r"^--- (\S+) ping statistics ---", text, re.M)
    if m:
        target = m.group(1)
    m = re.search(
        r"(\d{1,12}) packets transmitted, (\d{1,12}) (?:packets )?received(.*?)"
        r"(\d{1,3}(?:\.\d+)?)% packet loss",
        text,
    )
    if not m:
        return None
    loss = _f(m.group(4))
    if loss is None:
        return None
    extra = m.group(3)
    errors = re.search(r"\+(\d{1,12}) errors", extra)
    dups = re.search(r"\+(\d{1,12}) duplicates", extra)
    rtt = re.search(r"(?:rtt|round-trip) min/avg/max(?:/(?:mdev|stddev))? = ([\d./]+) ms", text)
    values = [_f(v) for v in rtt.group(1).split("/")] if rtt else []
    values += [None] * (4 - len(values))
    return PingSummary(
        target,
        int(m.group(1)),
        int(m.group(2)),
        loss,
        int(errors.group(1)) if errors else 0,
        int(dups.group(1)) if dups else 0,
        *values[:4],
    )


# --- ip route get ---------------------------------------------------------------------------


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
    for line in clean(text).splitlines():
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
            if tokens[i] in ("via", "dev", "src") and tokens[i] not in opts:
                opts[tokens[i]] = tokens[i + 1]
        via = opts.get("via")
        if via and re.fullmatch(r"inet6?", via):  # "via inet6 fe80::1"
            at = tokens.index("via") + 2
            via = tokens[at] if at < len(tokens) else None
        return RouteInfo(dest, via, opts.get("dev"), opts.get("src"), kind)
    return RouteInfo(None, error="no route in output")
