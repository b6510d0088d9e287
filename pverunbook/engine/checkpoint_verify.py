"""A checkpoint's manifest is checked before anything trusts it: shown verified, restored from.

A manifest records where each copy is stored (``stored``) and which remote path it restores
to (``path``). A tampered ``stored`` (``../../.ssh/id_ed25519``) made ``restore`` read the
operator's own private key and send it to the node; a node whose ``find`` listed a path
outside the step's declared backup got that path into a "verified" checkpoint, and restore
overwrote it. So, before ``checkpoints show`` says "verified" and before ``restore`` reads or
writes anything:

* the manifest carries a seal — an HMAC-SHA256 of its canonical JSON under a key that never
  leaves this machine (``<data dir>/checkpoint-seal.key``, 0600) — and the seal must match;
* every item's remote path is under what the step declared for that node (``declared``, which
  the manifest records), and its ``stored`` is exactly the place the capture would have put it
  (``<node>/files/<path>``, ``<node>/sqlite/<path>``, ``<node>/outputs/<n>.txt``, or
  ``<node>/trees/<n>.tar`` for a member of a tree's archive, with the ``offset`` of its data),
  a regular file inside the checkpoint folder once symlinks are resolved;
* with ``hashes``, each verified copy's bytes still hash to ``sha256_local`` and its size is
  the recorded one (local disk damage).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any

from pverunbook.engine.checkpoint_index import Checkpoint, data_dir

SEAL = "seal"
_KEY_FILE = "checkpoint-seal.key"


def _key(create: bool) -> bytes | None:
    path = data_dir() / _KEY_FILE
    try:
        with open(path, "rb") as fh:
            key = fh.read(64)
        return key if len(key) >= 32 else None
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    os.close(fd)
    return key


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SEAL}
    return json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def seal(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with its seal (the key is created on first use)."""
    key = _key(create=True)
    assert key is not None
    return {**manifest, SEAL: hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()}


def verify(cp: Checkpoint, hashes: bool = True) -> list[str]:
    """Why ``cp`` cannot be trusted ([] when it can); see the module docstring."""
    m = cp.manifest
    problems: list[str] = []
    key = _key(create=False)
    given = m.get(SEAL)
    if not isinstance(given, str):
        return [f"{cp.id}: the manifest has no seal (made by an older version, or edited); "
                "it cannot be verified — take a new checkpoint"]
    if key is None:
        return [f"{cp.id}: the seal key {data_dir() / _KEY_FILE} is missing, so the manifest "
                "cannot be verified on this machine"]
    if not hmac.compare_digest(given, hmac.new(key, _canonical(m), hashlib.sha256).hexdigest()):
        return [f"{cp.id}: the manifest was changed after it was written (its seal does not "
                "match); do not restore from it"]
    declared = m.get("declared")
    if not isinstance(declared, dict):
        return [f"{cp.id}: the manifest does not record what the step declared"]
    root = os.path.realpath(cp.path)
    for item in cp.items:
        why = _item_problem(cp, item, declared, root, hashes)
        if why:
            problems.append(f"{item.get('node')}: {item.get('path')}: {why}")
    return problems


def _item_problem(cp: Checkpoint, item: dict[str, Any], declared: dict[str, Any], root: str,
                  hashes: bool) -> str:
    from pverunbook.engine.checkpoints import _safe_node, _safe_rel, under

    node, kind, path = item.get("node"), item.get("kind"), item.get("path")
    stored = item.get("stored") or ""
    if kind == "absent" and item.get("ok"):
        # "not there before the step": a restore deletes the path, so it must be exactly a
        # path the step declared (never something below or beside it) and store nothing.
        mine = declared.get(str(node))
        roots = mine.get("files", []) if isinstance(mine, dict) else []
        if not isinstance(path, str) or path not in [r for r in roots if isinstance(r, str)]:
            return "recorded as absent but not a path the step declared; refusing it"
        return "" if not stored else "recorded as absent but names a stored copy"
    if not item.get("ok") or not stored:
        return ""  # a record of what failed or was refused: nothing is read or restored
    mine = declared.get(str(node))
    if not isinstance(node, str) or not isinstance(mine, dict):
        return "its node is not one the checkpoint was taken on"
    if not isinstance(path, str) or not isinstance(stored, str):
        return "the manifest entry is damaged"
    offset = item.get("offset")
    if kind in ("file", "dir", "symlink"):
        roots = [r for r in mine.get("files", []) if isinstance(r, str)]
        if not any(under(path, r) for r in roots):
            return "not under the backup the step declared; refusing it"
        expected = f"{_safe_node(node)}/files/{_safe_rel(path)}" if kind != "symlink" else ""
        if kind == "file" and offset is not None:
            # A member of the tree's stored archive (checkpoints.py layout).
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 \
                    or not isinstance(item.get("size"), int) or item["size"] < 0:
                return "the manifest entry is damaged"
            tree = re.fullmatch(rf"{re.escape(_safe_node(node))}/trees/\d{{1,6}}\.tar", stored,
                                re.ASCII)
            expected = stored if tree else "<trees/N.tar>"
    elif kind == "sqlite":
        if path not in [r for r in mine.get("sqlite", []) if isinstance(r, str)]:
            return "not a database the step declared; refusing it"
        expected = f"{_safe_node(node)}/sqlite/{_safe_rel(path)}"
    elif kind == "output":
        expected = stored if re.fullmatch(rf"{re.escape(_safe_node(node))}/outputs/\d{{1,6}}"
                                          r"\.txt", stored, re.ASCII) else "<outputs/N.txt>"
    else:
        return f"unknown kind {str(kind)[:20]!r}"
    if kind == "dir":
        return "" if stored == expected else "stored in an unexpected place"
    if stored != expected:
        return f"stored as {stored[:80]!r}, not where a capture puts it; refusing it"
    local = os.path.realpath(cp.path / stored)
    if not local.startswith(root + os.sep):
        return "its copy is outside the checkpoint folder; refusing it"
    try:
        st = os.lstat(cp.path / stored)
    except OSError as exc:
        return f"its copy is missing ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return "its copy is not a regular file; refusing it"
    if offset is not None:
        if st.st_size < offset + item["size"]:
            return f"its archive has {st.st_size} bytes, too few to hold the copy recorded"
        if hashes and _sha256(Path(local), offset, item["size"]) != item.get("sha256_local"):
            return "its copy no longer matches its recorded hash (local disk damage?)"
        return ""
    if hashes:
        if isinstance(item.get("size"), int) and st.st_size != item["size"]:
            return f"its copy has {st.st_size} bytes, not the {item['size']} recorded"
        if _sha256(Path(local)) != item.get("sha256_local"):
            return "its copy no longer matches its recorded hash (local disk damage?)"
    return ""


def _sha256(path: Path, offset: int = 0, size: int | None = None) -> str:
    """The sha256 of ``path`` (or of at most ``size`` bytes at ``offset`` in it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = size
        while left is None or left > 0:
            chunk = fh.read(1 << 20 if left is None else min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()
