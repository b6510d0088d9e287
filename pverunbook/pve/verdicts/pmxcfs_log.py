"""pmxcfs's own log lines (``journalctl -u pve-cluster``, or mixed into a corosync journal).

pmxcfs (pve-cluster ``src/pmxcfs``) logs its own view of the cluster, and it is evidence of its
own: corosync can report a healthy membership while pmxcfs failed to send through it or had to
resync. The messages and where they come from (pve-cluster 9.1.6):

- ``[status] notice: node lost quorum`` / ``node has quorum`` (status.c): quorum as pmxcfs saw
  it; without it every write into /etc/pve fails with EACCES (dcdb.c dcdb_send_fuse_message).
- ``[dcdb] crit: cpg_send_message failed: N`` (dfsm.c dfsm_send_message_full): a message for
  the other nodes could not be sent through corosync's CPG (9 = CS_ERR_BAD_HANDLE, 6 =
  CS_ERR_TRY_AGAIN after 100 tries); ``cpg_send_message retried N times`` is the milder form.
- ``crit: ignore sync request from wrong member N/PID`` (dfsm.c): a resync started by a node
  that is not the lowest member — the membership changed under pmxcfs during a resync.
- ``starting data syncronisation`` … ``all data is up to date`` (dfsm.c): a resync, and its end.
- ``DB load failed`` (database.c bdb_backend_load) / ``memdb_open failed`` (pmxcfs.c): the
  database would not load; pmxcfs does not start.
- ``local corosync.conf is newer`` (dcdb.c): /etc/pve/corosync.conf was NOT copied to
  /etc/corosync because the local file has a higher config_version.
- ``received write while not quorate - trigger resync`` (dcdb.c).
- ``data verification successful`` / ``wrong checksum … - restarting`` (dfsm.c): the hourly
  check that this node's database equals the leader's, and its failure (pmxcfs resyncs).
- another program's ``unable to … '/etc/pve/…' - Permission denied`` (pve-ha-lrm/-crm status
  files): /etc/pve was read-only there and then.
"""

from __future__ import annotations

from pverunbook.pve import outputs
from pverunbook.pve.outputs.pmxcfs import db_load
from pverunbook.pve.verdicts.base import Finding


def _first(s: outputs.JournalSummary, *kinds: str) -> str | None:
    e = next((e for e in s.events if e.kind in kinds), None)
    return f"line {e.lineno}: {e.text}" if e is not None else None


def _last_index(s: outputs.JournalSummary, *kinds: str) -> int:
    return max((i for i, e in enumerate(s.events) if e.kind in kinds), default=-1)


