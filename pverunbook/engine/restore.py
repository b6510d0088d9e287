"""Restoring a checkpoint: diff first, typed confirmation, a checkpoint of what is replaced.

Split from :mod:`pverunbook.engine.checkpoints` (which takes and reads checkpoints): putting
files back onto nodes is its own, rarer and riskier path. A restored ``config.db`` is only
staged, with the documented steps to put it in place (pmxcfs.adoc "Recovery").
"""

from __future__ import annotations

import asyncio
import difflib
import posixpath
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.checkpoint_index import Checkpoint
from pverunbook.engine.checkpoint_verify import verify
from pverunbook.engine.checkpoints import DIFF_LIMIT, RESTORE_NOTE, CheckpointStore, Parts
from pverunbook.engine.journal import Redactor
from pverunbook.engine.remote_files import (
    Deadline,
    Meta,
    PartFailed,
    check_result,
    is_secret_path,
    remote_sha,
    remote_stat,
    run_collect,
    sha256_hex,
)
from pverunbook.engine.rollback_script import config_version
from pverunbook.inventory import Cluster, Node
from pverunbook.transport.base import Transport, TransportError


@dataclass
class RestoreResult:
    ok: bool
    checkpoint_id: str
    nodes: list[str] = field(default_factory=list)
    summary: str = ""
    refused: bool = False
    pre_checkpoint_id: str = ""
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)


# -- restore ---------------------------------------------------------------------------------
@dataclass
class _Change:
    node: Node
    item: dict[str, Any]
    data: bytes
    state: str  # "unchanged", "changed", "absent", "metadata", "sqlite", "remove"
    diff: str = ""
    #: why the restored file will not be the one in effect (a corosync.conf whose
    #: config_version is not above the current one), shown before the question and after
    version_note: str = ""
    current: Meta | None = None


def _wanted(item: dict[str, Any], node: str | None, path: str | None) -> bool:
    if not item.get("ok") or item.get("kind") not in ("file", "sqlite", "absent"):
        return False
    if node is not None and item.get("node") != node:
        return False
    if path is not None:
        p = path.rstrip("/") or "/"
        ip = str(item.get("path", ""))
        return ip == p or ip.startswith(p.rstrip("/") + "/")
    return True


async def _current(transport: Transport, node: Node, path: str,
                   timeout: float) -> tuple[Meta | None, str | None]:
    dl = Deadline(timeout)
    try:
        metas = await remote_stat(transport, node, path, dl, recursive=False)
    except PartFailed as exc:
        if exc.missing and "timed out" not in str(exc):
            return None, None
        raise
    if not metas or metas[0].is_dir:
        return (metas[0] if metas else None), None
    return metas[0], (await remote_sha(transport, node, [path], dl)).get(path)


def _diff(old: bytes, new: bytes, path: str, redactor: Redactor) -> str:
    if is_secret_path(path):
        return "    (private key material: diff not shown)\n"
    if len(old) > DIFF_LIMIT or len(new) > DIFF_LIMIT:
        return "    (larger than 256 KiB: diff not shown)\n"
    try:
        a, b = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return "    (binary: diff not shown)\n"
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile=f"{path} (now on the node)",
                                 tofile=f"{path} (checkpoint)")
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return redactor.text(text)


def sqlite_instructions(db: str, staged: str) -> list[str]:
    """The documented way to put a restored config.db in place (pmxcfs.adoc "Recovery")."""
    q, s = shlex.quote(db), shlex.quote(staged)
    stamp = "$(date +%s)"
    return [
        "# with HA resources active: ha-manager crm-command node-maintenance enable <node>,",
        "#   or stop pve-ha-lrm, then pve-ha-crm, so the watchdog does not fence the node",
        "systemctl stop pve-cluster",
        f"mkdir -p /root/pverunbook-replaced && for f in {q} {q}-wal {q}-shm; do "
        f"[ -e \"$f\" ] && mv \"$f\" /root/pverunbook-replaced/\"$(basename \"$f\")\".{stamp}; "
        "done",
        f"mv {s} {q} && chmod 0600 {q} && chown root:root {q}",
        "# check /etc/hostname and /etc/hosts match this node, then:",
        "systemctl start pve-cluster   # or reboot, as pmxcfs.adoc advises",
    ]


