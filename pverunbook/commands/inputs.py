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
        if not k.strip():
            raise ValueError(f"--set {item!r} has no parameter name before '='; give it as "
                             "NAME=VALUE")
        out[k.strip()] = v
    return out


def nearest_run(given: str, exc: BaseException) -> str:
    """The message of a run that was not found; for a mistyped id, the nearest run ids kept
    first: "no run 'X' (did you mean Y?) in DIR; `pverunbook journal list` shows the runs"."""
    from pverunbook.engine.journal import runs_dir
    from pverunbook.runbook.suggest import did_you_mean

    said, head = str(exc), f"no run '{given}'"
    if not said.startswith(head):
        return said
    try:
        near = did_you_mean(given, [p.stem for p in runs_dir().glob("*.jsonl")])
    except OSError:
        return said
    return f"{head} ({near}){said[len(head):]}" if near else said


def state_dir_option(parser: Any) -> None:
    """``--state-dir DIR`` on a command that reads what runs wrote (journals, checkpoints):
    read them from DIR, where ``rehearse``/``check``/``run --state-dir DIR`` wrote them."""
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="read the runs and checkpoints kept in DIR (as written by "
                             "`rehearse`/`check` --state-dir DIR) instead of the default state "
                             "directory ($PVERUNBOOK_STATE_DIR, else the per-user one)")


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
        for key in sorted(keys.iterdir()):
            if key.suffix == ".pub" or key.name == "password" or key.name.startswith("."):
                continue
            try:
                data = read_capped(key, 64 << 10, "private key")
                if not _whole_openssh_ed25519(data):
                    # Not the shape the simulator writes: let asyncssh judge it (slow to
                    # import, so only then; the TUI's first frame waits for this check).
                    import asyncssh

                    try:
                        asyncssh.import_private_key(data)
                    except asyncssh.KeyImportError as exc:
                        raise ValueError(str(exc)) from None
            except (OSError, ValueError) as exc:
                return (f"{key}: is not a usable private key "
                        f"({getattr(exc, 'strerror', None) or exc}), so the rehearsal state in "
                        f"{state} is damaged; delete that file (a new key is made at the next "
                        f"start; --reset keeps the keys), or pick another --state-dir")
    return None


def _whole_openssh_ed25519(data: bytes) -> bool:
    """True when ``data`` is a complete, unencrypted OpenSSH ed25519 private key, as
    ``sim/cluster.py`` (``_keys``, asyncssh's ``write_private_key``) writes them.

    Walks the container of OpenSSH's PROTOCOL.key (magic, cipher "none", one public key, the
    private section with its two equal check words, the 32-byte public and 64-byte secret key,
    comment, padding 1, 2, 3, …) so a truncated or garbage file is caught without importing
    asyncssh. False means "not this shape", not "damaged": the caller then asks asyncssh."""
    import base64
    import binascii
    import struct

    text = data.strip().splitlines()
    if len(text) < 3 or text[0] != b"-----BEGIN OPENSSH PRIVATE KEY-----" \
            or text[-1] != b"-----END OPENSSH PRIVATE KEY-----":
        return False
    try:
        blob = base64.b64decode(b"".join(text[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        return False
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        return False
    pos = len(magic)

    def string() -> bytes:
        nonlocal pos
        if pos + 4 > len(blob):
            raise ValueError("short")
        (n,) = struct.unpack_from(">I", blob, pos)
        if pos + 4 + n > len(blob):
            raise ValueError("short")
        pos += 4 + n
        return blob[pos - n:pos]

    try:
        if string() != b"none" or string() != b"none" or string() != b"":
            return False
        if blob[pos:pos + 4] != b"\0\0\0\1":
            return False
        pos += 4
        string()  # the public key
        private = string()
        if pos != len(blob) or len(private) < 8 or private[:4] != private[4:8]:
            return False
        blob, pos = private, 8
        if string() != b"ssh-ed25519" or len(string()) != 32 or len(string()) != 64:
            return False
        string()  # comment
    except ValueError:
        return False
    pad = blob[pos:]
    return len(pad) < 8 and pad == bytes(range(1, len(pad) + 1))


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