def pmxcfs_findings(s: outputs.JournalSummary, text: str) -> list[Finding]:
    """Findings of the pmxcfs (and /etc/pve writer) lines in one log (``s`` read from
    ``text``). [] without any. A database load failure counts only when the pmxcfs running now
    logged it (:func:`pverunbook.pve.outputs.pmxcfs.db_load`, shared with the facts)."""
    c = s.counts
    if not any(c[k] for k in outputs.PMXCFS_KINDS):
        return []
    out: list[Finding] = []
    recovered = outputs.pmxcfs_synced_at_end(s)
    end = (" pmxcfs finished its resync afterwards ('all data is up to date'): it recovered."
           if recovered else " The log ends without pmxcfs saying 'all data is up to date'.")
    load = db_load(text)
    if load.failed:
        out.append(Finding(
            "critical", "pmxcfs could not load its database (config.db)",
            "pmxcfs refuses to start on a database its loader rejects (database.c "
            "bdb_backend_load), so /etc/pve is not mounted on this node. Runbook "
            "cluster-db-reset: back the database up, then let this node resync from a quorate "
            "peer.", evidence=f"line {load.bad[-1][0]}: {load.bad[-1][1]}"))
    if c["pmxcfs_conf_newer"]:
        out.append(Finding(
            "warning", "pmxcfs did not copy /etc/pve/corosync.conf: the local file is newer",
            "dcdb.c copies /etc/pve/corosync.conf to /etc/corosync/corosync.conf only when its "
            "config_version is not lower than the local file's. This node keeps running its own "
            "file: raise config_version in /etc/pve/corosync.conf above the local one (or make "
            "the local one right), so every node runs the same configuration.",
            evidence=_first(s, "pmxcfs_conf_newer")))
    if c["pmxcfs_quorum_lost"]:
        regained = _last_index(s, "pmxcfs_quorum_ok") > _last_index(s, "pmxcfs_quorum_lost")
        out.append(Finding(
            "warning" if regained else "critical",
            f"pmxcfs lost quorum {c['pmxcfs_quorum_lost']} time(s)",
            "Without quorum pmxcfs refuses every write into /etc/pve (EACCES): VM changes, HA "
            "status and certificates could not be written. "
            + ("It had quorum again later in the log." if regained
               else "The log ends without 'node has quorum'."),
            evidence=_first(s, "pmxcfs_quorum_lost")))
    if c["pmxcfs_send_failed"] or c["pmxcfs_wrong_member"]:
        parts = []
        if c["pmxcfs_send_failed"]:
            parts.append(f"{c['pmxcfs_send_failed']} message(s) could not be sent through "
                         "corosync (cpg_send_message failed)")
        if c["pmxcfs_wrong_member"]:
            parts.append("a resync request came from a node that was not the lowest member "
                         "('ignore sync request from wrong member': the membership changed "
                         "during the resync)")
        out.append(Finding(
            "warning" if recovered else "critical",
            "pmxcfs failed to replicate through corosync: " + "; ".join(parts),
            "Writes into /etc/pve during that time failed or waited: pmxcfs replicates every "
            "write through corosync's CPG (dfsm.c). This happens when the membership changes "
            "while pmxcfs syncs, e.g. a node rejoining after it was cut off." + end,
            evidence=_first(s, "pmxcfs_send_failed", "pmxcfs_wrong_member")))
    elif c["pmxcfs_send_retried"]:
        out.append(Finding(
            "info", f"pmxcfs had to retry sending through corosync {c['pmxcfs_send_retried']} "
            "time(s)", "corosync asked pmxcfs to try again (CS_ERR_TRY_AGAIN) while the "
            "membership was changing; the messages went through in the end.",
            evidence=_first(s, "pmxcfs_send_retried")))
    if c["pve_write_denied"] or c["pve_write_busy"]:
        out.append(Finding(
            "warning",
            "writes into /etc/pve failed: "
            + ", ".join(x for x in (
                f"{c['pve_write_denied']} refused (Permission denied: no quorum, read-only)"
                if c["pve_write_denied"] else "",
                f"{c['pve_write_busy']} busy (Device or resource busy: could not go through "
                "corosync)" if c["pve_write_busy"] else "") if x),
            "pmxcfs refuses writes without quorum with EACCES and answers EBUSY when a write "
            "cannot be sent to the other nodes (dcdb.c dcdb_send_fuse_message). Programs that "
            "write status there (the HA manager's lrm/crm status) failed meanwhile.",
            evidence=_first(s, "pve_write_denied", "pve_write_busy")))
    if c["pmxcfs_write_not_quorate"]:
        out.append(Finding(
            "warning", "pmxcfs received a write while not quorate and resynced",
            "dcdb.c: a replicated write arrived while this node had no quorum; pmxcfs "
            "triggers a resync to get back to the cluster's state.",
            evidence=_first(s, "pmxcfs_write_not_quorate")))
    started_first: Finding | None = None
    if c["pmxcfs_no_corosync"] and not outputs.pmxcfs_connected_at_end(s):
        out.append(Finding(
            "critical", "pmxcfs could not connect to corosync",
            "pmxcfs's cpg/quorum/cmap initialisation failed: corosync was not running (or not "
            "yet) when pmxcfs tried, and the log shows no connection after it (no 'members:', "
            "'node has quorum' or resync). Without it /etc/pve stays read-only on this node: "
            "check `systemctl status corosync` and `journalctl -u corosync`.",
            evidence=_first(s, "pmxcfs_no_corosync")))
    elif c["pmxcfs_no_corosync"]:
        started_first = Finding(
            "info", "pmxcfs waited for corosync and connected once it ran",
            "Until corosync runs pmxcfs logs 'cpg/quorum/cmap_initialize failed' and retries "
            "every 5 s: at every boot (pve-cluster.service starts before corosync.service; it "
            "writes corosync.conf from /etc/pve) and while corosync is restarted. It joined "
            "the cluster later in this log; not a fault.",
            evidence=_first(s, "pmxcfs_no_corosync"))
    if c["pmxcfs_wrong_checksum"]:
        out.append(Finding(
            "warning" if recovered else "critical",
            f"pmxcfs found its database differed from the cluster's "
            f"{c['pmxcfs_wrong_checksum']} time(s) (wrong checksum)",
            "dfsm.c: the hourly verification found this node's config.db checksum different "
            "from the leader's; pmxcfs left the CPG group to resync from the others." + end,
            evidence=_first(s, "pmxcfs_wrong_checksum")))
    syncs = c["pmxcfs_sync"]
    if syncs and not out:
        out.append(Finding(
            "info", f"pmxcfs resynced {syncs} time(s)" + (" and is up to date" if recovered
                                                          else ""),
            "pmxcfs resyncs its database after every membership change (a node joining or "
            "leaving).", evidence=_first(s, "pmxcfs_sync")))
    if c["pmxcfs_verified"] and not out:
        out.append(Finding(
            "ok", f"pmxcfs verified its database against the cluster {c['pmxcfs_verified']} "
            "time(s)", "'data verification successful' (dfsm.c): the hourly check found this "
            "node's config.db checksum equal to the leader's, and pmxcfs logged no trouble.",
            evidence=_first(s, "pmxcfs_verified")))
    if started_first is not None:
        out.append(started_first)
    return out
