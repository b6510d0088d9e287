"""The cluster's own list of nodes against the operator's inventory.

Every ``targets = "all"`` step covers the inventory's nodes, not the cluster's: a node the
corosync ``nodelist`` names and the inventory lacks is never checked, changed or verified, and a
run that says "ok" on every node it knows has still not touched it. These pure functions read
the nodelist (``nodelist { node { name: … } }``, as Proxmox's ``pvecm`` writes it: Corosync.pm
``create_conf``/``add_node``; a node without ``name`` is named by its ``ring0_addr``, as
corosync itself does) and say which names the two lists do not share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pverunbook.pve.corosync_conf.tree import CorosyncParseError, parse

_NODE_OPEN = re.compile(r"^\s*node\s*\{", re.M)


def nodelist_names(text: str) -> list[str] | None:
    """The node names of a corosync.conf's nodelist, in file order; None when the text has no
    nodelist to read (not a corosync.conf, or one that does not parse)."""
    if not _NODE_OPEN.search(text):
        return None
    try:
        nodes = parse(text).nodes()
    except CorosyncParseError:
        return None
    names = [n.get("name") or n.get("ring0_addr") or "" for n in nodes]
    names = [n for n in names if n]
    return names or None


@dataclass(frozen=True)
class InventoryGap:
    """Which names the nodelist and the inventory do not share."""

    not_in_inventory: tuple[str, ...]  # cluster nodes no step of a run reaches
    not_in_cluster: tuple[str, ...]  # inventory nodes the nodelist does not name

    @property
    def complete(self) -> bool:
        return not self.not_in_inventory and not self.not_in_cluster

    def text(self) -> str:
        """One sentence for a guard or a finding ("" when the lists agree)."""
        parts = []
        if self.not_in_inventory:
            parts.append("the cluster's nodelist names " + ", ".join(self.not_in_inventory)
                         + " which the inventory does not list: no step reaches "
                         + ("them" if len(self.not_in_inventory) > 1 else "it"))
        if self.not_in_cluster:
            parts.append("the inventory lists " + ", ".join(self.not_in_cluster)
                         + " which the cluster's nodelist does not name")
        return "; ".join(parts)


def inventory_gap(inventory: Sequence[str], nodelist: Sequence[str]) -> InventoryGap:
    """Compare the inventory's node names with the nodelist's (exact names, as ``hostname``
    and pmxcfs's ``nodes/<name>`` use them)."""
    have = set(inventory)
    listed = set(nodelist)
    return InventoryGap(tuple(n for n in nodelist if n not in have),
                        tuple(n for n in inventory if n not in listed))
