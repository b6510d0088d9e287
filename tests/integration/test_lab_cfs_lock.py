"""pmxcfs's cfs locks on the real pmxcfs, and the runbooks' way of taking them.

A lock is a directory in ``/etc/pve/priv/lock``: ``mkdir`` succeeds on one node only. pmxcfs
never removes an expired lock by itself: one it has known for more than 120 s (memdb.c
``CFS_LOCK_TIMEOUT``, counted by pmxcfs's own clock from when it first saw the lock:
``memdb_lock_expired``) is removed only on an unlock request, ``utime`` with mtime 0 on the
directory (cfs-plug-memdb.c ``utimens``), which Proxmox's ``cfs_lock`` (Cluster.pm) sends after
every failed ``mkdir``. The age cannot be faked from outside: pmxcfs compares its own clock with
the time it recorded, not the directory's mtime (which it refuses to change on a lock), so the
test waits the 120 s out.
"""

from __future__ import annotations

import time

from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from tests.integration.lab import Lab

LOCKS = "/etc/pve/priv/lock"


def lock_command(runbook: str, step: str, lock: str) -> str:
    """The command of a shipped runbook's step that takes ``lock``."""
    rb = load_file(builtin_dir() / f"{runbook}.toml")
    (s,) = [s for s in rb.steps if s.id == step]
    (cmd,) = [c for c in s.commands if f"mkdir {LOCKS}/{lock}" in c]
    return cmd


def present_everywhere(lab: Lab, path: str, present: bool, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all((lab.on(n, f"test -d {path}").returncode == 0) == present
               for n in ("alpha", "bravo", "charlie")):
            return True
        time.sleep(0.5)
    return False


def test_lab_stale_lock_goes_on_an_unlock_request_and_the_runbooks_take_it(healthy_lab: Lab
                                                                           ) -> None:
    lab = healthy_lab
    tuning = lock_command("corosync-tuning", "apply", "file-corosync_conf")
    certs = lock_command("certificate-regeneration", "updatecerts", "pverunbook-updatecerts")
    stale = ("file-corosync_conf", "pverunbook-updatecerts")
    try:
        lab.on("alpha", f"mkdir -p {LOCKS}", check=True)
        for name in stale:
            # left by a killed run: taken, never released
            assert lab.on("alpha", f"mkdir {LOCKS}/{name}").returncode == 0
        taken = time.time()
        for name in stale:
            assert present_everywhere(lab, f"{LOCKS}/{name}", True)
        # a fresh lock: the unlock request is refused and the lock stays
        fresh = lab.on("bravo", f"touch -c -d @0 {LOCKS}/file-corosync_conf")
        assert fresh.returncode != 0 and "Permission denied" in fresh.stderr, fresh.stderr
        assert lab.on("bravo", f"mkdir {LOCKS}/file-corosync_conf").returncode != 0
        assert present_everywhere(lab, f"{LOCKS}/file-corosync_conf", True)
        time.sleep(max(0.0, taken + 125 - time.time()))
        # older than 120 s: still there (pmxcfs does not expire it by itself) ...
        assert present_everywhere(lab, f"{LOCKS}/file-corosync_conf", True, within=1)
        # ... until the runbook's loop asks: it then takes the lock itself, at once
        # the loops' mkdir succeeded (exit 0): the stale locks are gone, these are theirs
        got = lab.on("bravo", tuning, timeout=200)
        assert got.returncode == 0, got.stdout + got.stderr
        got = lab.on("charlie", certs, timeout=500)
        assert got.returncode == 0, got.stdout + got.stderr
        # a lock younger than 120 s survives the same request
        refused = lab.on("alpha", f"touch -c -d @0 {LOCKS}/pverunbook-updatecerts")
        assert refused.returncode != 0
        assert present_everywhere(lab, f"{LOCKS}/pverunbook-updatecerts", True)
    finally:
        for name in stale:
            lab.on("alpha", f"rmdir {LOCKS}/{name}")
