"""Verified checkpoints before destructive steps, and restoring them.

The outage this tool exists for lost every VM config because ``rm -rf config.db*`` ran with no
backup. So a checkpoint is only "ok" when every declared part on every target node was copied
here AND the copy's sha256 equals the one computed on the node: a part that is missing, hangs
(reading /etc/pve blocks when pmxcfs does), or cannot be stored locally fails the checkpoint and
the engine blocks the step until the operator retries, aborts or types the override phrase.

SQLite databases (pmxcfs' config.db runs in WAL mode) are copied with SQLite's online backup
(``sqlite3 DB ".backup FILE"``), never ``cp``: a plain copy of a live WAL database misses every
transaction not yet checkpointed into the main file.

Layout: ``<root>/<id>/manifest.json`` plus ``<node>/files/<abs path>``, ``<node>/sqlite/<abs
path>`` and ``<node>/outputs/<n>.txt``. Everything is 0700/0600 (the checkpoint holds
/etc/pve/priv keys: that is the point of it). The manifest holds metadata and hashes, never file
contents, and is written last and atomically, so a folder without one is an interrupted
checkpoint, never a complete-looking one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import posixpath
import re
import secrets
import shlex
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
from pverunbook.engine.journal import Redactor
from pverunbook.engine.outcomes import CheckpointOutcome
from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, Transport, TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine
    from pverunbook.runbook.model import Step

MANIFEST = "manifest.json"
FORMAT = 1
#: Text files up to this size get a unified diff before a restore.
DIFF_LIMIT = 256 * 1024
STAT_FORMAT = "%a %u %g %U %G %s %Y %F %n"
#: ``stat %F`` names (they contain spaces, so they are matched, not split).
_FILE_TYPES = ("regular empty file", "regular file", "directory", "symbolic link", "fifo",
               "socket", "character special file", "block special file", "weird file")
#: Output commands that exit like this did not run at all (not found / not executable).
_NOT_RUN = (126, 127)
PRIV_PREFIX = "/etc/pve/priv"
RESTORE_NOTE = "restore of checkpoint "


def data_dir() -> Path:
    env = os.environ.get("PVERUNBOOK_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("pverunbook"))


def checkpoints_dir() -> Path:
    return data_dir() / "checkpoints"


# -- data ------------------------------------------------------------------------------------
@dataclass
class Meta:
    """One ``stat`` line of a remote path."""

    path: str
    ftype: str
    mode: str
    uid: int
    gid: int
    owner: str
    group: str
    size: int
    mtime: int

    @property
    def is_dir(self) -> bool:
        return self.ftype == "directory"

    @property
    def is_link(self) -> bool:
        return self.ftype == "symbolic link"


@dataclass
class Parts:
    """What to capture on one node, placeholders already rendered."""

    files: list[str] = field(default_factory=list)
    sqlite: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class PartFailed(Exception):
    """A part could not be captured; the message says why and what to do."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


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
        return self.path / str(item["stored"])


# -- small helpers ---------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe_rel(path: str) -> str:
    """An absolute remote path as a relative local one that cannot escape the checkpoint."""
    norm = posixpath.normpath("/" + path.lstrip("/"))
    if ".." in norm.split("/"):
        raise PartFailed(f"{path}: refusing a path with '..'")
    return norm.lstrip("/") or "_root"


