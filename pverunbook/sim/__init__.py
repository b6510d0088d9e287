"""The rehearsal cluster: simulated Proxmox VE nodes in the story's broken state, over real SSH.

``SimCluster`` is the entry point; scenarios are listed in ``SCENARIOS``. Both are loaded on
first use so that ``pverunbook --help`` does not pay for asyncssh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pverunbook.sim.cluster import SimCluster
    from pverunbook.sim.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SimCluster"]


def __getattr__(name: str) -> Any:
    if name == "SimCluster":
        from pverunbook.sim.cluster import SimCluster

        return SimCluster
    if name == "SCENARIOS":
        from pverunbook.sim.scenarios import SCENARIOS

        return SCENARIOS
    raise AttributeError(name)
