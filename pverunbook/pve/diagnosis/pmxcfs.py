"""pmxcfs rules: /etc/pve writes or reads that hang or are refused, and a damaged config.db on
one node (resync from peers) versus on every node (restore a backup).

Sources: pmxcfs.adoc "Recovery", domain notes §4 and §8 (a).
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.model import (
    Context,
    Fault,
    NextRunbook,
    ev,
    num,
)


def pmxcfs_blocked(ctx: Context) -> list[Fault]:
    """/etc/pve writes hang (exit 124) or are refused; reads hang = pmxcfs itself is stuck."""
    store = ctx.store
    hung = [f for f in store.named("pmxcfs.write_hung") if f.value is True and f.node]
    refused = [f for f in store.named("pmxcfs.writable") if f.value is False and f.node
               and store.value("pmxcfs.write_hung", f.node) is not True]
    unread = [f for f in store.named("pmxcfs.readable") if f.value is False and f.node]
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
            "Fix corosync's membership first (the link and quorum faults above); pmxcfs "
            "resumes by itself. If it stays hung on a quorate node, `systemctl restart "
            "pve-cluster` - never `kill -9 pmxcfs` or `umount -l /etc/pve`.",
            tuple(ev(f) for f in hung + unread), None, (), tuple(names)))
    if refused:
        names = list(dict.fromkeys(f.node for f in refused if f.node))
        out.append(Fault(
            "pmxcfs-read-only", f"/etc/pve refuses writes on {', '.join(names)} (no quorum)",
            "warning", "high", "Restore quorum (see the partition fault); do not force it.",
            tuple(ev(f) for f in refused), None, (), tuple(names)))
    return out



def database_damaged(ctx: Context) -> list[Fault]:
    """config.db damaged on one node (resync from peers) vs on all (restore a backup)."""
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
        "Do NOT delete config.db anywhere. Restore the newest backup "
        "(/var/lib/pve-cluster/backup/config-*.sql.gz) as pmxcfs.adoc 'Recovery' describes.",
        evidence, NextRunbook("vm-config-recovery", {"source": "dump"}), (),
        tuple(str(f.node) for f in bad), weight=20)]

