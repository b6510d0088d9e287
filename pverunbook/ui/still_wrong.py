"""The start screen's "Still wrong" line: the last health check's faults, in words."""

from __future__ import annotations

from rich.markup import escape


def health_lines(health: object) -> str:
    """``Still wrong: …`` under the guide: the last health check's faults, one short line per
    phase (network, database, configs, certificates), in the order to fix them."""
    faults = getattr(health, "faults", ())
    if not faults:
        return ""
    from pverunbook.pve.diagnosis.check import PHASES, phase_of

    by: dict[str, list[object]] = {}
    for f in faults:
        by.setdefault(phase_of(f.rule), []).append(f)
    # in words (the phase's first fault, cut short), not rule ids: "network: udp-lost-icmp-ok"
    # told the operator nothing
    parts = [f"{p}: {_short(by[p][0])}" + (f" (+{len(by[p]) - 1} more)" if len(by[p]) > 1
                                            else "") for p in PHASES if p in by]
    return (f"\n[b]Still wrong[/] ({len(faults)} fault{'s' if len(faults) != 1 else ''}, "
            "last check): " + escape("; ".join(parts)))


def _short(fault: object, width: int = 80) -> str:
    """A fault's statement up to its first detail (`` (``, ``: ``, ``; ``), at most ``width``
    characters; its rule id when it has no statement."""
    text = str(getattr(fault, "statement", "") or getattr(fault, "rule", ""))
    for sep in (" (", ": ", "; "):
        cut = text.find(sep)
        if cut > 20:
            text = text[:cut]
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"