async def restore(checkpoint: Checkpoint, transport: Transport, cluster: Cluster, *,
                  node: str | None = None, path: str | None = None,
                  confirm: Callable[[str, str], Awaitable[str | None]],
                  store: CheckpointStore,
                  emit: Callable[[ev.Event], None] | None = None,
                  timeout: float = 30.0) -> RestoreResult:
    """Show what would change, ask for the typed confirmation, checkpoint what is about to be
    overwritten, write the checkpoint's bytes back (mode and owner too), verify the hashes.

    A live config.db is never overwritten: the copy goes to ``<db>.pverunbook-restore`` and
    ``RestoreResult.instructions`` says how to swap it in with pve-cluster stopped.
    """
    res = RestoreResult(ok=False, checkpoint_id=checkpoint.id)
    # The manifest is checked before anything is read or written (checkpoint_verify.py).
    untrusted = await asyncio.to_thread(verify, checkpoint)
    if untrusted:
        res.problems += untrusted
        res.problems.append("the checkpoint's manifest cannot be trusted, so nothing was read "
                            "or written; restore from another checkpoint")
        return res
    items = [i for i in checkpoint.items if _wanted(i, node, path)]
    if node is not None and node not in checkpoint.nodes:
        res.problems.append(f"node '{node}' is not in checkpoint {checkpoint.id} (it has "
                            f"{', '.join(checkpoint.nodes) or 'none'})")
        return res
    if not items:
        res.problems.append("nothing verified in this checkpoint matches the --node/--path "
                            "given; `pverunbook checkpoints show` lists its files")
        return res
    nodes: dict[str, Node] = {}
    for name in dict.fromkeys(str(i["node"]) for i in items):
        try:
            nodes[name] = cluster.node(name)
        except KeyError:
            res.problems.append(f"checkpoint node '{name}' is not in cluster '{cluster.name}' "
                                f"({', '.join(cluster.names)}); pass the right --cluster file")
    if res.problems:
        return res
    res.nodes = list(nodes)

    # 1. What would change.
    changes: list[_Change] = []
    for item in items:
        n = nodes[str(item["node"])]
        if item["kind"] == "absent":
            change = await _absent_change(transport, n, item, timeout, res)
            if change is not None:
                changes.append(change)
            continue
        data = await asyncio.to_thread(checkpoint.read_copy, item)
        if sha256_hex(data) != item.get("sha256_local"):
            res.problems.append(f"{n.name}: {item['path']}: the stored copy no longer matches "
                                "its manifest hash (local disk damage?); not restoring it")
            continue
        if item["kind"] == "sqlite":
            changes.append(_Change(n, item, data, "sqlite"))
            continue
        try:
            meta, sha = await _current(transport, n, str(item["path"]), timeout)
        except (PartFailed, TransportError) as exc:
            res.problems.append(f"{n.name}: {item['path']}: cannot read the current state: "
                                f"{exc}")
            continue
        if meta is not None and meta.is_dir:
            res.problems.append(f"{n.name}: {item['path']} is now a directory; move it away "
                                "first")
            continue
        same_meta = meta is not None and (meta.mode, meta.uid, meta.gid) == (
            item.get("mode"), item.get("uid"), item.get("gid"))
        if sha == item.get("sha256_local"):
            changes.append(_Change(n, item, data, "unchanged" if same_meta else "metadata",
                                   current=meta))
            continue
        change = _Change(n, item, data, "absent" if meta is None else "changed", current=meta)
        if meta is not None:
            try:
                old = await transport.read_file(n, str(item["path"]), timeout=timeout)
                change.diff = _diff(old, data, str(item["path"]), store.redactor)
                change.version_note = corosync_version_note(str(item["path"]), old, data)
            except TransportError as exc:
                change.diff = f"    (cannot read the current file for a diff: {exc.message})\n"
        changes.append(change)
    if res.problems:
        return res
    res.summary = _summary(checkpoint, changes)
    res.unchanged = [f"{c.node.name}:{c.item['path']}" for c in changes if c.state == "unchanged"]
    todo = [c for c in changes if c.state != "unchanged"]
    if not todo:
        res.ok = True
        return res

    # 2. The operator's word.
    expected = res.nodes[0] if len(res.nodes) == 1 else cluster.name
    typed = await confirm(res.summary, expected)
    if typed is None or typed.strip() != expected:
        res.refused = True
        res.problems.append(f"confirmation refused: expected {expected!r}, got "
                            f"{'nothing' if typed is None else repr(typed)}; nothing was written")
        _note(emit, checkpoint, res, "refused")
        return res

    # 3. Restore is itself checkpointed: keep what is about to be overwritten.
    pre: dict[str, Parts] = {}
    for c in todo:
        if c.state in ("changed", "metadata", "remove"):
            pre.setdefault(c.node.name, Parts()).files.append(str(c.item["path"]))
    if pre:
        outcome = await store.capture(
            f"restore-{time.strftime('%Y%m%d-%H%M%S')}", "pre-restore",
            [(nodes[name], transport, parts) for name, parts in pre.items()])
        res.pre_checkpoint_id = outcome.checkpoint_id
        if not outcome.ok:
            res.problems += [f"pre-restore checkpoint failed: {p}" for p in outcome.problems]
            res.problems.append("nothing was written; fix the problem above and retry")
            _note(emit, checkpoint, res, "blocked")
            return res

    # 4. Write back and verify.
    for c in todo:
        p = str(c.item["path"])
        where = f"{c.node.name}:{p}"
        try:
            if c.state == "sqlite":
                staged = p + ".pverunbook-restore"
                await transport.write_file(c.node, staged, c.data, mode=0o600, timeout=timeout)
                meta, sha = await _current(transport, c.node, staged, timeout)
                if sha != c.item.get("sha256_local"):
                    res.problems.append(f"{where}: staged copy {staged} does not verify")
                    continue
                res.written.append(f"{c.node.name}:{staged}")
                res.instructions += [f"# on {c.node.name}:"] + sqlite_instructions(p, staged)
                continue
            if c.state == "remove":
                result, _, err = await run_collect(transport, c.node,
                                                   f"rm -f -- {shlex.quote(p)}", timeout)
                check_result(result, err, f"removing {p}")
                meta, _sha = await _current(transport, c.node, p, timeout)
                if meta is not None:
                    res.problems.append(f"{where}: still there after rm -f")
                    continue
                res.written.append(f"{where} (removed)")
                continue
            await _restore_file(transport, c, timeout)
            meta, sha = await _current(transport, c.node, p, timeout)
            if sha != c.item.get("sha256_local"):
                res.problems.append(f"{where}: after writing, the node's sha256 is {sha} but the "
                                    f"checkpoint's is {c.item.get('sha256_local')}")
                continue
            if meta is not None and (meta.mode, meta.uid, meta.gid) != (
                    c.item.get("mode"), c.item.get("uid"), c.item.get("gid")):
                msg = (f"{where}: content verified but mode/owner is {meta.mode} "
                       f"{meta.uid}:{meta.gid}, checkpoint had {c.item.get('mode')} "
                       f"{c.item.get('uid')}:{c.item.get('gid')}")
                if p.startswith("/etc/pve/"):
                    res.instructions.append(f"# note: {msg} (pmxcfs sets its own permissions)")
                else:
                    res.problems.append(msg)
                    continue
            res.written.append(where)
            if c.version_note:
                res.instructions.append(f"# {where}: {c.version_note}")
        except (TransportError, PartFailed) as exc:
            res.problems.append(f"{where}: {exc}")
    res.ok = not res.problems
    _note(emit, checkpoint, res, "verified" if res.ok else "NOT verified")
    return res


