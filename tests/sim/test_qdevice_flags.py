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


async def test_a_store_left_by_an_earlier_attempt_is_found_before_pvecm_runs(
        fixed: SimCluster) -> None:
    """pvecm.pm setup_qdevice refuses a node whose certificate store exists (`-d $db_dir_node`:
    'QDevice certificate store already initialised, set force to delete!'), after the
    confirmation the runbook asks: its checks now find the store before."""
    store = "/etc/corosync/qdevice/net/nssdb"
    assert (await sh(fixed, "ryanrishi", f"mkdir -p {store}"))[0] == 0
    status, out, err = await sh(fixed, "ryanrishi", "pvecm qdevice setup 192.168.4.250")
    assert status == 255 and "QDevice certificate store already initialised" in out + err
    step = builtin("qdevice-setup").step("qdevice-store")
    (exp,) = step.expect
    _, out, _ = await sh(fixed, "ryanrishi", step.commands[0])
    assert exp.absent and re.search(exp.absent, out, re.M), out
    assert (await sh(fixed, "ryanrishi", "mv /etc/corosync/qdevice /root/qdevice.old"))[0] == 0
    _, out, _ = await sh(fixed, "ryanrishi", step.commands[0])
    assert not re.search(exp.absent, out, re.M), out
    status, out, err = await sh(fixed, "ryanrishi", "pvecm qdevice setup 192.168.4.250")
    assert status == 0, out + err
    for node in ("ryanrishi", "pve001"):  # certutil -i made every member's store
        assert (await sh(fixed, node, f"test -d {store}"))[0] == 0, node
