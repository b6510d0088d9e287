"""pmxcfs rules: /etc/pve writes or reads that hang or are refused, and a damaged config.db on
one node (resync from peers) versus on every node (restore a backup).

Sources: pmxcfs.adoc "Recovery", domain notes §4 and §8 (a).
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.model import (
    Context,
    Fault,
    ManualFix,
    NextRunbook,
    ev,
    fmt,
    num,
    steady_now,
)
from pverunbook.pve.diagnosis.node_dir import node_dir_faults, own_dir_evidence
from pverunbook.pve.facts import Fact, FactStore


def pmxcfs_blocked(ctx: Context) -> list[Fault]:
    """/etc/pve writes hang (exit 124) or are refused; reads hang = pmxcfs itself is stuck."""
    store = ctx.store
    hung = [f for f in store.named("pmxcfs.write_hung") if f.value is True and f.node]
    refused = [f for f in store.named("pmxcfs.writable") if f.value is False and f.node
               and store.value("pmxcfs.write_hung", f.node) is not True]
    failed = [f for f in store.named("pmxcfs.readable") if f.value is False and f.node
              and "Transport endpoint" not in f.evidence]
    # only a read that did not finish hangs: ls answering at once that /etc/pve/nodes is
    # missing (exit 2, ENOENT) is a database without that directory, which no membership
    # and no restart brings back
    unread = [f for f in failed if _read_hung(store, f)]
    absent = [f for f in failed if store.value("pmxcfs.read_error", f.node) == "ENOENT"
              and "/etc/pve/nodes" in f.evidence]
    out = []
    if hung or unread:
        names = list(dict.fromkeys(f.node for f in hung + unread if f.node))
        churn = any((num(f.value) or 0) > 1 for f in store.named("journal.memberships")) or \
            any((num(f.value) or 0) > 0 for f in store.named("journal.link_down"))
        stuck = [n for n in names if store.value("quorum.quorate", n) is True and not churn]
        why = ("pmxcfs waits for a stable corosync membership" if not stuck else
               f"pmxcfs hangs on {', '.join(stuck)} although it is quorate and the membership "
               "is steady: pmxcfs itself is stuck")
        out.append(Fault(
            "pmxcfs-blocked",
            f"/etc/pve {'reads and writes' if unread else 'writes'} hang on {', '.join(names)}: "
            f"{why}", "critical", "high",
            "Fix corosync's membership first (`corosync-cfgtool -s` for its links, "
            "`corosync-quorumtool -s` for quorum: `pvecm status` reads /etc/pve first and "
            "hangs with it); pmxcfs resumes by itself. If it stays hung on a quorate node, "
            "`systemctl restart pve-cluster` - never `kill -9 pmxcfs` or `umount -l /etc/pve`.",
            tuple(ev(f) for f in hung + unread), None, (), tuple(names)))
    errors = {str(f.node): str(f.value) for f in store.named("pmxcfs.write_error") if f.node}
    gone = [f for f in store.named("pmxcfs.write_error") if f.value == "ENOTCONN" and f.node]
    gone += [f for f in store.named("pmxcfs.readable") if f.value is False and f.node
             and "Transport endpoint" in f.evidence and f.node not in {g.node for g in gone}]
    missing = [f for f in store.named("pmxcfs.write_error") if f.value == "ENOENT" and f.node]
    missing += absent  # /etc/pve/nodes itself missing: every node's own directory with it
    refused = [f for f in refused
               if errors.get(str(f.node)) not in ("ENOTCONN", "ENOENT", "EFBIG")]
    if gone:
        names = list(dict.fromkeys(str(f.node) for f in gone))
        out.append(Fault(
            "pmxcfs-not-mounted",
            f"pmxcfs is not running on {', '.join(names)}: /etc/pve answers 'Transport "
            "endpoint is not connected' (its FUSE mount was left behind)", "critical", "high",
            "Read why it stopped (`journalctl -b -u pve-cluster`), then `systemctl restart "
            "pve-cluster` there; corosync can keep running.",
            tuple(ev(f, f"{f.node}: {f.evidence}") for f in gone), None,
            tuple(ManualFix(n, "journalctl -b -u pve-cluster --no-pager | tail -n 50; "
                               "systemctl restart pve-cluster", "fix") for n in names),
            tuple(names), weight=20))
    if missing:
        names = list(dict.fromkeys(str(f.node) for f in missing))
        # the check's pve-mount step sees the same directory missing: its evidence joins here,
        # and its rule (pve-own-dir-missing) leaves these nodes to this one
        own = [f for f in store.named("pve.own_dir") if f.value is False and f.node in names]
        out += node_dir_faults(ctx, lambda *a: Fault("pmxcfs-node-dir-missing", *a), names,
                               own_dir_evidence(missing + own))
    if refused:
        names = list(dict.fromkeys(f.node for f in refused if f.node))
        eacces = all(errors.get(str(n)) in ("EACCES", None) for n in names)
        # corosync may say quorate when asked a moment later than pmxcfs refused the write:
        # a flapping membership. Say which moment each saw, never one without the other.
        quorate_now = [str(n) for n in names if store.value("quorum.quorate", n) is True]
        when = (f" ({', '.join(quorate_now)}: corosync said quorate when asked, moments "
                "apart: the membership is changing)" if quorate_now and eacces
                else "")
        out.append(Fault(
            "pmxcfs-read-only",
            f"/etc/pve refuses writes on {', '.join(names)}"
            + (" (Permission denied: pmxcfs had no quorum when the write was tried, so it was "
               "read-only)" + when
               if eacces else
               " (" + ", ".join(f"{n}: {errors.get(str(n)) or 'refused'}" for n in names)
               + ")"),
            "warning", "high",
            "Restore quorum: find why corosync lost it (`corosync-quorumtool -s`, "
            "`corosync-cfgtool -s`, "
            "the link and quorum findings of this check); do not force it with `pvecm "
            "expected`.", tuple(ev(f) for f in refused), None, (), tuple(names)))
    return out



def _read_hung(store: FactStore, f: Fact) -> bool:
    """Whether a failed read of /etc/pve hung: ``timeout`` ended it (``pmxcfs.read_error``;
    journals from before that fact say ``exit 124`` or that the command did not finish)."""
    kind = store.value("pmxcfs.read_error", f.node)
    if kind is not None:
        return kind == "timeout"
    return f.evidence in ("exit 124", "exit 137", "command did not finish")


def database_damaged(ctx: Context) -> list[Fault]:
    """config.db damaged on one node (resync from peers) vs on all (restore ONE node by hand).

    All damaged has no runbook: cluster-db-reset refuses it (it needs a sound peer) and its
    ``all-damaged`` step holds the manual procedure the fix text repeats.
    """
    store = ctx.store
    facts = [f for f in store.named("db.integrity") if f.node]
    bad = [f for f in facts if f.value == "damaged"]
    if not bad:
        return []
    good = [f for f in facts if f.value == "ok"]
    evidence = tuple(ev(f, f"{f.node}: integrity {f.value}") for f in facts)
    if good:
        names = [str(f.node) for f in bad]
        nxt = NextRunbook("cluster-db-reset", {"damaged_node": names[0]}) \
            if len(names) == 1 else None
        return [Fault(
            "db-damaged-one",
            f"config.db is damaged on {', '.join(names)}; "
            f"{', '.join(str(f.node) for f in good)} {'has' if len(good) == 1 else 'have'} a "
            "sound copy", "critical", "high",
            "Back the damaged database up, move it aside and let the node resync from its "
            "peers (a quorate cluster is needed).", evidence, nxt, (), tuple(names), weight=20)]
    return [Fault(
        "db-damaged-all", "config.db is damaged on every node: there is no sound peer to "
        "resync from", "critical", "high",
        "Do NOT delete config.db anywhere, and do not restore Proxmox's "
        "/var/lib/pve-cluster/backup/config-*.sql.gz (cfs_backup_database writes it only when "
        "a node joins: a pre-join database without the cluster's guests). Restore ONE node R "
        "from the best copy you have (a pverunbook checkpoint, /root/pverunbook-backup/, a "
        "config.db.broken-* that pmxcfs loads). HA out of the way first, while /etc/pve is "
        "writable: `ha-manager crm-command disarm-ha freeze` (PVE 9.1+), else on every node, "
        "R included, stop pve-ha-lrm, then pve-ha-crm (an active LRM whose pmxcfs stops is "
        "fenced after 60 s). Then `systemctl stop pve-cluster` on every other "
        "node (corosync keeps running), then on R stop pve-cluster, move config.db and its "
        "-wal/-shm aside, put the copy in place (chmod 0600) and `systemctl start "
        "pve-cluster`; then on each other node in turn move config.db, -wal, -shm aside and "
        "start pve-cluster so it resyncs from R (at a sync the highest version wins, dcdb.c "
        "dcdb_select_leader). cluster-db-reset's step 'all-damaged' gives the same procedure.",
        evidence, None, (), tuple(str(f.node) for f in bad), weight=20)]



def pmxcfs_log(ctx: Context) -> list[Fault]:
    """pmxcfs's own log as evidence (``journalctl -u pve-cluster``, facts ``pmxcfs_log.*``).

    Sources (pve-cluster 9.1.6): database.c bdb_backend_load ("DB load failed"), dcdb.c
    ("local corosync.conf is newer": the /etc/pve file is not copied while the local one has a
    higher config_version), dfsm.c (cpg_send_message failed, ignore sync request from wrong
    member, all data is up to date), dcdb.c dcdb_send_fuse_message (EACCES without quorum,
    EBUSY when a write cannot go through corosync).
    """
    store = ctx.store
    out: list[Fault] = []
    failed = [f for f in store.named("pmxcfs_log.db_load_failed") if f.value is True and f.node]
    if failed:
        names = [str(f.node) for f in failed]
        out.append(Fault(
            "pmxcfs-db-load-failed",
            f"pmxcfs could not load its database on {', '.join(names)} (its log says so)",
            "critical", "high",
            "/etc/pve is not mounted there. Back the database up and let the node resync "
            "from a quorate peer (runbook cluster-db-reset); do not delete it by hand.",
            tuple(ev(f, f"{f.node}: {f.evidence}") for f in failed),
            NextRunbook("cluster-db-reset", {"damaged_node": names[0]})
            if len(names) == 1 else None, (), tuple(names), weight=20))
    newer = [f for f in store.named("pmxcfs_log.conf_newer") if f.value is True and f.node]
    if newer:
        names = [str(f.node) for f in newer]
        out.append(Fault(
            "pmxcfs-conf-newer",
            f"pmxcfs on {', '.join(names)} keeps its local corosync.conf: it has a higher "
            "config_version than /etc/pve/corosync.conf", "warning", "high",
            "Compare `grep config_version /etc/corosync/corosync.conf /etc/pve/corosync.conf` "
            "there; make /etc/pve/corosync.conf right with a config_version above the local "
            "one so pmxcfs copies it to every node.",
            tuple(ev(f, f"{f.node}: {f.evidence}") for f in newer), None,
            tuple(ManualFix(n, "grep -n config_version /etc/corosync/corosync.conf "
                               "/etc/pve/corosync.conf", "look") for n in names), tuple(names)))
    trouble: list[tuple[str, list[str], bool]] = []
    evidence = []
    for node in store.nodes():
        parts = []
        for name, label in (("pmxcfs_log.send_failed", "messages not sent through corosync"),
                            ("pmxcfs_log.wrong_member", "resync requests from a wrong member"),
                            ("pmxcfs_log.quorum_lost", "quorum losses"),
                            ("pmxcfs_log.wrong_checksum", "databases differing (wrong checksum)"),
                            ("pmxcfs_log.writes_refused", "writes refused (read-only)"),
                            ("pmxcfs_log.writes_busy", "writes busy")):
            f = store.get(Fact(name, 0, node).key)
            if f is not None and (num(f.value) or 0) > 0:
                parts.append(f"{fmt(f.value)} {label}")
                evidence.append(ev(f, f"{node}: {fmt(f.value)} {label}"))
        if parts:
            trouble.append((node, parts, store.value("pmxcfs_log.recovered", node) is True))
    if trouble:
        every = all(ok for _n, _p, ok in trouble)
        listing = "; ".join(f"{n}: {', '.join(p)}" for n, p, _ok in trouble)
        history = every and steady_now(ctx)
        out.append(Fault(
            "pmxcfs-log-trouble",
            ("history: " if history else "")
            + f"pmxcfs could not replicate through corosync for a while ({listing})"
            + ("; it resynced and recovered" if every else "; it has not recovered yet")
            + ("; nothing is failing now" if history else ""),
            "info" if history else "warning" if every else "critical", "high",
            "Each of these made /etc/pve read-only or made writes fail: the membership changed "
            "under pmxcfs (a node cut off or rejoining). Fix the network faults; if pmxcfs "
            "never reports 'all data is up to date', `systemctl restart pve-cluster` on that "
            "node (never corosync with it).", tuple(evidence), None, (),
            tuple(n for n, _p, _ok in trouble)))
    return out


#: Save what a running pmxcfs still holds of a deleted config.db: the files it keeps open
#: (``/proc/<pid>/fd``, shown as ``… (deleted)``), merged with their WAL by SQLite's
#: ``.backup`` into a sound copy, checked, and the mounted tree as a tar. Proven on real pmxcfs
#: 8.1.3 in the lab (tests/integration/test_lab_db_deleted.py). pmxcfs opens the database in
#: WAL mode (database.c ``bdb_backend_open``: ``PRAGMA journal_mode=WAL``), so recent writes
#: are in ``config.db-wal``; copying ``config.db`` alone would lose them.
RESCUE_DELETED_DB = (
    "d=/root/pverunbook-rescue-$(date +%Y%m%d-%H%M%S); mkdir -p -m 0700 $d; "
    "for p in $(pidof pmxcfs); do for fd in /proc/$p/fd/*; do t=$(readlink $fd); "
    "case \"$t\" in \"/var/lib/pve-cluster/config.db\"*\" (deleted)\") "
    "f=${t#/var/lib/pve-cluster/}; cp $fd $d/${f% (deleted)};; esac; done; done; "
    "if test -s $d/config.db; then "
    "test -e $d/config.db-wal || test ! -e /var/lib/pve-cluster/config.db-wal || "
    "cp /var/lib/pve-cluster/config.db-wal $d/; rm -f $d/config.db-shm; "
    "sqlite3 $d/config.db \".backup $d/config.db.sound\" && "
    "sqlite3 -readonly $d/config.db.sound 'PRAGMA integrity_check' && "
    "sqlite3 -readonly $d/config.db.sound \"SELECT count(*) || ' files' FROM tree WHERE "
    "type = 8\"; else echo \"pmxcfs holds no deleted config.db open on this node: nothing "
    "to save here\"; fi; tar -C /etc/pve -czf $d/etc-pve.tar.gz . && echo \"saved in $d\"")
#: After ``systemctl restart pve-cluster`` on a node whose database was deleted: the file
#: pmxcfs wrote from its peers, and how many files it holds.
VERIFY_RESYNCED_DB = ("sqlite3 -readonly /var/lib/pve-cluster/config.db 'PRAGMA "
                      "integrity_check'; sqlite3 -readonly /var/lib/pve-cluster/config.db "
                      "\"SELECT count(*) || ' files' FROM tree WHERE type = 8\"")


def database_deleted(ctx: Context) -> list[Fault]:
    """config.db deleted (``rm config.db*``, the story's wipe) on one or more nodes.

    While pmxcfs runs it keeps the deleted files open and the whole tree in memory (memdb.c),
    so nothing is lost yet — until pve-cluster stops: it then starts an empty database
    (database.c ``bdb_backend_open`` creates the file). Started while other members of the
    corosync process group still hold the tree, it resyncs from them (dcdb.c
    ``dcdb_select_leader``: the highest version wins) and writes a whole new config.db; alone,
    it stays empty. So: with a sound peer, cluster-db-reset resyncs the node; deleted on every
    node while pmxcfs runs, save the open copies everywhere, then restart ONE node at a time
    while the cluster is quorate; deleted everywhere and pmxcfs stopped, only a copy is left.

    Facts: ``db.integrity`` (``missing`` = SQLite could not open the file read-only),
    ``pve.mounted``/``pmxcfs.readable`` (is pmxcfs running there), ``quorum.quorate``.
    """
    store = ctx.store
    facts = [f for f in store.named("db.integrity") if f.node]
    gone = [f for f in facts if f.value == "missing"]
    if not gone:
        return []
    sound = [str(f.node) for f in facts if f.value == "ok"]
    names = [str(f.node) for f in gone]

    def runs(node: str) -> bool | None:
        if store.value("pve.enotconn", node) is True:
            return False
        for name in ("pve.mounted", "pmxcfs.readable"):
            value = store.value(name, node)
            if value is not None:
                return value is True
        return None

    held = [n for n in names if runs(n) is True]
    stopped = [n for n in names if runs(n) is False]
    evidence = tuple(ev(f, f"{f.node}: config.db cannot be opened ({f.evidence})")
                     for f in gone)
    if sound:
        where = (f"pmxcfs still runs on {', '.join(held)} and holds it in memory; "
                 if held else "")
        return [Fault(
            "db-deleted", f"config.db was deleted on {', '.join(names)}; {where}"
            f"{', '.join(sound)} {'has' if len(sound) == 1 else 'have'} a sound copy",
            "warning", "high",
            "Nothing is lost while a peer is sound: let the node start a new database and "
            "resync from its peers while the cluster is quorate (runbook cluster-db-reset, one "
            "node at a time). Do not copy a database file in by hand.", evidence,
            NextRunbook("cluster-db-reset", {"damaged_node": names[0]}), (), tuple(names),
            weight=15)]
    quorate = [n for n in held if store.value("quorum.quorate", n) is True]
    if held:
        restart = [ManualFix(n, f"systemctl restart pve-cluster; sleep 5; {VERIFY_RESYNCED_DB}",
                             "fix")
                   for n in held]
        return [Fault(
            "db-deleted-held",
            f"config.db was deleted on every node ({', '.join(names)}): the cluster's whole "
            f"/etc/pve now lives only in the running pmxcfs on {', '.join(held)} (in memory "
            "and in the deleted files it keeps open)", "critical", "high",
            "Do NOT stop or restart pve-cluster, reboot, or delete anything more on any node "
            "yet: a pmxcfs that stops with no member left to resync from starts empty. First "
            "save the open database and the tree on every node where pmxcfs runs (the first "
            "commands below). Then, only while every node is quorate"
            + (" (not the case now: fix the network and quorum first)"
               if len(quorate) < len(held) or len(held) < 2 else "")
            + ", restart pve-cluster on ONE node: it resyncs from the others' memory and "
            "writes a new config.db; check it holds your files before the next node. Never "
            "restart the last two together.", evidence, None,
            tuple(ManualFix(n, RESCUE_DELETED_DB, "fix") for n in held) + tuple(restart),
            tuple(names), weight=30)]
    return [Fault(
        "db-deleted-lost",
        f"config.db was deleted on every node ({', '.join(names)})"
        + (f" and pmxcfs is not running on {', '.join(stopped)}" if stopped else "")
        + ": pmxcfs starts with an empty cluster database", "critical", "high",
        "Do not start pve-cluster on every node as it is. Restore ONE node from the best copy "
        "you have (a pverunbook checkpoint, /root/pverunbook-backup/, "
        "/root/pverunbook-rescue-*/config.db.sound), start pve-cluster there, then start the "
        "others one at a time so they resync from it (cluster-db-reset's step 'all-damaged' "
        "gives the procedure).", evidence, None, (), tuple(names), weight=30)]
