"""Facts: typed values read off a step's output, for `when` conditions and the diagnosis.

A verdict explains an output to a person (findings); a fact states one value a program can test
(``quorum.quorate = true`` on ryanrishi). Both come from the same parsers in :mod:`outputs`, so
they cannot disagree. Rules here are pure functions over one node's captured output; the engine
only calls them and journals what they return.

Naming (documented for runbook authors in ``runbooks/README.md``):

- ``name`` is dotted and lower case, e.g. ``quorum.quorate``, ``link.loss_pct``, ``db.integrity``.
- A fact is observed on one ``node`` (or on none, for cluster-wide facts derived from several
  nodes) and may be about one ``peer`` (a link, a route). Its :attr:`Fact.key` is
  ``name``, ``name[node]`` or ``name[node→peer]``.
- Values are ``bool``, ``int``, ``float`` or ``str`` — JSON scalars, so the journal holds them as
  they are and resume sees the same values.
"""

from __future__ import annotations

from collections.abc import Callable

from pverunbook.pve.facts.corosync import (
    facts_cmap_stats,
    facts_config_versions,
    facts_journal,
    facts_knet_nodes,
    facts_links,
    facts_quorum,
    facts_quorum_samples,
)
from pverunbook.pve.facts.model import Fact, FactStore, FactValue, Observation
from pverunbook.pve.facts.network import facts_mtr, facts_ping, facts_route
from pverunbook.pve.facts.node_state import (
    facts_cert,
    facts_db_integrity,
    facts_pve_read,
    facts_pve_write,
    facts_reachability,
)

__all__ = [
    "FACT_RULES", "Fact", "FactStore", "FactValue", "Observation", "extract", "facts_cert",
    "facts_cmap_stats", "facts_config_versions", "facts_db_integrity", "facts_journal",
    "facts_knet_nodes", "facts_links", "facts_mtr", "facts_ping", "facts_pve_read",
    "facts_pve_write", "facts_quorum", "facts_quorum_samples", "facts_reachability",
    "facts_route",
]

#: Names without a verdict of their own (``knet-nodes``, ``pve-write``…) only yield facts.
FACT_RULES: dict[str, Callable[[Observation], list[Fact]]] = {
    "quorum": facts_quorum,
    "quorum-samples": facts_quorum_samples,
    "links": facts_links,
    "knet-nodes": facts_knet_nodes,
    "cmap-stats": facts_cmap_stats,
    "corosync-journal": facts_journal,
    "ping": facts_ping,
    "mtr": facts_mtr,
    "route": facts_route,
    "pve-write": facts_pve_write,
    "pve-read": facts_pve_read,
    "cert": facts_cert,
    "db-integrity": facts_db_integrity,
    "corosync-conf": facts_config_versions,
    "config-versions": facts_config_versions,
}


# The health check's rules (VMs, certificates, /etc/pve's mount, pmxcfs's log…) live apart.
from pverunbook.pve.facts.health import HEALTH_FACT_RULES  # noqa: E402

FACT_RULES.update(HEALTH_FACT_RULES)


def extract(verdict: str, obs: Observation) -> list[Fact]:
    """Facts of one node's output for the step's verdict; [] for a verdict without fact rules."""
    rule = FACT_RULES.get(verdict)
    return rule(obs) if rule else []
