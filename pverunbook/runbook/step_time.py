"""A step's declared running time, so that a value certain to outlast its timeout is refused.

A step that probes every peer in turn (``for a in {{peer_addrs}}; do ping -c {{ping_count}}
-i 0.2 ...``) takes longer the more nodes the cluster has. It declares what each peer costs::

    seconds_per_peer = { ping_count = 0.2 }   # each peer: ping_count x 0.2 s

Once the cluster is known (``params.resolve`` with ``nodes``), the step is estimated to take
(nodes - 1) x the sum of value x seconds over its entries; a value that makes the estimate
reach the step's ``timeout`` is refused before anything runs, with the largest value that
fits this cluster. Only int parameters may be named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pverunbook.runbook.model import Param, ParamType, Runbook

if TYPE_CHECKING:
    from pverunbook.runbook.loader import _Ctx
    from pverunbook.runbook.positions import KeyPath

KEY = "seconds_per_peer"


def parse(ctx: _Ctx, d: dict[str, Any], path: KeyPath,
          params: Mapping[str, Param]) -> dict[str, float]:
    """Read ``seconds_per_peer``: int parameter name -> seconds per unit, per peer."""
    raw = ctx.get(d, KEY, path, dict, {})
    out: dict[str, float] = {}
    for name, secs in (raw or {}).items():
        p = params.get(name)
        if p is None or p.type is not ParamType.INT:
            ctx.err(path + (KEY,), f"{KEY}: '{name}' is not an int parameter of this runbook")
        elif isinstance(secs, bool) or not isinstance(secs, (int, float)) or secs <= 0:
            ctx.err(path + (KEY,), f"{KEY}: '{name}' needs a number of seconds above 0")
        else:
            out[name] = float(secs)
    return out


def estimate(per_peer: Mapping[str, float], values: Mapping[str, Any], peers: int) -> float:
    """Seconds the step takes on a node with ``peers`` peers (values not given count 0)."""
    return peers * sum(secs * int(values.get(name) or 0) for name, secs in per_peer.items())


def check(runbook: Runbook, values: Mapping[str, Any], nodes: Sequence[str]) -> str | None:
    """Why ``values`` make a step certain to time out on this cluster, or None."""
    peers = max(len(nodes) - 1, 0)
    for step in runbook.steps:
        if not step.seconds_per_peer or not peers:
            continue
        took = estimate(step.seconds_per_peer, values, peers)
        if took < step.timeout:
            continue
        parts = " + ".join(f"{name}={values.get(name)} x {secs:g} s"
                           for name, secs in step.seconds_per_peer.items())
        limits = []
        for name, secs in step.seconds_per_peer.items():
            rest = took - peers * secs * int(values.get(name) or 0)
            most = math.ceil((step.timeout - rest) / (peers * secs)) - 1  # below, not at
            limits.append(f"{name} at most {most}" if most >= 1 else f"{name} cannot fit")
        return (f"step '{step.id}' would take about {took:g} s on this {len(nodes)}-node "
                f"cluster ({peers} peers x ({parts})), not below its {step.timeout:g} s "
                f"timeout, so it would certainly time out. For {len(nodes)} nodes: "
                f"{', '.join(limits)}.")
    return None
