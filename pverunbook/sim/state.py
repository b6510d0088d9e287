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


class SimStateError(ValueError):
    """A state directory that cannot be used as asked: the message says what is wrong, where
    (the path) and what to do. A ValueError, so front ends that report bad input (exit 2, an
    error dialog) report this too."""


def start_over_hint(state_dir: Path) -> str:
    return (f"start over with `pverunbook simulate --state-dir {state_dir} --reset` (Ctrl-C "
            "once it is up; the keys stay), or pick another --state-dir")


def saved_scenario(state_dir: Path) -> str | None:
    """The scenario a state directory holds a rehearsal of (``nodes/.sim-state``), or None."""
    try:
        return (Path(state_dir) / "nodes" / ".sim-state").read_text().strip() or None
    except OSError:
        return None


def check_state_dir(state_dir: Path, scenario: str | None) -> None:
    """Raise :class:`SimStateError` unless a rehearsal of ``scenario`` (None: whatever the
    directory holds) can start from ``state_dir``: a directory (or none yet) holding no other
    scenario's rehearsal and a readable ``world.json``. Reads only; creates nothing."""
    from pverunbook.sim import scenarios
    from pverunbook.statedir import unusable

    state_dir = Path(state_dir)
    why = unusable(state_dir)  # the same check (and words) as every command's --state-dir
    if why:
        raise SimStateError(f"{why}; pick a directory with --state-dir")
    saved = saved_scenario(state_dir)
    try:
        wanted = scenarios.get(scenario or saved or "nyc-outage").name
    except KeyError as exc:
        raise SimStateError(f"{exc.args[0]}; pick one of those with --scenario") from None
    if saved is not None and saved != wanted:
        raise SimStateError(
            f"{state_dir} holds a rehearsal of scenario {saved!r}, not {wanted!r}: continue it "
            f"with --scenario {saved}, or " + start_over_hint(state_dir))
    load(state_dir / FILE)


def snapshot(world: World) -> dict[str, Any]:
    """The world's volatile state as JSON-able data (see the module docstring)."""
    nodes: dict[str, Any] = {}
    for n in list(world.nodes.values()) + list(world.extra_hosts.values()):
        nodes[n.name] = {
            "host_routes": sorted(n.host_routes),
            "route_attrs": {k: v for k, v in sorted(n.route_attrs.items())
                            if k in n.host_routes and v},
            "nft": n.nft.to_json(),
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


def encode(world: World) -> bytes:
    """world.json's content for the world as it is now."""
    return (json.dumps(snapshot(world), indent=1, sort_keys=True) + "\n").encode()


def save(world: World, path: Path) -> None:
    write_atomic(path, encode(world))


def load(path: Path) -> dict[str, Any] | None:
    """The saved world, or None when there is none; SimStateError if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SimStateError(f"{path}: cannot read the saved rehearsal state ({exc}); "
                            + start_over_hint(path.parent)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SimStateError(f"{path}: saved by another version of pverunbook; "
                            + start_over_hint(path.parent))
    return data
