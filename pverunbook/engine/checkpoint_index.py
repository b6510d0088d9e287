"""Where checkpoints live on this machine, and reading them back: list, find by id, manifest.

A checkpoint folder without a readable, well-shaped ``manifest.json`` is an interrupted one
(the manifest is written last, atomically), so it is listed as such and never restored from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pverunbook.statedir import data_dir

MANIFEST = "manifest.json"
FORMAT = 1


def checkpoints_dir() -> Path:
    """``checkpoints/`` under the data directory (``statedir.data_dir``: the chosen
    ``--state-dir``, else ``$PVERUNBOOK_DATA_DIR``, else ``$PVERUNBOOK_STATE_DIR``, …)."""
    return data_dir() / "checkpoints"


@dataclass(frozen=True)
class CheckpointInfo:
    id: str
    path: Path
    run_id: str
    step_id: str
    created: float
    nodes: tuple[str, ...]
    ok: bool
    complete: bool
    items: int
    problems: tuple[str, ...] = ()


@dataclass
class Checkpoint:
    id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("items", []))

    @property
    def ok(self) -> bool:
        return bool(self.manifest.get("ok"))

    @property
    def nodes(self) -> list[str]:
        return list(self.manifest.get("nodes", []))

    def local_path(self, item: dict[str, Any]) -> Path:
        """The file holding the item's copy: its own, or the tree's archive (``offset``)."""
        return self.path / str(item["stored"])

    def read_copy(self, item: dict[str, Any]) -> bytes:
        """The item's stored bytes: the whole file, or, for a member of a tree's archive
        (checkpoints.py layout), ``size`` bytes at ``offset`` in it. The caller compares
        them with ``sha256_local`` before using them; a short read simply fails that."""
        offset = item.get("offset")
        if offset is None:
            return self.local_path(item).read_bytes()
        with open(self.local_path(item), "rb") as fh:
            fh.seek(int(offset))
            return fh.read(int(item.get("size") or 0))


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest, or None when it is missing, not JSON, or not shaped like one we write
    (a damaged or hand-edited manifest is treated like an interrupted checkpoint)."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and _manifest_shaped(data) else None


_MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "run_id": str, "step_id": str, "created": (int, float), "nodes": list,
    "ok": bool, "items": list, "problems": list}


def _manifest_shaped(m: dict[str, Any]) -> bool:
    for key, kind in _MANIFEST_TYPES.items():
        if key in m and (not isinstance(m[key], kind) or isinstance(m[key], bool)
                         and kind is not bool):
            return False
    if not all(isinstance(n, str) for n in m.get("nodes", [])):
        return False
    if not all(isinstance(p, str) for p in m.get("problems", [])):
        return False
    for item in m.get("items", []):
        if not isinstance(item, dict):
            return False
        for key in ("node", "kind", "path", "stored", "status", "problem", "sha256_local"):
            if key in item and not isinstance(item[key], str):
                return False
    return True


def list_checkpoints(root: Path | None = None) -> list[CheckpointInfo]:
    """Every checkpoint folder, oldest first; ones without a manifest are ``complete=False``."""
    root = root if root is not None else checkpoints_dir()
    out: list[CheckpointInfo] = []
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        m = _read_manifest(d)
        if m is None:
            out.append(CheckpointInfo(d.name, d, "", "", d.stat().st_mtime, (), False, False, 0,
                                      ("interrupted: no manifest (never verified)",)))
            continue
        from pverunbook.engine.checkpoint_verify import verify

        # "verified" needs a manifest that checks out, not only one that says ok (the copies'
        # hashes are checked by `checkpoints show` and restore; listing stays quick).
        untrusted = verify(Checkpoint(str(m.get("id", d.name)), d, m), hashes=False)
        out.append(CheckpointInfo(
            id=str(m.get("id", d.name)), path=d, run_id=str(m.get("run_id", "")),
            step_id=str(m.get("step_id", "")), created=float(m.get("created", 0.0)),
            nodes=tuple(m.get("nodes", [])), ok=bool(m.get("ok")) and not untrusted,
            complete=True, items=len(m.get("items", [])),
            problems=tuple(m.get("problems", [])) + tuple(untrusted)))
    out.sort(key=lambda c: c.created)
    return out


def load_checkpoint(id_or_prefix: str, root: Path | None = None) -> Checkpoint:
    """A checkpoint by id, unique id prefix or folder path; FileNotFoundError says why not."""
    root = root if root is not None else checkpoints_dir()
    direct = Path(id_or_prefix)
    if direct.is_dir() and (direct / MANIFEST).exists():
        candidates = [direct]
    else:
        exact = root / id_or_prefix
        candidates = [exact] if exact.is_dir() else (
            sorted(p for p in root.glob(f"{glob_escape(id_or_prefix)}*") if p.is_dir())
            if root.is_dir() else [])
    if not candidates:
        raise FileNotFoundError(f"no checkpoint '{id_or_prefix}' in {root}; "
                                "`pverunbook checkpoints list` shows them")
    if len(candidates) > 1:
        raise FileNotFoundError(f"'{id_or_prefix}' matches {len(candidates)} checkpoints: "
                                f"{', '.join(c.name for c in candidates[:5])}; give more of the id")
    m = _read_manifest(candidates[0])
    if m is None:
        raise FileNotFoundError(f"checkpoint {candidates[0].name} has no readable {MANIFEST} "
                                "(missing or damaged): it was interrupted, or was changed "
                                "after it was written; it cannot be restored from")
    return Checkpoint(str(m.get("id", candidates[0].name)), candidates[0], m)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
