"""A node's filesystem: a real directory, with /etc/pve behaving like the pmxcfs FUSE mount.

Paths are virtual (``/etc/pve/local/pve-ssl.pem``) and symlinks are resolved inside the node's
root, so nothing escapes the state directory. Reads come from disk (the mirror of the node's
pmxcfs tree); every change under /etc/pve goes through :class:`World`, which replicates it to
the peers in the same membership and saves config.db. Without quorum a change fails at once with
EACCES (pmxcfs dcdb.c ``dcdb_send_fuse_message``: ``if (!cfs_is_quorate()) return -EACCES;``,
seen as ``Permission denied`` on real pmxcfs); while quorate, a change waits until pmxcfs's
sync is done (a membership that keeps changing keeps it waiting).
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import posixpath
import re
import shutil
import stat as st
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.sim import procfd

if TYPE_CHECKING:
    from pverunbook.sim.node import SimNode

PVE = "/etc/pve"
MAX_PVE_FILE = 1024 * 1024  # memdb.h MEMDB_MAX_FILE_SIZE
DYNAMIC_PVE = (".members", ".version", ".vmlist", ".clusterlog", ".rrd", ".debug")


def oserr(code: int, path: str = "") -> OSError:
    return OSError(code, os.strerror(code), path)


_VM_CONF = re.compile(r"nodes/([^/]+)/(qemu-server|lxc)/([1-9][0-9]*)\.conf")


def _vm_config_path(rel: str) -> tuple[str, str, int] | None:
    """(node, type, vmid) of a guest config path in /etc/pve (memdb.c
    ``path_contain_vm_config``), else None."""
    m = _VM_CONF.fullmatch(rel)
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


class NodeFS:
    def __init__(self, node: SimNode) -> None:
        self.node = node

    # -- paths -----------------------------------------------------------------------------
    @staticmethod
    def abspath(path: str, cwd: str = "/root") -> str:
        if not path.startswith("/"):
            path = posixpath.join(cwd, path)
        out = posixpath.normpath(path)
        return "/" + out.lstrip("/") if out != "/" else "/"

    def resolve(self, path: str, cwd: str = "/root", follow_last: bool = True) -> str:
        """Virtual path with every symlink resolved inside the node root."""
        parts = [p for p in self.abspath(path, cwd).split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                if done:
                    done.pop()
                continue
            if name == ".":
                continue
            cur = "/" + "/".join(done + [name])
            host = self.node.root / cur.lstrip("/")
            if (parts or follow_last) and host.is_symlink():
                hops += 1
                if hops > 40:
                    raise oserr(errno.ELOOP, cur)
                target = os.readlink(host)
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            done.append(name)
        return "/" + "/".join(done)

    def host(self, path: str, cwd: str = "/root", follow_last: bool = True) -> Path:
        return self.node.root / self.resolve(path, cwd, follow_last).lstrip("/")

    def pve_rel(self, resolved: str) -> str | None:
        """Relative path inside the pmxcfs mount if ``resolved`` is under a live /etc/pve."""
        if resolved == PVE or resolved.startswith(PVE + "/"):
            mount = self.node.pmxcfs.mount
            if mount == "stale":
                raise oserr(errno.ENOTCONN, resolved)
            if mount == "mounted":
                return resolved[len(PVE) + 1:]
        return None

    # -- reads -----------------------------------------------------------------------------
    def read_bytes(self, path: str, cwd: str = "/root") -> bytes:
        r = self.resolve(path, cwd)
        if r == "/dev/null":
            return b""
        if r in ("/dev/zero", "/dev/urandom", "/dev/random"):
            return os.urandom(4096) if "random" in r else bytes(4096)
        dyn = self._dynamic(r)
        if dyn is not None:
            return dyn
        rel = self.pve_rel(r)
        h = self.node.root / r.lstrip("/")
        if rel is not None and rel in DYNAMIC_PVE:
            return self._pve_dynamic(rel)
        if h.is_dir():
            raise oserr(errno.EISDIR, r)
        try:
            return h.read_bytes()
        except FileNotFoundError:
            raise oserr(errno.ENOENT, r) from None
        except NotADirectoryError:
            raise oserr(errno.ENOTDIR, r) from None

    def _dynamic(self, r: str) -> bytes | None:
        node, world = self.node, self.node.world
        now = world.clock.now()
        if r == "/proc/uptime":
            up = now - node.boot_time
            return f"{up:.2f} {up * 3.6:.2f}\n".encode()
        if r == "/proc/loadavg":
            return b"0.42 0.38 0.35 2/812 48213\n"
        if r == "/proc/mounts":
            lines = ["/dev/mapper/pve-root / ext4 rw,relatime,errors=remount-ro 0 0",
                     "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
                     "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1607584k,mode=755 0 0",
                     "/dev/nvme0n1p2 /boot/efi vfat rw,relatime 0 0"]
            if node.pmxcfs.mount in ("mounted", "stale"):
                lines.append("/dev/fuse /etc/pve fuse rw,nosuid,nodev,relatime,user_id=0,"
                             "group_id=0,default_permissions,allow_other 0 0")
            return ("\n".join(lines) + "\n").encode()
        if r == "/proc/sys/kernel/hostname":
            return (node.name + "\n").encode()
        return procfd.content(node, r)

    def _pve_dynamic(self, rel: str) -> bytes:
        node, world = self.node, self.node.world
        world.tick()
        cs = node.corosync
        if rel == ".members":
            nodelist = {}
            for name, nid, addr in cs.nodes or [(n.name, n.nodeid, n.addr)
                                                for n in world.nodes.values()]:
                online = 1 if nid in cs.members else 0
                nodelist[name] = {"id": nid, "online": online, "ip": addr}
            body = {"nodename": node.name, "version": len(node.journal) % 97 + 3,
                    "cluster": {"name": cs.cluster_name or "nyc", "version": cs.config_version,
                                "nodes": len(nodelist), "quorate": 1 if cs.quorate else 0},
                    "nodelist": nodelist}
            return (json.dumps(body, indent=1) + "\n").encode()
        if rel == ".version":
            db = node.pmxcfs.memdb
            return f"{db.version if db else 0}\n".encode()
        if rel == ".vmlist":
            ids: dict[str, dict[str, object]] = {}
            db = node.pmxcfs.memdb
            if db:
                for k in db.entries:
                    parts = k.split("/")
                    if len(parts) == 4 and parts[0] == "nodes" and parts[2] == "qemu-server" \
                            and parts[3].endswith(".conf"):
                        ids[parts[3][:-5]] = {"node": parts[1], "type": "qemu", "version": 1}
            return (json.dumps({"version": 1, "ids": ids}, indent=1) + "\n").encode()
        return b""

    def listdir(self, path: str, cwd: str = "/root") -> list[str]:
        r = self.resolve(path, cwd)
        fds = procfd.listing(self.node, r)
        if fds is not None:
            return fds
        self.pve_rel(r)
        h = self.node.root / r.lstrip("/")
        try:
            return sorted(os.listdir(h))
        except FileNotFoundError:
            raise oserr(errno.ENOENT, r) from None
        except NotADirectoryError:
            raise oserr(errno.ENOTDIR, r) from None

    def stat(self, path: str, cwd: str = "/root", follow: bool = True) -> os.stat_result:
        r = self.resolve(path, cwd, follow_last=follow)
        if procfd.listing(self.node, r) is not None:
            return os.stat_result((st.S_IFDIR | 0o500, 0, 0, 2, 0, 0, 0, 0, 0, 0))
        if procfd.link(self.node, r) is not None or procfd.content(self.node, r) is not None:
            kind = st.S_IFREG if follow or procfd.link(self.node, r) is None else st.S_IFLNK
            return os.stat_result((kind | 0o700, 0, 0, 1, 0, 0, 0, 0, 0, 0))
        rel = self.pve_rel(r)
        h = self.node.root / r.lstrip("/")
        try:
            got = h.stat() if follow else h.lstat()
        except FileNotFoundError:
            raise oserr(errno.ENOENT, r) from None
        except NotADirectoryError:
            raise oserr(errno.ENOTDIR, r) from None
        if rel is not None:
            fields = list(got)
            fields[0] = (got.st_mode & ~0o7777) | self._pve_mode(rel, got.st_mode)
            return os.stat_result(fields)
        if r.startswith("/proc/") and not os.path.isdir(h):
            # procfs reports size 0 for its files (cmdline, comm, mounts...): their content
            # exists only when read (proc(5)); tools that trust st_size read nothing
            fields = list(got)
            fields[0] = (got.st_mode & ~0o7777) | 0o444  # st_mode: r--r--r--
            fields[6] = 0  # st_size
            return os.stat_result(fields)
        return got

    def _pve_mode(self, rel: str, mode: int) -> int:
        """The permission bits pmxcfs reports, which follow quorum: pve-cluster
        src/pmxcfs/cfs-plug-memdb.c ``tree_entry_stat`` (dirs 0777, files 0666 when quorate,
        0555 / 0444 when not) masked by pmxcfs.c ``cfs_fuse_getattr`` (private paths 0700,
        directories and links 0755, other files 0750): /etc/pve is 0755 quorate, 0555 not;
        storage.cfg 0640 / 0440; priv 0700 / 0500."""
        p, cs = self.node.pmxcfs, self.node.corosync
        quorate = p.local_mode or (cs.running and cs.quorate)
        is_dir, is_link = st.S_ISDIR(mode), st.S_ISLNK(mode)
        bits = (0o777 if quorate else 0o555) if is_dir or is_link else (
            0o666 if quorate else 0o444)
        private = rel == "priv" or rel.startswith("priv/") or re.match(
            r"nodes/[^/]+/priv(/|$)", rel) is not None
        if private:
            return bits & 0o700
        return bits & (0o755 if is_dir or is_link else 0o750)

    def exists(self, path: str, cwd: str = "/root") -> bool:
        try:
            self.stat(path, cwd)
            return True
        except OSError:
            return False

    def is_dir(self, path: str, cwd: str = "/root") -> bool:
        try:
            import stat as st

            return st.S_ISDIR(self.stat(path, cwd).st_mode)
        except OSError:
            return False

    def is_link(self, path: str, cwd: str = "/root") -> bool:
        if procfd.link(self.node, self.abspath(path, cwd)) is not None:
            return True
        try:
            return (self.node.root / self.resolve(path, cwd, follow_last=False).lstrip("/")) \
                .is_symlink()
        except OSError:
            return False

    def readlink(self, path: str, cwd: str = "/root") -> str:
        fd = procfd.link(self.node, self.abspath(path, cwd))
        if fd is not None:
            return fd
        h = self.node.root / self.resolve(path, cwd, follow_last=False).lstrip("/")
        return os.readlink(h)

    # -- writes ----------------------------------------------------------------------------
    def _different_vm_exists(self, rel: str) -> bool:
        """pmxcfs memdb.c (create, rename) refuses a guest config whose VMID the cluster's
        vmlist already has as another type or on another node: ``-EEXIST`` ("File exists"),
        status.c ``vmlist_different_vm_exists``."""
        want = _vm_config_path(rel)
        db = self.node.pmxcfs.memdb
        if want is None or db is None:
            return False
        for path, entry in db.entries.items():
            have = _vm_config_path(path)
            if have and not entry.is_dir and have[2] == want[2] and have[:2] != want[:2]:
                return True
        return False

    def _parent_ok(self, r: str) -> None:
        parent = self.node.root / posixpath.dirname(r).lstrip("/")
        if not parent.exists():
            raise oserr(errno.ENOENT, r)
        if not parent.is_dir():
            raise oserr(errno.ENOTDIR, r)

    async def pve_change(self, r: str) -> None:
        """Gate for a change under /etc/pve: EACCES at once without quorum, else wait for
        pmxcfs to accept it (dcdb.c ``dcdb_send_fuse_message``; local mode is always quorate,
        ``cfs_is_quorate`` in quorum.c/status.c)."""
        node = self.node
        p = node.pmxcfs
        node.world.tick()
        if p.state == "running" and p.mount == "mounted" and not p.local_mode and not (
                node.corosync.running and node.corosync.quorate):
            raise oserr(errno.EACCES, r)
        await node.world.wait_writable(node)
        self.pve_rel(r)  # the mount may have gone stale while we waited

    async def prepare_write(self, path: str, cwd: str = "/root") -> str:
        """Open-for-write checks (blocks on a non-quorate /etc/pve); returns the resolved path."""
        r = self.resolve(path, cwd)
        if r == "/dev/null":
            return r
        rel = self.pve_rel(r)
        if (self.node.root / r.lstrip("/")).is_dir():
            raise oserr(errno.EISDIR, r)
        self._parent_ok(r)
        if rel is not None:
            await self.pve_change(r)
        return r

    async def write_bytes(self, path: str, data: bytes, cwd: str = "/root",
                          append: bool = False) -> None:
        r = await self.prepare_write(path, cwd)
        if r == "/dev/null":
            return
        rel = self.pve_rel(r)
        h = self.node.root / r.lstrip("/")
        if rel is not None:
            if append and h.exists():
                data = h.read_bytes() + data
            if len(data) > MAX_PVE_FILE:
                raise oserr(errno.EFBIG, r)
            if rel in DYNAMIC_PVE:
                raise oserr(errno.EACCES, r)
            if not h.exists() and self._different_vm_exists(rel):
                raise oserr(errno.EEXIST, r)
            self.node.world.cfs_apply(self.node, "write", rel, data)
            return
        with open(h, "ab" if append else "wb") as fh:  # noqa: ASYNC230 - local, tiny
            fh.write(data)

    async def touch(self, path: str, cwd: str = "/root", mtime: int | None = None,
                    create: bool = True) -> None:
        """``touch [-c] [-d @MTIME]``. Under /etc/pve, mtime 0 on a lock directory is
        pmxcfs's unlock request (cfs-plug-memdb.c ``utimens``): the lock goes if it has
        expired. In a cluster the time itself is then refused all the same (memdb.c
        ``memdb_mtime``: EACCES for an mtime older than the lock's; the member that removes
        an expired lock does so by a message of its own, after the answer); alone (local
        mode) the removal is the answer."""
        from pverunbook.sim.memdb import is_lockdir

        r = self.resolve(path, cwd)
        h = self.node.root / r.lstrip("/")
        if h.exists():
            rel = self.pve_rel(r)
            if rel is not None:
                await self.pve_change(r)
                if mtime is not None and h.is_dir() and is_lockdir(rel):
                    removed = mtime == 0 and self.node.world.cfs_unlock_request(self.node, rel)
                    if not removed or not self.node.pmxcfs.local_mode:
                        raise oserr(errno.EACCES, r)
                return
            os.utime(h, None if mtime is None else (mtime, mtime))
            return
        if not create:
            return
        await self.write_bytes(path, b"", cwd)
        if mtime is not None and self.pve_rel(r) is None:
            os.utime(h, (mtime, mtime))

    async def mkdir(self, path: str, cwd: str = "/root", parents: bool = False,
                    mode: int = 0o755) -> None:
        r = self.resolve(path, cwd)
        h = self.node.root / r.lstrip("/")
        if h.exists():
            if parents and h.is_dir():
                return
            raise oserr(errno.EEXIST, r)
        if not parents:
            self._parent_ok(r)
        elif not h.parent.exists():
            await self.mkdir(posixpath.dirname(r), parents=True)
        rel = self.pve_rel(r)
        if rel is not None:
            await self.pve_change(r)
            self.node.world.cfs_apply(self.node, "mkdir", rel)
            return
        h.mkdir(mode=mode)

    async def unlink(self, path: str, cwd: str = "/root", recursive: bool = False) -> None:
        r = self.resolve(path, cwd, follow_last=False)
        h = self.node.root / r.lstrip("/")
        if not h.exists() and not h.is_symlink():
            raise oserr(errno.ENOENT, r)
        if h.is_dir() and not h.is_symlink() and not recursive:
            raise oserr(errno.EISDIR, r)
        rel = self.pve_rel(r)
        if rel is not None:
            if rel in ("local", "qemu-server", "lxc", "openvz") or rel in DYNAMIC_PVE or not rel:
                raise oserr(errno.EPERM, r)
            await self.pve_change(r)
            self.node.world.cfs_apply(self.node, "unlink", rel)
            return
        if h.is_dir() and not h.is_symlink():
            shutil.rmtree(h)
        else:
            h.unlink()

    async def rmdir(self, path: str, cwd: str = "/root") -> None:
        r = self.resolve(path, cwd)
        h = self.node.root / r.lstrip("/")
        if not h.exists():
            raise oserr(errno.ENOENT, r)
        if not h.is_dir():
            raise oserr(errno.ENOTDIR, r)
        if os.listdir(h):
            raise oserr(errno.ENOTEMPTY, r)
        await self.unlink(path, cwd, recursive=True)

    async def rename(self, src: str, dst: str, cwd: str = "/root") -> None:
        rs = self.resolve(src, cwd, follow_last=False)
        rd = self.resolve(dst, cwd)
        hs = self.node.root / rs.lstrip("/")
        hd = self.node.root / rd.lstrip("/")
        if not hs.exists() and not hs.is_symlink():
            raise oserr(errno.ENOENT, rs)
        if hd.is_dir():
            rd = posixpath.join(rd, posixpath.basename(rs))
            hd = self.node.root / rd.lstrip("/")
        self._parent_ok(rd)
        rel_s, rel_d = self.pve_rel(rs), self.pve_rel(rd)
        if rel_s is not None and rel_d is not None:
            await self.pve_change(rs)
            src_vm = _vm_config_path(rel_s)
            dst_vm = _vm_config_path(rel_d)
            if hs.is_file() and self._different_vm_exists(rel_d) \
                    and not (src_vm and dst_vm and src_vm[2] == dst_vm[2]):
                raise oserr(errno.EEXIST, rd)
            self.node.world.cfs_apply(self.node, "rename", rel_s, dst=rel_d)
            return
        if rel_s is None and rel_d is None:
            os.replace(hs, hd)
            return
        if hs.is_dir():
            raise oserr(errno.EXDEV, rs)
        data = hs.read_bytes()
        await self.write_bytes(rd, data)
        await self.unlink(rs)

    # -- globbing --------------------------------------------------------------------------
    def glob(self, pattern: str, cwd: str = "/root") -> list[str]:
        """Pathname expansion like sh: sorted matches, dot files only for dot patterns."""
        absolute = pattern.startswith("/")
        parts = [p for p in pattern.split("/") if p]
        results = ["/" if absolute else ""]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: list[str] = []
            for base in results:
                base_v = base if absolute else (posixpath.join(cwd, base) if base else cwd)
                if not any(c in part for c in "*?["):
                    cand = posixpath.join(base, part) if base else part
                    check = cand if absolute else posixpath.join(cwd, cand)
                    if (last or self.is_dir(check)) and (self.exists(check)
                                                         or self.is_link(check)):
                        nxt.append(cand)
                    continue
                try:
                    names = self.listdir(base_v or "/")
                except OSError:
                    continue
                for name in names:
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    if fnmatch.fnmatchcase(name, part):
                        cand = posixpath.join(base, name) if base else name
                        full = cand if absolute else posixpath.join(cwd, cand)
                        if last or self.is_dir(full):
                            nxt.append(cand)
            results = nxt
        return sorted(results)
