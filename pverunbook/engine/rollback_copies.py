"""The restore copies a rollback timer is armed with: the verified checkpoint's files per node,
and the one ``config_version`` every node restores corosync.conf with.

Split from :mod:`pverunbook.engine.rollback` (arm, commit, fire), which writes them to the nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pverunbook.engine import rollback_script as rs
from pverunbook.engine.remote_files import sha256_hex
from pverunbook.inventory import Node

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine


def _copies(engine: Engine, checkpoint_id: str, nodes: list[Node], need_files: bool = True
            ) -> tuple[dict[str, dict[str, tuple[bytes, int]]], str]:
    """node → path → (content, mode) of the verified checkpoint copies, or a problem."""
    from pverunbook.engine.checkpoint_index import load_checkpoint

    root = getattr(engine.checkpointer, "root", None)
    if not checkpoint_id or root is None:
        return {}, "no verified checkpoint to roll back to"
    try:
        cp = load_checkpoint(checkpoint_id, root)
    except Exception as exc:  # noqa: BLE001 - any reason means: nothing to restore from
        return {}, f"checkpoint {checkpoint_id} cannot be read ({exc})"
    out: dict[str, dict[str, tuple[bytes, int]]] = {n.name: {} for n in nodes}
    for item in cp.items:
        if item.get("kind") != "file" or item.get("node") not in out:
            continue
        if not item.get("ok"):
            return {}, (f"{item.get('node')}: {item.get('path')} has no verified copy in "
                        f"checkpoint {checkpoint_id}")
        data = cp.read_copy(item)
        if sha256_hex(data) != item.get("sha256_local"):
            return {}, f"{item['node']}: the stored copy of {item['path']} changed on disk"
        mode = int(str(item.get("mode") or "600"), 8) & 0o7777
        out[item["node"]][str(item["path"])] = (data, mode)
    empty = [n for n, files in out.items() if not files]
    if empty and need_files:
        return {}, f"the checkpoint holds no file of {', '.join(empty)} to restore"
    return out, ""


def _corosync_version(copies: dict[str, dict[str, tuple[bytes, int]]]) -> int | None:
    """The config_version every node restores corosync.conf with: two above the highest one
    checkpointed (the step itself raises it by one), the same on every node."""
    seen = [rs.config_version(data.decode("utf-8", "replace"))
            for files in copies.values() for path, (data, _) in files.items()
            if path in (rs.PVE_COROSYNC, rs.LOCAL_COROSYNC)]
    versions = [v for v in seen if v is not None]
    return max(versions) + 2 if versions else None
