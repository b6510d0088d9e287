"""What each lint rule's message says to do instead, and why (the sources named in each).

Kept apart from :mod:`pverunbook.runbook.lint` (the rule table and the driver) so that module
stays small; every code in ``RULES`` has its text here.
"""

from __future__ import annotations

FIX: dict[str, str] = {
    "PVR001": (
        "config.db (with -wal/-shm) is the only persistent copy of /etc/pve: VM configs, "
        "storage.cfg, users, CA and certificates. Nothing is regenerated (pmxcfs creates an EMPTY "
        "database), and deleted on every node there is no peer left to resync from. Instead: "
        "back it up (sqlite3 .backup / .dump | gzip), and for ONE damaged node in a quorate "
        "cluster stop pve-cluster and mv the database aside so it resyncs from its peers "
        "(runbook cluster-db-reset); otherwise restore a backup"),
    "PVR002": (
        "SIGKILL skips pmxcfs's teardown and leaves a dead FUSE mount ('Transport endpoint is "
        "not connected'); systemd respawns it (Restart=on-failure) and with HA active the "
        "watchdog fences in 60 s. Instead: stop pve-ha-lrm then pve-ha-crm if HA is used, then "
        "`systemctl stop pve-cluster` (SIGTERM: pmxcfs unmounts itself); for local mode use "
        "`pmxcfs -l` ... `killall pmxcfs` (SIGTERM) ... `systemctl start pve-cluster`"),
    "PVR003": (
        "`umount -l /etc/pve` only hides the mount while pvedaemon, pveproxy, pvestatd and HA "
        "keep stale handles. Instead: `systemctl stop pve-cluster` (pmxcfs unmounts itself and "
        "force-unmounts a stale mount when it starts)"),
    "PVR004": (
        "transport udp/udpu disables knet crypto and redundant links, corosync 3 refuses it with "
        "PVE's `secauth: on`, it cannot change by reload and a mixed-transport cluster "
        "partitions. Instead: keep knet, add a second link (ring1_addr + interface { linknumber: "
        "1 }, knet_link_priority) and tune token if needed (runbook corosync-tuning)"),
    "PVR005": (
        "the unit is named twice, so the command does not do what was meant (the outage's "
        "`systemctl start pve-cluster pve-cluster` never started corosync). Instead: name each "
        "unit once, e.g. `systemctl start corosync pve-cluster`, then check `systemctl status "
        "pve-cluster corosync`"),
    "PVR006": (
        "`pvecm expected 1` on both halves of a split makes each half quorate on its own: split "
        "brain, with both writing /etc/pve. Instead: run it on ONE node only (targets = \"first\" "
        "or a single node) and only after making sure the other side is down"),
    "PVR007": (
        "pmxcfs overwrites /etc/corosync/corosync.conf from /etc/pve/corosync.conf whenever that "
        "one's config_version is not lower, so a direct edit is lost or half-applied. Instead: "
        "edit /etc/pve/corosync.conf via a .new copy (action corosync-edit); edit the local file "
        "only with pve-cluster stopped (an earlier step runs `systemctl stop pve-cluster`), "
        "identically on all nodes"),
    "PVR008": (
        "token_retransmit is derived from token (token / (token_retransmits_before_loss_const + "
        "0.2)); setting it by hand breaks that relation (the outage's 1000 ms with token 5000 "
        "let only ~5 retransmits happen before token loss). Instead: tune `token` only and unset "
        "token_retransmit"),
    "PVR009": (
        "the step looks destructive but is not marked so: it would run without a verified "
        "checkpoint and without a typed confirmation. Instead: set destructive = true with a "
        "[steps.backup] (or no_backup_reason), confirm and an explain"),
    "PVR010": (
        "a save in place in /etc/pve is applied at once, possibly half-written and without a "
        "config_version bump. Instead: write /etc/pve/corosync.conf.new (action corosync-edit "
        "bumps config_version and validates), then `mv` it over corosync.conf"),
    "PVR011": (
        "pmxcfs can hang, and then every access to /etc/pve hangs with it. Instead: wrap the "
        "command in `timeout 5 ...` (or another bound); a glob under /etc/pve is expanded by "
        "the shell before `timeout` runs: `timeout 5 sh -c 'ls /etc/pve/nodes/*/...'`"),
    "PVR012": "remove it or use one of the codes PVR001..PVR019",
    "PVR014": (
        "the timers restore the checkpoint when commit_within runs out, even if the checks were "
        "still running and would have passed: raise commit_within above the timeouts of the "
        "steps up to the last commit check plus time to read and type COMMIT (30 s)"),
    "PVR013": (
        "removing a node's corosync configuration, its pmxcfs database or its membership "
        "(`pvecm delnode`), or writing /etc/pve in local mode, is done to ONE node at a time "
        "while the others stay quorate; on every node it dissolves the whole cluster, with no "
        "peer left to resync from (the original outage). Instead: target one node "
        "(targets = \"{{node_param}}\" with max_targets = 1, or a node name) and check first "
        "that the rest of the cluster is quorate (pvecm.adoc, \"Separate a Node Without "
        "Reinstalling\"). This cannot be accepted with lint_ok"),
    "PVR015": (
        "votequorum accepts `pvecm expected 1` on any node that is alone in its membership "
        "(votequorum.c refuses only expected < total votes) -- and a node that is merely cut "
        "off is alone too. On 3+ nodes its peers may be a quorate majority at that moment, and "
        "the lowered value makes a second quorate partition: split brain. Instead: run it only "
        "under a `when` that reads every node's facts -- no node quorate "
        "(`not any(quorum.quorate)`) and corosync running on no other node "
        "(`count(corosync.running) == 1`), as corosync-tuning's `expected-one` does -- after "
        "a manual step where the operator confirms the other nodes are down"),
    "PVR016": (
        "every target leaves the corosync membership (or its pmxcfs stops) at the same moment: "
        "a quorum gap on every node, /etc/pve read-only everywhere, and with active HA the "
        "watchdog fences after 60 s (the outage notes' `systemctl restart corosync pve-cluster "
        "...` on both nodes). Instead: one node per step (a node name or "
        "targets = \"{{node_param}}\" with max_targets = 1), or a manual step that restarts "
        "one node at a time and waits for `corosync-quorumtool -s` to show it quorate again"),
    "PVR017": (
        "a comparison among the step's targets needs two of them to compare; on one node it "
        "passes whatever the others hold. Instead: a guard that compares every inventory "
        "node whatever the step's targets (same-config-version and inventory-complete do), "
        "or the comparison in an earlier step on targets = \"all\" (like `versions-in-sync`)"),
    "PVR018": (
        "the engine checks a step's expectations only when every command exits with an "
        "accepted status (ok_exit), so a command that always fails hides their messages "
        "behind 'exit status 1'. Instead: let the command exit 0 and an expectation fail the "
        "step with its message (echo 'REFUSED: ...' with absent = '^REFUSED: ')"),
    "PVR019": (
        "\"all\" is every node of the inventory, not of the cluster: a node the inventory "
        "does not list is left out of the change and ends up different, without a word. "
        "Instead: add [[steps.guards]] check = \"inventory-complete\" to the step (not "
        "warn = true): it blocks unless every inventory node's corosync.conf nodelist names "
        "exactly the inventory's nodes"),
}
