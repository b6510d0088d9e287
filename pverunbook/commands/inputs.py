"""What the command line names: ``--set NAME=VALUE`` values and a runbook by id or file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pverunbook.runbook.readfile import read_capped

#: What to do about a --set value the runbook refuses (the message says which and why).
SET_HINT = ("give a value it accepts with --set NAME=VALUE; `pverunbook plan RUNBOOK` lists "
            "the parameters")


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}`` (the name is stripped, the value kept
    as typed). Raises ValueError for an item without ``=``."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r} has no '='; give it as NAME=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def load_runbook(name: str, dirs: list[Path]) -> Any:
    """The runbook named by id (built-in or in ``dirs``) or by file path, loaded and validated.

    Raises FileNotFoundError (unknown runbook, with the ones on offer) or RunbookError."""
    from pverunbook.runbook.catalog import find
    from pverunbook.runbook.loader import load_file

    return load_file(find(name, dirs))


def state_dir_damage(state: Path) -> str | None:
    """What is damaged in a rehearsal state dir, naming the file and ``--reset``; None if
    nothing is.

    Wrong types in ``world.json``, a non-UTF-8 ``nodes/.sim-state``, a node directory replaced
    by a file and a garbage key file ended in unhandled exceptions (or "Invalid private key"
    with no path) once the simulated cluster started. Checked before it starts: the shapes are
    the ones ``sim/state.py`` (``snapshot``) and ``sim/cluster.py`` (``_keys``) write.
    """
    from pverunbook.sim.state import start_over_hint

    def bad(path: Path, what: str) -> str:
        return (f"{path}: {what}, so the rehearsal state in {state} is damaged; "
                + start_over_hint(state))

    world = state / "world.json"
    nodes: dict[str, Any] = {}
    if world.exists() or world.is_symlink():
        try:
            data = json.loads(read_capped(world, 16 << 20, "world.json").decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            return bad(world, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
        why = _world_shape(data)
        if why:
            return bad(world, why)
        nodes = data.get("nodes", {})
    marker = state / "nodes" / ".sim-state"
    if marker.exists() or marker.is_symlink():
        try:
            read_capped(marker, 4096, ".sim-state").decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return bad(marker, f"is not a short UTF-8 scenario name "
                               f"({getattr(exc, 'strerror', None) or exc})")
    for name in nodes:
        d = state / "nodes" / name
        if (d.exists() or d.is_symlink()) and not d.is_dir():
            return bad(d, "is not a directory (a simulated node's files live there)")
    keys = state / "keys"
    if keys.exists() and not keys.is_dir():
        return bad(keys, "is not a directory")
    if keys.is_dir():
        import asyncssh

        for key in sorted(keys.iterdir()):
            if key.suffix == ".pub" or key.name == "password" or key.name.startswith("."):
                continue
            try:
                asyncssh.import_private_key(read_capped(key, 64 << 10, "private key"))
            except (OSError, ValueError, asyncssh.KeyImportError) as exc:
                return (f"{key}: is not a usable private key "
                        f"({getattr(exc, 'strerror', None) or exc}), so the rehearsal state in "
                        f"{state} is damaged; delete that file (a new key is made at the next "
                        f"start; --reset keeps the keys), or pick another --state-dir")
    return None


def _world_shape(data: object) -> str:
    """Why ``data`` is not what ``sim/state.snapshot`` writes ("" when it is)."""
    if not isinstance(data, dict):
        return f"holds a JSON {type(data).__name__}, not an object"
    if "scenario" in data and not isinstance(data["scenario"], str):
        return "'scenario' is not text"
    nodes = data.get("nodes", {})
    if not isinstance(nodes, dict):
        return f"'nodes' is a {type(nodes).__name__}, not an object"
    for name, node in nodes.items():
        if not isinstance(node, dict):
            return f"node {name!r} is a {type(node).__name__}, not an object"
        routes, units = node.get("host_routes", []), node.get("units", {})
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            return f"node {name!r}: 'host_routes' is not a list of text"
        if not isinstance(units, dict) or not all(
                isinstance(v, str) and v in ("active", "inactive") for v in units.values()):
            return f"node {name!r}: 'units' is not an object of active/inactive"
        vms = node.get("vms", [])
        if not isinstance(vms, list) or not all(
                isinstance(v, int | str) and not isinstance(v, bool) for v in vms):
            return f"node {name!r}: 'vms' is not a list of VM ids"
        if not isinstance(node.get("qdevice", False), bool):
            return f"node {name!r}: 'qdevice' is not true/false"
    return ""
