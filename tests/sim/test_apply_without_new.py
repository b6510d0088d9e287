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
