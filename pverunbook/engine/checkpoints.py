"""Verified checkpoints before destructive steps, and restoring them.

The outage this tool exists for lost every VM config because ``rm -rf config.db*`` ran with no
backup. So a checkpoint is only "ok" when every declared part on every target node was copied
here AND the copy's sha256 equals the one computed on the node: a part that is missing, hangs
(reading /etc/pve blocks when pmxcfs does), or cannot be stored locally fails the checkpoint and
the engine blocks the step until the operator retries, aborts or types the override phrase.

SQLite databases (pmxcfs' config.db runs in WAL mode) are copied with SQLite's online backup
(``sqlite3 DB ".backup FILE"``), never ``cp``: a plain copy of a live WAL database misses every
transaction not yet checkpointed into the main file.

Layout: ``<root>/<id>/manifest.json`` plus ``<node>/trees/<n>.tar`` (the n-th declared tree as
the node's ``tar`` sent it; each file's item records its data's ``offset`` in it),
``<node>/files/<abs path>`` (a file read on its own, when the tree could not be streamed or tar
left it out), ``<node>/sqlite/<abs path>`` and ``<node>/outputs/<n>.txt``. Everything is
0700/0600 (the checkpoint holds /etc/pve/priv keys: that is the point of it). The manifest holds
metadata and hashes, never file contents, and is written last and atomically, so a folder
without one is an interrupted checkpoint, never a complete-looking one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import posixpath
import re
import shlex
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pverunbook.engine import archive
from pverunbook.engine.archive import mkdir_private as _mkdir_private
from pverunbook.engine.checkpoint_index import (
    FORMAT,
    MANIFEST,
    Checkpoint,
    CheckpointInfo,
    checkpoints_dir,
    data_dir,
    list_checkpoints,
    load_checkpoint,
)
from pverunbook.engine.checkpoint_verify import seal
from pverunbook.engine.journal import Redactor
from pverunbook.engine.outcomes import CheckpointOutcome, CheckpointProgress
from pverunbook.engine.remote_files import (
    Deadline,
    Meta,
    PartFailed,
    check_result,
    remote_sha,
    remote_stat,
    run_collect,
    sha256_hex,
    tree_sha,
)
from pverunbook.inventory import Node
from pverunbook.transport.base import Transport, TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine
    from pverunbook.runbook.model import Step

#: Text files up to this size get a unified diff before a restore.
DIFF_LIMIT = 256 * 1024
#: Output commands that exit like this did not run at all (not found / not executable).
_NOT_RUN = (126, 127)
RESTORE_NOTE = "restore of checkpoint "

# Reading checkpoints back moved to checkpoint_index.py, the node-side file helpers to
# remote_files.py; the names stay importable from here.
__all__ = ["DIFF_LIMIT", "FORMAT", "MANIFEST", "RESTORE_NOTE", "Checkpoint", "CheckpointInfo",
           "CheckpointStore", "Meta", "PartFailed", "Parts", "checkpoints_dir", "data_dir",
           "list_checkpoints", "load_checkpoint"]


@dataclass
class Parts:
    """What to capture on one node, placeholders already rendered."""

    files: list[str] = field(default_factory=list)
    sqlite: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# -- small helpers ---------------------------------------------------------------------------
def _safe_rel(path: str) -> str:
    """An absolute remote path as a relative local one that cannot escape the checkpoint."""
    norm = posixpath.normpath("/" + path.lstrip("/"))
    if ".." in norm.split("/"):
        raise PartFailed(f"{path}: refusing a path with '..'")
    return norm.lstrip("/") or "_root"


def under(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both absolute, compared after normalising)."""
    p = posixpath.normpath("/" + path.lstrip("/"))
    r = posixpath.normpath("/" + root.lstrip("/"))
    return p == r or p.startswith(r.rstrip("/") + "/")


