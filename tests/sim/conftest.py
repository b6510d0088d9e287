"""Fixtures: a started rehearsal cluster per test, and helpers to run commands on a node."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pverunbook.sim import SimCluster
from pverunbook.sim.shell.executor import Shell
from pverunbook.sim.shell.streams import BufferOutput, BytesInput

#: The story's evening (2024-11-19 21:40 UTC): where the stepped clocks of these tests start.
STORY_EPOCH = 1732052400.0


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[SimCluster]:  # type: ignore[no-untyped-def]
    """The story's broken cluster on a stepped clock: simulated time passes only when a
    command waits or the test calls ``sim.advance(seconds)``, so no test depends on how fast
    the machine is."""
    async with SimCluster("nyc-outage", state_dir=tmp_path / "state", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as s:
        yield s


@pytest.fixture
async def healthy(tmp_path) -> AsyncIterator[SimCluster]:  # type: ignore[no-untyped-def]
    async with SimCluster("nyc-healthy", state_dir=tmp_path / "state", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as s:
        yield s


@pytest.fixture
async def three(tmp_path) -> AsyncIterator[SimCluster]:  # type: ignore[no-untyped-def]
    """Three healthy nodes (ryanrishi, pve001, pve002) on the stepped clock."""
    async with SimCluster("three-node", state_dir=tmp_path / "state", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as s:
        yield s


async def sh(cluster: SimCluster, node: str, script: str, stdin: bytes = b"") \
        -> tuple[int, str, str]:
    """Run a script in a node's emulated shell without SSH (fast path for state tests)."""
    out, err = BufferOutput(), BufferOutput()
    status = await Shell(cluster.node(node)).run_script(script, BytesInput(stdin), out, err)
    return status, out.buf.decode(), err.buf.decode()
