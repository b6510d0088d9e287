"""The rehearsal cluster: simulated Proxmox VE nodes in the story's broken state, over real SSH.

``SimCluster`` is the entry point; scenarios are listed in ``SCENARIOS``.
"""

from __future__ import annotations

from pverunbook.sim.cluster import SimCluster
from pverunbook.sim.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SimCluster"]