def _safe_node(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_node"


def _files_rel(node: Node, path: str) -> str:
    """Where a file part of ``node`` is stored inside the checkpoint folder."""
    return f"{_safe_node(node.name)}/files/{_safe_rel(path)}"


# -- local disk (always called through asyncio.to_thread) ------------------------------------
def _write_private(path: Path, data: bytes) -> None:
    """Write with 0600 from the first byte: a private key never sits world-readable."""
    _mkdir_private(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _manifest_json(data: dict[str, Any]) -> str:
    """One top-level key a line and one item a line: still readable, and written by json's C
    encoder (``indent=`` falls back to the pure-Python one: 0.1-0.2 s for 2000 files)."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    fields = [f"  {one(k)}: {one(v)}" for k, v in data.items() if k != "items"]
    items = ",\n".join(f"    {one(i)}" for i in data.get("items", []))
    fields.append(f'  "items": [\n{items}\n  ]' if items else '  "items": []')
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    _write_private(tmp, _manifest_json(data).encode())
    os.replace(tmp, path)
    _fsync_path(path.parent)  # the rename itself reaches the disk


def _integrity(path: Path) -> str:
    # immutable: no -wal/-shm are created beside the copy, and it is never written.
    con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return "; ".join(str(r[0]) for r in rows) or "no result"


def _reserve(root: Path, base: str) -> tuple[str, Path]:
    _mkdir_private(root)
    n = 1
    while True:
        cid = f"{base}-{n}"
        path = root / cid
        try:
            path.mkdir(mode=0o700)
            return cid, path
        except FileExistsError:
            n += 1


def _local_err(exc: OSError, root: Path) -> str:
    why = exc.strerror or str(exc)
    return (f"cannot store the copy locally: {why}; free space in {root} or point "
            "PVERUNBOOK_DATA_DIR (or --state-dir) at a disk with room, then retry")


async def _stop(*tasks: asyncio.Future[Any]) -> None:
    """Cancel those of ``tasks`` still running and wait for them to end, even through a
    cancellation of our own (raised again once they have): a stream's task removes its
    archive file on the way out, and the caller may remove the whole folder next. What they
    raised is dropped."""
    for t in tasks:
        t.cancel()
    cancelled = False
    while not all(t.done() for t in tasks):
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError:
            cancelled = True
    for t in tasks:
        if not t.cancelled():
            t.exception()  # retrieved: the caller reports what matters
    if cancelled:
        raise asyncio.CancelledError


# -- the store -------------------------------------------------------------------------------
class CheckpointStore:
    """Takes, verifies and stores checkpoints on this machine (the engine's ``Checkpointer``)."""

    def __init__(self, root: Path | None = None, redactor: Redactor | None = None,
                 part_timeout: float = 20.0) -> None:
        self.root = root if root is not None else checkpoints_dir()
        self.redactor = redactor or Redactor()
        self.part_timeout = part_timeout

    async def take(self, engine: Engine, step: Step, nodes: list[Node]) -> CheckpointOutcome:
        from pverunbook.runbook.template import render, render_plain

        targets: list[tuple[Node, Transport, Parts]] = []
        for node in nodes:
            values = engine.values_for(node)
            parts = Parts(files=[render_plain(p, values) for p in step.backup.files],
                          sqlite=[render_plain(p, values) for p in step.backup.sqlite])
            for p in parts.files + parts.sqlite:
                if "{{" in p:
                    parts.problems.append(f"{node.name}: backup path {p!r} has a placeholder "
                                          "with no value; fix the runbook or set the parameter")
            for cmd in step.backup.outputs:
                try:
                    parts.outputs.append(render(cmd, values))
                except KeyError as exc:
                    parts.problems.append(f"{node.name}: backup output {cmd!r} uses unknown "
                                          f"placeholder {exc}; fix the runbook")
            try:
                transport = engine.transport_for(node)
            except TransportError as exc:
                return CheckpointOutcome(False, "", problems=[str(exc)])
            targets.append((node, transport, parts))
        return await self.capture(engine.run_id or "run", step.id, targets,
                                  progress=engine.checkpoint_progress)

    async def capture(self, run_id: str, step_id: str,
                      targets: list[tuple[Node, Transport, Parts]],
                      progress: CheckpointProgress | None = None) -> CheckpointOutcome:
        """Capture ``targets`` (each node in parallel) into a new checkpoint folder.

        ``progress`` (if given) counts the parts as they finish, for the confirmation that is
        open meanwhile. Cancelled (the operator refused, the run stopped), the unfinished
        folder is removed: it has no manifest and could never be restored from."""
        try:
            cid, folder = await asyncio.to_thread(_reserve, self.root, f"{run_id}-{step_id}")
        except OSError as exc:
            return CheckpointOutcome(False, "", problems=[_local_err(exc, self.root)])
        if progress is not None:
            progress.checkpoint_id = cid
            progress.parts_total = sum(len(p.files) + len(p.sqlite) + len(p.outputs)
                                       for _, _, p in targets)
        started = time.time()
        try:
            per_node = await asyncio.gather(*(self._node(cid, folder, n, t, p, progress)
                                              for n, t, p in targets))
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, folder, True))
            raise
        items = [i for node_items in per_node for i in node_items]
        problems = [p for _, _, parts in targets for p in parts.problems]
        problems += [f"{i['node']}: {i['path']}: {i['problem']}" for i in items if not i["ok"]]
        ok = not problems and all(i["ok"] for i in items)
        if not items and not problems:
            problems.append("nothing was captured (the step declares no backup parts)")
            ok = False
        manifest = {
            "format": FORMAT, "id": cid, "run_id": run_id, "step_id": step_id,
            "created": started, "finished": time.time(),
            "nodes": [n.name for n, _, _ in targets], "ok": ok,
            "problems": problems, "items": items,
            # What the step declared per node: restore writes only below these, and the
            # manifest is checked against them before it is trusted (checkpoint_verify.py).
            "declared": {n.name: {"files": list(p.files), "sqlite": list(p.sqlite),
                                  "outputs": len(p.outputs)} for n, _, p in targets},
        }
        def write_manifest() -> None:
            """Redacted, sealed and written in a thread: for thousands of files that is
            ~0.1 s the event loop (and the confirmation open meanwhile) keeps."""
            _atomic_json(folder / MANIFEST, seal(self.redactor.obj(manifest)))

        try:
            await asyncio.to_thread(write_manifest)
        except OSError as exc:
            problems.append(f"manifest: {_local_err(exc, self.root)}")
            ok = False
        return CheckpointOutcome(ok, cid, str(folder), items=items, problems=problems)

    async def _node(self, cid: str, folder: Path, node: Node, transport: Transport,
                    parts: Parts, progress: CheckpointProgress | None = None
                    ) -> list[dict[str, Any]]:
        base = folder / _safe_node(node.name)
        items: list[dict[str, Any]] = []
        Sink = list[dict[str, Any]]
        jobs: list[tuple[str, str, Callable[[Deadline, Sink], Awaitable[None]]]] = []
        for k, p in enumerate(parts.files, 1):
            jobs.append(("file", p, partial(self._files, node, transport, base, p, k)))
        for k, p in enumerate(parts.sqlite, 1):
            tmp = f"/tmp/pverunbook-{_safe_node(cid)}-{_safe_node(node.name)}-{k}.db"
            jobs.append(("sqlite", p, partial(self._sqlite, node, transport, base, p, tmp)))
        for k, c in enumerate(parts.outputs, 1):
            jobs.append(("output", c, partial(self._output, node, transport, base, c, k)))
        for kind, what, job in jobs:
            dl = Deadline(self.part_timeout)
            label = self.redactor.text(what)
            try:
                # Items land in ``items`` as they verify, so a timeout keeps what was captured.
                async with asyncio.timeout(self.part_timeout) as dl.timeout:
                    await job(dl, items)
            except TimeoutError:
                items.append(self._fail(node, kind, label, PartFailed("", missing=True),
                                        f"timed out after {self.part_timeout:g}s"))
            except PartFailed as exc:
                items.append(self._fail(node, kind, label, exc, str(exc)))
            except TransportError as exc:
                items.append(self._fail(node, kind, label, PartFailed(""), exc.message))
            except OSError as exc:
                items.append(self._fail(node, kind, label, PartFailed(""),
                                        _local_err(exc, self.root)))
            except ValueError as exc:  # output of the node that nothing here could read
                items.append(self._fail(node, kind, label, PartFailed(""),
                                        f"the node's answer could not be read: {exc}"))
            if progress is not None:
                progress.parts_done += 1
        return items

    def _fail(self, node: Node, kind: str, what: str, exc: PartFailed,
              why: str) -> dict[str, Any]:
        hint = ""
        if "timed out" in why:
            hint = ("; reads under /etc/pve hang while pmxcfs is blocked: check quorum and "
                    "pve-cluster, then retry")
        elif exc.missing:
            hint = "; check the path (a missing file cannot be backed up) and decide"
        return {"node": node.name, "kind": kind, "path": what, "stored": "", "ok": False,
                "status": "missing" if exc.missing or "timed out" in why else "failed",
                "problem": self.redactor.text(why + hint), "time": time.time()}

    def _item(self, node: Node, kind: str, meta: Meta, stored: str, **extra: Any
              ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "node": node.name, "kind": kind, "path": meta.path, "stored": stored,
            "size": meta.size, "mode": meta.mode, "uid": meta.uid, "gid": meta.gid,
            "owner": meta.owner, "group": meta.group, "mtime": meta.mtime,
            "time": time.time(), "ok": True, "problem": ""}
        item.update(extra)
        return item

    async def _files(self, node: Node, transport: Transport, base: Path, path: str, k: int,
                     dl: Deadline, items: list[dict[str, Any]]) -> None:
        tree_rel = f"{_safe_node(node.name)}/trees/{k}.tar"
        # Three channels start together: the listing, the node's hashes of its files, and the
        # archive (it queues until the listing says what to index). One round trip before the
        # first byte arrives instead of two; measured, the listing was 10-30 % of a checkpoint.
        declared: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        listing = asyncio.ensure_future(remote_stat(transport, node, path, dl, recursive=True))
        node_sha = asyncio.ensure_future(tree_sha(transport, node, path, dl.left()))
        fetch = asyncio.ensure_future(self._stream_tree(
            node, transport, base.parent / tree_rel, path, declared, dl))
        try:
            try:
                metas = await listing
            except PartFailed as exc:
                if not exc.missing or "timed out" in str(exc):
                    raise
                # The declared path does not exist on the node (stat: "No such file"): that is
                # its state before the step, recorded as such. A restore then removes what the
                # step created there (restore.py), so "back to before" holds for a file the
                # step makes (pvecm updatecerts creating a missing CA). A hang is never taken
                # for absence.
                items.append({"node": node.name, "kind": "absent", "path": path, "stored": "",
                              "ok": True, "status": "absent", "time": time.time(),
                              "problem": ""})
                return
            if not metas:
                raise PartFailed("stat printed nothing", missing=True)
            # Only what the step declared: a node whose find/stat also lists another path (a
            # lying tool, a hostile node) does not get it into the checkpoint, nor restored.
            outside = [m for m in metas if not under(m.path, path)]
            for m in outside:
                items.append(self._item(
                    node, "file", m, "", ok=False, status="refused",
                    problem=f"the node listed {m.path!r}, which is not under the declared "
                            f"backup {path!r}; not stored"))
            metas = [m for m in metas if under(m.path, path)]
            contents = [m for m in metas if not m.is_dir and not m.is_link]
            if contents:
                declared.set_result({m.path: m.size for m in contents})
            else:
                await _stop(fetch)  # nothing to stream: no archive is kept
            links = [m for m in metas if m.is_link]
            targets: dict[str, str] = {}
            if links:
                cmd = "readlink -- " + " ".join(shlex.quote(m.path) for m in links)
                result, out, err = await run_collect(transport, node, cmd, dl.left())
                check_result(result, err, f"reading symlinks under {path}")
                targets = dict(zip((m.path for m in links), out.splitlines(), strict=False))
            streamed = await fetch if contents else None
            hashes = await node_sha if streamed is not None and streamed.exit == 0 else {}
        finally:
            await _stop(fetch, node_sha, listing)
            declared.cancel()
        stored = streamed.files if streamed is not None else {}
        # The node's hash of each file, computed there by reading the file: a member whose
        # bytes here hash the same is verified. A file it did not hash or whose member differs
        # (it changed between the two reads, or the transfer broke) is hashed on the node
        # again now, and so is every file when tar did not read them all unchanged (exit 1: a
        # file changed while tar read it; 2: one could not be read) or sent no archive: a copy
        # that is not the file as it is now fails.
        again = [m.path for m in contents
                 if m.path not in hashes
                 or (m.path in stored and stored[m.path].sha256 != hashes[m.path])]
        if again:
            hashes.update(await remote_sha(transport, node, again, dl))
        for m in metas:
            rel = _files_rel(node, m.path)
            if m.is_dir:
                if streamed is None:
                    await asyncio.to_thread(_mkdir_private, base.parent / rel)
                items.append(self._item(node, "dir", m, rel))
                continue
            if m.is_link:
                items.append(self._item(node, "symlink", m, "", target=targets.get(m.path, "")))
                continue
            remote = hashes.get(m.path)
            got = stored.get(m.path)
            extra: dict[str, Any] = {}
            if got is not None:
                # A member of the stored archive: read back at its offset (read_copy).
                local, size = got.sha256, got.size
                rel, extra["offset"] = tree_rel, got.offset
            else:  # not in the archive (or no archive): read it on its own
                try:
                    data = await transport.read_file(node, m.path, timeout=dl.left())
                except TransportError as exc:
                    items.append(self._item(node, "file", m, rel, sha256_remote=remote,
                                            ok=False, status="failed", problem=exc.message))
                    continue
                if len(data) > m.size:
                    items.append(self._item(
                        node, "file", m, "", sha256_remote=remote, ok=False, status="failed",
                        problem=f"the node sent {len(data)} bytes for a file its stat declared "
                                f"as {m.size}; not stored"))
                    continue
                local, size = sha256_hex(data), len(data)
                try:
                    await asyncio.to_thread(_write_private, base.parent / rel, data)
                except OSError as exc:
                    items.append(self._item(node, "file", m, rel, sha256_remote=remote,
                                            sha256_local=local, ok=False, status="failed",
                                            problem=_local_err(exc, self.root)))
                    continue
            item = self._item(node, "file", m, rel, sha256_remote=remote, sha256_local=local,
                              size=size, **extra)
            if remote is None:
                item.update(ok=False, status="failed",
                            problem="sha256sum on the node printed no hash for it; retry")
            elif remote != local:
                item.update(ok=False, status="failed",
                            problem="the copy's sha256 differs from the node's (the file "
                                    "changed while it was read, or the transfer broke); retry")
            items.append(item)

    async def _stream_tree(self, node: Node, transport: Transport, dest: Path, path: str,
                           declared: asyncio.Future[dict[str, int]],
                           dl: Deadline) -> archive.Extracted | None:
        """Every regular file under ``path`` in one tar stream, kept as the archive ``dest``
        (None → one by one); ``declared``: the regular files the listing found and their sizes
        (the members to index; more bytes than :func:`archive.tar_bound` of them fail).

        tar exits 1 when a file changed while it was read and 2 when one could not be read: the
        archive still holds the rest; files missing from it are read on their own (and fail
        with the node's reason), and the caller hashes them on the node again.
        """
        try:
            return await archive.fetch_tree(
                transport, node, archive.tar_command(path), dest, None,
                idle_timeout=self.part_timeout, progress=dl.progress, ok_exits=(0, 1, 2),
                listed=declared)
        except archive.TooLarge as exc:
            # Bigger than the node's own listing said: not read again file by file either.
            raise PartFailed(f"{path}: {exc}") from exc
        except (archive.StreamUnavailable, archive.StreamFailed):
            return None

    async def _sqlite(self, node: Node, transport: Transport, base: Path, db: str, tmp: str,
                      dl: Deadline, items: list[dict[str, Any]]) -> None:
        metas = await remote_stat(transport, node, db, dl, recursive=False)
        if not metas or metas[0].ftype not in ("regular file", "regular empty file"):
            raise PartFailed("not a regular file", missing=not metas)
        meta = metas[0]
        meta.path = db
        # umask: the copy holds /etc/pve/priv keys; it must not be world-readable in /tmp.
        cmd = (f"umask 077 && sqlite3 {shlex.quote(db)} "
               f"{shlex.quote(f'.backup {chr(39)}{tmp}{chr(39)}')}")
        rel = f"{_safe_node(node.name)}/sqlite/{_safe_rel(db)}"
        dest = base.parent / rel
        streamed: archive.Stored | None = None
        remote: str | None = None
        data = b""
        try:
            result, _, err = await run_collect(transport, node, cmd, dl.left())
            check_result(result, err, "sqlite3 .backup (the online backup API)")
            try:
                # Streamed to disk as it arrives, hashed on the node and here: memory stays
                # flat whatever the size of the database.
                await asyncio.to_thread(_mkdir_private, dest.parent)
                streamed = await archive.fetch(transport, node, f"cat -- {shlex.quote(tmp)}",
                                               dest, idle_timeout=self.part_timeout,
                                               progress=dl.progress)
                await asyncio.to_thread(_fsync_path, dest)
                remote = local = streamed.sha256
            except archive.StreamFailed as exc:
                if exc.timed_out:
                    raise PartFailed(f"streaming the backup: {exc}", missing=True) from exc
                streamed = None  # a broken stream: read it the slow way, verified on its own
            except archive.StreamUnavailable:
                streamed = None
            if streamed is None:
                remote = (await remote_sha(transport, node, [tmp], dl)).get(tmp)
                data = await transport.read_file(node, tmp, timeout=dl.left())
                local = sha256_hex(data)
        finally:
            with contextlib.suppress(TransportError, OSError):
                await run_collect(transport, node, f"rm -f -- {shlex.quote(tmp)}", 10.0)
        item = self._item(node, "sqlite", meta, rel,
                          size=streamed.size if streamed else len(data), sha256_remote=remote,
                          sha256_local=local, method="sqlite3 .backup")
        items.append(item)
        if streamed is None:
            try:
                await asyncio.to_thread(_write_private, dest, data)
            except OSError as exc:
                item.update(ok=False, status="failed", problem=_local_err(exc, self.root))
                return
        if remote != local:
            item.update(ok=False, status="failed",
                        problem="the fetched backup's sha256 differs from the node's copy; retry")
            return
        try:
            check = await asyncio.to_thread(_integrity, base.parent / rel)
        except sqlite3.Error as exc:
            check = f"cannot open the copy: {exc}"
        item["integrity_check"] = check
        if check != "ok":
            item.update(ok=False, status="failed",
                        problem=f"PRAGMA integrity_check on the copy says: {check[:300]}")

    async def _output(self, node: Node, transport: Transport, base: Path, command: str,
                      k: int, dl: Deadline, items: list[dict[str, Any]]) -> None:
        result, out, err = await run_collect(transport, node, command, dl.left())
        if result.timed_out:
            raise PartFailed("timed out", missing=True)
        if result.error or result.connection_lost:
            raise PartFailed(result.error or "connection lost")
        text = self.redactor.text(
            f"$ {command}\n# exit {result.exit_status}\n{out}"
            + (f"\n# stderr\n{err}" if err else ""))
        data = text.encode()
        rel = f"{_safe_node(node.name)}/outputs/{k}.txt"
        item: dict[str, Any] = {
            "node": node.name, "kind": "output", "path": self.redactor.text(command),
            "stored": rel, "size": len(data), "sha256_local": sha256_hex(data),
            "exit_status": result.exit_status, "time": time.time(), "ok": True, "problem": ""}
        if result.exit_status in _NOT_RUN:
            item.update(ok=False, status="failed",
                        problem=f"the command did not run (exit {result.exit_status}): "
                                f"{err.strip()[:200]}")
        items.append(item)
        try:
            await asyncio.to_thread(_write_private, base.parent / rel, data)
        except OSError as exc:
            item.update(ok=False, status="failed", problem=_local_err(exc, self.root))