async def _absent_change(transport: Transport, node: Node, item: dict[str, Any],
                         timeout: float, res: RestoreResult) -> _Change | None:
    """A path recorded as absent: already absent (unchanged), or a file made since (remove).
    A directory there now is left to the operator (nothing recursive is ever deleted)."""
    try:
        meta, _sha = await _current(transport, node, str(item["path"]), timeout)
    except (PartFailed, TransportError) as exc:
        res.problems.append(f"{node.name}: {item['path']}: cannot read the current state: "
                            f"{exc}")
        return None
    if meta is None:
        return _Change(node, item, b"", "unchanged")
    if meta.is_dir:
        res.problems.append(f"{node.name}: {item['path']} did not exist at the checkpoint and "
                            "is a directory now; remove it by hand if it should go")
        return None
    return _Change(node, item, b"", "remove", current=meta)


async def _restore_file(transport: Transport, c: _Change, timeout: float) -> None:
    p = str(c.item["path"])
    mode = int(str(c.item.get("mode", "0600")), 8)
    parent = posixpath.dirname(p)
    result, _, err = await run_collect(transport, c.node, f"mkdir -p -- {shlex.quote(parent)}",
                                       timeout)
    check_result(result, err, f"creating {parent}")
    if c.state != "metadata":
        await transport.write_file(c.node, p, c.data, mode=mode, timeout=timeout)
    q = shlex.quote(p)
    cmd = (f"chmod {mode:o} -- {q} && chown {int(c.item.get('uid', 0))}:"
           f"{int(c.item.get('gid', 0))} -- {q}")
    result, _, err = await run_collect(transport, c.node, cmd, timeout)
    if result.timed_out or result.error:
        check_result(result, err, f"setting mode/owner of {p}")


