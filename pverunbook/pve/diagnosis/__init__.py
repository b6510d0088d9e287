"""Diagnosis: from a run's facts and findings to a ranked list of faults and what to do next.

Verdicts explain one output; a diagnosis is the expert's synthesis across steps and nodes:
"corosync traffic from ryanrishi to pve001 is routed through 192.168.4.1 by a host route;
pve001 answers directly". Each :class:`Fault` carries the evidence it rests on (finding or fact
→ node → step → output line), a confidence, what to do, and either the next runbook with its
parameters filled in or the exact manual command when no runbook fits.

Everything here is pure: :func:`diagnose` reads a :class:`~pverunbook.pve.facts.FactStore` and
the findings (anything shaped like the engine's Finding event) and returns data. The rules live
by domain — :mod:`.network` (routes, links, MTU, ping/mtr), :mod:`.quorum` (partition,
corosync, QDevice, config_version), :mod:`.pmxcfs` (/etc/pve, config.db), :mod:`.certs` — and
:data:`RULES` lists them with the fault ids each can report. The sources of the rules are the
domain notes (corosync 3/knet behaviour, pmxcfs, votequorum), cited per rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from pverunbook.pve.diagnosis import certs, network, pmxcfs, quorum, reach
from pverunbook.pve.diagnosis.health import CHECK_FAULTS
from pverunbook.pve.diagnosis.model import (
    ICMP_PROBES_ENOUGH,
    LOSS_BAD_PCT,
    LOSS_MIN_LOST,
    Confidence,
    Context,
    Diagnosis,
    Evidence,
    Fault,
    FindingLike,
    ManualFix,
    NextRunbook,
    Rule,
    Severity,
)
from pverunbook.pve.diagnosis.network import link_matrix
from pverunbook.pve.facts import Fact, FactStore

__all__ = [
    "FAULT_IDS", "ICMP_PROBES_ENOUGH", "LOSS_BAD_PCT", "LOSS_MIN_LOST", "RULES", "Confidence",
    "Context",
    "Diagnosis", "Evidence", "Fault", "FindingLike", "ManualFix", "NextRunbook", "Rule",
    "Severity", "diagnose", "link_matrix",
]

#: Every rule, in the order their faults are listed when they rank equal.
RULES: tuple[Rule, ...] = (
    Rule(reach.not_checked, (reach.NOT_CHECKED,)),
    Rule(reach.not_in_inventory, (reach.NOT_IN_INVENTORY,)),
    Rule(network.route_via_gateway, ("route-via-gateway",)),
    Rule(network.link_loss, ("lossy-link", "flapping-link", "udp-lost-icmp-ok",
                             "redundant-link-down", "link-flaps-history")),
    Rule(quorum.corosync_not_running, ("corosync-not-running",)),
    Rule(quorum.partition, ("partition", "quorum-lost-recently")),
    Rule(pmxcfs.pmxcfs_blocked, ("pmxcfs-blocked", "pmxcfs-read-only", "pmxcfs-not-mounted",
                                 "pmxcfs-node-dir-missing")),
    Rule(pmxcfs.pmxcfs_log, ("pmxcfs-db-load-failed", "pmxcfs-conf-newer",
                             "pmxcfs-log-trouble")),
    Rule(quorum.config_version_mismatch, ("config-version-mismatch",)),
    Rule(network.mtu_mismatch, ("mtu-mismatch",)),
    Rule(quorum.qdevice_not_voting, ("qdevice-not-voting",)),
    Rule(quorum.two_node_flag, ("two-node-flag",)),
    Rule(certs.certificates, ("cert-missing", "cert-expired")),
    Rule(pmxcfs.database_damaged, ("db-damaged-one", "db-damaged-all")),
    Rule(pmxcfs.database_deleted, ("db-deleted", "db-deleted-held", "db-deleted-lost")),
    Rule(network.ping_mtr_disagree, ("ping-mtr-disagree",)),
)
#: Every fault id a rule can report (``Fault.rule``), in rule order; then the health check's
#: (:mod:`.check`, :mod:`.health`), which only its runbook's diagnosis runs.
FAULT_IDS: tuple[str, ...] = tuple(i for r in RULES for i in r.faults) + CHECK_FAULTS


def diagnose(facts: FactStore | Iterable[Fact], findings: Sequence[FindingLike] = (),
             nodes: Sequence[str] = (), now: datetime | None = None,
             unchecked: Mapping[str, str] | None = None) -> Diagnosis:
    """Rank the faults the facts and findings show; ``nodes`` gives the inventory order.

    ``now`` (UTC) is when the evidence was taken, for certificate expiry; without it only
    ``openssl -checkend`` results count. ``unchecked``: nodes the run could not read (name →
    why), each a fault of its own (:mod:`.reach`): their facts are missing, not fine.
    Returns an empty diagnosis when nothing is wrong.
    Faults rank by severity, confidence and the rule's weight (a root cause that explains other
    faults ranks above them); equal scores keep :data:`RULES` order.
    """
    store = facts if isinstance(facts, FactStore) else FactStore(facts)
    store = store.named_peers()
    order = list(nodes) or store.nodes()
    ctx = Context(store, findings, order, now, unchecked=dict(unchecked or {}),
                  inventory=tuple(nodes))
    faults = [f for rule in RULES for f in rule.check(ctx)]
    ranked = sorted(enumerate(faults), key=lambda x: (-x[1].score, x[0]))
    has_links = any(f.name in ("ping.loss_pct", "mtr.loss_pct", "knet.connected")
                    for f in store)
    matrix = link_matrix(store, order) if has_links and len(order) > 1 else ()
    return Diagnosis(tuple(f for _, f in ranked), tuple(ctx.healthy), matrix)
