"""pmxcfs as the simulated nodes run it: its database (config.db) per node, the dfsm sync
between members, the /etc/pve mirror (what the FUSE mount shows), dcdb's copy of
corosync.conf to the local file, writes that block without quorum, start and stop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.sim.memdb import MemDB, MemDBError

if TYPE_CHECKING:
    from pverunbook.sim.world import SimNode, World

PVE_DIR = "/etc/pve"
DB_PATH = "/var/lib/pve-cluster/config.db"
#: pmxcfs reads config_version with this regex (dcdb.c); 0 counts as unparsable
VERSION_RE = re.compile(r"config_version\s*:\s*(\d+)")


# -- pmxcfs ----------------------------------------------------------------------------
def _sync_pmxcfs(world: World, t: float) -> None:
    """dfsm: nodes that share a membership converge on the copy with the highest version."""
    groups: list[list[SimNode]] = []
    for n in world.nodes.values():
        p = n.pmxcfs
        if p.state != "running" or p.local_mode or not n.corosync.running:
            continue
        grp = [world._node_by_id(i) for i in sorted(n.corosync.members)]
        grp = [g for g in grp if g.pmxcfs.state == "running" and not g.pmxcfs.local_mode
               and g.corosync.running]
        # no configuration change reaches pmxcfs while totem forms a new membership
        if any(g.corosync.forming_until is not None for g in grp):
            continue
        if grp and grp[0] is n:
            groups.append(grp)
    for grp in groups:
        ids = frozenset(g.nodeid for g in grp)
        if all(g.pmxcfs.synced_members == ids for g in grp):
            continue
        stalled = _sync_stalls(world, grp)
        if stalled and all(g.pmxcfs.syncing == ids for g in grp):
            continue
        leader = max(grp, key=lambda g: (g.pmxcfs.memdb.version if g.pmxcfs.memdb else -1,
                                         -g.nodeid))
        lm = leader.pmxcfs.memdb
        assert lm is not None
        desc = ", ".join(f"{g.nodeid}/{g.pmxcfs.pid}" for g in grp)
        for g in grp:
            # stamped after this node's membership lines (CorosyncRuntime.log_floor)
            ts = max(t, g.corosync.log_floor)
            if (len(grp) > 1 or g.pmxcfs.synced_members) and g.pmxcfs.syncing != ids:
                g.cfs_log("[dcdb] notice: starting data syncronisation", ts)
            # else dfsm.c confchg: a pmxcfs just started and alone in its membership goes
            # straight from START to SYNCED: "all data is up to date", nothing synced
            g.pmxcfs.syncing = ids
            if stalled:
                continue
            if len(grp) > 1:
                g.cfs_log("[dcdb] notice: received all states", ts + 0.01)
                g.cfs_log(f"[dcdb] notice: leader is {leader.nodeid}/{leader.pmxcfs.pid}",
                          ts + 0.01)
                g.cfs_log(f"[dcdb] notice: synced members: {desc}", ts + 0.01)
            if g is not leader and g.pmxcfs.memdb is not None \
                    and g.pmxcfs.memdb.files() != lm.files():
                g.pmxcfs.memdb = lm.copy()
                g.cfs_log("[dcdb] notice: waiting for updates from leader", ts + 0.01)
                g.cfs_log("[dcdb] notice: update complete - trying to commit (got "
                          f"{len(lm.entries)} inode updates)", ts + 0.02)
                world.persist(g)
                world.materialize(g)
                # dcdb.c dcdb_commit: dcdb_sync_corosync_conf(memdb, FALSE): a resynced node
                # writes the local file but never reloads corosync
                world.sync_corosync_conf(g, t, notify=False)
            g.cfs_log("[dcdb] notice: all data is up to date", ts + 0.03)
            g.pmxcfs.synced_members = ids
            g.pmxcfs.syncing = frozenset()
    world.changed.set()


def _sync_stalls(world: World, grp: list[SimNode]) -> bool:
    """Whether the DFSM sync of this membership cannot finish: a flapping (lossy) link joins
    two of its members, so the sync's state messages do not get around the ring before the
    membership changes again. Seen on the real-pmxcfs lab (8.1.3, three nodes, 30% of
    corosync's UDP lost between two of them): each time the three formed a membership every
    node logged "members: 1/…, 2/…, 3/…" and "starting data syncronisation", then nothing
    until the next change; only the two-node memberships without the lossy link logged
    "received all states" … "all data is up to date" (and delivered the queued writes,
    "dfsm_deliver_queue"). Until then the journal says the sync is unfinished, which is why
    writes into /etc/pve wait (:meth:`SimNode.pve_writable`)."""
    return any(world.net.pair_flapping(a, b) for i, a in enumerate(grp) for b in grp[i + 1:])


def persist(world: World, n: SimNode) -> bool:
    """Save a node's memdb to its config.db, unless that file was deleted under pmxcfs.

    False when the file cannot be written (someone wrote over it: "file is not a database"):
    like pmxcfs's database.c, the failure is a ``[database] crit:`` journal line, the
    in-memory tree stays as it was, and nothing is raised into the simulation."""
    p = n.pmxcfs
    if p.memdb is None:
        return True
    db = n.host("/var/lib/pve-cluster/config.db")
    try:
        ino = db.stat().st_ino
    except FileNotFoundError:
        return True  # pmxcfs still writes to the unlinked inode; nothing reaches the new path
    if p.db_ino is not None and ino != p.db_ino:
        return True
    try:
        p.memdb.save(db)
    except MemDBError as exc:
        n.cfs_log(f"[database] crit: sqlite3_step failed: {exc}")
        n.cfs_log("[database] crit: commit transaction failed: memdb in error state")
        return False
    return True


def materialize(world: World, n: SimNode) -> None:
    """Mirror the node's memdb into its etc/pve directory (what the FUSE mount shows)."""
    root = n.host(PVE_DIR)
    root.mkdir(parents=True, exist_ok=True)
    p = n.pmxcfs
    if p.mount != "mounted" or p.memdb is None:
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        return
    db = p.memdb
    want_files = db.files()
    want_dirs = {k for k, e in db.entries.items() if e.is_dir}
    links = {"local": f"nodes/{n.name}", "qemu-server": f"nodes/{n.name}/qemu-server",
             "lxc": f"nodes/{n.name}/lxc", "openvz": f"nodes/{n.name}/openvz"}
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if rel in links and full.is_symlink():
                continue
            if full.is_symlink() or full.is_file():
                if rel not in want_files or rel in links:
                    full.unlink()
            elif full.is_dir() and rel not in want_dirs:
                shutil.rmtree(full)
    for d in sorted(want_dirs):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, 0o700 if d.split("/")[-1] == "priv" else 0o755)
    for rel, data in want_files.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        try:
            same = f.read_bytes() == data
        except OSError:
            same = False
        if not same:
            f.write_bytes(data)
        mode = 0o600 if "priv/" in rel or rel.startswith("priv") else 0o640
        os.chmod(f, mode)
        mt = db.entries[rel].mtime
        os.utime(f, (mt, mt))
    for name, target in links.items():
        link = root / name
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            link.symlink_to(target)
    for dot in (".members", ".version", ".vmlist", ".clusterlog", ".rrd", ".debug"):
        (root / dot).write_bytes(b"")
        # pmxcfs.c create_dot_files: cfs_plug_func_new(".members", 0440, ...); .debug 0640
        os.chmod(root / dot, 0o640 if dot == ".debug" else 0o440)


