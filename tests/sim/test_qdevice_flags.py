"""Each member's row of `corosync-quorumtool -s` carries that member's own QDevice flags
(corosync-quorumtool.c prints votequorum's node info per node: A/NA, V/NV, MW/NMW). The
simulator printed the local node's flags on every row, and qdevice-setup's verify-status
passed on any one `A,V,NMW` row: a node whose corosync-qdevice was down showed `NA,NV` on
every node's list, and the check still passed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from pverunbook.sim import SimCluster
from tests.sim.conftest import STORY_EPOCH, sh
from tests.sim.rehearsal import builtin


@pytest.fixture
async def fixed(tmp_path) -> AsyncIterator[SimCluster]:  # type: ignore[no-untyped-def]
    async with SimCluster("nyc-network-fixed", state_dir=tmp_path / "state", time_scale=0.002,
                          stepped_from=STORY_EPOCH) as s:
        yield s


async def test_a_member_without_its_qdevice_fails_verify_status(fixed: SimCluster) -> None:
    status, out, err = await sh(fixed, "ryanrishi", "pvecm qdevice setup 192.168.4.250")
    assert status == 0, out + err
    status, out, err = await sh(fixed, "pve001", "systemctl stop corosync-qdevice")
    assert status == 0, err
    _, out, _ = await sh(fixed, "ryanrishi", "corosync-quorumtool -siH")
    rows = [x.split() for x in out.splitlines() if re.match(r"0x0000000[12] ", x)]
    assert [(r[0], r[2]) for r in rows] == [("0x00000001", "A,V,NMW"),
                                           ("0x00000002", "NA,NV,NMW")], out
    expect = builtin("qdevice-setup").step("verify-status").expect
    flags = [e for e in expect if (e.match or e.absent or "").find("A,V,") >= 0]
    assert any(e.match and re.search(e.match, out, re.M) for e in flags)  # one good row
    assert any(e.absent and re.search(e.absent, out, re.M) for e in flags), out
    _, own, _ = await sh(fixed, "pve001", "corosync-quorumtool -siH")
    healthy = own.replace("NA,NV,NMW", " A,V,NMW")
    assert not any(e.absent and re.search(e.absent, healthy, re.M) for e in flags), healthy
