"""Which diagnosis faults make a step's guard fail: the stops a runbook's guards add to the
health check's order (:func:`pverunbook.pve.diagnosis.check.runnable_first`).

A guard that fails stops the run before its step (unless ``warn = true``), exactly like an
expectation that declares ``faults = [...]``. The table says, from what each guard probes on
the nodes (``engine/guards.py``), which faults of the check mean that probe fails now. Pure:
no I/O; steps are read by their attributes (``guards``, ``destructive``, ``condition``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Guard kind → the fault ids whose presence makes it fail. What each probes and why:
#:
#: - ``quorate``: ``corosync-quorumtool -s`` on every target must say ``Quorate: Yes``. A
#:   ``partition`` is a node saying ``No``; ``corosync-not-running`` makes the tool fail
#:   (cannot connect to the quorum service). ``quorum-lost-recently`` is not here: the rule
#:   fires only while the nodes say quorate (or nothing was read), so the probe passes.
#: - ``not-quorate``: the opposite; no fault says "quorate", so nothing.
#: - ``pve-writable``: ``touch`` + ``rm`` of a file in /etc/pve within N s. It hangs on
#:   ``pmxcfs-blocked``; is refused on ``pmxcfs-read-only`` (EACCES: pmxcfs without quorum)
#:   and, for the same reason, on the cut-off side of a ``partition`` and on a node with
#:   ``corosync-not-running``; fails with ENOTCONN on a dead FUSE mount (``pmxcfs-not-mounted``,
#:   ``pve-enotconn``). Not ``pve-not-mounted``: with pmxcfs stopped /etc/pve is a plain
#:   directory of the root file system and the touch succeeds. Not the node-directory faults:
#:   the probe writes /etc/pve's top level, not ``nodes/<node>``.
#: - ``corosync-running``: ``systemctl is-active corosync`` must say ``active``:
#:   ``corosync-not-running``.
#: - ``same-config-version``: ``config_version`` of /etc/corosync/corosync.conf read on every
#:   inventory node must agree. Not ``config-version-mismatch``: that rule reports the
#:   versions corosync *runs* when those differ (and then not the files), and running
#:   versions can differ while the files already agree (a node not reloaded yet), where the
#:   probe passes. Unsure, so no stop.
#: - ``inventory-complete``: each node's corosync.conf nodelist must equal the inventory:
#:   ``node-not-in-inventory`` (a nodelist node the inventory lacks, or the reverse).
#: - ``no-ha-resources``: ``ha-manager status`` must list no HA service (but ``ignored``) and
#:   no active LRM: ``ha-fence-risk`` is HA services active on a node.
#: - ``command``: a runbook's own probe; nothing can be said of it.
GUARD_FAULTS: dict[str, frozenset[str]] = {
    "quorate": frozenset({"partition", "corosync-not-running"}),
    "not-quorate": frozenset(),
    "pve-writable": frozenset({"pmxcfs-blocked", "pmxcfs-read-only", "pmxcfs-not-mounted",
                               "pve-enotconn", "partition", "corosync-not-running"}),
    "corosync-running": frozenset({"corosync-not-running"}),
    "same-config-version": frozenset(),
    "inventory-complete": frozenset({"node-not-in-inventory"}),
    "no-ha-resources": frozenset({"ha-fence-risk"}),
    "command": frozenset(),
}


def guard_stops(steps: Iterable[Any]) -> frozenset[str]:
    """The fault ids a runbook's guards stop it on before it has changed anything.

    Counted: the blocking guards (not ``warn``) of the steps up to and including the first
    destructive one. A guard after it is not: that change may be the runbook's own fix for
    what the guard checks (corosync-tuning's ``pvecm expected 1`` is what makes its later
    ``pve-writable`` guards pass on a node left alone), and an order that made a runbook wait
    for what it fixes itself would never propose it. Nor a guard on a step whose ``when``
    reads facts: it runs only on some states of the cluster, possibly only where the guard
    holds (``expected-one`` runs only while corosync runs, so its ``corosync-running`` guard
    cannot stop it there). Steps of ``when`` branches on parameters are not told apart: the
    first destructive one by position ends the count, which can only leave a stop out.
    """
    out: set[str] = set()
    for step in steps:
        cond = getattr(step, "condition", None)
        if cond is None or not cond.facts():
            for g in getattr(step, "guards", ()):
                if not g.warn:
                    out |= GUARD_FAULTS.get(str(g.check), frozenset())
        if getattr(step, "destructive", False):
            break
    return frozenset(out)
