"""How values read in the incident report: times, durations, parameters, inline code and
fenced output, where a step ran. Kept apart from ``report.py``'s sections so every section
renders a value the same way (one rule per kind of value)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pverunbook.pve.paramtext import value_text

__all__ = ["HEAD_LINES", "TAIL_LINES", "cell", "clock", "code", "dur", "effective_params",
           "fence", "trim_output", "ts", "value_text", "where"]

HEAD_LINES = 15
TAIL_LINES = 15


def ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%SZ")


def dur(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"


def effective_params(started: dict[str, Any], steps: list[Any]) -> str:
    """The parameters the run really used: those it started with, then each value an input
    step set (``source`` = processes where the run started with the default dump), saying
    where it was set and what it replaced."""
    values = dict(started)
    where: dict[str, tuple[str, Any]] = {}
    for s in steps:
        for p in getattr(s, "params", ()):
            for k, v in p.values.items():
                if k not in where:
                    where[k] = (p.step_id, values.get(k))
                values[k] = v
    out = []
    for k, v in values.items():
        text = f"`{k}` = {code(value_text(v))}"
        if k in where and where[k][1] != v:
            step, before = where[k]
            text += f" (answered at step `{step}`" + (
                f"; the run started with {code(value_text(before))})" if before is not None
                else ")")
        out.append(text)
    return ", ".join(out) or "none"


def where(nodes: tuple[str, ...]) -> str:
    """Where a step ran: ``on pve001, ryanrishi``, or — a step with no target node (manual,
    input, wait) — ``by the operator``, as the headless output says (``-> operator``)."""
    return f"on {', '.join(nodes)}" if nodes else "by the operator"


def code(text: str) -> str:
    """Inline code that survives backticks in the text. Always space-padded (CommonMark drops
    the padding): the final redaction pass's ``password=\\S+`` must not eat the closing tick."""
    text = text.replace("\n", " ⏎ ")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    return f"{ticks} {text} {ticks}"


def fence(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip(chr(10))}\n{fence}"


def trim_output(text: str, head: int = HEAD_LINES, tail: int = TAIL_LINES) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) <= head + tail + 1:
        return "\n".join(lines)
    omitted = len(lines) - head - tail
    return "\n".join(lines[:head] + [f"… {omitted} lines omitted …"] + lines[-tail:])


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
