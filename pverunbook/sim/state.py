"""Saving a rehearsal cluster's world between launches (``<state-dir>/world.json``).

The node directories already hold every file a node would keep across a restart (its /etc,
``config.db``, backups); this file adds what lives only in daemons' memory or the kernel:
host routes, which units were stopped, which VMs run, the QDevice. It is written to a
temporary file, fsynced and renamed over the old one (POSIX ``rename`` is atomic), so a crash
leaves either the old or the new state, never a torn one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pverunbook.sim.world import World

FORMAT = 1
FILE = "world.json"


class SimStateError(Exception):
    """A state directory that cannot be used as asked (says what and what to do)."""


def snapshot(world: World) -> dict[str, Any]:
    """The world's volatile state as JSON-able data (see the module docstring)."""
    nodes: dict[str, Any] = {}
    for n in list(world.nodes.values()) + list(world.extra_hosts.values()):
        nodes[n.name] = {
            "host_routes": sorted(n.host_routes),
            "units": {u.name: ("inactive" if u.state != "active" else "active")
                      for u in n.units.values()},
            "vms": sorted(n.vms),
            "qdevice": n.qdevice_configured,
        }
    return {"format": FORMAT, "scenario": world.scenario.name, "nodes": nodes}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def save(world: World, path: Path) -> None:
    write_atomic(path, (json.dumps(snapshot(world), indent=1, sort_keys=True) + "\n").encode())


def load(path: Path) -> dict[str, Any] | None:
    """The saved world, or None when there is none; SimStateError if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SimStateError(f"{path}: cannot read the saved rehearsal state ({exc}); reset the "
                            "rehearsal cluster to start over") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SimStateError(f"{path}: saved by another version of pverunbook; reset the "
                            "rehearsal cluster to start over")
    return data
