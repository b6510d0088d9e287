"""corosync-tuning's apply step, resumed on a cluster where corosync.conf.new was never made
(the declined run was resumed after the rehearsal cluster was reset): it said "corosync.conf
changed since the .new copy was made (config_version 5 now, .new has ): run this runbook
again", blaming a change nobody made. It now names the missing file."""

from __future__ import annotations

from pathlib import Path

from pverunbook.runbook.loader import load_file
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

RUNBOOK = Path(__file__).resolve().parents[2] / "runbooks" / "corosync-tuning.toml"


async def test_apply_without_the_new_copy_names_the_missing_file(three: SimCluster) -> None:
    (apply,) = [s for s in load_file(RUNBOOK).steps if s.id == "apply"]
    status, out, err = await sh(three, "ryanrishi", "\n".join(apply.commands[:3]))
    assert status == 1, out + err
    assert "corosync.conf.new is missing or has no config_version" in err, err
    assert "changed since the .new copy was made" not in err, err
    # the lock was given back: the next run can take it
    assert (await sh(three, "ryanrishi", "test -d /etc/pve/priv/lock/file-corosync_conf"))[0] == 1


async def _apply(three: SimCluster) -> list[tuple[int, str]]:
    """The apply step's commands on ryanrishi as the engine runs them: one after the other,
    each in its own shell, until one fails. (exit status, stderr) of each that ran."""
    (apply,) = [s for s in load_file(RUNBOOK).steps if s.id == "apply"]
    ran = []
    for command in apply.commands:
        status, _, err = await sh(three, "ryanrishi", command)
        ran.append((status, err))
        if status:
            break
    return ran


async def test_apply_whose_backup_copy_fails_releases_the_lock(three: SimCluster) -> None:
    """A failed `cp` to corosync.conf.bak (here: a directory in the way) left PVE's
    corosync.conf lock held: every Proxmox VE writer (pvecm add, qdevice setup, the API) then
    waited for it until pmxcfs was asked to expire it, two minutes later."""
    assert (await sh(three, "ryanrishi", (
        "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.new && "
        "v=$(awk '$1 == \"config_version:\" { print $2 }' /etc/pve/corosync.conf) && "
        "sed -i \"s/config_version: $v/config_version: $((v + 1))/\" /etc/pve/corosync.conf.new "
        "&& mkdir -p /etc/pve/corosync.conf.bak/corosync.conf")))[0] == 0
    _, before, _ = await sh(three, "ryanrishi", "cat /etc/pve/corosync.conf")
    ran = await _apply(three)
    assert [s for s, _ in ran][:3] == [0, 0, 0] and len(ran) == 4, ran
    status, err = ran[-1]
    assert status == 1, err
    assert (await sh(three, "ryanrishi", "test -d /etc/pve/priv/lock/file-corosync_conf"))[0] == 1
    assert "keeping the old file as /etc/pve/corosync.conf.bak failed" in err, err
    assert "nothing was changed and the corosync.conf lock is released" in err, err
    assert (await sh(three, "ryanrishi", "cat /etc/pve/corosync.conf"))[1] == before
    # the next writer takes the lock at once
    assert (await sh(three, "pve001", "mkdir /etc/pve/priv/lock/file-corosync_conf"))[0] == 0
