"""Asking a node about its files over the transport: ``stat``, ``sha256sum``, with a deadline.

Shared by taking a checkpoint and restoring one: both must know a file's metadata and hash on
the node itself (coreutils ``stat -c`` and ``sha256sum`` output, parsed here) to prove that
what is stored here, or put back there, is byte for byte what it should be. A failure raises
:class:`PartFailed` with what went wrong and whether the file is simply missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shlex
import time
from dataclasses import dataclass

from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, Transport, TransportError, push_out

STAT_FORMAT = "%a %u %g %U %G %s %Y %F %n"
#: ``stat %F`` names (they contain spaces, so they are matched, not split).
FILE_TYPES = ("regular empty file", "regular file", "directory", "symbolic link", "fifo",
              "socket", "character special file", "block special file", "weird file")

#: Where pmxcfs keeps the cluster's private keys: never diffed or shown, only hashed.
PRIV_PREFIX = "/etc/pve/priv"


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


class PartFailed(Exception):
    """A part could not be captured; the message says why and what to do."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: One stat line's numbers and mode, checked in one match (ASCII digits, in range: ``int()``
#: takes '١' too). Precompiled: ``re.fullmatch`` per field was half of parsing the listing of
#: thousands of files.
_STAT_FIELDS = re.compile(r"[0-7]{1,6} [0-9]{1,19} [0-9]{1,19} [^ ]* [^ ]* [0-9]{1,19} [0-9]{1,19}")
_TYPE_PREFIXES = tuple((ftype, ftype + " ") for ftype in FILE_TYPES)


def parse_stat_line(line: str) -> Meta:
    parts = line.split(" ", 7)
    if len(parts) != 8:
        raise ValueError(f"unexpected stat output: {line!r}")
    mode, uid, gid, owner, group, size, mtime, rest = parts
    if not _STAT_FIELDS.fullmatch(line, 0, len(line) - len(rest) - 1):
        for number in (uid, gid, size, mtime):
            if not re.fullmatch(r"[0-9]{1,19}", number):
                raise ValueError(f"not a number in stat output: {number[:30]!r}")
        raise ValueError(f"not a file mode in stat output: {mode[:30]!r}")
    for ftype, prefix in _TYPE_PREFIXES:
        if rest.startswith(prefix):
            return Meta(path=rest[len(prefix):], ftype=ftype, mode=mode.zfill(4),
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


def is_secret_path(path: str) -> bool:
    return path == PRIV_PREFIX or path.startswith(PRIV_PREFIX + "/") or "/priv/" in path


class Deadline:
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
            push_out(self.timeout, self.seconds)


async def run_collect(transport: Transport, node: Node, command: str,
                      timeout: float) -> tuple[CommandResult, str, str]:
    """Run ``command`` on ``node`` and return (result, stdout, stderr), output collected whole;
    ``timeout`` in seconds. A TransportError from the transport is raised as is."""
    out: list[str] = []
    err: list[str] = []

    def feed(stream: str, text: str) -> None:
        (out if stream == "stdout" else err).append(text)

    result = await transport.run(node, command, timeout=timeout, on_output=feed)
    return result, "".join(out), "".join(err)


async def remote_stat(transport: Transport, node: Node, path: str, dl: Deadline,
                      recursive: bool) -> list[Meta]:
    """Metadata of ``path`` (following a symlink given as the path) and, for a directory and
    ``recursive``, of everything below it (symlinks inside are recorded, not followed)."""
    q = shlex.quote(path)
    fmt = shlex.quote(STAT_FORMAT)
    command = f"stat -L -c {fmt} -- {q}"
    if recursive:
        # One round trip: the listing follows the path's own line when it is a directory
        # (``test -d`` follows a symlink as ``stat -L`` and ``find -H`` do), after a line no
        # stat line can be (they start with the mode's digits).
        command += (f" && if [ -d {q} ]; then echo {_LISTING}; "
                    f"find -H {q} -exec stat -c {fmt} {{}} +; fi")
    result, out, err = await run_collect(transport, node, command, dl.left())
    head, sep, listing = out.partition(f"\n{_LISTING}\n")
    check_result(result, err, f"listing {path}" if sep else f"reading the metadata of {path}")
    metas = _parse_stat(head, path)
    if sep and metas and metas[0].is_dir:
        metas = _parse_stat(listing, path)
    return metas


_LISTING = "--listing--"


def _parse_stat(out: str, path: str) -> list[Meta]:
    """stat lines → Meta; a line that does not parse (a file name with a newline in it, a
    lying ``stat``) fails this part, naming the line, instead of the whole run."""
    metas: list[Meta] = []
    for line in out.splitlines():
        if not line:
            continue
        try:
            metas.append(parse_stat_line(line))
        except ValueError:
            raise PartFailed(f"listing {path}: the node's stat printed a line that does not "
                             f"parse: {line[:200]!r} (a file name with a newline in it?); "
                             "move or rename that file, or back it up by hand") from None
    return metas


def check_result(result: CommandResult, stderr: str, doing: str) -> None:
    """Raise PartFailed ("<doing>: <last stderr line>") unless the command exited 0;
    ``missing`` is set for a timeout or "No such file"."""
    if result.timed_out:
        raise PartFailed(f"timed out {doing}", missing=True)
    if result.error or result.connection_lost:
        raise PartFailed(f"{doing}: {result.error or 'connection lost'}")
    if result.exit_status != 0:
        why = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {result.exit_status}"
        missing = "No such file" in stderr
        raise PartFailed(f"{doing}: {why}", missing=missing)


async def remote_sha(transport: Transport, node: Node, paths: list[str],
                     dl: Deadline) -> dict[str, str]:
    """{path: sha256 hex} computed on the node by ``sha256sum`` (batched under ~60 kB of
    arguments); raises PartFailed when a batch fails."""
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
        result, out, err = await run_collect(transport, node, cmd, dl.left())
        more = f" and {len(b) - 1} more" if len(b) > 1 else ""
        check_result(result, err, f"hashing {b[0]}{more}")
        hashes.update(parse_sha256sum(out))
    return hashes


async def tree_sha(transport: Transport, node: Node, path: str,
                   timeout: float) -> dict[str, str]:
    """{path: sha256 hex} of every regular file at or under ``path``, hashed on the node.

    ``openssl dgst`` (SHA instructions: a fifth of ``sha256sum``'s CPU where measured; Proxmox
    VE always has openssl, pve-cluster debian/control) batched by ``find -exec … +``, so no
    argument list grows with the tree; where openssl is missing or fails (a file vanished, one
    unreadable) the tree is hashed again by ``sha256sum``. Names are printed as ``find`` prints
    them, exactly as the listing's (remote_stat). Best effort: a file it could not hash is
    simply absent (the caller hashes it again with :func:`remote_sha`, which reports why)."""
    q = shlex.quote(path)
    command = (f"find -H {q} -type f -exec openssl dgst -sha256 -r -- {{}} + 2>/dev/null "
               f"|| find -H {q} -type f -exec sha256sum -- {{}} +")
    try:
        _, out, _ = await run_collect(transport, node, command, timeout)
    except TransportError:
        return {}
    return parse_sha256sum(out)
