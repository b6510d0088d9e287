"""QEMU ``key=value,...`` option strings and Proxmox property strings."""

from __future__ import annotations

import re
from typing import Any


def split_opts(s: str) -> list[str]:
    """Split a QEMU ``a=b,c=d`` string; ``,,`` is an escaped comma."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == ",":
            if i + 1 < len(s) and s[i + 1] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def kv(s: str) -> tuple[str | None, dict[str, str]]:
    """Parse ``driver,k=v,...``: the first bare word (if any) and the key/value pairs."""
    head: str | None = None
    d: dict[str, str] = {}
    for n, part in enumerate(split_opts(s)):
        if "=" in part:
            k, _, v = part.partition("=")
            d[k] = v
        elif n == 0:
            head = part
        elif part:
            d[part] = ""
    return head, d


def size_mib(v: str) -> int | None:
    m = re.fullmatch(r"(\d+)([KMGT]?)B?", v.strip(), re.I)
    if not m:
        return None
    n = int(m.group(1))
    unit = m.group(2).upper() or "M"
    factor = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit]
    return int(n * factor)


def fmt_size(nbytes: int) -> str:
    """Format a byte count like Proxmox's ``size=`` (largest exact unit)."""
    for unit, f in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if nbytes >= f and nbytes % f == 0:
            return f"{nbytes // f}{unit}"
    if nbytes % 1024 == 0:
        return f"{nbytes // 1024}K"
    return str(nbytes)


def fmt_num(v: float) -> str:
    if v == int(v):
        return str(int(v))
    return f"{v:.3f}".rstrip("0").rstrip(".")


def prop(first: str | None, opts: dict[str, str]) -> str:
    """Print a property string the way PVE does: default key first, then keys sorted."""
    parts = [first] if first else []
    parts += [f"{k}={opts[k]}" for k in sorted(opts)]
    return ",".join(parts)



def jstr(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)

