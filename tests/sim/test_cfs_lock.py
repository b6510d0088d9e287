"""The simulator's cfs locks agree with the real pmxcfs (tests/integration/test_lab_cfs_lock.py):
pmxcfs removes a lock it has known for more than 120 s only on an unlock request (``utime``
with mtime 0 on the lock directory, cfs-plug-memdb.c ``utimens``, memdb.c
``memdb_lock_expired``), refuses the time itself on a lock (Permission denied), and keeps a
younger lock. The runbooks' lock loops send that request, so a lock left by a killed run no
longer blocks every retry."""

from __future__ import annotations

from pathlib import Path

from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from tests.sim.rehearsal import rehearsal, run_with_status

LOCKS = "/etc/pve/priv/lock"


def lock_command(runbook: str, step: str, lock: str) -> str:
    rb = load_file(builtin_dir() / f"{runbook}.toml")
    (s,) = [s for s in rb.steps if s.id == step]
    (cmd,) = [c for c in s.commands if f"mkdir {LOCKS}/{lock}" in c]
    return cmd


async def test_sim_stale_lock_goes_on_an_unlock_request_and_the_runbooks_take_it(
        tmp_path: Path) -> None:
    tuning = lock_command("corosync-tuning", "apply", "file-corosync_conf")
    certs = lock_command("certificate-regeneration", "updatecerts", "pverunbook-updatecerts")
    async with rehearsal(tmp_path, "three-node") as session:
        a, b, c = "ryanrishi", "pve001", "pve002"
        assert (await run_with_status(session, a, f"mkdir -p {LOCKS}"))[0] == 0
        for name in ("file-corosync_conf", "pverunbook-updatecerts"):
            assert (await run_with_status(session, a, f"mkdir {LOCKS}/{name}"))[0] == 0
        st, out = await run_with_status(session, b, f"touch -c -d @0 {LOCKS}/file-corosync_conf")
        assert st != 0 and "Permission denied" in out, out
        assert (await run_with_status(session, c, f"test -d {LOCKS}/file-corosync_conf"))[0] == 0
        assert (await run_with_status(session, b, f"mkdir {LOCKS}/file-corosync_conf"))[0] != 0
        await run_with_status(session, a, "sleep 125")
        # older than 120 s and still there: pmxcfs does not expire it by itself
        assert (await run_with_status(session, c, f"test -d {LOCKS}/file-corosync_conf"))[0] == 0
        # the loops' mkdir succeeded (exit 0): the stale locks are gone, these are theirs
        st, out = await run_with_status(session, b, tuning, timeout=200)
        assert st == 0, out
        st, out = await run_with_status(session, c, certs, timeout=500)
        assert st == 0, out
        st, _ = await run_with_status(session, a, f"touch -c -d @0 {LOCKS}/pverunbook-updatecerts")
        assert st != 0
        st, _ = await run_with_status(session, b, f"test -d {LOCKS}/pverunbook-updatecerts")
        assert st == 0