def corosync_version_note(path: str, current: bytes, restored: bytes) -> str:
    """Why restoring ``restored`` over ``current`` will not change the config corosync runs,
    or "" (not a corosync.conf, or its config_version is above the current one).

    Shapes: ``path`` a node path, the contents as bytes. Source: pve-cluster dcdb.c
    ``dcdb_sync_corosync_conf`` copies /etc/pve/corosync.conf to a node's
    /etc/corosync/corosync.conf only when its config_version is higher ("local corosync.conf is
    newer" otherwise), and corosync keeps the config it loaded until ``corosync-cfgtool -R``
    (pvecm.adoc "Edit corosync.conf": always raise config_version). The rollback timers raise
    it for this reason (rollback_script.py); a restore writes the checkpoint's bytes as they
    were, so it says what is left to do instead.
    """
    if posixpath.basename(path) != "corosync.conf":
        return ""
    old = config_version(current.decode("utf-8", "replace"))
    new = config_version(restored.decode("utf-8", "replace"))
    if old is None or new is None or new > old:
        return ""
    return (f"its config_version {new} is not above the {old} in place now, so it will not be "
            "the config corosync runs: pmxcfs copies /etc/pve/corosync.conf to the nodes only "
            "when its version is higher (dcdb.c: 'local corosync.conf is newer'), and "
            "corosync keeps what it loaded. To put it in effect, raise its config_version "
            f"above {old} in /etc/pve/corosync.conf (a .new copy, then mv, as corosync-tuning "
            "does), then `corosync-cfgtool -R` on one node")


def _summary(checkpoint: Checkpoint, changes: list[_Change]) -> str:
    lines = [f"Restore from checkpoint {checkpoint.id} (run {checkpoint.manifest.get('run_id')}, "
             f"step {checkpoint.manifest.get('step_id')}):"]
    for c in changes:
        it = c.item
        where = f"{c.node.name}:{it['path']}"
        if c.state == "unchanged":
            lines.append(f"  = {where}: already identical")
        elif c.state == "metadata":
            cur = c.current
            lines.append(f"  ~ {where}: same content; mode/owner "
                         f"{cur.mode if cur else '?'} {cur.uid if cur else '?'}:"
                         f"{cur.gid if cur else '?'} -> {it.get('mode')} "
                         f"{it.get('uid')}:{it.get('gid')}")
        elif c.state == "absent":
            lines.append(f"  + {where}: missing on the node; will be recreated "
                         f"({it.get('size')} bytes, mode {it.get('mode')})")
        elif c.state == "remove":
            lines.append(f"  - {where}: did not exist when the checkpoint was taken; will be "
                         "removed (it is kept in a pre-restore checkpoint)")
        elif c.state == "sqlite":
            lines.append(f"  ! {where}: SQLite database; the copy is written to "
                         f"{it['path']}.pverunbook-restore, the live database is NOT touched")
        else:
            lines.append(f"  ~ {where}: differs; will be overwritten (sha256 "
                         f"{str(it.get('sha256_local'))[:12]}…)")
            if c.diff:
                lines.append(c.diff.rstrip("\n"))
            if c.version_note:
                lines.append(f"  ⚠ {where}: {c.version_note}")
    lines.append("Files on the node that are not in the checkpoint are left alone.")
    return "\n".join(lines)


def _note(emit: Callable[[ev.Event], None] | None, checkpoint: Checkpoint, res: RestoreResult,
          outcome: str) -> None:
    if emit is None:
        return
    text = (f"{RESTORE_NOTE}{checkpoint.id} on {', '.join(res.nodes)}: {outcome}; "
            f"{len(res.written)} written, {len(res.unchanged)} already identical"
            + (f"; pre-restore checkpoint {res.pre_checkpoint_id}" if res.pre_checkpoint_id
               else "")
            + (f"; problems: {'; '.join(res.problems)}" if res.problems else ""))
    emit(ev.Note(step_id=str(checkpoint.manifest.get("step_id", "")), text=text,
                 level="info" if res.ok else "warning"))