def sync_corosync_conf(world: World, n: SimNode, t: float, notify: bool) -> None:
    """pmxcfs ``dcdb_sync_corosync_conf``: copy /etc/pve/corosync.conf to the local file."""
    p = n.pmxcfs
    if p.memdb is None or "corosync.conf" not in p.memdb.entries:
        return
    data = p.memdb.entries["corosync.conf"].data
    m = VERSION_RE.search(data.decode("utf-8", "replace"))
    new_version = int(m.group(1)) if m else 0
    if not new_version:
        n.cfs_log("[dcdb] crit: unable to parse cluster config_version", t)
        return
    local = n.host("/etc/corosync/corosync.conf")
    try:
        old = local.read_bytes()
    except OSError:
        old = b""
    mo = VERSION_RE.search(old.decode("utf-8", "replace"))
    old_version = int(mo.group(1)) if mo else 0
    if old == data:
        return
    if new_version < old_version:
        n.cfs_log("[dcdb] crit: local corosync.conf is newer", t)
        return
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name("corosync.conf.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, local)
    n.cfs_log(f"[dcdb] notice: wrote new corosync config '/etc/corosync/corosync.conf' "
              f"(version = {new_version})", t)
    if notify and old_version and n.corosync.running:
        # dcdb.c: only the node that made the change runs `corosync-cfgtool -R` (cluster-wide)
        world.cluster_reload(n, t)


# -- pmxcfs lifecycle ------------------------------------------------------------------
def pmxcfs_start(world: World, n: SimNode, t: float, local: bool, managed: bool) -> str | None:
    p = n.pmxcfs
    if p.state == "running":
        return "unable to acquire pmxcfs lock: Resource temporarily unavailable"
    if not n.hostname_resolves:
        return (f"Unable to resolve node name '{n.name}' to a non-loopback IP address - "
                "missing entry in '/etc/hosts' or DNS?")
    pid = n.alloc_pid()
    p.pid = pid
    db_path = n.host(DB_PATH)
    memdb: MemDB | None = None
    if db_path.exists():
        try:
            memdb = MemDB.load(db_path)
        except MemDBError as exc:
            # pmxcfs.c main() -> memdb_open -> bdb_backend_open (database.c): a file SQLite
            # cannot use fails at its first statement, "PRAGMA journal_mode=WAL" in
            # bdb_create; rows SQLite reads but the loader rejects end "DB load failed".
            if exc.loader:
                n.cfs_log(f"[database] crit: {exc}", t)
                n.cfs_log("[database] crit: DB load failed", t)
            else:
                n.cfs_log(f"[database] crit: unable to set WAL mode: {exc}", t)
            # the caller logs it as "[main] crit: ..." (pmxcfs.c main)
            return f"memdb_open failed - unable to open database '{DB_PATH}'"
    if memdb is None:
        # pmxcfs.c main(): a missing database is created empty and only the host's
        # /etc/corosync/corosync.conf is imported; nothing else (proxmox/pve-cluster
        # src/pmxcfs/pmxcfs.c, "automatically import corosync.conf from host"). The
        # symlinks and .version/.members/.vmlist/.rrd/.clusterlog/.debug are plugins
        # (create_symlinks), not files. The pve-cluster unit runs no updatecerts (that
        # moved to pveproxy.service's ExecStartPre in 2019, pve-cluster commit 84c3ab0):
        # certificates come back only when pveproxy (re)starts or someone runs
        # `pvecm updatecerts`; storage.cfg, user.cfg, datacenter.cfg, VM/CT configs,
        # firewall and HA state stay lost.
        memdb = MemDB()
        now = int(t)
        try:
            conf = n.host("/etc/corosync/corosync.conf").read_bytes()
            memdb.write("corosync.conf", conf, n.nodeid, now)
        except OSError:
            pass
        try:
            memdb.save(db_path)
        except MemDBError as exc:
            n.cfs_log(f"[database] crit: unable to create database '{DB_PATH}' - {exc}", t)
            return "unable to open database"
    p.db_ino = db_path.stat().st_ino
    memdb.see_locks(int(t))
    p.memdb = memdb
    p.state = "running"
    p.local_mode = local
    p.managed = managed
    p.mount = "mounted"
    p.synced_members = frozenset()
    p.syncing = frozenset()
    if local:
        n.cfs_log("[main] notice: forcing local mode (although corosync.conf exists)", t)
    world.materialize(n)
    world.sync_corosync_conf(n, t, notify=False)
    if not local and not n.corosync.running:
        n.cfs_log("[quorum] crit: quorum_initialize failed: 2", t)
        n.cfs_log("[quorum] crit: can't initialize service", t)
        n.cfs_log("[confdb] crit: cmap_initialize failed: 2", t)
        n.cfs_log("[confdb] crit: can't initialize service", t)
        n.cfs_log("[dcdb] crit: cpg_initialize failed: 2", t)
        n.cfs_log("[dcdb] crit: can't initialize service", t)
        n.cfs_log("[status] crit: cpg_initialize failed: 2", t)
        n.cfs_log("[status] crit: can't initialize service", t)
    elif not local:
        n.cfs_log(f"[status] notice: update cluster info (cluster name  "
                  f"{n.corosync.cluster_name}, version = {n.corosync.config_version})", t)
        n.cfs_log("[dcdb] notice: members: " + ", ".join(
            f"{i}/{world._node_by_id(i).pmxcfs.pid}" for i in sorted(n.corosync.members)
            if world._node_by_id(i).pmxcfs.state == "running"), t)
    world.update_membership(t)
    if n.corosync.quorate and not local:
        n.cfs_log("[status] notice: node has quorum", t)
    world.persist(n)
    return None


def pmxcfs_stop(world: World, n: SimNode, t: float, signal: int = 15) -> int:
    """Stop pmxcfs with ``signal``; returns its exit status (0, or 255 when the final
    write of config.db failed: the unit then ends "failed" and the journal says why)."""
    p = n.pmxcfs
    if p.state != "running":
        return 0
    status = 0
    if signal == 9:
        p.mount = "stale"
    else:
        n.cfs_log("[main] notice: teardown filesystem", t)
        if not world.persist(n):
            status = 255
        p.mount = "none" if p.mount != "stale" else "stale"
        n.cfs_log(f"[main] notice: exit proxmox configuration filesystem "
                  f"({-1 if status else 0})", t)
    p.state = "stopped"
    p.synced_members = frozenset()
    if p.mount != "stale":
        world.materialize(n)
    world.changed.set()
    return status


# -- writes into /etc/pve --------------------------------------------------------------
def cfs_apply(world: World, n: SimNode, op: str, rel: str, data: bytes = b"",
              dst: str = "") -> None:
    """Apply a write on node ``n`` (already known writable) to every node it syncs with."""
    t = world.clock.now()
    targets = [n]
    if not n.pmxcfs.local_mode:
        for p in n.peers():
            if (p.nodeid in n.corosync.members and p.pmxcfs.state == "running"
                    and not p.pmxcfs.local_mode):
                targets.append(p)
    for node in targets:
        db = node.pmxcfs.memdb
        assert db is not None
        now = int(t)
        if op == "write":
            db.write(rel, data, n.nodeid, now)
        elif op == "mkdir":
            db.mkdir(rel, n.nodeid, now)
        elif op == "unlink":
            db.unlink(rel, now)
        elif op == "rename":
            db.rename(rel, dst, n.nodeid, now)
        world.persist(node)
        world.materialize(node)
    touched = {rel, dst}
    if "corosync.conf" in touched:
        # dcdb.c: every member writes its local copy; only the writer (dfsm_nodeid_is_local)
        # then runs `corosync-cfgtool -R`, after sleep(1), so the others usually have theirs
        for node in targets[1:] + targets[:1]:
            world.sync_corosync_conf(node, t, notify=node is n)
    for node in targets:
        node.pmxcfs.synced_members = frozenset(
            x.nodeid for x in targets) if len(targets) > 1 else node.pmxcfs.synced_members
    world.changed.set()

def cfs_unlock_request(world: World, n: SimNode, rel: str) -> bool:
    """``utime(path, 0, 0)`` on a lock directory: pmxcfs's unlock request (Cluster.pm
    ``cfs_lock`` sends one after each failed ``mkdir``). cfs-plug-memdb.c ``utimens``: in a
    cluster the request goes to every member and the one with the lowest node id removes the
    lock everywhere if it has expired by its own clock (dcdb.c, ``memdb_lock_expired``);
    alone (local mode) the node decides. True when the lock was removed."""
    now = int(world.clock.now())
    judge = n
    if not n.pmxcfs.local_mode:
        members = [p for p in n.peers() if p.nodeid in n.corosync.members
                   and p.pmxcfs.state == "running" and not p.pmxcfs.local_mode]
        judge = min([n, *members], key=lambda x: x.nodeid)
    db = judge.pmxcfs.memdb
    if db is None or not db.is_dir(rel) or not db.lock_expired(rel, now):
        return False
    cfs_apply(world, n, "unlink", rel)
    return True


async def wait_writable(world: World, n: SimNode) -> None:
    """Refuse or block a write into /etc/pve as pmxcfs does (until it can complete).

    pve-cluster src/pmxcfs/dcdb.c ``dcdb_send_fuse_message``: ``if (!cfs_is_quorate()) return
    -EACCES;`` — a node without quorum (corosync stopped, or cut off from the majority) fails
    the write at once with EACCES ("Permission denied"), as the lab's real pmxcfs does. A
    quorate node whose membership keeps changing (a flapping link) blocks instead, inside
    ``dfsm_send_message_sync`` until its DFSM has synced a membership (a lossy link inside the
    membership keeps it from ever finishing): the outage's hanging write. The
    quorum check is made once, when the write enters pmxcfs: a write that found quorum and
    blocks stays blocked when quorum goes (it waits for its message's result); one that
    finds no quorum fails at once, whether or not the links flap (the real-pmxcfs lab: the
    node a lossy link has just dropped from the membership answers EACCES, not a hang).
    """
    entered = True
    while True:
        world.tick()
        if n.pve_writable():
            return
        p, cs = n.pmxcfs, n.corosync
        if (p.state == "running" and p.mount == "mounted" and not p.local_mode
                and (not cs.running or (entered and not cs.quorate))):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        entered = False
        if cs.forming_until is not None:
            # totem forms a new membership (a member vanished): the write waits for it, in
            # simulated time (a stepped clock moves this session on to that moment)
            await world.clock.sleep(max(cs.forming_until - world.clock.now(), 0.0))
            continue
        await asyncio.sleep(min(0.05, max(world.clock.scale, 0.005)))


# -- VMs --------------------------------------------------------------------------------
def vm_config(world: World, n: SimNode, vmid: int) -> str | None:
    db = n.pmxcfs.memdb
    if db is None or n.pmxcfs.state != "running":
        return None
    e = db.entries.get(f"nodes/{n.name}/qemu-server/{vmid}.conf")
    return e.data.decode("utf-8", "replace") if e else None


def vm_owner(world: World, vmid: int) -> SimNode | None:
    for n in world.nodes.values():
        db = n.pmxcfs.memdb
        if db is None:
            continue
        for m in world.nodes.values():
            if f"nodes/{m.name}/qemu-server/{vmid}.conf" in db.entries:
                return m
    return None