def _safe_node(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_node"


def _files_rel(node: Node, path: str) -> str:
    """Where a file part of ``node`` is stored inside the checkpoint folder."""
    return f"{_safe_node(node.name)}/files/{_safe_rel(path)}"


def parse_stat_line(line: str) -> Meta:
    parts = line.split(" ", 7)
    if len(parts) != 8:
        raise ValueError(f"unexpected stat output: {line!r}")
    mode, uid, gid, owner, group, size, mtime, rest = parts
    for ftype in _FILE_TYPES:
        if rest.startswith(ftype + " "):
            return Meta(path=rest[len(ftype) + 1:], ftype=ftype, mode=mode.zfill(4),
                        uid=int(uid), gid=int(gid), owner=owner, group=group, size=int(size),
                        mtime=int(mtime))
    raise ValueError(f"unknown file type in stat output: {line!r}")


def parse_sha256sum(text: str) -> dict[str, str]:
    """``sha256sum`` lines → {path: hash}; handles its backslash escaping of odd names."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
        m = re.match(r"([0-9a-f]{64}) [ *](.*)$", line)
        if not m:
            continue
        name = m.group(2)
        if escaped:
            name = re.sub(r"\\(.)", lambda x: "\n" if x.group(1) == "n" else x.group(1), name)
        out[name] = m.group(1)
    return out


def _is_secret_path(path: str) -> bool:
    return path == PRIV_PREFIX or path.startswith(PRIV_PREFIX + "/") or "/priv/" in path


class _Deadline:
    """A part's time budget. Data that keeps arriving (a streamed archive) pushes it out:
    a large tree is slow, not hung; only ``seconds`` without progress fail the part."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.timeout: asyncio.Timeout | None = None  # the part's asyncio.timeout, if any

    def left(self) -> float:
        return max(0.05, self.end - time.monotonic())

    def progress(self) -> None:
        self.end = time.monotonic() + self.seconds
        if self.timeout is not None:
            self.timeout.reschedule(asyncio.get_running_loop().time() + self.seconds)


async def _run(transport: Transport, node: Node, command: str,
               timeout: float) -> tuple[CommandResult, str, str]:
    out: list[str] = []
    err: list[str] = []

    def feed(stream: str, text: str) -> None:
        (out if stream == "stdout" else err).append(text)

    result = await transport.run(node, command, timeout=timeout, on_output=feed)
    return result, "".join(out), "".join(err)


async def _remote_stat(transport: Transport, node: Node, path: str, dl: _Deadline,
                       recursive: bool) -> list[Meta]:
    """Metadata of ``path`` (following a symlink given as the path) and, for a directory and
    ``recursive``, of everything below it (symlinks inside are recorded, not followed)."""
    q = shlex.quote(path)
    fmt = shlex.quote(STAT_FORMAT)
    result, out, err = await _run(transport, node, f"stat -L -c {fmt} -- {q}", dl.left())
    _check(result, err, f"reading the metadata of {path}")
    metas = [parse_stat_line(line) for line in out.splitlines() if line]
    if recursive and metas and metas[0].is_dir:
        result, out, err = await _run(
            transport, node, f"find -H {q} -exec stat -c {fmt} {{}} +", dl.left())
        _check(result, err, f"listing {path}")
        metas = [parse_stat_line(line) for line in out.splitlines() if line]
    return metas


def _check(result: CommandResult, stderr: str, doing: str) -> None:
    if result.timed_out:
        raise PartFailed(f"timed out {doing}", missing=True)
    if result.error or result.connection_lost:
        raise PartFailed(f"{doing}: {result.error or 'connection lost'}")
    if result.exit_status != 0:
        why = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {result.exit_status}"
        missing = "No such file" in stderr
        raise PartFailed(f"{doing}: {why}", missing=missing)


async def _remote_sha(transport: Transport, node: Node, paths: list[str],
                      dl: _Deadline) -> dict[str, str]:
    hashes: dict[str, str] = {}
    batch: list[str] = []
    size = 0
    batches: list[list[str]] = []
    for p in paths:
        batch.append(p)
        size += len(p) + 3
        if size > 60000:
            batches.append(batch)
            batch, size = [], 0
    if batch:
        batches.append(batch)
    for b in batches:
        cmd = "sha256sum -- " + " ".join(shlex.quote(p) for p in b)
        result, out, err = await _run(transport, node, cmd, dl.left())
        _check(result, err, f"hashing {b[0]}" + (f" and {len(b) - 1} more" if len(b) > 1 else ""))
        hashes.update(parse_sha256sum(out))
    return hashes


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


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    _write_private(tmp, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


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
            "PVERUNBOOK_DATA_DIR at a disk with room, then retry")


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
        return await self.capture(engine.run_id or "run", step.id, targets)

    async def capture(self, run_id: str, step_id: str,
                      targets: list[tuple[Node, Transport, Parts]]) -> CheckpointOutcome:
        """Capture ``targets`` (each node in parallel) into a new checkpoint folder."""
        try:
            cid, folder = await asyncio.to_thread(_reserve, self.root, f"{run_id}-{step_id}")
        except OSError as exc:
            return CheckpointOutcome(False, "", problems=[_local_err(exc, self.root)])
        started = time.time()
        per_node = await asyncio.gather(*(self._node(cid, folder, n, t, p)
                                          for n, t, p in targets))
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
        }
        try:
            await asyncio.to_thread(_atomic_json, folder / MANIFEST, self.redactor.obj(manifest))
        except OSError as exc:
            problems.append(f"manifest: {_local_err(exc, self.root)}")
            ok = False
        return CheckpointOutcome(ok, cid, str(folder), items=items, problems=problems)

    async def _node(self, cid: str, folder: Path, node: Node, transport: Transport,
                    parts: Parts) -> list[dict[str, Any]]:
        base = folder / _safe_node(node.name)
        items: list[dict[str, Any]] = []
        Sink = list[dict[str, Any]]
        jobs: list[tuple[str, str, Callable[[_Deadline, Sink], Awaitable[None]]]] = []
        for p in parts.files:
            jobs.append(("file", p, partial(self._files, node, transport, base, p)))
        for k, p in enumerate(parts.sqlite, 1):
            tmp = f"/tmp/pverunbook-{_safe_node(cid)}-{_safe_node(node.name)}-{k}.db"
            jobs.append(("sqlite", p, partial(self._sqlite, node, transport, base, p, tmp)))
        for k, c in enumerate(parts.outputs, 1):
            jobs.append(("output", c, partial(self._output, node, transport, base, c, k)))
        for kind, what, job in jobs:
            dl = _Deadline(self.part_timeout)
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

    async def _files(self, node: Node, transport: Transport, base: Path, path: str,
                     dl: _Deadline, items: list[dict[str, Any]]) -> None:
        metas = await _remote_stat(transport, node, path, dl, recursive=True)
        if not metas:
            raise PartFailed("stat printed nothing", missing=True)
        contents = [m for m in metas if not m.is_dir and not m.is_link]
        hashes = await _remote_sha(transport, node, [m.path for m in contents], dl) \
            if contents else {}
        links = [m for m in metas if m.is_link]
        targets: dict[str, str] = {}
        if links:
            cmd = "readlink -- " + " ".join(shlex.quote(m.path) for m in links)
            result, out, err = await _run(transport, node, cmd, dl.left())
            _check(result, err, f"reading symlinks under {path}")
            targets = dict(zip((m.path for m in links), out.splitlines(), strict=False))
        stored = await self._stream_tree(node, transport, base, path, contents, dl)
        for m in metas:
            rel = _files_rel(node, m.path)
            if m.is_dir:
                await asyncio.to_thread(_mkdir_private, base.parent / rel)
                items.append(self._item(node, "dir", m, rel))
                continue
            if m.is_link:
                items.append(self._item(node, "symlink", m, "", target=targets.get(m.path, "")))
                continue
            remote = hashes.get(m.path)
            got = stored.get(m.path)
            if got is not None:
                local, size = got.sha256, got.size
            else:  # not in the archive (or no archive): read it on its own
                try:
                    data = await transport.read_file(node, m.path, timeout=dl.left())
                except TransportError as exc:
                    items.append(self._item(node, "file", m, rel, sha256_remote=remote,
                                            ok=False, status="failed", problem=exc.message))
                    continue
                local, size = _sha(data), len(data)
                try:
                    await asyncio.to_thread(_write_private, base.parent / rel, data)
                except OSError as exc:
                    items.append(self._item(node, "file", m, rel, sha256_remote=remote,
                                            sha256_local=local, ok=False, status="failed",
                                            problem=_local_err(exc, self.root)))
                    continue
            item = self._item(node, "file", m, rel, sha256_remote=remote, sha256_local=local,
                              size=size)
            if remote is None:
                item.update(ok=False, status="failed",
                            problem="sha256sum on the node printed no hash for it; retry")
            elif remote != local:
                item.update(ok=False, status="failed",
                            problem="the copy's sha256 differs from the node's (the file "
                                    "changed while it was read, or the transfer broke); retry")
            items.append(item)

    async def _stream_tree(self, node: Node, transport: Transport, base: Path, path: str,
                           contents: list[Meta], dl: _Deadline) -> dict[str, archive.Stored]:
        """Every regular file under ``path`` in one verified tar stream ({} → read one by one).

        tar exits 1 when a file changed while it was read and 2 when one could not be read: the
        archive still holds the rest; files missing from it are read on their own (and fail
        with the node's reason), and the per-file hashes say which ones changed.
        """
        if not contents:
            return {}
        wanted = {m.path: base.parent / _files_rel(node, m.path) for m in contents}
        await asyncio.to_thread(_mkdir_private, base)
        spool = base / f".incoming-{secrets.token_hex(4)}.tar"
        try:
            await archive.fetch(transport, node, archive.tar_command(path), spool,
                                idle_timeout=self.part_timeout, progress=dl.progress,
                                ok_exits=(0, 1, 2))
            return await asyncio.to_thread(archive.extract, spool, wanted)
        except (archive.StreamUnavailable, archive.StreamFailed):
            return {}
        finally:
            with contextlib.suppress(OSError):
                spool.unlink()

    async def _sqlite(self, node: Node, transport: Transport, base: Path, db: str, tmp: str,
                      dl: _Deadline, items: list[dict[str, Any]]) -> None:
        metas = await _remote_stat(transport, node, db, dl, recursive=False)
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
            result, _, err = await _run(transport, node, cmd, dl.left())
            _check(result, err, "sqlite3 .backup (the online backup API)")
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
                remote = (await _remote_sha(transport, node, [tmp], dl)).get(tmp)
                data = await transport.read_file(node, tmp, timeout=dl.left())
                local = _sha(data)
        finally:
            with contextlib.suppress(TransportError, OSError):
                await _run(transport, node, f"rm -f -- {shlex.quote(tmp)}", 10.0)
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
                      k: int, dl: _Deadline, items: list[dict[str, Any]]) -> None:
        result, out, err = await _run(transport, node, command, dl.left())
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
            "stored": rel, "size": len(data), "sha256_local": _sha(data),
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


# -- reading checkpoints back ----------------------------------------------------------------
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
        out.append(CheckpointInfo(
            id=str(m.get("id", d.name)), path=d, run_id=str(m.get("run_id", "")),
            step_id=str(m.get("step_id", "")), created=float(m.get("created", 0.0)),
            nodes=tuple(m.get("nodes", [])), ok=bool(m.get("ok")), complete=True,
            items=len(m.get("items", [])), problems=tuple(m.get("problems", []))))
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
