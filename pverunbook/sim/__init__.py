"""The rehearsal cluster: simulated Proxmox VE nodes in the story's broken state, over real SSH.

``SimCluster`` is the entry point (start, save, reset, stop; the state directory layout and
the API are in :mod:`pverunbook.sim.cluster`); scenarios of any size are listed in
``SCENARIOS`` (:mod:`pverunbook.sim.scenarios`: the story's 2-node outage, after a wipe, after
the network fix, healthy; the whole outage and the wipe on 3 nodes, the outage on 5; 3 nodes
with one bad link; 5 nodes). Both are loaded on first use
so that ``pverunbook --help`` does not pay for asyncssh.

Rooms: ``world`` (membership, quorum, the tick), ``node`` (one host's daemons, units,
journal), ``clock`` (simulated time: following the real clock, or stepped for reproducible
runs), ``network`` (per-pair loss and routes), ``corosync_daemon``/``pmxcfs_daemon`` (the
daemons' behaviour), ``build`` (files and boot), ``state`` (world.json, state-dir checks),
``server`` (asyncssh per node), ``shell/`` (the emulated sh), ``commands/`` (the emulated
programs), ``fs``/``memdb`` (files and config.db).
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
